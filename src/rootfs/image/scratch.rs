//! A private scratch file of one opened image: an unlinked temporary file (gone when the image is
//! closed or the process dies) that holds copies of files from compressed layers, so reading one
//! again does not mean decompressing its layer up to it. It holds the shared objects kept while
//! indexing when the cache cannot be written (`check`, `build --dry-run`, no cache folder), and a
//! file mapped whole that was not kept, so that parsing it touches only the pages read instead of
//! holding all of it in memory. Runs of zeros are holes, so a decompression bomb of zeros takes
//! no room.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::rootfs::Bytes;

#[derive(Default)]
pub(super) struct Scratch {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    file: Option<File>,
    end: u64,
    /// Where each copy is: (offset, length), by its key (a digest, or a stream position).
    regions: HashMap<String, (u64, u64)>,
}

impl Scratch {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        crate::lock(&self.inner)
    }

    /// The region stored under `key`.
    pub(super) fn region(&self, key: &str) -> Option<(u64, u64)> {
        self.lock().regions.get(key).copied()
    }

    /// Appends `head` and the rest of `rest`; returns their sha256, under which they are kept.
    pub(super) fn keep(&self, head: &[u8], rest: &mut dyn Read) -> io::Result<String> {
        let mut inner = self.lock();
        let mut hash = Sha256::new();
        let (start, len) = inner.append(head, rest, Some(&mut hash))?;
        let digest = crate::digest::hex(&hash.finalize());
        inner.regions.insert(digest.clone(), (start, len));
        Ok(digest)
    }

    /// Copies `reader` (a file of `len` bytes) under `key`, unless it is there already.
    pub(super) fn copy(&self, key: &str, reader: &mut dyn Read, len: u64) -> io::Result<()> {
        let mut inner = self.lock();
        if inner.regions.contains_key(key) {
            return Ok(());
        }
        let (start, copied) = inner.append(&[], reader, None)?;
        if copied != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{copied} bytes where the index says {len}"),
            ));
        }
        inner.regions.insert(key.to_string(), (start, copied));
        Ok(())
    }

    /// Fills `buf` from `offset` within a region; returns the bytes read (fewer at its end).
    pub(super) fn read_at(
        &self,
        (start, len): (u64, u64),
        offset: u64,
        buf: &mut [u8],
    ) -> io::Result<usize> {
        let inner = self.lock();
        let file = inner.file.as_ref().ok_or(io::ErrorKind::NotFound)?;
        let n = buf.len().min(len.saturating_sub(offset) as usize);
        crate::rootfs::host::read_file_at(file, start + offset, &mut buf[..n])
    }

    /// A region's bytes, mapped: only the pages read are ever in memory.
    pub(super) fn map(&self, (start, len): (u64, u64)) -> io::Result<Bytes> {
        if len == 0 {
            return Ok(Bytes::Owned(Vec::new()));
        }
        let inner = self.lock();
        let file = inner.file.as_ref().ok_or(io::ErrorKind::NotFound)?;
        let len = usize::try_from(len).map_err(|_| io::ErrorKind::FileTooLarge)?;
        // SAFETY: the scratch file is unlinked and private to this process, and written only past
        // its end: no one can change or truncate the mapped bytes.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(start)
                .len(len)
                .map(file)?
        };
        Ok(Bytes::Mapped(map))
    }
}

/// Bytes read and written at a time.
const BLOCK: usize = 1 << 16;

impl Inner {
    /// Appends `head` then `rest` at the end (hashing them into `hash`); their offset and length.
    /// Blocks of zeros are skipped over, not written, so a file of zeros takes no room.
    fn append(
        &mut self,
        head: &[u8],
        rest: &mut dyn Read,
        mut hash: Option<&mut Sha256>,
    ) -> io::Result<(u64, u64)> {
        if self.file.is_none() {
            self.file = Some(tempfile::tempfile()?);
        }
        let start = self.end;
        let file = self.file.as_mut().ok_or(io::ErrorKind::NotFound)?;
        file.seek(SeekFrom::Start(start))?;
        let zeros = vec![0; BLOCK];
        let mut len = 0u64;
        let mut put = |bytes: &[u8], file: &mut File| -> io::Result<()> {
            if let Some(hash) = hash.as_deref_mut() {
                hash.update(bytes);
            }
            len += bytes.len() as u64;
            if bytes == &zeros[..bytes.len()] {
                file.seek(SeekFrom::Current(bytes.len() as i64)).map(drop)
            } else {
                file.write_all(bytes)
            }
        };
        put(head, file)?;
        let mut buf = vec![0; BLOCK];
        loop {
            let n = rest.read(&mut buf)?;
            if n == 0 {
                break;
            }
            put(&buf[..n], file)?;
        }
        // Zeros skipped at the end still belong to the file.
        if file.metadata()?.len() < start + len {
            file.set_len(start + len)?;
        }
        self.end = start + len;
        Ok((start, len))
    }
}

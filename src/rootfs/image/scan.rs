//! Reads one tar stream (a layer, a flat export, or the outer tar of a bundle) into a list of
//! entries with the offset of each file's bytes in the decompressed stream. Names are checked here:
//! nothing that climbs out of the image gets into the list. Byte caps stop decompression bombs.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::cache::Cache;
use super::source::Codec;
use super::{ImageError, Limits};
use crate::rootfs::Special;

/// Files named like shared objects that are kept even when they are not ELF, up to this size.
const KEEP_SMALL: usize = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    HardLink,
    Special(Special),
}

#[derive(Debug, Clone)]
pub struct LayerEntry {
    /// Normalised, relative to the image root, without a leading `/` (`usr/lib64/libz.so.1`).
    pub path: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub size: u64,
    /// Offset of the file's bytes in the decompressed stream.
    pub offset: u64,
    /// Symlink target (verbatim) or hard link target (normalised like `path`).
    pub link: Option<String>,
    /// Content digest of the bytes kept in the cache's blob store, if they were kept.
    pub cached: Option<String>,
}

/// What one scan needs besides the stream.
pub struct Scan<'a> {
    /// Names the stream in errors: empty for the image file itself, else the layer's member name.
    pub label: String,
    pub codec: Codec,
    /// The expected sha256 of the raw (compressed) bytes.
    pub digest: Option<String>,
    pub limits: Limits,
    /// Decompressed bytes read so far by this image's index (shared by all its layers).
    pub total: &'a mut u64,
    /// Where the bytes of shared objects go when reading them later would mean decompressing.
    pub keep: Option<&'a Cache>,
    pub progress: &'a indicatif::ProgressBar,
}

impl Scan<'_> {
    fn broken(&self, entry: Option<&str>, problem: impl Into<String>) -> ImageError {
        ImageError::Broken {
            layer: self.label.clone(),
            entry: entry.map(str::to_string),
            problem: problem.into(),
        }
    }

    /// Reads the whole stream `raw` (the compressed bytes) and lists its entries.
    pub fn run(mut self, raw: impl Read) -> Result<Vec<LayerEntry>, ImageError> {
        let mut hashed = Hashing {
            inner: raw,
            hash: Sha256::new(),
            progress: self.progress,
        };
        let limit = self.limits.total.saturating_sub(*self.total);
        let mut last: Option<String> = None;
        let (entries, read) = {
            let decoder = self
                .codec
                .decoder(&mut hashed)
                .map_err(|e| self.broken(None, e.to_string()))?;
            let mut counted = Counting {
                inner: decoder,
                read: 0,
                limit,
            };
            let entries = self.entries(&mut counted, &mut last);
            // Trailing blocks and padding belong to the digest (and to the byte cap).
            let drained = entries.and_then(|list| {
                io::copy(&mut counted, &mut io::sink())
                    .map(|_| list)
                    .map_err(Into::into)
            });
            (drained, counted.read)
        };
        *self.total += read;
        let entries = entries.map_err(|e| self.stream_error(e, last.as_deref(), limit, read))?;
        io::copy(&mut hashed, &mut io::sink())
            .map_err(|e| self.broken(last.as_deref(), format!("cannot read: {e}")))?;
        if let Some(expected) = &self.digest {
            let actual = super::cache::hex(&hashed.hash.finalize());
            if &actual != expected {
                return Err(self.broken(
                    None,
                    format!("content has digest sha256:{actual}, not the sha256:{expected} it is named by"),
                ));
            }
        }
        Ok(entries)
    }

    fn stream_error(
        &self,
        e: StreamError,
        last: Option<&str>,
        limit: u64,
        read: u64,
    ) -> ImageError {
        match e {
            StreamError::Image(e) => e,
            StreamError::Io(_) if read > limit => self.broken(
                last,
                format!(
                    "decompresses to more than {limit} bytes (the cap is {} per image; \
                     set LAYERC_IMAGE_MAX_BYTES to raise it)",
                    self.limits.total
                ),
            ),
            StreamError::Io(e) => {
                let after = last
                    .map(|l| format!("after entry {l}: "))
                    .unwrap_or_default();
                self.broken(None, format!("corrupt or truncated archive ({after}{e})"))
            }
        }
    }

    fn entries(
        &mut self,
        stream: &mut impl Read,
        last: &mut Option<String>,
    ) -> Result<Vec<LayerEntry>, StreamError> {
        let mut archive = tar::Archive::new(stream);
        let mut list = Vec::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(path) = normalise(&name).map_err(|p| self.broken(Some(&name), p))? else {
                continue; // the root folder itself
            };
            *last = Some(name.clone());
            if let Some(item) = self.entry(&mut entry, &name, path)? {
                list.push(item);
            }
        }
        Ok(list)
    }

    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        name: &str,
        path: String,
    ) -> Result<Option<LayerEntry>, StreamError> {
        use tar::EntryType as T;
        let header = entry.header();
        let kind = match header.entry_type() {
            T::Regular | T::Continuous => EntryKind::File,
            T::Directory => EntryKind::Dir,
            T::Symlink => EntryKind::Symlink,
            T::Link => EntryKind::HardLink,
            T::Char => EntryKind::Special(Special::CharDevice),
            T::Block => EntryKind::Special(Special::BlockDevice),
            T::Fifo => EntryKind::Special(Special::Fifo),
            T::GNUSparse => {
                return Err(self
                    .broken(Some(name), "sparse files are not supported")
                    .into());
            }
            _ => return Ok(None),
        };
        let size = entry.size();
        if size > self.limits.entry {
            return Err(self
                .broken(
                    Some(name),
                    format!(
                        "is {size} bytes, over the cap of {} per file \
                         (set LAYERC_IMAGE_MAX_ENTRY_BYTES to raise it)",
                        self.limits.entry
                    ),
                )
                .into());
        }
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let link = match kind {
            EntryKind::Symlink => Some(link_name(entry)),
            EntryKind::HardLink => {
                let target = link_name(entry);
                let normal = normalise(&target).map_err(|p| {
                    self.broken(Some(name), format!("hard link target {target}: {p}"))
                })?;
                Some(normal.ok_or_else(|| self.broken(Some(name), "hard link to the image root"))?)
            }
            _ => None,
        };
        let offset = entry.raw_file_position();
        let cached = match (kind, self.keep) {
            (EntryKind::File, Some(cache)) if path.contains(".so") => keep(cache, entry, size)?,
            _ => None,
        };
        Ok(Some(LayerEntry {
            path,
            kind,
            mode,
            size: if kind == EntryKind::File { size } else { 0 },
            offset,
            link,
            cached,
        }))
    }
}

/// Files that resolution reads, kept in the cache's blob store so a later read does not decompress
/// the layer up to them: shared objects (ELF), and small files named like them (linker scripts such
/// as `libc.so`, `/etc/ld.so.conf` and its includes).
fn keep<R: Read>(
    cache: &Cache,
    entry: &mut tar::Entry<R>,
    size: u64,
) -> io::Result<Option<String>> {
    let mut bytes = Vec::with_capacity(size.min(1 << 26) as usize);
    entry.read_to_end(&mut bytes)?;
    if !bytes.starts_with(b"\x7fELF") && bytes.len() > KEEP_SMALL {
        return Ok(None);
    }
    // A cache that cannot be written only costs speed.
    Ok(cache.store_blob(&bytes).ok())
}

fn link_name<R: Read>(entry: &tar::Entry<R>) -> String {
    entry
        .link_name_bytes()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// An entry name made relative to the image root: a leading `/` and `.` parts are dropped (as tar
/// and container runtimes do). `Ok(None)` is the root itself. A `..` part is refused: such an entry
/// would land outside the image.
pub fn normalise(name: &str) -> Result<Option<String>, String> {
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("the name climbs out of the image with `..`".to_string()),
            p => parts.push(p),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

enum StreamError {
    Image(ImageError),
    Io(io::Error),
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

impl From<ImageError> for StreamError {
    fn from(e: ImageError) -> Self {
        StreamError::Image(e)
    }
}

/// Hashes the raw bytes it passes on and advances the progress bar.
struct Hashing<'a, R> {
    inner: R,
    hash: Sha256,
    progress: &'a indicatif::ProgressBar,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// Counts decompressed bytes and fails with `FileTooLarge` past `limit`.
struct Counting<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::ErrorKind::FileTooLarge.into());
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn names_are_made_relative_and_never_climb() {
        assert_eq!(
            normalise("./usr/lib64/").unwrap().as_deref(),
            Some("usr/lib64")
        );
        assert_eq!(
            normalise("/etc/passwd").unwrap().as_deref(),
            Some("etc/passwd")
        );
        assert_eq!(normalise("./").unwrap(), None);
        assert!(normalise("../etc/passwd").is_err());
        assert!(normalise("usr/../../x").is_err());
    }
}

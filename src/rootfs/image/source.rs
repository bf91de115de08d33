//! Where bytes of an image live: the image file, a file of an image folder, a region of another
//! source, or the decompressed stream of another source. A source is data (it goes into the cached
//! index) and is opened again on demand, positioned at an offset of its stream.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::rootfs::{Stamp, host};

/// The memory an xz stream may take to decode.
const XZ_MEMORY_LIMIT: u64 = 256 << 20;

/// A compression format, recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Codec {
    None,
    Gzip,
    Xz,
    Zstd,
}

impl Codec {
    /// The codec whose magic bytes start `head` (`None` for anything else, such as a tar).
    pub(super) fn sniff(head: &[u8]) -> Codec {
        if head.starts_with(&[0x1f, 0x8b]) {
            Codec::Gzip
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Codec::Xz
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Codec::Zstd
        } else {
            Codec::None
        }
    }

    /// A reader of the decompressed stream of `raw` (sendable to another thread when `raw` is).
    pub(super) fn decoder<R: Read>(self, raw: R) -> io::Result<Decoder<R>> {
        Ok(match self {
            Codec::None => Decoder::None(raw),
            // Layers may be written as several gzip members; all of them belong to the stream.
            Codec::Gzip => Decoder::Gzip(flate2::read::MultiGzDecoder::new(raw)),
            // A stream may declare a dictionary of up to 1.5 GiB, allocated and filled as it
            // decodes; real ones (`xz -9`) need 65 MiB.
            Codec::Xz => {
                let stream = liblzma::stream::Stream::new_stream_decoder(
                    XZ_MEMORY_LIMIT,
                    liblzma::stream::CONCATENATED,
                )
                .map_err(io::Error::other)?;
                Decoder::Xz(liblzma::read::XzDecoder::new_stream(raw, stream))
            }
            Codec::Zstd => Decoder::Zstd(zstd::stream::read::Decoder::new(raw)?),
        })
    }
}

/// A decompressing reader of one of the [`Codec`]s.
pub(super) enum Decoder<R: Read> {
    None(R),
    Gzip(flate2::read::MultiGzDecoder<R>),
    Xz(liblzma::read::XzDecoder<R>),
    Zstd(zstd::stream::read::Decoder<'static, io::BufReader<R>>),
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::None(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Xz(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }
}

/// A stream of an image's bytes, which may move to another thread.
pub(super) type Stream = Box<dyn Read + Send>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Source {
    /// The image file itself.
    Image,
    /// A file inside an image folder (an OCI layout), relative to that folder.
    Member(String),
    /// `len` bytes at `start` of another source's stream.
    Region {
        of: Box<Source>,
        start: u64,
        len: u64,
    },
    /// The decompressed stream of another source.
    Decoded { of: Box<Source>, codec: Codec },
}

impl Source {
    pub(super) fn region(of: &Source, start: u64, len: u64) -> Source {
        Source::Region {
            of: Box::new(of.clone()),
            start,
            len,
        }
    }

    pub(super) fn decoded(self, codec: Codec) -> Source {
        match codec {
            Codec::None => self,
            codec => Source::Decoded {
                of: Box::new(self),
                codec,
            },
        }
    }

    /// Whether reading at an offset is a seek (no decompression on the way).
    pub(super) fn seekable(&self) -> bool {
        match self {
            Source::Image | Source::Member(_) => true,
            Source::Region { of, .. } => of.seekable(),
            Source::Decoded { .. } => false,
        }
    }

    /// The stream of this source from byte `skip` on, its files opened through `origin`. A
    /// compressed stream is decompressed from its start and the first `skip` bytes are dropped.
    pub(super) fn open_at(&self, origin: &Origin, skip: u64) -> io::Result<Stream> {
        match self {
            Source::Image => open_file(origin.open(None)?, skip),
            Source::Member(name) => open_file(origin.open(Some(name))?, skip),
            Source::Region { of, start, len } => {
                let inner = of.open_at(origin, start + skip)?;
                Ok(Box::new(inner.take(len.saturating_sub(skip))))
            }
            Source::Decoded { of, codec } => {
                let mut stream = codec.decoder(of.open_at(origin, 0)?)?;
                let dropped = io::copy(&mut (&mut stream).take(skip), &mut io::sink())?;
                if dropped < skip {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                Ok(Box::new(stream))
            }
        }
    }

    /// The file this source's bytes come from: `None` for the image file, else a member's name.
    pub(super) fn file(&self) -> Option<&str> {
        match self {
            Source::Image => None,
            Source::Member(name) => Some(name),
            Source::Region { of, .. } | Source::Decoded { of, .. } => of.file(),
        }
    }

    /// Whether a source read back from a cached index is one this module could have written: a
    /// member is a blob named by a sha256 digest, and sources nest no deeper than a layer in a
    /// compressed bundle does.
    pub(super) fn is_well_formed(&self) -> bool {
        fn depth_ok(source: &Source, depth: usize) -> bool {
            match source {
                Source::Image => true,
                Source::Member(name) => member_digest(name).is_some(),
                Source::Region { of, .. } | Source::Decoded { of, .. } => {
                    depth < 4 && depth_ok(of, depth + 1)
                }
            }
        }
        depth_ok(self, 0)
    }
}

/// The sha256 a layout member's name promises (`blobs/sha256/HEX`), if it is such a name.
pub(super) fn member_digest(name: &str) -> Option<&str> {
    name.strip_prefix("blobs/sha256/").filter(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The host files an image is read from (the image file, or the members of a layout folder), each
/// with the stamp it had when its bytes were checked: hashed for the cache key, or against the
/// digest it is named by. A file whose stamp changed since is refused (an edit in place, or
/// another file renamed over it), so no byte is used that was not checked. While an image is
/// indexed, a file's first opening records its stamp (its bytes are checked as they are read);
/// once the index is made or loaded, the origin is sealed and only checked files open.
pub(super) struct Origin {
    image: PathBuf,
    checked: Mutex<HashMap<Option<String>, Stamp>>,
    sealed: AtomicBool,
}

impl Origin {
    pub(super) fn new(image: &Path) -> Origin {
        Origin {
            image: image.to_path_buf(),
            checked: Mutex::default(),
            sealed: AtomicBool::new(false),
        }
    }

    /// The image file or folder.
    pub(super) fn image(&self) -> &Path {
        &self.image
    }

    /// The host path of the image file (`None`) or of a member.
    pub(super) fn path(&self, member: Option<&str>) -> PathBuf {
        member.map_or_else(|| self.image.clone(), |name| self.image.join(name))
    }

    /// From now on, only files already checked open.
    pub(super) fn seal(&self) {
        self.sealed.store(true, Ordering::Relaxed);
    }

    /// Records that the file, as it is now (`stamp`), was checked.
    pub(super) fn checked(&self, member: Option<&str>, stamp: Stamp) {
        self.lock().insert(member.map(str::to_string), stamp);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Option<String>, Stamp>> {
        crate::lock(&self.checked)
    }

    /// Opens the image file (`None`) or a member: a regular file (a member's last component not
    /// a symlink) whose stamp is the checked one.
    pub(super) fn open(&self, member: Option<&str>) -> io::Result<File> {
        let path = self.path(member);
        let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        let file = match member {
            None => host::open_regular(&path),
            Some(_) => host::open_regular_nofollow(&path),
        }
        .map_err(named)?;
        let stamp = Stamp::of(&file.metadata().map_err(named)?);
        let key = member.map(str::to_string);
        let mut checked = self.lock();
        match checked.get(&key) {
            Some(known) if *known == stamp => Ok(file),
            Some(_) => Err(changed(&path)),
            None if self.sealed.load(Ordering::Relaxed) => Err(named(io::Error::new(
                io::ErrorKind::InvalidData,
                "was not checked against a digest",
            ))),
            None => {
                checked.insert(key, stamp);
                Ok(file)
            }
        }
    }
}

/// The error for an image file that changed after its bytes were checked.
pub(super) fn changed(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{} changed since its bytes were checked; run again",
            path.display()
        ),
    )
}

fn open_file(mut file: File, skip: u64) -> io::Result<Stream> {
    if skip > 0 {
        file.seek(SeekFrom::Start(skip))?;
    }
    Ok(Box::new(io::BufReader::with_capacity(64 * 1024, file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_are_recognised_by_magic() {
        assert_eq!(Codec::sniff(&[0x1f, 0x8b, 8]), Codec::Gzip);
        assert_eq!(Codec::sniff(b"\xfd7zXZ\0rest"), Codec::Xz);
        assert_eq!(Codec::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Codec::Zstd);
        assert_eq!(Codec::sniff(b"usr/lib64/"), Codec::None);
    }
}

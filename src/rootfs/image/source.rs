//! Where bytes of an image live: the image file, a file of an image folder, a region of another
//! source, or the decompressed stream of another source. A source is data (it goes into the cached
//! index) and is opened again on demand, positioned at an offset of its stream.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A compression format, recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Codec {
    None,
    Gzip,
    Xz,
    Zstd,
}

impl Codec {
    /// The codec whose magic bytes start `head` (`None` for anything else, such as a tar).
    pub fn sniff(head: &[u8]) -> Codec {
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

    /// A reader of the decompressed stream of `raw`.
    pub fn decoder<'a>(self, raw: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Codec::None => Box::new(raw),
            // Layers may be written as several gzip members; all of them belong to the stream.
            Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
            Codec::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(raw)),
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::new(raw)?),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
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
    pub fn region(of: &Source, start: u64, len: u64) -> Source {
        Source::Region {
            of: Box::new(of.clone()),
            start,
            len,
        }
    }

    pub fn decoded(self, codec: Codec) -> Source {
        match codec {
            Codec::None => self,
            codec => Source::Decoded {
                of: Box::new(self),
                codec,
            },
        }
    }

    /// Whether reading at an offset is a seek (no decompression on the way).
    pub fn seekable(&self) -> bool {
        match self {
            Source::Image | Source::Member(_) => true,
            Source::Region { of, .. } => of.seekable(),
            Source::Decoded { .. } => false,
        }
    }

    /// The stream of this source from byte `skip` on. `image` is the image file or folder. A
    /// compressed stream is decompressed from its start and the first `skip` bytes are dropped.
    pub fn open_at(&self, image: &Path, skip: u64) -> io::Result<Box<dyn Read>> {
        match self {
            Source::Image => open_file(image, skip),
            Source::Member(name) => open_file(&image.join(name), skip),
            Source::Region { of, start, len } => {
                let inner = of.open_at(image, start + skip)?;
                Ok(Box::new(inner.take(len.saturating_sub(skip))))
            }
            Source::Decoded { of, codec } => {
                let mut stream = codec.decoder(of.open_at(image, 0)?)?;
                let dropped = io::copy(&mut (&mut stream).take(skip), &mut io::sink())?;
                if dropped < skip {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                Ok(stream)
            }
        }
    }
}

fn open_file(path: &Path, skip: u64) -> io::Result<Box<dyn Read>> {
    let mut file = crate::rootfs::open_host_regular(path)?;
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

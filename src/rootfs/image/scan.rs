//! Reads one tar stream (a layer, a flat export, or the outer tar of a bundle) into a list of
//! entries with the offset of each file's bytes in the decompressed stream. Names are checked here:
//! nothing that climbs out of the image gets into the list. Byte caps stop decompression bombs.

use std::cell::Cell;
use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::cache::Keeper;
use super::source::Codec;
use super::{ImageError, Limits};
use crate::rootfs::Special;

/// Metadata entries (GNU long names and links, pax headers) larger than this are refused: a path
/// is at most `PATH_MAX` bytes, and the pax records of real archives (times, xattrs) are small.
/// The `tar` crate would read one whole into memory, whatever size it declares.
const MAX_META: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryKind {
    File,
    Dir,
    Symlink,
    HardLink,
    Special(Special),
}

#[derive(Debug, Clone)]
pub(super) struct LayerEntry {
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
    /// A file's first bytes (up to [`super::tree::HEAD`]): what tells an ELF object from other
    /// files without reading its layer again.
    pub head: Vec<u8>,
}

/// What one scan needs besides the stream.
pub(super) struct Scan<'a, 'k> {
    /// Names the stream in errors: empty for the image file itself, else the layer's member name.
    pub label: String,
    pub codec: Codec,
    /// The expected sha256 of the raw (compressed) bytes.
    pub digest: Option<String>,
    /// The expected length of the raw bytes (an OCI descriptor's `size`).
    pub size: Option<u64>,
    pub limits: Limits,
    /// What this image's index has read so far (shared by all its layers).
    pub tally: &'a mut Tally,
    /// Where the bytes of shared objects go when reading them later would mean decompressing.
    pub keep: Option<&'a mut Keeper<'k>>,
    pub progress: &'a indicatif::ProgressBar,
}

/// Counts over all the streams of one image, against its [`Limits`].
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Decompressed bytes.
    pub bytes: u64,
    /// Entries listed.
    pub entries: u64,
    /// Raw (compressed) bytes.
    pub raw: u64,
}

/// Names an entry takes from the metadata entries before it.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
}

impl Scan<'_, '_> {
    fn broken(&self, entry: Option<&str>, problem: impl Into<String>) -> ImageError {
        ImageError::Broken {
            layer: self.label.clone(),
            entry: entry.map(str::to_string),
            problem: problem.into(),
        }
    }

    /// Reads the whole stream `raw` (the compressed bytes) and lists its entries.
    pub(super) fn run(mut self, raw: impl Read) -> Result<Vec<LayerEntry>, ImageError> {
        let raw_read = Cell::new(0);
        let mut hashed = Hashing {
            inner: raw,
            hash: Sha256::new(),
            progress: self.progress,
            read: &raw_read,
        };
        let limit = self.limits.total.saturating_sub(self.tally.bytes);
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
            let entries = self.entries(&mut counted, &mut last, &raw_read);
            // Trailing blocks and padding belong to the digest (and to the byte cap).
            let drained = entries.and_then(|list| {
                io::copy(&mut counted, &mut io::sink())
                    .map(|_| list)
                    .map_err(Into::into)
            });
            (drained, counted.read)
        };
        self.tally.bytes += read;
        let entries = entries.map_err(|e| self.stream_error(e, last.as_deref(), limit, read))?;
        io::copy(&mut hashed, &mut io::sink())
            .map_err(|e| self.broken(last.as_deref(), format!("cannot read: {e}")))?;
        self.tally.raw += raw_read.get();
        self.check_raw(raw_read.get(), hashed.hash.finalize().as_slice())?;
        Ok(entries)
    }

    /// The raw bytes have the length and digest the stream is named by.
    fn check_raw(&self, len: u64, hash: &[u8]) -> Result<(), ImageError> {
        if let Some(expected) = self.size
            && expected != len
        {
            return Err(self.broken(
                None,
                format!("is {len} bytes, not the {expected} its descriptor says"),
            ));
        }
        if let Some(expected) = &self.digest {
            let actual = crate::digest::hex(hash);
            if &actual != expected {
                return Err(self.broken(
                    None,
                    format!("content has digest sha256:{actual}, not the sha256:{expected} it is named by"),
                ));
            }
        }
        Ok(())
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

    /// The entries of the tar stream, read raw: GNU long names and pax headers are applied
    /// here, each read only up to [`MAX_META`] bytes.
    fn entries(
        &mut self,
        stream: &mut impl Read,
        last: &mut Option<String>,
        raw: &Cell<u64>,
    ) -> Result<Vec<LayerEntry>, StreamError> {
        use tar::EntryType as T;
        let mut archive = tar::Archive::new(stream);
        let mut list = Vec::new();
        let mut pending = Pending::default();
        for entry in archive.entries()?.raw(true) {
            let mut entry = entry?;
            let slot = match entry.header().entry_type() {
                T::GNULongName => &mut pending.long_name,
                T::GNULongLink => &mut pending.long_link,
                T::XHeader => &mut pending.pax,
                // Global pax records (a comment, a default mtime) say nothing layerc reads.
                T::XGlobalHeader => continue,
                _ => {
                    let names = std::mem::take(&mut pending);
                    let (name, link) = self.names(&entry, names)?;
                    let Some(path) = normalise(&name).map_err(|p| self.broken(Some(&name), p))?
                    else {
                        continue; // the root folder itself
                    };
                    *last = Some(name.clone());
                    self.count_entry(&name)?;
                    if let Some(item) = self.entry(&mut entry, &name, path, link, raw.get())? {
                        list.push(item);
                    }
                    continue;
                }
            };
            let after = last
                .as_ref()
                .map_or(String::new(), |l| format!("after entry {l}: "));
            *slot = Some(
                read_meta(&mut entry)
                    .map_err(|problem| self.broken(None, format!("{after}{problem}")))?,
            );
        }
        if pending.long_name.is_some() || pending.long_link.is_some() || pending.pax.is_some() {
            let problem = "ends with a long name or pax header that describes no entry";
            return Err(self.broken(last.as_deref(), problem).into());
        }
        Ok(list)
    }

    /// An entry's name and link target: a GNU long name, else a pax `path`, else the header's (and
    /// likewise for the link). A pax `size` must agree with the header (readers that take one or
    /// the other would see different archives), and pax sparse files are refused like GNU ones.
    fn names<R: Read>(
        &self,
        entry: &tar::Entry<R>,
        pending: Pending,
    ) -> Result<(String, Option<String>), StreamError> {
        let header_name = lossy(&entry.path_bytes());
        let mut name = pending.long_name.as_deref().map(lossy);
        let mut link = pending.long_link.as_deref().map(lossy);
        let mut sparse: Option<Option<String>> = None;
        for record in tar::PaxExtensions::new(pending.pax.as_deref().unwrap_or_default()) {
            let record = record.map_err(|e| self.broken(Some(&header_name), e.to_string()))?;
            let value = lossy(record.value_bytes());
            match record.key_bytes() {
                b"path" => name = name.or(Some(value)),
                b"linkpath" => link = link.or(Some(value)),
                b"size" if value.parse::<u64>().ok() != Some(entry.size()) => {
                    let problem = format!(
                        "its pax size {value} disagrees with its header's {}",
                        entry.size()
                    );
                    return Err(self.broken(Some(&header_name), problem).into());
                }
                // GNU tar's pax sparse formats (0.0, 0.1, 1.0); 0.1 and 1.0 give the real name.
                b"GNU.sparse.name" => sparse = Some(Some(value)),
                key if key.starts_with(b"GNU.sparse.") => sparse = Some(sparse.flatten()),
                _ => {}
            }
        }
        if let Some(real) = sparse {
            let name = real.or(name).unwrap_or(header_name);
            return Err(self.broken(Some(&name), SPARSE).into());
        }
        let link = link.or_else(|| entry.link_name_bytes().map(|b| lossy(&b)));
        Ok((name.unwrap_or(header_name), link))
    }

    /// One more entry, within the image's cap.
    fn count_entry(&mut self, name: &str) -> Result<(), ImageError> {
        self.tally.entries += 1;
        if self.tally.entries > self.limits.entries {
            return Err(self.broken(
                Some(name),
                format!(
                    "is past the cap of {} entries per image (set LAYERC_IMAGE_MAX_ENTRIES to raise it)",
                    self.limits.entries
                ),
            ));
        }
        Ok(())
    }

    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        name: &str,
        path: String,
        link: Option<String>,
        raw: u64,
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
            T::GNUSparse => return Err(self.broken(Some(name), SPARSE).into()),
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
            EntryKind::Symlink => Some(link.unwrap_or_default()),
            EntryKind::HardLink => {
                let target = link.unwrap_or_default();
                let normal = normalise(&target).map_err(|p| {
                    self.broken(Some(name), format!("hard link target {target}: {p}"))
                })?;
                Some(normal.ok_or_else(|| self.broken(Some(name), "hard link to the image root"))?)
            }
            _ => None,
        };
        let offset = entry.raw_file_position();
        let mut head = Vec::new();
        if kind == EntryKind::File {
            (&mut *entry)
                .take(super::tree::HEAD as u64)
                .read_to_end(&mut head)
                .map_err(|e| self.broken(Some(name), e.to_string()))?;
        }
        let cached = match (kind, self.keep.as_deref_mut()) {
            // A cache that cannot be written only costs speed.
            (EntryKind::File, Some(keeper)) => {
                keeper.keep(&path, &head, entry, size, raw).unwrap_or(None)
            }
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
            head,
        }))
    }
}

const SPARSE: &str = "sparse files are not supported";

/// The bytes of a metadata entry, at most [`MAX_META`] of them.
fn read_meta<R: Read>(entry: &mut tar::Entry<R>) -> Result<Vec<u8>, String> {
    if entry.size() > MAX_META {
        return Err(format!(
            "a long name or pax header of {} bytes, over the {MAX_META} read",
            entry.size()
        ));
    }
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    // A GNU long name ends with a NUL.
    if bytes.last() == Some(&0) {
        bytes.pop();
    }
    Ok(bytes)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An entry name made relative to the image root: a leading `/` and `.` parts are dropped (as tar
/// and container runtimes do). `Ok(None)` is the root itself. A `..` part is refused: such an entry
/// would land outside the image.
pub(super) fn normalise(name: &str) -> Result<Option<String>, String> {
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

/// Hashes and counts the raw bytes it passes on and advances the progress bar.
struct Hashing<'a, R> {
    inner: R,
    hash: Sha256,
    progress: &'a indicatif::ProgressBar,
    read: &'a Cell<u64>,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.progress.inc(n as u64);
        self.read.set(self.read.get() + n as u64);
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

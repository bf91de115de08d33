//! The stat index: a file's stamp (size, mtime, ctime, device, inode) → its sha256, one index per
//! rootfs, so that an unchanged input is not read again. An entry is trusted only when the stamp
//! is the same and the file last changed before the index that records it was written
//! ([`crate::rootfs::stamp::trusted`]); otherwise the file is hashed again.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::file_digests::{Digests, sha256_in};
use crate::resolve::OpenRootfs;
use crate::rootfs::stamp::{mtime_ns, trusted};
use crate::rootfs::{RootPath, RootfsId, Stamp};

#[derive(Clone, Debug, PartialEq)]
struct Record {
    stamp: Stamp,
    sha256: String,
    /// When the index that first held it was written ([`WRITING`] until it is).
    written_ns: i128,
}

/// The `written_ns` of a record not yet written: the index file's own mtime once it is.
const WRITING: i128 = 0;

const HEADER: &str = "layerc-stat 1";
/// An index is about 200 bytes a file: room for a million files of one rootfs.
const MAX_INDEX_BYTES: u64 = 256 << 20;

/// The index of one rootfs, loaded from `stat/` in the store.
struct StatIndex {
    file: PathBuf,
    records: BTreeMap<String, Record>,
    changed: bool,
}

impl StatIndex {
    fn load(dir: &Path, rootfs: &RootfsId) -> StatIndex {
        let name = crate::digest::hex(&Sha256::digest(format!("{rootfs:?}").as_bytes()));
        let file = dir.join(name);
        let records = read_index(&file);
        StatIndex {
            file,
            records,
            changed: false,
        }
    }

    /// The recorded size and sha256 of a file whose stamp is now `stamp`, when it says they still
    /// hold.
    fn known(&self, path: &RootPath, stamp: Option<Stamp>) -> Option<(u64, String)> {
        let record = self.records.get(path.as_str())?;
        let stamp = stamp.filter(|s| trusted(s, &record.stamp, record.written_ns))?;
        Some((stamp.len, record.sha256.clone()))
    }

    fn digest(&mut self, rootfs: &OpenRootfs, path: &RootPath) -> io::Result<(u64, String)> {
        let fs = rootfs.fs.as_ref();
        let before = fs.stamp(path)?;
        if let Some(known) = self.known(path, before) {
            return Ok(known);
        }
        let (size, sha256) = sha256_in(fs, path)?;
        // A file that changed while it was read is not recorded.
        let unchanged = before.filter(|s| s.len == size && fs.stamp(path).ok().flatten() == before);
        if let Some(stamp) = unchanged.filter(|_| !path.as_str().contains('\n')) {
            let record = Record {
                stamp,
                sha256: sha256.clone(),
                written_ns: WRITING,
            };
            self.records.insert(path.to_string(), record);
            self.changed = true;
        }
        Ok((size, sha256))
    }

    /// Writes the index when it learnt something, over what another build may have written since
    /// it was loaded (a record lost to a race only costs one more read).
    fn save(&self) -> io::Result<()> {
        if !self.changed {
            return Ok(());
        }
        let mut records = read_index(&self.file);
        records.extend(self.records.iter().map(|(k, v)| (k.clone(), v.clone())));
        crate::emit::write_atomic(&self.file, |file| {
            use std::io::Write;
            file.write_all(render(&records).as_bytes())
                .map_err(crate::emit::EmitError::write(&self.file))
        })
        .map_err(io::Error::other)
    }
}

fn render(records: &BTreeMap<String, Record>) -> String {
    let mut text = format!("{HEADER}\n");
    for (path, r) in records {
        let s = &r.stamp;
        text.push_str(&format!(
            "{} {} {} {} {} {} {} {path}\n",
            r.sha256, s.len, s.mtime_ns, s.ctime_ns, s.dev, s.inode, r.written_ns
        ));
    }
    text
}

/// The index at `file`, its records written when the file says (none when it cannot be read).
fn read_index(file: &Path) -> BTreeMap<String, Record> {
    let Ok(opened) = crate::rootfs::host::open_regular_nofollow(file) else {
        return BTreeMap::new();
    };
    let written = opened.metadata().map_or(WRITING, |m| mtime_ns(&m));
    let text = crate::rootfs::host::read_open(opened, MAX_INDEX_BYTES)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    parse(&text, written)
}

/// Reads an index back, its records of the last write taking `written` (the file's mtime); a line
/// that does not parse is dropped (its file is hashed again).
fn parse(text: &str, written: i128) -> BTreeMap<String, Record> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return BTreeMap::new();
    }
    lines
        .filter_map(parse_line)
        .map(|(path, mut record)| {
            if record.written_ns == WRITING {
                record.written_ns = written;
            }
            (path, record)
        })
        .collect()
}

fn parse_line(line: &str) -> Option<(String, Record)> {
    let mut fields = line.splitn(8, ' ');
    let sha256 = fields.next()?.to_string();
    let mut num = || fields.next()?.parse::<i128>().ok();
    let (len, mtime_ns, ctime_ns, dev, inode, written_ns) =
        (num()?, num()?, num()?, num()?, num()?, num()?);
    let path = fields.next()?.to_string();
    let stamp = Stamp {
        len: u64::try_from(len).ok()?,
        mtime_ns,
        ctime_ns,
        dev: u64::try_from(dev).ok()?,
        inode: u64::try_from(inode).ok()?,
    };
    let well_formed = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then_some((
        path,
        Record {
            stamp,
            sha256,
            written_ns,
        },
    ))
}

/// [`Digests`] through the stat indexes of a store: each rootfs's index is loaded on first use.
pub struct StatDigests {
    dir: PathBuf,
    indexes: HashMap<RootfsId, StatIndex>,
}

impl StatDigests {
    pub(super) fn new(dir: PathBuf) -> StatDigests {
        StatDigests {
            dir,
            indexes: HashMap::new(),
        }
    }

    /// Writes every index that learnt something.
    pub fn save(&self) -> io::Result<()> {
        self.indexes.values().try_for_each(StatIndex::save)
    }

    /// These digests without reading any file: one the index cannot vouch for is an error of kind
    /// `WouldBlock`.
    pub fn known_only(&mut self) -> KnownOnly<'_> {
        KnownOnly(self)
    }

    fn index(&mut self, rootfs: &OpenRootfs) -> &mut StatIndex {
        self.indexes
            .entry(rootfs.id.clone())
            .or_insert_with(|| StatIndex::load(&self.dir, &rootfs.id))
    }
}

impl Digests for StatDigests {
    fn digest(&mut self, rootfs: &OpenRootfs, path: &RootPath) -> io::Result<(u64, String)> {
        self.index(rootfs).digest(rootfs, path)
    }
}

/// [`StatDigests::known_only`].
pub struct KnownOnly<'a>(&'a mut StatDigests);

impl Digests for KnownOnly<'_> {
    fn digest(&mut self, rootfs: &OpenRootfs, path: &RootPath) -> io::Result<(u64, String)> {
        let stamp = rootfs.fs.stamp(path)?;
        self.0.index(rootfs).known(path, stamp).ok_or_else(|| {
            io::Error::new(io::ErrorKind::WouldBlock, format!("{path} must be read"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rootfs::stamp::stamp_at as stamp;

    #[test]
    fn records_read_back_and_bad_lines_are_dropped() {
        let mut records = BTreeMap::new();
        let record = Record {
            stamp: stamp(5),
            sha256: "ab".repeat(32),
            written_ns: 9,
        };
        records.insert("/usr/lib/a b.so".to_string(), record.clone());
        let text = render(&records);
        assert_eq!(parse(&text, 1), records);
        assert!(parse(&format!("{text}zz 1 2\n"), 1) == records);
        assert!(parse("layerc-stat 0\n", 1).is_empty());
        // A record of the last write takes the file's own time.
        let fresh = Record {
            written_ns: WRITING,
            ..record
        };
        let text = render(&BTreeMap::from([("/x".to_string(), fresh)]));
        assert_eq!(parse(&text, 77)["/x"].written_ns, 77);
    }
}

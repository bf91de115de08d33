//! An `.rpm` file: the lead, the signature header, the header (read for the payload's
//! compressor), then the payload, a cpio archive in the "newc" format compressed with gzip, xz or
//! zstd, unpacked into a [`Tree`] (rpm's `lib/rpmlead.c`, `lib/header.c` and
//! `rpmio/cpio.c`). Scriptlets in the header are never run.

use std::collections::BTreeMap;
use std::io::{self, Read};

use crate::packages::openpgp::Keyring;
use crate::packages::unpack::{Tree, UnpackError};

const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
const HEADER_MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
/// `RPMTAG_PAYLOADCOMPRESSOR`.
const TAG_PAYLOAD_COMPRESSOR: u32 = 1125;
/// The most index entries and data bytes a header may declare (rpm's `hdrchkTags` and
/// `hdrchkData` bounds).
const MAX_TAGS: u32 = 0x0000_ffff;
const MAX_DATA: u32 = 0x0fff_ffff;
/// cpio newc: the header's magic, and the most bytes a name may have.
const CPIO_MAGIC: &[u8; 6] = b"070701";
const MAX_NAME: usize = 4096;

fn bad(problem: impl Into<String>) -> UnpackError {
    UnpackError {
        name: "the .rpm".into(),
        problem: problem.into(),
    }
}

fn read_exact(r: &mut dyn Read, buf: &mut [u8], what: &str) -> Result<(), UnpackError> {
    r.read_exact(buf)
        .map_err(|e| bad(format!("cannot read the {what}: {e}")))
}

/// One header: its tags' index and data store, and its bytes as stored (what a header signature
/// covers).
struct Header {
    index: Vec<(u32, u32, u32, u32)>,
    data: Vec<u8>,
    raw: Vec<u8>,
}

impl Header {
    fn read(r: &mut dyn Read, what: &str) -> Result<Header, UnpackError> {
        let mut intro = [0u8; 16];
        read_exact(r, &mut intro, what)?;
        if intro[..8] != HEADER_MAGIC {
            return Err(bad(format!("the {what} has no header magic")));
        }
        let count = u32::from_be_bytes([intro[8], intro[9], intro[10], intro[11]]);
        let size = u32::from_be_bytes([intro[12], intro[13], intro[14], intro[15]]);
        if count > MAX_TAGS || size > MAX_DATA {
            return Err(bad(format!("the {what} is too large")));
        }
        let mut raw = vec![0u8; count as usize * 16];
        read_exact(r, &mut raw, what)?;
        let index = raw
            .chunks_exact(16)
            .map(|c| {
                let n = |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
                (n(0), n(4), n(8), n(12))
            })
            .collect();
        let mut data = vec![0u8; size as usize];
        read_exact(r, &mut data, what)?;
        let mut bytes = intro.to_vec();
        bytes.extend_from_slice(&raw);
        bytes.extend_from_slice(&data);
        Ok(Header {
            index,
            data,
            raw: bytes,
        })
    }

    /// A tag's bytes: `count` bytes for binary data (type 7), else up to the end of the store.
    fn value(&self, tag: u32) -> Option<(u32, &[u8])> {
        let &(_, kind, offset, count) = self.index.iter().find(|e| e.0 == tag)?;
        let rest = self.data.get(offset as usize..)?;
        match kind {
            7 => rest.get(..count as usize).map(|b| (kind, b)),
            _ => Some((kind, rest)),
        }
    }

    /// The first value of an INT32 (type 4) tag.
    fn int32(&self, tag: u32) -> Option<u32> {
        match self.value(tag)? {
            (4, b) if b.len() >= 4 => Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            _ => None,
        }
    }

    /// The length of the header as stored (for the signature header's padding).
    fn len(&self) -> usize {
        16 + self.index.len() * 16 + self.data.len()
    }

    /// A string tag's value.
    /// A string (type 6) tag's value, or the first of a string array (type 8).
    fn string(&self, tag: u32) -> Option<String> {
        let (kind, rest) = self.value(tag)?;
        if kind != 6 && kind != 8 {
            return None;
        }
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    }
}

/// The signature header and the header of an `.rpm`, the reader left at the payload.
fn headers(rpm: &mut dyn Read) -> Result<(Header, Header), UnpackError> {
    let mut lead = [0u8; 96];
    read_exact(rpm, &mut lead, "lead")?;
    if lead[..4] != LEAD_MAGIC {
        return Err(bad("not an RPM package (no lead magic)"));
    }
    let signature = Header::read(rpm, "signature header")?;
    let padding = (8 - signature.len() % 8) % 8;
    read_exact(rpm, &mut vec![0u8; padding], "signature padding")?;
    let header = Header::read(rpm, "header")?;
    Ok((signature, header))
}

/// Checks an `.rpm`'s own OpenPGP signature, as `rpm -K` does: the header signature
/// (`RPMSIGTAG_RSA` 268 or `RPMSIGTAG_DSA` 267) over the header, and the payload's sha256
/// (`RPMTAG_PAYLOADDIGEST` 5092 with `RPMTAG_PAYLOADDIGESTALGO` 5093 = 8); or, for packages
/// without a payload digest, the legacy signature over header and payload (`RPMSIGTAG_PGP` 1002,
/// `RPMSIGTAG_GPG` 1005). Returns why not.
pub fn verify(rpm: &mut dyn Read, keyring: &Keyring) -> Result<(), String> {
    let (signature, header) = headers(rpm).map_err(|e| e.problem)?;
    let header_sig = [268, 267].iter().find_map(|t| signature.value(*t));
    let legacy_sig = [1002, 1005].iter().find_map(|t| signature.value(*t));
    let payload_digest = match header.int32(5093) {
        Some(8) | None => header.string(5092),
        Some(_) => None,
    };
    if let (Some((_, sig)), Some(want)) = (header_sig, payload_digest) {
        keyring.verify_detached(&header.raw, sig)?;
        let actual = crate::digest::sha256_of(rpm).map_err(|e| e.to_string())?;
        return if actual == want.to_ascii_lowercase() {
            Ok(())
        } else {
            Err(format!(
                "its payload has sha256 {actual}, not the {want} its signed header gives"
            ))
        };
    }
    let Some((_, sig)) = legacy_sig else {
        return Err("the package carries no OpenPGP signature".into());
    };
    let mut signed = header.raw.clone();
    rpm.take(super::super::MAX_PACKAGE)
        .read_to_end(&mut signed)
        .map_err(|e| e.to_string())?;
    keyring.verify_detached(&signed, sig)
}

/// Unpacks an `.rpm`'s payload into `tree`.
pub fn unpack(rpm: &mut dyn Read, tree: &mut Tree) -> Result<(), UnpackError> {
    let (_, header) = headers(rpm)?;
    let compressor = header
        .string(TAG_PAYLOAD_COMPRESSOR)
        .unwrap_or_else(|| "gzip".into());
    let payload: Box<dyn Read + '_> = match compressor.as_str() {
        "gzip" => Box::new(flate2::read::GzDecoder::new(rpm)),
        "xz" | "lzma" => Box::new(liblzma::read::XzDecoder::new_multi_decoder(rpm)),
        "zstd" => Box::new(zstd::stream::read::Decoder::new(rpm).map_err(|e| bad(e.to_string()))?),
        other => {
            return Err(bad(format!(
                "a payload compressed with {other} is not read"
            )));
        }
    };
    uncpio(payload, tree)
}

/// One cpio "newc" header's fields.
struct Entry {
    ino: u64,
    mode: u32,
    nlink: u64,
    mtime: u64,
    size: u64,
    name: Vec<u8>,
}

fn read_entry(r: &mut dyn Read) -> Result<Entry, UnpackError> {
    let mut head = [0u8; 110];
    read_exact(r, &mut head, "cpio header")?;
    if &head[..6] != CPIO_MAGIC {
        return Err(bad("the payload is not a cpio newc archive"));
    }
    let field = |i: usize| {
        let text = std::str::from_utf8(&head[6 + i * 8..14 + i * 8]).unwrap_or("");
        u64::from_str_radix(text, 16).map_err(|_| bad("a cpio header with a bad number"))
    };
    let namesize = field(11)? as usize;
    if namesize == 0 || namesize > MAX_NAME {
        return Err(bad("a cpio entry with a bad name size"));
    }
    let mut name = vec![0u8; namesize];
    read_exact(r, &mut name, "cpio name")?;
    name.pop();
    skip(r, (4 - (110 + namesize) % 4) % 4)?;
    Ok(Entry {
        ino: field(0)?,
        mode: field(1)? as u32,
        nlink: field(4)?,
        mtime: field(5)?,
        size: field(6)?,
        name,
    })
}

fn skip(r: &mut dyn Read, n: usize) -> Result<(), UnpackError> {
    io::copy(&mut r.take(n as u64), &mut io::sink()).map_err(|e| bad(e.to_string()))?;
    Ok(())
}

/// Every entry of a cpio "newc" stream into `tree`. Hard links share an inode and only the last
/// of them carries the bytes: the others are linked to it once it is written.
pub fn uncpio(mut r: impl Read, tree: &mut Tree) -> Result<(), UnpackError> {
    let mut pending: BTreeMap<u64, Vec<(Vec<u8>, u32, u64)>> = BTreeMap::new();
    loop {
        let e = read_entry(&mut r)?;
        if e.name == b"TRAILER!!!" {
            break;
        }
        match e.mode & 0o170000 {
            0o040000 => tree.dir(&e.name, e.mode)?,
            0o120000 => {
                let mut target = Vec::new();
                (&mut r)
                    .take(e.size.min(MAX_NAME as u64))
                    .read_to_end(&mut target)
                    .map_err(|err| bad(err.to_string()))?;
                skip(&mut r, (e.size as usize).saturating_sub(target.len()))?;
                tree.symlink(&e.name, &target)?;
            }
            0o100000 if e.nlink > 1 && e.size == 0 => {
                pending
                    .entry(e.ino)
                    .or_default()
                    .push((e.name, e.mode, e.mtime));
            }
            0o100000 => {
                tree.file(&e.name, e.mode, e.mtime, e.size, &mut r)?;
                for (name, _, _) in pending.remove(&e.ino).unwrap_or_default() {
                    tree.hard_link(&name, &e.name)?;
                }
            }
            // Device files, FIFOs and sockets cannot be shipped in a layer: left out.
            _ => skip(&mut r, e.size as usize)?,
        }
        skip(&mut r, ((4 - e.size % 4) % 4) as usize)?;
    }
    // Hard links whose bytes never came are empty files, as cpio makes them.
    for (name, mode, mtime) in pending.into_values().flatten() {
        tree.file(&name, mode, mtime, 0, &mut io::empty())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cpio "newc" entry.
    fn entry(out: &mut Vec<u8>, name: &str, mode: u32, body: &[u8]) {
        let fields = [
            1,
            mode,
            0,
            0,
            1,
            0,
            body.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        out.extend_from_slice(CPIO_MAGIC);
        for f in fields {
            out.extend(format!("{f:08x}").as_bytes());
        }
        out.extend(name.as_bytes());
        out.push(0);
        out.resize(out.len().div_ceil(4) * 4, 0);
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(4) * 4, 0);
    }

    fn archive(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, mode, body) in entries {
            entry(&mut out, name, *mode, body);
        }
        entry(&mut out, "TRAILER!!!", 0, b"");
        out
    }

    #[test]
    fn payload_names_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs_create(&root);
        let good = archive(&[
            ("./usr/lib64/libx.so.1", 0o100755, b"elf"),
            ("./usr/lib64/libx.so", 0o120777, b"/usr/lib64/libx.so.1"),
        ]);
        let mut tree = Tree::new(&root);
        uncpio(&good[..], &mut tree).unwrap();
        assert!(root.join("usr/lib64/libx.so.1").is_file());
        let hostile = archive(&[("./../../escaped", 0o100644, b"x")]);
        let mut tree = Tree::new(&root);
        let e = uncpio(&hostile[..], &mut tree).unwrap_err();
        assert!(e.problem.contains(".."), "{e}");
        assert!(!dir.path().join("escaped").exists());
    }

    fn fs_create(p: &std::path::Path) {
        std::fs::create_dir_all(p).unwrap();
    }
}

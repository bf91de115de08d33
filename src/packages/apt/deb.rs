//! A `.deb` file: an `ar` archive (`debian-binary`, `control.tar.*`, `data.tar.*`) whose data
//! member, compressed with xz, zstd or gzip (or not at all), is unpacked into a [`Tree`]
//! (deb(5)). Maintainer scripts in the control member are never run, nor even read.

use std::io::{self, BufReader, Read};

use crate::packages::unpack::{Tree, UnpackError};

const AR_MAGIC: &[u8; 8] = b"!<arch>\n";

/// Unpacks the data member of the `.deb` read from `deb` into `tree`.
pub fn unpack(deb: impl Read, tree: &mut Tree) -> Result<(), UnpackError> {
    let bad = |problem: String| UnpackError {
        name: "the .deb".into(),
        problem,
    };
    let mut deb = BufReader::new(deb);
    let mut magic = [0; 8];
    deb.read_exact(&mut magic)
        .map_err(|e| bad(format!("cannot read it: {e}")))?;
    if &magic != AR_MAGIC {
        return Err(bad("not an ar archive".into()));
    }
    loop {
        let mut header = [0u8; 60];
        match deb.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(bad("it has no data.tar member".into()));
            }
            Err(e) => return Err(bad(e.to_string())),
        }
        if &header[58..60] != b"`\n" {
            return Err(bad("a damaged ar member header".into()));
        }
        let name = String::from_utf8_lossy(&header[..16])
            .trim_end()
            .trim_end_matches('/')
            .to_string();
        let size: u64 = String::from_utf8_lossy(&header[48..58])
            .trim()
            .parse()
            .map_err(|_| bad(format!("member {name} has no valid size")))?;
        let mut member = (&mut deb).take(size);
        if let Some(compression) = name.strip_prefix("data.tar") {
            let reader = decompressor(compression, &mut member).map_err(bad)?;
            return untar(reader, tree);
        }
        io::copy(&mut member, &mut io::sink()).map_err(|e| bad(e.to_string()))?;
        if size % 2 == 1 {
            io::copy(&mut (&mut deb).take(1), &mut io::sink()).map_err(|e| bad(e.to_string()))?;
        }
    }
}

/// A reader of a member compressed as its name's suffix says.
fn decompressor<'a>(suffix: &str, r: impl Read + 'a) -> Result<Box<dyn Read + 'a>, String> {
    Ok(match suffix {
        "" => Box::new(r),
        ".xz" => Box::new(liblzma::read::XzDecoder::new(r)),
        ".zst" => Box::new(zstd::stream::read::Decoder::new(r).map_err(|e| e.to_string())?),
        ".gz" => Box::new(flate2::read::GzDecoder::new(r)),
        other => {
            return Err(format!(
                "data.tar{other} is a compression layerc does not read"
            ));
        }
    })
}

/// Every entry of a tar stream into `tree`.
pub fn untar(reader: impl Read, tree: &mut Tree) -> Result<(), UnpackError> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| UnpackError {
        name: "data.tar".into(),
        problem: e.to_string(),
    })?;
    for entry in entries {
        let mut entry = entry.map_err(|e| UnpackError {
            name: "data.tar".into(),
            problem: format!("a damaged entry: {e}"),
        })?;
        let name = entry.path_bytes().into_owned();
        let header = entry.header();
        let mode = header.mode().unwrap_or(0o644);
        let mtime = header.mtime().unwrap_or(0);
        let kind = header.entry_type();
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let shown = || String::from_utf8_lossy(&name).into_owned();
        use tar::EntryType as T;
        match kind {
            T::Directory => tree.dir(&name, mode)?,
            T::Regular | T::Continuous => {
                let size = entry.size();
                tree.file(&name, mode, mtime, size, &mut entry)?;
            }
            T::Symlink => tree.symlink(&name, &link.unwrap_or_default())?,
            T::Link => tree.hard_link(&name, &link.unwrap_or_default())?,
            // Device files and FIFOs cannot be shipped in a layer: left out.
            T::Char | T::Block | T::Fifo => {}
            other => {
                return Err(UnpackError {
                    name: shown(),
                    problem: format!("a tar entry of type {other:?} is not unpacked"),
                });
            }
        }
    }
    Ok(())
}

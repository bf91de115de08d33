//! A rootfs made of distribution packages: `rootfs { debian "bullseye" { package "libgdiplus" } }`.
//!
//! The sources of a `rootfs` block are read together (apt repositories, or RPM repositories),
//! their signed indexes checked, the named packages resolved as a fresh install would
//! ([`resolve`]), each package file fetched into the package store with its sha256 checked, and
//! the payloads unpacked ([`unpack`]) into a folder of the store named by the package files it
//! holds, which the session opens like any rootfs folder. No maintainer script or scriptlet is run.
//! Under `--locked` the files layer.lock pins are used as they are, without resolving.

pub mod apt;
mod diagnostic;
mod fetch;
pub mod openpgp;
pub mod resolve;
pub mod rpm;
mod sets;
mod source;
pub mod store;
pub mod unpack;
pub mod version;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::net::NetError;

pub(crate) use diagnostic::diagnostic;
pub use resolve::{Chosen, Unsatisfied};
pub use sets::{PackageSets, Pin};
pub use source::describe;

/// What went wrong with a package source, which decides the diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server could not be reached (and the store had nothing to stand in).
    Unreachable,
    /// Another network failure: a status, a size over the cap, a digest that differs.
    Network,
    /// An index that is unsigned, badly signed, or whose listed files do not match it.
    Signature,
    /// An index or package file that cannot be read.
    Index,
    /// The keyring cannot be read.
    Key,
    /// The store cannot be written.
    Store,
    /// A requested package that no source has.
    Unknown { closest: Option<String> },
    /// A requested package whose dependencies cannot be met.
    Unsatisfiable,
    /// A file layer.lock pins is gone or differs.
    Pinned,
}

/// A package source that could not be used: the source, the step, and what went wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}: {step}: {problem}")]
pub struct PackagesError {
    /// The source as the spec names it (`debian "bullseye"`).
    pub origin: String,
    pub step: String,
    pub problem: String,
    pub failure: Failure,
    /// The requested package the failure is about, when there is one.
    pub package: Option<String>,
}

impl PackagesError {
    pub fn new(
        origin: &str,
        step: &str,
        failure: Failure,
        problem: impl Into<String>,
    ) -> PackagesError {
        PackagesError {
            origin: origin.to_string(),
            step: step.to_string(),
            problem: problem.into(),
            failure,
            package: None,
        }
    }

    pub fn net(origin: &str, step: &str, e: NetError) -> PackagesError {
        use crate::net::Problem;
        let failure = match e.problem {
            _ if e.is_unreachable() => Failure::Unreachable,
            // Bytes that are not what the signed index lists are refused like a bad signature.
            Problem::Digest { .. } | Problem::TooLarge { .. } => Failure::Signature,
            _ => Failure::Network,
        };
        PackagesError::new(origin, step, failure, e.to_string())
    }
}

/// The rootfs of a `rootfs` block, as prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The unpacked folder in the store.
    pub root: PathBuf,
    /// Each package file, sorted by name.
    pub packages: Vec<Chosen>,
    /// Each source as described in the lock, with the digest of the signed index read from it
    /// (empty when the packages came from layer.lock).
    pub sources: Vec<(String, String)>,
    /// The packages the spec names, in spec order.
    pub requested: Vec<String>,
    /// Set when a mirror could not be reached and the index it served last was used.
    pub offline: Option<String>,
}

/// The largest package file accepted when its index gives no size.
const MAX_PACKAGE: u64 = 4 << 30;

/// A stored index file, decompressed as its name's suffix says (`.xz`, `.gz`, `.zst`, or none).
pub(crate) fn open_decompressed(path: &Path, name: &str) -> Result<Box<dyn Read>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    Ok(if name.ends_with(".xz") {
        Box::new(liblzma::read::XzDecoder::new(file))
    } else if name.ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else if name.ends_with(".zst") {
        Box::new(zstd::stream::read::Decoder::new(file).map_err(|e| e.to_string())?)
    } else if name.ends_with(".bz2") {
        return Err("bzip2-compressed indexes are not read".into());
    } else {
        Box::new(file)
    })
}

/// A stored index file decompressed whole, up to `limit` bytes.
pub(crate) fn decompress_file(path: &Path, name: &str, limit: u64) -> Result<String, String> {
    let mut text = String::new();
    open_decompressed(path, name)?
        .take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot decompress it: {e}"))?;
    if text.len() as u64 > limit {
        return Err(format!("it decompresses to more than {limit} bytes"));
    }
    Ok(text)
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Failure::Unreachable => "unreachable",
            Failure::Network => "network",
            Failure::Signature => "signature",
            Failure::Index => "index",
            Failure::Key => "key",
            Failure::Store => "store",
            Failure::Unknown { .. } => "unknown package",
            Failure::Unsatisfiable => "unsatisfiable",
            Failure::Pinned => "pinned file",
        })
    }
}

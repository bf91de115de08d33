//! What a remote cache does, whatever it is stored in: read a small object, download a large one
//! checked against its sha256, say whether an object is there, and upload one so that it becomes
//! visible whole or not at all.

use std::path::Path;

use crate::net::{Body, Expected, NetError, Problem, Request};

/// Why a cache could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// Down or too slow (refused, unresolvable, timed out): not asked again during this run.
    #[error("{0}")]
    Unreachable(String),
    /// It answered, but not with what was asked (denied, damaged, another server error).
    #[error("{0}")]
    Failed(String),
}

impl From<NetError> for CacheError {
    fn from(e: NetError) -> CacheError {
        if e.is_unreachable() {
            CacheError::Unreachable(e.to_string())
        } else {
            CacheError::Failed(e.to_string())
        }
    }
}

impl CacheError {
    pub fn is_unreachable(&self) -> bool {
        matches!(self, CacheError::Unreachable(_))
    }
}

/// Object names are relative to the cache's root (`layers/KEY.entry`, `blobs/sha256/HEX`).
pub trait Backend: Send + Sync {
    /// A small object read whole (refused past `limit` bytes); `None` when it is absent.
    fn read(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, CacheError>;
    /// Downloads an object to `target` (created only when the bytes match `expected`); false when
    /// it is absent.
    fn download(&self, name: &str, expected: &Expected, target: &Path) -> Result<bool, CacheError>;
    fn exists(&self, name: &str) -> Result<bool, CacheError>;
    /// Uploads `body` as `name`; readers see the old object or the whole new one, never a part.
    fn upload(&self, name: &str, body: &Body) -> Result<(), CacheError>;
    /// A GET of `name` that a `Range` can be added to, and how messages name the object; `None`
    /// where objects are not fetched over HTTP (a folder).
    fn get_request(&self, _name: &str) -> Result<Option<(Request, String)>, CacheError> {
        Ok(None)
    }
}

/// A download that ended with the wrong bytes is the cache's fault, not the network's.
pub fn download_result(result: Result<(), NetError>) -> Result<bool, CacheError> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.problem, Problem::Status { code: 404, .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

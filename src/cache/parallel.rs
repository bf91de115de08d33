//! A large object downloaded in ranges over several connections at once, as the AWS CLI and other
//! S3 transfer managers do: one stream is bound by what one server thread sends, several use every
//! core the server has. Parts arrive in any order; they are hashed and written in order (a bounded
//! window of parts waits in memory), the file synced while it grows, and renamed into place only
//! when the whole object has the expected sha256.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Condvar, Mutex};

use sha2::{Digest, Sha256};

use super::backend::CacheError;
use crate::net::{Client, Expected, NetError, Problem, Request};

/// Objects at least this large are fetched in ranges.
pub(super) const PARALLEL_FROM: u64 = 16 << 20;
const PART: u64 = 4 << 20;
/// Connections per object unless `LAYERC_CACHE_CONNECTIONS` says otherwise (1: one stream).
const CONNECTIONS: usize = 4;
/// Parts fetched ahead of the next one to write: what may wait in memory.
const WINDOW: u64 = 8;

/// How many connections to fetch one object over (`LAYERC_CACHE_CONNECTIONS`, else 4).
pub(super) fn connections() -> usize {
    std::env::var("LAYERC_CACHE_CONNECTIONS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(CONNECTIONS)
        .min(16)
}

/// Why a ranged download did not give the object.
pub(super) enum Ranged {
    /// No such object.
    Absent,
    /// The server does not answer ranges: download it whole instead.
    NoRanges,
    Failed(CacheError),
}

#[derive(Default)]
struct State {
    next: u64,
    written: u64,
    arrived: BTreeMap<u64, Vec<u8>>,
    failed: Option<Ranged>,
}

/// Downloads `request`'s object (`expected.size` bytes) to `target` in ranges; messages name it
/// `label` (never a signed URL).
pub(super) fn download(
    client: &Client,
    (request, label): (&Request, &str),
    expected: &Expected,
    target: &Path,
) -> Result<(), Ranged> {
    let size = expected.size.unwrap_or(0);
    let parts = size.div_ceil(PART);
    let dir = target.parent().unwrap_or(Path::new("."));
    let write_err = |e: std::io::Error| {
        Ranged::Failed(CacheError::Failed(format!("{}: {e}", target.display())))
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".layerc-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(write_err)?;
    let state = (Mutex::new(State::default()), Condvar::new());
    let mut hasher = Sha256::new();
    std::thread::scope(|scope| {
        for _ in 0..connections().min(parts as usize) {
            scope.spawn(|| fetch_parts(client, (request, label), size, &state));
        }
        let mut out = crate::sync_ahead::SyncAhead::new(tmp.as_file_mut());
        for index in 0..parts {
            let Some(bytes) = next_part(&state, index) else {
                break;
            };
            hasher.update(&bytes);
            if let Err(e) = out.write_all(&bytes) {
                fail(&state, write_err(e));
                break;
            }
            let mut s = crate::lock(&state.0);
            s.written = index + 1;
            state.1.notify_all();
        }
    });
    let (lock, _) = state;
    if let Some(failed) = lock
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .failed
    {
        return Err(failed);
    }
    let actual = crate::digest::hex(&hasher.finalize());
    if actual != expected.sha256 {
        let problem = Problem::Digest {
            expected: expected.sha256.clone(),
            actual,
        };
        return Err(Ranged::Failed(NetError::new(label, problem).into()));
    }
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(target).map_err(|e| write_err(e.error))?;
    Ok(())
}

fn fail(state: &(Mutex<State>, Condvar), why: Ranged) {
    let mut s = crate::lock(&state.0);
    s.failed.get_or_insert(why);
    state.1.notify_all();
}

/// Waits for part `index`; `None` once any part failed.
fn next_part(state: &(Mutex<State>, Condvar), index: u64) -> Option<Vec<u8>> {
    let mut s = crate::lock(&state.0);
    loop {
        if s.failed.is_some() {
            return None;
        }
        if let Some(bytes) = s.arrived.remove(&index) {
            return Some(bytes);
        }
        s = state
            .1
            .wait(s)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
}

/// One connection's loop: take the next part within the window, fetch it, hand it over.
fn fetch_parts(
    client: &Client,
    request: (&Request, &str),
    size: u64,
    state: &(Mutex<State>, Condvar),
) {
    let parts = size.div_ceil(PART);
    loop {
        let index = {
            let mut s = crate::lock(&state.0);
            while s.failed.is_none() && s.next < parts && s.next >= s.written + WINDOW {
                s = state
                    .1
                    .wait(s)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if s.failed.is_some() || s.next >= parts {
                return;
            }
            s.next += 1;
            s.next - 1
        };
        let first = index * PART;
        let len = PART.min(size - first);
        match fetch(client, request, first, len) {
            Ok(bytes) => {
                let mut s = crate::lock(&state.0);
                s.arrived.insert(index, bytes);
                state.1.notify_all();
            }
            Err(why) => return fail(state, why),
        }
    }
}

/// The `len` bytes from `first`, by a `Range` request answered 206 with exactly them.
fn fetch(
    client: &Client,
    (request, url): (&Request, &str),
    first: u64,
    len: u64,
) -> Result<Vec<u8>, Ranged> {
    let last = first + len - 1;
    let ranged = request
        .clone()
        .header("Range", format!("bytes={first}-{last}"));
    let reply = client
        .send(&ranged)
        .map_err(|e| Ranged::Failed(NetError::new(url, e.problem).into()))?;
    match reply.status().as_u16() {
        206 => {}
        200 => return Err(Ranged::NoRanges),
        404 => return Err(Ranged::Absent),
        _ => return Err(Ranged::Failed(NetError::status(url, &reply).into())),
    }
    let mut bytes = Vec::with_capacity(len as usize);
    reply
        .into_body()
        .into_reader()
        .take(len + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Ranged::Failed(NetError::from_io(url, e).into()))?;
    if bytes.len() as u64 != len {
        let problem = Problem::Short {
            expected: len,
            got: bytes.len() as u64,
        };
        return Err(Ranged::Failed(NetError::new(url, problem).into()));
    }
    Ok(bytes)
}

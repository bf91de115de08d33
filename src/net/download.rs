//! A download into a content-addressed file: the body streams into a partial file beside the
//! target while its size and sha256 are checked, and the partial file is renamed to the target only
//! when the digest matches. An interrupted download leaves only the partial file, which the next
//! attempt resumes with a `Range` request when the server allows it (or starts again); a partial
//! file is never read as the target.

use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Client, NetError, Problem, Reply, Request};

/// What the bytes must be.
#[derive(Debug, Clone)]
pub struct Expected {
    /// Lower-case hexadecimal sha256.
    pub sha256: String,
    /// The size the server announced in advance (a manifest's descriptor), when there is one.
    pub size: Option<u64>,
    /// The most bytes accepted when no size is announced.
    pub limit: u64,
}

/// Downloads `request` to `target`, checked against `expected`. Returns at once when `target`
/// exists (it was renamed there only after its check). `progress` counts the bytes received.
pub fn download(
    client: &Client,
    request: &Request,
    target: &Path,
    expected: &Expected,
    progress: &indicatif::ProgressBar,
) -> Result<(), NetError> {
    let url = request.url.as_str();
    let write_err = |e: io::Error| NetError::new(url, Problem::Write(e.to_string()));
    let partial = partial_path(target);
    let mut file = File::options()
        .create(true)
        .read(true)
        .append(true)
        .open(&partial)
        .map_err(write_err)?;
    // Two processes fetching the same blob take turns; the second finds the target in place.
    crate::flock::flock(&file, crate::flock::Flock::Exclusive).map_err(write_err)?;
    if target.exists() {
        return Ok(());
    }
    let mut hasher = Sha256::new();
    let have = resume_point(&mut file, &mut hasher, expected).map_err(write_err)?;
    let mut ranged = request.clone();
    if have > 0 {
        ranged = ranged.header("Range", format!("bytes={have}-"));
    }
    let reply = client.send(&ranged)?;
    let mut received = match reply.status().as_u16() {
        206 if content_range_start(&reply) == Some(have) => {
            progress.inc(have);
            have
        }
        200 => {
            file.set_len(0).map_err(write_err)?;
            hasher = Sha256::new();
            0
        }
        _ => return Err(NetError::status(url, &reply)),
    };
    let limit = expected.size.unwrap_or(expected.limit);
    received = stream(
        reply,
        &mut file,
        &mut hasher,
        received,
        limit,
        url,
        progress,
    )?;
    if let Some(size) = expected.size
        && received < size
    {
        // The partial file stays for the next attempt to resume.
        return Err(NetError::new(
            url,
            Problem::Short {
                expected: size,
                got: received,
            },
        ));
    }
    let actual = crate::digest::hex(&hasher.finalize());
    if actual != expected.sha256 {
        let _ = fs::remove_file(&partial);
        if have > 0 {
            // What an earlier attempt left may not have been this blob's start: fetch it whole.
            drop(file);
            return download(client, request, target, expected, progress);
        }
        return Err(NetError::new(
            url,
            Problem::Digest {
                expected: expected.sha256.clone(),
                actual,
            },
        ));
    }
    file.sync_all().map_err(write_err)?;
    fs::rename(&partial, target).map_err(write_err)
}

/// `.NAME.partial` beside the target.
fn partial_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.partial"))
}

/// How many bytes of the partial file can be kept, with them hashed into `hasher`; a partial file
/// already as long as the blob (or longer) is started again.
fn resume_point(file: &mut File, hasher: &mut Sha256, expected: &Expected) -> io::Result<u64> {
    let len = file.metadata()?.len();
    if len == 0 || expected.size.is_some_and(|size| len >= size) || len >= expected.limit {
        file.set_len(0)?;
        return Ok(0);
    }
    file.seek(io::SeekFrom::Start(0))?;
    let mut buf = vec![0; 1 << 20];
    let mut read = 0;
    while read < len {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        read += n as u64;
    }
    Ok(read)
}

/// The first byte of a 206 answer's `Content-Range: bytes FIRST-LAST/TOTAL`.
fn content_range_start(reply: &Reply) -> Option<u64> {
    let value = reply.headers().get("content-range")?.to_str().ok()?;
    let range = value.trim().strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

/// Appends the body to `file`, hashing it; more than `limit` bytes in all is an error (and the
/// partial file is dropped, since what it holds is not the blob).
fn stream(
    reply: Reply,
    file: &mut File,
    hasher: &mut Sha256,
    mut received: u64,
    limit: u64,
    url: &str,
    progress: &indicatif::ProgressBar,
) -> Result<u64, NetError> {
    let mut body = reply.into_body().into_reader();
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => return Ok(received),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(NetError::from_io(url, e)),
        };
        received += n as u64;
        if received > limit {
            let _ = file.set_len(0);
            return Err(NetError::new(url, Problem::TooLarge { limit }));
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(|e| NetError::new(url, Problem::Write(e.to_string())))?;
        progress.inc(n as u64);
    }
}

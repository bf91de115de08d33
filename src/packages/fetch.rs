//! Fetching for package sources, through the crate's one HTTP client: small files read whole (a
//! signed index), and files by sha256 into the package store (the store's copy when it has one).
//! Package files (`.deb`, `.rpm`) are asked of the remote caches before the repository, and what
//! the repository sends is pushed to them, so a fleet fetches each from the internet once.
//! Redirects are followed anywhere: everything fetched is checked against a signature or a sha256.

use std::path::PathBuf;

use crate::cache::Caches;
use crate::net::{Client, Expected, NetError, Problem, Redirects, Request, Tls};

use super::store::PackageStore;

pub struct Fetcher<'a> {
    pub client: &'a Client,
    pub store: &'a PackageStore,
    /// `LAYERC_OFFLINE`: the network is never used.
    pub offline: bool,
    /// Remote caches asked for package files before the repository, and given what it sends.
    pub caches: Option<&'a Caches>,
}

/// What a file fetched by sha256 is: package files go through the remote caches, indexes do not
/// (a build that resolves asks the repository for its signed index anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    Index,
    Package,
}

fn request(url: &str) -> Request {
    Request::get(url, Tls::Verify).follow(Redirects::Any)
}

impl Fetcher<'_> {
    fn offline_error(&self, url: &str) -> NetError {
        NetError::new(
            url,
            Problem::Connect("LAYERC_OFFLINE is set and the store lacks this file".into()),
        )
    }

    /// A small file, `None` when the server has none (404 or 410).
    pub fn get(&self, url: &str, limit: u64) -> Result<Option<Vec<u8>>, NetError> {
        if self.offline {
            return Err(self.offline_error(url));
        }
        let reply = self.client.send(&request(url))?;
        match reply.status().as_u16() {
            200 => self.client.read_small(url, reply, limit).map(Some),
            404 | 410 => Ok(None),
            _ => Err(NetError::status(url, &reply)),
        }
    }

    /// The file of this sha256 in the store; when missing, a package file is asked of the remote
    /// caches first, then everything is fetched from `url`, and a package file fetched so is
    /// pushed to the caches that take pushes.
    pub fn file(
        &self,
        (url, what): (&str, Fetched),
        sha256: &str,
        size: Option<u64>,
        limit: u64,
        progress: &indicatif::ProgressBar,
    ) -> Result<PathBuf, NetError> {
        let path = self
            .store
            .file_path(sha256)
            .map_err(|e| NetError::new(url, Problem::Write(e.to_string())))?;
        let caches = self.caches.filter(|_| what == Fetched::Package);
        let cached = || caches.is_some_and(|c| c.fetch_blob(sha256, size, limit, &path).is_some());
        if path.is_file() || cached() {
            progress.inc(size.unwrap_or(0));
            return Ok(path);
        }
        if self.offline {
            return Err(self.offline_error(url));
        }
        let expected = Expected {
            sha256: sha256.to_string(),
            size,
            limit,
        };
        crate::net::download(self.client, &request(url), &path, &expected, progress)?;
        if let Some(caches) = caches {
            caches.push_blob(sha256, &path);
        }
        Ok(path)
    }
}

/// A progress bar on stderr while package files are fetched; hidden when stderr is not a terminal.
pub(super) fn progress_bar(label: &str, total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("fetching {msg} {wide_bar} {bytes}/{total_bytes}")
    {
        bar.set_style(style);
    }
    bar.set_message(label.to_string());
    bar
}

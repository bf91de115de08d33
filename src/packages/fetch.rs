//! Fetching for package sources, through the crate's one HTTP client: small files read whole (a
//! signed index), and files by sha256 into the package store (the store's copy when it has one).
//! Redirects are followed anywhere: everything fetched is checked against a signature or a sha256.

use std::path::PathBuf;

use crate::net::{Client, Expected, NetError, Problem, Redirects, Request, Tls};

use super::store::PackageStore;

pub struct Fetcher<'a> {
    pub client: &'a Client,
    pub store: &'a PackageStore,
    /// `LAYERC_OFFLINE`: the network is never used.
    pub offline: bool,
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

    /// The file of this sha256 in the store, fetched from `url` when missing.
    pub fn file(
        &self,
        url: &str,
        sha256: &str,
        size: Option<u64>,
        limit: u64,
        progress: &indicatif::ProgressBar,
    ) -> Result<PathBuf, NetError> {
        let path = self
            .store
            .file_path(sha256)
            .map_err(|e| NetError::new(url, Problem::Write(e.to_string())))?;
        if path.is_file() {
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
        Ok(path)
    }
}

/// A progress bar on stderr while package files are fetched; hidden when stderr is not a terminal.
pub fn progress_bar(label: &str, total: u64) -> indicatif::ProgressBar {
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

//! `http(s)://` caches: GET and HEAD to read, PUT to write. An upload goes to a temporary name and
//! is then renamed with WebDAV's `MOVE` (nginx's `dav_methods PUT DELETE MOVE`, Apache's mod_dav),
//! so that a reader never sees half an object; a server that refuses `MOVE` gets a plain `PUT`
//! to the final name instead (atomic or not, as that server makes it).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use super::backend::{Backend, CacheError, download_result};
use crate::net::{Body, Client, Expected, NetError, Request, Tls};

pub(super) struct HttpCache {
    base: String,
    client: Arc<Client>,
    /// Whether `MOVE` works here: unknown, yes, no.
    moves: AtomicU8,
}

const UNKNOWN: u8 = 0;
const MOVES: u8 = 1;
const NO_MOVE: u8 = 2;

impl HttpCache {
    pub(super) fn new(base: String, client: Arc<Client>) -> HttpCache {
        HttpCache {
            base,
            client,
            moves: AtomicU8::new(UNKNOWN),
        }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    fn status_error(&self, url: &str, reply: &crate::net::Reply) -> CacheError {
        NetError::status(url, reply).into()
    }

    fn put(&self, url: &str, body: &Body) -> Result<(), CacheError> {
        let request = Request::new("PUT", url, Tls::Verify).with_body(body.clone());
        let reply = self.client.send(&request)?;
        match reply.status().as_u16() {
            200 | 201 | 204 => Ok(()),
            _ => Err(self.status_error(url, &reply)),
        }
    }

    /// Renames `from` to `to` on the server; `Ok(false)` when the server does not do `MOVE`.
    fn rename(&self, from: &str, to: &str) -> Result<bool, CacheError> {
        let request = Request::new("MOVE", from, Tls::Verify)
            .header("Destination", to)
            .header("Overwrite", "T");
        let reply = self.client.send(&request)?;
        match reply.status().as_u16() {
            200 | 201 | 204 => Ok(true),
            400 | 403 | 405 | 501 => Ok(false),
            _ => Err(self.status_error(from, &reply)),
        }
    }

    fn delete(&self, url: &str) {
        let _ = self.client.send(&Request::new("DELETE", url, Tls::Verify));
    }
}

impl Backend for HttpCache {
    fn read(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, CacheError> {
        let url = self.url(name);
        let reply = self.client.send(&Request::get(&url, Tls::Verify))?;
        match reply.status().as_u16() {
            200 => Ok(Some(self.client.read_small(&url, reply, limit)?)),
            404 | 410 => Ok(None),
            _ => Err(self.status_error(&url, &reply)),
        }
    }

    fn download(&self, name: &str, expected: &Expected, target: &Path) -> Result<bool, CacheError> {
        let request = Request::get(self.url(name), Tls::Verify);
        let hidden = indicatif::ProgressBar::hidden();
        download_result(crate::net::download(
            &self.client,
            &request,
            target,
            expected,
            &hidden,
        ))
    }

    fn exists(&self, name: &str) -> Result<bool, CacheError> {
        let url = self.url(name);
        let reply = self.client.send(&Request::head(&url, Tls::Verify))?;
        match reply.status().as_u16() {
            200 => Ok(true),
            404 | 410 => Ok(false),
            _ => Err(self.status_error(&url, &reply)),
        }
    }

    fn get_request(&self, name: &str) -> Result<Option<(Request, String)>, CacheError> {
        let url = self.url(name);
        Ok(Some((Request::get(&url, Tls::Verify), url)))
    }

    fn upload(&self, name: &str, body: &Body) -> Result<(), CacheError> {
        let url = self.url(name);
        if self.moves.load(Ordering::Relaxed) == NO_MOVE {
            return self.put(&url, body);
        }
        let temporary = self.url(&temporary_name(name));
        self.put(&temporary, body)?;
        let moved = self.rename(&temporary, &url);
        if !matches!(moved, Ok(true)) {
            self.delete(&temporary);
        }
        if moved? {
            self.moves.store(MOVES, Ordering::Relaxed);
            return Ok(());
        }
        self.moves.store(NO_MOVE, Ordering::Relaxed);
        self.put(&url, body)
    }
}

/// `NAME.tmp-PID-NANOS` beside `NAME`: unique among concurrent runners, and never a name that a
/// reader asks for.
fn temporary_name(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{name}.tmp-{}-{nanos}", std::process::id())
}

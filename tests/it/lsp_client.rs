//! An in-process LSP client for tests: drives `layerc::lsp::serve` over lsp-server's memory
//! connection, with timeouts so a stuck server fails the test instead of hanging it.

#![allow(dead_code)]

use std::path::Path;
use std::str::FromStr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use lsp_types::Uri;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) struct Client {
    conn: Connection,
    server: Option<JoinHandle<i32>>,
    next_id: i32,
    /// Notifications received while waiting for something else.
    pub notes: Vec<Notification>,
    pub init: Value,
}

impl Client {
    /// Starts a server and initializes it; `encodings` is what the client offers.
    pub(crate) fn start(encodings: Option<&[&str]>) -> Client {
        let (server_side, client_side) = Connection::memory();
        let server =
            std::thread::spawn(move || layerc::lsp::serve(server_side).expect("the server runs"));
        let mut client = Client {
            conn: client_side,
            server: Some(server),
            next_id: 0,
            notes: Vec::new(),
            init: Value::Null,
        };
        let mut caps = json!({});
        if let Some(e) = encodings {
            caps = json!({ "general": { "positionEncodings": e } });
        }
        client.init = client.request("initialize", json!({ "capabilities": caps }));
        client.notify("initialized", json!({}));
        client
    }

    pub(crate) fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        let req = Request::new(id.clone(), method.to_string(), params);
        self.conn.sender.send(req.into()).unwrap();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.recv(deadline) {
                Message::Response(r) if r.id == id => match r.response_result {
                    Ok(value) => return value,
                    Err(e) => panic!("{method} failed: {} ({})", e.message, e.code),
                },
                Message::Notification(n) => self.notes.push(n),
                _ => {}
            }
        }
    }

    pub(crate) fn notify(&self, method: &str, params: Value) {
        let note = Notification::new(method.to_string(), params);
        self.conn.sender.send(note.into()).unwrap();
    }

    fn recv(&self, deadline: Instant) -> Message {
        let left = deadline.saturating_duration_since(Instant::now());
        self.conn
            .receiver
            .recv_timeout(left)
            .expect("the server answers in time")
    }

    pub(crate) fn open(&self, uri: &Uri, text: &str, version: i32) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
                "uri": uri.as_str(), "languageId": "kdl", "version": version, "text": text } }),
        );
    }

    /// Replaces `range` (`[line, character, line, character]`) with `text`.
    pub(crate) fn change(&self, uri: &Uri, version: i32, range: [u32; 4], text: &str) {
        let [l0, c0, l1, c1] = range;
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri.as_str(), "version": version },
                "contentChanges": [{ "range": {
                    "start": { "line": l0, "character": c0 },
                    "end": { "line": l1, "character": c1 } }, "text": text }]
            }),
        );
    }

    /// Waits for diagnostics published for `version` of `uri`. Every publish on the way must be
    /// for an older version than the last one seen (never out of order).
    pub(crate) fn diagnostics(&mut self, uri: &Uri, version: i32) -> Vec<lsp_types::Diagnostic> {
        let deadline = Instant::now() + TIMEOUT;
        let mut last_seen = i32::MIN;
        let mut pending = std::mem::take(&mut self.notes).into_iter();
        loop {
            let note = match pending.next() {
                Some(n) => n,
                None => match self.recv(deadline) {
                    Message::Notification(n) => n,
                    _ => continue,
                },
            };
            if note.method != "textDocument/publishDiagnostics" {
                continue;
            }
            let p: lsp_types::PublishDiagnosticsParams =
                serde_json::from_value(note.params).unwrap();
            if p.uri.as_str() != uri.as_str() {
                continue;
            }
            let v = p.version.unwrap_or(i32::MIN);
            assert!(v > last_seen, "version {v} published after {last_seen}");
            last_seen = v;
            if v == version {
                self.notes.extend(pending);
                return p.diagnostics;
            }
        }
    }

    /// Waits for the server to stop; returns its exit code.
    pub(crate) fn join(mut self) -> i32 {
        self.server.take().unwrap().join().unwrap()
    }

    /// `shutdown` then `exit`; returns the server's exit code.
    /// The document's symbols (the outline), and the names of its top-level ones.
    pub(crate) fn symbols(&mut self, uri: &Uri) -> (Value, Vec<String>) {
        let symbols = self.request(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": uri.as_str() } }),
        );
        let names = symbols
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect();
        (symbols, names)
    }

    pub(crate) fn shutdown(mut self) -> i32 {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        self.server.take().unwrap().join().unwrap()
    }
}

pub(crate) fn uri_of(path: &Path) -> Uri {
    Uri::from_str(&format!("file://{}", path.display())).unwrap()
}

/// A position for a byte offset, counting UTF-16 units (written independently of the server's).
pub(crate) fn utf16_position(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        line as u32,
        before[line_start..].encode_utf16().count() as u32,
    )
}

//! The language server as an editor runs it (`layerc lsp` on stdin and stdout), fed hostile
//! frames: a declared length of 10 GB, 10^15 or 2^64-1, a length that is no number, a body that is
//! not UTF-8 or not JSON. Each is answered with a JSON-RPC error (or, for a length the input never
//! delivers, a clean exit at its end), never an allocation of that size, an abort or a panic, and
//! the session goes on after a frame the protocol lets it skip.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Instant;

use serde_json::{Value, json};

use super::*;

/// `layerc lsp` under GNU time, with a thread reading its frames.
pub(crate) struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    frames: Receiver<Value>,
    err: std::thread::JoinHandle<String>,
    next_id: i64,
}

impl Server {
    /// Starts the server in `dir` and does the handshake.
    pub(crate) fn start(dir: &Path) -> Server {
        let mut server = Server::spawn(dir);
        server.handshake();
        server
    }

    fn spawn(dir: &Path) -> Server {
        // Under GNU time (an oracle) where the tier has it, for the peak memory.
        let mut cmd = if crate::tier::oracle_check(&["/usr/bin/time"]) {
            let mut time = Command::new("/usr/bin/time");
            time.args(["-f", "peak %M KiB"])
                .arg(env!("CARGO_BIN_EXE_layerc"));
            time
        } else {
            Command::new(env!("CARGO_BIN_EXE_layerc"))
        };
        cmd.arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        use_test_store(&mut cmd, &[]);
        let mut child = cmd.spawn().expect("GNU time and layerc run");
        let frames = frames_of(child.stdout.take().unwrap());
        let mut stderr = child.stderr.take().unwrap();
        let err = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Server {
            stdin: child.stdin.take(),
            child,
            frames,
            err,
            next_id: 0,
        }
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    pub(crate) fn send(&mut self, message: Value) {
        let body = serde_json::to_vec(&message).unwrap();
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend(body);
        self.raw(&frame);
    }

    pub(crate) fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.wait(|m| m["id"] == id)
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn handshake(&mut self) {
        let init = self.request("initialize", json!({ "capabilities": {} }));
        assert!(init["result"]["capabilities"].is_object(), "{init}");
        self.notify("initialized", json!({}));
    }

    /// The next frame from the server that `wanted` accepts (others are dropped).
    pub(crate) fn wait(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + HANG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.frames.recv_timeout(left) {
                Ok(frame) if wanted(&frame) => return frame,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("no answer within {HANG:?}"),
                Err(RecvTimeoutError::Disconnected) => panic!("the server ended"),
            }
        }
    }

    /// Opens `path` with `text` and returns the first non-empty diagnostics published for it.
    pub(crate) fn open_and_wait(&mut self, path: &Path, text: &str) -> String {
        let uri = format!("file://{}", path.display());
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "kdl", "version": 1, "text": text } }),
        );
        let published = self.wait(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["diagnostics"]
                    .as_array()
                    .is_some_and(|d| !d.is_empty())
        });
        published["params"]["diagnostics"].to_string()
    }

    /// `shutdown` and `exit`; the exit code.
    pub(crate) fn shutdown(mut self) -> i32 {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        self.finish().0
    }

    /// Closes stdin and waits: the exit code, and stderr (GNU time's peak memory last).
    pub(crate) fn finish(mut self) -> (i32, String) {
        drop(self.stdin.take());
        let deadline = Instant::now() + HANG;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                self.child.kill().unwrap();
                panic!("the server still ran after {HANG:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let err = self.err.join().unwrap();
        (status.code().expect("not killed by a signal"), err)
    }
}

/// The frames the server writes on `stdout`, read on a thread of their own.
pub(crate) fn frames_of(stdout: ChildStdout) -> Receiver<Value> {
    let (send, frames) = channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        while let Some(frame) = read_frame(&mut reader) {
            if send.send(frame).is_err() {
                return;
            }
        }
    });
    frames
}

/// One frame of the server's output, as JSON; `None` at its end.
fn read_frame(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// The peak memory GNU time reports, in KiB; `None` where the server ran without it.
fn peak(err: &str) -> Option<u64> {
    let peak = err
        .lines()
        .find_map(|l| l.strip_prefix("peak ")?.strip_suffix(" KiB")?.parse().ok());
    assert!(
        peak.is_some() || !crate::tier::oracle_check(&["/usr/bin/time"]),
        "no peak in {err}"
    );
    peak
}

#[test]
fn a_declared_length_the_input_never_delivers_ends_the_session_cleanly() {
    let fx = valid_fixture();
    for length in ["10000000000", "1000000000000000", "18446744073709551615"] {
        let mut server = Server::start(fx.path());
        server.raw(format!("Content-Length: {length}\r\n\r\n{{}}").as_bytes());
        let (code, err) = server.finish();
        assert_eq!(code, 1, "{length}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("memory allocation"),
            "{err}"
        );
        assert!(
            peak(&err).is_none_or(|kib| kib < 200 << 10),
            "{length}: {err}"
        );
    }
}

#[test]
fn bad_frames_are_answered_and_the_session_goes_on() {
    let fx = valid_fixture();
    fx.spec(&VALID_SPEC.replace("libhello.so.1", "libnope.so.1"));
    let mut server = Server::spawn(fx.path());
    let is_error = |m: &Value| m["error"].is_object() && m["id"].is_null();
    // Before the handshake: a length that is no number, a body that is not UTF-8, not JSON, JSON
    // that is not a message, and one over the 64 MiB read.
    server.raw(b"Content-Length: many\r\n\r\n");
    assert!(
        server.wait(is_error)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a number")
    );
    server.raw(b"Content-Length: 2\r\n\r\n\xff\xfe");
    assert_eq!(server.wait(is_error)["error"]["code"], -32700);
    server.raw(b"Content-Length: 3\r\n\r\n{{{");
    assert_eq!(server.wait(is_error)["error"]["code"], -32700);
    server.send(json!({ "id": 7, "neither": "request nor response" }));
    let reply = server.wait(|m| m["id"] == 7);
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    let big = 65 << 20;
    server.raw(format!("Content-Length: {big}\r\n\r\n").as_bytes());
    server.raw(&vec![b' '; big]);
    assert!(
        server.wait(is_error)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than")
    );
    // The session still works: diagnostics come.
    server.handshake();
    let diags = server.open_and_wait(&fx.path().join("layer.kdl"), &fx_spec(&fx));
    assert!(diags.contains("libnope.so.1"), "{diags}");
    assert_eq!(server.shutdown(), 0);
}

fn fx_spec(fx: &Fixture) -> String {
    std::fs::read_to_string(fx.path().join("layer.kdl")).unwrap()
}

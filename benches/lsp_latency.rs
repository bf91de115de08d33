//! Change-to-diagnostics latency of `layerc lsp`: the real server process over stdio, a spec of 20
//! host libraries with rootfs `/`, 100 edits. Prints the median and 95th percentile from each
//! `didChange` to the `publishDiagnostics` for that version, and, as a peer measured in the same
//! run, `layerc check --format json` on the same spec (what an editor without a server would run).
//!
//! `cargo bench --bench lsp_latency` (Debian/Ubuntu x86_64: the libraries are the host's).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const EDITS: usize = 100;
const LIBRARIES: usize = 20;
const CANDIDATES: &[&str] = &[
    "libz.so.1",
    "libpng16.so.16",
    "libfreetype.so.6",
    "libexpat.so.1",
    "libxml2.so.2",
    "libjpeg.so.62",
    "libtiff.so.6",
    "libsqlite3.so.0",
    "libcurl.so.4",
    "libssl.so.3",
    "libcrypto.so.3",
    "libffi.so.8",
    "liblzma.so.5",
    "libbz2.so.1.0",
    "libzstd.so.1",
    "libuuid.so.1",
    "libgmp.so.10",
    "libpcre2-8.so.0",
    "libreadline.so.8",
    "libncursesw.so.6",
    "libtinfo.so.6",
    "libedit.so.2",
    "libicuuc.so.72",
    "libgnutls.so.30",
    "libidn2.so.0",
    "libunistring.so.2",
    "libnettle.so.8",
    "libhogweed.so.6",
    "libtasn1.so.6",
    "libp11-kit.so.0",
    "libkrb5.so.3",
    "libgssapi_krb5.so.2",
    "libbrotlidec.so.1",
    "libwebp.so.7",
    "libyaml-0.so.2",
];
const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu";

fn main() {
    let libs: Vec<&str> = CANDIDATES
        .iter()
        .copied()
        .filter(|l| std::path::Path::new(LIBDIR).join(l).exists())
        .take(LIBRARIES)
        .collect();
    assert_eq!(
        libs.len(),
        LIBRARIES,
        "need {LIBRARIES} of the candidate libraries in {LIBDIR}"
    );
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("layer.kdl");
    let mut text = String::from("layer \"bench\" {\n    description \"a\"\n");
    text.push_str("    runtime \"provided.al2023\"\n    rootfs \"/\"\n");
    for lib in &libs {
        text.push_str(&format!("    library \"{lib}\"\n"));
    }
    text.push_str("}\n");
    std::fs::write(&spec, &text).unwrap();

    let mut server = Server::start();
    let uri = format!("file://{}", spec.display());
    server.send(json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "capabilities": {} } }));
    server.wait(|m| m["id"] == 1);
    server.send(json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));
    server.send(
        json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": { "uri": uri, "languageId": "kdl", "version": 1, "text": text } } }),
    );
    let first = Instant::now();
    server.wait(|m| is_publish(m, 1));
    let cold = first.elapsed();

    let mut times = Vec::with_capacity(EDITS);
    for i in 0..EDITS {
        let version = i as i64 + 2;
        // Retype the description's one character: a real change, every library still resolved.
        let letter = (b'a' + (i % 26) as u8) as char;
        let start = Instant::now();
        server.send(
            json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": { "uri": uri, "version": version },
            "contentChanges": [{ "range": {
                "start": { "line": 1, "character": 17 }, "end": { "line": 1, "character": 18 } },
                "text": letter.to_string() }] } }),
        );
        server.wait(|m| is_publish(m, version));
        times.push(start.elapsed());
    }
    server.send(json!({ "jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": null }));
    server.wait(|m| m["id"] == 2);
    server.send(json!({ "jsonrpc": "2.0", "method": "exit", "params": null }));
    let status = server.child.wait().unwrap();
    assert!(status.success(), "exit code {status}");

    let mut check = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_layerc"))
            .args(["check", "--format", "json"])
            .arg(&spec)
            .output()
            .unwrap();
        check.push(start.elapsed());
        assert!(out.status.code().is_some());
    }

    times.sort();
    check.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = ms(times[times.len() / 2]);
    let p95 = ms(times[times.len() * 95 / 100]);
    let check_median = ms(check[check.len() / 2]);
    println!("spec: {LIBRARIES} host libraries, rootfs /, {EDITS} edits");
    println!("first analysis (cold caches): {:.2} ms", ms(cold));
    println!(
        "didChange → publishDiagnostics: median {median:.2} ms, p95 {p95:.2} ms, max {:.2} ms",
        ms(*times.last().unwrap())
    );
    println!("peer, `layerc check --format json` (new process): median {check_median:.2} ms");
    println!("ratio check / lsp median: {:.1}x", check_median / median);
}

fn is_publish(m: &Value, version: i64) -> bool {
    m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == version
}

struct Server {
    child: std::process::Child,
    messages: mpsc::Receiver<Value>,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_layerc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("layerc lsp starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        length = v.parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Server { child, messages }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        let stdin = self.child.stdin.as_mut().unwrap();
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        stdin.flush().unwrap();
    }

    fn wait(&self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let m = self
                .messages
                .recv_timeout(Duration::from_secs(60))
                .expect("the server answers within a minute");
            if wanted(&m) {
                return m;
            }
        }
    }
}

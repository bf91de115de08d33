//! Tools for the tests of `layerc gc` over pulled images and package folders: `gc` itself, the
//! bytes freed as the file system counts them (inodes gone), an entry's last use set back, and a
//! long-lived layerc process, as an editor keeps one (`layerc lsp` on stdio with a spec open,
//! once it has analysed it, so it holds what the analysis opened).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::common::{layerc_in, stderr, stdout};
use crate::hostile_input::lsp_stdio::frames_of;

/// `layerc gc ARGS` on the store at `root`; its report.
pub(crate) fn gc(root: &Path, args: &[&str]) -> String {
    let mut all = vec!["gc", "--store", root.to_str().unwrap()];
    all.extend(args);
    let out = layerc_in(Path::new("."), &all, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// Every file under `dir` by (device, inode), with its size: hard links count once.
pub(crate) fn inodes(dir: &Path) -> HashMap<(u64, u64), u64> {
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let Ok(listing) = fs::read_dir(&folder) else {
            continue;
        };
        for item in listing.flatten() {
            let meta = fs::symlink_metadata(item.path()).unwrap();
            if meta.is_dir() {
                stack.push(item.path());
            } else {
                out.insert((meta.dev(), meta.ino()), meta.len());
            }
        }
    }
    out
}

/// The bytes of the files in `before` that are gone from `after`.
pub(crate) fn freed(before: &HashMap<(u64, u64), u64>, after: &HashMap<(u64, u64), u64>) -> u64 {
    before
        .iter()
        .filter(|(inode, _)| !after.contains_key(inode))
        .map(|(_, size)| size)
        .sum()
}

/// Sets a file's mtime (an entry's last use) `ago` in the past.
pub(crate) fn used_ago(path: &Path, ago: Duration) {
    fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - ago)
        .unwrap();
}

/// The size `gc` reports for the entry `what` (`pulled image sha256:...`) it removed.
pub(crate) fn removed_size(report: &str, what: &str) -> u64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(&format!("removed {what} (")))
        .unwrap_or_else(|| panic!("{what} not removed: {report}"));
    line.split(" (")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

pub(crate) struct Editor {
    child: Child,
}

fn frame(message: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(message).unwrap();
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend(body);
    out
}

impl Editor {
    /// `layerc lsp` in `dir` with `env`, `dir/layer.kdl` opened and analysed.
    pub(crate) fn open(dir: &Path, env: &[(&str, &str)]) -> Editor {
        let child = Command::new(env!("CARGO_BIN_EXE_layerc"))
            .arg("lsp")
            .current_dir(dir)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("layerc lsp runs");
        // Killed and waited for on drop, whatever happens next.
        let mut editor = Editor { child };
        let frames = frames_of(editor.child.stdout.take().unwrap());
        let spec = dir.join("layer.kdl");
        let uri = format!("file://{}", spec.display());
        let text = std::fs::read_to_string(&spec).unwrap();
        let stdin = editor.child.stdin.as_mut().unwrap();
        for message in [
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
            json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": uri, "languageId": "kdl", "version": 1, "text": text}}}),
        ] {
            stdin.write_all(&frame(&message)).unwrap();
        }
        stdin.flush().unwrap();
        loop {
            let frame = frames
                .recv_timeout(Duration::from_secs(120))
                .expect("the language server publishes diagnostics");
            if frame["method"] == "textDocument/publishDiagnostics" {
                return editor;
            }
        }
    }
}

impl Drop for Editor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

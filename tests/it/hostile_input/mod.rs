//! Hostile input: every case exits 1 or 2 (or 0 where the input is merely odd) with a clear
//! message, never a panic or a hang, and leaves no partial output. Hangs are caught with a generous
//! timeout, never a tight one.

mod deep;
mod diagnostics;
mod host_reads;
mod lattice;
pub(crate) mod lsp_stdio;
mod output;
mod rootfs_reads;
mod slow_paths;
mod targets;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) use crate::cli::{VALID_SPEC, assert_no_panic, code, valid_fixture, written};
pub(crate) use crate::common::*;

/// Far above any honest run on a loaded machine: only a hang or an exponential blow-up reaches it.
const HANG: Duration = Duration::from_secs(120);

/// Runs `layerc` in `dir` and kills it when it exceeds [`HANG`] (the test then fails).
pub(crate) fn layerc_bounded(dir: &Path, args: &[&str]) -> Output {
    layerc_bounded_env(dir, args, &[])
}

/// [`layerc_bounded`] with extra environment variables.
pub(crate) fn layerc_bounded_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_layerc"));
    use_test_store(&mut cmd, env);
    let mut child = cmd
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("layerc runs");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > HANG {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("layerc {args:?} still ran after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Makes a FIFO at `path`.
pub(crate) fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// Makes a character device like /dev/zero at `path`, or `false` when not allowed (not root).
pub(crate) fn mknod_zero(path: &Path) -> bool {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    Command::new("mknod")
        .args([path.as_os_str(), "c".as_ref(), "1".as_ref(), "5".as_ref()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

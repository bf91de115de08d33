//! End to end with an editor no one here wrote: Neovim (Debian's 0.7) as the language client.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// The spec of the protocol tests: a runtime typo after `/* é🦀 */` on the same line.
const SPEC: &str = "layer \"fonts\" {
    /* é🦀 */ runtime \"provided.al2O23\"
    rootfs \"rootfs\"
    library \"libhello.so.1\"
}
";

#[test]
fn neovim_shows_the_error_and_clears_it_after_the_fix() {
    if Command::new("nvim").arg("--version").output().is_err() {
        eprintln!("skipped: nvim is not installed (`.ci/run` installs Debian's neovim)");
        return;
    }
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
    let spec = fx.spec(SPEC);
    let out = fx.path().join("nvim.out");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/nvim_client.lua");
    let mut child = Command::new("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n"])
        .arg("-c")
        .arg(format!("luafile {script}"))
        .env("LAYERC_SPEC", &spec)
        .env("LAYERC_BIN", env!("CARGO_BIN_EXE_layerc"))
        .env("LAYERC_OUT", &out)
        .env("XDG_STATE_HOME", fx.path().join("state"))
        .env("XDG_CACHE_HOME", fx.path().join("cache"))
        .current_dir(fx.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nvim starts");
    // The script has its own timeouts; this one only guarantees the suite never hangs.
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nvim did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let report = std::fs::read_to_string(&out).expect("the script wrote its report");
    let lines: Vec<&str> = report.lines().collect();
    // Neovim keeps byte columns: `    /* é🦀 */ runtime ` is 25 bytes (é 2, 🦀 4); the string is 19.
    assert_eq!(
        lines,
        [
            "before count 1",
            "before 1:25-1:42 spec::unknown-runtime unknown Lambda runtime `provided.al2O23` \
             | help: did you mean `provided.al2023`?",
            "after count 0",
            "exit 0 0",
        ],
        "{report}"
    );
}

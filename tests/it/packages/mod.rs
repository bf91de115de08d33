//! Package rootfs: real Debian 11 packages compared with apt and `dpkg -x`, a local signed RPM
//! repository compared with dnf and `rpm2cpio | cpio`, and hostile repositories served on
//! 127.0.0.1.

mod debian11;
mod gc;
pub(crate) mod gpg;
mod hostile;
pub(crate) mod local_apt;
mod rpm;
pub(crate) mod server;
mod tree;

use std::process::Command;

/// Whether the oracle tier runs and every tool is on PATH ([`crate::tier::oracle`]).
pub(crate) fn have(tools: &[&str]) -> bool {
    crate::tier::oracle(tools).is_some()
}

/// Runs a command, panicking with its output when it fails.
pub(crate) fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The package rootfs of the first layer of a spec in `dir`, analysed in-process with the
/// suite's store.
pub(crate) fn prepared(dir: &std::path::Path) -> layerc::packages::Prepared {
    layerc::cache_dir::choose(crate::common::test_store());
    let text = std::fs::read_to_string(dir.join("layer.kdl")).unwrap();
    let analysis = crate::common::analyze_only(&text, dir);
    let messages: Vec<String> = analysis
        .diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect();
    analysis
        .packages
        .first()
        .unwrap_or_else(|| panic!("no package rootfs: {messages:#?}"))
        .prepared
        .clone()
}

/// Rendered diagnostics with miette's line wrapping undone, for `contains` checks.
pub(crate) fn unwrapped(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .replace("\n  │ ", " ")
        .replace("\n  │", " ")
}

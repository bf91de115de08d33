//! The suite's two tiers, behind one switch.
//!
//! - **Hermetic** (plain `cargo test`): needs a C compiler (`cc` with binutils) and Debian's
//!   essential tools (coreutils, tar, gzip, dpkg, util-linux), and no network: its fixtures are
//!   built from C files at test time.
//! - **Oracle** (`LAYERC_ORACLES=1 cargo test`): adds the tests that compare layerc with programs
//!   and artifacts no one here wrote (lddtree, unzip, Python, cfn-lint and the SAM translator,
//!   dnfile, buildah/skopeo/umoci, a registry, Garage, Neovim, real CoreCLR, CPython and Node.js,
//!   real Debian and RPM packages), which `.ci/run` installs or fetches.
//!
//! An oracle test asks for what it needs with [`oracle`], or [`oracle_check`] where the oracle
//! only adds a check to a hermetic test. When the tier is on and something is missing, the test
//! calls [`skip_or_fail`]: a skip with the reason printed, a failure under `CI=true`.

use std::fmt::Display;
use std::path::Path;

/// The switch: set to `1` (or `true`) to run the oracle tier too.
pub(crate) const SWITCH: &str = "LAYERC_ORACLES";

/// Whether the oracle tier runs.
pub(crate) fn oracles() -> bool {
    matches!(std::env::var(SWITCH).as_deref(), Ok("1" | "true"))
}

/// Whether this run is CI's, where `.ci/run` has installed everything and nothing may skip.
fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// A test that cannot run here: `None` after printing why, or a panic under `CI=true`.
pub(crate) fn skip_or_fail<T>(why: impl Display) -> Option<T> {
    if in_ci() {
        panic!("cannot run in CI: {why} (.ci/run installs what the oracle tier needs)");
    }
    eprintln!("skipped: {why}");
    None
}

/// `Some(())` when the oracle tier is on and every program in `tools` is on PATH. Off, the test
/// is skipped (with a message, never a failure); on, a missing program is [`skip_or_fail`].
pub(crate) fn oracle(tools: &[&str]) -> Option<()> {
    if !oracles() {
        eprintln!("skipped: an oracle-tier test ({SWITCH}=1 runs it)");
        return None;
    }
    installed(tools)
}

/// Whether a hermetic test also runs its oracle check (`unzip -t`, Python's `zipfile`, lddtree):
/// the tier is on and the programs are there (a missing one under `CI=true` is a failure).
pub(crate) fn oracle_check(tools: &[&str]) -> bool {
    oracles() && installed(tools).is_some()
}

/// `Some(())` when every program in `tools` is on PATH, else [`skip_or_fail`] naming the others.
fn installed(tools: &[&str]) -> Option<()> {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !on_path(t)).collect();
    if missing.is_empty() {
        return Some(());
    }
    skip_or_fail(format!("not installed: {}", missing.join(", ")))
}

/// Whether `program` (a name, or a path) can be run: found on PATH as an executable file.
pub(crate) fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return runnable(Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| runnable(&dir.join(program))))
}

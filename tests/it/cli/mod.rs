//! The real `layerc` binary, one file per command: exit codes, what it writes (and does not), and
//! each subcommand's output.

mod build;
mod check;
mod conventions;
mod examples;
mod exit_codes;
mod graph;
mod hostile;
mod inputs;
mod lock;
mod runtimes;
mod store;
mod summary;
mod why;

pub(crate) use std::fs;

pub(crate) use serde_json::Value;

pub(crate) use crate::common::*;

pub(crate) const VALID_SPEC: &str = "layer \"hello\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libhello.so.1\"\n}\n";

/// A rootfs with `libhello.so.1` needing `libworld.so.1` (both in /usr/lib64) and a spec shipping
/// `libhello.so.1`: valid, no findings.
pub(crate) fn valid_fixture() -> Fixture {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libworld.so.1", "libworld.so.1", "world");
    fx.cc_lib(
        "/usr/lib64/libhello.so.1",
        "libhello.so.1",
        &c_calls("hello", "world"),
        &["/usr/lib64/libworld.so.1"],
        &[],
    );
    fx.spec(VALID_SPEC);
    fx
}

pub(crate) fn code(out: &std::process::Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {}", stderr(out)))
}

pub(crate) fn assert_no_panic(out: &std::process::Output) {
    assert!(!stderr(out).contains("panicked"), "{}", stderr(out));
}

/// Outputs and temporary files the build may have left in the fixture.
pub(crate) fn written(fx: &Fixture) -> Vec<String> {
    files_under(fx.path())
        .into_iter()
        .filter(|f| !f.starts_with("rootfs/") && !f.starts_with("src/") && f != "layer.kdl")
        .collect()
}

/// Rendered diagnostics with the fixture's folder (as given and canonical) replaced by `[TMP]` in
/// the text, before rendering so line wrapping does not depend on the folder's length, and the
/// program header count of a truncated object (which depends on the linker) masked.
pub(crate) fn rendered_scrubbed(analysis: &layerc::Analysis, fx: &Fixture) -> String {
    let tmp = fx.path().display().to_string();
    let canonical = fs::canonicalize(fx.path()).unwrap().display().to_string();
    let scrub = |s: &str| {
        let s = s.replace(&canonical, "[TMP]").replace(&tmp, "[TMP]");
        mask_number_after(&s, "too short for ")
    };
    let diags: Vec<_> = analysis
        .diagnostics
        .iter()
        .cloned()
        .map(|mut d| {
            d.message = scrub(&d.message);
            d.help = d.help.as_deref().map(scrub);
            d
        })
        .collect();
    let text = render_all(&diags, &analysis.sources);
    assert!(!text.contains(&canonical) && !text.contains(&tmp), "{text}");
    text
}

pub(crate) fn mask_number_after(s: &str, marker: &str) -> String {
    match s.find(marker) {
        Some(i) => {
            let start = i + marker.len();
            let digits = s[start..].chars().take_while(char::is_ascii_digit).count();
            if digits == 0 {
                return s.to_string();
            }
            format!("{}[N]{}", &s[..start], &s[start + digits..])
        }
        None => s.to_string(),
    }
}

/// Runs `layerc check` as the unprivileged user `nobody` (root reads everything, so permission
/// errors need another user).
pub(crate) fn check_as_nobody(fx: &Fixture) -> std::process::Output {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(fx.path(), fs::Permissions::from_mode(0o755)).unwrap();
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_layerc"))
        .args(["check", "--color", "never"])
        .current_dir(fx.path())
        .output()
        .expect("setpriv (util-linux) runs")
}

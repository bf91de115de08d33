//! The crate's build script. Each step lives beside the module it serves.

#[path = "src/runtime/build.rs"]
mod catalog;
#[path = "src/emit/zip/libdeflate/build.rs"]
mod libdeflate;

fn main() {
    catalog::main();
    libdeflate::main();
    commit();
}

/// The commit the binary is built from, for `layerc --version` ("unknown" outside a git checkout,
/// such as a crate tarball).
fn commit() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LAYERC_COMMIT={commit}");
    // Built again when HEAD moves (a commit, a checkout) in this checkout or worktree.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/logs/HEAD");
    }
}

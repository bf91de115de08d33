//! Test helpers: a fresh folder per test with a rootfs inside, C fixtures compiled with `cc`, and
//! runners for the real `layerc` binary and the library API.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use layerc::diagnostic::{Diagnostic, SourceFile, SourceMap, render_human};
use layerc::plan::{Content, LayerPlan};
use layerc::resolve::{Node, Status};
use layerc::runtime::Date;
use layerc::{Analysis, Session};

/// A date after every runtime's lifecycle dates are known, so lifecycle findings are stable.
pub(crate) const TODAY: Date = Date {
    year: 2026,
    month: 11,
    day: 27,
};

pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("layerc-test-")
            .tempdir()
            .expect("tempdir");
        fs::create_dir_all(dir.path().join("rootfs")).unwrap();
        Fixture { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the fixture's rootfs (`/usr/lib64` → `<tmp>/rootfs/usr/lib64`).
    pub(crate) fn root(&self, inside: &str) -> PathBuf {
        self.path()
            .join("rootfs")
            .join(inside.trim_start_matches('/'))
    }

    pub(crate) fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, contents).unwrap();
        p
    }

    /// Writes a file inside the rootfs.
    pub(crate) fn write_root(&self, inside: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.root(inside);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, contents).unwrap();
        p
    }

    /// A symlink inside the rootfs: `link` (rootfs path) → `target` (verbatim).
    pub(crate) fn symlink_root(&self, link: &str, target: &str) {
        let p = self.root(link);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
    }

    /// Compiles `c_source` into a shared object at `inside` (a rootfs path) with `cc -shared -fPIC`,
    /// soname `soname`, linked against the rootfs files in `link` (each a rootfs path), plus `extra`
    /// arguments (e.g. `-Wl,-rpath,...`, `-Wl,--version-script=...`).
    pub(crate) fn cc_lib(
        &self,
        inside: &str,
        soname: &str,
        c_source: &str,
        link: &[&str],
        extra: &[&str],
    ) -> PathBuf {
        let out = self.root(inside);
        fs::create_dir_all(out.parent().unwrap()).unwrap();
        let src = self.write(&format!("src/{}.c", soname.replace('/', "_")), c_source);
        let mut cmd = Command::new("cc");
        cmd.args(["-shared", "-fPIC", "-O0", "-o"])
            .arg(&out)
            .arg(&src)
            .arg(format!("-Wl,-soname,{soname}"));
        for l in link {
            cmd.arg(self.root(l));
        }
        cmd.args(extra);
        let status = cmd.status().expect("cc runs");
        assert!(status.success(), "cc failed for {soname}");
        out
    }

    /// A shared object at `inside` with soname `soname` that exports `int export(void)` and needs
    /// nothing.
    pub(crate) fn lib(&self, inside: &str, soname: &str, export: &str) -> PathBuf {
        self.cc_lib(inside, soname, &c_fn(export), &[], &[])
    }

    /// A stand-in libstdc++.so.6 in /usr/lib64 defining GLIBCXX_3.4 and `GLIBCXX_<version>` (a
    /// version script), and libcxxuser.so.1 calling the newer symbol, so it needs that version.
    pub(crate) fn glibcxx_user(&self, version: &str) {
        let map = self.write(
            "src/stdcxx.map",
            format!("GLIBCXX_3.4 {{ global: a; local: *; }};\nGLIBCXX_{version} {{ global: b; }} GLIBCXX_3.4;\n"),
        );
        self.cc_lib(
            "/usr/lib64/libstdc++.so.6",
            "libstdc++.so.6",
            "int a(void){return 1;}\nint b(void){return 2;}\n",
            &[],
            &[
                "-nostdlib",
                &format!("-Wl,--version-script={}", map.display()),
            ],
        );
        self.cc_lib(
            "/usr/lib64/libcxxuser.so.1",
            "libcxxuser.so.1",
            &c_calls("user", "b"),
            &["/usr/lib64/libstdc++.so.6"],
            &["-nostdlib"],
        );
    }

    /// A shared object outside the rootfs, at `rel` in the fixture folder (only to link against, or
    /// to prove it is never read).
    pub(crate) fn lib_outside(&self, rel: &str, soname: &str, export: &str) -> PathBuf {
        let out = self.path().join(rel);
        fs::create_dir_all(out.parent().unwrap()).unwrap();
        let src = self.write(&format!("src/outside-{soname}.c"), c_fn(export));
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", &format!("-Wl,-soname,{soname}"), "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("cc runs");
        assert!(status.success(), "cc failed for {soname}");
        out
    }

    /// The spec file `layer.kdl` in the fixture folder.
    pub(crate) fn spec(&self, text: &str) -> PathBuf {
        self.write("layer.kdl", text)
    }

    /// Runs the `layerc` binary in the fixture folder.
    pub(crate) fn layerc(&self, args: &[&str]) -> Output {
        layerc_in(self.path(), args, &[])
    }

    /// Analyses `layer.kdl` in-process.
    pub(crate) fn analyze(&self) -> Analysis {
        let text = fs::read_to_string(self.path().join("layer.kdl")).unwrap();
        analyze_text(&text, self.path())
    }
}

/// Bytes that do not compress, so that a zip is about as large as what it holds.
pub(crate) fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

pub(crate) fn layerc_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_layerc"));
    cmd.current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("LAYERC_CATALOG")
        .env_remove("SOURCE_DATE_EPOCH");
    use_test_store(&mut cmd, env);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("layerc runs")
}

/// Never the user's cache: one store for the whole suite (under the target folder), unless the
/// test names its own in `env`.
pub(crate) fn use_test_store(cmd: &mut Command, env: &[(&str, &str)]) {
    if !env
        .iter()
        .any(|(k, _)| ["LAYERC_STORE", "LAYERC_CACHE"].contains(k))
    {
        cmd.env("LAYERC_STORE", test_store());
    }
}

pub(crate) fn test_store() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("store")
}

/// Analyses `text` as a spec in `dir`, and checks that the language server reports exactly what
/// `layerc check` does for it: every spec the suite analyses is also an editor test.
pub(crate) fn analyze_text(text: &str, dir: &Path) -> Analysis {
    let analysis = analyze_only(text, dir);
    crate::lsp_oracle::assert_lsp_matches_check(text, dir);
    analysis
}

/// Analyses `text` without the language-server comparison (for bulk-generated specs).
pub(crate) fn analyze_only(text: &str, dir: &Path) -> Analysis {
    let session = Session::default();
    session.analyze(SourceFile::new("layer.kdl", text), dir, TODAY)
}

/// All diagnostics rendered as miette draws them (no colour, 100 columns).
pub(crate) fn rendered(analysis: &Analysis) -> String {
    render_all(&analysis.diagnostics, &analysis.sources)
}

pub(crate) fn render_all(diags: &[Diagnostic], source: &SourceMap) -> String {
    diags
        .iter()
        .map(|d| render_human(d, source, false, 100))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn codes(analysis: &Analysis) -> Vec<&'static str> {
    analysis
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect()
}

/// The codes of the analysis's errors only, in order.
pub(crate) fn error_codes(analysis: &Analysis) -> Vec<&'static str> {
    analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str())
        .collect()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Files under `dir`, relative, sorted (to assert that nothing was written).
pub(crate) fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                for f in files_under(&p) {
                    out.push(format!("{}/{f}", e.file_name().to_string_lossy()));
                }
            } else {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// A small C library body exporting one function `name`.
pub(crate) fn c_fn(name: &str) -> String {
    format!("int {name}(void) {{ return 42; }}\n")
}

/// A C library body calling `callee` (declared extern), so linking keeps the dependency.
pub(crate) fn c_calls(name: &str, callee: &str) -> String {
    format!("extern int {callee}(void);\nint {name}(void) {{ return {callee}() + 1; }}\n")
}

/// The help line of the `i`-th diagnostic.
pub(crate) fn help_of(analysis: &Analysis, i: usize) -> &str {
    analysis.diagnostics[i]
        .help
        .as_deref()
        .unwrap_or_else(|| panic!("diagnostic {i} has no help"))
}

/// What the spec's (first) layer would put in its zip.
pub(crate) fn plan_of(analysis: &Analysis) -> &LayerPlan {
    &analysis
        .layers
        .first()
        .expect("the spec has a resolved layer")
        .plan
}

/// Paths of the first layer's zip entries, in order.
pub(crate) fn plan_paths(analysis: &Analysis) -> Vec<&str> {
    plan_of(analysis).paths().collect()
}

/// What the first layer's zip stores at `path`.
pub(crate) fn content_at<'a>(analysis: &'a Analysis, path: &str) -> &'a Content {
    &plan_of(analysis)
        .entry(path)
        .unwrap_or_else(|| panic!("no entry {path} in {:?}", plan_paths(analysis)))
        .content
}

/// The first layer's node known by `name` (soname or alias).
pub(crate) fn node_of<'a>(analysis: &'a Analysis, name: &str) -> Option<&'a Node> {
    analysis.layers.first()?.graph.node(name)
}

/// The status of the first layer's node known by `name`.
pub(crate) fn status_of(analysis: &Analysis, name: &str) -> Option<Status> {
    node_of(analysis, name).map(|n| n.status)
}

/// The real rootfs path of the first layer's node known by `name`.
pub(crate) fn real_of(analysis: &Analysis, name: &str) -> Option<String> {
    node_of(analysis, name)?
        .found
        .as_ref()
        .map(|f| f.real.to_string())
}

//! Remote caches shared by a fleet: runner A builds with its rootfs and pushes; runner B, with only
//! the spec and layer.lock (no rootfs at all), builds from the lock and the cache and gets the same
//! bytes. Entries that were changed, or signed by a key nobody trusts, are refused and never
//! shipped; a cache that is down or hangs leaves the build to succeed locally with a warning.
//! `file://` caches here; S3 (Garage) in `s3.rs`, HTTP (nginx with WebDAV) in `http.rs`.

mod fetched;
mod http;
mod s3;
pub(crate) mod servers;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::cli::code;
use crate::common::*;

/// Runner A's folder (a rootfs with a real library and a data file) and a key pair.
pub(crate) struct Fleet {
    pub a: Fixture,
    pub keys: tempfile::TempDir,
    /// The `trusted-key` line of the key pair.
    pub trusted: String,
}

impl Fleet {
    /// A spec whose top level also holds `cache_lines`, trusting the fleet's key.
    pub(crate) fn new(cache_lines: &str, data_bytes: usize) -> Fleet {
        let keys = tempfile::tempdir().unwrap();
        let out = layerc_in(keys.path(), &["cache", "keygen", "ci-1"], &[]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let public = fs::read_to_string(keys.path().join("ci-1.public")).unwrap();
        let trusted = format!("trusted-key \"{}\"", public.trim());
        let a = Fixture::new();
        a.lib("/usr/lib64/libhello.so.1", "libhello.so.1", "hello");
        a.write_root("/data/blob.bin", noise(data_bytes, 7));
        let fleet = Fleet { a, keys, trusted };
        fleet.spec(cache_lines);
        fleet
    }

    /// Writes runner A's spec with these cache lines.
    pub(crate) fn spec(&self, cache_lines: &str) {
        self.a.spec(&format!(
            "layer \"hello\" {{\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    library \"libhello.so.1\"\n    file \"/data/blob.bin\" to=\"data/blob.bin\"\n}}\n{cache_lines}\n{}\n",
            self.trusted
        ));
    }

    pub(crate) fn secret(&self) -> PathBuf {
        self.keys.path().join("ci-1.secret")
    }

    /// Runner A builds with the fleet's signing key and a store at `store`; its stderr.
    pub(crate) fn build_a(&self, store: &Path) -> String {
        let secret = self.secret();
        let args = ["--signing-key", secret.to_str().unwrap()];
        ok(&build(self.a.path(), store, &args, &[]))
    }

    /// Runner B: a folder with runner A's spec and lock and nothing else.
    pub(crate) fn runner_b(&self) -> tempfile::TempDir {
        let b = tempfile::tempdir().unwrap();
        for file in ["layer.kdl", "layer.lock"] {
            fs::copy(self.a.path().join(file), b.path().join(file)).unwrap();
        }
        b
    }
}

/// `layerc build ARGS` in `dir` with a store of its own (`store`) and `env`.
pub(crate) fn build(dir: &Path, store: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec![("LAYERC_STORE", store.to_str().unwrap())];
    all.extend_from_slice(env);
    let args: Vec<&str> = ["build", "--color", "never"]
        .iter()
        .chain(args)
        .copied()
        .collect();
    layerc_in(dir, &args, &all)
}

pub(crate) fn ok(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(code(out), 0, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// `unzip -t` (Info-ZIP) finds the zip whole.
pub(crate) fn unzip_ok(zip: &Path) {
    if !crate::tier::oracle_check(&["unzip"]) {
        return;
    }
    let out = std::process::Command::new("unzip")
        .arg("-t")
        .arg(zip)
        .output()
        .expect("unzip runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Runner A builds and pushes; runner B builds from the lock and the cache; both zips and templates
/// are the same bytes, and B never had a rootfs.
pub(crate) fn a_pushes_b_fetches(
    fleet: &Fleet,
    push_args: &[&str],
    env: &[(&str, &str)],
    cache: &str,
) {
    let stores = tempfile::tempdir().unwrap();
    let secret = fleet.secret();
    let mut args = vec!["--signing-key", secret.to_str().unwrap()];
    args.extend_from_slice(push_args);
    let a = ok(&build(fleet.a.path(), &stores.path().join("a"), &args, env));
    assert!(a.contains(&format!("pushed to {cache}")), "{a}");
    let b = fleet.runner_b();
    assert!(!b.path().join("rootfs").exists());
    let out = ok(&build(
        b.path(),
        &stores.path().join("b"),
        &["--locked"],
        env,
    ));
    assert!(out.contains(&format!("from remote cache {cache}")), "{out}");
    assert!(out.contains("no rootfs was opened"), "{out}");
    for file in [
        "build/hello.zip",
        "build/serverless.template.json",
        "layer.lock",
    ] {
        assert_eq!(
            fs::read(fleet.a.path().join(file)).unwrap(),
            fs::read(b.path().join(file)).unwrap(),
            "{file} differs"
        );
    }
    unzip_ok(&b.path().join("build/hello.zip"));
}

/// The cache's only file under `blobs/` (the zip runner A pushed).
fn only_blob(cache: &Path) -> PathBuf {
    let dir = cache.join("blobs/sha256");
    let mut blobs: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    blobs.pop().unwrap()
}

fn file_fleet() -> (Fleet, tempfile::TempDir, String) {
    let cache = tempfile::tempdir().unwrap();
    let url = format!("file://{}", cache.path().display());
    let fleet = Fleet::new(&format!("cache \"{url}\" push=#true"), 4096);
    (fleet, cache, url)
}

#[test]
fn a_folder_cache_serves_a_runner_without_rootfs() {
    let (fleet, cache, url) = file_fleet();
    a_pushes_b_fetches(&fleet, &[], &[], &url);
    let entries = files_under(&cache.path().join("layers"));
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = fs::read_to_string(cache.path().join("layers").join(&entries[0])).unwrap();
    assert!(entry.starts_with("layerc-cache-entry 1\nKey: "), "{entry}");
    assert!(entry.contains("\nSig: ci-1:"), "{entry}");
}

#[test]
fn a_changed_zip_is_refused_and_never_shipped() {
    let (fleet, cache, _) = file_fleet();
    let stores = tempfile::tempdir().unwrap();
    let secret = fleet.secret();
    let args = ["--signing-key", secret.to_str().unwrap()];
    ok(&build(fleet.a.path(), &stores.path().join("a"), &args, &[]));
    let good = fs::read(fleet.a.path().join("build/hello.zip")).unwrap();
    // Same size, one byte changed: only the sha256 tells.
    let blob = only_blob(cache.path());
    let mut bytes = fs::read(&blob).unwrap();
    bytes[100] ^= 0xff;
    fs::set_permissions(&blob, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    fs::write(&blob, &bytes).unwrap();
    // Without a rootfs, runner B cannot build: it refuses the zip and writes nothing.
    let b = fleet.runner_b();
    let out = build(b.path(), &stores.path().join("b"), &["--locked"], &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("refused the zip of"), "{err}");
    assert!(
        err.contains("layer `hello` cannot be built from layer.lock alone"),
        "{err}"
    );
    assert!(!b.path().join("build").exists(), "{err}");
    // With its rootfs, it builds the zip itself: the changed bytes never reach the output.
    fs::remove_dir_all(fleet.a.path().join("build")).unwrap();
    let out = ok(&build(
        fleet.a.path(),
        &stores.path().join("c"),
        &["--locked"],
        &[],
    ));
    assert!(out.contains("refused the zip of"), "{out}");
    assert_eq!(
        fs::read(fleet.a.path().join("build/hello.zip")).unwrap(),
        good
    );
}

#[test]
fn a_foreign_signature_is_refused_unless_the_cache_is_trusted_without_one() {
    let (fleet, cache, url) = file_fleet();
    let stores = tempfile::tempdir().unwrap();
    // Pushed with a key of the same name that nobody trusts: a forgery of `ci-1`.
    let keys = tempfile::tempdir().unwrap();
    ok(&layerc_in(keys.path(), &["cache", "keygen", "ci-1"], &[]));
    let foreign = keys.path().join("ci-1.secret");
    let args = ["--signing-key", foreign.to_str().unwrap()];
    ok(&build(fleet.a.path(), &stores.path().join("a"), &args, &[]));
    let b = fleet.runner_b();
    let out = build(b.path(), &stores.path().join("b"), &["--locked"], &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("is not that trusted key's"), "{err}");
    assert!(!b.path().join("build/hello.zip").exists());
    // A stranger's key name is "no trusted key", not a forgery.
    let keys = tempfile::tempdir().unwrap();
    ok(&layerc_in(
        keys.path(),
        &["cache", "keygen", "stranger-1"],
        &[],
    ));
    fs::remove_dir_all(cache.path().join("layers")).unwrap();
    let stranger = keys.path().join("stranger-1.secret");
    fs::remove_dir_all(stores.path().join("a")).unwrap();
    let args = ["--signing-key", stranger.to_str().unwrap()];
    ok(&build(fleet.a.path(), &stores.path().join("a"), &args, &[]));
    let out = build(b.path(), &stores.path().join("b"), &["--locked"], &[]);
    assert!(stderr(&out).contains("signed by stranger-1, which no `trusted-key` names"));
    // A cache marked as reached only by trusted writers takes it.
    let spec = fs::read_to_string(b.path().join("layer.kdl")).unwrap();
    let trusting = spec.replace("push=#true", "check-signatures=#false");
    assert_ne!(spec, trusting);
    fs::write(b.path().join("layer.kdl"), trusting).unwrap();
    let out = ok(&build(
        b.path(),
        &stores.path().join("b"),
        &["--locked"],
        &[],
    ));
    assert!(out.contains(&format!("from remote cache {url}")), "{out}");
}

#[test]
fn nothing_is_pushed_unsigned() {
    let (fleet, cache, url) = file_fleet();
    let stores = tempfile::tempdir().unwrap();
    let out = ok(&build(fleet.a.path(), stores.path(), &[], &[]));
    assert!(
        out.contains(&format!("not pushed to remote cache {url}: no signing key")),
        "{out}"
    );
    assert!(files_under(cache.path()).is_empty());
    // LAYERC_SIGNING_KEY may hold the key itself, as a CI secret does.
    fs::remove_dir_all(stores.path()).unwrap();
    let key = fs::read_to_string(fleet.secret()).unwrap();
    let out = ok(&build(
        fleet.a.path(),
        stores.path(),
        &[],
        &[("LAYERC_SIGNING_KEY", key.trim())],
    ));
    assert!(out.contains(&format!("pushed to {url}")), "{out}");
}

#[test]
fn dry_run_says_what_would_be_fetched_or_pushed() {
    let (fleet, _cache, url) = file_fleet();
    let stores = tempfile::tempdir().unwrap();
    let secret = fleet.secret();
    let out = ok(&build(
        fleet.a.path(),
        &stores.path().join("a"),
        &["--dry-run"],
        &[],
    ));
    assert!(
        out.contains(&format!("layer `hello` would be built and pushed to {url}")),
        "{out}"
    );
    let args = ["--signing-key", secret.to_str().unwrap()];
    ok(&build(fleet.a.path(), &stores.path().join("a"), &args, &[]));
    let b = fleet.runner_b();
    let out = ok(&build(
        b.path(),
        &stores.path().join("b"),
        &["--locked", "--dry-run"],
        &[],
    ));
    assert!(
        out.contains(&format!(
            "layer `hello` would be fetched from remote cache {url} (from layer.lock alone)"
        )),
        "{out}"
    );
    assert!(!b.path().join("build").exists());
    // `--no-cache`: nothing is asked.
    let out = ok(&build(
        fleet.a.path(),
        &stores.path().join("c"),
        &["--dry-run", "--no-cache"],
        &[],
    ));
    assert!(out.contains("layer `hello` would be built\n"), "{out}");
}

#[test]
fn a_changed_spec_needs_the_rootfs_and_says_why() {
    let (fleet, _cache, _) = file_fleet();
    let stores = tempfile::tempdir().unwrap();
    fleet.build_a(&stores.path().join("a"));
    let b = fleet.runner_b();
    let spec = fs::read_to_string(b.path().join("layer.kdl")).unwrap();
    fs::write(
        b.path().join("layer.kdl"),
        spec.replace(
            "library \"libhello.so.1\"",
            "library \"libhello.so.1\"\n    exclude \"libz.so.1\"",
        ),
    )
    .unwrap();
    let out = build(b.path(), &stores.path().join("b"), &["--locked"], &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("layer `hello` cannot be built from layer.lock alone (the spec changed since layer.lock was written): it needs its rootfs"),
        "{err}"
    );
}

#[test]
fn keygen_writes_a_key_pair_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = layerc_in(dir.path(), &["cache", "keygen", "fleet-1"], &[]);
    let err = ok(&out);
    use std::os::unix::fs::PermissionsExt;
    let mode = |f: &str| {
        fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("fleet-1.secret"), 0o600);
    assert_eq!(mode("fleet-1.public"), 0o644);
    let public = fs::read_to_string(dir.path().join("fleet-1.public")).unwrap();
    assert!(
        err.contains(&format!("trusted-key \"{}\"", public.trim())),
        "{err}"
    );
    let secret = fs::read(dir.path().join("fleet-1.secret")).unwrap();
    let again = layerc_in(dir.path(), &["cache", "keygen", "fleet-1"], &[]);
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("is never replaced"));
    assert_eq!(fs::read(dir.path().join("fleet-1.secret")).unwrap(), secret);
    assert_eq!(
        code(&layerc_in(dir.path(), &["cache", "keygen", "a/b"], &[])),
        2
    );
}

#[test]
fn bad_cache_urls_and_keys_are_spec_errors() {
    let fx = Fixture::new();
    let analysis = analyze_text(
        "layer \"x\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n}\ncache \"ftp://host/x\"\ncache \"s3://b?pushh=true\"\ntrusted-key \"ci-1:AAAA\"\ntrusted-key \"no-name\"\ncache \"s3://bucket/p\" push=\"yes\"\n",
        fx.path(),
    );
    assert_eq!(
        error_codes(&analysis),
        [
            "spec::cache",
            "spec::cache",
            "spec::trusted-key",
            "spec::trusted-key",
            "spec::wrong-type"
        ]
    );
    insta::assert_snapshot!(rendered(&analysis));
}

/// The blob API other fetchers use (image blobs, package files): a blob pushed by one runner is
/// fetched by another, checked against the digest asked for; bytes under another digest's name are
/// refused.
pub(crate) fn blobs_round_trip(url: &str) {
    use layerc::cache::location::CacheSpec;
    use layerc::cache::{Caches, Settings};
    let dir = tempfile::tempdir().unwrap();
    let bytes = noise(100_000, 3);
    let blob = dir.path().join("blob");
    fs::write(&blob, &bytes).unwrap();
    let sha256 = layerc::digest::sha256_of(&bytes[..]).unwrap();
    let open = |push: bool| {
        let mut cache = CacheSpec::parse(url, dir.path()).unwrap();
        cache.push = push;
        Caches::new(Settings {
            caches: vec![cache],
            ..Settings::default()
        })
    };
    let pusher = open(true);
    pusher.push_blob(&sha256, &blob);
    assert_eq!(pusher.take_warnings(), Vec::<String>::new());
    let reader = open(false);
    let target = dir.path().join("fetched");
    let name = url.split('?').next().unwrap();
    let size = Some(bytes.len() as u64);
    assert_eq!(
        reader
            .fetch_blob(&sha256, size, 1 << 20, &target)
            .as_deref(),
        Some(name)
    );
    assert_eq!(fs::read(&target).unwrap(), bytes);
    // Other bytes pushed under a digest that is not theirs are never handed out.
    let liar = "0".repeat(64);
    pusher.push_blob(&liar, &blob);
    let target = dir.path().join("refused");
    assert_eq!(reader.fetch_blob(&liar, None, 1 << 20, &target), None);
    assert!(!target.exists());
    let warnings = reader.take_warnings().join("\n");
    assert!(
        warnings.contains(&format!("refused blob {liar}")),
        "{warnings}"
    );
}

#[test]
fn blobs_by_digest_in_a_folder_cache() {
    let cache = tempfile::tempdir().unwrap();
    blobs_round_trip(&format!("file://{}", cache.path().display()));
}

//! The store: a rebuild with unchanged inputs links the stored zip; any change to what the zip's
//! bytes depend on misses; damaged entries are rebuilt; `layerc gc` trims least recently used
//! entries first. Every test has a store of its own.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::*;

/// A layer shipping a data file (its bytes are free to change without breaking an ELF file).
const DATA_SPEC: &str = "layer \"data\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    file \"/data/blob.bin\" to=\"data/blob.bin\"\n}\n";

fn data_fixture() -> Fixture {
    let fx = Fixture::new();
    fx.write_root("/data/blob.bin", noise(5000, 1));
    fx.spec(DATA_SPEC);
    fx
}

/// Runs `layerc build ARGS` in `dir` with the store at `store`.
fn build_with(dir: &Path, store: &Path, args: &[&str]) -> std::process::Output {
    let args: Vec<&str> = ["build"].iter().chain(args).copied().collect();
    let out = layerc_in(dir, &args, &[("LAYERC_STORE", store.to_str().unwrap())]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    out
}

fn from_store(out: &std::process::Output) -> bool {
    let err = stderr(out);
    assert!(err.contains(".zip ("), "{err}");
    err.contains("bytes, from the store)")
}

/// The keys of the store's entries, sorted.
fn entries(store: &Path) -> Vec<String> {
    let Ok(dir) = fs::read_dir(store.join("zips")) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = dir
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".zip").map(str::to_string)
        })
        .collect();
    keys.sort();
    keys
}

fn outputs(dir: &Path) -> Vec<Vec<u8>> {
    [
        "build/data.zip",
        "build/serverless.template.json",
        "layer.lock",
    ]
    .iter()
    .map(|f| fs::read(dir.join(f)).unwrap())
    .collect()
}

#[test]
fn a_rebuild_with_unchanged_inputs_comes_from_the_store_byte_for_byte() {
    let fx = data_fixture();
    let store = fx.path().join("store");
    assert!(!from_store(&build_with(fx.path(), &store, &[])));
    let first = outputs(fx.path());
    let out = build_with(fx.path(), &store, &[]);
    assert!(from_store(&out));
    assert_eq!(outputs(fx.path()), first);
    let out = build_with(fx.path(), &store, &["--locked"]);
    assert!(from_store(&out));
    assert_eq!(outputs(fx.path()), first);
    // A comment changes the text, not the meaning.
    fx.spec(&format!("// the data layer\n{DATA_SPEC}"));
    assert!(from_store(&build_with(fx.path(), &store, &[])));
    assert_eq!(entries(&store).len(), 1);
    // The zip is the store's entry, linked, and read-only so that no edit reaches the entry.
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let zip = fs::metadata(fx.path().join("build/data.zip")).unwrap();
    let entry = fs::metadata(
        store
            .join("zips")
            .join(format!("{}.zip", entries(&store)[0])),
    );
    assert_eq!(zip.ino(), entry.unwrap().ino());
    assert_eq!(zip.permissions().mode() & 0o777, 0o444);
    assert_eq!(
        written(&fx)
            .into_iter()
            .filter(|f| !f.starts_with("store/"))
            .collect::<Vec<_>>(),
        [
            "build/data.zip",
            "build/serverless.template.json",
            "layer.lock"
        ]
    );
}

#[test]
fn a_file_rewritten_with_its_size_and_mtime_kept_misses() {
    let fx = data_fixture();
    let store = fx.path().join("store");
    let blob = fx.root("/data/blob.bin");
    // Right after the files were written: the stat index trusts a stamp whose change came before
    // the index was written (git's rule), without waiting.
    build_with(fx.path(), &store, &[]);
    assert!(from_store(&build_with(fx.path(), &store, &[])));
    let (zip, lock) = (
        fs::read(fx.path().join("build/data.zip")).unwrap(),
        fs::read_to_string(fx.path().join("layer.lock")).unwrap(),
    );
    let mtime = fs::metadata(&blob).unwrap().modified().unwrap();
    fs::write(&blob, noise(5000, 2)).unwrap();
    fs::File::options()
        .write(true)
        .open(&blob)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(fs::metadata(&blob).unwrap().modified().unwrap(), mtime);
    let out = layerc_in(
        fx.path(),
        &["build", "--locked"],
        &[("LAYERC_STORE", store.to_str().unwrap())],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("data/blob.bin"), "{}", stderr(&out));
    assert!(!from_store(&build_with(fx.path(), &store, &[])));
    assert_ne!(fs::read(fx.path().join("build/data.zip")).unwrap(), zip);
    assert_ne!(
        fs::read_to_string(fx.path().join("layer.lock")).unwrap(),
        lock
    );
    assert_eq!(entries(&store).len(), 2);
}

#[test]
fn compression_and_entry_time_are_part_of_the_key() {
    let fx = data_fixture();
    let store = fx.path().join("store");
    build_with(fx.path(), &store, &[]);
    let default = fs::read(fx.path().join("build/data.zip")).unwrap();
    assert!(!from_store(&build_with(
        fx.path(),
        &store,
        &["--compression", "fast"]
    )));
    assert!(from_store(&build_with(fx.path(), &store, &[])));
    assert_eq!(fs::read(fx.path().join("build/data.zip")).unwrap(), default);
    let dated = layerc_in(
        fx.path(),
        &["build"],
        &[
            ("LAYERC_STORE", store.to_str().unwrap()),
            ("SOURCE_DATE_EPOCH", "1614834368"),
        ],
    );
    assert_eq!(code(&dated), 0, "{}", stderr(&dated));
    assert!(!from_store(&dated));
    assert_eq!(entries(&store).len(), 3);
}

#[test]
fn two_specs_with_the_same_layer_share_one_entry() {
    let fx = Fixture::new();
    fx.write_root("/data/blob.bin", noise(5000, 1));
    let shared = DATA_SPEC.replace("\"rootfs\"", "\"../rootfs\"");
    fx.write("one/layer.kdl", &shared);
    // Another folder, another layer name, a comment: the same zip.
    fx.write(
        "two/layer.kdl",
        format!("// shared data\n{}", shared.replace("\"data\"", "\"blob\"")),
    );
    let store = fx.path().join("store");
    assert!(!from_store(&build_with(
        &fx.path().join("one"),
        &store,
        &[]
    )));
    assert!(from_store(&build_with(&fx.path().join("two"), &store, &[])));
    assert_eq!(
        fs::read(fx.path().join("one/build/data.zip")).unwrap(),
        fs::read(fx.path().join("two/build/blob.zip")).unwrap()
    );
    assert_eq!(entries(&store).len(), 1);
}

#[test]
fn a_truncated_entry_is_rebuilt_not_shipped() {
    let fx = data_fixture();
    let store = fx.path().join("store");
    build_with(fx.path(), &store, &["--out", "first"]);
    let good = fs::read(fx.path().join("first/data.zip")).unwrap();
    let entry = store
        .join("zips")
        .join(format!("{}.zip", entries(&store)[0]));
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&entry, fs::Permissions::from_mode(0o644)).unwrap();
    let file = fs::File::options().write(true).open(&entry).unwrap();
    file.set_len(good.len() as u64 / 2).unwrap();
    assert!(!from_store(&build_with(fx.path(), &store, &[])));
    assert_eq!(fs::read(fx.path().join("build/data.zip")).unwrap(), good);
    assert_eq!(fs::read(&entry).unwrap(), good, "the entry is whole again");
    assert!(from_store(&build_with(fx.path(), &store, &[])));
}

#[test]
fn store_flag_wins_over_the_environment_and_an_unusable_store_is_a_warning() {
    let fx = data_fixture();
    let (flag, env) = (fx.path().join("flag"), fx.path().join("env"));
    build_with(fx.path(), &env, &[]);
    assert_eq!(entries(&env).len(), 1);
    let flag_arg = flag.to_str().unwrap();
    assert!(!from_store(&build_with(
        fx.path(),
        &env,
        &["--store", flag_arg]
    )));
    assert_eq!(entries(&flag), entries(&env));
    // A store that cannot be created: the build goes on without it.
    let file = fx.write("not-a-folder", "x");
    let out = build_with(fx.path(), &file, &[]);
    assert!(!from_store(&out));
    assert!(
        stderr(&out).contains("warning: the store") && stderr(&out).contains("cannot be used"),
        "{}",
        stderr(&out)
    );
    assert!(fx.path().join("build/data.zip").is_file());
}

#[test]
fn concurrent_builds_sharing_a_store_agree() {
    let fx = data_fixture();
    let store = fx.path().join("store");
    let builds: Vec<_> = (0..4)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_layerc"))
                .current_dir(fx.path())
                .args(["build", "--out", &format!("out{i}")])
                .env("LAYERC_STORE", &store)
                .env("NO_COLOR", "1")
                .env_remove("SOURCE_DATE_EPOCH")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for build in builds {
        let out = build.wait_with_output().unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let zips: Vec<_> = (0..4)
        .map(|i| fs::read(fx.path().join(format!("out{i}/data.zip"))).unwrap())
        .collect();
    assert!(zips.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(entries(&store).len(), 1);
}

/// Three entries (three compression levels), used in the order fast, default, best.
fn three_entries(fx: &Fixture, store: &Path) -> Vec<(String, u64)> {
    let mut used = Vec::new();
    let base = SystemTime::now() - Duration::from_secs(600);
    for (i, level) in ["fast", "default", "best"].iter().enumerate() {
        let before = entries(store);
        build_with(fx.path(), store, &["--compression", level]);
        let key = entries(store)
            .into_iter()
            .find(|k| !before.contains(k))
            .unwrap();
        let meta = store.join("zips").join(format!("{key}.meta"));
        let file = fs::File::options().append(true).open(&meta).unwrap();
        file.set_modified(base + Duration::from_secs(60 * i as u64))
            .unwrap();
        let size = fs::metadata(&meta).unwrap().len()
            + fs::metadata(meta.with_extension("zip")).unwrap().len();
        used.push((key, size));
    }
    used
}

fn gc(store: &Path, args: &[&str]) -> String {
    let mut all = vec!["gc", "--store", store.to_str().unwrap()];
    all.extend(args);
    let out = layerc_in(Path::new("."), &all, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn gc_keep_removes_the_least_recently_used() {
    let fx = data_fixture();
    let store = fx.path().join("store");
    let used = three_entries(&fx, &store);
    let text = gc(&store, &["--keep", "1"]);
    let freed = used[0].1 + used[1].1;
    assert!(
        text.contains(&format!("{freed} bytes freed: 2 entries")),
        "{text}"
    );
    let removed: Vec<&str> = text.lines().filter(|l| l.starts_with("removed")).collect();
    assert_eq!(removed.len(), 2, "{text}");
    assert!(removed[0].contains(&used[0].0) && removed[1].contains(&used[1].0));
    assert_eq!(entries(&store), [used[2].0.clone()]);
    // A hit marks an entry as used: `best` is the newest, so it stays.
    assert!(from_store(&build_with(
        fx.path(),
        &store,
        &["--compression", "best"]
    )));
    let text = gc(&store, &["--keep", "0"]);
    assert!(text.contains("1 entries"), "{text}");
    assert!(entries(&store).is_empty());
}

#[test]
fn gc_max_size_keeps_the_newest_that_fit_and_old_leftovers_go() {
    let fx = data_fixture();
    let store = fx.path().join("store");
    let used = three_entries(&fx, &store);
    // A build that died long ago left a temporary file; one being written is young.
    let old: PathBuf = store.join("zips/.layerc-old.tmp");
    fs::write(&old, "half a zip").unwrap();
    let hours_ago = SystemTime::now() - Duration::from_secs(7200);
    fs::File::options()
        .append(true)
        .open(&old)
        .unwrap()
        .set_modified(hours_ago)
        .unwrap();
    let young = store.join("zips/.layerc-young.tmp");
    fs::write(&young, "being written").unwrap();
    let max = used[1].1 + used[2].1;
    let text = gc(&store, &["--max-size", &max.to_string()]);
    assert!(
        text.contains("1 entries and 1 leftover files removed"),
        "{text}"
    );
    assert!(text.contains(&format!("removed {}", used[0].0)), "{text}");
    assert!(!old.exists() && young.exists());
    let mut kept = vec![used[1].0.clone(), used[2].0.clone()];
    kept.sort();
    assert_eq!(entries(&store), kept);
    // Units: each entry is over 5000 bytes, so none fits in 1K.
    let text = gc(&store, &["--max-size", "1K"]);
    assert!(text.contains("2 entries"), "{text}");
    let bad = layerc_in(Path::new("."), &["gc", "--max-size", "2X"], &[]);
    assert_eq!(code(&bad), 2);
    assert!(stderr(&bad).contains("unknown unit"), "{}", stderr(&bad));
}

/// What interrupted pulls and package fetches leave (partial downloads, temporary folders, a blob
/// no image keeps) goes once older than an hour; younger, a running build may be writing it.
#[test]
fn gc_removes_old_leftovers_of_pulls_and_package_fetches() {
    let fx = Fixture::new();
    let store = fx.path().join("store");
    let hex = "ab".repeat(32);
    let leftovers = [
        format!("images/registry/blobs/sha256/.{hex}.partial"),
        format!("images/registry/blobs/sha256/{hex}"),
        format!("packages/files/sha256/.{hex}.partial"),
        format!("packages/files/sha256/{hex}"),
        "packages/rootfs/.layerc-unpacking/usr/lib/libx.so".to_string(),
        "images/registry/layouts/.layerc-linking/oci-layout".to_string(),
    ];
    let hours_ago = SystemTime::now() - Duration::from_secs(7200);
    let write = |name: &str, old: bool| {
        let path = store.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "half").unwrap();
        // The file and the folders it was written into.
        for p in path.ancestors().take_while(|p| *p != store).filter(|_| old) {
            fs::File::open(p).unwrap().set_modified(hours_ago).unwrap();
        }
    };
    for name in &leftovers {
        write(name, true);
    }
    let young = format!("packages/files/sha256/{}", "cd".repeat(32));
    write(&young, false);
    let text = gc(&store, &[]);
    assert!(
        text.contains("0 entries and 6 leftover files removed"),
        "{text}"
    );
    for name in &leftovers {
        assert!(!store.join(name).exists(), "{name} is left");
    }
    assert!(store.join(&young).exists());
}

/// Runs `layerc build` in `dir` as the unprivileged user `nobody` (root reads every file).
fn build_as_nobody(dir: &Path, store: &Path) -> std::process::Output {
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_layerc"))
        .args(["build", "--store", store.to_str().unwrap()])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("setpriv (util-linux) runs")
}

#[test]
fn a_no_op_rebuild_never_opens_the_shipped_files() {
    use std::os::unix::fs::PermissionsExt;
    let fx = data_fixture();
    let store = fx.path().join("store");
    let mode = |path: &Path, mode: u32| {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap()
    };
    // Only root can read the file; every folder a build writes in is open to all.
    // Changed just now (its mode): the build right after still trusts the stat index.
    mode(&fx.root("/data/blob.bin"), 0o000);
    build_with(fx.path(), &store, &[]);
    for dir in ["", "build", "store", "store/zips", "store/stat"] {
        mode(&fx.path().join(dir), 0o777);
    }
    let out = build_as_nobody(fx.path(), &store);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(from_store(&out));
    // The same build without the store has to read the file, and cannot.
    let empty = fx.path().join("empty-store");
    fs::create_dir(&empty).unwrap();
    mode(&empty, 0o777);
    let out = build_as_nobody(fx.path(), &empty);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("cannot read data/blob.bin"), "{err}");
}

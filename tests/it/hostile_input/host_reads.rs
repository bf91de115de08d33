//! Every host file layerc reads goes through one bounded, regular-file-only reader: a FIFO (no
//! writer will ever come) is a clear error at once, a device like /dev/zero is refused before a
//! byte is read, and a sparse file of gigabytes is refused by its size.

use std::path::Path;

use super::*;

/// The hostile things a path can name: a FIFO, /dev/zero (through a symlink, as a user would
/// write it), and a sparse 3 GB file. `make` puts one at `path`.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    Fifo,
    Zero,
    Sparse,
}

const ALL: [Hostile; 3] = [Hostile::Fifo, Hostile::Zero, Hostile::Sparse];

impl Hostile {
    fn make(self, path: &Path) {
        let _ = std::fs::remove_file(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        match self {
            Hostile::Fifo => mkfifo(path),
            Hostile::Zero => std::os::unix::fs::symlink("/dev/zero", path).unwrap(),
            Hostile::Sparse => std::fs::File::create(path)
                .unwrap()
                .set_len(3 << 30)
                .unwrap(),
        }
    }

    /// What the message says about it.
    fn said(self) -> &'static str {
        match self {
            Hostile::Fifo => "a FIFO, not a regular file",
            Hostile::Zero => "a character device, not a regular file",
            Hostile::Sparse => "more than the",
        }
    }
}

/// Runs `layerc args` in `fx` and insists on exit 1 or 2 (`code`), no panic, and `needle`.
fn refused(fx: &Fixture, args: &[&str], code_wanted: i32, hostile: Hostile, needle: &str) {
    let out = layerc_bounded(fx.path(), args);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(code(&out), code_wanted, "{hostile:?} {args:?}: {all}");
    assert_no_panic(&out);
    assert!(all.contains(hostile.said()), "{hostile:?} {args:?}: {all}");
    assert!(all.contains(needle), "{hostile:?} {args:?}: {all}");
}

#[test]
fn the_spec_path_on_the_command_line() {
    for hostile in ALL {
        let fx = valid_fixture();
        hostile.make(&fx.path().join("other.kdl"));
        refused(&fx, &["check", "other.kdl"], 2, hostile, "other.kdl");
        refused(&fx, &["graph", "other.kdl"], 2, hostile, "other.kdl");
    }
}

#[test]
fn a_template_the_spec_names_or_merge_gives() {
    for hostile in ALL {
        let fx = valid_fixture();
        hostile.make(&fx.path().join("template.yaml"));
        fx.spec(&format!("template \"template.yaml\"\n{VALID_SPEC}"));
        refused(&fx, &["check"], 2, hostile, "template::io");
        fx.spec(VALID_SPEC);
        refused(
            &fx,
            &["build", "--merge", "template.yaml"],
            2,
            hostile,
            "template::io",
        );
        assert!(
            written(&fx).iter().all(|f| f == "template.yaml"),
            "{:?}",
            written(&fx)
        );
    }
}

#[test]
fn a_runtime_file_and_runtime_diff_arguments() {
    for hostile in ALL {
        let fx = valid_fixture();
        hostile.make(&fx.path().join("rt.kdl"));
        fx.spec(&VALID_SPEC.replace(
            "    runtime \"provided.al2023\"\n",
            "    runtime \"my-runtime\"\n    runtime-file \"rt.kdl\"\n",
        ));
        refused(&fx, &["check"], 1, hostile, "rt.kdl");
        refused(
            &fx,
            &["runtime", "diff", "rt.kdl", "python3.12"],
            2,
            hostile,
            "rt.kdl",
        );
    }
}

#[test]
fn layer_lock_with_locked() {
    for hostile in ALL {
        let fx = valid_fixture();
        hostile.make(&fx.path().join("layer.lock"));
        refused(&fx, &["check", "--locked"], 1, hostile, "lock::malformed");
        refused(&fx, &["build", "--locked"], 1, hostile, "lock::malformed");
    }
}

#[test]
fn a_catalog_file_and_a_template_for_init() {
    for hostile in ALL {
        let fx = valid_fixture();
        hostile.make(&fx.path().join("given"));
        refused(&fx, &["--catalog", "given", "check"], 2, hostile, "given");
        refused(&fx, &["init", "--template", "given"], 2, hostile, "given");
    }
}

/// A build after a layer was renamed removes the old layer's zip only when it is the regular file
/// the lock records: something hostile in its place is never read, and never removed.
#[test]
fn a_stale_zip_that_is_not_a_regular_file() {
    for hostile in [Hostile::Fifo, Hostile::Zero] {
        let fx = valid_fixture();
        fx.spec(VALID_SPEC);
        let first = layerc_bounded(fx.path(), &["build"]);
        assert_eq!(code(&first), 0, "{}", stderr(&first));
        let old = fx.path().join("build/hello.zip");
        hostile.make(&old);
        fx.spec(&VALID_SPEC.replace("layer \"hello\"", "layer \"renamed\""));
        let out = layerc_bounded(fx.path(), &["build"]);
        assert_eq!(code(&out), 0, "{hostile:?}: {}", stderr(&out));
        assert_no_panic(&out);
        assert!(
            std::fs::symlink_metadata(&old).is_ok(),
            "{hostile:?}: removed"
        );
        assert!(fx.path().join("build/renamed.zip").is_file());
    }
}

/// The store's and the image cache's own files: a hostile one is ignored (the entry is a miss,
/// the index is made again), never read.
#[test]
fn the_store_s_and_the_image_cache_s_own_files() {
    let store = tempfile::tempdir().unwrap();
    let env = [("LAYERC_STORE", store.path().to_str().unwrap())];
    let fx = valid_fixture();
    let out = layerc_bounded_env(fx.path(), &["build"], &env);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for hostile in ALL {
        for dir in ["zips", "stat"] {
            for entry in std::fs::read_dir(store.path().join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if dir == "stat" || path.extension().is_some_and(|e| e == "meta") {
                    hostile.make(&path);
                }
            }
        }
        let out = layerc_bounded_env(fx.path(), &["build"], &env);
        assert_eq!(code(&out), 0, "{hostile:?}: {}", stderr(&out));
        assert_no_panic(&out);
    }
}

#[test]
fn an_image_s_index_and_the_cached_index() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    for hostile in ALL {
        let fx = Fixture::new();
        let image = crate::images::copy_image(&fx, "oci", "image");
        fx.spec(&crate::images::spec(&image, "x86_64"));
        let cache = fx.path().join("cache");
        let env = [("LAYERC_CACHE", cache.to_str().unwrap())];
        let out = layerc_bounded_env(fx.path(), &["build"], &env);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        // The cached index, then the layout's own index.json.
        for entry in std::fs::read_dir(cache.join("images/index")).unwrap() {
            hostile.make(&entry.unwrap().path());
        }
        let out = layerc_bounded_env(fx.path(), &["build"], &env);
        assert_eq!(code(&out), 0, "{hostile:?}: {}", stderr(&out));
        hostile.make(&image.join("index.json"));
        let out = layerc_bounded_env(fx.path(), &["check", "--format", "json"], &env);
        let err = stdout(&out);
        assert_eq!(code(&out), 2, "{hostile:?}: {err}");
        // A layout's own files are not followed through symlinks.
        let said = err.contains(hostile.said()) || err.contains("a symlink, not a regular file");
        assert!(err.contains("index.json") && said, "{hostile:?}: {err}");
    }
}

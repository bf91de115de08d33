//! Builds under hostile conditions: an interrupt while the zip is written, rootfs files that change
//! while they are read, and large entries split into chunks compressed in parallel.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use layerc::emit::zip::{Compression, ZipOptions, timestamp};

use crate::common::*;

/// Text-like bytes that compress the way libraries do (about 3:1) without taking long to make.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut state = seed | 1;
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend(format!("sym_{:x}@GLIBC_2.{} ", state % 5003, state % 38).as_bytes());
        if state.is_multiple_of(11) {
            out.extend(state.to_le_bytes());
        }
    }
    out.truncate(len);
    out
}

/// A layer with one large file entry beside a small one.
fn big_file_fixture(fx: &Fixture, len: usize) {
    fx.write_root("/data/big.bin", data(len, 7));
    fx.write_root("/data/small.txt", "small\n");
    fx.spec(
        "layer \"big\" {\n    runtime \"provided.al2023\"\n    rootfs \"rootfs\"\n    file \"/data\" to=\"data\"\n}\n",
    );
}

fn spawn_build(dir: &Path, out: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_layerc"))
        .current_dir(dir)
        .args(["build", "--out", out])
        .env("NO_COLOR", "1")
        .env("LAYERC_STORE", test_store())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("layerc runs")
}

fn temporaries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".layerc-") && n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the build has created its temporary zip (it is then compressing).
fn wait_for_temporary(child: &mut Child, dir: &Path) {
    let start = Instant::now();
    while temporaries(dir).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the build ended early");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary file"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn an_interrupted_build_removes_its_temporary_files() {
    let fx = Fixture::new();
    big_file_fixture(&fx, 96 << 20);
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let out = fx.path().join(format!("out-{signal}"));
        let mut child = spawn_build(fx.path(), out.to_str().unwrap());
        wait_for_temporary(&mut child, &out);
        // The shell's own `kill`: procps, which has /bin/kill, is not among Debian's essentials.
        let kill = Command::new("sh")
            .args(["-c", &format!("kill -{signal} {}", child.id())])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "SIG{signal}: {status:?}");
        assert_eq!(temporaries(&out), Vec::<String>::new(), "SIG{signal}");
        // The output folder the build created goes too.
        assert!(!out.exists(), "SIG{signal}");
    }
}

#[test]
fn a_file_truncated_while_it_is_compressed_is_an_error_naming_it() {
    let fx = Fixture::new();
    big_file_fixture(&fx, 64 << 20);
    let out = fx.path().join("out");
    let mut child = spawn_build(fx.path(), out.to_str().unwrap());
    wait_for_temporary(&mut child, &out);
    fs::OpenOptions::new()
        .write(true)
        .open(fx.root("/data/big.bin"))
        .unwrap()
        .set_len(1000)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    // Exit 2 (an input could not be read), not a SIGBUS from a mapped page that vanished.
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot read /data/big.bin in the rootfs: the file changed while it was read"),
        "{err}"
    );
    assert_eq!(temporaries(&out), Vec::<String>::new());
    // A failed build leaves no empty output folder behind.
    assert!(!out.exists());
}

#[test]
fn a_file_that_grew_after_analysis_is_an_error_naming_it() {
    let fx = Fixture::new();
    big_file_fixture(&fx, 3 << 20);
    let analysis = fx.analyze();
    assert!(!analysis.has_errors(), "{}", rendered(&analysis));
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(fx.root("/data/small.txt"))
        .unwrap();
    std::io::Write::write_all(&mut file, b"more\n").unwrap();
    let options = ZipOptions::new(timestamp(None), Compression::Default);
    let buildable = layerc::Buildable::try_from(&analysis).unwrap();
    let err = layerc::build(buildable, &fx.path().join("out"), &options)
        .err()
        .expect("the build fails");
    assert!(
        err.to_string()
            .contains("cannot read /data/small.txt in the rootfs: the file changed while it was read (it had 6 bytes)"),
        "{err}"
    );
    assert_eq!(temporaries(&fx.path().join("out")), Vec::<String>::new());
}

#[test]
fn zips_written_ahead_are_the_build_s_own_and_a_stop_leaves_nothing() {
    use std::sync::atomic::AtomicBool;
    let fx = Fixture::new();
    big_file_fixture(&fx, 3 << 20);
    let analysis = fx.analyze();
    let buildable = layerc::Buildable::try_from(&analysis).unwrap();
    let options = ZipOptions::new(timestamp(None), Compression::Default);
    let (plain, ahead) = (fx.path().join("plain"), fx.path().join("ahead"));
    layerc::build(buildable, &plain, &options).unwrap();
    // Stopped before the first chunk: no zip, no temporary file.
    let stopped = layerc::write_zips_ahead(&buildable, &ahead, &options, &AtomicBool::new(true));
    assert_eq!(temporaries(&ahead), Vec::<String>::new());
    drop(stopped);
    // Not stopped: the build renames the zip written ahead, byte for byte the plain build's.
    let written = layerc::write_zips_ahead(&buildable, &ahead, &options, &AtomicBool::new(false));
    assert_eq!(temporaries(&ahead).len(), 1);
    layerc::build_with_lock(
        buildable,
        &ahead,
        &options,
        None,
        None,
        Default::default(),
        Some(written),
    )
    .unwrap();
    assert_eq!(temporaries(&ahead), Vec::<String>::new());
    assert!(fs::read(ahead.join("big.zip")).unwrap() == fs::read(plain.join("big.zip")).unwrap());
}

/// Bytes of the zip written with `threads` compression workers.
fn zip_with_threads(fx: &Fixture, threads: usize, compression: Compression) -> Vec<u8> {
    let analysis = fx.analyze();
    let layer = &analysis.layers[0];
    let mut options = ZipOptions::new(timestamp(None), compression);
    options.threads = threads;
    let out = std::io::Cursor::new(Vec::new());
    let path = fx.path().join("layer.zip");
    layerc::emit::zip::write_layer_zip(&layer.plan, layer.rootfs.fs.as_ref(), &options, out, &path)
        .unwrap()
        .into_inner()
}

#[test]
fn large_entries_give_the_same_bytes_with_1_2_and_16_threads_and_unzip_exactly() {
    let fx = Fixture::new();
    // Several chunks, the last one partial, plus an empty file and a one-chunk file.
    big_file_fixture(&fx, (5 << 20) + 12345);
    fx.write_root("/data/empty", "");
    fx.write_root("/data/one-chunk.bin", data(700_000, 3));
    for compression in [Compression::Fast, Compression::Default] {
        let one = zip_with_threads(&fx, 1, compression);
        for threads in [2, 16] {
            assert!(
                zip_with_threads(&fx, threads, compression) == one,
                "{compression:?} with {threads} threads"
            );
        }
        let zip = fx.write(&format!("{compression:?}.zip"), &one);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&one)).unwrap();
        for name in ["data/big.bin", "data/empty", "data/one-chunk.bin"] {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut archive.by_name(name).unwrap(), &mut bytes).unwrap();
            assert!(
                bytes == fs::read(fx.root(&format!("/{name}"))).unwrap(),
                "{name}"
            );
        }
        if !crate::tier::oracle_check(&["unzip", "python3"]) {
            continue;
        }
        let test = Command::new("unzip").arg("-t").arg(&zip).output().unwrap();
        assert!(
            String::from_utf8_lossy(&test.stdout).contains("No errors detected"),
            "{}",
            String::from_utf8_lossy(&test.stdout)
        );
        // Python's zipfile, a reader no one here wrote, gives back the rootfs bytes.
        let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor name in ('data/big.bin', 'data/empty', 'data/one-chunk.bin'):\n    sys.stdout.buffer.write(z.read(name))\n";
        let py = Command::new("python3")
            .args(["-c", script])
            .arg(&zip)
            .output()
            .unwrap();
        assert!(
            py.status.success(),
            "{}",
            String::from_utf8_lossy(&py.stderr)
        );
        let mut expected = fs::read(fx.root("/data/big.bin")).unwrap();
        expected.extend(fs::read(fx.root("/data/one-chunk.bin")).unwrap());
        assert!(py.stdout == expected, "python3 zipfile read other bytes");
    }
}

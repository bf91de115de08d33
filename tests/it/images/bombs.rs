//! Tiny images that decompress to gigabytes cost little: entries named like shared objects are
//! streamed, not read whole; the bytes kept per image have a budget; a large file mapped from a
//! compressed layer is not held in memory. Peak memory is measured by GNU time, an oracle nobody
//! here wrote.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use super::tools::images;
use crate::common::{Fixture, files_under};

/// Peak memory allowed for an input under a megabyte.
const MAX_RSS_KB: u64 = 1 << 20;

/// A zstd stream written as concatenated frames (one stream to a reader), so that gigabytes of one
/// repeated byte cost one frame of 16 MiB compressed once.
struct Frames {
    out: fs::File,
    /// The frame of 16 MiB of one byte, per byte.
    runs: std::collections::HashMap<u8, Vec<u8>>,
}

const RUN: u64 = 16 << 20;

impl Frames {
    fn create(path: &Path) -> Frames {
        Frames {
            out: fs::File::create(path).unwrap(),
            runs: Default::default(),
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.out
            .write_all(&zstd::encode_all(bytes, 1).unwrap())
            .unwrap();
    }

    /// `len` bytes of `byte`.
    fn run(&mut self, byte: u8, len: u64) {
        let frame = self
            .runs
            .entry(byte)
            .or_insert_with(|| zstd::encode_all(&vec![byte; RUN as usize][..], 1).unwrap())
            .clone();
        for _ in 0..len / RUN {
            self.out.write_all(&frame).unwrap();
        }
        self.bytes(&vec![byte; (len % RUN) as usize]);
    }

    /// A tar entry: its header, `head`, then `byte` up to `len`, then padding.
    fn entry(&mut self, header: &tar::Header, head: &[u8], byte: u8, len: u64) {
        self.bytes(header.as_bytes());
        self.bytes(head);
        self.run(byte, len - head.len() as u64);
        self.run(0, len.next_multiple_of(512) - len);
    }

    fn file(&mut self, name: &str, head: &[u8], len: u64) {
        let mut header = tar::Header::new_gnu();
        header.set_path(name).unwrap();
        header.set_size(len);
        header.set_mode(0o755);
        header.set_cksum();
        self.entry(&header, head, 0, len);
    }

    fn finish(mut self) {
        self.run(0, 1024);
    }
}

/// A zstd-compressed flat tar: the fixture's real libqux, then `pads` ELF-looking entries of
/// `pad_len` bytes (the ELF magic, then zeros) named like shared objects.
fn bomb(path: &Path, pads: &[(&str, u64)]) {
    let mut frames = Frames::create(path);
    let qux = fs::read(images().path("rootfs/usr/lib64/libqux.so.1")).unwrap();
    frames.file("usr/lib64/libqux.so.1", &qux, qux.len() as u64);
    for (name, len) in pads {
        frames.file(name, b"\x7fELF", *len);
    }
    frames.finish();
}

/// `layerc ARGS` in `dir`: the output and, under GNU time (an oracle), the peak resident memory
/// in KiB. The hermetic tier runs layerc alone and checks everything but the memory.
fn measured(dir: &Path, args: &[&str]) -> (Output, Option<u64>) {
    let cache = dir.join("cache");
    let timed = crate::tier::oracle_check(&["/usr/bin/time"]);
    let mut cmd = if timed {
        let mut time = Command::new("/usr/bin/time");
        time.arg("-v").arg(env!("CARGO_BIN_EXE_layerc"));
        time
    } else {
        Command::new(env!("CARGO_BIN_EXE_layerc"))
    };
    let out = cmd
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("LAYERC_CACHE", &cache)
        .env_remove("LAYERC_STORE")
        .output()
        .expect("GNU time runs (apt-get install time)");
    let err = String::from_utf8_lossy(&out.stderr);
    let rss = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok());
    assert!(rss.is_some() || !timed, "no peak memory in {err}");
    (out, rss)
}

fn spec(fx: &Fixture, library: &str) {
    fx.spec(&format!(
        "layer \"fx\" {{\n    runtime \"provided.al2023\"\n    rootfs \"bomb.tar.zst\"\n    library \"{library}\"\n}}\n"
    ));
}

/// Bytes of the files under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    files_under(dir)
        .iter()
        .map(|f| fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
        .sum()
}

#[test]
fn a_tiny_image_of_huge_shared_objects_costs_little_memory_and_disk() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let fx = Fixture::new();
    let gib = 1u64 << 30;
    bomb(
        &fx.path().join("bomb.tar.zst"),
        &[
            ("usr/lib64/libpad0.so", gib / 2),
            ("usr/lib64/libpad1.so", gib / 2),
            ("usr/lib64/libbig.so", 2 * gib),
        ],
    );
    let size = fs::metadata(fx.path().join("bomb.tar.zst")).unwrap().len();
    assert!(size < 1 << 20, "{size} bytes");
    spec(&fx, "libqux.so.1");
    for args in [&["check"][..], &["build"]] {
        let (out, rss) = measured(fx.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            rss.is_none_or(|kib| kib < MAX_RSS_KB),
            "{args:?}: {rss:?} KiB"
        );
        eprintln!("{args:?}: peak {rss:?} KiB");
    }
    // The budget of kept bytes for a 1 MB image is 64 MiB and some: no pad fits.
    let cached = bytes_under(&fx.path().join("cache/images"));
    assert!(cached < 100 << 20, "{cached} bytes in the image cache");
    // Asking for the 2 GiB one maps it from the layer, through the scratch file: an error (it is
    // no ELF object past its magic), not gigabytes of memory.
    spec(&fx, "libbig.so");
    let (out, rss) = measured(fx.path(), &["check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("libbig.so"), "{err}");
    assert!(rss.is_none_or(|kib| kib < MAX_RSS_KB), "{rss:?} KiB");
    eprintln!("check of libbig.so: peak {rss:?} KiB");
}

#[test]
fn a_huge_long_name_or_pax_header_is_refused_without_reading_it() {
    // GNU long names and pax headers are read whole by tar readers; a small stream can declare
    // gigabytes of them.
    for kind in [b'L', b'x'] {
        let fx = Fixture::new();
        let mut frames = Frames::create(&fx.path().join("bomb.tar.zst"));
        let mut header = tar::Header::new_gnu();
        header.set_path("././@LongLink").unwrap();
        header.set_entry_type(tar::EntryType::new(kind));
        header.set_size(3 << 29);
        header.set_cksum();
        frames.entry(&header, b"", b'a', 3 << 29);
        frames.finish();
        spec(&fx, "libqux.so.1");
        let (out, rss) = measured(fx.path(), &["check", "--format", "json"]);
        let err = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("a long name or pax header of 1610612736 bytes"),
            "{err}"
        );
        assert!(
            rss.is_none_or(|kib| kib < MAX_RSS_KB),
            "{} : {rss:?} KiB",
            kind as char
        );
    }
}

#[test]
fn a_large_file_of_a_compressed_layer_is_read_in_one_pass() {
    let Some(()) = crate::tier::oracle(&["unzip"]) else {
        return;
    };
    // 240 MiB (under Lambda's 250 MB) in 1 MiB chunks: decompressing the layer from its start for
    // each chunk, for the zip and again for the lock, would decompress 58 GB; streams kept open
    // between chunks take a pass or two.
    let fx = Fixture::new();
    let mut frames = Frames::create(&fx.path().join("bomb.tar.zst"));
    frames.file("data/big.bin", b"head", 240 << 20);
    frames.finish();
    fx.spec("layer \"fx\" {\n    runtime \"provided.al2023\"\n    rootfs \"bomb.tar.zst\"\n    file \"/data/big.bin\" to=\"big.bin\"\n}\n");
    let env = [("LAYERC_CACHE", fx.path().join("cache"))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.to_str().unwrap())).collect();
    let out = crate::hostile_input::layerc_bounded_env(fx.path(), &["build", "-q"], &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = Command::new("unzip")
        .arg("-l")
        .arg(fx.path().join("build/fx.zip"))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("251658240  ") && listing.contains("big.bin"),
        "{listing}"
    );
}

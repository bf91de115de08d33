//! Reading layer.lock: a lock of 100,000 files in the shape `layerc` writes it, read by the reader
//! of that shape (`lock::parse`) and, as the peer in the same run, by the kdl crate
//! (`lock::parse_kdl`, what reads a lock edited by hand). Prints MB/s for each and checks both give
//! the same lock.
//!
//! `cargo bench --bench lock_parse`

use std::time::Instant;

use layerc::lock::{Lock, LockedFile, LockedLayer, parse, parse_kdl, render};

const FILES: usize = 100_000;

fn lock() -> Lock {
    let files = (0..FILES)
        .map(|i| LockedFile {
            path: format!("share/fonts/family-{}/font-{i}.ttf", i % 97),
            source: format!("/usr/share/fonts/family-{}/font-{i}.ttf", i % 97),
            size: (i as u64 * 7919) % 1_000_000,
            mode: (i % 5 == 0).then_some(0o755),
            sha256: format!("{:064x}", i as u128 * 0x9e37_79b9_7f4a_7c15),
        })
        .collect();
    Lock {
        catalog: "2026-11-30.0123456789ab".into(),
        layers: vec![LockedLayer {
            name: "fonts".into(),
            runtimes: vec![("provided.al2023".into(), "ab".repeat(32))],
            files,
            spec: Some("cd".repeat(32)),
            zip: Some("ef".repeat(32)),
            ..LockedLayer::default()
        }],
    }
}

/// The best of `runs` timings of `f`, in seconds.
fn best(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let lock = lock();
    let text = render(&lock);
    let mb = text.len() as f64 / 1e6;
    assert_eq!(parse(&text).unwrap(), lock);
    assert_eq!(parse_kdl(&text).unwrap(), lock);
    let fast = best(5, || assert!(parse(&text).is_ok()));
    let kdl = best(1, || assert!(parse_kdl(&text).is_ok()));
    println!("layer.lock of {FILES} files: {mb:.1} MB");
    println!(
        "lock::parse      {:>8.1} ms  {:>7.1} MB/s",
        fast * 1e3,
        mb / fast
    );
    println!(
        "kdl (parse_kdl)  {:>8.1} ms  {:>7.1} MB/s",
        kdl * 1e3,
        mb / kdl
    );
    println!("ratio (kdl / parse): {:.0}", kdl / fast);
}

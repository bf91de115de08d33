//! Mangled archives (bytes flipped, cut, or overwritten in real images) give an index or an
//! error, never a panic or a hang; every file of an index that opens reads or fails cleanly.

use std::fs;

use layerc::arch::Architecture;
use layerc::rootfs::image::ImageRootFs;
use layerc::rootfs::{Kind, RootFs, RootPath};

use super::tools::images;
use crate::common::Fixture;

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mangle(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match rng.below(3) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
        }
        1 => out.truncate(rng.below(out.len())),
        _ => {
            let i = rng.below(out.len());
            let n = rng.below(64).min(out.len() - i);
            for b in &mut out[i..i + n] {
                *b = rng.next() as u8;
            }
        }
    }
    out
}

/// Reads every file of the tree below `dir`: each read is bytes or an error.
fn read_all(fs: &dyn RootFs, dir: &RootPath, depth: usize) {
    let Ok(names) = fs.read_dir(dir) else { return };
    for name in names {
        let path = dir.join(&name);
        match fs.lstat(&path) {
            Ok(Some(m)) if m.kind == Kind::Dir && depth < 16 => read_all(fs, &path, depth + 1),
            Ok(Some(m)) if m.kind == Kind::File => {
                let _ = fs.read(&path, layerc::rootfs::MAX_MAPPED);
                let _ = fs.read_prefix(&path, 64);
            }
            Ok(Some(m)) if m.kind == Kind::Symlink => {
                let _ = fs.read_link(&path);
            }
            _ => {}
        }
    }
}

#[test]
fn mangled_images_give_an_index_or_an_error_never_a_panic() {
    let Some(()) = crate::images::tools::available() else {
        return;
    };
    let fx = Fixture::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for source in [
        "export.tar",
        "export.tgz",
        "export.tar.zst",
        "export.tar.xz",
        "oci-archive.tar",
    ] {
        let bytes = fs::read(images().path(source)).unwrap();
        for round in 0..150 {
            let path = fx.path().join(format!("{round}-{source}"));
            fs::write(&path, mangle(&bytes, &mut rng)).unwrap();
            if let Ok(fs) = ImageRootFs::open_uncached(&path, Architecture::X86_64) {
                read_all(&fs, &RootPath::root(), 0);
            }
            fs::remove_file(&path).unwrap();
        }
    }
}

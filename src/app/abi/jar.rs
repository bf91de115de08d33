//! Native libraries inside jars. JNI libraries ship in the jar (sqlite-jdbc's
//! `org/sqlite/native/Linux/x86_64/libsqlitejdbc.so`, netty's `META-INF/native/libnetty_*.so`);
//! the Java library copies the one for the running system to the temporary folder and loads it
//! with `System.load`, so it needs what any shared object needs: the architecture, the runtime's
//! glibc and symbol versions, and its DT_NEEDED libraries on the function's search path. Each is
//! loaded like the application's own objects. Builds for other systems in the same jar are never
//! loaded on Lambda and are left out: other architectures, other OS ABIs, and the folders and
//! names sqlite-jdbc (`org/sqlite/util/OSInfo.java`: `Linux-Musl`, `Linux-Android`) and netty
//! (`io/netty/util/internal/NativeLibraryLoader.java`: `_musl` classifiers) use for musl and
//! Android.

use super::super::loader::{Failure, Loader};
use super::shown;
use crate::elf::ElfInfo;
use crate::rootfs::zipfs::ZipRootFs;
use crate::rootfs::{Kind, RootFs, RootPath};

/// The largest jar read (Lambda's limit for the whole function is larger, but no jar is).
const MAX_JAR_BYTES: u64 = 256 << 20;
/// The largest native library read from a jar.
const MAX_NATIVE_BYTES: u64 = 64 << 20;
/// Where Java libraries extract their natives before loading them (`java.io.tmpdir`).
const EXTRACTED: &str = "/tmp";

pub fn is_jar(path: &RootPath) -> bool {
    path.file_name().ends_with(".jar")
}

/// The native libraries of the application's jars, each loaded in a process of its own.
pub(super) fn load_natives(loader: &Loader<'_>, jars: &[RootPath]) -> (usize, Vec<Failure>) {
    let mut loaded = 0;
    let mut failures = Vec::new();
    for jar in jars.iter().filter(|j| is_jar(j)) {
        let Ok(bytes) = loader.fs.read(jar, MAX_JAR_BYTES) else {
            continue;
        };
        let Ok(archive) = ZipRootFs::from_bytes(bytes, &shown(jar)) else {
            continue;
        };
        for (entry, elf) in natives(&archive, loader.arch) {
            let chain = vec![format!("{}!{entry}", shown(jar))];
            let path = RootPath::new(EXTRACTED).join(entry.file_name());
            let elf = std::sync::Arc::new(elf);
            failures.extend(loader.load(path.clone(), path, elf, chain).failures);
            loaded += 1;
        }
    }
    (loaded, failures)
}

/// The jar's ELF shared objects for this architecture's glibc Linux, by entry path.
fn natives(archive: &ZipRootFs, arch: crate::arch::Architecture) -> Vec<(RootPath, ElfInfo)> {
    let mut out = Vec::new();
    let mut folders = vec![RootPath::root()];
    while let Some(dir) = folders.pop() {
        let Ok(names) = archive.read_dir(&dir) else {
            continue;
        };
        for name in names {
            let path = dir.join(&name);
            match archive.lstat(&path) {
                Ok(Some(meta)) if meta.kind == Kind::Dir => folders.push(path),
                Ok(Some(meta)) if meta.kind == Kind::File && is_library(&name) => {
                    if for_other_system(&path) {
                        continue;
                    }
                    let Ok(bytes) = archive.read(&path, MAX_NATIVE_BYTES) else {
                        continue;
                    };
                    match ElfInfo::parse(&bytes) {
                        Ok(elf) if elf.matches(arch) && elf.is_linux() => out.push((path, elf)),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn is_library(name: &str) -> bool {
    name.ends_with(".so") || name.contains(".so.")
}

/// A path that names another C library or system than glibc Linux: musl, Android, Alpine.
fn for_other_system(path: &RootPath) -> bool {
    let lower = path.as_str().to_ascii_lowercase();
    ["musl", "android", "alpine"]
        .iter()
        .any(|other| lower.contains(other))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_for_musl_and_android_are_not_loaded() {
        let p = RootPath::new;
        assert!(for_other_system(&p(
            "/org/sqlite/native/Linux-Musl/x86_64/libsqlitejdbc.so"
        )));
        assert!(for_other_system(&p(
            "/org/sqlite/native/Linux-Android/aarch64/libsqlitejdbc.so"
        )));
        assert!(for_other_system(&p(
            "/META-INF/native/libnetty_transport_native_epoll_x86_64_musl.so"
        )));
        assert!(!for_other_system(&p(
            "/org/sqlite/native/Linux/x86_64/libsqlitejdbc.so"
        )));
        assert!(is_library("libnetty_tcnative_linux_x86_64.so"));
        assert!(!is_library("NativeDB.class"));
    }
}

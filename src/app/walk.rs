//! Finding what the application loads: every ELF object under `/var/task`, and every managed
//! assembly the [`ManagedReader`] recognises, with its P/Invoke imports.

use std::sync::Arc;

use super::managed::{self, ManagedAssembly, ManagedReader};
use super::mount::TASK;
use crate::arch::Architecture;
use crate::elf::ElfInfo;
use crate::resolve::{ElfCache, LoadError};
use crate::rootfs::{Kind, RootFs, RootPath};

/// Files looked at in one application before the walk stops (and says so).
pub const MAX_FILES: usize = 1_000_000;

/// Bytes of regular files walked before the walk stops: Lambda's limit for a function and its
/// layers unzipped. A larger folder is not a deployable application (`app "/"` names the host),
/// and stopping there keeps a mistyped path from walking a whole disk.
pub const MAX_APP_BYTES: u64 = crate::validate::MAX_UNZIPPED_BYTES;

/// The largest assembly handed to the managed reader.
const MAX_ASSEMBLY_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone)]
pub struct AppObject {
    /// Where the function sees it (`/var/task/pkg/mod.so`).
    pub path: RootPath,
    pub elf: Arc<ElfInfo>,
}

#[derive(Debug, Clone)]
pub struct Assembly {
    pub path: RootPath,
    pub managed: ManagedAssembly,
}

/// What the walk found, each list in path order.
#[derive(Debug, Default)]
pub struct AppFiles {
    pub objects: Vec<AppObject>,
    pub assemblies: Vec<Assembly>,
    /// ELF objects for another architecture, described (never loaded, never failures).
    pub other_arch: Vec<(RootPath, String)>,
    /// Files that look like ELF but cannot be parsed or read, with why.
    pub broken: Vec<(RootPath, String)>,
    /// .NET assemblies whose metadata cannot be read, with why: their imports are unknown.
    pub broken_assemblies: Vec<(RootPath, String)>,
    /// Files the interpreter checks read (`abi::is_metadata`): wheels' WHEEL and RECORD, jars.
    pub metadata: Vec<RootPath>,
    /// The walk stopped at [`MAX_FILES`] or [`MAX_APP_BYTES`].
    pub truncated: bool,
    /// Bytes of the regular files walked.
    pub bytes: u64,
}

/// Walks `/var/task` of `fs` without following symlinks to folders (a link loop cannot trap it;
/// the loader reaches linked files by name when something needs them).
pub fn walk(
    fs: &dyn RootFs,
    arch: Architecture,
    cache: &ElfCache,
    reader: ManagedReader,
) -> std::io::Result<AppFiles> {
    let mut out = AppFiles::default();
    let mut stack = vec![RootPath::new(TASK)];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        let mut folders = Vec::new();
        // Files in name order (a walk stopped at a limit stops at the same file every time).
        for name in fs.read_dir(&dir)? {
            seen += 1;
            if seen > MAX_FILES {
                out.truncated = true;
                return Ok(finish(out));
            }
            let path = dir.join(&name);
            let Some(meta) = fs.lstat(&path)? else {
                continue;
            };
            match meta.kind {
                Kind::Dir if applies(&path, arch) => folders.push(path),
                Kind::File => {
                    out.bytes += meta.len;
                    if out.bytes > MAX_APP_BYTES {
                        out.truncated = true;
                        return Ok(finish(out));
                    }
                    visit(fs, arch, cache, reader, path, &mut out);
                }
                _ => {}
            }
        }
        // Reversed onto the stack, so folders are walked in name order too.
        stack.extend(folders.into_iter().rev());
    }
    Ok(finish(out))
}

fn finish(mut out: AppFiles) -> AppFiles {
    out.objects.sort_by(|a, b| a.path.cmp(&b.path));
    out.assemblies.sort_by(|a, b| a.path.cmp(&b.path));
    out.other_arch.sort();
    out.broken.sort();
    out.broken_assemblies.sort();
    out.metadata.sort();
    out
}

fn visit(
    fs: &dyn RootFs,
    arch: Architecture,
    cache: &ElfCache,
    reader: ManagedReader,
    path: RootPath,
    out: &mut AppFiles,
) {
    if super::abi::is_metadata(&path) {
        out.metadata.push(path);
        return;
    }
    let Ok(prefix) = fs.read_prefix(&path, 4) else {
        out.broken.push((path, "cannot be read".into()));
        return;
    };
    if prefix.starts_with(b"\x7fELF") {
        match cache.get(fs, &path) {
            Ok(elf) if elf.matches(arch) => out.objects.push(AppObject { path, elf }),
            Ok(elf) => out.other_arch.push((path, elf.describe_target())),
            Err(LoadError::Io(e)) => out.broken.push((path, format!("cannot be read ({e})"))),
            Err(LoadError::Elf(e)) => out.broken.push((path, e.to_string())),
        }
    } else if managed::is_candidate(path.file_name(), &prefix)
        && let Ok(bytes) = fs.read(&path, MAX_ASSEMBLY_BYTES)
    {
        match reader(&bytes) {
            Ok(Some(managed)) => out.assemblies.push(Assembly { path, managed }),
            Ok(None) => {}
            Err(why) => out.broken_assemblies.push((path, why)),
        }
    }
}

/// .NET's `runtimes/<rid>/` folders: only the RIDs a Linux process of `arch` probes are loaded
/// (`linux-x64`, `linux`, `unix`, `any`); `win-x64`, `osx`, `linux-musl-x64` and `linux-arm64` on
/// x86_64 never are, so their objects are not the function's.
fn applies(dir: &RootPath, arch: Architecture) -> bool {
    let parts: Vec<&str> = dir.components().collect();
    let Some(rid) = parts
        .windows(2)
        .rev()
        .find(|w| w[0] == "runtimes")
        .map(|w| w[1])
    else {
        return true;
    };
    let own = match arch {
        Architecture::X86_64 => "linux-x64",
        Architecture::Arm64 => "linux-arm64",
    };
    // A folder that merely happens to be called `runtimes` holds no RIDs: only names of .NET's
    // RID families are judged.
    let is_rid = [
        "win",
        "osx",
        "linux",
        "unix",
        "freebsd",
        "android",
        "ios",
        "maccatalyst",
        "browser",
        "tvos",
        "alpine",
        "any",
        "base",
    ]
    .iter()
    .any(|family| rid.starts_with(family));
    !is_rid || [own, "linux", "unix", "any", "base"].contains(&rid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_linux_rids_of_the_architecture_apply() {
        let x = Architecture::X86_64;
        let p = |s: &str| RootPath::new(s);
        assert!(applies(&p("/var/task/runtimes/linux-x64/native"), x));
        assert!(applies(&p("/var/task/runtimes/unix/lib/net8.0"), x));
        assert!(!applies(&p("/var/task/runtimes/win-x64/native"), x));
        assert!(!applies(&p("/var/task/runtimes/linux-musl-x64/native"), x));
        assert!(!applies(&p("/var/task/runtimes/linux-arm64"), x));
        assert!(applies(&p("/var/task/runtimes"), x));
        assert!(applies(&p("/var/task/lib"), Architecture::Arm64));
    }
}

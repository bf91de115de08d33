//! What the fuzz targets check, shared with the regression test that replays their inputs under
//! `cargo test` (`tests/it/fuzz_regressions.rs` includes this file).

use std::collections::BTreeMap;
use std::io;

use layerc::arch::Architecture;
use layerc::diagnostic::{SourceFile, SourceMap, render_human, to_json};
use layerc::elf::ElfInfo;
use layerc::rootfs::image::ImageRootFs;
use layerc::rootfs::{Kind, Metadata, RootFs, RootPath, resolve};
use layerc::runtime::Catalog;

/// The spec front end: any text gives a spec and diagnostics, never a panic; every diagnostic
/// span lies inside the text and renders.
pub fn spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (_spec, diagnostics) = layerc::spec::parse(text, Catalog::builtin());
    let source = SourceMap::new(
        SourceFile::new("layer.kdl", text),
        std::path::Path::new("."),
    );
    for d in &diagnostics {
        if let Some(span) = d.span {
            assert!(
                span.offset + span.length <= text.len(),
                "span {span:?} past the end of the text"
            );
        }
        let _ = to_json(d, &source);
        let _ = render_human(d, &source, false, 100);
    }
}

/// The ELF reader: any bytes give an `ElfInfo` or an `ElfError`, never a panic; the whole-file
/// reader (`ElfImage`) and the code patterns read through it never panic either.
pub fn elf(data: &[u8]) {
    let whole = ElfInfo::parse_file("libfuzz.so", data);
    // The reader of a few ranges gives the whole-file reader's answer, or leaves it to it.
    let read_at = |offset: u64, buf: &mut [u8]| -> io::Result<usize> {
        let from = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - from);
        buf[..n].copy_from_slice(&data[from..from + n]);
        Ok(n)
    };
    let ranged = layerc::elf::ranges::parse("libfuzz.so", data.len() as u64, &read_at);
    if let Ok(Some(ranged)) = ranged {
        assert_eq!(ranged, whole, "the ranged ELF reader differs");
    }
    let Ok(image) = layerc::elf::ElfImage::parse(data) else {
        return;
    };
    let mut defined: Vec<String> = image
        .symbols()
        .defined
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    defined.sort();
    for at in image
        .init_functions()
        .into_iter()
        .chain(defined.iter().filter_map(|s| image.symbol_address(s)))
        .take(64)
    {
        if let Some(code) = image.at(at, 32) {
            let _ = layerc::app::abi::code::returned_constant(image.machine(), code);
            let _ = layerc::app::abi::code::first_argument_address(image.machine(), code, at);
        }
    }
}

/// The rootfs path resolver over an in-memory tree built from the input (see [`MemFs`]): never a
/// panic or a hang, and a resolved path is normalised, inside the root and free of symlinks.
pub fn rootfs_resolve(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (fs, queries) = MemFs::from_script(text);
    for query in queries {
        let Ok(found) = resolve(&fs, &RootPath::new(&query)) else {
            continue;
        };
        let path = found.path.as_str();
        assert_eq!(
            RootPath::new(path).as_str(),
            path,
            "{path} is not normalised"
        );
        for (i, _) in path.match_indices('/').skip(1) {
            let parent = RootPath::new(&path[..i]);
            assert_eq!(fs.kind(&parent), Some(Kind::Dir), "{parent} in {path}");
        }
        assert_eq!(fs.kind(&found.path), Some(found.meta.kind), "{path}");
        assert_ne!(found.meta.kind, Kind::Symlink, "{path} is a symlink");
    }
}

/// The kernel's lookup inside a folder (`openat2(RESOLVE_IN_ROOT)`, `rootfs::locate`) and the walk
/// over the folder both give what the walk over the in-memory tree gives: the tree of the script
/// is made on disk (as far as a file system can hold it), and every query is resolved three ways.
pub fn rootfs_kernel(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (fs, queries) = MemFs::from_script(text);
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    if !fs.make_on_disk(dir.path()) {
        return;
    }
    let disk = layerc::rootfs::DirRootFs::open(dir.path()).expect("a temporary folder opens");
    let outcome = |r: Result<(String, Kind), layerc::rootfs::RootfsError>| match r {
        Ok(found) => format!("{found:?}"),
        Err(layerc::rootfs::RootfsError::NotFound(_)) => "not found".to_string(),
        Err(layerc::rootfs::RootfsError::Loop(_)) => "loop".to_string(),
        Err(e) => format!("error {e}"),
    };
    // Where the kernel has `openat2`, it answers every lookup itself but a loop and a name it
    // cannot be given (a NUL).
    let kernel_here = disk.locate(&RootPath::root()).is_some();
    for query in queries {
        let query = RootPath::new(&query);
        let memory = outcome(resolve(&fs, &query).map(|r| (r.path.to_string(), r.meta.kind)));
        if kernel_here && memory != "loop" && !query.as_str().contains('\0') {
            assert!(
                disk.locate(&query).is_some(),
                "the kernel left {query} to the walk"
            );
        }
        let walked = outcome(resolve(&disk, &query).map(|r| (r.path.to_string(), r.meta.kind)));
        let kernel = outcome(
            layerc::rootfs::locate(&disk, &query).map(|r| (r.path.to_string(), r.meta.kind)),
        );
        assert_eq!(walked, memory, "the walk on disk differs for {query}");
        assert_eq!(kernel, memory, "the kernel's lookup differs for {query}");
    }
}

/// An in-memory rootfs read from a small script, one line per entry or query:
/// `d PATH` a folder, `f PATH` a file, `l PATH TARGET` a symlink, `? PATH` a path to resolve.
/// Parents are created as folders; the root is always a folder.
#[derive(Debug, Default)]
pub struct MemFs {
    nodes: BTreeMap<RootPath, Node>,
}

#[derive(Debug, Clone)]
enum Node {
    Dir,
    File,
    Link(String),
}

impl MemFs {
    pub fn from_script(script: &str) -> (MemFs, Vec<String>) {
        let mut fs = MemFs::default();
        fs.nodes.insert(RootPath::root(), Node::Dir);
        let mut queries = Vec::new();
        for line in script.lines() {
            let mut words = line.splitn(3, ' ');
            let (kind, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            let node = match kind {
                "d" => Node::Dir,
                "f" => Node::File,
                "l" => Node::Link(words.next().unwrap_or("").to_string()),
                "?" => {
                    queries.push(path.to_string());
                    continue;
                }
                _ => continue,
            };
            fs.insert(RootPath::new(path), node);
        }
        (fs, queries)
    }

    fn insert(&mut self, path: RootPath, node: Node) {
        if path == RootPath::root() {
            return;
        }
        let parent = path.parent();
        if !self.nodes.contains_key(&parent) {
            self.insert(parent.clone(), Node::Dir);
        }
        // Below a file or a symlink nothing can exist.
        if matches!(self.nodes.get(&parent), Some(Node::Dir)) {
            self.nodes.entry(path).or_insert(node);
        }
    }

    /// Makes the tree under `root` on disk; false when the file system cannot hold it (a name
    /// or symlink target it refuses).
    pub fn make_on_disk(&self, root: &std::path::Path) -> bool {
        for (path, node) in &self.nodes {
            let host = root.join(path.as_str().trim_start_matches('/'));
            let made = match node {
                Node::Dir => std::fs::create_dir_all(&host),
                Node::File => std::fs::write(&host, b""),
                Node::Link(target) => std::os::unix::fs::symlink(target, &host),
            };
            if made.is_err() {
                return false;
            }
        }
        true
    }

    pub fn kind(&self, path: &RootPath) -> Option<Kind> {
        self.nodes.get(path).map(|n| match n {
            Node::Dir => Kind::Dir,
            Node::File => Kind::File,
            Node::Link(_) => Kind::Symlink,
        })
    }
}

impl RootFs for MemFs {
    fn lstat(&self, path: &RootPath) -> io::Result<Option<Metadata>> {
        Ok(self.kind(path).map(|kind| Metadata {
            kind,
            len: 0,
            mode: 0o755,
        }))
    }

    fn read_link(&self, path: &RootPath) -> io::Result<String> {
        match self.nodes.get(path) {
            Some(Node::Link(target)) => Ok(target.clone()),
            _ => Err(io::Error::from(io::ErrorKind::InvalidInput)),
        }
    }

    fn read(&self, _path: &RootPath, _limit: u64) -> io::Result<Vec<u8>> {
        Ok(Vec::new())
    }

    fn read_dir(&self, path: &RootPath) -> io::Result<Vec<String>> {
        let prefix = if path.as_str() == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        Ok(self
            .nodes
            .keys()
            .filter_map(|p| p.as_str().strip_prefix(&prefix))
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .map(str::to_string)
            .collect())
    }
}

/// The image reader (flat tar, compressed tar, `docker save`, OCI layout in a tar): any bytes give
/// an image or an error, never a panic or a hang; every entry of an opened image can be listed,
/// resolved and read without one either.
pub fn image(data: &[u8]) {
    let Ok(path) = scratch_file(data) else {
        return;
    };
    if let Ok(image) = ImageRootFs::open_uncached(&path, Architecture::X86_64) {
        let mut budget = 4096;
        walk(&image, &RootPath::root(), &mut budget);
    }
    let _ = std::fs::remove_file(&path);
}

/// Lists, resolves and reads everything below `dir`, at most `budget` entries in all.
fn walk(fs: &ImageRootFs, dir: &RootPath, budget: &mut usize) {
    let Ok(names) = fs.read_dir(dir) else {
        return;
    };
    for name in names {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let path = dir.join(&name);
        let _ = resolve(fs, &path);
        match fs.lstat(&path) {
            Ok(Some(meta)) if meta.kind == Kind::Dir => walk(fs, &path, budget),
            Ok(Some(meta)) if meta.kind == Kind::Symlink => drop(fs.read_link(&path)),
            Ok(Some(_)) => drop(fs.read(&path, 1 << 20)),
            _ => {}
        }
    }
}

/// The input as a file: images are opened by path. One name per process and input, so the
/// replaying test and a fuzzing process never share one.
fn scratch_file(data: &[u8]) -> io::Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "layerc-fuzz-image-{}-{}.tar",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, data)?;
    Ok(path)
}

/// The .NET metadata reader: any bytes give an assembly, "not an assembly" or an error, never a
/// panic; a file read as an assembly is recognised as one, and CoreCLR's name variations of every
/// import it names take each name whole.
pub fn dotnet(data: &[u8]) {
    if let Ok(Some(assembly)) = layerc::dotnet::read_assembly(data) {
        assert!(layerc::dotnet::is_assembly(data));
        for import in assembly.imports {
            let _ = layerc::dotnet::foreign(&import.module);
            for name in layerc::dotnet::coreclr::variations(&import.module) {
                assert!(name.contains(import.module.as_str()));
            }
        }
    }
}

/// Package payloads: any bytes as a `.deb` and as an `.rpm` unpack into a fresh folder or fail,
/// never a panic; whatever the entries' names and symlinks, nothing is written beside the folder.
pub fn package_payload(data: &[u8]) {
    use layerc::packages::apt::deb;
    use layerc::packages::rpm::file;
    use layerc::packages::unpack::Tree;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = dir.path().join("root");
    std::fs::create_dir(&root).expect("the root folder");
    let mut tree = Tree::new(&root);
    let _ = deb::unpack(data, &mut tree);
    let _ = tree.finish();
    let mut tree = Tree::new(&root);
    let _ = file::unpack(&mut &data[..], &mut tree);
    let _ = tree.finish();
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the temporary folder")
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "root")
        .collect();
    assert!(beside.is_empty(), "written outside the rootfs: {beside:?}");
}

/// Package indexes: any text as deb822 paragraphs with dependency fields, as repomd.xml and as
/// primary.xml gives data or an error, never a panic; and dpkg's and rpm's version comparisons are
/// antisymmetric on its words.
pub fn package_index(data: &[u8]) {
    use layerc::packages::apt::control::{paragraphs, relations};
    use layerc::packages::rpm::primary::{primary, repomd};
    use layerc::packages::version::{deb_cmp, rpmvercmp};
    let text = String::from_utf8_lossy(data);
    for p in paragraphs(&text) {
        for field in ["Pre-Depends", "Depends", "Provides"] {
            if let Some(value) = p.get(field) {
                let _ = relations(value);
            }
        }
    }
    let _ = repomd(&text);
    let _ = primary(data, |_| true);
    let words: Vec<&str> = text.split_whitespace().take(8).collect();
    for a in &words {
        for b in &words {
            assert_eq!(deb_cmp(a, b), deb_cmp(b, a).reverse(), "dpkg: {a} vs {b}");
            assert_eq!(
                rpmvercmp(a, b),
                rpmvercmp(b, a).reverse(),
                "rpm: {a} vs {b}"
            );
        }
    }
}

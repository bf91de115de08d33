//! `file` requests: extra non-ELF files or folders copied from the rootfs into the layer.

use std::collections::BTreeSet;

use super::diagnostics::{bad_name, rootfs_error};
use crate::diagnostic::{Code, Diagnostic, Span};
use crate::layer_path::LayerPath;
use crate::rootfs::{self, Kind, RootFs, RootPath, Special};
use crate::spec::LayerSpec;

/// How deep a `file` folder is walked before giving up (guards against pathological trees; cycles
/// are found through `Walker::ancestors`, not through this limit).
const MAX_DEPTH: usize = 256;

/// One file to copy, by its real path in the rootfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraFile {
    /// Path inside the layer.
    pub to: LayerPath,
    pub source: RootPath,
    pub size: u64,
    pub mode: u32,
    /// An executable or shared object (any execute bit, or ELF contents): stored 0755, else 0644.
    pub executable: bool,
    /// The file starts with the ELF magic: its needs are resolved like a library's.
    pub elf: bool,
    /// The `file` node that asked for it.
    pub span: Span,
}

pub fn resolve_files(layer: &LayerSpec, fs: &dyn RootFs) -> (Vec<ExtraFile>, Vec<Diagnostic>) {
    let mut walker = Walker {
        fs,
        span: Span::default(),
        ancestors: BTreeSet::new(),
        loops: BTreeSet::new(),
        out: Vec::new(),
        diags: Vec::new(),
    };
    for request in &layer.files {
        let span = request.from.span;
        match rootfs::resolve(fs, &RootPath::new(&request.from.value)) {
            Ok(r) => {
                walker.span = span;
                walker.walk(&r.path, r.meta, &request.to.value, 0);
            }
            Err(rootfs::RootfsError::NotFound(p)) => walker.diags.push(
                Diagnostic::error(
                    Code::ResolveFileNotFound,
                    format!("{p} is not in the rootfs"),
                )
                .at(span)
                .label("not found")
                .help("`file` paths are absolute paths inside the rootfs"),
            ),
            Err(e) => walker.diags.push(rootfs_error(&e, span)),
        }
    }
    (walker.out, walker.diags)
}

/// Walks one `file` request's folder tree.
struct Walker<'a> {
    fs: &'a dyn RootFs,
    /// The `file` node being walked.
    span: Span,
    /// Folders on the path from the requested one down to here: meeting one again is a cycle;
    /// the same folder reached through two different symlinks is not.
    ancestors: BTreeSet<RootPath>,
    /// Where each reported cycle closes (the real folder holding the entry that loops, and its
    /// name): a cycle reached through several symlinks is reported once.
    loops: BTreeSet<(RootPath, String)>,
    out: Vec<ExtraFile>,
    diags: Vec<Diagnostic>,
}

impl Walker<'_> {
    fn walk(&mut self, path: &RootPath, meta: rootfs::Metadata, to: &LayerPath, depth: usize) {
        match meta.kind {
            Kind::File => self.file(path, meta, to),
            Kind::Dir => {
                if depth > MAX_DEPTH {
                    self.too_deep(path);
                    return;
                }
                if !self.ancestors.insert(path.clone()) {
                    return;
                }
                self.folder(path, to, depth);
                self.ancestors.remove(path);
            }
            Kind::Special(special) => self.special(path, special),
            // `rootfs::resolve` follows every symlink.
            Kind::Symlink => {}
        }
    }

    /// A FIFO, socket or device: never read (it could block or never end), never copied.
    fn special(&mut self, path: &RootPath, special: Special) {
        self.diags.push(
            Diagnostic::error(
                Code::ResolveFileNotRegular,
                format!("{path} is {special}, not a regular file"),
            )
            .at(self.span)
            .label(special.to_string())
            .help("`file` copies regular files and folders of them; name the file itself, or leave it out"),
        );
    }

    fn file(&mut self, path: &RootPath, meta: rootfs::Metadata, to: &LayerPath) {
        let elf = self
            .fs
            .read_prefix(path, 4)
            .is_ok_and(|head| head == b"\x7fELF");
        self.out.push(ExtraFile {
            to: to.clone(),
            source: path.clone(),
            size: meta.len,
            mode: meta.mode,
            executable: meta.mode & 0o111 != 0 || elf,
            elf,
            span: self.span,
        })
    }

    fn folder(&mut self, path: &RootPath, to: &LayerPath, depth: usize) {
        let names = match self.fs.read_dir(path) {
            Ok(n) => n,
            Err(e) => {
                let e = rootfs::RootfsError::Io(path.clone(), e);
                self.diags.push(rootfs_error(&e, self.span));
                return;
            }
        };
        for name in names {
            let inside = match to.join(&name) {
                Ok(inside) => inside,
                Err(why) => {
                    self.diags
                        .push(bad_name(&path.join(&name), &name, &why, self.span));
                    continue;
                }
            };
            // Symlinks inside the folder are followed (inside the rootfs) and copied as files.
            match rootfs::resolve(self.fs, &path.join(&name)) {
                Ok(r) if r.meta.kind == Kind::Dir && self.ancestors.contains(&r.path) => {
                    self.cycle(path, &name, &r.path);
                }
                Ok(r) => self.walk(&r.path, r.meta, &inside, depth + 1),
                Err(rootfs::RootfsError::NotFound(_)) => {} // dangling symlink: nothing to copy
                Err(e) => self.diags.push(rootfs_error(&e, self.span)),
            }
        }
    }

    fn too_deep(&mut self, path: &RootPath) {
        self.diags.push(
            Diagnostic::error(
                Code::ResolveFileTooDeep,
                format!("{path} is more than {MAX_DEPTH} folders below the requested one"),
            )
            .at(self.span)
            .label("too deep")
            .help("copy a narrower folder"),
        );
    }

    /// `folder/name` leads back to `ancestor`, a folder being walked.
    fn cycle(&mut self, folder: &RootPath, name: &str, ancestor: &RootPath) {
        if !self.loops.insert((folder.clone(), name.to_string())) {
            return;
        }
        self.diags.push(
            Diagnostic::error(
                Code::RootfsSymlinkLoop,
                format!("{ancestor} loops back on itself"),
            )
            .at(self.span)
            .label("folder cycle")
            .help(format!(
                "{} leads back to {ancestor}; copy a narrower folder",
                folder.join(name)
            )),
        );
    }
}

//! `file` requests: extra non-ELF files or folders copied from the rootfs into the layer.

use std::collections::BTreeSet;

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::rootfs::{self, Kind, RootFs, RootPath};
use crate::spec::LayerSpec;

/// How deep a `file` folder is walked before giving up (guards against pathological trees).
const MAX_DEPTH: usize = 32;

/// One file to copy, by its real path in the rootfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraFile {
    /// Path inside the layer.
    pub to: String,
    pub source: RootPath,
    pub size: u64,
    pub mode: u32,
    /// An executable or shared object (any execute bit, or ELF contents): stored 0755, else 0644.
    pub executable: bool,
    /// The `file` node that asked for it.
    pub span: Span,
}

pub fn resolve_files(layer: &LayerSpec, fs: &dyn RootFs) -> (Vec<ExtraFile>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for request in &layer.files {
        let span = request.from.span;
        let resolved = match rootfs::resolve(fs, &RootPath::new(&request.from.value)) {
            Ok(r) => r,
            Err(rootfs::RootfsError::NotFound(p)) => {
                diags.push(
                    Diagnostic::error(
                        Code::ResolveFileNotFound,
                        format!("{p} is not in the rootfs"),
                    )
                    .at(span)
                    .label("not found")
                    .help("`file` paths are absolute paths inside the rootfs"),
                );
                continue;
            }
            Err(e) => {
                diags.push(super::rootfs_error(&e, span));
                continue;
            }
        };
        let mut ancestors = BTreeSet::new();
        walk(
            fs,
            &resolved.path,
            resolved.meta,
            &request.to.value,
            span,
            0,
            &mut ancestors,
            &mut out,
            &mut diags,
        );
    }
    (out, diags)
}

#[allow(clippy::too_many_arguments)]
fn walk(
    fs: &dyn RootFs,
    path: &RootPath,
    meta: rootfs::Metadata,
    to: &str,
    span: Span,
    depth: usize,
    // Folders on the path from the requested one down to here: meeting one again is a cycle;
    // the same folder reached through two different symlinks is not.
    ancestors: &mut BTreeSet<RootPath>,
    out: &mut Vec<ExtraFile>,
    diags: &mut Vec<Diagnostic>,
) {
    match meta.kind {
        Kind::File => {
            let elf = meta.mode & 0o111 == 0
                && fs.read_prefix(path, 4).is_ok_and(|head| head == b"\x7fELF");
            out.push(ExtraFile {
                to: to.to_string(),
                source: path.clone(),
                size: meta.len,
                mode: meta.mode,
                executable: meta.mode & 0o111 != 0 || elf,
                span,
            })
        }
        Kind::Dir => {
            if depth > MAX_DEPTH || !ancestors.insert(path.clone()) {
                diags.push(
                    Diagnostic::error(
                        Code::RootfsSymlinkLoop,
                        format!("{path} loops back on itself"),
                    )
                    .at(span)
                    .label("folder cycle")
                    .help("copy a narrower folder"),
                );
                return;
            }
            let names = match fs.read_dir(path) {
                Ok(n) => n,
                Err(e) => {
                    diags.push(super::rootfs_error(
                        &rootfs::RootfsError::Io(path.clone(), e),
                        span,
                    ));
                    return;
                }
            };
            for name in names {
                // Symlinks inside the folder are followed (inside the rootfs) and copied as files.
                match rootfs::resolve(fs, &path.join(&name)) {
                    Ok(r) => walk(
                        fs,
                        &r.path,
                        r.meta,
                        &format!("{to}/{name}"),
                        span,
                        depth + 1,
                        ancestors,
                        out,
                        diags,
                    ),
                    Err(rootfs::RootfsError::NotFound(_)) => {} // dangling symlink: nothing to copy
                    Err(e) => diags.push(super::rootfs_error(&e, span)),
                }
            }
            ancestors.remove(path);
        }
        Kind::Symlink | Kind::Other => {}
    }
}

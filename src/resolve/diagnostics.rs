//! Resolution's findings: requests not found (with close names), unresolved DT_NEEDED entries with
//! their chain, unreadable or non-ELF candidates, glibc requests, symlink escapes.

use petgraph::graph::NodeIndex;

use super::cache::LoadError;
use super::resolver::Resolver;
use super::search::{SkipReason, Skipped};
use crate::diagnostic::{Code, Diagnostic, Span};
use crate::elf::ElfError;
use crate::rootfs::{self, RootPath, RootfsError};
use crate::spec::LibraryRequest;

impl Resolver<'_, '_> {
    pub(super) fn escape_warnings(&mut self, escapes: &[rootfs::Escape], span: Span) {
        for e in escapes {
            self.diags.push(
                Diagnostic::warning(
                    Code::RootfsSymlinkEscape,
                    format!("symlink {} → {} points above the rootfs", e.link, e.target),
                )
                .at(span)
                .label("resolved through it")
                .help("it was resolved inside the rootfs (`..` stops at its root), as in a chroot"),
            );
        }
    }

    pub(super) fn provided_warning(&self, soname: &str, span: Span) -> Diagnostic {
        let target = self.inputs.target;
        let place = match target.own_copies(soname).first() {
            Some((_, own)) => format!("{}/{soname}", own.folder),
            None => target.os.name.clone(),
        };
        Diagnostic::warning(
            Code::ResolveProvided,
            format!(
                "{soname} is provided by {} ({place}); it is not shipped",
                target.runtime().id
            ),
        )
        .at(span)
        .label("already in the runtime")
        .help("add `override=#true` to ship this copy and shadow the runtime's")
    }

    pub(super) fn root_not_found(&mut self, request: &LibraryRequest, skipped: &[Skipped]) {
        let name = request.name.value.as_str();
        let span = request.name.span;
        for s in skipped {
            match &s.reason {
                SkipReason::Unloadable(e) => {
                    self.diags
                        .push(load_error(s.path.as_str(), &s.path, e, span));
                    return;
                }
                SkipReason::Loop => {
                    let e = RootfsError::Loop(s.path.clone());
                    self.diags.push(rootfs_error(&e, span));
                    return;
                }
                SkipReason::WrongTarget(_) => {}
            }
        }
        if let Some((wrong, target)) = skipped.iter().find_map(|s| match &s.reason {
            SkipReason::WrongTarget(t) => Some((s, t)),
            _ => None,
        }) {
            self.diags.push(
                Diagnostic::error(
                    Code::AbiArchitecture,
                    format!(
                        "{name} in the rootfs is {target} but the layer is {}",
                        self.arch
                    ),
                )
                .at(span)
                .label(format!("found {} for another architecture", wrong.path))
                .help(format!(
                    "use a rootfs built for {}, or set `architecture` to match",
                    self.arch
                )),
            );
            return;
        }
        if self.policy.runtime_has(name, request.override_runtime) {
            // The runtime has it and the rootfs does not: nothing to ship, nothing missing.
            self.diags.push(self.provided_warning(name, span));
            return;
        }
        let close = self.close_name(name);
        let mut help = close
            .as_ref()
            .map(|c| format!("did you mean `{c}`? It is in the rootfs"))
            .unwrap_or_else(|| format!("searched {}", self.searched_dirs()));
        if let Some(s) = skipped.first() {
            help = format!("{help}; {} was passed over: {}", s.path, s.reason);
        }
        let diag = if request.optional {
            Diagnostic::warning(
                Code::ResolveOptionalMissing,
                format!("optional library {name} is not in the rootfs; it is left out"),
            )
        } else {
            Diagnostic::error(
                Code::ResolveNotFound,
                format!("{name} is not in the rootfs `{}`", self.rootfs_name()),
            )
        };
        let diag = diag.at(span).label("not found").help(help).suggest(close);
        self.diags.push(diag);
    }

    /// A DT_NEEDED entry found nowhere: the chain that needs it, or why a candidate was refused.
    pub(super) fn needed_not_found(
        &self,
        idx: NodeIndex,
        needed: &str,
        skipped: &[Skipped],
        root_span: Span,
    ) -> Diagnostic {
        if let Some((path, e)) = skipped.iter().find_map(|s| match &s.reason {
            SkipReason::Unloadable(e @ LoadError::Io(_)) => Some((&s.path, e)),
            _ => None,
        }) {
            return load_error(path.as_str(), path, e, root_span);
        }
        let chain = self.chain_text(idx);
        let diag = Diagnostic::error(
            Code::ResolveNeededNotFound,
            format!("{needed} is needed but not in the rootfs: {chain} (not found)"),
        )
        .at(root_span)
        .label(format!("pulls in {needed}"));
        let diag = match skipped.first() {
            Some(s) => diag.help(format!("{} was passed over: {}", s.path, s.reason)),
            None => diag.help(format!(
                "install the package that provides {needed} in the rootfs, or `exclude \"{needed}\"` if the function never loads it"
            )),
        };
        self.with_chain(diag, idx)
    }

    /// The rootfs as the spec writes it (stable in messages, unlike the host path).
    fn rootfs_name(&self) -> &str {
        self.inputs
            .layer
            .rootfs
            .as_ref()
            .map_or("/", |r| r.value.as_str())
    }

    fn searched_dirs(&self) -> String {
        let dirs: Vec<&str> = self.inputs.system.all().map(RootPath::as_str).collect();
        dirs.join(", ")
    }
}

pub(super) fn glibc_request(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::ResolveGlibc,
        format!("{name} is part of glibc and is never shipped in a layer"),
    )
    .at(span)
    .label("glibc object")
    .help("every Lambda runtime has its own glibc; a second copy would break the process. Remove this line")
}

/// A name read from the rootfs (a soname, a file name in a copied folder) that cannot name a file
/// in the layer: it would climb out of the layer, be absolute, or hold a control character.
pub fn bad_name(
    source: &RootPath,
    name: &str,
    why: &crate::layer_path::BadPath,
    span: Span,
) -> Diagnostic {
    Diagnostic::error(
        Code::ResolveBadName,
        format!(
            "{source} would be stored as `{}`, which is not a file name inside the layer: {why}",
            name.escape_debug()
        ),
    )
    .at(span)
    .label("unusable name")
    .help("the name comes from the rootfs (a DT_SONAME or a file name); rebuild or rename the file, or leave it out")
}

pub(super) fn not_a_file(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(Code::ResolveNotElf, format!("{name} is not a file"))
        .at(span)
        .label("not a shared object")
        .help("name a shared object; use `file` for folders")
}

pub fn rootfs_error(e: &RootfsError, span: Span) -> Diagnostic {
    match e {
        RootfsError::NotFound(p) => {
            Diagnostic::error(Code::ResolveNotFound, format!("{p} is not in the rootfs"))
                .at(span)
                .label("not found")
                .help("paths are read inside the rootfs, as if it were `/`")
        }
        RootfsError::Loop(p) => Diagnostic::error(
            Code::RootfsSymlinkLoop,
            format!("symlink loop while resolving {p}"),
        )
        .at(span)
        .label("loops")
        .help("fix the symlinks in the rootfs"),
        RootfsError::Io(p, err) => Diagnostic::error(
            Code::RootfsIo,
            format!("cannot read {p} in the rootfs: {err}"),
        )
        .at(span)
        .label("unreadable")
        .help("check the permissions of the rootfs"),
    }
}

pub(super) fn load_error(name: &str, real: &RootPath, e: &LoadError, span: Span) -> Diagnostic {
    let shown = if name == real.as_str() {
        name.to_string()
    } else {
        format!("{name} ({real})")
    };
    match e {
        LoadError::Io(err) => Diagnostic::error(Code::RootfsIo, format!("cannot read {shown}: {err}"))
            .at(span)
            .label("unreadable")
            .help("check the permissions of the rootfs"),
        LoadError::Elf(ElfError::LinkerScript) => Diagnostic::error(
            Code::ResolveLinkerScript,
            format!("{shown} is a linker script, not a shared object"),
        )
        .at(span)
        .label("linker script")
        .help("the loader never reads it: name the real library's soname (e.g. `libc.so.6`, not `libc.so`)"),
        LoadError::Elf(ElfError::Malformed(why)) => Diagnostic::error(
            Code::ResolveMalformedElf,
            format!("{shown} is a malformed ELF file: {why}"),
        )
        .at(span)
        .label("malformed ELF")
        .help("the file may be truncated or corrupt; copy it again from its package"),
        LoadError::Elf(other) => Diagnostic::error(Code::ResolveNotElf, format!("{shown} is not a shared object: {other}"))
            .at(span)
            .label("not ELF")
            .help("`library` names shared objects; use `file` for other files"),
    }
}

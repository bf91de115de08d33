//! `import "other.kdl"`: a spec and every file it imports (depth first, each file once), lowered
//! into one [`Spec`] whose spans point into a [`SourceMap`] of all the files.
//!
//! Invariant: the result depends only on the files' texts and their paths; a file imported twice
//! (a shared spec two others import) is read once, and an import cycle is an error at the `import`
//! that closes it, never a hang.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use super::{Spanned, Spec, lower, parse_file, shift};
use crate::diagnostic::{Code, Diagnostic, SourceFile, SourceMap, Span};
use crate::runtime::Catalog;

/// Files on one chain of imports (the spec, a file it imports, a file that one imports...) past
/// which an `import` is an error: far more than a project has, and the walk is recursive.
pub const MAX_DEPTH: usize = 128;

/// A spec with its imports merged in, the files it was read from, and the findings.
pub struct Loaded {
    pub spec: Spec,
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

/// Host identity of a spec file: (device, inode).
type FileKey = (u64, u64);

/// One file on the path from the spec to the file being read.
struct Step {
    key: Option<FileKey>,
    name: String,
    /// The `import` that brought the file in (in the file before it on the path).
    imported_at: Option<Span>,
}

struct Loader {
    catalog: &'static Catalog,
    spec: Spec,
    sources: SourceMap,
    diagnostics: Vec<Diagnostic>,
    seen: HashSet<FileKey>,
    path: Vec<Step>,
}

/// Lowers the spec `root` (whose relative paths start at `dir`) and every file it imports. The
/// layers and functions of imported files follow the spec's own, in import order.
pub fn load(root: SourceFile, dir: &Path, catalog: &'static Catalog) -> Loaded {
    let (spec, diagnostics, empty_at) = parse_file(&root.text, catalog);
    let file_name = Path::new(&root.name).file_name().map(|n| dir.join(n));
    let key = file_name.and_then(|p| crate::rootfs::host::file_key(&p).ok());
    let mut loader = Loader {
        catalog,
        sources: SourceMap::new(root.clone(), dir),
        diagnostics,
        seen: key.into_iter().collect(),
        path: vec![Step {
            key,
            name: root.name.clone(),
            imported_at: None,
        }],
        spec,
    };
    let imports = loader.spec.imports.clone();
    loader.imports(&imports, dir);
    let checks = lower::check(&loader.spec, empty_at, &loader.diagnostics);
    loader.diagnostics.extend(checks);
    Loaded {
        spec: loader.spec,
        sources: loader.sources,
        diagnostics: loader.diagnostics,
    }
}

impl Loader {
    fn imports(&mut self, imports: &[Spanned<String>], dir: &Path) {
        for import in imports {
            let path = if dir == Path::new(".") {
                PathBuf::from(&import.value)
            } else {
                dir.join(&import.value)
            };
            match crate::rootfs::host::read_spec_text(&path) {
                Ok((text, key)) => self.file(import, &path, text, key),
                Err(e) => self.diagnostics.push(unreadable(import, &path, &e)),
            }
        }
    }

    /// Reads one imported file, unless it closes a cycle or was read already.
    fn file(&mut self, import: &Spanned<String>, path: &Path, text: String, key: FileKey) {
        let name = path.display().to_string();
        if let Some(at) = self.path.iter().position(|s| s.key == Some(key)) {
            let diag = self.cycle(import, at, &name);
            self.diagnostics.push(diag);
            return;
        }
        if !self.seen.insert(key) {
            return;
        }
        if self.path.len() >= MAX_DEPTH {
            self.diagnostics.push(too_deep(import, &name));
            return;
        }
        let source = SourceFile::new(name.clone(), text);
        let (mut spec, mut diags, _) = parse_file(&source.text, self.catalog);
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let base = self.sources.push(source, dir.clone(), import.span);
        shift::spec(&mut spec, base);
        diags.iter_mut().for_each(|d| shift::diagnostic(d, base));
        self.diagnostics.extend(diags);
        if let Some(template) = &spec.template {
            self.diagnostics.push(unused_template(template, &name));
        }
        self.spec.layers.append(&mut spec.layers);
        self.spec.functions.append(&mut spec.functions);
        self.spec.imports.extend(spec.imports.iter().cloned());
        self.spec.caches.append(&mut spec.caches);
        self.spec.trusted_keys.append(&mut spec.trusted_keys);
        self.path.push(Step {
            key: Some(key),
            name,
            imported_at: Some(import.span),
        });
        self.imports(&spec.imports, &dir);
        self.path.pop();
    }

    /// `import` names the file at `self.path[at]`, which leads (through its own imports) back to
    /// the file holding `import`.
    fn cycle(&self, import: &Spanned<String>, at: usize, target: &str) -> Diagnostic {
        let importer = &self.path.last().expect("the spec is on the path").name;
        let back = &self.path[at].name;
        let how = if self.path.len() == at + 2 {
            "which imports"
        } else {
            "which leads back to"
        };
        let mut diag = Diagnostic::error(
            Code::SpecImportCycle,
            format!("import cycle: {importer} imports {back}, {how} {importer}"),
        )
        .at(import.span)
        .label(format!("imports {target}"))
        .help("remove one of the imports: move what both files need into a third file they both import");
        if let Some(step) = self.path.get(at + 1)
            && let Some(span) = step.imported_at
        {
            diag = diag.related(span, format!("{back} imports {} here", step.name));
        }
        if self.path.len() > at + 2 {
            let chain: Vec<&str> = self.path[at..].iter().map(|s| s.name.as_str()).collect();
            diag = diag.note(format!("the cycle: {} → {back}", chain.join(" → ")));
        }
        diag
    }
}

/// An `import` past [`MAX_DEPTH`] files on its chain.
fn too_deep(import: &Spanned<String>, target: &str) -> Diagnostic {
    Diagnostic::error(
        Code::SpecImportDepth,
        format!("imports are chained more than {MAX_DEPTH} files deep; {target} is not read"),
    )
    .at(import.span)
    .label("one import too many")
    .help("import the files from a spec nearer the top, rather than each from the one before")
}

/// An imported spec's `template`: only the spec being built or checked merges into its template.
fn unused_template(template: &Spanned<String>, file: &str) -> Diagnostic {
    Diagnostic::warning(
        Code::SpecImportedTemplate,
        format!("the `template` of imported spec {file} is not used"),
    )
    .at(template.span)
    .label("ignored")
    .help("only the importing spec's `template` is merged into and checked: move `template` there")
}

/// A file an `import` names could not be read: missing (the spec is wrong, exit 1), or present
/// but unreadable (exit 2).
fn unreadable(import: &Spanned<String>, path: &Path, e: &io::Error) -> Diagnostic {
    let missing = matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    );
    let (code, message, label) = if missing {
        (
            Code::SpecImportNotFound,
            format!("imported spec {} does not exist", path.display()),
            "no such file",
        )
    } else {
        (
            Code::SpecImportUnreadable,
            format!("cannot read imported spec {}: {e}", path.display()),
            "unreadable",
        )
    };
    Diagnostic::error(code, message)
        .at(import.span)
        .label(label)
        .help("`import` names a spec file (KDL, UTF-8), relative to the folder of the file that imports it")
}

//! Every spec file of an analysis (the spec and what it imports) in one span space, as a compiler's
//! source map does: each file owns the byte range `base..base + len`, so a [`Span`] stays a plain
//! `Copy` pair of numbers and still says which file it points into.

use std::path::{Path, PathBuf};

use super::{SourceFile, Span};

/// The spec files of one analysis; the first is the spec itself, at base 0.
#[derive(Debug, Clone)]
pub struct SourceMap {
    files: Vec<MappedFile>,
}

#[derive(Debug, Clone)]
pub struct MappedFile {
    /// Where the file's byte 0 sits in the shared span space.
    pub base: usize,
    pub source: SourceFile,
    /// The folder its relative paths (`rootfs`, `import`, ...) are read from.
    pub dir: PathBuf,
    /// The `import` node that brought the file in (a span in the importing file); `None` for the spec.
    pub imported_at: Option<Span>,
}

/// A map of one file (diagnostics that are not about a spec, such as an application's, need no more).
impl From<SourceFile> for SourceMap {
    fn from(file: SourceFile) -> Self {
        SourceMap::new(file, Path::new("."))
    }
}

impl SourceMap {
    /// A map of one spec file, whose relative paths are read from `dir`.
    pub fn new(root: SourceFile, dir: &Path) -> Self {
        SourceMap {
            files: vec![MappedFile {
                base: 0,
                source: root,
                dir: dir.to_path_buf(),
                imported_at: None,
            }],
        }
    }

    /// Adds an imported file after the others (one byte apart, so that even an empty file owns a
    /// distinct offset) and returns its base: its spans are shifted by it.
    pub fn push(&mut self, source: SourceFile, dir: PathBuf, imported_at: Span) -> usize {
        let last = self.files.last().expect("the spec is always there");
        let base = last.base + last.source.text.len() + 1;
        self.files.push(MappedFile {
            base,
            source,
            dir,
            imported_at: Some(imported_at),
        });
        base
    }

    /// The spec itself.
    pub fn root(&self) -> &SourceFile {
        &self.files[0].source
    }

    pub fn files(&self) -> &[MappedFile] {
        &self.files
    }

    /// The file holding `span`.
    pub fn file_of(&self, span: Span) -> &MappedFile {
        let i = self.files.partition_point(|f| f.base <= span.offset);
        &self.files[i.saturating_sub(1)]
    }

    /// The file holding `span`, and the span within that file's text.
    pub fn locate(&self, span: Span) -> (&SourceFile, Span) {
        let file = self.file_of(span);
        (
            &file.source,
            Span::new(span.offset - file.base, span.length),
        )
    }

    /// True when `span` points into the spec itself (not into an imported file).
    pub fn in_root(&self, span: Span) -> bool {
        self.files.len() == 1 || span.offset < self.files[1].base
    }

    /// The folder that relative paths written at `span` are read from.
    pub fn dir_of(&self, span: Span) -> &Path {
        &self.file_of(span).dir
    }

    /// The span in the spec itself of the `import` that (directly or through other imports) brought
    /// in the file holding `span`; `span` itself when it is in the spec.
    pub fn root_import(&self, span: Span) -> Span {
        let mut at = span;
        while let Some(parent) = self.file_of(at).imported_at {
            at = parent;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_find_their_file() {
        let mut map = SourceMap::new(
            SourceFile::new("a.kdl", "import \"b.kdl\"\n"),
            Path::new("."),
        );
        let base = map.push(
            SourceFile::new("sub/b.kdl", "layer \"x\""),
            PathBuf::from("sub"),
            Span::new(7, 7),
        );
        assert_eq!(base, 16);
        let (file, local) = map.locate(Span::new(base + 6, 3));
        assert_eq!((file.name.as_str(), local), ("sub/b.kdl", Span::new(6, 3)));
        assert_eq!(map.locate(Span::new(7, 7)).0.name, "a.kdl");
        assert!(map.in_root(Span::new(15, 0)));
        assert!(!map.in_root(Span::new(base, 1)));
        assert_eq!(map.dir_of(Span::new(base, 1)), Path::new("sub"));
        assert_eq!(map.root_import(Span::new(base + 2, 1)), Span::new(7, 7));
    }
}

//! One diagnostic type for every stage, rendered by the CLI (miette or JSON) and, later, the LSP.
//!
//! Invariant: every diagnostic carries a stable [`Code`]; the message text may improve, the code never
//! changes meaning. Spans are byte ranges in the spec source.

mod map;
mod render;
mod source;

use std::fmt;

use miette::SourceSpan;
use serde::Serialize;

pub use map::{MappedFile, SourceMap};
pub use render::{JsonDiagnostic, JsonRelated, render_human, to_json};
pub use source::SourceFile;

/// A byte range in the spec source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Span {
    pub offset: usize,
    pub length: usize,
}

impl Span {
    pub fn new(offset: usize, length: usize) -> Self {
        Span { offset, length }
    }
}

impl From<SourceSpan> for Span {
    fn from(s: SourceSpan) -> Self {
        Span::new(s.offset(), s.len())
    }
}

impl From<Span> for SourceSpan {
    fn from(s: Span) -> Self {
        SourceSpan::new(s.offset.into(), s.length)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// What was not checked, and how to check it: never a failure.
    Info,
}

macro_rules! codes {
    ($($variant:ident => $text:literal,)*) => {
        /// Stable diagnostic codes. `docs/diagnostics.md` documents each one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }
        }
    };
}

codes! {
    SpecSyntax => "spec::syntax",
    SpecEmpty => "spec::empty",
    SpecUnknownNode => "spec::unknown-node",
    SpecUnknownProperty => "spec::unknown-property",
    SpecUnknownValue => "spec::unknown-value",
    SpecWrongType => "spec::wrong-type",
    SpecMissingValue => "spec::missing-value",
    SpecDuplicate => "spec::duplicate",
    SpecUnknownRuntime => "spec::unknown-runtime",
    SpecUnknownArchitecture => "spec::unknown-architecture",
    SpecUnsupportedArchitecture => "spec::unsupported-architecture",
    SpecMixedOs => "spec::mixed-os",
    SpecDuplicateLayer => "spec::duplicate-layer",
    SpecUnknownLayer => "spec::unknown-layer",
    SpecTooManyLayers => "spec::too-many-layers",
    SpecBadPath => "spec::bad-path",
    SpecBadName => "spec::bad-name",
    SpecRuntimeDescription => "spec::runtime-description",
    SpecPathConflict => "spec::path-conflict",
    SpecImportNotFound => "spec::import-not-found",
    SpecImportUnreadable => "spec::import-unreadable",
    SpecImportCycle => "spec::import-cycle",
    SpecImportDepth => "spec::import-depth",
    SpecImportedTemplate => "spec::imported-template",
    SpecBadReference => "spec::bad-reference",
    SpecStatedRuntime => "spec::stated-runtime",
    SpecCache => "spec::cache",
    SpecTrustedKey => "spec::trusted-key",
    SpecPackageSource => "spec::package-source",
    RootfsNotFound => "rootfs::not-found",
    RootfsSymlinkLoop => "rootfs::symlink-loop",
    RootfsSymlinkEscape => "rootfs::symlink-escape",
    RootfsIo => "rootfs::io",
    RootfsImage => "rootfs::image",
    RootfsPlatform => "rootfs::platform",
    RootfsRegistry => "rootfs::registry",
    RootfsOffline => "rootfs::offline",
    RootfsPackages => "rootfs::packages",
    RootfsPackageSignature => "rootfs::package-signature",
    RootfsPackageUnknown => "rootfs::package-unknown",
    RootfsPackageUnsatisfiable => "rootfs::package-unsatisfiable",
    ResolveNotFound => "resolve::not-found",
    ResolveOptionalMissing => "resolve::optional-missing",
    ResolveNeededNotFound => "resolve::needed-not-found",
    ResolveNotElf => "resolve::not-elf",
    ResolveLinkerScript => "resolve::linker-script",
    ResolveMalformedElf => "resolve::malformed-elf",
    ResolveProvided => "resolve::provided",
    ResolveGlibc => "resolve::glibc",
    ResolveFileNotFound => "resolve::file-not-found",
    ResolveFileTooDeep => "resolve::file-too-deep",
    ResolveBadName => "resolve::bad-name",
    ResolveFileNotRegular => "resolve::file-not-regular",
    ResolveDlopen => "resolve::dlopen",
    AbiArchitecture => "abi::architecture",
    AbiSymbolVersion => "abi::symbol-version",
    AbiMissingVersion => "abi::missing-version",
    AbiRpathShadow => "abi::rpath-shadow",
    AbiRuntimeShadow => "abi::runtime-shadow",
    AbiProgramInterpreter => "abi::program-interpreter",
    LifecycleDeprecated => "lifecycle::deprecated",
    LimitsUnzippedSize => "limits::unzipped-size",
    LimitsZipSize => "limits::zip-size",
    LimitsNotWorldReadable => "limits::not-world-readable",
    FunctionSamePath => "function::same-path",
    FunctionUnattachedLayer => "function::unattached-layer",
    FunctionUnzippedSize => "function::unzipped-size",
    FunctionExcludedNeeded => "function::excluded-needed",
    FunctionEnvPath => "function::env-path",
    LockMissing => "lock::missing",
    LockMalformed => "lock::malformed",
    LockRuntime => "lock::runtime",
    LockLayer => "lock::layer",
    LockHash => "lock::hash",
    LockSize => "lock::size",
    LockPath => "lock::path",
    LockNewFile => "lock::new-file",
    LockGoneFile => "lock::gone-file",
    LockAlias => "lock::alias",
    LockMode => "lock::mode",
    LockImage => "lock::image",
    LockPackages => "lock::packages",
    TemplateNotFound => "template::not-found",
    TemplateIo => "template::io",
    TemplateSyntax => "template::syntax",
    TemplateUnknownFunction => "template::unknown-function",
    TemplateNotAFunction => "template::not-a-function",
    TemplateImageFunction => "template::image-function",
    TemplateRuntimeMismatch => "template::runtime-mismatch",
    TemplateArchitectureMismatch => "template::architecture-mismatch",
    TemplateTooManyLayers => "template::too-many-layers",
    TemplateIdConflict => "template::id-conflict",
    TemplateUnmergeable => "template::unmergeable",
    TemplateStaleReference => "template::stale-reference",
    AppNotFound => "app::not-found",
    AppIo => "app::io",
    AppNeededNotFound => "app::needed-not-found",
    AppPinvokeNotFound => "app::pinvoke-not-found",
    AppIcuNotFound => "app::icu-not-found",
    AppOptionalLibrary => "app::optional-library",
    AppSymbolNotFound => "app::symbol-not-found",
    AppHostFile => "app::host-file",
    AppSymbolVersion => "app::symbol-version",
    AppMissingVersion => "app::missing-version",
    AppMalformedElf => "app::malformed-elf",
    AppMalformedAssembly => "app::malformed-assembly",
    AppTooLarge => "app::too-large",
    AppInterpreterAbi => "app::interpreter-abi",
    AppDlopen => "app::dlopen",
    AppNotChecked => "app::not-checked",
}

impl Code {
    /// I/O failures mean the tool could not run (exit 2) rather than that the spec is wrong (exit 1).
    pub fn is_tool_failure(self) -> bool {
        matches!(
            self,
            Code::RootfsIo
                | Code::RootfsImage
                | Code::RootfsRegistry
                | Code::RootfsPackages
                | Code::TemplateIo
                | Code::AppIo
                | Code::SpecImportUnreadable
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A finding about the spec, its inputs or its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// Where in the spec the finding points (the node that asked for the file, for resolution findings).
    pub span: Option<Span>,
    /// Short text shown at the span.
    pub label: Option<String>,
    pub help: Option<String>,
    /// Other places in the spec that explain the finding: "first defined here", the `library` that
    /// pulled a dependency in, each requested step of a dependency chain.
    pub related: Vec<Related>,
    /// Extra lines of explanation shown after the help.
    pub notes: Vec<String>,
    /// A replacement for the text at `span` that fixes the finding (the "did you mean" candidate,
    /// a value without quotes), for tools that offer one-click fixes.
    pub suggestion: Option<String>,
}

/// A secondary span of a diagnostic, with what it shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Related {
    pub message: String,
    pub span: Span,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: None,
            help: None,
            related: Vec::new(),
            notes: Vec::new(),
            suggestion: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn info(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Info,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary span, shown as another label (and as LSP related information).
    pub fn related(mut self, span: Span, message: impl Into<String>) -> Self {
        let related = Related {
            message: message.into(),
            span,
        };
        if !self.related.contains(&related) && self.span != Some(span) {
            self.related.push(related);
        }
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Records the replacement for the spanned text that fixes the finding, when there is one.
    pub fn suggest(mut self, replacement: Option<impl Into<String>>) -> Self {
        self.suggestion = replacement.map(Into::into);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A "did you mean" help line: the closest candidate within a small edit distance.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// The candidate closest to `name` by Jaro-Winkler similarity, if it is close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented() {
        let docs = include_str!("../../docs/diagnostics.md");
        for code in Code::ALL {
            let heading = format!("### `{}`", code.as_str());
            assert!(
                docs.contains(&heading),
                "docs/diagnostics.md lacks {heading}"
            );
        }
    }
}

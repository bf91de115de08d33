//! One diagnostic type for every stage, rendered by the CLI (miette or JSON) and, later, the LSP.
//!
//! Invariant: every diagnostic carries a stable [`Code`]; the message text may improve, the code never
//! changes meaning. Spans are byte ranges in the spec source.

mod map;
pub mod reference;
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
    ($($variant:ident => $text:literal, [$($severity:ident),+], $summary:literal,)*) => {
        /// Stable diagnostic codes. `docs/diagnostics.md` documents each one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            /// The severities the code is reported with, the usual one first.
            pub fn severities(self) -> &'static [Severity] {
                match self { $(Code::$variant => &[$(Severity::$severity),+],)* }
            }

            /// What the code means, in one line (the table in `docs/diagnostics.md`).
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    SpecSyntax => "spec::syntax", [Error], "The spec is not a valid KDL v2 document.",
    SpecEmpty => "spec::empty", [Error], "The spec has no `layer` node.",
    SpecUnknownNode => "spec::unknown-node", [Error], "A node name that is not allowed where it is written.",
    SpecUnknownProperty => "spec::unknown-property", [Error], "A property the node does not take.",
    SpecUnknownValue => "spec::unknown-value", [Error], "A value outside the allowed set (an `ld-library-path` mode, an `env` layerc sets itself).",
    SpecWrongType => "spec::wrong-type", [Error], "A value of the wrong type: a number for a string, a string for `#true`.",
    SpecMissingValue => "spec::missing-value", [Error], "Something required is absent: a value, a name, a layer's `rootfs` or `runtime`.",
    SpecDuplicate => "spec::duplicate", [Error], "A node that may appear once appears twice, or a runtime, `env` or function is given twice.",
    SpecUnknownRuntime => "spec::unknown-runtime", [Error], "A `runtime` id the catalog does not know.",
    SpecUnknownArchitecture => "spec::unknown-architecture", [Error], "An `architecture` other than `x86_64` or `arm64`.",
    SpecUnsupportedArchitecture => "spec::unsupported-architecture", [Error], "A runtime that does not run on the layer's architecture.",
    SpecMixedOs => "spec::mixed-os", [Error], "One layer names runtimes of different OS bases.",
    SpecDuplicateLayer => "spec::duplicate-layer", [Error], "Two layers have the same name or the same template logical id.",
    SpecUnknownLayer => "spec::unknown-layer", [Error], "A function's `layer` is neither a layer of the spec nor an ARN.",
    SpecTooManyLayers => "spec::too-many-layers", [Error], "A function has more than 5 layers.",
    SpecBadPath => "spec::bad-path", [Error], "A path inside the layer is absolute, climbs with `..`, or is empty.",
    SpecBadName => "spec::bad-name", [Error], "A layer name Lambda would refuse as a `LayerName`.",
    SpecRuntimeDescription => "spec::runtime-description", [Error], "A layer's `runtime-file` or `target-rootfs` cannot be used.",
    SpecPathConflict => "spec::path-conflict", [Error], "One entry of the layer would be a file where another needs a folder.",
    SpecImportNotFound => "spec::import-not-found", [Error], "An `import` names a file that does not exist.",
    SpecImportUnreadable => "spec::import-unreadable", [Error], "An `import` names a file that cannot be read.",
    SpecImportCycle => "spec::import-cycle", [Error], "A spec imports itself, directly or through other imports.",
    SpecImportDepth => "spec::import-depth", [Error], "A chain of imports is more than 128 files long.",
    SpecImportedTemplate => "spec::imported-template", [Warning], "An imported spec names a `template`, which is not used.",
    SpecBadReference => "spec::bad-reference", [Error], "A `docker://` value is not an image reference, or `tls-verify` is given for a path.",
    SpecStatedRuntime => "spec::stated-runtime", [Warning], "A runtime id newer than the catalog, used with the OS base the spec states.",
    SpecCache => "spec::cache", [Error], "A `cache` URL layerc cannot use.",
    SpecTrustedKey => "spec::trusted-key", [Error], "A `trusted-key` is not `NAME:BASE64` of an ed25519 public key.",
    SpecPackageSource => "spec::package-source", [Error], "A package source of a `rootfs { ... }` block cannot be used as written.",
    RootfsNotFound => "rootfs::not-found", [Error], "The `rootfs` folder or image does not exist.",
    RootfsSymlinkLoop => "rootfs::symlink-loop", [Error], "A path in the rootfs follows more than 40 symlinks, or a copied folder loops.",
    RootfsSymlinkEscape => "rootfs::symlink-escape", [Warning], "A symlink's target climbs above the rootfs root.",
    RootfsIo => "rootfs::io", [Error], "A file or folder of the rootfs exists but cannot be read.",
    RootfsImage => "rootfs::image", [Error], "The `rootfs` image cannot be read.",
    RootfsPlatform => "rootfs::platform", [Error], "The `rootfs` image has no manifest for the layer's architecture.",
    RootfsRegistry => "rootfs::registry", [Error], "An image named by reference could not be pulled.",
    RootfsOffline => "rootfs::offline", [Warning], "The registry could not be reached; the digest seen last (or locked) was used.",
    RootfsPackages => "rootfs::packages", [Error], "A package source could not be read, fetched or unpacked.",
    RootfsPackageSignature => "rootfs::package-signature", [Error], "A repository's index or file does not match its signature or signed sha256.",
    RootfsPackageUnknown => "rootfs::package-unknown", [Error], "A `package` that no source of the block has.",
    RootfsPackageUnsatisfiable => "rootfs::package-unsatisfiable", [Error], "A `package` cannot be installed from the block's sources.",
    ResolveNotFound => "resolve::not-found", [Error], "A `library` is in no search folder of the rootfs.",
    ResolveOptionalMissing => "resolve::optional-missing", [Warning], "An `optional=#true` library is in no search folder of the rootfs.",
    ResolveNeededNotFound => "resolve::needed-not-found", [Error], "A shipped object needs a library that neither the rootfs nor the runtime has.",
    ResolveNotElf => "resolve::not-elf", [Error], "The file found for a `library` is not an ELF file.",
    ResolveLinkerScript => "resolve::linker-script", [Error], "The file found is a GNU ld script, not a shared object.",
    ResolveMalformedElf => "resolve::malformed-elf", [Error, Warning], "An ELF file whose headers or tables cannot be read.",
    ResolveProvided => "resolve::provided", [Warning], "A `library` the runtime's OS base already provides: not shipped.",
    ResolveGlibc => "resolve::glibc", [Error], "A `library` that is one of glibc's own objects, which the base has.",
    ResolveFileNotFound => "resolve::file-not-found", [Error], "The source of a `file` node does not exist in the rootfs.",
    ResolveFileTooDeep => "resolve::file-too-deep", [Error], "A `file` folder nests more than 256 folders deep.",
    ResolveBadName => "resolve::bad-name", [Error], "A name from the rootfs that cannot name a file in the layer.",
    ResolveFileNotRegular => "resolve::file-not-regular", [Error], "A `file` names a FIFO, a socket or a device, or a folder holding one.",
    ResolveDlopen => "resolve::dlopen", [Info], "A shipped library loads more at run time by a convention no `DT_NEEDED` records.",
    AbiArchitecture => "abi::architecture", [Error], "An object built for another ELF class or machine than the layer's.",
    AbiSymbolVersion => "abi::symbol-version", [Error], "A shipped object needs a symbol version newer than the OS base provides.",
    AbiMissingVersion => "abi::missing-version", [Error], "A shipped object needs a symbol version another shipped object lacks.",
    AbiRpathShadow => "abi::rpath-shadow", [Warning], "A `DT_RPATH` with a system folder would load the system's copy, not the layer's.",
    AbiRuntimeShadow => "abi::runtime-shadow", [Warning], "A runtime's own folder comes before the layer's under the function's path mode.",
    AbiProgramInterpreter => "abi::program-interpreter", [Error], "A shipped executable names another program interpreter than glibc's loader.",
    LifecycleDeprecated => "lifecycle::deprecated", [Warning], "A runtime of the layer is past a deprecation or blocking date.",
    LimitsUnzippedSize => "limits::unzipped-size", [Error], "The layer's contents add up to more than 262,144,000 bytes.",
    LimitsZipSize => "limits::zip-size", [Warning], "A written zip is larger than 50 MB, the largest direct upload.",
    LimitsNotWorldReadable => "limits::not-world-readable", [Warning], "A library or file lacks the \"others may read\" permission bit.",
    FunctionSamePath => "function::same-path", [Warning], "Two layers of one function ship the same path.",
    FunctionUnattachedLayer => "function::unattached-layer", [Error], "A library one layer excludes is shipped by a layer the function lacks.",
    FunctionUnzippedSize => "function::unzipped-size", [Error], "A function's layers add up to more than 262,144,000 bytes.",
    FunctionExcludedNeeded => "function::excluded-needed", [Warning, Error], "A layer excludes a library that a shipped object needs and no layer ships (an error with `app`).",
    FunctionEnvPath => "function::env-path", [Warning], "A function's `env` names a path under `/opt` that none of its layers ships.",
    LockMissing => "lock::missing", [Error], "`--locked` without a `layer.lock` beside the spec.",
    LockMalformed => "lock::malformed", [Error], "`layer.lock` cannot be read or is not a lock layerc writes.",
    LockRuntime => "lock::runtime", [Error], "The catalog data or a runtime's entry differs from the lock.",
    LockLayer => "lock::layer", [Error], "A layer is in the spec but not in the lock, or the other way round.",
    LockHash => "lock::hash", [Error], "A shipped file's sha256 differs from the lock.",
    LockSize => "lock::size", [Error], "A shipped file's size differs from the lock.",
    LockPath => "lock::path", [Error], "A layer entry now comes from another file of the rootfs.",
    LockNewFile => "lock::new-file", [Error], "The layer ships a file the lock does not list.",
    LockGoneFile => "lock::gone-file", [Error], "The lock lists a file the layer no longer ships.",
    LockAlias => "lock::alias", [Error], "The symlinks of a shipped library differ from the lock.",
    LockMode => "lock::mode", [Error], "A shipped file's zip mode differs from the lock.",
    LockImage => "lock::image", [Error], "An image named by reference is not the one the lock records.",
    LockPackages => "lock::packages", [Error], "A layer's package rootfs is not the one the lock records.",
    TemplateNotFound => "template::not-found", [Error], "The template does not exist.",
    TemplateIo => "template::io", [Error], "The template cannot be read.",
    TemplateSyntax => "template::syntax", [Error], "The template is not valid JSON or YAML of one mapping.",
    TemplateUnknownFunction => "template::unknown-function", [Error], "A `function` names a logical id the template does not have.",
    TemplateNotAFunction => "template::not-a-function", [Error], "A `function` names a resource that is not a Lambda function.",
    TemplateImageFunction => "template::image-function", [Error], "The function is a container image, to which Lambda applies no layers.",
    TemplateRuntimeMismatch => "template::runtime-mismatch", [Error], "The function's `Runtime` is not among the layer's runtimes.",
    TemplateArchitectureMismatch => "template::architecture-mismatch", [Error], "The function's `Architectures` differ from the layer's.",
    TemplateTooManyLayers => "template::too-many-layers", [Error], "After the merge the function would have more than five layers.",
    TemplateIdConflict => "template::id-conflict", [Error], "The template has another resource under the layer's logical id.",
    TemplateUnmergeable => "template::unmergeable", [Error], "The merge cannot be done exactly (intrinsic functions where a value is needed).",
    TemplateStaleReference => "template::stale-reference", [Error], "A layer resource the merge would remove is still referred to.",
    AppNotFound => "app::not-found", [Error], "The application a function's `app` names does not exist.",
    AppIo => "app::io", [Error], "The application cannot be read.",
    AppNeededNotFound => "app::needed-not-found", [Error], "An object of the application needs a library no one provides.",
    AppPinvokeNotFound => "app::pinvoke-not-found", [Error], "A .NET P/Invoke names a native library CoreCLR finds under no name it tries.",
    AppIcuNotFound => "app::icu-not-found", [Error], "A .NET application that needs ICU finds none its runtime accepts.",
    AppOptionalLibrary => "app::optional-library", [Warning], "A library the .NET runtime loads only optionally does not load.",
    AppSymbolNotFound => "app::symbol-not-found", [Warning, Error], "A library a P/Invoke loads lacks a function that is needed.",
    AppHostFile => "app::host-file", [Warning], "A .NET `runtimeconfig.json` or `deps.json` is not valid.",
    AppSymbolVersion => "app::symbol-version", [Error], "An object needs a symbol version newer than the runtime's OS provides.",
    AppMissingVersion => "app::missing-version", [Error], "An object needs a symbol version that the copy provided lacks.",
    AppMalformedElf => "app::malformed-elf", [Warning], "A file starts like an ELF object but cannot be read.",
    AppMalformedAssembly => "app::malformed-assembly", [Warning], "A .NET assembly whose metadata cannot be read.",
    AppTooLarge => "app::too-large", [Error], "The application is over Lambda's size limit or has over a million files.",
    AppInterpreterAbi => "app::interpreter-abi", [Error, Warning], "A native extension built for another interpreter than the runtime's.",
    AppDlopen => "app::dlopen", [Info], "An object of the application loads more at run time by convention: not checked.",
    AppNotChecked => "app::not-checked", [Info], "Something the scan could not read, so it says nothing about it.",
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

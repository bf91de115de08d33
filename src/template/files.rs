//! The template module's only file access: reading the user's template during analysis, and
//! preparing the merged text for `build` (which stages it beside the original with the original's
//! permissions and renames it with the zips); plus the unified diff `--dry-run` prints.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// The user's template and what the merge makes of it.
#[derive(Debug, Clone)]
pub struct Merged {
    pub path: PathBuf,
    pub old: String,
    pub new: String,
    /// The template's permission bits, which the new file keeps.
    pub mode: u32,
}

/// A unified diff of `old` → `new`, with `path` in the headers; empty when they are equal.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// `to` relative to the folder `from`, both made absolute (and `..` resolved through the parts
/// that exist), with `/` separators: the zip's `ContentUri` as seen from the template.
pub fn relative_path(from: &Path, to: &Path) -> io::Result<String> {
    let from = absolute(from)?;
    let to = absolute(to)?;
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Ok(if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    })
}

/// The canonical form of the longest existing prefix, with the rest appended.
fn absolute(path: &Path) -> io::Result<PathBuf> {
    let path = std::path::absolute(path)?;
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut out = std::fs::canonicalize(existing)?;
    out.extend(rest.iter().rev());
    Ok(out)
}

/// The analysed template (`Analysis::template`) with `spec` merged in, its zips in `out_dir`;
/// `None` without a template. Computed before anything is written, so a failure leaves every
/// file as it was.
pub fn prepare(
    loaded: Option<&super::input::LoadedTemplate>,
    spec: &crate::spec::Spec,
    catalog: &crate::runtime::Catalog,
    out_dir: &Path,
) -> Option<Result<Merged, String>> {
    let loaded = loaded?;
    let dir = loaded
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let merge = || {
        let zip_dir = relative_path(dir, out_dir).map_err(|e| {
            format!(
                "cannot place {} relative to {}: {e}",
                out_dir.display(),
                loaded.name
            )
        })?;
        let patch = super::plan::patch(spec, catalog, &loaded.template, &zip_dir);
        let new = loaded
            .template
            .merge(&patch)
            .map_err(|e| format!("cannot merge into {}: {}", loaded.name, e.message))?;
        let read = |e: io::Error| format!("cannot read {}: {e}", loaded.name);
        let old = read_text(&loaded.path)
            .map_err(read)?
            .map_err(|_| format!("{} is no longer UTF-8 text", loaded.name))?;
        let mode = std::fs::metadata(&loaded.path)
            .map_err(read)?
            .permissions()
            .mode()
            & 0o7777;
        let bom = if loaded.template.bom { "\u{feff}" } else { "" };
        if old != format!("{bom}{}", loaded.template.text) {
            return Err(format!(
                "{} changed while layerc was reading it; run again",
                loaded.name
            ));
        }
        Ok(Merged {
            path: loaded.path.clone(),
            old,
            new,
            mode,
        })
    };
    Some(merge())
}

/// The largest template read: CloudFormation takes at most 1 MB from S3, and SAM's own templates
/// before their transform are of that order.
pub const MAX_TEMPLATE_BYTES: u64 = 16 << 20;

/// The template's text, or why it cannot be read (a regular file of at most
/// [`MAX_TEMPLATE_BYTES`]).
pub fn read_text(path: &Path) -> io::Result<Result<String, std::string::FromUtf8Error>> {
    crate::rootfs::host::read(path, MAX_TEMPLATE_BYTES).map(String::from_utf8)
}

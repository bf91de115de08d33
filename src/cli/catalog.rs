//! `--catalog FILE` / `LAYERC_CATALOG`: the built-in runtime catalog with a user's override file.

use std::path::PathBuf;

use layerc::runtime::Catalog;

use super::output::verbose;

/// The environment variable naming an override file when `--catalog` is not given.
pub(super) const ENV: &str = "LAYERC_CATALOG";

/// The built-in catalog, with the override file's entries when one is named. The catalog lives
/// for the whole run (analyses borrow it), so a merged one is leaked, once per process.
pub(super) fn load(flag: Option<PathBuf>) -> Result<&'static Catalog, String> {
    let path = flag.or_else(|| {
        std::env::var_os(ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let Some(path) = path else {
        return Ok(Catalog::builtin());
    };
    let shown = path.display().to_string();
    verbose(format_args!("read catalog overrides {shown}"));
    let text = layerc::rootfs::host::read_input_text(&path)
        .map_err(|e| format!("cannot read catalog file {shown}: {e}"))?;
    let catalog = Catalog::builtin().with_overrides(&text, &shown)?;
    Ok(Box::leak(Box::new(catalog)))
}

//! Remote caches on the command line: which caches a build reads and pushes to (the spec's
//! `cache` nodes, `--cache`, `LAYERC_CACHES`; `--no-cache`), the keys it trusts (`trusted-key`,
//! `LAYERC_TRUSTED_KEYS`) and signs with (`--signing-key`, `LAYERC_SIGNING_KEY`), and
//! `layerc cache keygen`.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use layerc::cache::keys::{SecretKey, TrustedKey};
use layerc::cache::location::CacheSpec;
use layerc::cache::{Caches, Settings};
use layerc::diagnostic::SourceMap;
use layerc::spec::Spec;

use super::output::say;
use super::{SUCCESS, TOOL_ERROR};

/// The cache flags of `build`.
#[derive(Debug, Clone, Default, clap::Args)]
pub(super) struct CacheArgs {
    /// A remote cache read (in order, after the spec's) before building: s3://BUCKET/PREFIX,
    /// https://HOST/PATH or file:///PATH; `?push=true` to upload to it.
    #[arg(long = "cache", value_name = "URL")]
    pub urls: Vec<String>,
    /// Ignore every remote cache (the spec's, --cache and LAYERC_CACHES).
    #[arg(long, conflicts_with = "urls")]
    pub no_cache: bool,
    /// Upload what is built to every cache, as `push=#true` does for one.
    #[arg(long, conflicts_with = "no_cache")]
    pub push: bool,
    /// The secret key (written by `layerc cache keygen`) that signs what is pushed; default
    /// $LAYERC_SIGNING_KEY.
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
}

/// The caches of this build, or `None` without any; a key or URL that cannot be used is
/// reported and gives exit 2. `spec` is the spec with its imports, `sources` where its spans are.
pub(super) fn open(
    spec: &Spec,
    sources: &SourceMap,
    args: &CacheArgs,
) -> Result<Option<Arc<Caches>>, i32> {
    if args.no_cache {
        return Ok(None);
    }
    let fail = |what: String| {
        say(format_args!("error: {what}"));
        TOOL_ERROR
    };
    let mut caches: Vec<CacheSpec> = Vec::new();
    for node in &spec.caches {
        let base = sources.dir_of(node.url.span);
        let mut cache = CacheSpec::parse(&node.url.value, base).map_err(&fail)?;
        cache.push |= node.push;
        cache.check_signatures &= node.check_signatures;
        caches.push(cache);
    }
    let env = std::env::var("LAYERC_CACHES").unwrap_or_default();
    let given = args.urls.iter().map(String::as_str);
    for url in given.chain(env.split_whitespace()) {
        let cache = CacheSpec::parse(url, Path::new("."))
            .map_err(|why| fail(format!("cache {url}: {why}")))?;
        caches.push(cache);
    }
    let mut seen = std::collections::HashSet::new();
    caches.retain(|c| seen.insert(c.name.clone()));
    if caches.is_empty() {
        return Ok(None);
    }
    if args.push {
        caches.iter_mut().for_each(|c| c.push = true);
    }
    let mut trusted = Vec::new();
    for key in &spec.trusted_keys {
        trusted.push(TrustedKey::parse(&key.value).map_err(&fail)?);
    }
    let env = std::env::var("LAYERC_TRUSTED_KEYS").unwrap_or_default();
    for key in env.split_whitespace() {
        trusted.push(
            TrustedKey::parse(key).map_err(|why| fail(format!("LAYERC_TRUSTED_KEYS: {why}")))?,
        );
    }
    let signing = signing_key(args.signing_key.as_deref()).map_err(fail)?;
    Ok(Some(Arc::new(Caches::new(Settings {
        caches,
        trusted,
        signing,
    }))))
}

/// `--signing-key FILE`, else `LAYERC_SIGNING_KEY`: a file's path, or the key's own text
/// (`NAME:BASE64`, as a CI secret holds it).
fn signing_key(flag: Option<&Path>) -> Result<Option<SecretKey>, String> {
    let (text, from) = match flag {
        Some(path) => (read_key(path)?, path.display().to_string()),
        None => match std::env::var("LAYERC_SIGNING_KEY")
            .ok()
            .filter(|v| !v.is_empty())
        {
            None => return Ok(None),
            Some(value) if SecretKey::parse(&value).is_ok() => (value, "LAYERC_SIGNING_KEY".into()),
            Some(value) => (read_key(Path::new(&value))?, value),
        },
    };
    SecretKey::parse(&text)
        .map(Some)
        .map_err(|why| format!("signing key {from}: {why}"))
}

fn read_key(path: &Path) -> Result<String, String> {
    // A key file is one line; anything larger is not one.
    layerc::rootfs::host::read_text(path, 64 << 10)
        .map_err(|e| format!("cannot read signing key {}: {e}", path.display()))
}

/// `layerc cache keygen NAME`: `NAME.secret` (mode 0600) and `NAME.public` in `dir`, never
/// replacing a file.
pub(super) fn keygen(name: &str, dir: &Path) -> i32 {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if name.is_empty()
        || name.contains(['/', ':'])
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        say(format_args!(
            "error: a key's name is one word without `/` or `:`, such as `layerc-ci-1`"
        ));
        return TOOL_ERROR;
    }
    let secret = match SecretKey::generate(name) {
        Ok(secret) => secret,
        Err(e) => {
            say(format_args!("error: {e}"));
            return TOOL_ERROR;
        }
    };
    let public = secret.public().render();
    let files = [
        (dir.join(format!("{name}.secret")), secret.render(), 0o600),
        (
            dir.join(format!("{name}.public")),
            format!("{public}\n"),
            0o644,
        ),
    ];
    if let Some((path, _, _)) = files.iter().find(|(path, _, _)| path.exists()) {
        say(format_args!(
            "error: {} exists; a key is never replaced (pick another name, such as `{name}-2`)",
            path.display()
        ));
        return TOOL_ERROR;
    }
    for (path, text, mode) in &files {
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(*mode)
            .open(path)
            .and_then(|mut file| {
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
            });
        if let Err(e) = written {
            say(format_args!("error: cannot write {}: {e}", path.display()));
            return TOOL_ERROR;
        }
        say(format_args!("wrote {}", path.display()));
    }
    say(format_args!(
        "sign pushes with `--signing-key {}` (or LAYERC_SIGNING_KEY); trust them with:\n    trusted-key \"{public}\"",
        files[0].0.display()
    ));
    SUCCESS
}

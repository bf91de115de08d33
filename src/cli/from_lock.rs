//! `build --locked` from layer.lock alone: when a layer's inputs are not at hand (its `rootfs`,
//! `target-rootfs` or `runtime-file` path does not exist, names an image by reference, which would
//! be pulled, or is a block of distribution packages, which would be fetched) and the local store or a remote cache holds every layer's zip under the key
//! the spec and the lock give, the zips and the template are written without opening any rootfs
//! (a deploy job may have none). Otherwise the layers that need their rootfs are named and the
//! build goes on as usual: with every input at hand, `--locked` reads them and checks them against
//! the lock (and still takes each zip from the store or a cache by its key).

use std::path::Path;

use layerc::diagnostic::SourceFile;
use layerc::emit::zip::ZipOptions;
use layerc::runtime::Date;
use layerc::{Analysis, Buildable, Origin, Session, Stores, TemplateChoice, emit};

use super::build::{self, Options};
use super::output::{report, say};
use super::{SUCCESS, TOOL_ERROR};

/// The exit code of a build served from the lock alone, or `None` when the build needs the
/// rootfs (the caller then analyses and builds as usual).
pub(super) fn run(
    session: &Session,
    (source, dir): (SourceFile, &Path),
    template: &TemplateChoice,
    options: &Options,
) -> Option<i32> {
    let analysis = session.analyze_spec(source, dir, Date::today(), template);
    if !inputs_missing(&analysis) || tag_moved(session, &analysis) {
        return None;
    }
    let buildable = Buildable::try_from(&analysis).ok()?;
    let locked = layerc::lock::on_disk(&analysis).ok()??;
    let caches = options.caches.as_deref();
    let store = super::store::open_quietly();
    if store.is_none() && caches.is_none() {
        return None;
    }
    let stores = Stores {
        local: store.as_ref(),
        remote: caches,
    };
    let zip = ZipOptions::new(
        emit::zip::timestamp(build::source_date_epoch()),
        options.compression,
    );
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| analysis.spec_dir.join("build"));
    let done = if options.dry_run {
        dry_run(session, &analysis, &locked, (&zip, stores), &out, options)
    } else {
        write(session, buildable, locked, (&zip, stores), &out, options)
    };
    build::say_cache_warnings(caches);
    done.map_err(|layers: Vec<(String, String)>| say_needs_rootfs(&layers))
        .ok()
}

/// Whether some layer's rootfs, target or runtime description is not at hand: a path that does
/// not exist, an image reference or distribution packages (fetched over the network otherwise).
fn inputs_missing(analysis: &Analysis) -> bool {
    use layerc::spec::TargetSource;
    analysis.spec.layers.iter().any(|layer| {
        let dir = analysis.sources.dir_of(layer.span);
        let described = layer.described_by.as_ref().map(|d| match &d.value {
            TargetSource::RuntimeFile(path) | TargetSource::Rootfs(path) => path,
        });
        let rootfs = layer.rootfs.as_ref().map(|r| &r.value);
        // Packages are fetched, like images: not at hand on a deploy job either.
        layer.packages.is_some()
            || rootfs
                .into_iter()
                .chain(described)
                .any(|value| layerc::registry::is_reference(value) || !dir.join(value).exists())
    })
}

/// Whether an image some layer names by tag now names another digest than layer.lock records:
/// the ordinary build then reports the drift (`lock::image`) rather than build the old bytes
/// in silence. Only the tag is asked; an unreachable registry says nothing.
fn tag_moved(session: &Session, analysis: &Analysis) -> bool {
    analysis.spec.layers.iter().any(|layer| {
        let described = layer.described_by.as_ref().map(|d| match &d.value {
            layerc::spec::TargetSource::RuntimeFile(v) | layerc::spec::TargetSource::Rootfs(v) => v,
        });
        layer
            .rootfs
            .as_ref()
            .map(|r| &r.value)
            .into_iter()
            .chain(described)
            .filter(|v| layerc::registry::is_reference(v))
            .any(|v| session.pulls.moved(v, layer.unverified_tls.contains(v)))
    })
}

/// A build from the lock: its exit code, or the layers that need their rootfs, each with why.
type FromLock = Result<i32, Vec<(String, String)>>;

/// Writes everything from the stores, or names the layers that need their rootfs.
fn write(
    session: &Session,
    analysis: Buildable<'_>,
    locked: layerc::lock::Lock,
    (zip, stores): (&ZipOptions, Stores<'_>),
    out: &Path,
    options: &Options,
) -> FromLock {
    let merged =
        match build::merged_template(session, &analysis, out, (options.format, options.color)) {
            Ok(merged) => merged,
            Err(code) => return Ok(code),
        };
    let lock_path = layerc::lock::path(&analysis);
    // Downloads go beside the outputs: a build that does not finish removes the folders it made.
    let created = build::missing_folders(out);
    let built = layerc::build_from_lock(
        analysis,
        out,
        zip,
        (&lock_path, locked),
        merged.as_ref(),
        stores,
    );
    if !matches!(built, Ok(Ok(_))) {
        emit::interrupt::remove_empty(&created);
    }
    match built {
        Ok(Ok(built)) => {
            report(&analysis, &built.warnings, options.format, options.color);
            if options.summary {
                for zip in &built.zips {
                    say(format_args!(
                        "layer `{}` ({}): {}",
                        zip.layer,
                        build::origin_text(zip),
                        zip.path.display()
                    ));
                }
                say(format_args!(
                    "built from layer.lock alone: no rootfs was opened"
                ));
            }
            build::say_written(&built, merged.as_ref());
            Ok(SUCCESS)
        }
        Ok(Err(needs)) => Err(needs.layers),
        Err(e) => {
            say(format_args!("error: nothing was written: {e}"));
            Ok(TOOL_ERROR)
        }
    }
}

fn say_needs_rootfs(layers: &[(String, String)]) {
    for (layer, why) in layers {
        say(format_args!(
            "note: layer `{layer}` cannot be built from layer.lock alone ({why}): it needs its rootfs"
        ));
    }
}

/// `--dry-run`: where each zip would come from, when every layer can be served from the lock.
fn dry_run(
    session: &Session,
    analysis: &Analysis,
    locked: &layerc::lock::Lock,
    (zip, stores): (&ZipOptions, Stores<'_>),
    out: &Path,
    options: &Options,
) -> FromLock {
    let planned = layerc::plan_from_lock(analysis, locked, zip, stores);
    let missing: Vec<(String, String)> = planned
        .iter()
        .filter_map(|(layer, origin)| Some((layer.clone(), origin.clone().err()?)))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    for (layer, origin) in &planned {
        let text = match origin {
            Ok(Origin::Cache(name)) => format!("fetched from remote cache {name}"),
            _ => "taken from the store".to_string(),
        };
        say(format_args!(
            "layer `{layer}` would be {text} (from layer.lock alone)"
        ));
    }
    let merged =
        match build::merged_template(session, analysis, out, (options.format, options.color)) {
            Ok(merged) => merged,
            Err(code) => return Ok(code),
        };
    Ok(super::dry_run::dry_run_diff(analysis, out, merged.as_ref()))
}

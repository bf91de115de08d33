//! The store on the command line: opening it for `build` (and the lock's digests), and `layerc gc`.

use layerc::cache_dir;
use layerc::gc;
use layerc::store::Store;

use super::TOOL_ERROR;
use super::output::{print_out, say};

/// The store, when there is a usable one. A store that cannot be used is a warning, not a failure:
/// the command goes on without it (a build then reads and compresses everything).
pub(super) fn open() -> Option<Store> {
    let Some(root) = cache_dir::root() else {
        say(format_args!(
            "warning: no store: set --store, LAYERC_STORE or HOME; going on without it"
        ));
        return None;
    };
    match Store::open(&root) {
        Ok(store) => Some(store),
        Err(e) => {
            say(format_args!(
                "warning: the store {} cannot be used ({e}); going on without it",
                root.display()
            ));
            None
        }
    }
}

/// The store when there is a usable one, without a word when there is none.
pub(super) fn open_quietly() -> Option<Store> {
    Store::open(&cache_dir::root()?).ok()
}

/// `layerc gc`.
pub(super) fn gc(keep: Option<usize>, max_size: Option<u64>) -> i32 {
    let Some(root) = cache_dir::root() else {
        say(format_args!(
            "error: no store: set --store, LAYERC_STORE or HOME"
        ));
        return TOOL_ERROR;
    };
    let report = Store::open(&root).and_then(|s| gc::run(&s, gc::Limits { keep, max_size }));
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            say(format_args!("error: gc of {}: {e}", root.display()));
            return TOOL_ERROR;
        }
    };
    let mut text = String::new();
    for entry in &report.removed {
        let age = entry.last_used.elapsed().unwrap_or_default().as_secs();
        text.push_str(&format!(
            "removed {}{} ({} bytes, last used {age} s ago)\n",
            kind_text(entry.kind),
            entry.key,
            entry.size
        ));
    }
    for entry in &report.busy {
        text.push_str(&format!(
            "kept {}{} ({} bytes): in use by a running process\n",
            kind_text(entry.kind),
            entry.key,
            entry.size
        ));
    }
    for (path, size) in &report.leftovers {
        text.push_str(&format!("removed {} ({size} bytes)\n", path.display()));
    }
    let kept: u64 = report.kept.iter().map(|e| e.size).sum();
    text.push_str(&format!(
        "{} bytes freed: {} entries and {} leftover files removed; {} entries kept ({kept} bytes) in {}\n",
        report.freed(),
        report.removed.len(),
        report.leftovers.len(),
        report.kept.len(),
        root.display()
    ));
    print_out(&text)
}

/// What an entry is, as `gc` names it before its key.
fn kind_text(kind: gc::Kind) -> &'static str {
    match kind {
        gc::Kind::Zip => "",
        gc::Kind::Image => "image index ",
        gc::Kind::Pulled => "pulled image ",
        gc::Kind::Packages => "package rootfs ",
        gc::Kind::PackageIndex => "package index ",
    }
}

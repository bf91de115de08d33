//! Interrupted builds leave no temporary files: outputs being written register their temporary
//! file here, and on SIGINT or SIGTERM the handler removes them and exits 128 + the signal's number
//! (130, 143), as a shell reports a process killed by it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use signal_hook::consts::{SIGINT, SIGTERM};

static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Folders a run created for its outputs: removed after the files, when they are empty.
static CREATED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Starts the thread that waits for SIGINT and SIGTERM. Call once, before writing outputs.
pub fn install() -> std::io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            // The lock is held to the exit: no output is registered or renamed meanwhile.
            let files = lock();
            for file in files.iter() {
                let _ = std::fs::remove_file(file);
            }
            remove_empty(&crate::lock(&CREATED));
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

/// Registers folders a run created (deepest first): an interrupt removes those left empty.
pub fn created(dirs: &[PathBuf]) {
    crate::lock(&CREATED).extend(dirs.iter().cloned());
}

/// Removes the folders a run created (deepest first) that are still empty: after a failure.
pub fn remove_empty(dirs: &[PathBuf]) {
    for dir in dirs {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Registers a temporary file until the guard is dropped (after its rename or its removal).
pub fn track(path: &Path) -> Tracked {
    lock().push(path.to_path_buf());
    Tracked(path.to_path_buf())
}

pub struct Tracked(PathBuf);

impl Drop for Tracked {
    fn drop(&mut self) {
        lock().retain(|p| p != &self.0);
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    crate::lock(&IN_FLIGHT)
}

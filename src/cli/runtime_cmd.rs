//! `layerc runtime scan` and `layerc runtime diff`.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use layerc::arch::Architecture;
use layerc::emit::{EmitError, write_atomic};
use layerc::runtime::compare::{Described, diff};
use layerc::runtime::scan::{ScanOptions, scan, to_kdl};
use layerc::runtime::{Catalog, OsBase, Runtime, description};

use super::output::{print_out, say};
use super::{SUCCESS, TOOL_ERROR};

#[derive(Subcommand, Debug)]
pub enum RuntimeCommand {
    /// Describe the runtime of a real root filesystem, in the catalog's KDL format.
    Scan {
        /// The root filesystem (a folder).
        rootfs: PathBuf,
        /// The runtime id written.
        #[arg(long)]
        name: String,
        /// The OS base id written (default: NAME-os).
        #[arg(long)]
        base_id: Option<String>,
        /// x86_64 or arm64.
        #[arg(long, default_value = "x86_64")]
        architecture: String,
        /// The runtime's default LD_LIBRARY_PATH, `:`-separated (default: the catalog's usual one).
        #[arg(long)]
        ld_library_path: Option<String>,
        /// Write here instead of stdout (whole or not at all).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare what two runtimes provide: catalog ids or description files.
    Diff { a: String, b: String },
}

pub fn run(command: RuntimeCommand, catalog: &Catalog) -> i32 {
    match command {
        RuntimeCommand::Scan {
            rootfs,
            name,
            base_id,
            architecture,
            ld_library_path,
            out,
        } => {
            let Ok(arch) = architecture.parse::<Architecture>() else {
                say(format_args!(
                    "error: unknown architecture `{architecture}` (x86_64 or arm64)"
                ));
                return TOOL_ERROR;
            };
            let opts = ScanOptions {
                name,
                base_id,
                arch,
                ld_library_path: ld_library_path.map(|p| p.split(':').map(String::from).collect()),
                origin: rootfs.display().to_string(),
            };
            scan_command(&rootfs, &opts, out.as_deref())
        }
        RuntimeCommand::Diff { a, b } => match (load(catalog, &a), load(catalog, &b)) {
            (Ok(a), Ok(b)) => print_out(&diff(&described(&a), &described(&b))),
            (Err(e), _) | (_, Err(e)) => {
                say(format_args!("error: {e}"));
                TOOL_ERROR
            }
        },
    }
}

fn scan_command(rootfs: &Path, opts: &ScanOptions, out: Option<&Path>) -> i32 {
    let fs = match layerc::rootfs::RootfsId::identify(rootfs, opts.arch).and_then(|id| id.open()) {
        Ok(fs) => fs,
        Err(e) => {
            say(format_args!("error: {e}"));
            return TOOL_ERROR;
        }
    };
    let text = match scan(fs.as_ref(), opts) {
        Ok((os, rt)) => to_kdl(&os, &rt),
        Err(e) => {
            say(format_args!("error: {}: {e}", rootfs.display()));
            return TOOL_ERROR;
        }
    };
    let Some(path) = out else {
        return print_out(&text);
    };
    let written = write_atomic(path, |file| {
        use std::io::Write;
        file.write_all(text.as_bytes())
            .map_err(EmitError::write(path))
    });
    if let Err(e) = written {
        say(format_args!("error: {e}"));
        return TOOL_ERROR;
    }
    say(format_args!("wrote {}", path.display()));
    SUCCESS
}

fn described(x: &(OsBase, Runtime)) -> Described<'_> {
    Described {
        os: &x.0,
        runtime: &x.1,
    }
}

/// A catalog id, or else a description file.
fn load(catalog: &Catalog, arg: &str) -> Result<(OsBase, Runtime), String> {
    if let Some(rt) = catalog.runtime(arg) {
        let os = catalog.os(&rt.os).ok_or(format!("{arg}: unknown os"))?;
        return Ok((os.clone(), rt.clone()));
    }
    let text = layerc::rootfs::host::read_input_text(Path::new(arg)).map_err(|e| {
        let hint = layerc::diagnostic::did_you_mean(arg, catalog.runtime_ids())
            .map_or(String::new(), |h| format!("; {h}"));
        format!("`{arg}` is neither a runtime id nor a readable file ({e}){hint}")
    })?;
    description(&text).map_err(|e| format!("{arg}: {e}"))
}

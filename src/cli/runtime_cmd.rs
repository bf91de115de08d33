//! `layerc runtime scan` and `layerc runtime diff`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Subcommand;

use layerc::Session;
use layerc::arch::Architecture;
use layerc::described::scan::{ScanOptions, scan, to_kdl};
use layerc::emit::{EmitError, write_atomic};
use layerc::rootfs::RootFs;
use layerc::runtime::compare::{Described, diff};
use layerc::runtime::{OsBase, Runtime, description};

use super::output::{print_out, say};
use super::{SUCCESS, TOOL_ERROR};

#[derive(Subcommand, Debug)]
pub(super) enum RuntimeCommand {
    /// Describe the runtime of a real root filesystem, in the catalog's KDL format.
    Scan {
        /// The root filesystem: a folder, an image file or layout, or `docker://REGISTRY/REPO:TAG`.
        rootfs: PathBuf,
        /// The runtime id written.
        #[arg(long, value_name = "ID")]
        name: String,
        /// The OS base id written (default: ID-os).
        #[arg(long, value_name = "OS")]
        base_id: Option<String>,
        /// x86_64 or arm64.
        #[arg(long, default_value = "x86_64", value_name = "ARCH")]
        architecture: String,
        /// The runtime's default LD_LIBRARY_PATH, `:`-separated (default: the catalog's usual one).
        #[arg(long, value_name = "PATH")]
        ld_library_path: Option<String>,
        /// Write here instead of stdout (whole or not at all).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// `--tls-verify=false`: pull the reference over plain HTTP or an unverified certificate.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        tls_verify: bool,
    },
    /// Compare what two runtimes provide: catalog ids, description files, or images
    /// (`docker://...` references, folders, image files) scanned on the spot.
    Diff {
        /// The first runtime: a catalog id, a description file (`runtime scan --out`), or an image.
        a: String,
        /// The second runtime: a catalog id, a description file, or an image.
        b: String,
        /// The architecture images are scanned for: x86_64 or arm64.
        #[arg(long, default_value = "x86_64", value_name = "ARCH")]
        architecture: String,
        /// `--tls-verify=false`: pull references over plain HTTP or an unverified certificate.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        tls_verify: bool,
    },
}

pub(super) fn run(command: RuntimeCommand, session: &Session) -> i32 {
    match command {
        RuntimeCommand::Scan {
            rootfs,
            name,
            base_id,
            architecture,
            ld_library_path,
            out,
            tls_verify,
        } => {
            let Some(arch) = architecture_of(&architecture) else {
                return TOOL_ERROR;
            };
            let opts = ScanOptions {
                name,
                base_id,
                arch,
                ld_library_path: ld_library_path.map(|p| p.split(':').map(String::from).collect()),
                origin: rootfs.display().to_string(),
            };
            let fs = match open(session, &rootfs.to_string_lossy(), arch, tls_verify) {
                Ok(fs) => fs,
                Err(e) => {
                    say(format_args!("error: {e}"));
                    return TOOL_ERROR;
                }
            };
            scan_command(fs.as_ref(), &rootfs, &opts, out.as_deref())
        }
        RuntimeCommand::Diff {
            a,
            b,
            architecture,
            tls_verify,
        } => {
            let Some(arch) = architecture_of(&architecture) else {
                return TOOL_ERROR;
            };
            let load = |arg: &str| load(session, arg, arch, tls_verify);
            diff_command(load(&a), load(&b))
        }
    }
}

fn architecture_of(name: &str) -> Option<Architecture> {
    let arch = name.parse::<Architecture>().ok();
    if arch.is_none() {
        say(format_args!(
            "error: unknown architecture `{name}` (x86_64 or arm64)"
        ));
    }
    arch
}

/// A rootfs by path or `docker://` reference (pulled into the image store).
fn open(
    session: &Session,
    rootfs: &str,
    arch: Architecture,
    tls_verify: bool,
) -> Result<Arc<dyn RootFs>, String> {
    session
        .open_named(Path::new(""), rootfs, !tls_verify, arch)
        .map(|open| open.fs)
        .map_err(|e| e.to_string())
}

fn diff_command(a: Result<(OsBase, Runtime), String>, b: Result<(OsBase, Runtime), String>) -> i32 {
    match (a, b) {
        (Ok(a), Ok(b)) => print_out(&diff(&described(&a), &described(&b))),
        (Err(e), _) | (_, Err(e)) => {
            say(format_args!("error: {e}"));
            TOOL_ERROR
        }
    }
}

fn scan_command(fs: &dyn RootFs, rootfs: &Path, opts: &ScanOptions, out: Option<&Path>) -> i32 {
    let text = match scan(fs, opts) {
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

/// A catalog id, an image reference, or else a description file or a rootfs (folder or image).
fn load(
    session: &Session,
    arg: &str,
    arch: Architecture,
    tls_verify: bool,
) -> Result<(OsBase, Runtime), String> {
    let catalog = session.catalog;
    if let Some(rt) = catalog.runtime(arg) {
        let os = catalog.os(&rt.os).ok_or(format!("{arg}: unknown os"))?;
        return Ok((os.clone(), rt.clone()));
    }
    if layerc::registry::is_reference(arg) || Path::new(arg).is_dir() {
        let fs = open(session, arg, arch, tls_verify)?;
        let opts = ScanOptions {
            name: arg.to_string(),
            base_id: None,
            arch,
            ld_library_path: None,
            origin: arg.to_string(),
        };
        return scan(fs.as_ref(), &opts).map_err(|e| format!("{arg}: {e}"));
    }
    let text = layerc::rootfs::host::read_input_text(Path::new(arg)).map_err(|e| {
        let hint = layerc::diagnostic::did_you_mean(arg, catalog.runtime_ids())
            .map_or(String::new(), |h| format!("; {h}"));
        format!("`{arg}` is neither a runtime id nor a readable file ({e}){hint}")
    })?;
    description(&text).map_err(|e| format!("{arg}: {e}"))
}

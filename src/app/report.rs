//! A scan's failures as diagnostics (`app::` codes), and as the JSON report of `layerc scan`.

use serde_json::{Value, json};

use super::loader::{Failure, shown};
use super::{AppScan, Environment};
use crate::diagnostic::{Code, Diagnostic};

/// `a → b → c (not found)`.
fn chain_text(chain: &[String], last: &str) -> String {
    format!("{} ({last})", chain.join(" → "))
}

/// The application's file that needs something, or the last library on the way.
fn needer(chain: &[String]) -> &str {
    chain
        .len()
        .checked_sub(2)
        .and_then(|i| chain.get(i))
        .map_or("", String::as_str)
}

/// One diagnostic per failure, then a warning per ELF file that could not be read. Spans are left
/// for the caller (the spec's `app` node, or none for `layerc scan`).
pub fn diagnostics(scan: &AppScan, env: &Environment<'_>) -> Vec<Diagnostic> {
    let mut diags: Vec<Diagnostic> = scan.failures.iter().map(|f| diagnostic(f, env)).collect();
    diags.extend(super::abi_report::diagnostics(scan, env));
    if scan.files.truncated {
        diags.push(
            Diagnostic::error(
                Code::AppTooLarge,
                format!(
                    "the application is larger than Lambda allows: more than {} bytes or {} files; the scan stopped there",
                    super::walk::MAX_APP_BYTES,
                    super::walk::MAX_FILES
                ),
            )
            .help("Lambda refuses a function whose code and layers unzip to more than 262,144,000 bytes: name the deployment package or its build folder, not a larger tree"),
        );
    }
    for (path, why) in &scan.files.broken {
        diags.push(
            Diagnostic::warning(
                Code::AppMalformedElf,
                format!("{} looks like an ELF object, but {why}", shown(path)),
            )
            .help("the loader cannot load it either; rebuild or re-download the file"),
        );
    }
    for (path, why) in &scan.files.broken_assemblies {
        diags.push(
            Diagnostic::warning(
                Code::AppMalformedAssembly,
                format!(
                    "{} is a .NET assembly whose metadata cannot be read ({why}): the native libraries it loads are unknown",
                    shown(path)
                ),
            )
            .help("the .NET runtime cannot load it either; rebuild or re-download the file"),
        );
    }
    diags
}

fn diagnostic(failure: &Failure, env: &Environment<'_>) -> Diagnostic {
    let runtime = env.describe();
    let fix_help = "add a layer that ships it (`layerc scan APP --rootfs ROOTFS` finds it in a root filesystem and proposes one), or bundle it with the application";
    match failure {
        Failure::NotFound {
            chain,
            names,
            skipped,
        } => {
            let name = names.join(", ");
            let mut d = Diagnostic::error(
                Code::AppNeededNotFound,
                format!(
                    "{} needs {name}, which neither the application, its layers nor {runtime} provides",
                    needer(chain)
                ),
            )
            .label(chain_text(chain, "not found"))
            .help(fix_help)
            .note(format!("chain: {}", chain_text(chain, "not found")));
            for (path, why) in skipped {
                d = d.note(format!("{path} was passed over: {why}"));
            }
            d
        }
        Failure::PInvokeNotFound { chain, names } => Diagnostic::error(
            Code::AppPinvokeNotFound,
            format!(
                "{} loads `{}` by P/Invoke, and none of {} is found for {runtime}",
                chain[0],
                chain[1],
                names.join(", ")
            ),
        )
        .label(chain_text(chain, "not found"))
        .help(fix_help)
        .note(format!("the .NET loader tries {}", names.join(", "))),
        Failure::TooNew {
            chain,
            file,
            version,
            ceiling,
        } => {
            let object = chain.last().map_or("", String::as_str);
            version_finding(
                Code::AppSymbolVersion,
                chain,
                format!("{object} needs {version} from {file}; {runtime} provides up to {ceiling}"),
                format!(
                    "use a build of {object} for the runtime's OS ({}: for a wheel, a manylinux tag no newer than its glibc), or a runtime on a newer OS base",
                    env.os.name
                ),
            )
        }
        Failure::Undefined {
            chain,
            file,
            version,
            provider,
        } => {
            let object = chain.last().map_or("", String::as_str);
            version_finding(
                Code::AppMissingVersion,
                chain,
                format!(
                    "{object} needs {version} from {file}, but the {provider} it loads does not define it"
                ),
                format!("ship a {file} from the same release as {object}"),
            )
        }
    }
}

/// A symbol-version finding about the last object of `chain`.
fn version_finding(code: Code, chain: &[String], message: String, help: String) -> Diagnostic {
    Diagnostic::error(code, message)
        .label(chain.join(" → "))
        .help(help)
        .note(format!("chain: {}", chain.join(" → ")))
}

/// The JSON report: what was scanned, what will not load, and the diagnostics.
pub fn to_json(scan: &AppScan, env: &Environment<'_>, diagnostics: Value) -> Value {
    let objects: Vec<Value> = scan
        .files
        .objects
        .iter()
        .map(|o| {
            json!({
                "path": shown(&o.path),
                "soname": o.elf.soname,
                "needed": o.elf.needed,
                "rpath": o.elf.rpath,
                "runpath": o.elf.runpath,
            })
        })
        .collect();
    let assemblies: Vec<Value> = scan
        .files
        .assemblies
        .iter()
        .map(|a| {
            let imports: Vec<Value> = a
                .imports
                .iter()
                .map(|i| match &i.probe {
                    super::Probe::Linux(names) => json!({"module": i.module, "candidates": names}),
                    super::Probe::Foreign => json!({"module": i.module, "foreign": true}),
                })
                .collect();
            json!({"path": shown(&a.path), "imports": imports})
        })
        .collect();
    let mut failures: Vec<Value> = scan.failures.iter().map(failure_json).collect();
    failures.extend(super::abi_report::failures_json(scan));
    let other: Vec<Value> = scan
        .files
        .other_arch
        .iter()
        .map(|(p, t)| json!({"path": shown(p), "target": t}))
        .collect();
    let foreign: Vec<Value> = scan
        .foreign
        .iter()
        .map(|(a, m)| json!({"assembly": a, "module": m}))
        .collect();
    json!({
        "runtime": env.runtime.id,
        "os": env.os.name,
        "architecture": env.arch.as_str(),
        "ld_library_path": env.ld_library_path,
        "layers": env.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        "loads": scan.loads(),
        "objects": objects,
        "assemblies": assemblies,
        "failures": failures,
        "foreign": foreign,
        "not_checked": super::abi_report::not_checked_json(scan),
        "other_architecture": other,
        "truncated": scan.files.truncated,
        "diagnostics": diagnostics,
    })
}

fn failure_json(f: &Failure) -> Value {
    match f {
        Failure::NotFound { chain, names, .. } => {
            json!({"kind": "needed-not-found", "chain": chain, "names": names})
        }
        Failure::PInvokeNotFound { chain, names } => {
            json!({"kind": "pinvoke-not-found", "chain": chain, "names": names})
        }
        Failure::TooNew {
            chain,
            file,
            version,
            ceiling,
        } => {
            json!({"kind": "symbol-version", "chain": chain, "file": file, "version": version, "ceiling": ceiling})
        }
        Failure::Undefined {
            chain,
            file,
            version,
            provider,
        } => {
            json!({"kind": "missing-version", "chain": chain, "file": file, "version": version, "provider": provider})
        }
    }
}

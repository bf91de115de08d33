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
    for failure in &scan.call_time {
        diags.push(symbol_finding(failure));
    }
    for (failure, why) in &scan.optional {
        diags.push(optional_note(failure, why, env));
    }
    for (file, why) in &scan.unreadable_host_files {
        diags.push(
            Diagnostic::warning(
                Code::AppHostFile,
                format!("{file} cannot be read ({why}): the scan goes on without what it says"),
            )
            .help("the .NET host reads it at start-up; rebuild it with `dotnet publish`"),
        );
    }
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
        .note(format!(
            "CoreCLR tries {} (each in the native asset folders of the app's deps.json and the shared framework, the assembly's folder, then dlopen with LD_LIBRARY_PATH); no other name, no versioned soname",
            names.join(", ")
        )),
        Failure::SymbolNotFound { .. } => symbol_finding(failure),
        Failure::IcuNotFound { chain, names } => icu_finding(chain, names, &runtime),
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

/// A symbol missing from the file that should define it: when it fails depends on lazy binding.
fn symbol_finding(failure: &Failure) -> Diagnostic {
    let Failure::SymbolNotFound {
        chain,
        symbol,
        version,
        provider,
        lazy,
    } = failure
    else {
        return Diagnostic::error(Code::AppSymbolNotFound, failure_kind(failure));
    };
    let object = chain.last().map_or("", String::as_str);
    let wanted = match version {
        Some(v) => format!("{symbol}@{v}"),
        None => format!("the entry point {symbol}"),
    };
    let (when, note) = if *lazy {
        (
            format!("the function fails when {symbol} is first called"),
            "CoreCLR loads P/Invoke libraries with lazy binding (RTLD_LAZY): a missing function is looked up only when called, so the library loads and the call fails (symbol lookup error, or EntryPointNotFoundException for a P/Invoke entry point)",
        )
    } else {
        (
            "the library fails to load (DllNotFoundException)".to_string(),
            "a data symbol is bound when the library is loaded, even with lazy binding",
        )
    };
    let label = chain.join(" → ");
    let message = format!("{object} needs {wanted}, which {provider} does not define: {when}");
    // A call-time failure happens only if the function is called: a warning.
    let diagnostic = if *lazy {
        Diagnostic::warning(Code::AppSymbolNotFound, message)
    } else {
        Diagnostic::error(Code::AppSymbolNotFound, message)
    };
    diagnostic
        .label(label.clone())
        .help(format!(
            "ship a {provider} from the same release as {object}, or one that has {symbol}"
        ))
        .note(note)
        .note(format!("chain: {label}"))
}

/// No ICU the runtime accepts: the runtime stops at start-up.
fn icu_finding(chain: &[String], names: &[String], runtime: &str) -> Diagnostic {
    let config = chain.first().map_or("the app", String::as_str);
    Diagnostic::error(
        Code::AppIcuNotFound,
        format!(
            "the .NET runtime loads ICU at start-up, and none of {} (with libicui18n of the same \
             version) is found for {runtime}: it stops with \"Couldn't find a valid ICU package\"",
            icu_range(names)
        ),
    )
    .label(chain_text(chain, "no ICU"))
    .help(
        "add ICU in a layer (the `specs/icu.kdl` recipe; `layerc scan APP --rootfs ROOTFS` finds \
         it in a root filesystem), or set System.Globalization.Invariant to true in the app's \
         runtimeconfig.json (<InvariantGlobalization> in the project) when it needs no culture data",
    )
    .note(format!(
        "{config} does not set System.Globalization.Invariant"
    ))
}

/// `libicuuc.so.70 … libicuuc.so.50`.
fn icu_range(names: &[String]) -> String {
    match (names.first(), names.last()) {
        (Some(a), Some(b)) if a != b => format!("{a} … {b}"),
        (Some(a), _) => a.clone(),
        _ => "libicuuc".to_string(),
    }
}

/// A failure in a library the .NET runtime loads only optionally: a warning saying so.
fn optional_note(failure: &Failure, why: &str, env: &Environment<'_>) -> Diagnostic {
    let chain = failure.chain();
    let label = chain.join(" → ");
    Diagnostic::warning(
        Code::AppOptionalLibrary,
        format!(
            "{} does not load for {} ({}), and the .NET runtime goes on without it: {why}",
            needer(chain),
            env.describe(),
            failure_kind(failure),
        ),
    )
    .label(label.clone())
    .help("nothing to do unless the function needs that feature; to have it, add what is missing in a layer")
    .note(format!("chain: {label}"))
}

/// What went wrong, in a few words.
fn failure_kind(failure: &Failure) -> String {
    match failure {
        Failure::NotFound { names, .. } => format!("{} is not found", names.join(", ")),
        Failure::PInvokeNotFound { .. } => "no file is found".to_string(),
        Failure::IcuNotFound { .. } => "no ICU is found".to_string(),
        Failure::TooNew { version, .. } | Failure::Undefined { version, .. } => {
            format!("{version} is missing")
        }
        Failure::SymbolNotFound { symbol, .. } => format!("{symbol} is missing"),
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
            let shown_path = shown(&a.path);
            let imports: Vec<Value> = a
                .managed
                .imports
                .iter()
                .map(|i| {
                    let tried = scan
                        .pinvoke_names
                        .get(&(shown_path.clone(), i.module.clone()));
                    match tried {
                        Some(names) => json!({"module": i.module, "candidates": names}),
                        None => json!({"module": i.module, "foreign": true}),
                    }
                })
                .collect();
            json!({"path": shown_path, "name": a.managed.name, "imports": imports})
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
        "call_time": scan.call_time.iter().map(failure_json).collect::<Vec<_>>(),
        "optional": scan.optional.iter().map(|(f, why)| json!({"failure": failure_json(f), "why": why})).collect::<Vec<_>>(),
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
        Failure::IcuNotFound { chain, names } => {
            json!({"kind": "icu-not-found", "chain": chain, "names": names})
        }
        Failure::SymbolNotFound {
            chain,
            symbol,
            version,
            provider,
            lazy,
        } => {
            json!({"kind": "symbol-not-found", "chain": chain, "symbol": symbol, "version": version, "provider": provider, "when": if *lazy { "first-call" } else { "load" }})
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

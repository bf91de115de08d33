//! The interpreter checks' findings (`abi`) and the layers' excluded needs as diagnostics and as
//! entries of the JSON report, beside `report.rs`'s loader failures.

use serde_json::{Value, json};

use super::abi::NotChecked;
use super::{AppScan, Environment};
use crate::diagnostic::{Code, Diagnostic, Severity};

/// The findings, then the excluded needs in `scan.excluded` order, then what was not checked.
pub(super) fn diagnostics(scan: &AppScan, env: &Environment<'_>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for f in &scan.abi.findings {
        let d = match f.severity {
            Severity::Error => Diagnostic::error(Code::AppInterpreterAbi, &f.message),
            _ => Diagnostic::warning(Code::AppInterpreterAbi, &f.message),
        };
        let d = f
            .notes
            .iter()
            .fold(d.label(&f.file).help(&f.help), |d, n| d.note(n));
        diags.push(d);
    }
    for e in &scan.excluded {
        diags.push(
            Diagnostic::error(
                Code::FunctionExcludedNeeded,
                format!(
                    "layer `{}` excludes {}, which {} needs, and neither the application, the function's layers nor {} provides it: {} fails to load",
                    e.layer,
                    e.name,
                    e.chain.rsplit(" → ").nth(1).unwrap_or(&e.chain),
                    env.describe(),
                    e.chain.rsplit(" → ").nth(1).unwrap_or(&e.chain),
                ),
            )
            .label(format!("{} (excluded)", e.chain))
            .help(format!(
                "remove `exclude \"{}\"` from layer `{}` so that it is shipped, or bring it in the application or another layer",
                e.name, e.layer
            )),
        );
    }
    let notes = |code, list: &[NotChecked]| {
        list.iter()
            .map(move |n| {
                Diagnostic::info(code, &n.message)
                    .label(n.file.clone())
                    .help(&n.help)
            })
            .collect::<Vec<_>>()
    };
    diags.extend(notes(Code::AppNotChecked, &scan.abi.not_checked));
    diags.extend(notes(Code::AppDlopen, &scan.abi.run_time_loads));
    diags
}

pub(super) fn failures_json(scan: &AppScan) -> Vec<Value> {
    let mut out: Vec<Value> = scan
        .abi
        .findings
        .iter()
        .map(|f| {
            json!({
                "kind": "interpreter-abi",
                "severity": f.severity,
                "chain": [f.file],
                "message": f.message,
            })
        })
        .collect();
    out.extend(scan.excluded.iter().map(|e| {
        json!({"kind": "excluded-needed", "layer": e.layer, "chain": e.chain.split(" → ").collect::<Vec<_>>(), "name": e.name})
    }));
    out
}

pub(super) fn not_checked_json(scan: &AppScan) -> Value {
    let entry = |kind: &str, n: &NotChecked| json!({"kind": kind, "file": n.file, "message": n.message, "how": n.help});
    let mut out: Vec<Value> = scan
        .abi
        .not_checked
        .iter()
        .map(|n| entry("unreadable", n))
        .collect();
    out.extend(scan.abi.run_time_loads.iter().map(|n| entry("dlopen", n)));
    Value::Array(out)
}

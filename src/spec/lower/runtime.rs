//! A layer's `runtime` nodes: known ids, ids newer than the catalog with a stated OS base, and
//! runtimes that share one OS base and support the layer's architecture.

use super::Lowering;
use crate::arch::Architecture;
use crate::diagnostic::{Code, Diagnostic, closest, did_you_mean};
use crate::runtime::natural_cmp;
use crate::spec::Spanned;
use kdl::KdlNode;

impl Lowering {
    /// `runtime "ID"...`: each id added to `runtimes` once, when the catalog knows it or the node
    /// states its OS base (`base=`).
    pub(super) fn runtimes(
        &mut self,
        runtimes: &mut Vec<Spanned<String>>,
        child: &KdlNode,
        ids: Vec<Spanned<String>>,
    ) {
        let base = self.string_prop(child, "base");
        for id in ids {
            if let Some(first) = runtimes.iter().find(|r| r.value == id.value) {
                let what = format!("runtime `{}`", id.value);
                self.given_twice(what, id.span, first.span, "second occurrence");
            } else if let Some(rt) = self.catalog.runtime(&id.value) {
                match &base {
                    Some(b) if b.value != rt.os => self.base_contradicts(&id, b, &rt.os),
                    _ => runtimes.push(id),
                }
            } else if let Some(base) = &base {
                if self.stated_runtime(&id, base) {
                    runtimes.push(id);
                }
            } else {
                self.unknown_runtime(&id);
            }
        }
    }

    /// `runtime "ruby9.9" base="al2023"`: an id newer than the catalog, checked as a runtime of
    /// the base it states (a warning says the data predates it). False when the base is unknown.
    pub(super) fn stated_runtime(&mut self, id: &Spanned<String>, base: &Spanned<String>) -> bool {
        let Some(catalog) = self.catalog.stated(&id.value, &base.value) else {
            let bases = || self.catalog.os_bases.keys().map(String::as_str);
            let help = did_you_mean(&base.value, bases()).unwrap_or_else(|| {
                format!(
                    "the OS bases are {}",
                    bases().collect::<Vec<_>>().join(", ")
                )
            });
            self.push(
                Diagnostic::error(
                    Code::SpecUnknownValue,
                    format!("unknown OS base `{}`", base.value),
                )
                .at(base.span)
                .label("unknown base")
                .help(help),
            );
            return false;
        };
        self.catalog = catalog;
        let data = match self.catalog.data_date {
            Some(d) => format!("the catalog data ({d})"),
            None => "the catalog data".to_string(),
        };
        self.push(
            Diagnostic::warning(
                Code::SpecStatedRuntime,
                format!(
                    "runtime `{}` is newer than {data}: checked as a runtime of {}",
                    id.value,
                    self.catalog.os_name(&base.value)
                ),
            )
            .at(id.span)
            .label("not in the catalog")
            .help("its own folders and lifecycle dates are unknown; a `--catalog` file with its entry, or a newer layerc, knows them"),
        );
        true
    }

    pub(super) fn base_contradicts(
        &mut self,
        id: &Spanned<String>,
        base: &Spanned<String>,
        os: &str,
    ) {
        self.push(
            Diagnostic::error(
                Code::SpecMixedOs,
                format!(
                    "runtime `{}` runs on {}, not on `{}`",
                    id.value,
                    self.catalog.os_name(os),
                    base.value
                ),
            )
            .at(base.span)
            .label("another OS base")
            .help(format!(
                "remove `base=` (the catalog knows `{}`) or write `base=\"{os}\"`",
                id.value
            )),
        );
    }

    pub(super) fn unknown_runtime(&mut self, id: &Spanned<String>) {
        let stated = format!("`runtime \"{}\" base=\"al2023\"`", id.value);
        let known = did_you_mean(&id.value, self.catalog.runtime_ids());
        let help = match (self.newer_than_its_family(&id.value), known) {
            (true, Some(known)) => format!(
                "{known} If `{}` is newer than the catalog data, state its OS base: {stated}",
                id.value
            ),
            (true, None) => format!(
                "it is newer than the catalog data: state its OS base, {stated}, or give a `--catalog` file with its entry"
            ),
            (false, Some(known)) => known,
            (false, None) => format!(
                "`layerc runtimes` lists every runtime id; for one newer than the catalog data, state its OS base: {stated}"
            ),
        };
        self.push(
            Diagnostic::error(
                Code::SpecUnknownRuntime,
                format!("unknown Lambda runtime `{}`", id.value),
            )
            .at(id.span)
            .label("unknown runtime")
            .help(help)
            .suggest(closest(&id.value, self.catalog.runtime_ids())),
        );
    }

    /// `python3.15` when the catalog's newest Python is `python3.14`: an id of a known family with
    /// a higher version than any the catalog has.
    pub(super) fn newer_than_its_family(&self, id: &str) -> bool {
        let family: String = id.chars().take_while(char::is_ascii_alphabetic).collect();
        self.catalog
            .runtimes
            .values()
            .filter(|rt| rt.family == family)
            .map(|rt| rt.id.as_str())
            .max_by(|a, b| natural_cmp(a, b))
            .is_some_and(|newest| natural_cmp(id, newest).is_gt())
    }

    /// All runtimes of a layer share one OS base and support the layer's architecture.
    pub(super) fn check_runtimes(
        &mut self,
        layer: &Spanned<String>,
        runtimes: &[Spanned<String>],
        arch: &Spanned<Architecture>,
    ) {
        let known: Vec<_> = runtimes
            .iter()
            .filter_map(|id| Some((id, self.catalog.runtime(&id.value)?)))
            .collect();
        let Some(&(first, first_rt)) = known.first() else {
            return;
        };
        let os_name = |os: &str| self.catalog.os_name(os).to_string();
        let mut diags = Vec::new();
        for &(id, rt) in &known[1..] {
            if rt.os != first_rt.os {
                diags.push(
                    Diagnostic::error(
                        Code::SpecMixedOs,
                        format!(
                            "layer `{}` mixes runtimes of different OS bases: `{}` runs on {}, `{}` on {}",
                            layer.value,
                            first.value,
                            os_name(&first_rt.os),
                            id.value,
                            os_name(&rt.os)
                        ),
                    )
                    .at(id.span)
                    .label(format!("{} runtime", os_name(&rt.os)))
                    .help("libraries are checked against one OS base: split the layer in two")
                    .related(first.span, format!("{} runtime", os_name(&first_rt.os))),
                );
            }
        }
        for &(id, rt) in &known {
            if !rt.architectures.contains(&arch.value) {
                let supported: Vec<&str> = rt.architectures.iter().map(|a| a.as_str()).collect();
                diags.push(
                    Diagnostic::error(
                        Code::SpecUnsupportedArchitecture,
                        format!("runtime `{}` does not run on {}", id.value, arch.value),
                    )
                    .at(id.span)
                    .label(format!("{} only", supported.join(", ")))
                    .help(format!(
                        "set `architecture \"{}\"` or pick a runtime that supports {}",
                        supported[0], arch.value
                    )),
                );
            }
        }
        self.diags.extend(diags);
    }
}

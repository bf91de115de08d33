//! Removing what layerc added and the spec no longer has: a layer resource that carries layerc's
//! marker (`Metadata: {layerc: {layer: NAME}}`) and its `Ref`s in functions' `Layers`.
//!
//! Removal runs before the additive merge, on its own text (then parsed again), so its splices
//! never meet the merge's. It only deletes whole entries and list items: a block entry or item
//! with its lines, an inline one with its separating comma.

use super::edit::{self, Splice};
use super::tree::{Lines, Node, Value};
use super::{ErrorKind, LAMBDA_LAYER, MergeError, Patch, SAM_LAYER, Template};

/// The key of layerc's marker under a layer resource's `Metadata`.
pub(super) const MARKER: &str = "layerc";

impl Template {
    /// The logical ids of marked layer resources that `patch` no longer has, in template order.
    pub fn stale_layers(&self, patch: &Patch) -> Vec<String> {
        self.resources()
            .iter()
            .filter(|e| {
                matches!(self.resource_type(&e.value), Some(SAM_LAYER | LAMBDA_LAYER))
                    && e.value.at(&["Metadata", MARKER]).is_some()
                    && !patch.layers.iter().any(|l| l.logical_id == e.key)
            })
            .map(|e| e.key.clone())
            .collect()
    }

    /// The text without the stale layer resources and the `Ref`s to them in every function's
    /// (and `Globals.Function`'s) `Layers`; `None` when there is nothing to remove. A stale
    /// resource that anything else refers to is an error: removing it would break the template.
    pub(super) fn without_stale(&self, patch: &Patch) -> Result<Option<String>, MergeError> {
        let stale = self.stale_layers(patch);
        if stale.is_empty() {
            return Ok(None);
        }
        let mut splices = Vec::new();
        let mut handled: Vec<usize> = Vec::new();
        for layers in self.layer_lists() {
            let items = layers.items().unwrap_or_default();
            let gone: Vec<usize> = (0..items.len())
                .filter(|&i| {
                    items[i]
                        .value()
                        .as_ref_target()
                        .is_some_and(|t| stale.iter().any(|s| s == t))
                })
                .collect();
            handled.extend(gone.iter().map(|&i| items[i].span.start));
            splices.extend(removals(&self.text, &self.lines, layers, &gone));
        }
        let resources = self
            .root
            .get("Resources")
            .expect("stale layers are resources");
        let gone: Vec<usize> = (0..resources.entries().len())
            .filter(|&i| stale.contains(&resources.entries()[i].key))
            .collect();
        for &i in &gone {
            let entry = &resources.entries()[i];
            self.check_unreferenced(&self.root, &entry.key, &entry.value.span, &handled)?;
        }
        splices.extend(removals(&self.text, &self.lines, resources, &gone));
        Ok(Some(edit::apply(&self.text, splices)))
    }

    /// Every `Layers` list of a function resource or of `Globals.Function`.
    fn layer_lists(&self) -> Vec<&Node> {
        let functions = self
            .resources()
            .iter()
            .filter_map(|e| e.value.at(&["Properties", "Layers"]));
        let globals = self.globals_function().and_then(|g| g.get("Layers"));
        functions
            .chain(globals)
            .filter(|l| l.items().is_some() && !l.items().unwrap_or_default().is_empty())
            .collect()
    }

    /// Fails when `node` refers to `id` (a `Ref`, `Fn::GetAtt`, `DependsOn` or `${id}` in a
    /// `Fn::Sub`) anywhere outside `inside` (the resource itself) and the removed `Layers` items.
    fn check_unreferenced(
        &self,
        node: &Node,
        id: &str,
        inside: &std::ops::Range<usize>,
        handled: &[usize],
    ) -> Result<(), MergeError> {
        if inside.contains(&node.span.start) || handled.contains(&node.span.start) {
            return Ok(());
        }
        if refers_to(&node.value(), id) {
            return Err(MergeError {
                kind: ErrorKind::StaleReference,
                message: format!(
                    "`{id}` is a layer layerc added that the spec no longer has, but the template still refers to it here"
                ),
                line: Some(self.line(node.span.start)),
            });
        }
        let entries = node.entries().iter().map(|e| &e.value);
        for child in entries.chain(node.items().unwrap_or_default()) {
            self.check_unreferenced(child, id, inside, handled)?;
        }
        Ok(())
    }
}

/// Whether a value itself (not one of its members) refers to `id`.
fn refers_to(value: &Value, id: &str) -> bool {
    match value {
        Value::Str(s) => s.contains(&format!("${{{id}}}")) || s.contains(&format!("${{{id}.")),
        Value::Map(entries) => entries.iter().any(|(k, v)| match (k.as_str(), v) {
            ("Ref" | "DependsOn", Value::Str(t)) => t == id,
            ("DependsOn", Value::Seq(ts)) => ts.contains(&Value::str(id)),
            ("Fn::GetAtt", Value::Seq(parts)) => parts.first() == Some(&Value::str(id)),
            ("Fn::GetAtt", Value::Str(t)) => t.split('.').next() == Some(id),
            _ => false,
        }),
        _ => false,
    }
}

/// Splices deleting the members `gone` (indexes, ascending) of a map or list.
fn removals(text: &str, lines: &Lines, container: &Node, gone: &[usize]) -> Vec<Splice> {
    let starts: Vec<usize> = match container.items() {
        Some(items) => items.iter().map(|i| i.span.start).collect(),
        None => container
            .entries()
            .iter()
            .map(|e| e.key_span.start)
            .collect(),
    };
    let ends: Vec<usize> = match container.items() {
        Some(items) => items.iter().map(|i| i.span.end).collect(),
        None => container
            .entries()
            .iter()
            .map(|e| e.value.span.end)
            .collect(),
    };
    let n = starts.len();
    if container.flow && gone.len() == n {
        // Everything goes: keep the brackets, drop what is between them.
        let inner = (container.span.start + 1)..(container.span.end - 1);
        return vec![delete(inner)];
    }
    let kept_after = |i: usize| (i + 1..n).any(|j| !gone.contains(&j));
    gone.iter()
        .map(|&i| match container.flow {
            // Inline, a member follows: up to the next member (gone ones chain on to a kept one).
            true if kept_after(i) => delete(starts[i]..starts[i + 1]),
            // Inline, the last ones go: from the previous member's end, taking its comma.
            true => delete(ends[i - 1]..ends[i]),
            // Block: whole lines, up to the next member's line or the end of this one's last line.
            false => {
                let start = lines.line_start(starts[i]);
                let end = match starts.get(i + 1) {
                    Some(&next) => lines.line_start(next),
                    None => after_line(text, ends[i]),
                };
                delete(start..end)
            }
        })
        .collect()
}

/// The offset just past the newline that ends the line holding `offset` (or the text's end).
fn after_line(text: &str, offset: usize) -> usize {
    let end = offset.saturating_sub(1);
    match text[end..].find('\n') {
        Some(i) => end + i + 1,
        None => text.len(),
    }
}

fn delete(range: std::ops::Range<usize>) -> Splice {
    Splice {
        start: range.start,
        end: range.end,
        text: String::new(),
    }
}

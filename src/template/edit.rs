//! The edit model shared by JSON and YAML: what layerc wants under a key ([`Want`]) becomes the
//! fewest text splices ([`Splice`]) on the parsed tree. Only the [`Syntax`] of each format knows
//! how to write a splice; deciding what changes is done once, here.

use super::tree::{Entry, Kind, Lines, Node, Value};
use super::{ErrorKind, MergeError};

/// What layerc owns under one key.
#[derive(Debug, Clone)]
pub(super) enum Want {
    /// Exactly this value; replaced when it differs, created when missing.
    Set(Value),
    /// This value when the key is missing; a value already there is the user's and is kept.
    Default(Value),
    /// A map holding at least these entries; created when missing.
    Merge(Vec<(String, Want)>),
    /// Like `Merge`, but the map must already exist (a function resource is never created).
    Existing(Vec<(String, Want)>),
    /// A list holding these items: existing items and their order are kept, missing ones appended.
    Append(Vec<Value>),
}

impl Want {
    /// The whole value, for a key that does not exist yet.
    fn to_value(&self) -> Value {
        match self {
            Want::Set(v) | Want::Default(v) => v.clone(),
            Want::Merge(entries) | Want::Existing(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, w)| (k.clone(), w.to_value()))
                    .collect(),
            ),
            Want::Append(items) => Value::Seq(items.clone()),
        }
    }
}

/// Replace bytes `start..end` with `text` (an insertion when the range is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Splice {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// The text operations of one format.
pub(super) trait Syntax {
    /// New entries at the end of `map`, or just before the entry `before`.
    fn insert_entries(
        &self,
        map: &Node,
        entries: &[(String, Value)],
        before: Option<&Entry>,
    ) -> Splice;
    /// New items at the end of `seq`.
    fn append_items(&self, seq: &Node, items: &[Value]) -> Splice;
    /// A new value for an existing entry.
    fn replace_value(&self, entry: &Entry, value: &Value) -> Splice;
}

/// Walks the wants over the tree and collects the splices.
pub(super) struct Planner<'a> {
    pub syntax: &'a dyn Syntax,
    pub lines: &'a Lines,
    pub splices: Vec<Splice>,
}

impl Planner<'_> {
    pub(super) fn merge_map(
        &mut self,
        map: &Node,
        path: &str,
        wants: &[(String, Want)],
    ) -> Result<(), MergeError> {
        let mut inserts = Vec::new();
        let mut inserts_before = Vec::new();
        for (key, want) in wants {
            let here = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match map.entry(key) {
                Some(entry) => self.update(entry, &here, want)?,
                None if matches!(want, Want::Existing(_)) => {
                    return Err(self.error(
                        ErrorKind::Unmergeable,
                        map,
                        format!("{here} is missing"),
                    ));
                }
                // SAM's convention puts Globals before Resources.
                None if path.is_empty() && key == "Globals" => {
                    inserts_before.push((key.clone(), want.to_value()))
                }
                None => inserts.push((key.clone(), want.to_value())),
            }
        }
        if !inserts_before.is_empty() {
            match map.entry("Resources") {
                Some(anchor) => self.splices.push(self.syntax.insert_entries(
                    map,
                    &inserts_before,
                    Some(anchor),
                )),
                None => {
                    inserts.splice(0..0, inserts_before);
                }
            }
        }
        if !inserts.is_empty() {
            self.splices
                .push(self.syntax.insert_entries(map, &inserts, None));
        }
        Ok(())
    }

    fn update(&mut self, entry: &Entry, here: &str, want: &Want) -> Result<(), MergeError> {
        let node = &entry.value;
        match want {
            Want::Set(value) => {
                if node.value() != *value {
                    self.splices.push(self.syntax.replace_value(entry, value));
                }
            }
            Want::Default(_) => {}
            Want::Merge(wants) | Want::Existing(wants) => match &node.kind {
                Kind::Map(_) if is_plain(node) => self.merge_map(node, here, wants)?,
                _ if node.is_null() && matches!(want, Want::Merge(_)) => {
                    self.splices
                        .push(self.syntax.replace_value(entry, &want.to_value()));
                }
                _ => return Err(self.not_plain(node, here, "a mapping")),
            },
            Want::Append(items) => match &node.kind {
                Kind::Seq(existing) if is_plain(node) => {
                    let present: Vec<Value> = existing.iter().map(Node::value).collect();
                    let mut missing: Vec<Value> = Vec::new();
                    for item in items {
                        if !present.contains(item) && !missing.contains(item) {
                            missing.push(item.clone());
                        }
                    }
                    if !missing.is_empty() {
                        self.splices.push(self.syntax.append_items(node, &missing));
                    }
                }
                _ if node.is_null() => {
                    self.splices
                        .push(self.syntax.replace_value(entry, &want.to_value()));
                }
                _ => return Err(self.not_plain(node, here, "a list")),
            },
        }
        Ok(())
    }

    fn not_plain(&self, node: &Node, here: &str, what: &str) -> MergeError {
        let how = match intrinsic_name(node) {
            Some(name) => format!("an intrinsic function ({name})"),
            None => "another kind of value".to_string(),
        };
        self.error(
            ErrorKind::Unmergeable,
            node,
            format!("{here} is {how}, not {what} layerc can add to"),
        )
    }

    fn error(&self, kind: ErrorKind, node: &Node, message: String) -> MergeError {
        MergeError {
            kind,
            message,
            line: Some(self.lines.line(node.span.start)),
        }
    }
}

/// The intrinsic function a value is, if any: a YAML tag, or a JSON map whose only key is `Ref`,
/// `Condition` or `Fn::...`.
pub(super) fn intrinsic_name(node: &Node) -> Option<String> {
    if let Some(tag) = &node.tag {
        return Some(format!("!{tag}"));
    }
    match node.entries() {
        [only] if only.key == "Ref" || only.key == "Condition" || only.key.starts_with("Fn::") => {
            Some(only.key.clone())
        }
        _ => None,
    }
}

fn is_plain(node: &Node) -> bool {
    intrinsic_name(node).is_none()
}

/// Applies non-overlapping splices; splices at the same offset keep the order they were made in.
pub(super) fn apply(text: &str, mut splices: Vec<Splice>) -> String {
    let mut order: Vec<usize> = (0..splices.len()).collect();
    order.sort_by_key(|&i| (splices[i].start, i));
    let mut out = String::with_capacity(text.len() + 256);
    let mut at = 0;
    for i in order {
        let s = std::mem::take(&mut splices[i].text);
        let (start, end) = (splices[i].start, splices[i].end);
        debug_assert!(start >= at, "splices overlap");
        out.push_str(&text[at..start.max(at)]);
        out.push_str(&s);
        at = end.max(at);
    }
    out.push_str(&text[at..]);
    out
}

//! The one document tree both syntaxes parse into: values with the byte ranges they were written
//! at, so edits can splice the text and leave every other byte alone.

use std::ops::Range;

/// A value in the template and where its text is.
#[derive(Debug, Clone)]
pub struct Node {
    /// Bytes of the value, tag included, trailing blank lines of block scalars excluded.
    pub span: Range<usize>,
    pub kind: Kind,
    /// Written inline (`{...}`, `[...]` or any JSON value) rather than as a YAML block.
    pub flow: bool,
    /// A YAML local tag such as `Ref` (from `!Ref`), without the `!`.
    pub tag: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    /// Any scalar, as text; `null` marks JSON `null`, YAML `null`, `~` and an empty value.
    Scalar {
        text: String,
        null: bool,
    },
    Map(Vec<Entry>),
    Seq(Vec<Node>),
    /// A YAML alias: its value is elsewhere, and layerc never edits through it.
    Alias,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: Node,
}

/// A value without positions, in CloudFormation's JSON form: the comparison and rendering model.
/// YAML's short-form tags are normalised (`!Ref X` is `{"Ref": "X"}`), and map entries are sorted
/// so key order does not matter when comparing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Null,
    Seq(Vec<Value>),
    Map(Vec<(String, Value)>),
    Alias,
}

/// A layer's name as the template writes it: text, or `Fn::Sub` where it substitutes.
impl From<&crate::spec::LayerName> for Value {
    fn from(name: &crate::spec::LayerName) -> Value {
        match name {
            crate::spec::LayerName::Text(s) => Value::str(s),
            crate::spec::LayerName::Sub(s) => Value::Map(vec![("Fn::Sub".into(), Value::str(s))]),
        }
    }
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// `{"Ref": id}`.
    pub fn reference(id: impl Into<String>) -> Value {
        Value::Map(vec![("Ref".into(), Value::Str(id.into()))])
    }

    /// The target of a `Ref`, if this is one.
    pub fn as_ref_target(&self) -> Option<&str> {
        match self {
            Value::Map(entries) => match entries.as_slice() {
                [(key, Value::Str(target))] if key == "Ref" => Some(target),
                _ => None,
            },
            _ => None,
        }
    }

    /// Entries sorted by key, so that two maps with the same entries compare equal.
    fn sorted(mut self) -> Value {
        if let Value::Map(entries) = &mut self {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
        }
        self
    }
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// Follows a path of map keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The text of an untagged, non-null scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, null: false } if self.tag.is_none() => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Scalar { null: true, .. }) && self.tag.is_none()
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.kind {
            Kind::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value in CloudFormation's JSON form.
    pub fn value(&self) -> Value {
        let plain = match &self.kind {
            Kind::Scalar { null: true, .. } => Value::Null,
            Kind::Scalar { text, .. } => Value::Str(text.clone()),
            Kind::Seq(items) => Value::Seq(items.iter().map(Node::value).collect()),
            Kind::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.value()))
                    .collect(),
            )
            .sorted(),
            Kind::Alias => Value::Alias,
        };
        match self.tag.as_deref() {
            None => plain,
            Some(tag) => long_form(tag, plain),
        }
    }
}

/// `!Ref x` → `{"Ref": "x"}`, `!GetAtt a.b` → `{"Fn::GetAtt": ["a", "b"]}`, `!Sub s` →
/// `{"Fn::Sub": "s"}`: the forms CloudFormation documents as equivalent.
fn long_form(tag: &str, plain: Value) -> Value {
    let name = match tag {
        "Ref" | "Condition" => tag.to_string(),
        _ => format!("Fn::{tag}"),
    };
    let inner = match (tag, plain) {
        ("GetAtt", Value::Str(s)) => match s.split_once('.') {
            Some((resource, attribute)) => {
                Value::Seq(vec![Value::str(resource), Value::str(attribute)])
            }
            None => Value::Str(s),
        },
        (_, other) => other,
    };
    Value::Map(vec![(name, inner)])
}

/// Line starts of a text, for 1-based line numbers and columns of byte offsets.
/// A key written twice in one mapping, with where each is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    pub first: Range<usize>,
    pub second: Range<usize>,
}

impl Node {
    /// The first mapping (in text order of its second key) that has a key twice. JSON and YAML
    /// readers disagree on which one counts (Python's json and PyYAML, which SAM uses, keep the
    /// last), so no edit of such a template can be exact. Walked with a stack: no recursion.
    pub fn duplicate_key(&self) -> Option<DuplicateKey> {
        let mut found: Option<DuplicateKey> = None;
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            match &node.kind {
                Kind::Map(entries) => {
                    let mut seen = std::collections::HashMap::new();
                    for e in entries.iter().filter(|e| !e.key.is_empty()) {
                        if let Some(first) = seen.insert(e.key.as_str(), e.key_span.clone()) {
                            let dup = DuplicateKey {
                                key: e.key.clone(),
                                first,
                                second: e.key_span.clone(),
                            };
                            if found
                                .as_ref()
                                .is_none_or(|f| dup.second.start < f.second.start)
                            {
                                found = Some(dup);
                            }
                            break;
                        }
                    }
                    stack.extend(entries.iter().map(|e| &e.value));
                }
                Kind::Seq(items) => stack.extend(items),
                _ => {}
            }
        }
        found
    }
}

#[derive(Debug, Clone)]
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    /// Byte offset where the line holding `offset` starts.
    pub fn line_start(&self, offset: usize) -> usize {
        self.starts[self.line(offset) - 1]
    }
}

//! Text operations on inline collections: every JSON value, and YAML's `{...}` and `[...]`.
//! New members copy the indentation of their siblings, or of the line they open on.

use super::edit::Splice;
use super::tree::{Entry, Lines, Node, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    Json,
    /// YAML flow context: `!Ref X`, plain scalars where they are unambiguous.
    Yaml,
}

/// What a syntax needs to write new text that looks like the file's own.
pub(super) struct Flow<'a> {
    pub text: &'a str,
    pub lines: &'a Lines,
    /// One level of indentation as the file writes it (`"  "`, `"    "`, `"\t"`).
    pub unit: String,
    pub nl: &'static str,
    pub flavor: Flavor,
}

impl Flow<'_> {
    /// The whitespace that starts the line holding `offset`.
    pub(super) fn line_indent(&self, offset: usize) -> &str {
        let start = self.lines.line_start(offset);
        let line = &self.text[start..];
        let width = line.len() - line.trim_start_matches([' ', '\t']).len();
        &line[..width]
    }

    /// A value as text: spread over lines below `indent`, or on one line when `indent` is `None`.
    pub(super) fn render(&self, value: &Value, indent: Option<&str>) -> String {
        match value {
            Value::Str(s) => self.scalar(s),
            Value::Null | Value::Alias => "null".to_string(),
            _ if self.flavor == Flavor::Yaml && value.as_ref_target().is_some() => {
                format!(
                    "!Ref {}",
                    self.scalar(value.as_ref_target().unwrap_or_default())
                )
            }
            Value::Seq(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|i| {
                        self.render(
                            i,
                            indent.map(|ind| format!("{ind}{}", self.unit)).as_deref(),
                        )
                    })
                    .collect();
                self.wrap('[', ']', parts, indent)
            }
            Value::Map(entries) => {
                let inner = indent.map(|ind| format!("{ind}{}", self.unit));
                let parts: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", self.key(k), self.render(v, inner.as_deref())))
                    .collect();
                self.wrap('{', '}', parts, indent)
            }
        }
    }

    fn wrap(&self, open: char, close: char, parts: Vec<String>, indent: Option<&str>) -> String {
        match indent {
            _ if parts.is_empty() => format!("{open}{close}"),
            None => format!("{open}{}{close}", parts.join(", ")),
            Some(ind) => {
                let inner = format!("{}{ind}{}", self.nl, self.unit);
                format!(
                    "{open}{inner}{}{}{ind}{close}",
                    parts.join(&format!(",{inner}")),
                    self.nl
                )
            }
        }
    }

    pub(super) fn scalar(&self, s: &str) -> String {
        match self.flavor {
            Flavor::Yaml if plain_is_safe(s, true) => s.to_string(),
            _ => quote(s),
        }
    }

    fn key(&self, k: &str) -> String {
        match self.flavor {
            Flavor::Yaml if is_identifier(k) => k.to_string(),
            _ => quote(k),
        }
    }

    /// Whether the collection's members sit on lines of their own.
    fn spread(&self, node: &Node, first_member: usize) -> Option<&str> {
        self.text[node.span.start..first_member]
            .contains('\n')
            .then(|| self.line_indent(first_member))
    }

    pub(super) fn insert_entries(
        &self,
        map: &Node,
        entries: &[(String, Value)],
        before: Option<&Entry>,
    ) -> Splice {
        let member = |indent: Option<&str>, (k, v): &(String, Value)| {
            format!("{}: {}", self.key(k), self.render(v, indent))
        };
        let children = map.entries();
        let Some(first) = children.first() else {
            let value = Value::Map(entries.to_vec());
            let indent = self.line_indent(map.span.start);
            return replace(map, self.render(&value, Some(indent)));
        };
        let indent = self.spread(map, first.key_span.start);
        let sep = indent.map_or(", ".to_string(), |ind| format!(",{}{ind}", self.nl));
        if let Some(anchor) = before {
            let text: String = entries
                .iter()
                .map(|e| format!("{}{sep}", member(indent, e)))
                .collect();
            return insert(anchor.key_span.start, text);
        }
        let last = &children[children.len() - 1];
        let text: String = entries
            .iter()
            .map(|e| format!("{sep}{}", member(indent, e)))
            .collect();
        insert(last.value.span.end, text)
    }

    pub(super) fn append_items(&self, seq: &Node, items: &[Value]) -> Splice {
        let existing = seq.items().unwrap_or_default();
        let Some(first) = existing.first() else {
            let indent = self.line_indent(seq.span.start);
            return replace(seq, self.render(&Value::Seq(items.to_vec()), Some(indent)));
        };
        let indent = self.spread(seq, first.span.start);
        let sep = indent.map_or(", ".to_string(), |ind| format!(",{}{ind}", self.nl));
        let text: String = items
            .iter()
            .map(|item| format!("{sep}{}", self.render(item, indent)))
            .collect();
        insert(existing[existing.len() - 1].span.end, text)
    }

    pub(super) fn replace_value(&self, node: &Node, value: &Value) -> Splice {
        let indent = self.line_indent(node.span.start);
        replace(node, self.render(value, Some(indent)))
    }
}

pub(super) fn insert(at: usize, text: String) -> Splice {
    Splice {
        start: at,
        end: at,
        text,
    }
}

pub(super) fn replace(node: &Node, text: String) -> Splice {
    Splice {
        start: node.span.start,
        end: node.span.end,
        text,
    }
}

/// A JSON string, which is also a valid YAML double-quoted scalar.
pub(super) fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialise")
}

fn is_identifier(k: &str) -> bool {
    k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `s` can be written as a YAML plain scalar and read back as the same string under both
/// YAML 1.1 and 1.2 (no booleans, nulls or numbers, no indicators).
pub(super) fn plain_is_safe(s: &str, flow: bool) -> bool {
    const WORDS: [&str; 12] = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "nan", "inf",
    ];
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || "._/-+@".contains(c) || (c == ':' && !flow);
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/')
        && s.chars().all(allowed)
        && !s.ends_with(':')
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
}

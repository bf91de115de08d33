//! JSON templates (`serverless.template` as the .NET tooling writes it, plain CloudFormation JSON):
//! parsed with `jsonc-parser`, whose tree keeps every value's byte range.

use jsonc_parser::ast::{self, ObjectPropName};
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

use super::edit::{Splice, Syntax};
use super::flow::{Flavor, Flow};
use super::tree::{Entry, Kind, Lines, Node, Value};
use super::{ErrorKind, MergeError};

pub(super) fn parse(text: &str) -> Result<Node, MergeError> {
    let parsed =
        parse_to_ast(text, &CollectOptions::default(), &ParseOptions::default()).map_err(|e| {
            MergeError {
                kind: ErrorKind::Syntax,
                message: format!("not valid JSON: {}", e.kind()),
                line: Some(e.line_display()),
            }
        })?;
    match parsed.value {
        Some(value) => Ok(node(&value)),
        None => Err(MergeError {
            kind: ErrorKind::Syntax,
            message: "the template is empty".into(),
            line: None,
        }),
    }
}

fn node(value: &ast::Value) -> Node {
    let (range, kind) = match value {
        ast::Value::StringLit(s) => (s.range, scalar(&s.value, false)),
        ast::Value::NumberLit(n) => (n.range, scalar(n.value, false)),
        ast::Value::BooleanLit(b) => (
            b.range,
            scalar(if b.value { "true" } else { "false" }, false),
        ),
        ast::Value::NullKeyword(n) => (n.range, scalar("null", true)),
        ast::Value::Array(a) => (a.range, Kind::Seq(a.elements.iter().map(node).collect())),
        ast::Value::Object(o) => (o.range, Kind::Map(o.properties.iter().map(entry).collect())),
    };
    Node {
        span: range.start..range.end,
        kind,
        flow: true,
        tag: None,
    }
}

fn scalar(text: &str, null: bool) -> Kind {
    Kind::Scalar {
        text: text.to_string(),
        null,
    }
}

fn entry(prop: &ast::ObjectProp) -> Entry {
    let (key, range) = match &prop.name {
        ObjectPropName::String(s) => (s.value.to_string(), s.range),
        ObjectPropName::Word(w) => (w.value.to_string(), w.range),
    };
    Entry {
        key,
        key_span: range.start..range.end,
        value: node(&prop.value),
    }
}

/// JSON's text operations: all of them are flow operations.
pub(super) struct JsonSyntax<'a>(pub Flow<'a>);

impl<'a> JsonSyntax<'a> {
    pub(super) fn new(text: &'a str, lines: &'a Lines, root: &Node) -> Self {
        let unit = root
            .entries()
            .first()
            .map(|e| {
                let start = lines.line_start(e.key_span.start);
                text[start..e.key_span.start].to_string()
            })
            .filter(|u| !u.is_empty() && u.trim().is_empty())
            .unwrap_or_else(|| "  ".to_string());
        JsonSyntax(Flow {
            text,
            lines,
            unit,
            nl: newline(text),
            flavor: Flavor::Json,
        })
    }
}

/// The file's line break: CRLF when it uses CRLF.
pub(super) fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

impl Syntax for JsonSyntax<'_> {
    fn insert_entries(
        &self,
        map: &Node,
        entries: &[(String, Value)],
        before: Option<&Entry>,
    ) -> Splice {
        self.0.insert_entries(map, entries, before)
    }

    fn append_items(&self, seq: &Node, items: &[Value]) -> Splice {
        self.0.append_items(seq, items)
    }

    fn replace_value(&self, entry: &Entry, value: &Value) -> Splice {
        self.0.replace_value(&entry.value, value)
    }
}

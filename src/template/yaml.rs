//! YAML templates (SAM `template.yaml`): parsed with saphyr's event parser, whose markers give
//! every value's position. Edits are splices, so comments, key order, quoting and short-form tags
//! (`!Ref`, `!GetAtt`, `!Sub`...) outside what layerc owns stay byte for byte.

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::edit::{Splice, Syntax};
use super::flow::{self, Flavor, Flow};
use super::tree::{Entry, Kind, Lines, Node, Value};
use super::{ErrorKind, MergeError};

/// Collections nested deeper than this are refused (as JSON's parser refuses them): the tree is
/// built and walked recursively. Real templates nest a few tens deep.
pub(super) const MAX_DEPTH: usize = 512;

pub(super) fn parse(text: &str) -> Result<Node, MergeError> {
    let offsets = CharOffsets::new(text);
    let mut events = Vec::new();
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| MergeError {
            kind: ErrorKind::Syntax,
            message: format!("not valid YAML: {}", e.info()),
            line: Some(e.marker().line()),
        })?;
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => depth += 1,
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_DEPTH {
            return Err(MergeError {
                kind: ErrorKind::Syntax,
                message: format!("values are nested more than {MAX_DEPTH} levels deep"),
                line: Some(span.start.line()),
            });
        }
        let range = offsets.byte(span.start.index())..offsets.byte(span.end.index());
        events.push((event, range, span));
    }
    let documents = events
        .iter()
        .filter(|(e, ..)| matches!(e, Event::DocumentStart(_)))
        .count();
    if documents != 1 {
        return Err(MergeError {
            kind: ErrorKind::Syntax,
            message: format!("a template is one YAML document; this file has {documents}"),
            line: None,
        });
    }
    let start = events
        .iter()
        .position(|(e, ..)| matches!(e, Event::DocumentStart(_)))
        .map_or(0, |i| i + 1);
    let mut builder = Builder {
        text,
        events: &events,
        at: start,
    };
    Ok(builder.node(false))
}

/// saphyr counts characters; splices need byte offsets.
struct CharOffsets(Option<Vec<usize>>);

impl CharOffsets {
    fn new(text: &str) -> Self {
        if text.is_ascii() {
            return CharOffsets(None);
        }
        let mut table: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        table.push(text.len());
        CharOffsets(Some(table))
    }

    fn byte(&self, index: usize) -> usize {
        match &self.0 {
            None => index,
            Some(table) => table[index.min(table.len() - 1)],
        }
    }
}

type Events<'a> = [(Event<'a>, std::ops::Range<usize>, Span)];

struct Builder<'t, 'e> {
    text: &'t str,
    events: &'e Events<'t>,
    at: usize,
}

impl Builder<'_, '_> {
    /// The node whose first event is at `self.at`; `in_flow` tells whether a `[` or `{` encloses it.
    fn node(&mut self, in_flow: bool) -> Node {
        let (event, range, _) = &self.events[self.at];
        self.at += 1;
        match event {
            Event::Scalar(value, style, _, tag) => {
                let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
                let end = if block {
                    range.start + self.text[range.clone()].trim_end().len()
                } else {
                    range.end
                };
                let null = *style == ScalarStyle::Plain
                    && matches!(value.as_ref(), "" | "~" | "null" | "Null" | "NULL");
                Node {
                    span: range.start..end,
                    kind: Kind::Scalar {
                        text: value.to_string(),
                        null,
                    },
                    flow: in_flow,
                    tag: local_tag(tag.as_deref()),
                }
            }
            Event::SequenceStart(_, tag) | Event::MappingStart(_, tag) => {
                let is_map = matches!(event, Event::MappingStart(..));
                let tag = local_tag(tag.as_deref());
                let start = range.start;
                let flow = in_flow || self.opens_flow(start);
                self.collection(is_map, start, flow, tag)
            }
            _ => Node {
                span: range.clone(),
                kind: Kind::Alias,
                flow: in_flow,
                tag: None,
            },
        }
    }

    fn collection(&mut self, is_map: bool, start: usize, flow: bool, tag: Option<String>) -> Node {
        let mut entries = Vec::new();
        let mut items = Vec::new();
        loop {
            let (event, range, _) = &self.events[self.at];
            if matches!(event, Event::SequenceEnd | Event::MappingEnd) {
                self.at += 1;
                let end = if flow {
                    range.start + 1
                } else {
                    let last = if is_map {
                        entries
                            .last()
                            .map(|e: &Entry| e.value.span.end.max(e.key_span.end))
                    } else {
                        items.last().map(|n: &Node| n.span.end)
                    };
                    last.unwrap_or(start)
                };
                let kind = if is_map {
                    Kind::Map(entries)
                } else {
                    Kind::Seq(items)
                };
                return Node {
                    span: start..end,
                    kind,
                    flow,
                    tag,
                };
            }
            if is_map {
                let key = self.node(flow);
                let value = self.node(flow);
                let text = match &key.kind {
                    Kind::Scalar { text, .. } => text.clone(),
                    _ => String::new(),
                };
                entries.push(Entry {
                    key: text,
                    key_span: key.span,
                    value,
                });
            } else {
                items.push(self.node(flow));
            }
        }
    }

    /// Whether the collection starting here is written `[...]`/`{...}` (after any tag or anchor).
    fn opens_flow(&self, start: usize) -> bool {
        let mut rest = &self.text[start..];
        loop {
            rest = rest.trim_start();
            if rest.starts_with(['!', '&']) {
                let token = rest.find(char::is_whitespace).unwrap_or(rest.len());
                rest = &rest[token..];
            } else {
                return rest.starts_with(['[', '{']);
            }
        }
    }
}

/// The column of a block list's first `-`. saphyr starts an unindented list (`key:\n- a`) at its
/// first item rather than at the dash.
fn dash_column(text: &str, lines: &Lines, seq: &Node) -> usize {
    let start = lines.line_start(seq.span.start);
    let before = text[start..seq.span.start].trim_end();
    match before.strip_suffix('-') {
        Some(rest) if rest.trim().is_empty() => rest.len(),
        _ => seq.span.start - start,
    }
}

fn local_tag(tag: Option<&Tag>) -> Option<String> {
    tag.filter(|t| t.handle == "!").map(|t| t.suffix.clone())
}

/// Block-style text operations; inline collections go through [`Flow`].
pub(super) struct YamlSyntax<'a> {
    flow: Flow<'a>,
    unit: usize,
    /// Columns from a key to the `-` of its list's items (0 or the indentation unit).
    seq_offset: usize,
}

impl<'a> YamlSyntax<'a> {
    pub(super) fn new(text: &'a str, lines: &'a Lines, root: &Node) -> Self {
        let column = |offset: usize| offset - lines.line_start(offset);
        let mut unit = None;
        let mut seq_offset = None;
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            for entry in node.entries().iter().filter(|e| !e.value.flow) {
                let key = column(entry.key_span.start);
                match &entry.value.kind {
                    Kind::Map(children) if unit.is_none() && !children.is_empty() => {
                        unit = Some(column(children[0].key_span.start).saturating_sub(key));
                    }
                    Kind::Seq(items) if seq_offset.is_none() && !items.is_empty() => {
                        let dash = dash_column(text, lines, &entry.value);
                        seq_offset = Some(dash.saturating_sub(key));
                    }
                    _ => {}
                }
                stack.push(&entry.value);
            }
        }
        let unit = unit.filter(|&u| u > 0).unwrap_or(2);
        YamlSyntax {
            flow: Flow {
                text,
                lines,
                unit: " ".repeat(unit),
                nl: super::json::newline(text),
                flavor: Flavor::Yaml,
            },
            unit,
            seq_offset: seq_offset.unwrap_or(unit),
        }
    }

    fn column(&self, offset: usize) -> usize {
        offset - self.flow.lines.line_start(offset)
    }

    /// Where the line holding `offset` ends (before its line break, after any comment on it).
    fn end_of_line(&self, offset: usize) -> usize {
        let text = self.flow.text;
        match text[offset..].find('\n') {
            Some(i) if i > 0 && text.as_bytes()[offset + i - 1] == b'\r' => offset + i - 1,
            Some(i) => offset + i,
            None => text.len(),
        }
    }

    /// A value written after `key:` in a block mapping whose keys are at column `col`.
    fn after_key(&self, value: &Value, col: usize) -> String {
        let nl = self.flow.nl;
        match value {
            Value::Map(entries) if !entries.is_empty() && value.as_ref_target().is_none() => {
                entries
                    .iter()
                    .map(|(k, v)| {
                        let inner = col + self.unit;
                        format!("{nl}{}{k}:{}", " ".repeat(inner), self.after_key(v, inner))
                    })
                    .collect()
            }
            Value::Seq(items) if !items.is_empty() => {
                let dash = col + self.seq_offset;
                items
                    .iter()
                    .map(|item| format!("{nl}{}- {}", " ".repeat(dash), self.item(item)))
                    .collect()
            }
            _ => format!(" {}", self.item(value)),
        }
    }

    /// A list item or a scalar after `key:`.
    fn item(&self, value: &Value) -> String {
        match value {
            Value::Str(s) if flow::plain_is_safe(s, false) => s.clone(),
            other => self.flow.render(other, None),
        }
    }
}

impl Syntax for YamlSyntax<'_> {
    fn insert_entries(
        &self,
        map: &Node,
        entries: &[(String, Value)],
        before: Option<&Entry>,
    ) -> Splice {
        if map.flow {
            return self.flow.insert_entries(map, entries, before);
        }
        let col = map
            .entries()
            .first()
            .map_or(0, |e| self.column(e.key_span.start));
        let pad = " ".repeat(col);
        let nl = self.flow.nl;
        let render = |(k, v): &(String, Value)| format!("{pad}{k}:{}", self.after_key(v, col));
        match before {
            Some(anchor) => {
                let at = self.comments_above(anchor.key_span.start);
                let text: String = entries
                    .iter()
                    .map(|e| format!("{}{nl}", render(e)))
                    .collect();
                flow::insert(at, format!("{text}{nl}"))
            }
            None => {
                // Keep the file's rhythm: a blank line between entries when it has them.
                let gap = if self.blank_between(map) { nl } else { "" };
                let text: String = entries
                    .iter()
                    .map(|e| format!("{nl}{gap}{}", render(e)))
                    .collect();
                flow::insert(self.end_of_line(map.span.end), text)
            }
        }
    }

    fn append_items(&self, seq: &Node, items: &[Value]) -> Splice {
        if seq.flow {
            return self.flow.append_items(seq, items);
        }
        let dash = " ".repeat(dash_column(self.flow.text, self.flow.lines, seq));
        let nl = self.flow.nl;
        let text: String = items
            .iter()
            .map(|item| format!("{nl}{dash}-{}", self.item_after_dash(item)))
            .collect();
        flow::insert(self.end_of_line(seq.span.end), text)
    }

    fn replace_value(&self, entry: &Entry, value: &Value) -> Splice {
        let old = &entry.value;
        if old.flow {
            return flow::replace(old, self.flow.render(value, None));
        }
        let text = self.flow.text;
        let colon = entry.key_span.end + text[entry.key_span.end..].find(':').unwrap_or(0) + 1;
        // An empty value (`Key:` and nothing) has an empty span somewhere after the colon.
        let end = if old.span.is_empty() {
            colon
        } else {
            old.span.end
        };
        let col = self.column(entry.key_span.start);
        Splice {
            start: colon,
            end,
            text: self.after_key(value, col),
        }
    }
}

impl YamlSyntax<'_> {
    fn item_after_dash(&self, item: &Value) -> String {
        format!(" {}", self.item(item))
    }

    /// Whether the map's second entry is preceded by a blank line.
    fn blank_between(&self, map: &Node) -> bool {
        let Some(second) = map.entries().get(1) else {
            return false;
        };
        let start = self.flow.lines.line_start(second.key_span.start);
        start >= 2 && {
            let before = &self.flow.text[..start - 1];
            let prev = self.flow.lines.line_start(before.len());
            before[prev..].trim().is_empty()
        }
    }

    /// The start of the comment lines directly above the line at `offset`, so that a new key goes
    /// above the comment that describes the next one.
    fn comments_above(&self, offset: usize) -> usize {
        let text = self.flow.text;
        let mut at = self.flow.lines.line_start(offset);
        while at > 0 {
            let prev = self.flow.lines.line_start(at - 1);
            if text[prev..at].trim_start().starts_with('#') {
                at = prev;
            } else {
                break;
            }
        }
        at
    }
}

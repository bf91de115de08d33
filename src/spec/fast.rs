//! A fast reader for the plain KDL that specs and layerc's own files are written in, giving the
//! same `KdlDocument` the `kdl` crate gives (the nodes, names, entries, values and every span the
//! lowering reads), at well over a hundred times its speed. Anything outside that subset, and
//! anything that is not valid KDL, gives `None`: the caller then parses with `kdl`, so every
//! syntax diagnostic is still the `kdl` crate's own.
//!
//! The subset: nodes named by plain identifiers (ASCII letters, digits, `_ - . : +`, not starting
//! with a digit, sign or dot), arguments and `key=value` properties whose values are quoted
//! single-line strings (escapes `\" \\ \b \f \n \r \t \s`), decimal integers, `#true`, `#false`
//! and `#null`; child blocks; `//` comments; spaces, tabs and line continuations (`\`); `\n` line
//! ends and `;`. Type annotations, raw and multi-line strings, identifier values, other numbers
//! and escapes, `/-`, `/* */`, a comment after a line continuation, `\r`, a BOM and other
//! whitespace are left to `kdl`.
//!
//! The spans follow `kdl`'s parser (v2_parser.rs of kdl 6.7): a node from its name to the end of
//! the spaces after its last entry or closing brace; an entry from its key (or value) to the end
//! of its value; a document from its first node to the end of its last one (empty where it
//! starts). `tests/it/kdl_fast.rs` compares every node, entry and span with `kdl`'s on the spec
//! fuzzer's corpus and every KDL file of the repository, whole and cut short.

use kdl::{KdlDocument, KdlEntry, KdlIdentifier, KdlNode, KdlValue};

/// The document, when the text is in the subset; `None` sends it to the `kdl` crate.
pub fn parse(source: &str) -> Option<KdlDocument> {
    let mut parser = Parser {
        src: source,
        text: source.as_bytes(),
        at: 0,
    };
    let doc = parser.nodes(0)?;
    (parser.at == parser.text.len()).then_some(doc)
}

/// Child blocks deeper than this are left to `kdl` (and to the nesting guard before it).
const MAX_DEPTH: usize = 16;

struct Parser<'a> {
    src: &'a str,
    text: &'a [u8],
    /// Always at a character boundary: the parser stops only at ASCII bytes.
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    /// Spaces and tabs, and line continuations (`\` then a line end).
    fn skip_spaces(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.at += 1,
                Some(b'\\') => {
                    let rest = &self.text[self.at + 1..];
                    let blank = rest
                        .iter()
                        .take_while(|&&b| b == b' ' || b == b'\t')
                        .count();
                    if rest.get(blank) != Some(&b'\n') {
                        return;
                    }
                    self.at += 1 + blank + 1;
                }
                _ => return,
            }
        }
    }

    /// A `//` comment up to and including its line end (or the end of the text).
    fn comment(&mut self) -> Option<()> {
        let rest = &self.src[self.at..];
        if !rest.starts_with("//") {
            return None;
        }
        let end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        // Other line ends inside the comment would end it earlier for `kdl`.
        if rest[..end].contains(['\r', '\u{0B}', '\u{0C}', '\u{85}', '\u{2028}', '\u{2029}']) {
            return None;
        }
        self.at += end;
        Some(())
    }

    /// Blank space between nodes: spaces, tabs, line ends and comments.
    fn line_space(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n') => self.at += 1,
                Some(b'/') => self.comment()?,
                Some(b'\\') => {
                    let before = self.at;
                    self.skip_spaces();
                    if self.at == before {
                        return None;
                    }
                }
                _ => return Some(()),
            }
        }
    }

    /// The nodes of a document or child block, up to its end (`}` or the end of the text).
    fn nodes(&mut self, depth: usize) -> Option<KdlDocument> {
        let mut doc = KdlDocument::new();
        self.line_space()?;
        let start = self.at;
        let mut end = start;
        loop {
            match self.peek() {
                None | Some(b'}') => break,
                _ => {
                    let node = self.node(depth)?;
                    end = self.at;
                    doc.nodes_mut().push(node);
                    // What ends a node: a line end, `;`, a comment, or the block's end.
                    match self.peek() {
                        Some(b'\n' | b';') => self.at += 1,
                        Some(b'/') => self.comment()?,
                        None | Some(b'}') => {}
                        _ => return None,
                    }
                    self.line_space()?;
                }
            }
        }
        doc.set_span((start, end - start));
        Some(doc)
    }

    /// One node: its name, entries and children, and the spaces after them.
    fn node(&mut self, depth: usize) -> Option<KdlNode> {
        let start = self.at;
        let name = self.identifier()?;
        let mut node = KdlNode::new(name);
        loop {
            let before = self.at;
            self.skip_spaces();
            match self.peek() {
                Some(b'{') => {
                    if depth >= MAX_DEPTH {
                        return None;
                    }
                    self.at += 1;
                    let children = self.nodes(depth + 1)?;
                    if self.peek() != Some(b'}') {
                        return None;
                    }
                    self.at += 1;
                    node.set_children(children);
                    self.skip_spaces();
                    break;
                }
                None | Some(b'\n' | b';' | b'}' | b'/') => break,
                // An entry needs a space before it.
                _ if before == self.at => return None,
                _ => {
                    let entry = self.entry()?;
                    node.entries_mut().push(entry);
                }
            }
        }
        node.set_span((start, self.at - start));
        Some(node)
    }

    /// A plain identifier, not a keyword-like word.
    fn identifier(&mut self) -> Option<KdlIdentifier> {
        let start = self.at;
        if !matches!(self.peek(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_')) {
            return None;
        }
        while matches!(
            self.peek(),
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b':' | b'+')
        ) {
            self.at += 1;
        }
        let word = &self.src[start..self.at];
        if matches!(word, "true" | "false" | "null" | "inf" | "nan") {
            return None;
        }
        let mut ident = KdlIdentifier::from(word);
        ident.set_span((start, self.at - start));
        Some(ident)
    }

    /// An argument or a `key=value` property.
    fn entry(&mut self) -> Option<KdlEntry> {
        let start = self.at;
        let mut entry = if matches!(self.peek(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_')) {
            let key = self.identifier()?;
            self.skip_spaces();
            if self.peek() != Some(b'=') {
                return None; // an identifier used as a value
            }
            self.at += 1;
            self.skip_spaces();
            KdlEntry::new_prop(key, self.value()?)
        } else {
            KdlEntry::new(self.value()?)
        };
        // What may follow a value here: a space, a line end, `;`, `}` or the end.
        if !matches!(self.peek(), None | Some(b' ' | b'\t' | b'\n' | b';' | b'}')) {
            return None;
        }
        entry.set_span((start, self.at - start));
        Some(entry)
    }

    fn value(&mut self) -> Option<KdlValue> {
        match self.peek()? {
            b'"' => self.string().map(KdlValue::String),
            b'#' => {
                let rest = &self.text[self.at + 1..];
                let (value, len) = if rest.starts_with(b"true") {
                    (KdlValue::Bool(true), 4)
                } else if rest.starts_with(b"false") {
                    (KdlValue::Bool(false), 5)
                } else if rest.starts_with(b"null") {
                    (KdlValue::Null, 4)
                } else {
                    return None;
                };
                self.at += 1 + len;
                Some(value)
            }
            b'-' | b'0'..=b'9' => self.integer(),
            _ => None,
        }
    }

    /// A decimal integer of at most 18 digits, optionally negative.
    fn integer(&mut self) -> Option<KdlValue> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let digits = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let count = self.at - digits;
        if count == 0 || count > 18 {
            return None;
        }
        self.src[start..self.at]
            .parse::<i128>()
            .ok()
            .map(KdlValue::Integer)
    }

    /// A quoted single-line string.
    fn string(&mut self) -> Option<String> {
        self.at += 1; // the opening quote
        let mut out = String::new();
        loop {
            let rest = &self.src[self.at..];
            let plain = rest.find(['"', '\\']).unwrap_or(rest.len());
            let chunk = &rest[..plain];
            if chunk.chars().any(disallowed) {
                return None;
            }
            out.push_str(chunk);
            self.at += plain;
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(out);
                }
                _ => {
                    let c = match self.text.get(self.at + 1)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'b' => '\u{08}',
                        b'f' => '\u{0C}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b's' => ' ',
                        _ => return None,
                    };
                    out.push(c);
                    self.at += 2;
                }
            }
        }
    }
}

/// Characters left to `kdl` inside a string: control characters and line ends (an error there),
/// and the code points KDL forbids.
fn disallowed(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2028}'..='\u{2029}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

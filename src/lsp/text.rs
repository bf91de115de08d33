//! Documents as the editor sees them: text, version, and the one place where LSP positions
//! (line + UTF-16 or UTF-8 column) and layerc's byte offsets are converted.

use lsp_types::{Position, PositionEncodingKind, Range, TextDocumentContentChangeEvent};

use crate::diagnostic::Span;

/// How the client counts columns: UTF-16 code units (the LSP default) or bytes (UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf16,
    Utf8,
}

impl Encoding {
    /// UTF-8 when the client offers it (no conversion needed), else the mandatory UTF-16.
    pub(crate) fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        match offered {
            Some(kinds) if kinds.contains(&PositionEncodingKind::UTF8) => Encoding::Utf8,
            _ => Encoding::Utf16,
        }
    }

    pub(crate) fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf8 => PositionEncodingKind::UTF8,
        }
    }

    fn width(self, c: char) -> usize {
        match self {
            Encoding::Utf16 => c.len_utf16(),
            Encoding::Utf8 => c.len_utf8(),
        }
    }
}

/// An open document's text with the byte offset of each line start.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub text: String,
    pub version: i32,
    line_starts: Vec<usize>,
}

impl Document {
    pub(crate) fn new(text: String, version: i32) -> Self {
        let line_starts = line_starts(&text);
        Document {
            text,
            version,
            line_starts,
        }
    }

    /// Applies `didChange` events in order (ranged edits or a whole new text).
    pub(crate) fn apply(&mut self, changes: Vec<TextDocumentContentChangeEvent>, enc: Encoding) {
        for change in changes {
            match change.range {
                Some(range) => {
                    let start = self.offset(range.start, enc);
                    let end = self.offset(range.end, enc).max(start);
                    self.text.replace_range(start..end, &change.text);
                }
                None => self.text = change.text,
            }
            self.line_starts = line_starts(&self.text);
        }
    }

    /// The byte offset of a position; positions past a line's end or the text's end are clamped,
    /// and a column inside a character lands on that character's start.
    pub(crate) fn offset(&self, pos: Position, enc: Encoding) -> usize {
        let Some(&start) = self.line_starts.get(pos.line as usize) else {
            return self.text.len();
        };
        let line = self.text[start..].split('\n').next().unwrap_or("");
        let mut units = 0;
        for (i, c) in line.char_indices() {
            let next = units + enc.width(c);
            if next > pos.character as usize {
                return start + i;
            }
            units = next;
        }
        start + line.len()
    }

    /// The position of a byte offset (clamped to the text, moved back to a character boundary).
    pub(crate) fn position(&self, offset: usize, enc: Encoding) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let character: usize = self.text[start..offset].chars().map(|c| enc.width(c)).sum();
        Position::new(line as u32, character as u32)
    }

    pub(crate) fn range(&self, span: Span, enc: Encoding) -> Range {
        Range::new(
            self.position(span.offset, enc),
            self.position(span.offset + span.length, enc),
        )
    }

    /// The text a span covers, or "" when the span is out of date.
    pub(crate) fn slice(&self, span: Span) -> &str {
        self.text
            .get(span.offset..span.offset + span.length)
            .unwrap_or("")
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(range: Option<Range>, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range,
            range_length: None,
            text: text.to_string(),
        }
    }

    #[test]
    fn columns_after_non_ascii_text_and_emoji() {
        // "é" is 2 bytes / 1 UTF-16 unit; "🦀" is 4 bytes / 2 UTF-16 units.
        let doc = Document::new("a\n/* é🦀 */ x".to_string(), 1);
        let x = doc.text.find('x').unwrap();
        assert_eq!(doc.position(x, Encoding::Utf16), Position::new(1, 10));
        assert_eq!(doc.position(x, Encoding::Utf8), Position::new(1, 13));
        assert_eq!(doc.offset(Position::new(1, 10), Encoding::Utf16), x);
        assert_eq!(doc.offset(Position::new(1, 13), Encoding::Utf8), x);
        // Inside the surrogate pair: the emoji's start.
        let crab = doc.text.find('🦀').unwrap();
        assert_eq!(doc.offset(Position::new(1, 5), Encoding::Utf16), crab);
    }

    #[test]
    fn out_of_range_positions_are_clamped() {
        let doc = Document::new("ab\ncd".to_string(), 1);
        assert_eq!(doc.offset(Position::new(0, 99), Encoding::Utf16), 2);
        assert_eq!(doc.offset(Position::new(9, 0), Encoding::Utf16), 5);
        assert_eq!(doc.position(99, Encoding::Utf16), Position::new(1, 2));
    }

    #[test]
    fn incremental_edits_apply_in_order() {
        let mut doc = Document::new("layer \"é\" {\n}\n".to_string(), 1);
        let after_e = Position::new(0, 8);
        doc.apply(
            vec![
                change(Some(Range::new(after_e, after_e)), "🦀"),
                change(
                    Some(Range::new(Position::new(1, 0), Position::new(1, 1))),
                    "",
                ),
            ],
            Encoding::Utf16,
        );
        assert_eq!(doc.text, "layer \"é🦀\" {\n\n");
        doc.apply(vec![change(None, "x")], Encoding::Utf16);
        assert_eq!(doc.text, "x");
    }
}

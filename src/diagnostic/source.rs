//! The spec text diagnostics point into, indexed once so that placing a diagnostic costs the same
//! whether it is the first or the hundred-thousandth, and snippets of huge lines are clipped.

use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use super::Span;

/// Bytes between two character-count checkpoints.
const STEP: usize = 4096;

/// A line longer than this is never shown whole: its snippet is clipped around the span.
const LONG_LINE: usize = 400;

/// Bytes shown on each side of a span in a clipped snippet, and the longest label drawn.
const CLIP: usize = 80;

/// The spec text a set of diagnostics points into.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: Arc<str>,
    index: Arc<LineIndex>,
}

#[derive(Debug)]
struct LineIndex {
    /// Byte offset of each line's start.
    starts: Vec<usize>,
    /// Every [`STEP`] bytes (floored to a character boundary): the offset and the characters before.
    checkpoints: Vec<(usize, usize)>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        // Lines end at `\n`, `\r\n` or a lone `\r`, as miette counts them, so that JSON and human
        // positions agree.
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        starts.extend(
            (0..bytes.len())
                .filter(|&i| {
                    bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
                })
                .map(|i| i + 1),
        );
        let mut checkpoints = Vec::with_capacity(text.len() / STEP + 1);
        let mut chars = 0;
        let mut at = 0;
        for step in (0..=text.len()).step_by(STEP) {
            let to = floor_char_boundary(&text, step);
            chars += text[at..to].chars().count();
            at = to;
            checkpoints.push((at, chars));
        }
        SourceFile {
            name: name.into(),
            text,
            index: Arc::new(LineIndex {
                starts,
                checkpoints,
            }),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self.line_of(offset);
        let start = self.index.starts[line];
        (
            line + 1,
            self.chars_before(offset) - self.chars_before(start) + 1,
        )
    }

    /// 0-based line holding the byte at `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.index.starts.partition_point(|&s| s <= offset) - 1
    }

    fn chars_before(&self, offset: usize) -> usize {
        let (at, chars) = self.index.checkpoints[offset / STEP];
        chars + self.text[at..offset].chars().count()
    }

    /// Start of line `line`, or the end of the text past the last line.
    fn line_start(&self, line: usize) -> usize {
        self.index
            .starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// A label's span inside the text, at most [`CLIP`] bytes of it past a long line's limit.
    pub(super) fn label_span(&self, span: Span) -> SourceSpan {
        let len = self.text.len();
        let offset = span.offset.min(len);
        let mut length = span.length.min(len - offset);
        if length > LONG_LINE {
            length = floor_char_boundary(&self.text, offset + CLIP) - offset;
        }
        SourceSpan::new(offset.into(), length)
    }

    /// What miette's snippet for `span` shows: the span's lines with `before` and `after` lines of
    /// context, read from a window of the text around them (never from the start of the text), or,
    /// when one of those lines is long, a clip of the span's own line around the span.
    pub(super) fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text: &'a str = &self.text;
        let (offset, end) = (span.offset(), span.offset() + span.len());
        if end > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let first = self.line_of(offset);
        let last = self.line_of(end.saturating_sub(1).max(offset));
        let from = first.saturating_sub(before);
        let to = last + after + 2;
        let (w0, w1) = (self.line_start(from), self.line_start(to));
        let long = (from..to.min(self.index.starts.len()))
            .any(|l| self.line_start(l + 1) - self.line_start(l) > LONG_LINE);
        let contents = if long {
            // Without context lines miette wants the data to start at the span (its column).
            let pad = if before == 0 { 0 } else { CLIP };
            self.clip(first, last, offset.saturating_sub(pad), end)
        } else {
            // miette's own reading, on the window; its line numbers and counts made absolute.
            let window = &text[w0..w1];
            let shifted = SourceSpan::new((offset - w0).into(), span.len());
            let c = window.read_span(&shifted, before, after)?;
            let start = c.span().offset() + w0;
            MietteSpanContents::new_named(
                self.name.clone(),
                &text.as_bytes()[start..start + c.data().len()],
                SourceSpan::new(start.into(), c.data().len()),
                c.line() + from,
                c.column(),
                c.line_count() + from,
            )
        };
        Ok(Box::new(contents))
    }

    /// The part of lines `first..=last` from `from` to [`CLIP`] bytes after `end`.
    fn clip(&self, first: usize, last: usize, from: usize, end: usize) -> MietteSpanContents<'_> {
        let text: &str = &self.text;
        let line_end = self.line_start(last + 1);
        let start = floor_char_boundary(text, from.max(self.line_start(first)));
        let stop = ceil_char_boundary(text, (end + CLIP).min(line_end));
        // Without the newline, so that the clip is one line.
        let stop = if text[..stop].ends_with('\n') {
            stop - 1
        } else {
            stop
        }
        .max(start);
        MietteSpanContents::new_named(
            self.name.clone(),
            &text.as_bytes()[start..stop],
            SourceSpan::new(start.into(), stop - start),
            first,
            start - self.line_start(first),
            first + 1,
        )
    }
}

impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        SourceFile::read_span(self, span, before, after)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i.min(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let source = SourceFile::new("x.kdl", "ab\néé x");
        assert_eq!(source.line_column(0), (1, 1));
        assert_eq!(source.line_column(3), (2, 1));
        assert_eq!(source.line_column(8), (2, 4));
        for text in ["a\nb\nc", "a\r\nb\r\nc", "a\rb\rc"] {
            let source = SourceFile::new("x.kdl", text);
            let c = text.find('c').unwrap();
            assert_eq!(source.line_column(c), (3, 1), "{text:?}");
        }
    }

    #[test]
    fn columns_past_many_checkpoints() {
        let text = format!("{}\n{}x", "é".repeat(5000), "ü".repeat(7000));
        let source = SourceFile::new("x.kdl", text.as_str());
        let x = text.find('x').unwrap();
        assert_eq!(source.line_column(x), (2, 7001));
        assert_eq!(source.line_column(text.len()), (2, 7002));
    }
}

//! The one rule for showing text from inputs (file names, `DT_NEEDED` entries, spec strings,
//! template text) to people: control characters are written as escapes (`\n`, `\u{1b}`), so a name
//! cannot move the cursor, change colours, retitle the terminal or forge lines of a report, and
//! cannot break a line-based format (Mermaid, dot). JSON needs nothing more: its encoder escapes
//! control characters already.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL and C1) escaped.
pub fn controls(text: &str) -> Cow<'_, str> {
    escape(text, |_, _| true)
}

/// `text` with every control character escaped except line breaks (`\n`, and `\r` before one)
/// and tabs: for whole messages and listings whose lines are layerc's own.
pub fn controls_but_lines(text: &str) -> Cow<'_, str> {
    escape(text, |c, next| match c {
        '\n' | '\t' => false,
        '\r' => next != Some('\n'),
        _ => true,
    })
}

fn escape(text: &str, escaped: impl Fn(char, Option<char>) -> bool) -> Cow<'_, str> {
    // Every control character is a byte below 0x20, 0x7f, or 0xc2 then 0x80-0x9f in UTF-8: text
    // without those bytes (line breaks and tabs aside where they are kept) is passed on after one
    // quick scan, as nearly all text is.
    let kept = |b: u8| matches!(b, b'\n' | b'\t') && !escaped(char::from(b), None);
    if !text
        .bytes()
        .any(|b| (b < 0x20 && !kept(b)) || b == 0x7f || b == 0xc2)
    {
        return Cow::Borrowed(text);
    }
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any |= c.is_control() && escaped(c, chars.peek().copied());
    }
    if !any {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if !c.is_control() || !escaped(c, chars.peek().copied()) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// `text` with each control character but line breaks (`\n`, `\r`, which snippets split lines at)
/// and tabs replaced by as many `?` as its UTF-8 bytes: for source text shown in a snippet, whose
/// byte offsets must not move.
pub fn controls_in_place(text: &str) -> Cow<'_, str> {
    let keep = |c: char| !c.is_control() || matches!(c, '\n' | '\r' | '\t');
    let mut out: Option<String> = None;
    let mut at = 0;
    for c in text.chars() {
        let len = c.len_utf8();
        if !keep(c) {
            let out = out.get_or_insert_with(|| text[..at].to_string());
            out.extend(std::iter::repeat_n('?', len));
        } else if let Some(out) = &mut out {
            out.push(c);
        }
        at += len;
    }
    out.map_or(Cow::Borrowed(text), Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_others_kept() {
        assert_eq!(controls("libz.so.1"), "libz.so.1");
        assert_eq!(controls("a\u{1b}]0;x\u{7}b"), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(controls("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(controls("\u{9b}31m é"), "\\u{9b}31m é");
        assert_eq!(controls_but_lines("a\nb\u{1b}"), "a\nb\\u{1b}");
        assert_eq!(controls_but_lines("a\r\nb\rc"), "a\r\nb\\rc");
        let in_place = controls_in_place("a\u{1b}b\r\nc\rd\u{85}e");
        assert_eq!(in_place, "a?b\r\nc\rd??e");
        assert_eq!(in_place.len(), "a\u{1b}b\r\nc\rd\u{85}e".len());
    }
}

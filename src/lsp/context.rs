//! Where the cursor is, read from the raw text: completion must work on half-typed specs that the
//! KDL parser refuses, so this is a forgiving scanner rather than the real parser.

/// An open block around the cursor: its node name and its first argument (`layer "fonts" {`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Block {
    pub node: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Place {
    /// Typing a node name (or nothing yet) at the start of a line.
    NodeName,
    /// After a node name, outside any string: a property name or a (quoted) argument goes here.
    Bare,
    /// Inside a quoted argument of `node`.
    InString,
    /// After `prop=`, or inside its quoted value.
    PropertyValue { prop: String, in_string: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cursor {
    /// Open blocks, outermost first.
    pub blocks: Vec<Block>,
    /// The node of the line being typed, once its name is complete.
    pub node: Option<String>,
    pub place: Place,
    /// Where the word or string content being typed starts (a byte offset); it ends at the cursor.
    pub start: usize,
}

impl Cursor {
    pub(super) fn parent(&self) -> Option<&Block> {
        self.blocks.last()
    }
}

const SPECIAL: &[u8] = b"{}();=\"\\ \t\r\n";

/// The cursor's context at byte `offset`, or `None` inside a comment.
pub(super) fn at(text: &str, offset: usize) -> Option<Cursor> {
    let bytes = &text.as_bytes()[..offset.min(text.len())];
    let mut scan = Scan::default();
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => find(bytes, i, b"\n")?,
            b'/' if bytes.get(i + 1) == Some(&b'*') => find(bytes, i + 2, b"*/")? + 2,
            b'/' if bytes.get(i + 1) == Some(&b'-') => i + 2,
            b'"' | b'#' if starts_string(&bytes[i..]) => match scan.string(bytes, i) {
                Ok(next) => next,
                Err(cursor) => return Some(cursor),
            },
            b'{' => {
                scan.blocks.push(Block {
                    node: scan.node.take().unwrap_or_default(),
                    name: scan.first_arg.take(),
                });
                scan.prop = None;
                i + 1
            }
            b'}' => {
                scan.blocks.pop();
                scan.end_node();
                i + 1
            }
            b'\n' | b';' => {
                scan.end_node();
                i + 1
            }
            b' ' | b'\t' | b'\r' | b'\\' | b'(' | b')' | b'=' => i + 1,
            _ => match scan.word(bytes, i) {
                Ok(next) => next,
                Err(cursor) => return Some(cursor),
            },
        };
    }
    let place = scan.bare_place();
    Some(scan.cursor(place, bytes.len()))
}

/// What the scanner knows of the line and the blocks around it so far.
#[derive(Default)]
struct Scan {
    blocks: Vec<Block>,
    node: Option<String>,
    first_arg: Option<String>,
    prop: Option<String>,
}

impl Scan {
    fn cursor(&self, place: Place, start: usize) -> Cursor {
        Cursor {
            blocks: self.blocks.clone(),
            node: self.node.clone(),
            place,
            start,
        }
    }

    fn end_node(&mut self) {
        (self.node, self.first_arg, self.prop) = (None, None, None);
    }

    /// Where an unquoted word being typed goes.
    fn bare_place(&mut self) -> Place {
        match (&self.node, self.prop.take()) {
            (None, _) => Place::NodeName,
            (Some(_), Some(prop)) => Place::PropertyValue {
                prop,
                in_string: false,
            },
            (Some(_), None) => Place::Bare,
        }
    }

    /// A string starting at `i`: the offset after it, or the cursor when the text ends inside it.
    fn string(&mut self, bytes: &[u8], i: usize) -> Result<usize, Cursor> {
        let hashes = bytes[i..].iter().take_while(|&&b| b == b'#').count();
        let start = i + hashes + 1;
        let Some(end) = string_end(bytes, start, hashes) else {
            let place = match self.prop.take() {
                Some(prop) => Place::PropertyValue {
                    prop,
                    in_string: true,
                },
                None if self.node.is_none() => Place::NodeName,
                None => Place::InString,
            };
            return Err(self.cursor(place, start));
        };
        let value = String::from_utf8_lossy(&bytes[start..end]).into_owned();
        if self.node.is_none() {
            self.node = Some(value);
        } else if self.prop.take().is_none() && self.first_arg.is_none() {
            self.first_arg = Some(value);
        }
        Ok(end + 1 + hashes)
    }

    /// An unquoted word starting at `i`: the offset after it, or the cursor when the text ends in
    /// it.
    fn word(&mut self, bytes: &[u8], start: usize) -> Result<usize, Cursor> {
        let mut i = start;
        while i < bytes.len() && !SPECIAL.contains(&bytes[i]) {
            i += 1;
        }
        if i == bytes.len() {
            let place = self.bare_place();
            return Err(self.cursor(place, start));
        }
        let word = String::from_utf8_lossy(&bytes[start..i]).into_owned();
        if self.node.is_none() {
            self.node = Some(word);
        } else if bytes[i] == b'=' {
            self.prop = Some(word);
        } else {
            self.prop = None;
        }
        Ok(i)
    }
}

fn starts_string(bytes: &[u8]) -> bool {
    let hashes = bytes.iter().take_while(|&&b| b == b'#').count();
    bytes.get(hashes) == Some(&b'"')
}

/// The offset of a string's closing quote (`"` followed by `hashes` `#`), honouring `\` escapes
/// in plain strings; `None` when the text ends first.
fn string_end(bytes: &[u8], mut i: usize, hashes: usize) -> Option<usize> {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if hashes == 0 => i += 2,
            b'"' if bytes[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&b| b == b'#')
                .count()
                == hashes =>
            {
                return Some(i);
            }
            _ => i += 1,
        }
    }
    None
}

/// The offset of `needle` at or after `from`; `None` (the cursor is inside) when it is not there.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_bar(text: &str) -> Cursor {
        let offset = text.find('|').unwrap();
        let text = text.replace('|', "");
        at(&text, offset).unwrap()
    }

    #[test]
    fn node_names_at_each_level() {
        let c = at_bar("layer \"a\" {\n    |\n}\n");
        assert_eq!(c.place, Place::NodeName);
        assert_eq!(
            c.parent(),
            Some(&Block {
                node: "layer".into(),
                name: Some("a".into())
            })
        );
        let c = at_bar("layer \"a\" {\n  ru|");
        assert_eq!((c.place, c.start), (Place::NodeName, 14));
        assert!(at_bar("|").blocks.is_empty());
        assert!(
            at_bar("layer \"a\" { library \"x\" }\nfun|")
                .blocks
                .is_empty()
        );
    }

    #[test]
    fn arguments_strings_and_properties() {
        let c = at_bar("layer \"a\" {\n  runtime \"prov|\"\n}");
        assert_eq!(c.place, Place::InString);
        assert_eq!(c.node.as_deref(), Some("runtime"));
        assert_eq!(c.start, "layer \"a\" {\n  runtime \"".len());
        let c = at_bar("layer \"a\" {\n  library \"x\" |");
        assert_eq!(c.place, Place::Bare);
        let c = at_bar("layer \"a\" {\n  library \"x\" override=|");
        assert_eq!(
            c.place,
            Place::PropertyValue {
                prop: "override".into(),
                in_string: false
            }
        );
        let c = at_bar("layer \"a\" {\n  file \"/x\" to=\"li|");
        assert_eq!(
            c.place,
            Place::PropertyValue {
                prop: "to".into(),
                in_string: true
            }
        );
    }

    #[test]
    fn comments_and_closed_strings_do_not_confuse_it() {
        assert_eq!(at("// x", 3), None);
        let c = at_bar("layer \"{\\\"\" { /* } */ runtime \"|");
        assert_eq!(c.place, Place::InString);
        assert_eq!(c.blocks.len(), 1);
        let c = at_bar("layer #\"a\"b\"# {\n|");
        assert_eq!(c.parent().unwrap().name.as_deref(), Some("a\"b"));
    }
}

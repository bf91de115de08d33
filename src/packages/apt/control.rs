//! Debian control data: deb822 paragraphs (`Release`, `Packages`) and dependency fields, as
//! Debian policy 5.1 and 7.1 describe them.

use crate::packages::version::Op;

/// One paragraph: fields in order, continuation lines joined with `\n`.
#[derive(Debug, Default, Clone)]
pub struct Paragraph<'a> {
    fields: Vec<(&'a str, String)>,
}

impl<'a> Paragraph<'a> {
    /// The value of a field (names are case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The paragraphs of a deb822 text, separated by blank lines; `#` comment lines are skipped.
pub fn paragraphs(text: &str) -> Vec<Paragraph<'_>> {
    let mut out = Vec::new();
    let mut current = Paragraph::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            current.fields.push((name.trim(), value.trim().to_string()));
        }
    }
    if !current.fields.is_empty() {
        out.push(current);
    }
    out
}

/// One alternative of a dependency: `name[:arch] [(op version)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub name: String,
    /// `any`, `native` or an architecture, after a `:`.
    pub arch: Option<String>,
    pub version: Option<(Op, String)>,
}

impl std::fmt::Display for Relation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if let Some(arch) = &self.arch {
            write!(f, ":{arch}")?;
        }
        if let Some((op, v)) = &self.version {
            write!(f, " ({} {v})", op.as_str())?;
        }
        Ok(())
    }
}

/// A dependency field: comma-separated groups of `|`-separated alternatives (policy 7.1).
/// Architecture restrictions `[...]` (source-only syntax) are dropped.
pub fn relations(field: &str) -> Result<Vec<Vec<Relation>>, String> {
    field
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|group| group.split('|').map(relation).collect())
        .collect()
}

fn relation(text: &str) -> Result<Relation, String> {
    let text = strip_enclosed(text.trim(), '[', ']');
    let (head, version) = match text.split_once('(') {
        Some((head, rest)) => {
            let inner = rest
                .strip_suffix(')')
                .or_else(|| rest.split_once(')').map(|(v, _)| v))
                .ok_or_else(|| format!("unclosed `(` in `{text}`"))?;
            (head.trim(), Some(version_constraint(inner)?))
        }
        None => (text.trim(), None),
    };
    if head.is_empty() || head.contains(char::is_whitespace) {
        return Err(format!("`{text}` is not a package relation"));
    }
    let (name, arch) = match head.split_once(':') {
        Some((n, a)) => (n, Some(a.to_string())),
        None => (head, None),
    };
    Ok(Relation {
        name: name.to_string(),
        arch,
        version,
    })
}

fn version_constraint(inner: &str) -> Result<(Op, String), String> {
    let inner = inner.trim();
    let ops = [
        ("<<", Op::Lt),
        ("<=", Op::Le),
        (">=", Op::Ge),
        (">>", Op::Gt),
        ("=", Op::Eq),
        // Obsolete forms dpkg still reads as <= and >= (policy 7.1).
        ("<", Op::Le),
        (">", Op::Ge),
    ];
    for (text, op) in ops {
        if let Some(v) = inner.strip_prefix(text) {
            let v = v.trim();
            if v.is_empty() {
                break;
            }
            return Ok((op, v.to_string()));
        }
    }
    Err(format!("`({inner})` is not a version constraint"))
}

/// `text` without the parts between `open` and `close`.
fn strip_enclosed(text: &str, open: char, close: char) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0;
    for c in text.chars() {
        if c == open {
            depth += 1;
        } else if c == close && depth > 0 {
            depth -= 1;
        } else if depth == 0 {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_and_continuations() {
        let text = "Package: a\nDescription: one\n two\n\n\nPackage: b\nDepends: c\n";
        let ps = paragraphs(text);
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].get("description"), Some("one\ntwo"));
        assert_eq!(ps[1].get("Depends"), Some("c"));
    }

    #[test]
    fn dependency_fields() {
        let groups =
            relations("libc6 (>= 2.14), debconf (>= 0.5) | debconf-2.0, python3:any, foo [amd64]")
                .unwrap();
        assert_eq!(groups.len(), 4);
        assert_eq!(groups[0][0].version, Some((Op::Ge, "2.14".into())));
        assert_eq!(groups[1][1].name, "debconf-2.0");
        assert_eq!(groups[2][0].arch.as_deref(), Some("any"));
        assert_eq!(groups[3][0].name, "foo");
        assert_eq!(
            relations("a (<< 2)").unwrap()[0][0].version,
            Some((Op::Lt, "2".into()))
        );
        assert!(relations("a (>= )").is_err());
    }
}

//! `repomd.xml` and `primary.xml` of an RPM repository (createrepo_c's formats): which files the
//! repository metadata has with their sha256, and each package's name, version, file, sha256,
//! provides, requires and the files primary.xml lists (the `/etc`, `bin/` and
//! `/usr/lib/sendmail` paths file dependencies use).

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::packages::version::{Evr, Op};

/// A dependency or provide: a name with an optional version range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub name: String,
    pub op: Option<Op>,
    pub evr: Evr,
}

impl std::fmt::Display for Dep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if let Some(op) = self.op {
            let op = match op {
                Op::Lt => "<",
                Op::Le => "<=",
                Op::Eq => "=",
                Op::Ge => ">=",
                Op::Gt => ">",
            };
            write!(f, " {op} {}", self.evr)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
pub struct RpmPackage {
    pub name: String,
    pub arch: String,
    pub evr: Evr,
    pub sha256: String,
    pub size: u64,
    /// `location href`, relative to the repository (or to `xml:base`).
    pub location: String,
    pub base: Option<String>,
    pub provides: Vec<Dep>,
    /// Each requirement a group of alternatives (a rich `or` dependency has several).
    pub requires: Vec<Vec<Dep>>,
    pub files: Vec<String>,
}

/// A metadata file repomd.xml lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    pub kind: String,
    pub location: String,
    pub sha256: String,
    pub size: Option<u64>,
}

fn attr(e: &BytesStart, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name || a.key.as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// The text of an entity reference (`amp`, `#38`, `#x26`).
fn entity(name: &str) -> String {
    let named = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    };
    let numeric = || {
        let n = name.strip_prefix('#')?;
        let code = match n.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => n.parse().ok()?,
        };
        char::from_u32(code)
    };
    named.or_else(numeric).map(String::from).unwrap_or_default()
}

/// The metadata files repomd.xml lists (`type`, `location`, `checksum`).
pub fn repomd(text: &str) -> Result<Vec<RepoFile>, String> {
    let mut reader = Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut current: Option<RepoFile> = None;
    let mut field: Option<&'static str> = None;
    let mut checksum_type = String::new();
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| e.to_string())?;
        match &event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"data" => {
                    current = Some(RepoFile {
                        kind: attr(e, b"type").unwrap_or_default(),
                        location: String::new(),
                        sha256: String::new(),
                        size: None,
                    })
                }
                b"location" => {
                    if let Some(c) = &mut current {
                        c.location = attr(e, b"href").unwrap_or_default();
                    }
                }
                b"checksum" => {
                    checksum_type = attr(e, b"type").unwrap_or_default();
                    field = Some("checksum");
                }
                b"size" => field = Some("size"),
                _ => field = None,
            },
            Event::Text(t) => {
                let text = t.decode().map_err(|e| e.to_string())?;
                match (field, &mut current) {
                    (Some("checksum"), Some(c)) if checksum_type == "sha256" => {
                        c.sha256 = text.trim().to_ascii_lowercase()
                    }
                    (Some("size"), Some(c)) => c.size = text.trim().parse().ok(),
                    _ => {}
                }
            }
            Event::End(e) => {
                field = None;
                if e.local_name().as_ref() == b"data"
                    && let Some(c) = current.take()
                {
                    out.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// Reads primary.xml, keeping the packages `keep` accepts (by architecture).
pub fn primary(
    input: impl BufRead,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<RpmPackage>, String> {
    let mut reader = Reader::from_reader(input);
    let mut parser = Primary::default();
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("not valid XML: {e}"))?;
        match event {
            Event::Start(e) => parser.start(&e, false)?,
            Event::Empty(e) => parser.start(&e, true)?,
            Event::Text(t) => parser
                .text
                .push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => {
                parser
                    .text
                    .push_str(&entity(&r.decode().map_err(|e| e.to_string())?));
            }
            Event::End(e) => {
                if let Some(done) = parser.end(e.local_name().as_ref())
                    && keep(&done.arch)
                {
                    parser.out.push(done);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(parser.out)
}

#[derive(Default)]
struct Primary {
    out: Vec<RpmPackage>,
    current: Option<RpmPackage>,
    /// `provides`, `requires` or another dependency list being read.
    list: Option<String>,
    checksum_sha256: bool,
    text: String,
}

impl Primary {
    fn start(&mut self, e: &BytesStart, empty: bool) -> Result<(), String> {
        let name = e.local_name();
        let name = name.as_ref();
        self.text.clear();
        if name == b"package" {
            self.current = Some(RpmPackage::default());
            return Ok(());
        }
        let Some(p) = &mut self.current else {
            return Ok(());
        };
        match name {
            b"version" => {
                p.evr = Evr {
                    epoch: attr(e, b"epoch"),
                    version: attr(e, b"ver").unwrap_or_default(),
                    release: attr(e, b"rel"),
                }
            }
            b"checksum" => self.checksum_sha256 = attr(e, b"type").as_deref() == Some("sha256"),
            b"size" => {
                p.size = attr(e, b"package")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            }
            b"location" => {
                p.location = attr(e, b"href").unwrap_or_default();
                p.base = attr(e, b"base");
            }
            b"entry" => {
                let dep = entry(e)?;
                match self.list.as_deref() {
                    Some("provides") => p.provides.push(dep),
                    // `rpmlib(...)` features are answered by the rpm that installs, not a package.
                    Some("requires") if dep.name.starts_with("rpmlib(") => {}
                    Some("requires") => p
                        .requires
                        .extend(rich(&dep.name).unwrap_or_else(|| vec![vec![dep]])),
                    _ => {}
                }
            }
            b"provides" | b"requires" | b"conflicts" | b"obsoletes" | b"suggests"
            | b"recommends" | b"supplements" | b"enhances"
                if !empty =>
            {
                self.list = Some(String::from_utf8_lossy(name).into_owned());
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8]) -> Option<RpmPackage> {
        let text = std::mem::take(&mut self.text);
        let p = self.current.as_mut()?;
        match name {
            b"name" if p.name.is_empty() => p.name = text.trim().to_string(),
            b"arch" => p.arch = text.trim().to_string(),
            b"checksum" if self.checksum_sha256 => p.sha256 = text.trim().to_ascii_lowercase(),
            b"file" => p.files.push(text),
            b"provides" | b"requires" | b"conflicts" | b"obsoletes" | b"suggests"
            | b"recommends" | b"supplements" | b"enhances" => self.list = None,
            b"package" => return self.current.take(),
            _ => {}
        }
        None
    }
}

/// A `<rpm:entry name= flags= epoch= ver= rel=/>`.
fn entry(e: &BytesStart) -> Result<Dep, String> {
    let name = attr(e, b"name").ok_or("a dependency entry without a name")?;
    let op = match attr(e, b"flags").as_deref() {
        None => None,
        Some("LT") => Some(Op::Lt),
        Some("LE") => Some(Op::Le),
        Some("EQ") => Some(Op::Eq),
        Some("GE") => Some(Op::Ge),
        Some("GT") => Some(Op::Gt),
        Some(other) => return Err(format!("unknown dependency flags {other}")),
    };
    Ok(Dep {
        name,
        op,
        evr: Evr {
            epoch: attr(e, b"epoch"),
            version: attr(e, b"ver").unwrap_or_default(),
            release: attr(e, b"rel"),
        },
    })
}

/// A rich (boolean) dependency, as groups: `(A or B)` one group of alternatives, `(A and B)`
/// one group each; `if`, `unless`, `with` and `without` are conditions a fresh install of the
/// named packages is not asked to meet here, so they add nothing. `None` for a plain name.
fn rich(text: &str) -> Option<Vec<Vec<Dep>>> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    let words: Vec<&str> = inner.split_whitespace().collect();
    let ops = ["and", "or", "if", "unless", "with", "without", "else"];
    let mut terms: Vec<Vec<&str>> = vec![Vec::new()];
    let mut op = None;
    for w in words {
        if ops.contains(&w) {
            op.get_or_insert(w);
            terms.push(Vec::new());
        } else if let Some(t) = terms.last_mut() {
            t.push(w);
        }
    }
    let deps: Vec<Dep> = terms.iter().filter_map(|t| simple(t)).collect();
    Some(match op {
        Some("or") => vec![deps],
        Some("and") => deps.into_iter().map(|d| vec![d]).collect(),
        _ => Vec::new(),
    })
}

/// `name [op evr]` of a rich dependency term.
fn simple(words: &[&str]) -> Option<Dep> {
    let name = words.first()?.trim_matches(['(', ')']).to_string();
    let op = match words.get(1).copied() {
        Some("<") => Some(Op::Lt),
        Some("<=") => Some(Op::Le),
        Some("=") => Some(Op::Eq),
        Some(">=") => Some(Op::Ge),
        Some(">") => Some(Op::Gt),
        _ => None,
    };
    let evr = words
        .get(2)
        .map(|v| parse_evr(v.trim_end_matches(')')))
        .unwrap_or_default();
    Some(Dep { name, op, evr })
}

/// `[epoch:]version[-release]`.
pub fn parse_evr(text: &str) -> Evr {
    let (epoch, rest) = match text.split_once(':') {
        Some((e, r)) => (Some(e.to_string()), r),
        None => (None, text),
    };
    let (version, release) = match rest.rsplit_once('-') {
        Some((v, r)) => (v.to_string(), Some(r.to_string())),
        None => (rest.to_string(), None),
    };
    Evr {
        epoch,
        version,
        release,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_packages() {
        let xml = r#"<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
<package type="rpm"><name>foo</name><arch>x86_64</arch><version epoch="0" ver="1.0" rel="1"/>
<checksum type="sha256" pkgid="YES">ABCD</checksum><size package="99" installed="1" archive="2"/>
<location href="Packages/foo-1.0-1.x86_64.rpm"/><format>
<rpm:provides><rpm:entry name="foo" flags="EQ" epoch="0" ver="1.0" rel="1"/><rpm:entry name="libfoo.so.1()(64bit)"/></rpm:provides>
<rpm:requires><rpm:entry name="/bin/sh" pre="1"/><rpm:entry name="(bar or baz &gt;= 2)"/></rpm:requires>
<file>/usr/bin/a&amp;b</file></format></package>
<package type="rpm"><name>skip</name><arch>i686</arch><version ver="1"/></package></metadata>"#;
        let ps = primary(xml.as_bytes(), |a| a != "i686").unwrap();
        assert_eq!(ps.len(), 1);
        let p = &ps[0];
        assert_eq!(
            (p.name.as_str(), p.sha256.as_str(), p.size),
            ("foo", "abcd", 99)
        );
        assert_eq!(p.provides[1].name, "libfoo.so.1()(64bit)");
        assert_eq!(p.requires.len(), 2);
        assert_eq!(p.requires[1].len(), 2);
        assert_eq!(p.requires[1][1].op, Some(Op::Ge));
        assert_eq!(p.files, ["/usr/bin/a&b"]);
    }
}

//! Paths inside a layer: what may become a zip entry name or a symlink target.
//!
//! Invariant: a [`LayerPath`] can only be built through [`LayerPath::new`] or [`LayerPath::join`],
//! so every zip entry is a plain relative path that stays inside the layer (no empty, `.` or `..`
//! component, no control character, within Linux's name limits).

use std::fmt;

/// Longest file name Linux file systems take (`NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Longest path the kernel takes, without its final NUL (`PATH_MAX` - 1).
pub const PATH_MAX: usize = 4095;

/// A plain relative path inside the layer, `/`-separated (`lib/libz.so.1`, `etc/fonts`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LayerPath(String);

/// Why a string is not a path inside the layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadPath {
    #[error("it is empty")]
    Empty,
    #[error("it is absolute")]
    Absolute,
    #[error("it has an empty, `.` or `..` component")]
    Dots,
    #[error("it holds the control character {0:?}")]
    Control(char),
    #[error("a component is longer than {NAME_MAX} bytes")]
    LongName,
    #[error("it is longer than {PATH_MAX} bytes")]
    LongPath,
    #[error("it holds a `/`, so it is not one file name")]
    NotOneName,
}

impl LayerPath {
    pub fn new(path: &str) -> Result<LayerPath, BadPath> {
        if path.is_empty() {
            return Err(BadPath::Empty);
        }
        if path.starts_with('/') {
            return Err(BadPath::Absolute);
        }
        if path.len() > PATH_MAX {
            return Err(BadPath::LongPath);
        }
        path.split('/').try_for_each(check_component)?;
        Ok(LayerPath(path.to_string()))
    }

    /// A path of one component: a file name (a soname, a name a library is asked for by).
    pub fn name(name: &str) -> Result<LayerPath, BadPath> {
        check_name(name)?;
        LayerPath::new(name)
    }

    /// `self/name`, where `name` is one file name.
    pub fn join(&self, name: &str) -> Result<LayerPath, BadPath> {
        check_name(name)?;
        LayerPath::new(&format!("{}/{name}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The folders above the path, nearest last: `a/b/c` → `a`, `a/b`.
    pub fn ancestors(&self) -> impl Iterator<Item = &str> {
        self.0.match_indices('/').map(|(i, _)| &self.0[..i])
    }
}

/// Ordered as its text, so sorted maps keyed by it can be searched with a `&str`.
impl std::borrow::Borrow<str> for LayerPath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LayerPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks one file name: a single component.
pub fn check_name(name: &str) -> Result<(), BadPath> {
    if name.contains('/') {
        return Err(BadPath::NotOneName);
    }
    check_component(name)
}

fn check_component(part: &str) -> Result<(), BadPath> {
    if matches!(part, "" | "." | "..") {
        return Err(BadPath::Dots);
    }
    if let Some(c) = part.chars().find(|c| c.is_control()) {
        return Err(BadPath::Control(c));
    }
    if part.len() > NAME_MAX {
        return Err(BadPath::LongName);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_pass() {
        assert_eq!(
            LayerPath::new("lib/libz.so.1").unwrap().as_str(),
            "lib/libz.so.1"
        );
        for bad in [
            "", "/etc/x", "lib/../x", "..", "lib//x", "lib/", "./x", "a\0b", "a\nb",
        ] {
            assert!(LayerPath::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(LayerPath::new(&"a".repeat(256)), Err(BadPath::LongName));
        let lib = LayerPath::new("lib").unwrap();
        assert_eq!(lib.join("x.so").unwrap().as_str(), "lib/x.so");
        for bad in ["../../../../tmp/PWNED", "/etc/passwd", "..", ".", "a/b", ""] {
            assert!(lib.join(bad).is_err(), "{bad:?}");
            assert!(LayerPath::name(bad).is_err(), "{bad:?}");
        }
        let deep = LayerPath::new("a/b/c").unwrap();
        assert_eq!(deep.ancestors().collect::<Vec<_>>(), ["a", "a/b"]);
    }
}

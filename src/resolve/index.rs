//! The library names in a rootfs's search folders, read once per rootfs generation: "did you mean"
//! for every missing library (and, later, completion) asks it instead of listing folders again.

use std::collections::{BTreeMap, BTreeSet};

use super::search::SystemPaths;
use crate::rootfs::{self, RootFs, RootPath, Stamp};

/// Least `strsim::normalized_damerau_levenshtein` score for a near spelling.
const NEAR: f64 = 0.7;

#[derive(Debug, Clone, PartialEq)]
pub struct LibraryIndex {
    /// The folders listed, with the stamp each had: a folder whose entries change gets a new mtime.
    folders: Vec<(RootPath, Option<Stamp>)>,
    /// Each library stem (`gdiplus` for `libgdiplus.so.0.0.0`) with the file names that have it,
    /// sorted.
    stems: BTreeMap<String, BTreeSet<String>>,
}

impl LibraryIndex {
    /// Lists the search folders of `system` (`.so` files only).
    pub fn read(fs: &dyn RootFs, system: &SystemPaths) -> LibraryIndex {
        let mut folders = Vec::new();
        let mut stems: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for dir in system.all() {
            let resolved = rootfs::resolve(fs, dir).ok();
            let stamp = resolved
                .as_ref()
                .and_then(|r| fs.stamp(&r.path).ok().flatten());
            folders.push((dir.clone(), stamp));
            let Some(list) = resolved.and_then(|r| fs.read_dir(&r.path).ok()) else {
                continue;
            };
            for name in list.into_iter().filter(|n| n.contains(".so")) {
                stems
                    .entry(library_stem(&name).to_string())
                    .or_default()
                    .insert(name);
            }
        }
        LibraryIndex { folders, stems }
    }

    /// True while it was read from these folders and none of them changed.
    pub fn is_current(&self, fs: &dyn RootFs, system: &SystemPaths) -> bool {
        self.folders.len() == system.all().count()
            && self
                .folders
                .iter()
                .zip(system.all())
                .all(|((dir, stamp), want)| {
                    dir == want
                        && rootfs::resolve(fs, dir)
                            .ok()
                            .and_then(|r| fs.stamp(&r.path).ok().flatten())
                            == *stamp
                })
    }

    /// A file whose name is close to `name`: another version of the same library first, then a
    /// library whose stem is a near spelling (best score, then the first name).
    pub fn close_name(&self, name: &str) -> Option<&str> {
        let stem = library_stem(name);
        if let Some(same) = self.stems.get(stem).and_then(|n| best(n, name)) {
            return Some(same);
        }
        let len = stem.chars().count();
        self.stems
            .iter()
            // A score of NEAR needs lengths within (1 - NEAR) of the longer: skip the rest unscored.
            .filter(|(s, _)| {
                let other = s.chars().count();
                (len.abs_diff(other) as f64) <= (1.0 - NEAR) * len.max(other) as f64
            })
            .filter_map(|(s, names)| {
                let first = best(names, name)?;
                Some((strsim::normalized_damerau_levenshtein(stem, s), first))
            })
            .filter(|(score, _)| *score >= NEAR)
            .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
            .map(|(_, n)| n)
    }
}

/// The name of one library to suggest for `wanted`: a soname (`libicuuc.so.72`) before a real
/// file name (`libicuuc.so.72.1`) before the development link (`libicuuc.so`), then the major
/// version closest to the one asked for, then the name.
fn best<'a>(names: &'a BTreeSet<String>, wanted: &str) -> Option<&'a str> {
    let major =
        |n: &str| -> Option<u64> { n.split(".so.").nth(1)?.split('.').next()?.parse().ok() };
    let kind = |n: &str| match n.split(".so").nth(1).map(|v| v.matches('.').count()) {
        Some(1) => 0,
        Some(0) => 2,
        _ => 1,
    };
    let distance = |n: &str| match (major(wanted), major(n)) {
        (Some(a), Some(b)) => a.abs_diff(b),
        _ => u64::MAX,
    };
    names
        .iter()
        .map(String::as_str)
        .filter(|n| *n != wanted)
        .min_by_key(|n| (kind(n), distance(n), *n))
}

/// `libgdiplus.so.0.0.0` → `gdiplus`: the part of a library file name that says which library it is.
fn library_stem(name: &str) -> &str {
    let name = name.strip_prefix("lib").unwrap_or(name);
    name.split(".so").next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_soname_of_the_closest_version_is_suggested() {
        let freetype = names(&[
            "libfreetype.so",
            "libfreetype.so.6",
            "libfreetype.so.6.18.3",
        ]);
        assert_eq!(best(&freetype, "libfreetyp.so.6"), Some("libfreetype.so.6"));
        let icu = names(&[
            "libicuuc.so",
            "libicuuc.so.72",
            "libicuuc.so.72.1",
            "libicuuc.so.63",
        ]);
        assert_eq!(best(&icu, "libicuuc.so.67"), Some("libicuuc.so.63"));
        assert_eq!(best(&icu, "libicuuc.so.71"), Some("libicuuc.so.72"));
        assert_eq!(best(&names(&["libz.so"]), "libz.so.1"), Some("libz.so"));
        assert_eq!(best(&names(&["libz.so.1"]), "libz.so.1"), None);
    }
}

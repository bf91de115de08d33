//! The names in a rootfs's search folders, each folder listed once per rootfs generation. The
//! loader's lookups ask it first, the way glibc's loader asks `ld.so.cache` instead of the disk: a
//! name that is not in a folder costs nothing, and only a name that is there is resolved on disk.
//! "Did you mean" for every missing library asks it too.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use super::search::SystemPaths;
use crate::rootfs::{self, Kind, RootFs, RootPath, RootfsError, Stamp};

/// Folders whose size (`st_size`: about 4 KiB per 100 entries on ext4) is larger are not listed
/// for lookups: listing 1,200 entries costs more than the `lstat`s of the names a closure misses
/// there, since most names looked up in such a folder are found in it. "Did you mean" lists them.
const LIST_MAX: u64 = 16 << 10;

/// Least `strsim::normalized_damerau_levenshtein` score for a near spelling.
const NEAR: f64 = 0.7;

#[derive(Debug)]
pub struct LibraryIndex {
    /// Each search folder, in search order.
    folders: Vec<Folder>,
    /// Each library stem (`gdiplus` for `libgdiplus.so.0.0.0`) with the file names that have it,
    /// sorted: made on the first "did you mean".
    stems: OnceLock<BTreeMap<String, BTreeSet<String>>>,
}

/// One search folder as it was listed.
#[derive(Debug)]
struct Folder {
    /// The folder as the search path names it.
    dir: RootPath,
    /// The stamp of the real folder: a folder whose entries change gets a new mtime.
    stamp: Option<Stamp>,
    listing: Listing,
}

/// What a search folder holds.
#[derive(Debug)]
pub enum Listing {
    /// Nothing: the path is not there, or is not a folder.
    Absent,
    /// The real folder (no symlink left in its path) and the names in it.
    Names(RootPath, HashSet<String>),
    /// A real folder too large to be worth listing for lookups ([`LIST_MAX`]): each name is looked
    /// up there directly, which costs one `lstat` when it is absent.
    Large(RootPath),
    /// It could not be listed (a symlink loop, an unreadable folder): each name is looked up on
    /// disk, so that the lookup reports why.
    Unknown,
}

impl LibraryIndex {
    /// Lists the search folders of `system`.
    pub fn read(fs: &dyn RootFs, system: &SystemPaths) -> LibraryIndex {
        let mut seen = HashSet::new();
        let folders = system
            .all()
            .filter(|dir| seen.insert(*dir))
            .map(|dir| list(fs, dir))
            .collect();
        LibraryIndex {
            folders,
            stems: OnceLock::new(),
        }
    }

    /// True while it was read from these folders and none of them changed.
    pub fn is_current(&self, fs: &dyn RootFs, system: &SystemPaths) -> bool {
        let mut seen = HashSet::new();
        let mut wanted = system.all().filter(|dir| seen.insert(*dir));
        self.folders.iter().all(|folder| {
            wanted.next() == Some(&folder.dir) && real_folder(fs, &folder.dir).1 == folder.stamp
        }) && wanted.next().is_none()
    }

    /// What the search folder `dir` holds, when it is one of the listed folders.
    pub fn listing(&self, dir: &RootPath) -> Option<&Listing> {
        self.folders
            .iter()
            .find(|f| &f.dir == dir)
            .map(|f| &f.listing)
    }

    /// The stems of the `.so` names in every folder (large ones listed now).
    fn stems(&self, fs: &dyn RootFs) -> &BTreeMap<String, BTreeSet<String>> {
        self.stems.get_or_init(|| {
            let mut stems: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            let names = self.folders.iter().flat_map(|f| match &f.listing {
                Listing::Names(_, names) => names.iter().cloned().collect(),
                Listing::Large(real) => fs.read_dir(real).unwrap_or_default(),
                Listing::Absent | Listing::Unknown => Vec::new(),
            });
            for name in names.filter(|n| n.contains(".so")) {
                stems
                    .entry(library_stem(&name).to_string())
                    .or_default()
                    .insert(name);
            }
            stems
        })
    }

    /// Every name with `.so` in it in the search folders (large ones listed now), sorted, once
    /// each: what completion offers.
    pub fn library_names(&self, fs: &dyn RootFs) -> impl Iterator<Item = &str> {
        let names: BTreeSet<&str> = self
            .stems(fs)
            .values()
            .flatten()
            .map(String::as_str)
            .collect();
        names.into_iter()
    }

    /// A file whose name is close to `name`: another version of the same library first, then a
    /// library whose stem is a near spelling (best score, then the first name).
    pub fn close_name(&self, fs: &dyn RootFs, name: &str) -> Option<&str> {
        let stem = library_stem(name);
        let stems = self.stems(fs);
        if let Some(same) = stems.get(stem).and_then(|n| best(n, name)) {
            return Some(same);
        }
        let len = stem.chars().count();
        stems
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

/// The real folder `dir` leads to, or why there is none, and its stamp.
fn real_folder(
    fs: &dyn RootFs,
    dir: &RootPath,
) -> (Result<RootPath, Option<RootfsError>>, Option<Stamp>) {
    match rootfs::locate(fs, dir) {
        Ok(found) if found.meta.kind == Kind::Dir => {
            let stamp = fs.stamp(&found.path).ok().flatten();
            (Ok(found.path), stamp)
        }
        Ok(_) | Err(RootfsError::NotFound(_)) => (Err(None), None),
        Err(e) => (Err(Some(e)), None),
    }
}

/// Lists one search folder (a large one only by its real path).
fn list(fs: &dyn RootFs, dir: &RootPath) -> Folder {
    let (real, stamp) = real_folder(fs, dir);
    let listing = match real {
        Err(None) => Listing::Absent,
        Err(Some(_)) => Listing::Unknown,
        Ok(real) if stamp.is_some_and(|s| s.len > LIST_MAX) => Listing::Large(real),
        Ok(real) => match fs.read_dir(&real) {
            Ok(names) => Listing::Names(real, names.into_iter().collect()),
            Err(_) => Listing::Unknown,
        },
    };
    Folder {
        dir: dir.clone(),
        stamp,
        listing,
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

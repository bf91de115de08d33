//! The deterministic layer zip.

use std::collections::BTreeMap;
use std::io::{self, Seek, Write};
use std::path::Path;

use rayon::prelude::*;
use zip::write::{PreparedZipFile, SimpleFileOptions, ZipFileBuilder};
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::EmitError;
use crate::plan::{Content, LayerPlan};
use crate::rootfs::RootFs;
use crate::runtime::Date;

/// The time stamp every entry carries: 1980-01-01 00:00, or `SOURCE_DATE_EPOCH` (UTC) when given.
pub fn timestamp(source_date_epoch: Option<i64>) -> DateTime {
    let Some(secs) = source_date_epoch else {
        return DateTime::default();
    };
    let date = Date::from_unix_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if date.year < 1980 {
        return DateTime::default();
    }
    let Ok(year) = u16::try_from(date.year) else {
        return latest();
    };
    // Past 2107 (the format's last year) `from_date_and_time` refuses: clamp to the latest time.
    DateTime::from_date_and_time(
        year,
        date.month as u8,
        date.day as u8,
        h as u8,
        m as u8,
        s as u8,
    )
    .unwrap_or_else(|_| latest())
}

fn latest() -> DateTime {
    DateTime::from_date_and_time(2107, 12, 31, 23, 59, 58).unwrap_or_default()
}

/// Writes the plan's entries, plus an entry for every folder, sorted by path, to `out` (the file
/// at `out_path`, named in errors).
pub fn write_layer_zip<W: Write + Seek>(
    plan: &LayerPlan,
    fs: &dyn RootFs,
    time: DateTime,
    out: W,
    out_path: &Path,
) -> Result<W, EmitError> {
    let fail = |e: zip::result::ZipError| EmitError::write(out_path)(io::Error::other(e));
    enum Item<'a> {
        Dir,
        Entry(&'a Content),
    }
    let mut items: BTreeMap<String, Item> = BTreeMap::new();
    // Entry names are `LayerPath`s: plain relative paths inside the layer, checked when planned.
    for entry in &plan.entries {
        for folder in entry.path.ancestors() {
            items.insert(format!("{folder}/"), Item::Dir);
        }
        items.insert(entry.path.to_string(), Item::Entry(&entry.content));
    }
    let base = SimpleFileOptions::default()
        .system(System::Unix)
        .last_modified_time(time)
        .large_file(false);
    // Files are read and compressed in parallel, then written in path order: the bytes are the
    // same as a sequential write, whatever the number of threads.
    let files: Vec<(&String, &Content)> = items
        .iter()
        .filter_map(|(path, item)| match item {
            Item::Entry(c @ Content::File { .. }) => Some((path, *c)),
            _ => None,
        })
        .collect();
    let compressed: Vec<Result<PreparedZipFile, EmitError>> = files
        .par_iter()
        .map(|(path, content)| compress(path, content, fs, base))
        .collect();
    let mut compressed = compressed.into_iter();
    let mut zip = ZipWriter::new(out);
    for (path, item) in items {
        match item {
            Item::Dir => {
                let options = base
                    .compression_method(CompressionMethod::Stored)
                    .unix_permissions(0o755);
                zip.add_directory(path, options).map_err(fail)?;
            }
            Item::Entry(Content::Symlink { target }) => {
                let options = base
                    .compression_method(CompressionMethod::Stored)
                    .unix_permissions(0o777);
                zip.add_symlink(path, target.as_str(), options)
                    .map_err(fail)?;
            }
            Item::Entry(Content::File { .. }) => {
                let prepared = compressed
                    .next()
                    .expect("one compressed file per file entry")?;
                zip.add_prepared_file(prepared).map_err(fail)?;
            }
        }
    }
    zip.finish().map_err(fail)
}

/// Deflates one rootfs file (level 6, as Info-ZIP's default) with its normalised mode.
fn compress(
    path: &str,
    content: &Content,
    fs: &dyn RootFs,
    base: SimpleFileOptions,
) -> Result<PreparedZipFile, EmitError> {
    let Content::File { source, mode, .. } = content else {
        unreachable!("only file entries are compressed");
    };
    let read = |source_err| EmitError::Read {
        path: source.clone(),
        source: source_err,
    };
    let bytes = fs.map(source).map_err(read)?;
    let options = base
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(6))
        .unix_permissions(*mode);
    // Compression happens in memory: its only failures are those of the deflater.
    let deflate = |e| EmitError::Read {
        path: source.clone(),
        source: e,
    };
    let mut builder =
        ZipFileBuilder::new(path, options).map_err(|e| deflate(io::Error::other(e)))?;
    builder.write_all(&bytes).map_err(deflate)?;
    builder.finish().map_err(|e| deflate(io::Error::other(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_clamp_to_the_zip_range() {
        let show = |t: DateTime| {
            format!(
                "{}-{}-{} {}:{}:{}",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        };
        assert_eq!(show(timestamp(None)), "1980-1-1 0:0:0");
        assert_eq!(show(timestamp(Some(0))), "1980-1-1 0:0:0");
        assert_eq!(show(timestamp(Some(1_614_834_368))), "2021-3-4 5:6:8");
        assert_eq!(show(timestamp(Some(10_000_000_000))), "2107-12-31 23:59:58");
    }
}

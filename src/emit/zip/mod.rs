//! The deterministic layer zip.
//!
//! Files are read in fixed-size chunks with plain reads, each chunk deflated on its own by libdeflate
//! on a pool of workers, every chunk but a file's last as a stream the next can follow (see
//! [`deflate`]), and the chunks are written in path order, one deflate stream per entry. Chunk boundaries depend only on file sizes, so the bytes are the same
//! whatever the number of threads. At most a window of chunks is in flight ahead of the writer, so
//! memory is bounded by `threads × CHUNK` plus the window's compressed chunks, whatever the layer's size.

mod deflate;
mod format;
mod window;

use std::collections::BTreeMap;
use std::io::{self, Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use zip::DateTime;

use super::EmitError;
use crate::plan::{Content, LayerPlan};
use crate::rootfs::{RootFs, RootPath};
use crate::runtime::Date;
use deflate::Compressor;
use format::ZipOut;

/// The version of the zip writer's output: bumped whenever the same plan, files and options give
/// other bytes, so that the store never ships a zip an older layerc wrote.
pub const FORMAT_VERSION: u32 = 1;

/// Bytes of input per independently compressed chunk. Larger chunks compress a little better
/// (each one starts without a dictionary); smaller ones spread a single large file over more cores.
pub const CHUNK: usize = 1 << 20;

/// How hard to compress: a libdeflate level (see docs/performance.md for the measurements).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Compression {
    Fast,
    #[default]
    Default,
    Best,
}

impl Compression {
    pub fn level(self) -> i32 {
        match self {
            Compression::Fast => 1,
            Compression::Default => 6,
            Compression::Best => 9,
        }
    }

    /// General purpose flag bits 1-2, which tell readers how a deflated entry was compressed.
    fn flags(self) -> u16 {
        match self {
            Compression::Fast => 0b110,
            Compression::Default => 0,
            Compression::Best => 0b010,
        }
    }
}

/// How to write a layer zip.
#[derive(Copy, Clone, Debug)]
pub struct ZipOptions {
    pub time: DateTime,
    pub compression: Compression,
    /// Compression workers; the output does not depend on it.
    pub threads: usize,
}

impl ZipOptions {
    pub fn new(time: DateTime, compression: Compression) -> Self {
        ZipOptions {
            time,
            compression,
            threads: default_threads(),
        }
    }
}

/// `RAYON_NUM_THREADS` when set (the usual name for a Rust program's worker count), else the core
/// count.
pub fn default_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .filter(|&n| n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
}
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

enum Item<'a> {
    Dir,
    Symlink(&'a str),
    File {
        source: &'a RootPath,
        size: u64,
        mode: u32,
    },
}

/// One chunk of one file entry.
struct Chunk<'a> {
    item: usize,
    source: &'a RootPath,
    size: u64,
    offset: u64,
    first: bool,
    last: bool,
}

/// A chunk compressed and ready to append.
struct Deflated {
    item: usize,
    first: bool,
    last: bool,
    data: Vec<u8>,
    crc: crc32fast::Hasher,
}

/// Writes the plan's entries, plus an entry for every folder, sorted by path, to `out` (the file
/// at `out_path`, named in errors).
pub fn write_layer_zip<W: Write + Seek>(
    plan: &LayerPlan,
    fs: &dyn RootFs,
    options: &ZipOptions,
    out: W,
    out_path: &Path,
) -> Result<W, EmitError> {
    let never = AtomicBool::new(false);
    write_layer_zip_until(plan, fs, options, out, out_path, &never)
}

/// [`write_layer_zip`], given up with [`EmitError::Stopped`] once `stop` is set (checked before
/// each chunk).
pub fn write_layer_zip_until<W: Write + Seek>(
    plan: &LayerPlan,
    fs: &dyn RootFs,
    options: &ZipOptions,
    out: W,
    out_path: &Path,
    stop: &AtomicBool,
) -> Result<W, EmitError> {
    let items = items(plan);
    let chunks = chunks(&items);
    let threads = options.threads.max(1);
    let level = options.compression.level();
    let write_error = EmitError::write(out_path);
    let mut writer = Writer {
        zip: ZipOut::new(out, options.time.datepart(), options.time.timepart()),
        items: &items,
        next: 0,
        crc: crc32fast::Hasher::new(),
        flags: options.compression.flags(),
    };
    window::run_ordered(
        &chunks,
        threads,
        2 * threads + 2,
        || {
            let compressor = Compressor::new(level);
            (
                compressor.expect("every Compression is a libdeflate level"),
                vec![0u8; CHUNK],
            )
        },
        |(compressor, buf), chunk| match stop.load(Ordering::Relaxed) {
            true => Err(EmitError::Stopped),
            false => deflate_chunk(fs, chunk, compressor, buf),
        },
        |deflated| writer.append(deflated).map_err(EmitError::write(out_path)),
    )?;
    let finished = writer.items_before(items.len()).map(|()| writer.zip);
    finished.and_then(ZipOut::finish).map_err(write_error)
}

/// Every entry and every parent folder, sorted by path.
fn items(plan: &LayerPlan) -> Vec<(String, Item<'_>)> {
    let mut items: BTreeMap<String, Item> = BTreeMap::new();
    // Entry names are `LayerPath`s: plain relative paths inside the layer, checked when planned.
    for entry in &plan.entries {
        for folder in entry.path.ancestors() {
            items.insert(format!("{folder}/"), Item::Dir);
        }
        let item = match &entry.content {
            Content::Symlink { target } => Item::Symlink(target.as_str()),
            Content::File { source, size, mode } => Item::File {
                source,
                size: *size,
                mode: *mode,
            },
        };
        items.insert(entry.path.to_string(), item);
    }
    items.into_iter().collect()
}

/// The chunks of every file, in path order; an empty file is one empty chunk.
fn chunks<'a>(items: &[(String, Item<'a>)]) -> Vec<Chunk<'a>> {
    let mut chunks = Vec::new();
    for (item, (_, it)) in items.iter().enumerate() {
        let Item::File { source, size, .. } = *it else {
            continue;
        };
        let count = size.div_ceil(CHUNK as u64).max(1);
        chunks.extend((0..count).map(|i| Chunk {
            item,
            source,
            size,
            offset: i * CHUNK as u64,
            first: i == 0,
            last: i + 1 == count,
        }));
    }
    chunks
}

/// Reads and deflates one chunk. The file must still have the size the plan recorded: one that
/// changed while layerc read it is an error naming it, never a torn entry.
fn deflate_chunk(
    fs: &dyn RootFs,
    chunk: &Chunk,
    compressor: &mut Compressor,
    buf: &mut [u8],
) -> Result<Deflated, EmitError> {
    let read_error = |source: io::Error| EmitError::Read {
        path: chunk.source.clone(),
        source,
    };
    let changed = || {
        read_error(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "the file changed while it was read (it had {} bytes)",
                chunk.size
            ),
        ))
    };
    let len = (chunk.size - chunk.offset).min(CHUNK as u64) as usize;
    let input = &mut buf[..len];
    if fs
        .read_at(chunk.source, chunk.offset, input)
        .map_err(read_error)?
        != len
    {
        return Err(changed());
    }
    if chunk.last
        && fs
            .read_at(chunk.source, chunk.size, &mut [0])
            .map_err(read_error)?
            != 0
    {
        return Err(changed());
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(input);
    let mut data = Vec::new();
    compressor.compress(input, !chunk.last, &mut data);
    data.shrink_to_fit();
    Ok(Deflated {
        item: chunk.item,
        first: chunk.first,
        last: chunk.last,
        data,
        crc,
    })
}

/// The sequential end: appends chunks in order, with the folders and symlinks between files.
struct Writer<'a, W: Write + Seek> {
    zip: ZipOut<W>,
    items: &'a [(String, Item<'a>)],
    /// The first item not written yet.
    next: usize,
    /// CRC-32 of the open entry so far.
    crc: crc32fast::Hasher,
    flags: u16,
}

impl<W: Write + Seek> Writer<'_, W> {
    fn append(&mut self, chunk: Deflated) -> io::Result<()> {
        let (name, item) = &self.items[chunk.item];
        let Item::File { size, mode, .. } = *item else {
            unreachable!("chunks belong to files");
        };
        if chunk.first {
            self.items_before(chunk.item)?;
            self.zip.begin_deflated(name, mode, self.flags)?;
            self.crc = crc32fast::Hasher::new();
        }
        self.zip.write_data(&chunk.data)?;
        self.crc.combine(&chunk.crc);
        if chunk.last {
            let crc = std::mem::replace(&mut self.crc, crc32fast::Hasher::new());
            self.zip.end_deflated(crc.finalize(), size)?;
            self.next = chunk.item + 1;
        }
        Ok(())
    }

    /// Writes the folders and symlinks up to `end` (exclusive).
    fn items_before(&mut self, end: usize) -> io::Result<()> {
        for (name, item) in &self.items[self.next..end] {
            match item {
                Item::Dir => self.zip.add_stored(name, 0o40755, &[])?,
                Item::Symlink(target) => self.zip.add_stored(name, 0o120777, target.as_bytes())?,
                Item::File { .. } => unreachable!("files are written from their chunks"),
            }
        }
        self.next = end;
        Ok(())
    }
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

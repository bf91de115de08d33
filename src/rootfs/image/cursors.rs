//! Decompressed streams kept open between reads. A file of a compressed layer that was not kept is
//! read in chunks (the zip writer, hashing for the lock); each chunk continues a stream where an
//! earlier read stopped, instead of decompressing the layer again from its start, which made
//! reading a large file quadratic. A few streams are kept, so parallel readers of nearby chunks
//! each find one; the memory of a stream is its decoder's window.

use std::io::{self, Read};
use std::sync::Mutex;

use super::source::Stream;

/// Streams kept per image.
const KEPT: usize = 4;

#[derive(Default)]
pub(super) struct Cursors {
    open: Mutex<Vec<Cursor>>,
}

/// A stream of the image's `stream`-th layer, at `pos` of its decompressed bytes.
pub(super) struct Cursor {
    stream: u32,
    pos: u64,
    reader: Stream,
}

impl Cursors {
    /// Fills `buf` from `pos` of stream `stream` (fewer bytes at its end): continuing the kept
    /// stream nearest before `pos`, or one `open` gives at `pos`.
    pub(super) fn read_at(
        &self,
        stream: u32,
        pos: u64,
        buf: &mut [u8],
        open: impl FnOnce() -> io::Result<Stream>,
    ) -> io::Result<usize> {
        let mut cursor = match self.take(stream, pos) {
            Some(mut cursor) => {
                let gap = pos - cursor.pos;
                if io::copy(&mut (&mut cursor.reader).take(gap), &mut io::sink())? < gap {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                cursor.pos = pos;
                cursor
            }
            None => Cursor {
                stream,
                pos,
                reader: open()?,
            },
        };
        let mut filled = 0;
        while filled < buf.len() {
            match cursor.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        cursor.pos += filled as u64;
        self.give_back(cursor);
        Ok(filled)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Cursor>> {
        crate::lock(&self.open)
    }

    /// The kept stream of `stream` nearest at or before `pos`.
    fn take(&self, stream: u32, pos: u64) -> Option<Cursor> {
        let mut open = self.lock();
        let best = open
            .iter()
            .enumerate()
            .filter(|(_, c)| c.stream == stream && c.pos <= pos)
            .max_by_key(|(_, c)| c.pos)
            .map(|(i, _)| i)?;
        Some(open.remove(best))
    }

    /// Keeps a stream for a later read; the least recently used goes past [`KEPT`].
    fn give_back(&self, cursor: Cursor) {
        let mut open = self.lock();
        open.push(cursor);
        if open.len() > KEPT {
            open.remove(0);
        }
    }
}

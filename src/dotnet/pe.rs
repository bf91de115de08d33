//! A bounded reader of the PE parts a managed assembly is found by: the DOS and COFF headers, the
//! optional header's CLI data directory, the section table (to map RVAs to file offsets), the CLI
//! header and the metadata root with its stream headers (ECMA-335 II.25.2, II.25.3.3, II.24.2.1-2).
//!
//! Every read is checked against the slice; nothing here allocates in proportion to a count the
//! file claims.

use super::MalformedAssembly;

/// Little-endian reads that fail instead of panicking past the end.
pub(super) fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

pub(super) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

pub(super) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub(super) fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut w = [0; 8];
    w.copy_from_slice(s);
    Some(u64::from_le_bytes(w))
}

/// `b[at..at + len]`, or `None` when any of it lies past the end.
pub(super) fn slice(b: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(len)?)
}

fn bad(why: &str) -> MalformedAssembly {
    MalformedAssembly(why.to_string())
}

/// The CLI header's data directory (index 14, "CLR Runtime Header") of a PE file, with the section
/// table; `Ok(None)` when the bytes are not a PE image or the image has no CLI header.
pub(super) fn cli_image(b: &[u8]) -> Result<Option<Image<'_>>, MalformedAssembly> {
    if b.get(..2) != Some(b"MZ") {
        return Ok(None);
    }
    let Some(pe) = u32_at(b, 0x3c).map(|o| o as usize) else {
        return Ok(None);
    };
    if slice(b, pe, 4) != Some(b"PE\0\0") {
        return Ok(None);
    }
    let coff = pe + 4;
    let sections = u16_at(b, coff + 2).ok_or_else(|| bad("truncated COFF header"))?;
    let optional_size = u16_at(b, coff + 16).ok_or_else(|| bad("truncated COFF header"))?;
    let optional = coff + 20;
    let (count_at, dirs_at) = match u16_at(b, optional) {
        Some(0x10b) => (92, 96),   // PE32
        Some(0x20b) => (108, 112), // PE32+
        _ => return Ok(None),      // a ROM or object image: not an assembly
    };
    let dir_count =
        u32_at(b, optional + count_at).ok_or_else(|| bad("truncated optional header"))?;
    let cli_dir = dirs_at + 14 * 8;
    if dir_count <= 14 || cli_dir + 8 > usize::from(optional_size) {
        return Ok(None);
    }
    let rva = u32_at(b, optional + cli_dir).ok_or_else(|| bad("truncated data directories"))?;
    if rva == 0 {
        return Ok(None);
    }
    let table = optional + usize::from(optional_size);
    let table = slice(b, table, usize::from(sections) * 40)
        .ok_or_else(|| bad("the section table runs past the end of the file"))?;
    Ok(Some(Image {
        bytes: b,
        sections: table,
        cli_header_rva: rva,
    }))
}

/// A PE image with a CLI header.
pub(super) struct Image<'a> {
    bytes: &'a [u8],
    /// The raw section table, 40 bytes a row.
    sections: &'a [u8],
    cli_header_rva: u32,
}

impl<'a> Image<'a> {
    /// The file bytes an RVA range maps to, through the section that holds all of it.
    fn at_rva(&self, rva: u32, len: usize) -> Option<&'a [u8]> {
        self.sections.chunks_exact(40).find_map(|s| {
            let va = u32_at(s, 12)?;
            let raw_size = u32_at(s, 16)? as usize;
            let raw_at = u32_at(s, 20)? as usize;
            let into = rva.checked_sub(va)? as usize;
            if into.checked_add(len)? > raw_size {
                return None;
            }
            slice(self.bytes, raw_at.checked_add(into)?, len)
        })
    }

    /// The metadata root (II.24.2.1) the CLI header points to.
    pub(super) fn metadata(&self) -> Result<&'a [u8], MalformedAssembly> {
        let header = self
            .at_rva(self.cli_header_rva, 16)
            .ok_or_else(|| bad("the CLI header lies outside the file's sections"))?;
        let (rva, size) = (u32_at(header, 8), u32_at(header, 12));
        let (Some(rva), Some(size)) = (rva, size) else {
            return Err(bad("truncated CLI header"));
        };
        self.at_rva(rva, size as usize)
            .ok_or_else(|| bad("the metadata lies outside the file's sections"))
    }
}

/// The `#~` (or uncompressed `#-`) table stream and the `#Strings` and `#Blob` heaps of a
/// metadata root (an assembly without custom attribute values may have no `#Blob`).
pub(super) struct Streams<'a> {
    pub tables: &'a [u8],
    pub strings: &'a [u8],
    pub blobs: &'a [u8],
}

const METADATA_SIGNATURE: u32 = 0x424A_5342; // "BSJB"

/// Reads the stream headers of a metadata root (II.24.2.2).
pub(super) fn streams(root: &[u8]) -> Result<Streams<'_>, MalformedAssembly> {
    if u32_at(root, 0) != Some(METADATA_SIGNATURE) {
        return Err(bad("the metadata root lacks its BSJB signature"));
    }
    let version_len = u32_at(root, 12).ok_or_else(|| bad("truncated metadata root"))? as usize;
    let mut at = 16usize
        .checked_add(version_len)
        .ok_or_else(|| bad("metadata version string too long"))?;
    let count = u16_at(root, at + 2).ok_or_else(|| bad("truncated metadata root"))?;
    at += 4;
    let (mut tables, mut strings, mut blobs) = (None, None, &[][..]);
    for _ in 0..count {
        let (Some(offset), Some(size)) = (u32_at(root, at), u32_at(root, at + 4)) else {
            return Err(bad("truncated stream header"));
        };
        let name_at = at + 8;
        // A name is at most 32 bytes with its NUL, padded to a multiple of 4.
        let window = root.get(name_at..).unwrap_or_default();
        let window = &window[..window.len().min(32)];
        let nul = window
            .iter()
            .position(|&c| c == 0)
            .ok_or_else(|| bad("unterminated stream name"))?;
        let data = slice(root, offset as usize, size as usize)
            .ok_or_else(|| bad("a metadata stream runs past the metadata"))?;
        match &window[..nul] {
            b"#~" | b"#-" => tables = Some(data),
            b"#Strings" => strings = Some(data),
            b"#Blob" => blobs = data,
            _ => {}
        }
        at = name_at + (nul + 4) / 4 * 4;
    }
    match (tables, strings) {
        (Some(tables), Some(strings)) => Ok(Streams {
            tables,
            strings,
            blobs,
        }),
        (None, _) => Err(bad("the metadata has no #~ table stream")),
        (_, None) => Err(bad("the metadata has no #Strings heap")),
    }
}

/// The NUL-terminated UTF-8 string at `index` in the `#Strings` heap (II.24.2.3).
pub(super) fn string_at(heap: &[u8], index: u32) -> Result<String, MalformedAssembly> {
    let rest = heap
        .get(index as usize..)
        .ok_or_else(|| bad("a string index points past the #Strings heap"))?;
    let end = rest
        .iter()
        .position(|&c| c == 0)
        .ok_or_else(|| bad("unterminated string in the #Strings heap"))?;
    Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// The blob at `index` in the `#Blob` heap: its compressed length (II.23.2: one, two or four bytes
/// by the top bits of the first), then that many bytes.
pub(super) fn blob_at(heap: &[u8], index: u32) -> Result<&[u8], MalformedAssembly> {
    let past = || bad("a blob index points past the #Blob heap");
    let at = index as usize;
    let first = u8_at(heap, at).ok_or_else(past)?;
    let (len, header) = match first {
        b if b & 0x80 == 0 => (usize::from(b), 1),
        b if b & 0xC0 == 0x80 => {
            let second = u8_at(heap, at + 1).ok_or_else(past)?;
            ((usize::from(b & 0x3F) << 8) | usize::from(second), 2)
        }
        b if b & 0xE0 == 0xC0 => {
            let rest = slice(heap, at + 1, 3).ok_or_else(past)?;
            let len = (usize::from(b & 0x1F) << 24)
                | (usize::from(rest[0]) << 16)
                | (usize::from(rest[1]) << 8)
                | usize::from(rest[2]);
            (len, 4)
        }
        _ => return Err(bad("a blob length with an unknown encoding")),
    };
    slice(heap, at + header, len).ok_or_else(past)
}

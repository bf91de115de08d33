//! Zip records (PKWARE APPNOTE 6.3, sections 4.3.7, 4.3.12, 4.3.16): local headers, the central
//! directory and its end record, with no extra fields and no data descriptors. Zip32 only: a Lambda
//! layer unzips to at most 250 MB, far below the 4 GiB and 65 535 entries zip32 allows, so a layer
//! past those limits is an error rather than a zip64 archive.

use std::io::{self, BufWriter, Seek, SeekFrom, Write};

/// `version made by`: Unix (3), spec 3.0, as Info-ZIP writes it; Unix modes in the high bits of
/// the external attributes are read only when the creator is Unix.
const MADE_BY: u16 = 3 << 8 | 30;
const STORED: u16 = 0;
const DEFLATED: u16 = 8;
/// General purpose flag bit 11: the name is UTF-8.
const UTF8_NAME: u16 = 1 << 11;
const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
const ZIP32_MAX: u64 = 0xffff_fffe;

/// One entry as the central directory lists it.
struct Record {
    name: String,
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    external: u32,
    offset: u64,
}

/// A zip being written front to back; a deflated entry's CRC and compressed size, known only at
/// its end, are patched into its local header.
pub(super) struct ZipOut<W: Write + Seek> {
    out: BufWriter<W>,
    pos: u64,
    dos_time: u16,
    dos_date: u16,
    records: Vec<Record>,
    open: Option<Record>,
}

impl<W: Write + Seek> ZipOut<W> {
    pub(super) fn new(out: W, dos_date: u16, dos_time: u16) -> Self {
        ZipOut {
            out: BufWriter::with_capacity(64 << 10, out),
            pos: 0,
            dos_time,
            dos_date,
            records: Vec::new(),
            open: None,
        }
    }

    /// A folder (`name` ends with `/`), a symlink (its target as data) or another stored entry;
    /// `mode` holds the file type bits too (`0o40755`, `0o120777`).
    pub(super) fn add_stored(&mut self, name: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        let dos_dir = if name.ends_with('/') { 0x10 } else { 0 };
        let mut record = self.record(name, STORED, mode << 16 | dos_dir, 0);
        record.crc = crc32fast::hash(data);
        record.size = data.len() as u64;
        record.compressed = record.size;
        self.write_local_header(&record)?;
        self.write_data(data)?;
        self.records.push(record);
        Ok(())
    }

    /// Starts a deflated regular file; its data follows through [`ZipOut::write_data`] and
    /// [`ZipOut::end_deflated`] closes it.
    pub(super) fn begin_deflated(
        &mut self,
        name: &str,
        mode: u32,
        level_flags: u16,
    ) -> io::Result<()> {
        let record = self.record(name, DEFLATED, (0o100000 | mode) << 16, level_flags);
        self.write_local_header(&record)?;
        self.open = Some(record);
        Ok(())
    }

    pub(super) fn write_data(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)?;
        self.pos += data.len() as u64;
        Ok(())
    }

    /// Closes the open deflated entry: its CRC-32 and sizes go into its local header.
    pub(super) fn end_deflated(&mut self, crc: u32, size: u64) -> io::Result<()> {
        let mut record = self.open.take().expect("an entry is open");
        let header_len = 30 + record.name.len() as u64;
        record.crc = crc;
        record.size = size;
        record.compressed = self.pos - record.offset - header_len;
        check_zip32(record.size.max(record.compressed).max(self.pos))?;
        let mut fields = Vec::with_capacity(12);
        fields.extend(crc.to_le_bytes());
        fields.extend((record.compressed as u32).to_le_bytes());
        fields.extend((record.size as u32).to_le_bytes());
        self.out.seek(SeekFrom::Start(record.offset + 14))?;
        self.out.write_all(&fields)?;
        self.out.seek(SeekFrom::Start(self.pos))?;
        self.records.push(record);
        Ok(())
    }

    /// Writes the central directory and the end record.
    pub(super) fn finish(mut self) -> io::Result<W> {
        let start = self.pos;
        for r in std::mem::take(&mut self.records) {
            let mut h = Vec::with_capacity(46 + r.name.len());
            put32(&mut h, CENTRAL_HEADER);
            put16(&mut h, MADE_BY);
            self.common_fields(&mut h, &r);
            put16(&mut h, 0); // comment length
            put16(&mut h, 0); // disk number
            put16(&mut h, 0); // internal attributes
            put32(&mut h, r.external);
            put32(&mut h, r.offset as u32);
            h.extend(r.name.as_bytes());
            self.write_data(&h)?;
            self.records.push(r);
        }
        let size = self.pos - start;
        let count =
            u16::try_from(self.records.len()).map_err(|_| too_big("more than 65535 entries"))?;
        check_zip32(self.pos)?;
        let mut end = Vec::with_capacity(22);
        put32(&mut end, END_OF_CENTRAL_DIRECTORY);
        put32(&mut end, 0); // this disk, the disk with the central directory
        put16(&mut end, count);
        put16(&mut end, count);
        put32(&mut end, size as u32);
        put32(&mut end, start as u32);
        put16(&mut end, 0); // comment length
        self.write_data(&end)?;
        self.out.into_inner().map_err(|e| e.into_error())
    }

    fn record(&self, name: &str, method: u16, external: u32, flags: u16) -> Record {
        let utf8 = if name.is_ascii() { 0 } else { UTF8_NAME };
        Record {
            name: name.to_string(),
            flags: flags | utf8,
            method,
            crc: 0,
            compressed: 0,
            size: 0,
            external,
            offset: self.pos,
        }
    }

    fn write_local_header(&mut self, r: &Record) -> io::Result<()> {
        check_zip32(self.pos)?;
        if r.name.len() > usize::from(u16::MAX) {
            return Err(too_big("an entry name over 65535 bytes"));
        }
        let mut h = Vec::with_capacity(30 + r.name.len());
        put32(&mut h, LOCAL_HEADER);
        self.common_fields(&mut h, r);
        h.extend(r.name.as_bytes());
        self.write_data(&h)
    }

    /// The fields local and central headers share, from `version needed` to `extra length`.
    fn common_fields(&self, h: &mut Vec<u8>, r: &Record) {
        put16(h, if r.method == DEFLATED { 20 } else { 10 });
        put16(h, r.flags);
        put16(h, r.method);
        put16(h, self.dos_time);
        put16(h, self.dos_date);
        put32(h, r.crc);
        put32(h, r.compressed as u32);
        put32(h, r.size as u32);
        put16(h, r.name.len() as u16);
        put16(h, 0); // extra field length
    }
}

fn put16(h: &mut Vec<u8>, v: u16) {
    h.extend(v.to_le_bytes());
}

fn put32(h: &mut Vec<u8>, v: u32) {
    h.extend(v.to_le_bytes());
}

fn check_zip32(value: u64) -> io::Result<()> {
    if value > ZIP32_MAX {
        return Err(too_big("over 4 GiB"));
    }
    Ok(())
}

fn too_big(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "the layer zip would be {what}, past the zip32 format; Lambda takes 250 MB unzipped"
        ),
    )
}

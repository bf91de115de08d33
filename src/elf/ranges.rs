//! An object's [`ElfInfo`] read with a few `pread`s of the ranges the reader uses, instead of a
//! memory map of the whole file: the first page (the header, usually the program headers), the
//! section headers, `PT_INTERP`, the dynamic segment, the pages of its string table that hold the
//! names asked for, and the two version sections. Mapping costs a page fault per region touched,
//! each mapping sixteen pages around it, and unmapping them again; on the machine measured the
//! faults were a third of resolution's time.
//!
//! Each range is handed to the same goblin readers [`ElfInfo::parse`] uses, at offset 0 of a
//! buffer holding just that range, and the same code turns them into an `ElfInfo`. Where anything
//! is not as expected (a range past the end of the file, a header goblin refuses, more sections
//! than the header counts), it gives `None` and the caller parses the mapped file, so every error
//! is the whole-file reader's own. `tests/it/resolution.rs` compares both readers on every object
//! of the host, and the ELF fuzz target on every input.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;

use goblin::elf::section_header::{SHT_GNU_VERDEF, SHT_GNU_VERNEED};
use goblin::elf::symver::{VerdefSection, VerneedSection};
use goblin::elf::{Dynamic, Elf, ProgramHeader, SectionHeader, program_header};

use super::{ElfError, ElfInfo, context};

/// Read first: the ELF header, the program headers of nearly every object, all of a small one.
const HEAD: usize = 4096;

/// Where the file's bytes come from: fills the buffer from an offset and returns how many bytes
/// there were (fewer at the end of the file).
pub type ReadAt<'a> = dyn Fn(u64, &mut [u8]) -> io::Result<usize> + 'a;

/// The [`ElfInfo`] of the `len`-byte file named `file_name`, read through `read_at`; `Ok(None)`
/// when the caller must read the whole file instead.
pub fn parse(
    file_name: &str,
    len: u64,
    read_at: &ReadAt<'_>,
) -> io::Result<Option<Result<ElfInfo, ElfError>>> {
    let file = File { len, read_at };
    let head = file.range(0, HEAD.min(len as usize))?.unwrap_or_default();
    // The whole file, or not ELF: what the first page says is all there is to say.
    if head.len() as u64 == len || !head.starts_with(b"\x7fELF") {
        return Ok(Some(ElfInfo::parse_file(file_name, &head)));
    }
    Ok(file.info(&head)?.map(Ok))
}

/// The file, read in ranges.
struct File<'a, 'b> {
    len: u64,
    read_at: &'a ReadAt<'b>,
}

impl File<'_, '_> {
    /// `len` bytes at `offset`, or `None` when they are not all in the file.
    fn range(&self, offset: usize, len: usize) -> io::Result<Option<Vec<u8>>> {
        let Some(end) = offset
            .checked_add(len)
            .filter(|&end| end as u64 <= self.len)
        else {
            return Ok(None);
        };
        let mut buf = vec![0; end - offset];
        let n = (self.read_at)(offset as u64, &mut buf)?;
        // Shorter than measured: the file changed; the whole-file reader says what it is now.
        Ok((n == buf.len()).then_some(buf))
    }

    /// A range from the first page when it lies there, else read.
    fn range_in(&self, head: &[u8], offset: usize, len: usize) -> io::Result<Option<Vec<u8>>> {
        match offset
            .checked_add(len)
            .and_then(|end| head.get(offset..end))
        {
            Some(bytes) => Ok(Some(bytes.to_vec())),
            None => self.range(offset, len),
        }
    }

    fn info(&self, head: &[u8]) -> io::Result<Option<ElfInfo>> {
        let Ok(header) = Elf::parse_header(head) else {
            return Ok(None);
        };
        let Ok((class, ctx)) = context(&header) else {
            return Ok(None);
        };
        let (phoff, phnum) = (header.e_phoff as usize, header.e_phnum as usize);
        let Some(ph_bytes) = self.range_in(head, phoff, phnum * ProgramHeader::size(ctx))? else {
            return Ok(None);
        };
        let Ok(mut phdrs) = ProgramHeader::parse(&ph_bytes, 0, phnum, ctx) else {
            return Ok(None);
        };
        let Some(shdrs) = self.section_headers(&header, ctx)? else {
            return Ok(None);
        };
        let interp = match phdrs.iter().find(|p| p.p_type == program_header::PT_INTERP) {
            Some(ph) => self.range_in(head, ph.p_offset as usize, ph.p_filesz as usize)?,
            None => None,
        };
        let interp = interp.and_then(|raw| {
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            std::str::from_utf8(&raw[..end]).ok().map(str::to_string)
        });
        let mut info = ElfInfo::of_header(class, &header, interp);
        // The first dynamic segment, moved to offset 0 of its own buffer.
        let Some(dynamic) = phdrs
            .iter_mut()
            .find(|p| p.p_type == program_header::PT_DYNAMIC)
        else {
            return Ok(Some(info));
        };
        let Some(dyn_bytes) = self.range(dynamic.p_offset as usize, dynamic.p_filesz as usize)?
        else {
            return Ok(None);
        };
        dynamic.p_offset = 0;
        let Ok(Some(dynamic)) = Dynamic::parse(&dyn_bytes, &phdrs, ctx) else {
            return Ok(None);
        };
        let (strtab, strsz) = (dynamic.info.strtab, dynamic.info.strsz);
        if strtab
            .checked_add(strsz)
            .is_none_or(|end| end as u64 > self.len)
        {
            return Ok(None);
        }
        let strings = Strings {
            file: self,
            start: strtab,
            len: strsz,
            pages: RefCell::default(),
            failed: Cell::default(),
        };
        let string = |offset: usize| strings.get(offset);
        info.read_dynamic(&dynamic.dyns, &string);
        let (Some(verneed), Some(verdef)) = (
            self.section(&shdrs, SHT_GNU_VERNEED)?,
            self.section(&shdrs, SHT_GNU_VERDEF)?,
        ) else {
            return Ok(None);
        };
        let need = verneed
            .as_ref()
            .map(|(h, b)| VerneedSection::parse(b, h, ctx));
        let def = verdef
            .as_ref()
            .map(|(h, b)| VerdefSection::parse(b, h, ctx));
        match (need.transpose(), def.transpose()) {
            (Ok(need), Ok(def)) => info.read_versions(need.flatten(), def.flatten(), &string),
            _ => return Ok(None),
        }
        Ok((!strings.failed.get()).then_some(info))
    }

    /// The section headers (none when the header says there are none); `None` for more sections
    /// than the header can count or headers past the end of the file.
    fn section_headers(
        &self,
        header: &goblin::elf::Header,
        ctx: goblin::container::Ctx,
    ) -> io::Result<Option<Vec<SectionHeader>>> {
        let (shoff, shnum) = (header.e_shoff as usize, header.e_shnum as usize);
        if shoff == 0 {
            return Ok(Some(Vec::new()));
        }
        if shnum == 0 {
            return Ok(None);
        }
        let Some(bytes) = self.range(shoff, shnum * SectionHeader::size(ctx))? else {
            return Ok(None);
        };
        Ok(SectionHeader::parse_from(&bytes, 0, shnum, ctx).ok())
    }

    /// The first section of type `kind`, as a header moved to offset 0 and its bytes: `Some(None)`
    /// when there is none, `None` when its bytes are not all in the file.
    #[allow(clippy::type_complexity)]
    fn section(
        &self,
        shdrs: &[SectionHeader],
        kind: u32,
    ) -> io::Result<Option<Option<([SectionHeader; 1], Vec<u8>)>>> {
        let Some(found) = shdrs.iter().find(|sh| sh.sh_type == kind) else {
            return Ok(Some(None));
        };
        let Some(bytes) = self.range(found.sh_offset as usize, found.sh_size as usize)? else {
            return Ok(None);
        };
        let mut moved = found.clone();
        moved.sh_offset = 0;
        Ok(Some(Some(([moved], bytes))))
    }
}

/// The dynamic string table, read a page at a time as names are asked for.
struct Strings<'a, 'b, 'c> {
    file: &'a File<'b, 'c>,
    /// Its offset in the file and its size.
    start: usize,
    len: usize,
    pages: RefCell<HashMap<usize, Vec<u8>>>,
    /// A page could not be read in full: the file changed, and the whole-file reader is asked.
    failed: Cell<bool>,
}

/// Bytes of the string table read at once.
const PAGE: usize = 4096;

impl Strings<'_, '_, '_> {
    /// The NUL-terminated UTF-8 string at `offset`, as the whole-file reader takes it from the
    /// table's slice: `None` when it runs past the table's end or is not UTF-8.
    fn get(&self, offset: usize) -> Option<String> {
        let mut out = Vec::new();
        let mut at = offset;
        while at < self.len {
            let page = at / PAGE;
            let mut pages = self.pages.borrow_mut();
            if let std::collections::hash_map::Entry::Vacant(slot) = pages.entry(page) {
                let from = page * PAGE;
                match self
                    .file
                    .range(self.start + from, PAGE.min(self.len - from))
                {
                    Ok(Some(bytes)) => slot.insert(bytes),
                    _ => {
                        self.failed.set(true);
                        return None;
                    }
                };
            }
            let bytes = &pages[&page][at - page * PAGE..];
            if let Some(end) = bytes.iter().position(|&b| b == 0) {
                out.extend_from_slice(&bytes[..end]);
                return String::from_utf8(out).ok();
            }
            out.extend_from_slice(bytes);
            at = (page + 1) * PAGE;
        }
        None
    }
}

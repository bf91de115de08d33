//! ELF reading: the only module that knows goblin.
//!
//! Invariant: any byte string gives either an [`ElfInfo`] or an [`ElfError`]; never a panic.

use goblin::elf::Elf;
use goblin::elf::header::{EI_OSABI, ELFCLASS32, ELFCLASS64};

fn malformed(why: String) -> goblin::error::Error {
    goblin::error::Error::Malformed(why)
}

/// `EI_OSABI` values of ordinary Linux objects: System V and GNU.
const ELFOSABI_NONE: u8 = 0;
const ELFOSABI_GNU: u8 = 3;

use crate::arch::{Architecture, ElfClass, machine_name};

pub mod ranges;
mod symbols;

pub use symbols::{ElfImage, Symbols, Undefined, symbols};

/// What the loader and the validator need to know about one ELF object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    pub class: ElfClass,
    pub machine: u16,
    pub osabi: u8,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    /// Symbol versions needed, per file: `libc.so.6 → [GLIBC_2.14, GLIBC_2.34]`.
    pub verneed: Vec<VersionNeed>,
    /// Symbol versions this object defines (its own soname version excluded).
    pub verdef: Vec<String>,
    /// `PT_INTERP`: the program interpreter the kernel starts the file with.
    pub interp: Option<String>,
    /// `e_type`: an executable, a shared object, or neither (a relocatable object, a core dump).
    pub kind: ElfKind,
}

/// What the loader can do with an ELF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfKind {
    /// A program (`ET_EXEC`, or `ET_DYN` with a `PT_INTERP`: a position-independent executable).
    Executable,
    /// A shared object (`ET_DYN` without a program interpreter).
    Shared,
    /// Neither: nothing the loader maps.
    Other,
}

impl ElfKind {
    fn of(e_type: u16, has_interpreter: bool) -> ElfKind {
        use goblin::elf::header::{ET_DYN, ET_EXEC};
        match e_type {
            ET_EXEC => ElfKind::Executable,
            ET_DYN if has_interpreter => ElfKind::Executable,
            ET_DYN => ElfKind::Shared,
            _ => ElfKind::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionNeed {
    pub file: String,
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    #[error("the file is empty")]
    Empty,
    /// A text file such as glibc's `libc.so`: `/* GNU ld script */ GROUP ( ... )`.
    #[error("it is a linker script, not a shared object")]
    LinkerScript,
    #[error("it is not an ELF file")]
    NotElf,
    /// An ELF header that goblin could not read to the end: truncated or corrupt.
    #[error("it is a malformed ELF file ({0})")]
    Malformed(String),
}

impl ElfInfo {
    /// No names, versions or interpreter: what a file without a dynamic segment has.
    const EMPTY: ElfInfo = ElfInfo {
        class: ElfClass::Elf64,
        machine: 0,
        osabi: 0,
        soname: None,
        needed: Vec::new(),
        rpath: Vec::new(),
        runpath: Vec::new(),
        verneed: Vec::new(),
        verdef: Vec::new(),
        interp: None,
        kind: ElfKind::Other,
    };

    /// Like [`ElfInfo::parse`], also recognising a linker script by its name: a `lib*.so` development
    /// link that is plain text (`libncurses.so` holding `INPUT(libncurses.so.6 -ltinfo)`).
    pub fn parse_file(file_name: &str, bytes: &[u8]) -> Result<ElfInfo, ElfError> {
        match ElfInfo::parse(bytes) {
            Err(ElfError::NotElf) if file_name.ends_with(".so") && is_text(bytes) => {
                Err(ElfError::LinkerScript)
            }
            other => other,
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<ElfInfo, ElfError> {
        if bytes.is_empty() {
            return Err(ElfError::Empty);
        }
        if !bytes.starts_with(b"\x7fELF") {
            return Err(if is_linker_script(bytes) {
                ElfError::LinkerScript
            } else {
                ElfError::NotElf
            });
        }
        Self::parse_dynamic(bytes).map_err(|e| ElfError::Malformed(e.to_string()))
    }

    /// Reads only what the loader reads: the header, the program headers' dynamic segment and
    /// the version sections. `Elf::parse` would also decode every symbol, relocation and string,
    /// which costs more than everything else resolution does.
    fn parse_dynamic(bytes: &[u8]) -> goblin::error::Result<ElfInfo> {
        use goblin::elf::{Dynamic, ProgramHeader, SectionHeader, symver};
        let header = Elf::parse_header(bytes)?;
        let (class, ctx) = context(&header)?;
        let phdrs =
            ProgramHeader::parse(bytes, header.e_phoff as usize, header.e_phnum as usize, ctx)?;
        let shdrs =
            SectionHeader::parse(bytes, header.e_shoff as usize, header.e_shnum as usize, ctx)?;
        let interp = program_interpreter(bytes, &phdrs);
        let mut info = ElfInfo::of_header(class, &header, interp);
        let Some(dynamic) = Dynamic::parse(bytes, &phdrs, ctx)? else {
            return Ok(info);
        };
        let strtab = bytes
            .get(dynamic.info.strtab..)
            .and_then(|t| t.get(..dynamic.info.strsz))
            .ok_or_else(|| malformed("dynamic string table past the end of the file".into()))?;
        let string = |offset: usize| -> Option<String> {
            let tail = strtab.get(offset..)?;
            let end = tail.iter().position(|&b| b == 0)?;
            std::str::from_utf8(&tail[..end]).ok().map(str::to_string)
        };
        info.read_dynamic(&dynamic.dyns, &string);
        info.read_versions(
            symver::VerneedSection::parse(bytes, &shdrs, ctx)?,
            symver::VerdefSection::parse(bytes, &shdrs, ctx)?,
            &string,
        );
        Ok(info)
    }

    /// What the header tells: class, machine, OS ABI, kind; nothing of the dynamic segment yet.
    fn of_header(class: ElfClass, header: &goblin::elf::Header, interp: Option<String>) -> ElfInfo {
        ElfInfo {
            class,
            machine: header.e_machine,
            osabi: header.e_ident[EI_OSABI],
            kind: ElfKind::of(header.e_type, interp.is_some()),
            interp,
            ..ElfInfo::EMPTY
        }
    }

    /// The names of the dynamic entries: soname, needs, search paths.
    fn read_dynamic(
        &mut self,
        dyns: &[goblin::elf::Dyn],
        string: &dyn Fn(usize) -> Option<String>,
    ) {
        use goblin::elf::dynamic;
        let split = |path: String| -> Vec<String> {
            path.split(':')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        };
        for d in dyns {
            match d.d_tag {
                dynamic::DT_SONAME => self.soname = string(d.d_val as usize),
                dynamic::DT_NEEDED => self.needed.extend(string(d.d_val as usize)),
                dynamic::DT_RPATH => self
                    .rpath
                    .extend(string(d.d_val as usize).map(split).unwrap_or_default()),
                dynamic::DT_RUNPATH => self
                    .runpath
                    .extend(string(d.d_val as usize).map(split).unwrap_or_default()),
                _ => {}
            }
        }
    }

    /// The version needs and definitions.
    fn read_versions(
        &mut self,
        verneed: Option<goblin::elf::symver::VerneedSection<'_>>,
        verdef: Option<goblin::elf::symver::VerdefSection<'_>>,
        string: &dyn Fn(usize) -> Option<String>,
    ) {
        if let Some(section) = verneed {
            for need in section.iter() {
                let Some(file) = string(need.vn_file) else {
                    continue;
                };
                let versions = need.iter().filter_map(|aux| string(aux.vna_name)).collect();
                self.verneed.push(VersionNeed { file, versions });
            }
        }
        if let Some(section) = verdef {
            for def in section.iter() {
                // VER_FLG_BASE marks the entry naming the object itself, not a version.
                if def.vd_flags & 1 != 0 {
                    continue;
                }
                if let Some(name) = def.iter().next().and_then(|aux| string(aux.vda_name)) {
                    self.verdef.push(name);
                }
            }
        }
    }

    /// An object for Linux (OS ABI System V or GNU), not for another system of the same machine.
    pub fn is_linux(&self) -> bool {
        matches!(self.osabi, ELFOSABI_NONE | ELFOSABI_GNU)
    }

    /// True when the object runs on `arch` (class and machine both match).
    pub fn matches(&self, arch: Architecture) -> bool {
        (self.class, self.machine) == arch.elf_target()
    }

    /// "ELF64 x86_64", for messages; an OS ABI other than System V/GNU is named too.
    pub fn describe_target(&self) -> String {
        match self.osabi {
            ELFOSABI_NONE | ELFOSABI_GNU => {
                format!("{} {}", self.class, machine_name(self.machine))
            }
            abi => format!(
                "{} {} (OS ABI {abi})",
                self.class,
                machine_name(self.machine)
            ),
        }
    }
}

/// The object's class and goblin's reading context (word size, byte order).
fn context(
    header: &goblin::elf::Header,
) -> goblin::error::Result<(ElfClass, goblin::container::Ctx)> {
    use goblin::container::{Container, Ctx, Endian};
    use goblin::elf::header;
    let (class, container) = match header.e_ident[header::EI_CLASS] {
        ELFCLASS32 => (ElfClass::Elf32, Container::Little),
        ELFCLASS64 => (ElfClass::Elf64, Container::Big),
        other => return Err(malformed(format!("unknown ELF class {other}"))),
    };
    let little = header.e_ident[header::EI_DATA] == header::ELFDATA2LSB;
    Ok((class, Ctx::new(container, Endian::from(little))))
}

/// The `PT_INTERP` path, when the file has one that is a readable string.
fn program_interpreter(bytes: &[u8], phdrs: &[goblin::elf::ProgramHeader]) -> Option<String> {
    let ph = phdrs
        .iter()
        .find(|p| p.p_type == goblin::elf::program_header::PT_INTERP)?;
    let start = usize::try_from(ph.p_offset).ok()?;
    let len = usize::try_from(ph.p_filesz).ok()?;
    let raw = bytes.get(start..start.checked_add(len)?)?;
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    std::str::from_utf8(&raw[..end]).ok().map(str::to_string)
}

fn is_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    std::str::from_utf8(head).is_ok_and(|t| t.contains('(') && !t.contains('\0'))
}

/// GNU ld scripts that stand in for a library (`libc.so`, `libncurses.so`) are short text files.
fn is_linker_script(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let Ok(text) = std::str::from_utf8(head) else {
        return false;
    };
    text.contains("GNU ld script")
        || ["GROUP", "INPUT", "OUTPUT_FORMAT"].iter().any(|kw| {
            text.lines()
                .any(|l| l.trim_start().starts_with(kw) && l.contains('('))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_machines_are_goblins() {
        use crate::arch::machine;
        use goblin::elf::header as h;
        let pairs = [
            (machine::I386, h::EM_386),
            (machine::S390, h::EM_S390),
            (machine::PPC64, h::EM_PPC64),
            (machine::ARM, h::EM_ARM),
            (machine::X86_64, h::EM_X86_64),
            (machine::AARCH64, h::EM_AARCH64),
            (machine::RISCV, h::EM_RISCV),
        ];
        for (ours, goblins) in pairs {
            assert_eq!(ours, goblins);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(ElfInfo::parse(b""), Err(ElfError::Empty));
        assert_eq!(ElfInfo::parse(b"hello"), Err(ElfError::NotElf));
        assert_eq!(
            ElfInfo::parse(b"/* GNU ld script\n */\nGROUP ( /lib/libc.so.6 )\n"),
            Err(ElfError::LinkerScript)
        );
        assert!(matches!(
            ElfInfo::parse(b"\x7fELF\x02\x01\x01"),
            Err(ElfError::Malformed(_))
        ));
        // Deterministic pseudo-random bytes behind a valid magic.
        let mut state = 0x2545_f491_u32;
        for len in [16usize, 64, 200, 1000, 5000] {
            let mut bytes = b"\x7fELF\x02\x01\x01\x00".to_vec();
            while bytes.len() < len {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                bytes.push(state as u8);
            }
            // Any answer is fine; what is tested is that it returns at all.
            let _ = ElfInfo::parse(&bytes);
        }
    }
}

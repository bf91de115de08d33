//! Symbol tables: the undefined symbols an object binds, and the dynamic symbols with the
//! addresses the language checks decode (`app::abi`).

use goblin::elf::Elf;

use super::ElfError;

/// One undefined dynamic symbol an object binds at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undefined {
    pub name: String,
    /// (file, version) from the object's version needs, for a versioned reference.
    pub version: Option<(String, String)>,
    /// Only PLT relocations use it: with lazy binding (`RTLD_LAZY`, how CoreCLR opens P/Invoke
    /// libraries) it is bound when first called, not when the object is loaded.
    pub lazy: bool,
    /// A weak reference: nothing fails when it stays unbound.
    pub weak: bool,
}

/// The dynamic symbols of an object: what it defines and what it needs from others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Symbols {
    /// Defined symbols, each with its version (`None` for an unversioned or base definition).
    pub defined: std::collections::HashSet<(String, Option<String>)>,
    pub undefined: Vec<Undefined>,
}

impl Symbols {
    /// Whether the object defines `name`, at `version` when one is asked for (an unversioned
    /// definition satisfies any reference, as glibc binds it).
    pub fn defines(&self, name: &str, version: Option<&str>) -> bool {
        self.defined.contains(&(name.to_string(), None))
            || match version {
                Some(v) => self
                    .defined
                    .contains(&(name.to_string(), Some(v.to_string()))),
                None => self.defined.iter().any(|(n, _)| n == name),
            }
    }

    /// Whether the object refers to `name` without defining it.
    pub fn needs(&self, name: &str) -> bool {
        self.undefined.iter().any(|u| u.name == name)
    }
}

/// Reads the dynamic symbol table with its versions and the relocations that use each undefined
/// symbol. Slower than [`ElfInfo::parse`] (every symbol and relocation is decoded), so it is read
/// only for the few objects a lazy-binding check looks at.
pub fn symbols(bytes: &[u8]) -> Result<Symbols, ElfError> {
    let elf = Elf::parse(bytes).map_err(|e| ElfError::Malformed(e.to_string()))?;
    Ok(symbols_of(&elf))
}

fn symbols_of(elf: &Elf<'_>) -> Symbols {
    use goblin::elf::sym::{STB_WEAK, STT_FUNC, STT_GNU_IFUNC, STT_NOTYPE, STT_OBJECT};
    let name_of = |offset: usize| elf.dynstrtab.get_at(offset).map(str::to_string);
    // Version index → (file, version) for needs, → version for definitions.
    let mut needs = std::collections::HashMap::new();
    if let Some(verneed) = &elf.verneed {
        for need in verneed.iter() {
            let file = name_of(need.vn_file).unwrap_or_default();
            for aux in need.iter() {
                if let Some(v) = name_of(aux.vna_name) {
                    needs.insert(aux.vna_other, (file.clone(), v));
                }
            }
        }
    }
    let mut defs = std::collections::HashMap::new();
    if let Some(verdef) = &elf.verdef {
        for def in verdef.iter().filter(|d| d.vd_flags & 1 == 0) {
            if let Some(v) = def.iter().next().and_then(|aux| name_of(aux.vda_name)) {
                defs.insert(def.vd_ndx, v);
            }
        }
    }
    let immediate: std::collections::HashSet<usize> = elf
        .dynrelas
        .iter()
        .chain(elf.dynrels.iter())
        .map(|r| r.r_sym)
        .collect();
    let mut out = Symbols::default();
    for (i, sym) in elf.dynsyms.iter().enumerate().skip(1) {
        let Some(name) = name_of(sym.st_name).filter(|n| !n.is_empty()) else {
            continue;
        };
        let index = elf
            .versym
            .as_ref()
            .and_then(|v| v.get_at(i))
            .map_or(1, |v| v.version());
        if sym.st_shndx == 0 {
            out.undefined.push(Undefined {
                version: needs.get(&index).cloned(),
                lazy: !immediate.contains(&i),
                weak: sym.st_bind() == STB_WEAK,
                name,
            });
        } else if matches!(
            sym.st_type(),
            STT_FUNC | STT_OBJECT | STT_NOTYPE | STT_GNU_IFUNC
        ) {
            out.defined.insert((name, defs.get(&index).cloned()));
        }
    }
    out
}

/// A whole ELF file, parsed further than [`ElfInfo`]: its symbols, relocations and the bytes at a
/// virtual address. Read only for the few files whose code or data says what they are (Node.js
/// addons); resolution never needs it.
pub struct ElfImage<'a> {
    elf: Elf<'a>,
    bytes: &'a [u8],
}

impl<'a> ElfImage<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<ElfImage<'a>, ElfError> {
        if !bytes.starts_with(b"\x7fELF") {
            return Err(ElfError::NotElf);
        }
        let elf = Elf::parse(bytes).map_err(|e| ElfError::Malformed(e.to_string()))?;
        Ok(ElfImage { elf, bytes })
    }

    pub fn machine(&self) -> u16 {
        self.elf.header.e_machine
    }

    /// The dynamic symbols, as [`symbols`] reads them.
    pub fn symbols(&self) -> Symbols {
        symbols_of(&self.elf)
    }

    /// The address of a symbol the file defines.
    pub fn symbol_address(&self, name: &str) -> Option<u64> {
        self.elf
            .dynsyms
            .iter()
            .find(|s| s.st_shndx != 0 && self.elf.dynstrtab.get_at(s.st_name) == Some(name))
            .map(|s| s.st_value)
    }

    /// Up to `len` bytes of the file at virtual address `vaddr` (fewer at the end of its segment);
    /// `None` when no loaded segment holds file bytes there.
    pub fn at(&self, vaddr: u64, len: usize) -> Option<&'a [u8]> {
        let load = self.elf.program_headers.iter().find(|p| {
            p.p_type == goblin::elf::program_header::PT_LOAD
                && (p.p_vaddr..p.p_vaddr.saturating_add(p.p_filesz)).contains(&vaddr)
        })?;
        let start = usize::try_from(vaddr - load.p_vaddr + load.p_offset).ok()?;
        let end = usize::try_from(load.p_offset.saturating_add(load.p_filesz)).ok()?;
        let bytes = self.bytes.get(start..end.min(self.bytes.len()))?;
        Some(&bytes[..bytes.len().min(len)])
    }

    /// The addresses of the functions `DT_INIT_ARRAY` runs when the file is loaded: the section's
    /// words, with the addend of a relative relocation where there is one (position-independent
    /// code).
    pub fn init_functions(&self) -> Vec<u64> {
        let Some(dynamic) = &self.elf.dynamic else {
            return Vec::new();
        };
        // The tags' own values: goblin's `DynamicInfo::init_array` is a file offset.
        let tag = |t| dynamic.dyns.iter().find(|d| d.d_tag == t).map(|d| d.d_val);
        use goblin::elf::dynamic::{DT_INIT_ARRAY, DT_INIT_ARRAYSZ};
        let (Some(start), Some(size)) = (tag(DT_INIT_ARRAY), tag(DT_INIT_ARRAYSZ)) else {
            return Vec::new();
        };
        let word = if self.elf.is_64 { 8 } else { 4 };
        let mut out = Vec::new();
        for slot in (start..start.saturating_add(size)).step_by(word) {
            let relocated = self
                .elf
                .dynrelas
                .iter()
                .find(|r| r.r_offset == slot && r.r_sym == 0)
                .and_then(|r| u64::try_from(r.r_addend?).ok());
            let stored = self.at(slot, word).and_then(|b| match b.len() {
                8 => Some(u64::from_le_bytes(b.try_into().ok()?)),
                4 => Some(u64::from(u32::from_le_bytes(b.try_into().ok()?))),
                _ => None,
            });
            out.extend(relocated.or(stored).filter(|&a| a != 0));
        }
        out
    }
}

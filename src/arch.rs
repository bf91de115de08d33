//! Lambda architectures and the ELF machines they run.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    pub const ALL: [Architecture; 2] = [Architecture::X86_64, Architecture::Arm64];

    /// The name Lambda and the spec use.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// The architecture name of OCI image platforms and image configs.
    pub fn oci(self) -> &'static str {
        match self {
            Architecture::X86_64 => "amd64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// What `$PLATFORM` expands to in DT_RPATH/DT_RUNPATH on this architecture.
    pub fn platform(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "aarch64",
        }
    }

    /// The Debian-style multiarch folder name, searched as a default folder.
    pub fn multiarch(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64-linux-gnu",
            Architecture::Arm64 => "aarch64-linux-gnu",
        }
    }

    /// The ELF class and `e_machine` of native objects for this architecture.
    pub fn elf_target(self) -> (ElfClass, u16) {
        match self {
            Architecture::X86_64 => (ElfClass::Elf64, machine::X86_64),
            Architecture::Arm64 => (ElfClass::Elf64, machine::AARCH64),
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Architecture {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "x86_64" => Ok(Architecture::X86_64),
            "arm64" => Ok(Architecture::Arm64),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ElfClass {
    Elf32,
    Elf64,
}

impl fmt::Display for ElfClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElfClass::Elf32 => "ELF32",
            ElfClass::Elf64 => "ELF64",
        })
    }
}

/// ELF `e_machine` values (from the System V ABI's registry), written here so that this module
/// needs no ELF parser; `elf.rs` checks them against goblin's.
pub mod machine {
    pub const I386: u16 = 3;
    pub const S390: u16 = 22;
    pub const PPC64: u16 = 21;
    pub const ARM: u16 = 40;
    pub const X86_64: u16 = 62;
    pub const AARCH64: u16 = 183;
    pub const RISCV: u16 = 243;
}

/// A readable name for an ELF `e_machine` value.
pub fn machine_name(value: u16) -> String {
    match value {
        machine::X86_64 => "x86_64".into(),
        machine::AARCH64 => "arm64 (aarch64)".into(),
        machine::I386 => "i386".into(),
        machine::ARM => "arm (32-bit)".into(),
        machine::RISCV => "riscv".into(),
        machine::PPC64 => "ppc64".into(),
        machine::S390 => "s390".into(),
        other => format!("machine {other}"),
    }
}

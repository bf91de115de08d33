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
            Architecture::X86_64 => (ElfClass::Elf64, goblin::elf::header::EM_X86_64),
            Architecture::Arm64 => (ElfClass::Elf64, goblin::elf::header::EM_AARCH64),
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

/// A readable name for an ELF `e_machine` value.
pub fn machine_name(machine: u16) -> String {
    use goblin::elf::header::*;
    match machine {
        EM_X86_64 => "x86_64".into(),
        EM_AARCH64 => "arm64 (aarch64)".into(),
        EM_386 => "i386".into(),
        EM_ARM => "arm (32-bit)".into(),
        EM_RISCV => "riscv".into(),
        EM_PPC64 => "ppc64".into(),
        EM_S390 => "s390".into(),
        other => format!("machine {other}"),
    }
}

//! The ELF objects that `file` requests ship (executables, plugins, any shared object in a copied
//! folder): roots of the graph like the `library` requests, so the loader's needs of each are
//! resolved, shipped and checked, and `graph` and `why` show them. Each is known by its path in
//! the layer (`bin/fc-match`) and keeps the entry its request gives it.

use super::cache::LoadError;
use super::graph::Status;
use super::resolver::{Resolver, node};
use super::search::Found;
use crate::diagnostic::{Code, Diagnostic};
use crate::elf::ElfKind;

impl Resolver<'_, '_> {
    pub(super) fn add_file_roots(&mut self) {
        for file in self.inputs.files.iter().filter(|f| f.elf) {
            let name = file.to.as_str().to_string();
            if self.by_name.contains_key(&name) {
                continue; // Two requests for one path: the plan reports a collision.
            }
            let elf = match self.load(&file.source) {
                Ok(elf) if elf.kind != ElfKind::Other => elf,
                Ok(_) => continue, // An object file or core dump: nothing is loaded from it.
                Err(e) => {
                    self.diags.push(unreadable(&name, &e).at(file.span));
                    continue;
                }
            };
            let found = Found {
                path: file.source.clone(),
                real: file.source.clone(),
                size: file.size,
                mode: file.mode,
                elf,
            };
            let mut root = node(&name, Status::Shipped, Some(found), None, file.span);
            root.placed = Some(file.to.clone());
            let idx = self.add_node(root);
            self.roots.push(idx);
        }
    }
}

/// A copied file that starts like an ELF object but cannot be read as one: shipped as it is, and
/// nothing about what it loads is known.
fn unreadable(name: &str, e: &LoadError) -> Diagnostic {
    Diagnostic::warning(
        Code::ResolveMalformedElf,
        format!("{name} looks like an ELF object, but {e}: what it loads is not checked"),
    )
    .label("not checked")
    .help("the loader cannot use it either; copy a good build of the file, or leave it out")
}

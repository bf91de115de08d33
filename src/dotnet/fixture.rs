//! Test-only: writes a minimal managed PE32 image (ECMA-335 II.25) with MethodDef, ModuleRef and
//! ImplMap tables, to test the reader's edges (wide heap indexes, empty import names) that real
//! assemblies rarely show. Real assemblies are tested in `tests/it/dotnet.rs`.

/// `imports`: (module, entry point, method name); an empty entry point leaves ImplMap's
/// ImportName empty, as the method's own name then applies.
pub(crate) fn assembly(imports: &[(&str, &str, &str)], wide_strings: bool) -> Vec<u8> {
    let mut strings = vec![0u8];
    let mut intern = |s: &str| -> u32 {
        if s.is_empty() {
            return 0;
        }
        let at = strings.len() as u32;
        strings.extend_from_slice(s.as_bytes());
        strings.push(0);
        at
    };
    let mut modules: Vec<&str> = imports.iter().map(|i| i.0).collect();
    modules.dedup();
    let module_names: Vec<u32> = modules.iter().map(|m| intern(m)).collect();
    let rows: Vec<(u32, u32, u32)> = imports
        .iter()
        .map(|(m, entry, method)| {
            let module = modules.iter().position(|x| x == m).unwrap() as u32 + 1;
            (intern(entry), intern(method), module)
        })
        .collect();
    let str_idx = |v: &mut Vec<u8>, i: u32| {
        if wide_strings {
            v.extend_from_slice(&i.to_le_bytes())
        } else {
            v.extend_from_slice(&(i as u16).to_le_bytes())
        }
    };
    let mut tables = Vec::new();
    tables.extend_from_slice(&[0, 0, 0, 0, 2, 0, u8::from(wide_strings), 1]);
    let valid: u64 = 1 << 0x06 | 1 << 0x1A | 1 << 0x1C;
    tables.extend_from_slice(&valid.to_le_bytes());
    tables.extend_from_slice(&0u64.to_le_bytes());
    for count in [rows.len(), modules.len(), rows.len()] {
        tables.extend_from_slice(&(count as u32).to_le_bytes());
    }
    for (i, (_, method, _)) in rows.iter().enumerate() {
        tables.extend_from_slice(&[0; 8]); // RVA, ImplFlags, Flags
        str_idx(&mut tables, *method);
        tables.extend_from_slice(&[0, 0]); // Signature (blob)
        tables.extend_from_slice(&(i as u16 + 1).to_le_bytes()); // ParamList
    }
    for name in module_names {
        str_idx(&mut tables, name);
    }
    for (i, (entry, _, module)) in rows.iter().enumerate() {
        tables.extend_from_slice(&[0, 0]); // MappingFlags
        tables.extend_from_slice(&(((i as u16 + 1) << 1) | 1).to_le_bytes()); // MethodDef i+1
        str_idx(&mut tables, *entry);
        tables.extend_from_slice(&(*module as u16).to_le_bytes());
    }
    pad4(&mut tables);
    pad4(&mut strings);
    image(&metadata(&tables, &strings))
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

fn metadata(tables: &[u8], strings: &[u8]) -> Vec<u8> {
    let mut root = Vec::new();
    root.extend_from_slice(&0x424A_5342u32.to_le_bytes());
    root.extend_from_slice(&[1, 0, 1, 0, 0, 0, 0, 0]);
    root.extend_from_slice(&12u32.to_le_bytes());
    root.extend_from_slice(b"v4.0.30319\0\0");
    root.extend_from_slice(&[0, 0, 2, 0]);
    let headers = 2 * 8 + 4 + 12; // "#~\0\0" and "#Strings\0\0\0\0"
    let first = (root.len() + headers) as u32;
    for (offset, size, name) in [
        (first, tables.len(), &b"#~\0\0"[..]),
        (
            first + tables.len() as u32,
            strings.len(),
            b"#Strings\0\0\0\0",
        ),
    ] {
        root.extend_from_slice(&offset.to_le_bytes());
        root.extend_from_slice(&(size as u32).to_le_bytes());
        root.extend_from_slice(name);
    }
    root.extend_from_slice(tables);
    root.extend_from_slice(strings);
    root
}

/// A PE32 file with one section at RVA 0x2000 (file offset 0x200): CLI header, then metadata.
fn image(metadata: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 0x200];
    b[..2].copy_from_slice(b"MZ");
    b[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    b[0x80..0x84].copy_from_slice(b"PE\0\0");
    let put16 =
        |b: &mut Vec<u8>, at: usize, v: u16| b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put32 =
        |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put16(&mut b, 0x84, 0x14c); // i386
    put16(&mut b, 0x86, 1); // one section
    put16(&mut b, 0x94, 0xE0); // SizeOfOptionalHeader
    let opt = 0x98;
    put16(&mut b, opt, 0x10b);
    put32(&mut b, opt + 92, 16);
    let size = (72 + metadata.len()) as u32;
    put32(&mut b, opt + 96 + 14 * 8, 0x2000);
    put32(&mut b, opt + 96 + 14 * 8 + 4, 72);
    let section = opt + 0xE0;
    b[section..section + 5].copy_from_slice(b".text");
    put32(&mut b, section + 8, size);
    put32(&mut b, section + 12, 0x2000);
    put32(&mut b, section + 16, size);
    put32(&mut b, section + 20, 0x200);
    let mut cli = vec![0u8; 72];
    put32(&mut cli, 0, 72);
    put16(&mut cli, 4, 2);
    put16(&mut cli, 6, 5);
    put32(&mut cli, 8, 0x2000 + 72);
    put32(&mut cli, 12, metadata.len() as u32);
    b.extend_from_slice(&cli);
    b.extend_from_slice(metadata);
    b
}

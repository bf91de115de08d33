//! The catalog's own unit tests.

use super::*;

#[test]
fn builtin_catalog_loads_and_is_consistent() {
    let catalog = Catalog::builtin();
    assert!(catalog.runtimes.len() >= 40, "{}", catalog.runtimes.len());
    // Every listing is read (a run reads those of the runtime it uses).
    super::load::check_folders(catalog).unwrap();
    for os in catalog.os_bases.values() {
        assert!(!os.listings.is_empty(), "{}", os.id);
    }
    for rt in catalog.runtimes.values() {
        let os = catalog
            .os(&rt.os)
            .unwrap_or_else(|| panic!("{} has unknown os", rt.id));
        for arch in &rt.architectures {
            assert!(os.ceiling(*arch, "GLIBC").is_some(), "{} {arch}", rt.id);
        }
        assert!(!rt.ld_library_path.is_empty(), "{}", rt.id);
    }
    for id in [
        "dotnetcore2.1",
        "dotnet10",
        "provided",
        "provided.al2",
        "provided.al2023",
        "python3.7",
        "python3.14",
        "nodejs12.x",
        "nodejs24.x",
        "java8",
        "java25",
        "ruby2.5",
        "ruby3.4",
        "go1.x",
    ] {
        assert!(catalog.runtime(id).is_some(), "{id}");
    }
    let al2 = catalog.os("al2").unwrap();
    let x86 = Architecture::X86_64;
    assert!(al2.provides(x86, "libc.so.6") && al2.provides(x86, "libstdc++.so.6"));
    // Amazon Linux 2 has carried libuuid since 2023 (the 2026 dumps).
    assert!(al2.provides(x86, "libuuid.so.1"));
    assert_eq!(al2.ceiling(x86, "GLIBC").unwrap().to_string(), "2.26");
    assert!(catalog.version.starts_with("20"), "{}", catalog.version);
    assert!(catalog.is_glibc("libpthread.so.0") && !catalog.is_glibc("libcrypt.so.1"));
}

#[test]
fn ids_sort_naturally() {
    let mut ids = vec![
        "python3.14",
        "dotnet10",
        "python3.6",
        "dotnet5.0",
        "dotnet8",
        "nodejs4.3-edge",
        "nodejs4.3",
    ];
    ids.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(
        ids,
        [
            "dotnet5.0",
            "dotnet8",
            "dotnet10",
            "nodejs4.3",
            "nodejs4.3-edge",
            "python3.6",
            "python3.14"
        ]
    );
}

#[test]
fn an_unknown_id_with_a_base_borrows_the_familys_path() {
    let catalog = Catalog::builtin().with_stated("ruby9.9", "al2023").unwrap();
    let rt = catalog.runtime("ruby9.9").unwrap();
    assert_eq!(
        rt.ld_library_path,
        catalog.runtime("ruby4.0").unwrap().ld_library_path
    );
    assert_eq!(rt.architectures.len(), 2);
    assert!(rt.deprecated.is_none() && rt.folders.is_empty());
    assert!(Catalog::builtin().with_stated("ruby9.9", "al9").is_none());
}

#[test]
fn symbol_versions_split() {
    let (ns, v) = split_symbol_version("GLIBC_2.34").unwrap();
    assert_eq!((ns, v.to_string().as_str()), ("GLIBC", "2.34"));
    assert_eq!(split_symbol_version("GLIBCXX_3.4.29").unwrap().0, "GLIBCXX");
    assert!(split_symbol_version("GLIBC_PRIVATE").is_none());
}

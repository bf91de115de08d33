//! The built-in catalog read against facts of the listings dumped inside real Lambda functions
//! (`tests/data/listings/`, written by `specs/runtimes/gen/listings.py`), and what those facts
//! mean for a layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use layerc::arch::Architecture;
use layerc::runtime::{Catalog, Provision};

use crate::common::*;

fn listing_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/listings")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every shared-object name of one base's library folders on one architecture.
fn base_listing(os: &str, arch: Architecture) -> BTreeSet<String> {
    listing_file(&format!("{os}-{}.txt", arch.as_str()))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// `/var/lang/lib` of each dumped runtime and architecture.
fn var_lang_lib() -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<_, BTreeSet<String>> = BTreeMap::new();
    for line in listing_file("var-lang-lib.txt").lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        if let [rt, arch, name] = parts[..] {
            let set = out.entry((rt.to_string(), arch.to_string())).or_default();
            if name != "(none)" {
                set.insert(name.to_string());
            }
        }
    }
    out
}

#[test]
fn no_soname_is_claimed_that_the_real_listing_lacks() {
    let catalog = Catalog::builtin();
    for os in catalog.os_bases.values() {
        for &arch in os.ceilings.keys() {
            let listed = base_listing(&os.id, arch);
            assert!(listed.len() > 100, "{} {arch:?}: {}", os.id, listed.len());
            for l in os
                .listings
                .iter()
                .filter(|l| l.architectures.contains(&arch))
            {
                assert!(
                    !l.derived,
                    "{}: a derived list beside a real listing",
                    os.id
                );
                for soname in &l.sonames {
                    assert!(
                        listed.contains(soname),
                        "{} {arch:?} claims {soname}, which its listing lacks",
                        os.id
                    );
                }
            }
        }
    }
}

#[test]
fn runtime_folders_claim_only_what_their_listing_has() {
    let catalog = Catalog::builtin();
    let dumps = var_lang_lib();
    for rt in catalog.runtimes.values() {
        for folder in rt.folders.iter().filter(|f| !f.derived) {
            assert_eq!(folder.folder, "/var/lang/lib", "{}", rt.id);
            for arch in &folder.architectures {
                let key = (rt.id.clone(), arch.as_str().to_string());
                let listed = dumps.get(&key).unwrap_or_else(|| panic!("{key:?}"));
                assert!(folder.sonames.is_subset(listed), "{key:?}");
            }
        }
    }
}

#[test]
fn glibc_sonames_are_provided_only_where_the_listing_has_them() {
    let catalog = Catalog::builtin();
    let x86 = Architecture::X86_64;
    let arm = Architecture::Arm64;
    let al2023 = |arch| Provision::new(catalog, ["provided.al2023"], arch).unwrap();
    for gone in ["libnsl.so.1", "libcidn.so.1"] {
        assert!(
            !al2023(x86).is_glibc(gone) && !al2023(x86).has(gone),
            "{gone}"
        );
    }
    assert!(al2023(x86).is_glibc("libmvec.so.1"));
    assert!(!al2023(arm).is_glibc("libmvec.so.1") && !al2023(arm).has("libmvec.so.1"));
    let al1 = Provision::new(catalog, ["provided"], x86).unwrap();
    assert!(al1.is_glibc("libnsl.so.1") && !al1.has("libslapi-2.4.so.2"));
    assert!(al1.has("libpcre.so.0"));
}

#[test]
fn what_each_base_now_has() {
    let catalog = Catalog::builtin();
    let has =
        |rt: &str, arch, soname: &str| Provision::new(catalog, [rt], arch).unwrap().has(soname);
    for arch in Architecture::ALL {
        for soname in [
            "libuuid.so.1",
            "libfontconfig.so.1",
            "libfreetype.so.6",
            "libpng15.so.15",
            "libexpat.so.1",
            "libbz2.so.1",
        ] {
            assert!(has("provided.al2", arch, soname), "{soname} {arch:?}");
        }
        for soname in ["libkdb5.so.10", "libpcre2-posix.so.3", "libpsx.so.2"] {
            assert!(has("provided.al2023", arch, soname), "{soname} {arch:?}");
        }
    }
}

#[test]
fn runtime_folders_count_as_provided_for_that_runtime_only() {
    let catalog = Catalog::builtin();
    let x86 = Architecture::X86_64;
    let p = |ids: &[&'static str]| Provision::new(catalog, ids.iter().copied(), x86).unwrap();
    assert!(p(&["python3.12"]).has("libcrypt.so.1"));
    assert!(!p(&["provided.al2023"]).has("libcrypt.so.1"));
    // A layer for both must ship it: one of them lacks it.
    assert!(!p(&["python3.12", "provided.al2023"]).has("libcrypt.so.1"));
    for rt in ["nodejs18.x", "nodejs20.x", "nodejs22.x"] {
        let copies = p(&[rt]).own_copies("libssl.so.3");
        assert_eq!(copies.len(), 1, "{rt}");
        assert_eq!(copies[0].1.folder, "/var/lang/lib");
    }
    assert!(p(&["dotnet8"]).has("libicuuc.so.67"));
    assert!(!p(&["provided.al2023"]).has("libicuuc.so.67"));
}

#[test]
fn ceilings_follow_the_real_runtime_libraries() {
    let catalog = Catalog::builtin();
    let al2023 = catalog.os("al2023").unwrap();
    for arch in Architecture::ALL {
        let c = &al2023.ceilings[&arch];
        let v = |ns: &str| c.versions[ns].to_string();
        assert_eq!(
            (v("GLIBCXX"), v("CXXABI"), v("GCC")),
            ("3.4.33".into(), "1.3.15".into(), "14.0.0".into())
        );
        assert_eq!(c.since.unwrap().to_string(), "2025-06-04");
    }
}

#[test]
fn a_library_needing_libnsl_ships_it_for_al2023() {
    let fx = Fixture::new();
    fx.lib("/usr/lib64/libnsl.so.1", "libnsl.so.1", "nsl_fn");
    fx.cc_lib(
        "/usr/lib64/libuses-nsl.so.1",
        "libuses-nsl.so.1",
        &c_calls("uses", "nsl_fn"),
        &["/usr/lib64/libnsl.so.1"],
        &[],
    );
    let spec = |rt: &str| {
        format!(
            "layer \"l\" {{\n    runtime \"{rt}\"\n    rootfs \"rootfs\"\n    library \"libuses-nsl.so.1\"\n}}\n"
        )
    };
    fx.spec(&spec("provided.al2023"));
    let analysis = fx.analyze();
    assert!(!analysis.has_errors(), "{}", rendered(&analysis));
    assert!(plan_paths(&analysis).contains(&"lib/libnsl.so.1"));
    // Amazon Linux 2 has glibc's libnsl.so.1: never shipped there.
    fx.spec(&spec("provided.al2"));
    let analysis = fx.analyze();
    assert_eq!(plan_paths(&analysis), ["lib/libuses-nsl.so.1"]);
}

fn crypt_fixture(fx: &Fixture, runtimes: &str, mode: &str) -> layerc::Analysis {
    fx.lib("/usr/lib64/libcrypt.so.1", "libcrypt.so.1", "crypt_fn");
    fx.cc_lib(
        "/usr/lib64/libhash.so.1",
        "libhash.so.1",
        &c_calls("hash", "crypt_fn"),
        &["/usr/lib64/libcrypt.so.1"],
        &[],
    );
    fx.spec(&format!(
        "layer \"hash\" {{\n    {runtimes}\n    rootfs \"rootfs\"\n    library \"libhash.so.1\"\n}}\n\nfunction \"Fn\" {{\n    layer \"hash\"\n    ld-library-path \"{mode}\"\n}}\n"
    ));
    fx.analyze()
}

#[test]
fn libcrypt_is_provided_by_python312_but_shipped_for_al2023() {
    let fx = Fixture::new();
    let analysis = crypt_fixture(&fx, "runtime \"python3.12\"", "prepend");
    assert_eq!(plan_paths(&analysis), ["lib/libhash.so.1"]);
    let analysis = crypt_fixture(&fx, "runtime \"provided.al2023\"", "prepend");
    assert_eq!(
        plan_paths(&analysis),
        ["lib/libcrypt.so.1", "lib/libhash.so.1"]
    );
    assert!(codes(&analysis).is_empty(), "{}", rendered(&analysis));
}

#[test]
fn a_copy_shadowed_by_var_lang_lib_is_a_warning() {
    let fx = Fixture::new();
    let runtimes = "runtime \"python3.12\"\n    runtime \"provided.al2023\"";
    let analysis = crypt_fixture(&fx, runtimes, "append");
    assert!(plan_paths(&analysis).contains(&"lib/libcrypt.so.1"));
    assert_eq!(codes(&analysis), ["abi::runtime-shadow"]);
    let message = &analysis.diagnostics[0].message;
    assert!(message.contains("/opt/lib/libcrypt.so.1"), "{message}");
    assert!(message.contains("/var/lang/lib/libcrypt.so.1"), "{message}");
    insta::assert_snapshot!(rendered(&analysis));
    // The runtime's default path puts /opt/lib last: shadowed too.
    let keep = crypt_fixture(&fx, runtimes, "keep");
    assert_eq!(codes(&keep), ["abi::runtime-shadow"]);
    // Prepended, the layer's copy comes first and loads.
    let prepend = crypt_fixture(&fx, runtimes, "prepend");
    assert!(codes(&prepend).is_empty(), "{}", rendered(&prepend));
}

#[test]
fn each_base_image_is_the_runtime_family_on_public_ecr() {
    let catalog = Catalog::builtin();
    assert!(catalog.base_images.len() >= 20, "{:?}", catalog.base_images);
    for (id, image) in &catalog.base_images {
        let rt = catalog.runtime(id).unwrap();
        let reference =
            layerc::registry::Reference::parse(&format!("docker://{}", image.reference)).unwrap();
        assert_eq!(reference.registry, "public.ecr.aws", "{id}");
        // The repository is the family's (provided for the OS-only images).
        assert_eq!(
            reference.repository,
            format!("lambda/{}", rt.family),
            "{id}"
        );
        assert!(!image.source.is_empty());
    }
    let dotnet8 = &catalog.base_images["dotnet8"];
    assert_eq!(dotnet8.reference, "public.ecr.aws/lambda/dotnet:8");
}

/// Every dotnet runtime Lambda runs today knows its .NET and that framework's files; each has an
/// ICU the framework accepts among what it provides, and the framework's own P/Invoke names resolve
/// to its files (`System.Native` in 3.1, `libSystem.Native` since).
#[test]
fn dotnet_runtimes_know_their_framework_and_its_icu() {
    use layerc::dotnet::coreclr::variations;
    let catalog = Catalog::builtin();
    for (id, version, native) in [
        ("dotnetcore3.1", "3.1", "System.Native"),
        ("dotnet6", "6", "libSystem.Native"),
        ("dotnet8", "8", "libSystem.Native"),
        ("dotnet10", "10", "libSystem.Native"),
    ] {
        let rt = catalog.runtime(id).unwrap();
        let fx = rt
            .dotnet
            .as_ref()
            .unwrap_or_else(|| panic!("{id} has no framework"));
        assert_eq!(fx.version, version);
        assert!(
            variations(native).iter().any(|v| fx.files.contains(v)),
            "{id}: {native}"
        );
        assert!(fx.optional_reason("libcoreclrtraceptprovider.so").is_some());
        let provision = Provision::new(catalog, [id], Architecture::X86_64).unwrap();
        let top = fx.icu_max.unwrap_or(99);
        let icu = (fx.icu_min..=top)
            .find(|n| provision.has(&format!("libicuuc.so.{n}")))
            .unwrap_or_else(|| panic!("{id} has no ICU its .NET accepts"));
        assert!(provision.has(&format!("libicui18n.so.{icu}")), "{id}");
    }
    assert!(catalog.runtime("provided.al2023").unwrap().dotnet.is_none());
}

/// cfn-lint's runtime lifecycle data, the source `specs/runtimes/gen/lifecycle.py` pins.
const CFN_LINT: crate::artifacts::Pinned = crate::artifacts::Pinned {
    file: "cfn_lint-1.58.0-py3-none-any.whl",
    sha256: "9d9f06043160756a6158f5c3f92a44ce38254b1c578127461608305bc8262987",
};

#[test]
fn lifecycle_dates_are_cfn_lints() {
    use crate::artifacts::{or_skip, wheel};
    let fetched = wheel("cfn-lint==1.58.0", "manylinux2014_x86_64", &CFN_LINT);
    let Some((_, dir)) = or_skip("cfn-lint 1.58.0", fetched) else {
        return;
    };
    let path = dir.join("cfnlint/data/AdditionalSpecs/LmbdRuntimeLifecycle.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let data: BTreeMap<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    let catalog = Catalog::builtin();
    let date = |d: Option<layerc::runtime::Date>| d.map(|d| d.to_string());
    for (id, entry) in &data {
        let rt = catalog
            .runtime(id)
            .unwrap_or_else(|| panic!("{id} is in cfn-lint's data but not in the catalog"));
        let field = |key: &str| entry[key].as_str().map(str::to_string);
        assert_eq!(date(rt.deprecated), field("deprecated"), "{id} deprecated");
        assert_eq!(
            date(rt.block_create),
            field("create-block"),
            "{id} create-block"
        );
        assert_eq!(
            date(rt.block_update),
            field("update-block"),
            "{id} update-block"
        );
        assert_eq!(rt.successor, field("successor"), "{id} successor");
    }
    assert!(data.len() >= 47, "{}", data.len());
}

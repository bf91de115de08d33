//! Package sources written wrong, and package names a repository does not have or cannot install
//! (from a local unsigned repository served on 127.0.0.1 with `trusted=#true`).

use super::*;
use crate::packages::local_apt::{Deb, Entry, LocalApt};
use crate::packages::server::Server;

fn with_rootfs_block(block: &str) -> String {
    format!(
        "layer \"x\" {{\n    runtime \"provided.al2023\"\n    rootfs {{\n{block}    }}\n    library \"libx.so.1\"\n}}\n"
    )
}

#[test]
fn an_unknown_amazon_linux_release() {
    let (analysis, _fx) = analyze(&with_rootfs_block(
        "        amazonlinux \"2022\" { package \"libx\" }\n",
    ));
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn an_apt_source_without_suite_and_an_unknown_source_kind() {
    let block = "        apt \"https://example.com/debian\" { package \"libx\" }\n        debain \"bullseye\" { package \"libx\" }\n";
    let (analysis, _fx) = analyze(&with_rootfs_block(block));
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn apt_and_rpm_sources_in_one_block() {
    let block = "        debian \"bullseye\" { package \"libx\" }\n        rpm \"https://example.com/repo\" key=\"k.asc\"\n";
    let (analysis, _fx) = analyze(&with_rootfs_block(block));
    insta::assert_snapshot!(rendered(&analysis));
}

#[test]
fn a_block_without_packages() {
    let (analysis, _fx) = analyze(&with_rootfs_block("        debian \"bullseye\"\n"));
    insta::assert_snapshot!(rendered(&analysis));
}

fn deb(name: &'static str, depends: &'static str) -> Deb {
    Deb {
        name,
        version: "1.0-1",
        depends,
        entries: vec![Entry::File("./usr/share/doc/x", b"x".to_vec())],
    }
}

/// The rendered errors of a spec naming `package` from a local repository of `debs`.
fn resolved(debs: &[Deb], package: &str) -> String {
    let fx = Fixture::new();
    let repo = LocalApt::write(&fx.path().join("repo"), debs, None, 0);
    let server = Server::start(&repo.root);
    let block = format!(
        "        apt \"{}\" suite=\"test\" trusted=#true {{\n            package \"{package}\"\n        }}\n",
        server.url
    );
    let analysis = crate::common::analyze_only(&with_rootfs_block(&block), fx.path());
    rendered_errors(&analysis)
}

#[test]
fn an_unknown_package_suggests_the_closest() {
    let text = resolved(&[deb("libgdiplus", "")], "libgdiplus0");
    insta::with_settings!({filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT")]}, {
        insta::assert_snapshot!(text);
    });
}

#[test]
fn an_unsatisfiable_dependency_names_the_chain() {
    let debs = [
        deb("foo", "libbar"),
        deb("libbar", "libbaz (>= 2)"),
        deb("libbaz", ""),
    ];
    let text = resolved(&debs, "foo");
    insta::with_settings!({filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT")]}, {
        insta::assert_snapshot!(text);
    });
}

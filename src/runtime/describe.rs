//! `layerc runtimes ID`: one runtime in full, each fact with where it comes from.

use std::fmt::Write as _;

use super::{Catalog, Date, Listing, OsBase, Runtime};
use crate::arch::Architecture;

/// The runtime's facts, ceilings with their sources, and every soname it provides per
/// architecture, folder by folder in the order the loader searches them.
pub fn details(catalog: &Catalog, id: &str) -> Option<String> {
    let rt = catalog.runtime(id)?;
    let os = catalog.os(&rt.os)?;
    let mut out = String::new();
    let date = |d: Option<Date>| d.map_or("-".to_string(), |d| d.to_string());
    let archs: Vec<&str> = rt.architectures.iter().map(|a| a.as_str()).collect();
    let successor = rt.successor.as_deref().unwrap_or("-");
    let _ = writeln!(out, "runtime         {}", rt.id);
    let _ = writeln!(out, "catalog         {}", catalog.version);
    let _ = writeln!(out, "origin          {}", rt.origin.label());
    let _ = writeln!(out, "family          {}", rt.family);
    let _ = writeln!(out, "os              {} (glibc {})", os.name, os.glibc);
    let _ = writeln!(out, "architectures   {}", archs.join(", "));
    let _ = writeln!(out, "deprecated      {}", date(rt.deprecated));
    let _ = writeln!(out, "block create    {}", date(rt.block_create));
    let _ = writeln!(out, "block update    {}", date(rt.block_update));
    let _ = writeln!(out, "successor       {successor}");
    let _ = writeln!(out, "ld-library-path {}", rt.ld_library_path.join(":"));
    if let Some(image) = catalog.base_images.get(&rt.id) {
        let _ = writeln!(out, "base image      docker://{}", image.reference);
        let _ = writeln!(out, "  source        {}", image.source);
    }
    for arch in &rt.architectures {
        if let Some(c) = os.ceilings.get(arch) {
            let list: Vec<String> = c.versions.iter().map(|(n, v)| format!("{n}_{v}")).collect();
            let label = format!("ceilings {}", arch.as_str());
            let _ = writeln!(out, "{label:<16}{}", list.join(", "));
            let _ = writeln!(out, "  since         {}", date(c.since));
            let _ = writeln!(out, "  source        {}", c.source);
        }
    }
    for source in rt.sources.iter().chain(&os.sources) {
        let _ = writeln!(out, "source          {source}");
    }
    for &arch in &rt.architectures {
        provided(&mut out, rt, os, arch);
    }
    Some(out)
}

/// The folders that give `arch` its sonames, in search order, each with its provenance.
fn provided(out: &mut String, rt: &Runtime, os: &OsBase, arch: Architecture) {
    let _ = writeln!(
        out,
        "\nprovided sonames on {}, in the order the loader searches:",
        arch.as_str()
    );
    let mut shown: Vec<&Listing> = Vec::new();
    for dir in &rt.ld_library_path {
        let own: Vec<&Listing> = rt
            .folders
            .iter()
            .filter(|l| &l.folder == dir && l.architectures.contains(&arch))
            .collect();
        if own.is_empty() && dir == "/var/lang/lib" {
            let _ = writeln!(
                out,
                "  /var/lang/lib: no listing in the data, so nothing of it is counted"
            );
        }
        shown.extend(own);
        if dir == "/lib64" || dir == "/usr/lib64" {
            shown.extend(
                os.listings
                    .iter()
                    .filter(|l| l.architectures.contains(&arch)),
            );
        }
    }
    shown.extend(
        os.listings
            .iter()
            .filter(|l| l.architectures.contains(&arch)),
    );
    let mut seen: Vec<&Listing> = Vec::new();
    for listing in shown {
        if seen.contains(&listing) {
            continue;
        }
        seen.push(listing);
        let _ = writeln!(out, "  {}: {}", listing.folder, provenance(listing));
        for soname in &listing.sonames {
            let _ = writeln!(out, "    {soname}");
        }
    }
}

fn provenance(l: &Listing) -> String {
    let how = match l.dumped {
        _ if l.derived => "derived from package names (no listing exists)".to_string(),
        Some(d) => format!("listing dumped inside Lambda on {d}"),
        None => "listing".to_string(),
    };
    match &l.upstream {
        Some(up) => format!("{how}; {} ({up})", l.source),
        None => format!("{how}; {}", l.source),
    }
}

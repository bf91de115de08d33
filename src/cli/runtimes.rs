//! `layerc runtimes [ID]`: the catalog (built in, with any `--catalog` file) as a table, or one
//! runtime in full.

use layerc::Session;
use layerc::diagnostic::did_you_mean;
use layerc::runtime::{Catalog, Date};

use super::TOOL_ERROR;
use super::output::{print_out, say};

pub(super) fn run(session: &Session, id: Option<&str>) -> i32 {
    let Some(id) = id else {
        return print_out(&runtimes_table(session.catalog, Date::today()));
    };
    match layerc::runtime::describe::details(session.catalog, id) {
        Some(text) => print_out(&text),
        None => {
            let hint = did_you_mean(id, session.catalog.runtime_ids())
                .map_or(String::new(), |h| format!(": {h}"));
            say(format_args!("error: unknown runtime `{id}`{hint}"));
            TOOL_ERROR
        }
    }
}

/// The catalog as an aligned table.
fn runtimes_table(catalog: &Catalog, today: Date) -> String {
    let mut rows = vec![[
        "RUNTIME".to_string(),
        "OS".to_string(),
        "ARCHITECTURES".to_string(),
        "GLIBC".to_string(),
        "DEPRECATED".to_string(),
        "BLOCK CREATE".to_string(),
        "BLOCK UPDATE".to_string(),
        "SUCCESSOR".to_string(),
        "STATUS".to_string(),
        "ORIGIN".to_string(),
    ]];
    let date = |d: Option<Date>| d.map_or("-".to_string(), |d| d.to_string());
    let mut runtimes = catalog.sorted_runtimes();
    runtimes.sort_by(|a, b| a.family.cmp(&b.family));
    for rt in runtimes {
        let os = catalog.os(&rt.os);
        let status = rt.lifecycle(today).as_str();
        rows.push([
            rt.id.clone(),
            catalog.os_name(&rt.os).to_string(),
            rt.architectures
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(","),
            os.map_or("-".to_string(), |o| o.glibc.to_string()),
            date(rt.deprecated),
            date(rt.block_create),
            date(rt.block_update),
            rt.successor.clone().unwrap_or_else(|| "-".to_string()),
            status.to_string(),
            rt.origin.label(),
        ]);
    }
    let widths: Vec<usize> = (0..10)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!("catalog {}\n\n", catalog.version);
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

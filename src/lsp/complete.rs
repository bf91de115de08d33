//! Completion: node names for the level the cursor is at, property names and values, runtime ids,
//! architectures, this spec's layer names, and library names found in the rootfs.

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionItemTag, CompletionParams, CompletionResponse,
    CompletionTextEdit, Range, TextEdit,
};

use super::Context;
use super::context::{self, Cursor, Place};
use crate::arch::Architecture;
use crate::resolve::search::SystemPaths;
use crate::runtime::Date;
use crate::spec::{self, LdLibraryPathMode, schema};

pub(super) fn completion(cx: &Context<'_>, params: CompletionParams) -> Option<CompletionResponse> {
    let pos = params.text_document_position.position;
    let offset = cx.doc.offset(pos, cx.encoding);
    let cursor = context::at(&cx.doc.text, offset)?;
    let range = Range::new(cx.doc.position(cursor.start, cx.encoding), pos);
    let quote = !matches!(
        cursor.place,
        Place::InString
            | Place::PropertyValue {
                in_string: true,
                ..
            }
    );
    let items: Vec<Item> = match &cursor.place {
        Place::NodeName => node_names(&cursor),
        Place::Bare | Place::InString => {
            let mut items = argument_values(cx, &cursor);
            if cursor.place == Place::Bare {
                items.extend(property_names(&cursor));
            }
            items
        }
        Place::PropertyValue { prop, .. } => property_values(prop),
    };
    let items = items
        .into_iter()
        .map(|item| item.into_lsp(range, quote))
        .collect();
    Some(CompletionResponse::Array(items))
}

/// One candidate before it becomes an LSP item.
struct Item {
    label: String,
    kind: CompletionItemKind,
    detail: Option<String>,
    deprecated: bool,
    /// Inserted as typed (a property or keyword), never quoted.
    verbatim: Option<String>,
    sort: String,
}

impl Item {
    fn value(label: &str, kind: CompletionItemKind) -> Self {
        Item {
            label: label.to_string(),
            kind,
            detail: None,
            deprecated: false,
            verbatim: None,
            sort: label.to_string(),
        }
    }

    fn into_lsp(self, range: Range, quote: bool) -> CompletionItem {
        let text = match (&self.verbatim, quote) {
            (Some(v), _) => v.clone(),
            (None, true) => format!("\"{}\"", self.label),
            (None, false) => self.label.clone(),
        };
        CompletionItem {
            label: self.label,
            kind: Some(self.kind),
            detail: self.detail,
            tags: self.deprecated.then(|| vec![CompletionItemTag::DEPRECATED]),
            sort_text: Some(self.sort),
            filter_text: Some(text.clone()),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(range, text))),
            ..Default::default()
        }
    }
}

fn keyword(label: &str, kind: CompletionItemKind) -> Item {
    Item {
        verbatim: Some(label.to_string()),
        ..Item::value(label, kind)
    }
}

fn node_names(cursor: &Cursor) -> Vec<Item> {
    let Some(place) = place_of(cursor) else {
        return Vec::new();
    };
    schema::SCHEMA
        .iter()
        .filter(|n| n.place == place)
        .map(|n| Item {
            detail: Some(n.help.to_string()),
            ..keyword(n.name, CompletionItemKind::KEYWORD)
        })
        .collect()
}

/// The schema's place for the block the cursor is in (specs nest one level).
fn place_of(cursor: &Cursor) -> Option<schema::Place> {
    match (
        cursor.blocks.len(),
        cursor.parent().map(|b| b.node.as_str()),
    ) {
        (0, _) => Some(schema::Place::Top),
        (1, Some("layer")) => Some(schema::Place::Layer),
        (1, Some("function")) => Some(schema::Place::Function),
        (2, Some("rootfs")) => Some(schema::Place::Rootfs),
        (3, Some(_)) => Some(schema::Place::Source),
        _ => None,
    }
}

/// The node's properties from the schema: flags written `name=#true`, others `name=`.
fn property_names(cursor: &Cursor) -> Vec<Item> {
    let node = place_of(cursor).zip(cursor.node.as_deref());
    let Some(schema) = node.and_then(|(place, name)| schema::find(place, name)) else {
        return Vec::new();
    };
    schema
        .props
        .iter()
        .map(|p| {
            let text = match *p {
                "override" | "optional" | "trusted" => format!("{p}=#true"),
                _ => format!("{p}="),
            };
            keyword(&text, CompletionItemKind::PROPERTY)
        })
        .collect()
}

fn property_values(prop: &str) -> Vec<Item> {
    match prop {
        "override" | "optional" => ["#true", "#false"]
            .iter()
            .map(|v| keyword(v, CompletionItemKind::VALUE))
            .collect(),
        _ => Vec::new(),
    }
}

fn argument_values(cx: &Context<'_>, cursor: &Cursor) -> Vec<Item> {
    let parent = cursor.parent().map(|b| b.node.as_str());
    match (parent, cursor.node.as_deref()) {
        (Some("layer"), Some("runtime")) => runtimes(cx),
        (Some("layer"), Some("architecture")) => Architecture::ALL
            .iter()
            .map(|a| Item::value(a.as_str(), CompletionItemKind::ENUM_MEMBER))
            .collect(),
        (Some("layer"), Some("library" | "exclude")) => libraries(cx, cursor),
        (Some("function"), Some("layer")) => layer_names(cx),
        (Some("function"), Some("ld-library-path")) => LdLibraryPathMode::NAMES
            .iter()
            .map(|m| Item::value(m, CompletionItemKind::ENUM_MEMBER))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every runtime id, with its OS base and end of support; deprecated ones are tagged and last.
fn runtimes(cx: &Context<'_>) -> Vec<Item> {
    let catalog = cx.session.catalog;
    let today = Date::today();
    catalog
        .runtimes
        .values()
        .map(|rt| {
            let deprecated = rt.deprecated.is_some_and(|d| d <= today);
            let mut detail = catalog.os_name(&rt.os).to_string();
            if let Some(d) = rt.deprecated {
                detail.push_str(&format!(", deprecated {d}"));
            }
            if let Some(s) = &rt.successor {
                detail.push_str(&format!(", successor {s}"));
            }
            Item {
                detail: Some(detail),
                deprecated,
                sort: format!("{}{}", u8::from(deprecated), rt.id),
                ..Item::value(&rt.id, CompletionItemKind::ENUM_MEMBER)
            }
        })
        .collect()
}

/// The layers of the text as typed, and those of the files it imports (from the last analysis).
fn layer_names(cx: &Context<'_>) -> Vec<Item> {
    let (spec, _) = spec::parse(&cx.doc.text, cx.session.catalog);
    let mut layers = spec.layers;
    if let Some(snapshot) = &cx.snapshot {
        let analysis = &snapshot.analysis;
        let all_old = layers.is_empty();
        layers.extend(
            analysis
                .spec
                .layers
                .iter()
                .filter(|l| all_old || !analysis.sources.in_root(l.span))
                .cloned(),
        );
    }
    layers
        .iter()
        .map(|l| {
            let mut item = Item::value(&l.name.value, CompletionItemKind::MODULE);
            item.detail = l.runtimes.first().map(|r| r.value.clone());
            item
        })
        .collect()
}

/// Library file names in the loader's folders of the enclosing layer's rootfs: soname-shaped names
/// (`libz.so.1`) first, then the rest (`libz.so`, `libz.so.1.3`).
fn libraries(cx: &Context<'_>, cursor: &Cursor) -> Vec<Item> {
    let Some(layer_name) = cursor.parent().and_then(|b| b.name.clone()) else {
        return Vec::new();
    };
    let snapshot = cx.snapshot.as_deref();
    let Some(layer) = snapshot.and_then(|s| s.analysis.spec.layer(&layer_name).cloned()) else {
        return Vec::new();
    };
    let Some(rootfs) = layer.rootfs.as_ref() else {
        return Vec::new();
    };
    let spec_dir = snapshot
        .map(|s| s.analysis.spec_dir.clone())
        .unwrap_or_default();
    let arch = layer.architecture.value;
    let Ok(open) = cx.session.rootfs(&spec_dir.join(&rootfs.value), arch) else {
        return Vec::new();
    };
    // The index resolution reads, kept with the rootfs and listed again when a folder changes.
    let index = open.library_index(&SystemPaths::new(&open.ld_so_conf(), arch));
    index
        .library_names(open.fs.as_ref())
        .map(|name| {
            let rank = if is_soname_shaped(name) { 0 } else { 1 };
            Item {
                sort: format!("{rank}{name}"),
                ..Item::value(name, CompletionItemKind::FILE)
            }
        })
        .collect()
}

/// `libname.so.N`: the shape of a soname, as `ldconfig` names the links it makes.
fn is_soname_shaped(name: &str) -> bool {
    name.split_once(".so.")
        .is_some_and(|(_, v)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
}

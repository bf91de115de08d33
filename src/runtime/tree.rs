//! KDL → a plain node tree (JSON: name, args, props, children), shared by the build script (which
//! embeds the catalog this way) and by runtime description files read at run time.

use kdl::{KdlDocument, KdlNode, KdlValue};
use serde_json::{Map, Value, json};

pub(super) fn document(doc: &KdlDocument) -> Value {
    Value::Array(doc.nodes().iter().map(node).collect())
}

pub(super) fn node(n: &KdlNode) -> Value {
    let mut args = Vec::new();
    let mut props = Map::new();
    for entry in n.entries() {
        match entry.name() {
            Some(key) => {
                props.insert(key.value().to_string(), value(entry.value()));
            }
            None => args.push(value(entry.value())),
        }
    }
    let children: Vec<Value> = n.iter_children().map(node).collect();
    json!({ "name": n.name().value(), "args": args, "props": props, "children": children })
}

fn value(v: &KdlValue) -> Value {
    match v {
        KdlValue::String(s) => Value::String(s.clone()),
        // Integers beyond i64 do not occur in catalog data; keep them as text rather than fail.
        KdlValue::Integer(i) => {
            i64::try_from(*i).map_or_else(|_| json!(i.to_string()), |i| json!(i))
        }
        KdlValue::Float(f) => json!(f),
        KdlValue::Bool(b) => Value::Bool(*b),
        KdlValue::Null => Value::Null,
    }
}

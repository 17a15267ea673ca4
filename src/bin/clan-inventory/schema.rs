//! `schema`: the JSON Schema of `inventory.json`, made from the core's own table of what the
//! decoder accepts (`inventory::schema`, docs/semantics.md phase 1), so that the two cannot drift
//! apart. Values the core never looks at (`meta`, `config`, `description`, `extraModules`
//! entries) accept anything.

use serde_json::{json, Map, Value};

use clan_inventory::inventory::schema::{Record, Shape, INVENTORY};

/// The schema, pretty-printed.
pub(crate) fn schema() -> String {
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    root.insert("title".into(), "clan inventory".into());
    if let Value::Object(inventory) = record(&INVENTORY) {
        root.extend(inventory);
    }
    let mut s = serde_json::to_string_pretty(&Value::Object(root)).unwrap_or_default();
    s.push('\n');
    s
}

fn record(r: &Record) -> Value {
    let properties: Map<String, Value> = r
        .fields
        .iter()
        .map(|f| {
            let mut v = shape(&f.shape);
            if let Value::Object(o) = &mut v {
                o.insert("description".into(), f.doc.into());
            }
            (f.name.to_owned(), v)
        })
        .collect();
    json!({
        "description": r.doc,
        "type": "object",
        "properties": properties,
        "additionalProperties": r.open,
    })
}

fn shape(s: &Shape) -> Value {
    match s {
        Shape::Any => json!({}),
        Shape::Bool => json!({ "type": "boolean" }),
        Shape::IntOrNull => json!({ "type": ["integer", "null"] }),
        Shape::NullOr(inner) => json!({ "anyOf": [{ "type": "null" }, shape(inner)] }),
        Shape::StringsOrAttrsOf(values) => json!({ "anyOf": [
            { "type": "array", "items": { "type": "string" } },
            { "type": "object", "additionalProperties": shape(values) },
        ] }),
        Shape::Strings => json!({ "type": "array", "items": { "type": "string" } }),
        Shape::List => json!({ "type": "array" }),
        Shape::StringOrNull => json!({ "type": ["string", "null"] }),
        Shape::OneOf(values) => json!({ "type": "string", "enum": values }),
        Shape::Count => json!({ "type": "integer", "minimum": 0 }),
        Shape::CountOrNull => json!({ "type": ["integer", "null"], "minimum": 0 }),
        Shape::String | Shape::PathOrString => json!({ "type": "string" }),
        Shape::AttrsOfAny => json!({ "type": "object" }),
        Shape::AttrsOf(values) => {
            json!({ "type": "object", "additionalProperties": shape(values) })
        }
        Shape::Record(r) => record(r),
    }
}

//! The checks the OpenAPI tests share (public and admin documents): listing a document's
//! operations, resolving references, and whether a real answer is what its schema describes.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use serde_json::Value;

pub(crate) fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

pub(crate) fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            let target = &doc["components"]["schemas"][name];
            assert!(!target.is_null(), "unresolved reference {r}");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// Whether `value` is what `schema` describes: types, required and known properties (no
/// undocumented field), array items, `oneOf`/`anyOf`/`allOf`. Returns what does not match.
pub(crate) fn mismatch(doc: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            return options
                .iter()
                .all(|o| mismatch(doc, o, value, at).is_some())
                .then(|| format!("{at}: {value} matches none of {key}"));
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        return all.iter().find_map(|o| mismatch(doc, o, value, at));
    }
    let actual = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let allowed: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let fits = allowed.is_empty()
        || allowed.contains(&actual)
        || (actual == "integer" && allowed.contains(&"number"));
    if !fits {
        return Some(format!("{at}: {actual} where {allowed:?} is documented"));
    }
    match value {
        Value::Object(map) => {
            let properties = schema["properties"].as_object();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                if !map.contains_key(name) {
                    return Some(format!("{at}: required {name} is missing"));
                }
            }
            for (name, v) in map {
                let documented = properties.and_then(|p| p.get(name));
                match documented {
                    Some(s) => {
                        if let Some(m) = mismatch(doc, s, v, &format!("{at}.{name}")) {
                            return Some(m);
                        }
                    }
                    None if schema.get("additionalProperties").is_none()
                        && schema["type"] == "object" =>
                    {
                        return Some(format!("{at}: {name} is not documented"));
                    }
                    None => {}
                }
            }
            None
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| mismatch(doc, &schema["items"], v, &format!("{at}[{i}]"))),
        _ => None,
    }
}

//! The JSON Schema (draft 2020-12) of format v1, generated from the field table.

use serde_json::{Map, Value, json};

use super::fields::{self, Field, Object, Pattern, Ty};

/// The schema of a stack file.
pub fn json_schema() -> Value {
    let mut defs = Map::new();
    let mut root = object(&fields::STACK, &mut defs);
    let root_map = root.as_object_mut().expect("objects are maps");
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    out.insert(
        "title".into(),
        json!("ec2-gitops stack file (format version 1)"),
    );
    out.append(root_map);
    out.insert("$defs".into(), Value::Object(defs));
    Value::Object(out)
}

fn object(obj: &Object, defs: &mut Map<String, Value>) -> Value {
    let mut props = Map::new();
    for f in obj.fields() {
        props.insert(f.name.into(), field(f, defs));
    }
    let required: Vec<&str> = obj
        .fields()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    let mut o = Map::new();
    o.insert("description".into(), json!(obj.doc));
    o.insert("type".into(), json!("object"));
    o.insert("properties".into(), Value::Object(props));
    if !required.is_empty() {
        o.insert("required".into(), json!(required));
    }
    o.insert("additionalProperties".into(), json!(false));
    Value::Object(o)
}

fn reference(obj: &'static Object, defs: &mut Map<String, Value>) -> Value {
    if !defs.contains_key(obj.name) {
        // Insert a placeholder first: objects may refer to themselves.
        defs.insert(obj.name.into(), Value::Null);
        let schema = object(obj, defs);
        defs.insert(obj.name.into(), schema);
    }
    json!({ "$ref": format!("#/$defs/{}", obj.name) })
}

fn string(pattern: Option<&Pattern>, max_len: Option<usize>) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert("type".into(), json!("string"));
    if let Some(p) = pattern {
        s.insert("pattern".into(), json!(p.regex));
    }
    if let Some(m) = max_len {
        s.insert("maxLength".into(), json!(m));
    }
    s
}

fn ty(t: &Ty, defs: &mut Map<String, Value>) -> Map<String, Value> {
    let v = match t {
        Ty::Int { min, max } => json!({ "type": "integer", "minimum": min, "maximum": max }),
        Ty::Version(v) => json!({ "const": v }),
        Ty::Bool => json!({ "type": "boolean" }),
        Ty::Str { pattern, max_len } => Value::Object(string(*pattern, *max_len)),
        Ty::Enum(values) => json!({ "type": "string", "enum": values }),
        Ty::Ports => json!({
            "oneOf": [
                { "type": "integer", "minimum": 0, "maximum": 65535 },
                { "type": "string", "pattern": "^[0-9]{1,5}(-[0-9]{1,5})?$" }
            ]
        }),
        Ty::CountOrPercent => json!({
            "oneOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "pattern": "^([1-9][0-9]?|100)%$" }
            ]
        }),
        Ty::Duration => json!({ "type": "string", "pattern": "^[0-9]{1,5}[smh]$" }),
        Ty::OneOrMany(p) => {
            let item = Value::Object(string(*p, None));
            json!({ "oneOf": [item, { "type": "array", "items": item, "minItems": 1 }] })
        }
        Ty::List(p) => json!({ "type": "array", "items": string(*p, None), "uniqueItems": true }),
        Ty::Tags => json!({
            "type": "object",
            "propertyNames": {
                "minLength": 1,
                "maxLength": 128,
                "not": { "pattern": "^([aA][wW][sS]:|[eE][cC]2-[gG][iI][tT][oO][pP][sS]:|Name$)" }
            },
            "additionalProperties": {
                "type": ["string", "number", "boolean"],
                "maxLength": 256
            }
        }),
        Ty::Obj(o) => reference(o, defs),
        Ty::ListOf(o) => json!({ "type": "array", "items": reference(o, defs) }),
        Ty::Either(p, o) => json!({
            "oneOf": [Value::Object(string(Some(*p), None)), reference(o, defs)],
        }),
        Ty::ListOfEither(p, o) => json!({
            "type": "array",
            "minItems": 1,
            "items": { "oneOf": [Value::Object(string(Some(*p), None)), reference(o, defs)] },
        }),
        Ty::Named(o) => json!({
            "type": ["object", "null"],
            "propertyNames": { "pattern": fields::NAME.regex },
            "additionalProperties": reference(o, defs)
        }),
    };
    match v {
        Value::Object(m) => m,
        _ => unreachable!("every type is a schema object"),
    }
}

fn field(f: &Field, defs: &mut Map<String, Value>) -> Value {
    let mut s = Map::new();
    let mut doc = f.doc.to_string();
    if f.required {
        doc.push_str(" Required.");
    }
    if let Some(d) = f.default {
        doc.push_str(&format!(" Default: `{d}`."));
    }
    s.insert("description".into(), json!(doc));
    s.append(&mut ty(&f.ty, defs));
    if let Some(d) = f.default {
        if let Ok(v) = serde_json::from_str::<Value>(d) {
            s.insert("default".into(), v);
        } else {
            s.insert("default".into(), json!(d));
        }
    }
    Value::Object(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = include_str!("../../../../schema/ec2-gitops.schema.json");

    #[test]
    fn committed_schema_is_up_to_date() {
        let current = format!(
            "{}\n",
            serde_json::to_string_pretty(&json_schema()).unwrap()
        );
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../schema/ec2-gitops.schema.json"
            );
            std::fs::write(path, &current).unwrap();
            return;
        }
        assert!(
            COMMITTED == current,
            "schema/ec2-gitops.schema.json is out of date: run `cargo run -- schema > schema/ec2-gitops.schema.json`"
        );
    }

    #[test]
    fn every_object_is_closed() {
        fn walk(v: &Value, path: &str) {
            match v {
                Value::Object(m) => {
                    if m.get("properties").is_some() {
                        assert_eq!(m.get("additionalProperties"), Some(&json!(false)), "{path}");
                    }
                    for (k, v) in m {
                        walk(v, &format!("{path}/{k}"));
                    }
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, path)),
                _ => {}
            }
        }
        walk(&json_schema(), "");
    }
}

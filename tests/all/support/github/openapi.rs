//! GitHub's OpenAPI description (npm `@octokit/openapi`): its documented
//! examples are the fake's response shapes.

use std::sync::OnceLock;

use serde_json::Value;

/// GitHub's OpenAPI description of api.github.com (npm `@octokit/openapi`),
/// parsed once per test binary.
pub fn openapi() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/node_modules/@octokit/openapi/generated/api.github.com.json"
        );
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {path} ({e}): run scripts/setup-test-deps.sh"));
        serde_json::from_str(&text).expect("GitHub's OpenAPI description is JSON")
    })
}

pub(super) fn examples() -> &'static serde_json::Map<String, Value> {
    openapi()["components"]["examples"]
        .as_object()
        .expect("components.examples in the OpenAPI description")
}

/// The `value` of one of the OpenAPI description's examples.
pub(super) fn example(name: &str) -> Value {
    examples()
        .get(name)
        .unwrap_or_else(|| panic!("no example {name:?} in @octokit/openapi"))["value"]
        .clone()
}

/// Replaces substrings in every string of a JSON value.
pub(super) fn rewrite(value: &mut Value, pairs: &[(&str, &str)]) {
    match value {
        Value::String(s) => {
            for (from, to) in pairs {
                if s.contains(from) {
                    *s = s.replace(from, to);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, pairs)),
        Value::Object(map) => map.values_mut().for_each(|v| rewrite(v, pairs)),
        _ => {}
    }
}

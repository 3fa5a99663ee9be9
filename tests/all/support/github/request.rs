//! Reading a request: its query string, path segments and JSON body
//! fields, refused the way GitHub refuses them.

use serde_json::Value;

use super::server::Reply;

/// The decoded query string.
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub(super) fn parse(query: &str) -> Self {
        Self(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `%XX` escapes of a URL path decoded (as UTF-8, lossily).
pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn number(segment: &str) -> Result<u64, Reply> {
    segment.parse().map_err(|_| Reply::not_found())
}

pub(super) fn opt_string(body: &Value, key: &str) -> Result<Option<String>, Reply> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Reply::invalid(&format!(
            "Invalid request.\n\nFor 'properties/{key}', it is not a string."
        ))),
    }
}

pub(super) fn opt_bool(body: &Value, key: &str) -> Result<Option<bool>, Reply> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Reply::invalid(&format!(
            "Invalid request.\n\nFor 'properties/{key}', it is not a boolean."
        ))),
    }
}

/// Labels as GitHub takes them: names, or objects with a `name`.
pub(super) fn labels_of(value: Option<&Value>) -> Result<Option<Vec<String>>, Reply> {
    let Some(value) = value else { return Ok(None) };
    let Value::Array(items) = value else {
        return Err(Reply::invalid(
            "Invalid request.\n\nFor 'properties/labels', it is not an array.",
        ));
    };
    items
        .iter()
        .map(|i| match i {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => o
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| Reply::invalid("Invalid request.\n\nA label has no name.")),
            _ => Err(Reply::invalid(
                "Invalid request.\n\nA label is not a string.",
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

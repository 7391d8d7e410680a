//! Strict reading of a request: its content type, form or JSON fields, query parameters and
//! path parameters. Every problem becomes a `422` naming the field, never echoing its value.

use axum::http::{HeaderMap, header};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::error::ApiFailure;

/// One API request, read in full and matched to its operation.
#[derive(Debug)]
pub(crate) struct Call {
    pub op: &'static str,
    pub params: Vec<(&'static str, String)>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub now: DateTime<Utc>,
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// The media type of a `Content-Type` value, without parameters, lower case.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next().unwrap_or("").trim();
    Some(media.to_ascii_lowercase())
}

fn wrong_type(expected: &str) -> ApiFailure {
    ApiFailure::unprocessable(
        "validation.unsupported_content_type",
        format!("the body must be sent as {expected}"),
    )
}

impl Call {
    /// A path parameter (always present once the route matched).
    pub fn param(&self, name: &str) -> Result<&str, ApiFailure> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| {
                ApiFailure::unprocessable(
                    "validation.missing_field",
                    format!("missing path parameter `{name}`"),
                )
            })
    }

    /// The form body. An empty body with no content type is read as an empty form, so a
    /// plain client may call the operations whose form has no fields without a body.
    pub fn form(&self) -> Result<Fields, ApiFailure> {
        match media_type(&self.headers) {
            None if self.body.is_empty() => Ok(Fields::default()),
            Some(media) if media == FORM => {
                let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&self.body)
                    .map_err(|_| {
                        ApiFailure::unprocessable(
                            "validation.malformed_body",
                            "the form body is not valid application/x-www-form-urlencoded",
                        )
                    })?;
                check_names(self.op, pairs.iter().map(|(n, _)| n.as_str()))?;
                Ok(Fields { pairs })
            }
            _ => Err(wrong_type(FORM)),
        }
    }

    /// The JSON object body.
    pub fn json(&self) -> Result<JsonFields, ApiFailure> {
        self.json_or_empty(false)
    }

    /// The JSON object body, where an empty body without a content type counts as `{}`
    /// (request-status, which the probe calls with `{}` and the official page with nothing).
    pub fn json_or_empty(&self, empty_ok: bool) -> Result<JsonFields, ApiFailure> {
        match media_type(&self.headers) {
            None if empty_ok && self.body.is_empty() => Ok(JsonFields::default()),
            Some(media) if media == JSON => match serde_json::from_slice::<Value>(&self.body) {
                Ok(Value::Object(map)) => {
                    // A `Map` keeps the last of duplicated keys: read the keys again, in order.
                    let keys = serde_json::from_slice::<Keys>(&self.body)
                        .map(|keys| keys.0)
                        .unwrap_or_default();
                    check_names(self.op, keys.iter().map(String::as_str))?;
                    Ok(JsonFields { map })
                }
                Ok(_) => Err(ApiFailure::unprocessable(
                    "validation.malformed_body",
                    "the JSON body must be an object",
                )),
                Err(_) => Err(ApiFailure::unprocessable(
                    "validation.malformed_body",
                    "the body is not valid JSON",
                )),
            },
            _ => Err(wrong_type(JSON)),
        }
    }

    /// The query parameters.
    pub fn query(&self) -> Fields {
        Fields {
            pairs: self.query.clone(),
        }
    }
}

/// Refuses a body field `op` does not accept, and a field sent twice, as a strict server
/// does: a misspelt or misplaced field would otherwise be ignored without a word.
fn check_names<'a>(op: &str, names: impl Iterator<Item = &'a str>) -> Result<(), ApiFailure> {
    let accepted = crate::accepted::body_fields(op);
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if !accepted.contains(&name) {
            let known = if accepted.is_empty() {
                "this operation takes no body fields".to_owned()
            } else {
                format!("known: {}", accepted.join(", "))
            };
            return Err(ApiFailure::unprocessable(
                "validation.unknown_field",
                format!("unknown field `{name}`; {known}"),
            ));
        }
        if seen.contains(&name) {
            return Err(ApiFailure::unprocessable(
                "validation.duplicate_field",
                format!("field `{name}` is sent more than once"),
            ));
        }
        seen.push(name);
    }
    Ok(())
}

/// The top-level keys of a JSON object, duplicates and order kept.
#[derive(Default)]
struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

fn missing(name: &str) -> ApiFailure {
    ApiFailure::unprocessable(
        "validation.missing_field",
        format!("missing required field `{name}`"),
    )
}

fn empty(name: &str) -> ApiFailure {
    ApiFailure::unprocessable(
        "validation.empty_field",
        format!("field `{name}` must not be empty"),
    )
}

pub(crate) fn malformed(name: &str, expected: &str) -> ApiFailure {
    ApiFailure::unprocessable(
        "validation.malformed_field",
        format!("field `{name}` must be {expected}"),
    )
}

fn parse_int(name: &str, text: &str, min: i64, max: i64) -> Result<i64, ApiFailure> {
    let expected = format!("an integer from {min} to {max}");
    let value: i64 = text
        .trim()
        .parse()
        .map_err(|_| malformed(name, &expected))?;
    if value < min || value > max {
        return Err(malformed(name, &expected));
    }
    Ok(value)
}

/// Form or query fields, in order.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pairs: Vec<(String, String)>,
}

impl Fields {
    fn first(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A required, non-empty field.
    pub fn required(&self, name: &str) -> Result<String, ApiFailure> {
        match self.first(name) {
            None => Err(missing(name)),
            Some(v) if v.trim().is_empty() => Err(empty(name)),
            Some(v) => Ok(v.to_owned()),
        }
    }

    /// An optional field; an empty value counts as absent.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.first(name)
            .filter(|v| !v.trim().is_empty())
            .map(str::to_owned)
    }

    pub fn required_int(&self, name: &str, min: i64, max: i64) -> Result<i64, ApiFailure> {
        let text = self.required(name)?;
        parse_int(name, &text, min, max)
    }

    pub fn optional_int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiFailure> {
        self.optional(name)
            .map(|text| parse_int(name, &text, min, max))
            .transpose()
    }

    pub fn required_bool(&self, name: &str) -> Result<bool, ApiFailure> {
        match self.required(name)?.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(malformed(name, "`true` or `false`")),
        }
    }

    /// Every value of a repeated key (e.g. `scope[]`), empty ones dropped.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(n, v)| n == name && !v.trim().is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(n, _)| n.as_str())
    }
}

/// The fields of a JSON object body.
#[derive(Debug, Default)]
pub(crate) struct JsonFields {
    map: Map<String, Value>,
}

impl JsonFields {
    pub fn required_str(&self, name: &str) -> Result<String, ApiFailure> {
        match self.map.get(name) {
            None | Some(Value::Null) => Err(missing(name)),
            Some(Value::String(s)) if s.trim().is_empty() => Err(empty(name)),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(malformed(name, "a string")),
        }
    }

    pub fn optional_str(&self, name: &str) -> Result<Option<String>, ApiFailure> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(malformed(name, "a string")),
        }
    }

    pub fn required_int(&self, name: &str, min: i64, max: i64) -> Result<i64, ApiFailure> {
        self.optional_int(name, min, max)?
            .ok_or_else(|| missing(name))
    }

    pub fn optional_int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiFailure> {
        let expected = format!("an integer from {min} to {max}");
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
                _ => Err(malformed(name, &expected)),
            },
            Some(_) => Err(malformed(name, &expected)),
        }
    }

    /// A required array of strings (it may be empty).
    pub fn required_str_array(&self, name: &str) -> Result<Vec<String>, ApiFailure> {
        match self.map.get(name) {
            None | Some(Value::Null) => Err(missing(name)),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(malformed(name, "an array of strings")),
                })
                .collect(),
            Some(_) => Err(malformed(name, "an array of strings")),
        }
    }

    /// An optional array of strings: absent or `null` is empty.
    pub fn optional_str_array(&self, name: &str) -> Result<Vec<String>, ApiFailure> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(_) => self.required_str_array(name),
        }
    }

    /// An optional object whose values are all strings.
    pub fn optional_str_map(
        &self,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, ApiFailure> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Default::default()),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(malformed(name, "an object of strings")),
                })
                .collect(),
            Some(_) => Err(malformed(name, "an object of strings")),
        }
    }

    /// An optional object, as it is.
    pub fn optional_object(&self, name: &str) -> Result<Option<&Map<String, Value>>, ApiFailure> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(malformed(name, "an object")),
        }
    }
}

/// Decodes standard base64 (with or without padding) or reports the field as malformed.
pub(crate) fn base64_field(name: &str, text: &str) -> Result<Vec<u8>, ApiFailure> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    let text = text.trim();
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .map_err(|_| malformed(name, "standard base64"))
}

/// Percent-decodes a path segment; invalid escapes are kept as they are.
pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn base64_accepts_padding_or_none() {
        assert_eq!(base64_field("data", "aGk=").expect("valid"), b"hi");
        assert_eq!(base64_field("data", "aGk").expect("valid"), b"hi");
        assert!(base64_field("data", "!!").is_err());
    }
}

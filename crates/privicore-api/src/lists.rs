//! List answers in the forms the sources allow, normalised to the envelope the spec declares
//! (docs/protocol.md §14.6).
//!
//! Neither list's envelope is documented: the spec (after the stub and probe schemas) has
//! `{items, meta: {count, page, perPage}}`, and nothing excludes a bare JSON array of the
//! page's items. A bare array is wrapped here, before the answer decodes, with
//! [`UNKNOWN_COUNT`] as `meta.count`, so a pager reads "total not told" and pages until a
//! short page.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};

use crate::observed::{ListShape, WireLog};

/// `meta.count` of a list whose server sent a bare array: the total is not known. No server
/// count is negative, so it cannot be mistaken for one.
pub const UNKNOWN_COUNT: i64 = -1;

/// The operations whose answer is the `{items, meta}` envelope.
const LISTS: &[&str] = &["list_data_tokens", "list_oauth_applications"];

/// The answer to a list operation with a bare JSON array wrapped in the declared envelope
/// (`page` and `perPage` from the request's query, `0` when it had none). Every other answer
/// is passed on untouched. The shape seen is recorded in `log`.
pub(crate) async fn normalise(
    operation_id: &str,
    query: &[(String, String)],
    log: Option<&WireLog>,
    response: reqwest::Response,
) -> reqwest::Result<reqwest::Response> {
    if !LISTS.contains(&operation_id) || response.status() != StatusCode::OK {
        return Ok(response);
    }
    let version = response.version();
    let mut headers = response.headers().clone();
    let mut body = response.bytes().await?.to_vec();
    let parsed = serde_json::from_slice::<Value>(&body);
    if let Some(log) = log {
        match &parsed {
            Ok(Value::Array(_)) => log.record_list(ListShape::BareArray),
            Ok(Value::Object(_)) => log.record_list(ListShape::Envelope),
            // Not a list at all: it fails to decode, and says nothing about the shape.
            _ => {}
        }
    }
    if let Ok(Value::Array(items)) = parsed {
        let number = |key: &str| {
            query
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        body = json!({
            "items": items,
            "meta": {"count": UNKNOWN_COUNT, "page": number("page"), "perPage": number("perPage")},
        })
        .to_string()
        .into_bytes();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(crate::rebuilt::response(
        StatusCode::OK,
        version,
        headers,
        body,
    ))
}

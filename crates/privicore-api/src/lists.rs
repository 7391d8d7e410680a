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
use crate::operations::Pagination;

/// `meta.count` of a list whose server sent a bare array: the total is not known. No server
/// count is negative, so it cannot be mistaken for one.
pub const UNKNOWN_COUNT: i64 = -1;

/// The answer to a list operation (one with `pagination` in the operation table, from the
/// spec's `x-privicore-pagination`) with a bare JSON array wrapped in the declared envelope:
/// the items under the envelope's items field, [`UNKNOWN_COUNT`] at its total's path, and
/// `meta.page`/`meta.perPage` from the request's query (`0` when it had none). Every other
/// answer is passed on untouched. The shape seen is recorded in `log`.
pub(crate) async fn normalise(
    operation_id: &str,
    query: &[(String, String)],
    log: Option<&WireLog>,
    response: reqwest::Response,
) -> reqwest::Result<reqwest::Response> {
    let Some(paging) = crate::operations::operation(operation_id).and_then(|op| op.pagination)
    else {
        return Ok(response);
    };
    if response.status() != StatusCode::OK {
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
        body = envelope(paging, query, items).to_string().into_bytes();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(crate::rebuilt::response(
        StatusCode::OK,
        version,
        headers,
        body,
    ))
}

/// The envelope the spec declares around a bare page of `items`.
fn envelope(paging: Pagination, query: &[(String, String)], items: Vec<Value>) -> Value {
    let number = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let mut envelope = json!({
        "meta": {"page": number(paging.page_param), "perPage": number(paging.per_page_param)},
    });
    set(&mut envelope, paging.items, Value::Array(items));
    set(&mut envelope, paging.total, json!(UNKNOWN_COUNT));
    envelope
}

/// Sets the value at a dotted `path` of `object`, creating the objects on the way.
fn set(object: &mut Value, path: &str, value: Value) {
    let mut at = object;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        let Value::Object(map) = at else { return };
        if keys.peek().is_none() {
            map.insert(key.to_owned(), value);
            return;
        }
        at = map.entry(key.to_owned()).or_insert_with(|| json!({}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_page_is_wrapped_where_the_table_says() {
        let paging = crate::operations::operation("list_data_tokens")
            .and_then(|op| op.pagination)
            .expect("list_data_tokens is a paginated list");
        let query = [
            ("page".to_owned(), "3".to_owned()),
            ("perPage".to_owned(), "2".to_owned()),
        ];
        assert_eq!(
            envelope(paging, &query, vec![json!("a"), json!("b")]),
            json!({"items": ["a", "b"], "meta": {"count": UNKNOWN_COUNT, "page": 3, "perPage": 2}}),
        );
    }
}

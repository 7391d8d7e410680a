//! The operation handlers, one module per documentation group. Each handler is synchronous:
//! it authenticates, validates, changes state under the lock and answers; asynchronous
//! commands hand their effect to [`crate::commands`].

pub(crate) mod authenticator;
pub(crate) mod data_token;
pub(crate) mod device;
pub(crate) mod directory;
pub(crate) mod oauth;
pub(crate) mod policy;
pub(crate) mod profile;
pub(crate) mod public_key;
pub(crate) mod storage;
pub(crate) mod utility;
pub(crate) mod voting;

use axum::http::StatusCode;
use serde_json::Value;

use crate::config::ListAnswer;
use crate::error::ApiFailure;
use crate::reply::Reply;

/// A `200` JSON answer.
pub(crate) fn ok(value: Value) -> Result<Reply, ApiFailure> {
    Ok(Reply::Json(StatusCode::OK, value))
}

/// The page of `items` asked for by `page` (from 1) and `perPage` (1 to 100, default 25),
/// with the `{items, meta: {count, page, perPage}}` envelope; `count` is the total.
pub(crate) fn paged(
    items: Vec<Value>,
    query: &crate::input::Fields,
    answer: ListAnswer,
) -> Result<Reply, ApiFailure> {
    paged_with(items, query, answer, |item| item)
}

/// Like [`paged`], rendering only the items of the requested page: a page of a long list
/// costs the page, not the list (the benchmark of the SDK's prefetching measures latency
/// against it).
pub(crate) fn paged_with<T>(
    items: Vec<T>,
    query: &crate::input::Fields,
    answer: ListAnswer,
    render: impl Fn(T) -> Value,
) -> Result<Reply, ApiFailure> {
    let page = query
        .optional_int("page", 1, i64::from(u32::MAX))?
        .unwrap_or(1);
    let per_page = query.optional_int("perPage", 1, 100)?.unwrap_or(25);
    let count = items.len();
    let start = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let slice: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(per_page as usize)
        .map(render)
        .collect();
    match answer {
        ListAnswer::Envelope => ok(serde_json::json!({
            "items": slice,
            "meta": {"count": count, "page": page, "perPage": per_page},
        })),
        ListAnswer::BareArray => ok(Value::Array(slice)),
    }
}

//! Command-accepted answers in the forms the sources allow, normalised to the one the spec
//! declares, once for every operation (docs/protocol.md §14.4).
//!
//! The spec declares `202` with a JSON command id for every asynchronous command. The probes
//! accept `200` as well for several of them (register-public-key, the policy writes, register
//! voting configuration, request-authorization-code), and no source rules `200` out for the
//! others; a server may also send the id as bare `text/plain`. The generated client decodes
//! only what the spec declares, so the answer is rewritten here, before it decodes:
//! `200` becomes `202`, and a bare id becomes a JSON string.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue};

use crate::observed::{CommandIdEncoding, WireLog};
use crate::operations::{Kind, operation};

/// Longest body read as a bare command id.
const MAX_BARE_ID: usize = 256;

/// The answer to `operation_id` with a `200` of an asynchronous operation turned into the
/// declared `202`, and a bare text command id into a JSON string. Every other answer is
/// passed on untouched. A command's accepted form (its status, and JSON or bare id) is
/// recorded in `log`.
pub(crate) async fn normalise(
    operation_id: &str,
    log: Option<&WireLog>,
    response: reqwest::Response,
) -> reqwest::Result<reqwest::Response> {
    let kind = operation(operation_id).map(|op| op.kind);
    let status = response.status();
    let command = match kind {
        Some(Kind::AsyncCommand) => true,
        Some(Kind::AsyncRequest) => false,
        _ => return Ok(response),
    };
    if status != StatusCode::OK && !(command && status == StatusCode::ACCEPTED) {
        return Ok(response);
    }
    let version = response.version();
    let mut headers = response.headers().clone();
    let mut body = response.bytes().await?.to_vec();
    // Only a body not declared JSON can be a bare id: one that says it is JSON and does not
    // parse is damaged, and reading it as an id would accept garbage as a command.
    let mut encoding = CommandIdEncoding::Json;
    if command
        && !declares_json(&headers)
        && let Some(id) = bare_id(&body)
    {
        body = serde_json::Value::String(id).to_string().into_bytes();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        encoding = CommandIdEncoding::PlainText;
    }
    if command && let Some(log) = log {
        log.record_accepted(status.as_u16(), encoding);
    }
    Ok(crate::rebuilt::response(
        StatusCode::ACCEPTED,
        version,
        headers,
        body,
    ))
}

/// Whether an answer's `Content-Type` says JSON (`application/json`, `…+json`): a body that
/// says so and does not parse is damaged, never text in another form.
pub fn declares_json(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            let essence = value.split(';').next().unwrap_or("").trim();
            essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
        })
}

/// The id, when `body` is not JSON but one bare token of printable characters (no quotes,
/// spaces or backslashes), as a server sends it in a `text/plain` body.
fn bare_id(body: &[u8]) -> Option<String> {
    if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?.trim();
    let plain = !text.is_empty()
        && text.len() <= MAX_BARE_ID
        && text
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'[' | b'{'));
    plain.then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{bare_id, declares_json};
    use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

    #[test]
    fn only_a_body_not_declared_json_can_be_a_bare_id() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            headers
        };
        assert!(declares_json(&with("application/json")));
        assert!(declares_json(&with("application/json; charset=utf-8")));
        assert!(declares_json(&with("application/problem+json")));
        assert!(!declares_json(&with("text/plain; charset=utf-8")));
        assert!(!declares_json(&HeaderMap::new()));
    }

    #[test]
    fn bare_ids_are_recognised() {
        assert_eq!(
            bare_id(b"23f7978a-5561-4718-84ca-c38d7db0843c\n").as_deref(),
            Some("23f7978a-5561-4718-84ca-c38d7db0843c")
        );
        assert_eq!(bare_id(br#""already-json""#), None);
        assert_eq!(bare_id(b"<html>502 Bad Gateway</html>"), None);
        assert_eq!(bare_id(b""), None);
        assert_eq!(bare_id(b"{truncated"), None);
    }
}

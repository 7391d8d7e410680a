//! Command-id extraction: a `202` body in any shape (bare string, one-element array,
//! `{commandId}`), and the request id of `x-dpt-cab-request-id`. Must never panic; an id it
//! accepts is never blank.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privicore::api::types::CommandAccepted;
use privicore::fuzzing;

fuzz_target!(|data: &[u8]| {
    if let Ok(accepted) = serde_json::from_slice::<CommandAccepted>(data)
        && let Ok(id) = fuzzing::command_id(accepted)
    {
        assert!(!id.as_str().trim().is_empty());
    }
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(value) = reqwest::header::HeaderValue::from_bytes(data) {
        headers.insert("x-dpt-cab-request-id", value);
    }
    if let Ok(id) = fuzzing::request_id(&headers) {
        assert!(!id.as_str().trim().is_empty());
    }
});

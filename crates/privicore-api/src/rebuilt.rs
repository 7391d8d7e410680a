//! A response put back together after its body was read and rewritten, for the normalisers
//! that turn an answer the sources allow into the one the spec declares.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, HeaderMap};

/// A response with `status`, `version`, `headers` (less `Content-Length`, which the new body
/// sets) and `body`.
pub(crate) fn response(
    status: StatusCode,
    version: reqwest::Version,
    mut headers: HeaderMap,
    body: Vec<u8>,
) -> reqwest::Response {
    headers.remove(CONTENT_LENGTH);
    let mut builder = http::Response::builder().status(status).version(version);
    if let Some(all) = builder.headers_mut() {
        all.extend(headers);
    }
    match builder.body(reqwest::Body::from(body)) {
        Ok(response) => reqwest::Response::from(response),
        // Status, version and headers came from a valid response: this cannot fail, and if it
        // did, an empty answer fails to decode as the declared one would.
        Err(_) => reqwest::Response::from(http::Response::new(reqwest::Body::from(Vec::new()))),
    }
}

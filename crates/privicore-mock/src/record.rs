//! Recording: every HTTP request the server receives, kept with its secrets masked, so a test
//! can assert on what a client sent.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::http::HeaderMap;
use serde_json::Value;

use crate::faults::InjectedFault;
use crate::state::lock;

/// The header a client may send to name each request (the `privicore` SDK sends one on
/// every attempt): recorded like any header, and kept as the provenance of the data tokens
/// it creates ([`StoredData::created_by_request`](crate::StoredData::created_by_request)).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// What replaces a masked value.
pub const MASK: &str = "***";

/// Which of the server's listeners received a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Listener {
    /// The API server.
    Api,
    /// The stream (upload) server.
    Stream,
    /// The download server.
    Download,
}

/// A request body as recorded.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordedBody {
    /// No body.
    Empty,
    /// `application/x-www-form-urlencoded` fields in order, secrets masked.
    Form(Vec<(String, String)>),
    /// A JSON body, secrets masked.
    Json(Value),
    /// Bytes that are not kept (an upload, or a body that could not be parsed): only the
    /// length, when known.
    Binary {
        /// The content type sent, if any.
        content_type: Option<String>,
        /// The length in bytes, when known (`Content-Length` for streamed uploads).
        len: Option<u64>,
    },
}

/// One request, as [`MockServer::recorded`](crate::MockServer::recorded) returns it.
///
/// Masked with [`MASK`]: passwords, tokens (authorization, access, refresh, data, temporary and
/// stream tokens), client secrets, authorization codes, `auth` query values and the values of
/// the `Authorization` and `X-DPT-AUTHORIZATION` headers (the scheme, e.g. `Basic`, is kept).
/// `data` payloads are replaced by `"<N bytes>"` (their base64 text length).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// The listener that received it.
    pub listener: Listener,
    /// The spec operation it matched, if any.
    pub operation_id: Option<&'static str>,
    /// HTTP method, upper case.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query parameters in order, secrets masked.
    pub query: Vec<(String, String)>,
    /// Headers (lower-case names), secrets masked.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: RecordedBody,
    /// The status the server answered with.
    pub status: u16,
    /// The fault injected into this request's answer, if any: a test ties each failure a
    /// client reports to the request (by the `x-request-id` header the client sent) whose
    /// answer the mock damaged on purpose.
    pub fault: Option<InjectedFault>,
    /// The asynchronous command this request created (its `202` answer named it), if any:
    /// joins a command's outcome, or its rejection on purpose
    /// ([`Faults::rejected_commands`](crate::Faults::rejected_commands)), to its request.
    pub command_id: Option<String>,
}

impl RecordedRequest {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `x-request-id` the client sent, if any ([`REQUEST_ID_HEADER`]).
    pub fn request_id(&self) -> Option<&str> {
        self.header(REQUEST_ID_HEADER)
    }

    /// The value of the first form field called `name`.
    pub fn form_field(&self, name: &str) -> Option<&str> {
        match &self.body {
            RecordedBody::Form(fields) => fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

/// Field names whose values are secrets (compared case-insensitively).
const SECRET_FIELDS: &[&str] = &[
    "password",
    "currentpassword",
    "newpassword",
    "token",
    "authorizationtoken",
    "refresh_token",
    "refreshtoken",
    "authorization_code",
    "authorizationcode",
    "clientsecret",
    "client_secret",
    "temporarytokenspace",
    "datatoken",
    "stream",
    "auth",
];

fn is_secret(name: &str) -> bool {
    SECRET_FIELDS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Masks one field value by name: secrets become [`MASK`], `data` its length.
pub(crate) fn mask_pair(name: &str, value: &str) -> String {
    if is_secret(name) {
        MASK.to_owned()
    } else if name == "data" {
        format!("<{} bytes>", value.len())
    } else {
        value.to_owned()
    }
}

pub(crate) fn mask_pairs(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.clone(), mask_pair(n, v)))
        .collect()
}

pub(crate) fn mask_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let masked = match v {
                        Value::String(s) if is_secret(k) || k == "data" => {
                            Value::String(mask_pair(k, s))
                        }
                        _ if is_secret(k) => Value::String(MASK.to_owned()),
                        other => mask_json(other),
                    };
                    (k.clone(), masked)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_json).collect()),
        other => other.clone(),
    }
}

pub(crate) fn mask_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_owned();
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let shown = if name == "authorization" || name == "x-dpt-authorization" {
                match text.split_once(' ') {
                    Some((scheme, _)) => format!("{scheme} {MASK}"),
                    None => MASK.to_owned(),
                }
            } else {
                text
            };
            (name, shown)
        })
        .collect()
}

/// The log and the per-operation counters.
#[derive(Debug)]
pub(crate) struct Recorder {
    limit: usize,
    inner: Mutex<RecorderInner>,
}

#[derive(Debug, Default)]
struct RecorderInner {
    log: VecDeque<RecordedRequest>,
    counts: HashMap<&'static str, u64>,
}

impl Recorder {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            inner: Mutex::new(RecorderInner::default()),
        }
    }

    /// Keeps `request`; past the limit the oldest entry goes, so a long run stays bounded in
    /// memory, while the counters keep counting.
    pub fn push(&self, request: RecordedRequest) {
        let mut inner = lock(&self.inner);
        if let Some(op) = request.operation_id {
            *inner.counts.entry(op).or_insert(0) += 1;
        }
        if self.limit == 0 {
            return;
        }
        while inner.log.len() >= self.limit {
            inner.log.pop_front();
        }
        inner.log.push_back(request);
    }

    pub fn all(&self) -> Vec<RecordedRequest> {
        lock(&self.inner).log.iter().cloned().collect()
    }

    pub fn count(&self, op: &str) -> u64 {
        lock(&self.inner).counts.get(op).copied().unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        lock(&self.inner).log.len()
    }

    pub fn clear(&self) {
        let mut inner = lock(&self.inner);
        inner.log.clear();
        inner.counts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_data_summarised() {
        let pairs = vec![
            ("username".to_owned(), "alice".to_owned()),
            ("password".to_owned(), "hunter2".to_owned()),
            ("data".to_owned(), "AAAA".to_owned()),
        ];
        let masked = mask_pairs(&pairs);
        assert_eq!(masked[0].1, "alice");
        assert_eq!(masked[1].1, MASK);
        assert_eq!(masked[2].1, "<4 bytes>");
        let json = serde_json::json!({"dataToken": "t", "data": "AAAAAA", "meta": {"file": {"fileName": "a"}}});
        let masked = mask_json(&json);
        assert_eq!(masked["dataToken"], MASK);
        assert_eq!(masked["data"], "<6 bytes>");
        assert_eq!(masked["meta"]["file"]["fileName"], "a");
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Basic c2VjcmV0".parse().expect("valid"));
        headers.insert("x-dpt-authorization", "tok".parse().expect("valid"));
        let shown = mask_headers(&headers);
        assert!(shown.contains(&("authorization".into(), "Basic ***".into())));
        assert!(shown.contains(&("x-dpt-authorization".into(), "***".into())));
    }

    #[test]
    fn the_log_is_bounded_but_counts_are_not() {
        let recorder = Recorder::new(2);
        for _ in 0..5 {
            recorder.push(RecordedRequest {
                listener: Listener::Api,
                operation_id: Some("check_server_health"),
                method: "GET".into(),
                path: "/health".into(),
                query: vec![],
                headers: vec![],
                body: RecordedBody::Empty,
                status: 200,
                fault: None,
                command_id: None,
            });
        }
        assert_eq!(recorder.len(), 2);
        assert_eq!(recorder.count("check_server_health"), 5);
    }
}

//! The API listener: reads each request in full, names its operation, records it, applies the
//! injected faults and hands it to the operation's synchronous handler.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;

use crate::error::ApiFailure;
use crate::faults::InjectedFault;
use crate::hostile::{self, Target};
use crate::input::{Call, media_type};
use crate::record::{Listener, RecordedBody, RecordedRequest, mask_headers, mask_json, mask_pairs};
use crate::reply::CreatedCommand;
use crate::routes::{self, Lookup, Serve};
use crate::shared::Shared;

/// Parses a query string; `Err` when it is not valid URL encoding.
pub(crate) fn parse_query(parts: &Parts) -> Result<Vec<(String, String)>, ApiFailure> {
    serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).map_err(|_| {
        ApiFailure::unprocessable(
            "validation.malformed_query",
            "the query string is not valid URL encoding",
        )
    })
}

/// The recorded form of a body: fields for forms, a value for JSON, the length otherwise.
fn recorded_body(headers: &HeaderMap, body: &Bytes) -> RecordedBody {
    if body.is_empty() {
        return RecordedBody::Empty;
    }
    let media = media_type(headers);
    let binary = || RecordedBody::Binary {
        content_type: media.clone(),
        len: Some(body.len() as u64),
    };
    match media.as_deref() {
        Some("application/x-www-form-urlencoded") => {
            match serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
                Ok(pairs) => RecordedBody::Form(mask_pairs(&pairs)),
                Err(_) => binary(),
            }
        }
        Some("application/json") => match serde_json::from_slice(body) {
            Ok(value) => RecordedBody::Json(mask_json(&value)),
            Err(_) => binary(),
        },
        _ => binary(),
    }
}

/// Records one request with its answer's status and the fault injected into it, if any.
pub(crate) fn record(
    shared: &Shared,
    listener: Listener,
    operation_id: Option<&'static str>,
    parts: &Parts,
    query: &[(String, String)],
    body: RecordedBody,
    response: &Response,
) {
    shared.recorder.push(RecordedRequest {
        listener,
        operation_id,
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: mask_pairs(query),
        headers: mask_headers(&parts.headers),
        body,
        status: response.status().as_u16(),
        fault: response.extensions().get::<InjectedFault>().cloned(),
        command_id: response
            .extensions()
            .get::<CreatedCommand>()
            .map(|c| c.0.clone()),
    });
}

/// Injected latency, then possibly an injected 5xx instead of an answer.
pub(crate) async fn front_faults(shared: &Shared) -> Option<Response> {
    let delay = shared.faults.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    shared
        .faults
        .server_error()
        .map(IntoResponse::into_response)
}

pub(crate) fn no_route(wrong_method: bool) -> Response {
    if wrong_method {
        ApiFailure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "route.method_not_allowed",
            "this path does not accept this method",
        )
        .into_response()
    } else {
        ApiFailure::not_found("route.not_found", "no operation has this path").into_response()
    }
}

/// A `405` as a router sends it before any handler runs: an `Allow` header and no body (the
/// API's own error body would tell a client the path exists and is merely refused).
fn router_method_not_allowed(allow: &'static str) -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(axum::http::header::ALLOW, allow)],
    )
        .into_response()
}

/// The fallback handler of the API listener.
pub(crate) async fn api(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let lookup = routes::find_api(parts.method.as_str(), parts.uri.path());
    let op = match &lookup {
        Lookup::Found(route, _) => Some(route.op),
        _ => None,
    };
    let query = parse_query(&parts);
    let body = axum::body::to_bytes(body, shared.config.max_body).await;
    let recorded = match &body {
        Ok(bytes) => recorded_body(&parts.headers, bytes),
        Err(_) => RecordedBody::Binary {
            content_type: media_type(&parts.headers),
            len: None,
        },
    };
    let response = answer(&shared, &parts, lookup, query.clone(), body).await;
    let shown_query = query.unwrap_or_default();
    record(
        &shared,
        Listener::Api,
        op,
        &parts,
        &shown_query,
        recorded,
        &response,
    );
    response
}

async fn answer(
    shared: &Arc<Shared>,
    parts: &Parts,
    lookup: Lookup,
    query: Result<Vec<(String, String)>, ApiFailure>,
    body: Result<Bytes, axum::Error>,
) -> Response {
    let (route, params) = match lookup {
        Lookup::Found(route, params) => (route, params),
        Lookup::WrongMethod => return no_route(true),
        Lookup::NotFound => return no_route(false),
    };
    let Serve::Api(handler) = route.serve else {
        return no_route(false);
    };
    if route.op == "request_command_status" {
        let served = shared.config.wire.request_status_method;
        if !served.allows(parts.method.as_str()) {
            return router_method_not_allowed(served.allow_header());
        }
    }
    if let Some(response) = front_faults(shared).await {
        return response;
    }
    if let Some(kind) = shared.faults.hostile() {
        let uri = parts.uri.to_string();
        return hostile::respond_recorded(&shared.faults, kind, Target::Api, &uri).await;
    }
    let query = match query {
        Ok(query) => query,
        Err(failure) => return failure.into_response(),
    };
    let Ok(body) = body else {
        return ApiFailure::unprocessable(
            "validation.body_too_large",
            format!(
                "the body is larger than {} bytes or could not be read",
                shared.config.max_body
            ),
        )
        .into_response();
    };
    let call = Call {
        op: route.op,
        params,
        query,
        headers: parts.headers.clone(),
        body,
        now: Utc::now(),
    };
    match handler(shared, &call) {
        Ok(reply) => reply.render(
            shared.faults.mangle(route.op),
            shared.config.wire.command_answer,
        ),
        Err(failure) => failure.into_response(),
    }
}

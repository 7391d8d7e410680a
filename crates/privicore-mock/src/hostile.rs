//! The hostile mode ([`FaultConfig::hostile_rate`](crate::FaultConfig::hostile_rate)): answers
//! that a broken or malicious server could send, for testing that a client refuses them with an
//! error instead of panicking, hanging or buffering without limit.
//!
//! Nothing here touches the state: a hostile answer replaces the handler, it does not follow
//! it. Oversized bodies are generated chunk by chunk from one static buffer, so the mock never
//! holds them.

use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::stream;

use crate::faults::{FaultState, HostileKind};

/// How long a stalled request is held before the mock gives up on it itself (a client with
/// sane timeouts has long gone by then; this only keeps the mock from holding it for ever).
const STALL: Duration = Duration::from_secs(120);

/// The unit oversized bodies are made of.
const CHUNK_LEN: usize = 64 * 1024;
static FILLER: [u8; CHUNK_LEN] = [b'A'; CHUNK_LEN];

/// Which listener the answer is for: the API speaks JSON, the transfer listeners bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Api,
    Transfer,
}

/// A body of `prefix`, `len` filler bytes and `suffix`, streamed with its length declared.
fn streamed(
    status: StatusCode,
    content_type: &'static str,
    prefix: &'static [u8],
    len: usize,
    suffix: &'static [u8],
) -> Response {
    let total = prefix.len() + len + suffix.len();
    let full_chunks = len / CHUNK_LEN;
    let rest = len % CHUNK_LEN;
    let chunks = std::iter::once(Bytes::from_static(prefix))
        .chain(std::iter::repeat_n(
            Bytes::from_static(&FILLER),
            full_chunks,
        ))
        .chain(std::iter::once(Bytes::from_static(&FILLER[..rest])))
        .chain(std::iter::once(Bytes::from_static(suffix)))
        .map(Ok::<_, std::io::Error>);
    let mut response = Response::new(Body::from_stream(stream::iter(chunks)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    response
}

fn json_text(status: StatusCode, body: impl Into<Body>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

/// Picks one of `choices` with the fault generator.
fn pick<T: Copy>(faults: &FaultState, choices: &[T]) -> T {
    choices[(faults.next_u64() % choices.len() as u64) as usize]
}

/// [`respond`], with the kind recorded on the request as its [`InjectedFault`].
pub(crate) async fn respond_recorded(
    faults: &FaultState,
    kind: HostileKind,
    target: Target,
    uri: &str,
) -> Response {
    let mut response = respond(faults, kind, target, uri).await;
    response
        .extensions_mut()
        .insert(crate::faults::InjectedFault::Hostile(kind));
    response
}

/// The hostile answer of `kind` to a request for `uri`.
async fn respond(faults: &FaultState, kind: HostileKind, target: Target, uri: &str) -> Response {
    let len = faults.hostile_len();
    match (kind, target) {
        (HostileKind::Malformed, Target::Api) => {
            let bodies: [&'static [u8]; 5] = [
                b"<html><body>502 Bad Gateway</body></html>",
                b"{{{{",
                b"NaN",
                b"\xff\xfe\x00garbage\x80",
                b"{\"commandId\": \"abc\" \"extra\"}",
            ];
            json_text(StatusCode::OK, Bytes::from_static(pick(faults, &bodies)))
        }
        (HostileKind::Truncated, Target::Api) => {
            let bodies: [&'static str; 4] = [
                "{\"authorizationToken\":\"tok\",\"expiresAt\":\"2026-",
                "[\"5a1b",
                "{\"items\":[{\"token\":\"a\"",
                "{\"token\":",
            ];
            json_text(StatusCode::OK, pick(faults, &bodies))
        }
        (HostileKind::Oversized, Target::Api) => streamed(
            StatusCode::OK,
            "application/json",
            b"{\"pad\":\"",
            len,
            b"\"}",
        ),
        (HostileKind::WrongTyped, Target::Api) => {
            let bodies: [&'static str; 8] = [
                "{\"authorizationToken\":42,\"expiresAt\":[],\"items\":\"x\",\"meta\":null,\"commandId\":{},\"token\":false,\"profileId\":1.5}",
                "[1,2,3]",
                "true",
                "null",
                "\"\"",
                "{\"items\":[{\"token\":1}],\"meta\":{\"count\":\"many\"}}",
                "{\"items\":[],\"meta\":{\"count\":-7,\"page\":0,\"perPage\":-1}}",
                "[\"a\",\"b\"]",
            ];
            json_text(StatusCode::OK, pick(faults, &bodies))
        }
        (HostileKind::Empty, _) => {
            let status = pick(
                faults,
                &[StatusCode::OK, StatusCode::NO_CONTENT, StatusCode::ACCEPTED],
            );
            (status, [(header::CONTENT_TYPE, "application/json")]).into_response()
        }
        (HostileKind::WrongStatus, _) => {
            let codes = [201, 204, 206, 400, 405, 418, 451, 599];
            let status =
                StatusCode::from_u16(pick(faults, &codes)).unwrap_or(StatusCode::IM_A_TEAPOT);
            json_text(status, "{\"surprise\":true}")
        }
        (HostileKind::OversizedError, _) => {
            // 422 is a declared error status of most operations, so its body is decoded as
            // an `ApiError`: a reason megabytes long.
            let status = pick(
                faults,
                &[
                    StatusCode::UNPROCESSABLE_ENTITY,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    StatusCode::NOT_FOUND,
                ],
            );
            streamed(
                status,
                "application/json",
                b"{\"status\":422,\"reason\":\"",
                len,
                b"\",\"message\":\"x\"}",
            )
        }
        (HostileKind::RedirectLoop, _) => {
            let location =
                HeaderValue::from_str(uri).unwrap_or_else(|_| HeaderValue::from_static("/"));
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        (HostileKind::Stall, _) => {
            tokio::time::sleep(STALL).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        // The transfer listeners answer bytes: garbage, too short, too long.
        (HostileKind::Malformed, Target::Transfer) => {
            let garbage: Vec<u8> = (0..1024).map(|_| faults.next_u64() as u8).collect();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/octet-stream")],
                garbage,
            )
                .into_response()
        }
        (HostileKind::Truncated, Target::Transfer) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            vec![7u8; 20],
        )
            .into_response(),
        (HostileKind::Oversized, Target::Transfer) => {
            streamed(StatusCode::OK, "application/octet-stream", b"", len, b"")
        }
        (HostileKind::WrongTyped, Target::Transfer) => {
            json_text(StatusCode::OK, "{\"data\":[1,2,3]}")
        }
        // `HostileKind` is non-exhaustive for users, not here; any future kind gets a teapot.
        #[allow(unreachable_patterns)]
        _ => StatusCode::IM_A_TEAPOT.into_response(),
    }
}

/// A garbage WebSocket frame. Some look almost right: acks for ids nobody sent, data answers
/// with large bodies, refused joins.
pub(crate) fn garbage_frame(faults: &FaultState) -> Message {
    let id = format!("hostile-{:016x}", faults.next_u64());
    match faults.next_u64() % 12 {
        0 => Message::Binary((0..256).map(|_| faults.next_u64() as u8).collect::<Vec<u8>>().into()),
        1 => Message::Text("not json at all".into()),
        2 => Message::Text("[".repeat(100_000).into()),
        3 => {
            // A data answer for an id nobody asked about, with a body as large as allowed:
            // a client that keeps such frames for a later waiter must bound what it keeps.
            let body = "A".repeat(faults.hostile_len().min(1024 * 1024));
            Message::Text(
                format!("{{\"data\":{{\"type\":\"X-DPT-CAB-REQUEST-ID\",\"id\":\"{id}\",\"output_type\":0,\"body\":\"{body}\"}}}}").into(),
            )
        }
        4 => Message::Text(format!("{{\"data\":{{\"type\":\"X-DPT-CAB-ID\",\"id\":\"{id}\",\"command_status\":2}}}}").into()),
        5 => Message::Text("{\"data\":{\"type\":\"X-DPT-CAB-ID\",\"id\":12,\"command_status\":\"x\"}}".into()),
        6 => Message::Text("{\"status\":\"200\",\"data\":null}".into()),
        7 => Message::Text("{\"data\":{\"type\":\"X-DPT-CAB-REQUEST-ID\",\"id\":{},\"output_type\":[],\"body\":7}}".into()),
        8 => Message::Ping(Bytes::from_static(b"hostile ping")),
        9 => Message::Pong(Bytes::from_static(b"unsolicited")),
        10 => Message::Text(format!("{{\"data\":{{\"type\":\"X-DPT-CAB-ID\",\"id\":\"{id}\",\"command_status\":3,\"body\":{{\"nested\":[1,2,3]}}}}}}").into()),
        _ => Message::Text("{\"data\":{\"type\":\"X-DPT-CAB-ID\",\"id\":\"\",\"command_status\":99999999999999999999}}".into()),
    }
}

/// Sends a burst of garbage frames; `false` when the socket is gone.
pub(crate) async fn burst(faults: &FaultState, socket: &mut WebSocket, frames: usize) -> bool {
    for _ in 0..frames {
        faults.count_hostile_frame();
        if socket.send(garbage_frame(faults)).await.is_err() {
            return false;
        }
    }
    true
}

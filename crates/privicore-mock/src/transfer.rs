//! The stream (upload) and download listeners: separate hosts in the real deployment, each
//! authenticated by a single-use token in the `auth` query parameter.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use chrono::Utc;
use futures::StreamExt;

use crate::dispatch::{front_faults, no_route, parse_query, record};
use crate::error::ApiFailure;
use crate::hostile::{self, Target};
use crate::input::media_type;
use crate::record::{Listener, RecordedBody};
use crate::shared::Shared;
use crate::state::data::StreamToken;
use crate::state::lock;

fn auth_param(query: &[(String, String)]) -> Option<&str> {
    query
        .iter()
        .find(|(n, _)| n == "auth")
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The fallback handler of the stream listener: `POST /?auth=<stream token>`.
pub(crate) async fn stream(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let is_upload = parts.uri.path() == "/" && parts.method == Method::POST;
    let query = parse_query(&parts).unwrap_or_default();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut response = if is_upload {
        upload(&shared, &parts, &query, body).await
    } else {
        no_route(parts.uri.path() == "/")
    };
    // A refused upload is answered without its body being read, and the server then closes
    // the connection. Saying so keeps the client from putting the connection back in its pool
    // and sending its next upload down a socket about to close (which it would see as a
    // transport error that no request of its explains).
    if response.status() != StatusCode::OK {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let recorded = RecordedBody::Binary {
        content_type: media_type(&parts.headers),
        len: declared,
    };
    let op = is_upload.then_some("upload_stream");
    record(
        &shared,
        Listener::Stream,
        op,
        &parts,
        &query,
        recorded,
        &response,
    );
    response
}

async fn upload(
    shared: &Shared,
    parts: &Parts,
    query: &[(String, String)],
    body: Body,
) -> Response {
    if let Some(response) = front_faults(shared).await {
        return response;
    }
    if let Some(kind) = shared.faults.hostile() {
        let uri = parts.uri.to_string();
        return hostile::respond_recorded(&shared.faults, kind, Target::Transfer, &uri).await;
    }
    let Some(token) = auth_param(query) else {
        return ApiFailure::unauthorized(
            "stream.missing_token",
            "the `auth` query parameter is required",
        )
        .into_response();
    };
    let invalid = || {
        ApiFailure::unauthorized(
            "stream.invalid_token",
            "the stream token is unknown, used or expired",
        )
        .into_response()
    };
    let now = Utc::now();
    // Check everything that does not need the body before using the single-use token up, so
    // that a request refused for its content type does not cost the client its token.
    let already_filled = || {
        ApiFailure::unprocessable(
            "data_token.already_filled",
            "the reservation already has its data",
        )
        .into_response()
    };
    match lock(&shared.world).data.stream_token(token, now) {
        StreamToken::Invalid => return invalid(),
        StreamToken::Filled => return already_filled(),
        StreamToken::Open => {}
    }
    if media_type(&parts.headers).as_deref() != Some("application/octet-stream") {
        return ApiFailure::unprocessable(
            "validation.unsupported_content_type",
            "the upload must be sent as application/octet-stream",
        )
        .into_response();
    }
    let max = shared.config.max_upload;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        ApiFailure::unprocessable(
            "stream.too_large",
            format!("the upload is larger than {max} bytes"),
        )
        .into_response()
    };
    if declared.is_some_and(|len| len > max) {
        return too_large();
    }
    let reservation = match lock(&shared.world).data.take_stream_token(token, now) {
        Ok(reservation) => reservation,
        Err(StreamToken::Filled) => return already_filled(),
        Err(_) => return invalid(),
    };
    // A failed upload gives the fill back, so that the reservation can still be exchanged.
    let release = || lock(&shared.world).data.release_fill(&reservation);
    // One buffer, sized up front when the length is declared: chunks are copied into it once
    // as they arrive, never collected and joined.
    let mut buffer = BytesMut::with_capacity(declared.unwrap_or(0));
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let Ok(chunk) = chunk else {
            release();
            return ApiFailure::unprocessable("stream.interrupted", "the upload was interrupted")
                .into_response();
        };
        if buffer.len() + chunk.len() > max {
            release();
            return too_large();
        }
        buffer.extend_from_slice(&chunk);
    }
    shared.check_stored("upload_stream", &buffer);
    let mut world = lock(&shared.world);
    match world.data.reservations.get_mut(&reservation) {
        Some(r) => {
            r.data = Some(buffer.freeze());
            StatusCode::OK.into_response()
        }
        None => ApiFailure::not_found(
            "data_token.reservation_not_found",
            "the reservation expired during the upload",
        )
        .into_response(),
    }
}

/// The fallback handler of the download listener: `GET /?auth=<download token>`.
pub(crate) async fn download(
    State(shared): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response {
    let (parts, _) = request.into_parts();
    let is_download = parts.uri.path() == "/" && parts.method == Method::GET;
    let query = parse_query(&parts).unwrap_or_default();
    let response = if is_download {
        serve_download(&shared, &query).await
    } else {
        no_route(parts.uri.path() == "/")
    };
    let op = is_download.then_some("download_data");
    record(
        &shared,
        Listener::Download,
        op,
        &parts,
        &query,
        RecordedBody::Empty,
        &response,
    );
    response
}

async fn serve_download(shared: &Shared, query: &[(String, String)]) -> Response {
    if let Some(response) = front_faults(shared).await {
        return response;
    }
    if let Some(kind) = shared.faults.hostile() {
        return hostile::respond_recorded(&shared.faults, kind, Target::Transfer, "/").await;
    }
    let Some(token) = auth_param(query) else {
        return ApiFailure::unauthorized(
            "download.missing_token",
            "the `auth` query parameter is required",
        )
        .into_response();
    };
    let Some(data) = lock(&shared.world).data.take_download(token, Utc::now()) else {
        return ApiFailure::unauthorized(
            "download.invalid_token",
            "the download token is unknown, used or expired",
        )
        .into_response();
    };
    let len = data.len();
    let mut response = Response::new(Body::from(data));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    response
}

//! Data Token: reserve, fill (inline exchange or stream upload), make permanent, list,
//! update, delete, classify, and read back (docs/protocol.md §6).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::{ok, paged_with};
use crate::auth::caller;
use crate::commands::{self, Command, Rejection};
use crate::config::{DataAnswer, ReplyShape, UploadAnswer};
use crate::error::ApiFailure;
use crate::input::{Call, base64_field, malformed};
use crate::record::REQUEST_ID_HEADER;
use crate::reply::{Reply, shaped};
use crate::shared::Shared;
use crate::state::data::{DataToken, FILTER_KEYS, FileMeta, Reservation, RiskMeta, WIRE_OVERHEAD};
use crate::state::{after, lock, wire_time};

/// Longest reservation: one day, in minutes (the official unit). Larger values get a `422`,
/// as the probe saw on the real server.
const MAX_TTL_MINUTES: i64 = 1440;
const DEFAULT_TTL_MINUTES: i64 = 5;

pub(crate) fn reserve(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    // The context is required here, but the token's context is the one configure-file-meta
    // sets: that is what list-data-tokens filters on.
    form.required("context")?;
    let ttl = match form.optional_int("ttl", 1, i64::MAX)? {
        Some(ttl) if ttl > MAX_TTL_MINUTES => {
            return Err(ApiFailure::unprocessable(
                "data_token.ttl_too_large",
                format!("ttl is in minutes and may be at most {MAX_TTL_MINUTES}"),
            ));
        }
        Some(ttl) => ttl,
        None => DEFAULT_TTL_MINUTES,
    };
    let meta = form.optional("meta");
    let profile_id = who.profile_id.clone();
    let command = Command::new("reserve_token_space", &who.profile_id, move |w, ctx| {
        w.data.insert_reservation(
            ctx.id.to_owned(),
            Reservation {
                profile_id,
                meta,
                temp_token: crate::rng::secret(),
                stream_token: Some(crate::rng::secret()),
                expires_at: after(ctx.now, Duration::from_secs(ttl as u64 * 60)),
                data: None,
                filling: false,
            },
        );
        Ok(None)
    });
    Ok(commands::submit(s, &mut world, command))
}

/// `404` until the reserve command has completed (docs/protocol.md §6.2).
pub(crate) fn temporary_token(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let id = call.param("commandId")?;
    let reservation = world
        .data
        .reservations
        .get(id)
        .filter(|r| r.profile_id == who.profile_id && r.expires_at > call.now)
        .ok_or_else(|| {
            ApiFailure::not_found(
                "data_token.reservation_not_found",
                "no settled, unexpired reservation of this profile has this command id",
            )
        })?;
    let mut body = json!({"token": reservation.temp_token});
    if let Some(stream) = &reservation.stream_token {
        let uri = format!("{}/?auth={stream}", s.urls.stream);
        match s.config.wire.upload_answer {
            UploadAnswer::StreamUri => body["stream"] = json!(uri),
            UploadAnswer::StreamServer => {
                body["stream_server_id"] = json!("1");
                body["stream_server_port"] = json!(s.urls.stream_port);
                body["auth"] = json!(stream);
            }
            UploadAnswer::StreamUrlAlias => body["streamUrl"] = json!(uri),
        }
    }
    ok(body)
}

pub(crate) fn exchange(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let temp = form.required("temporaryTokenSpace")?;
    let data = base64_field("data", &form.required("data")?)?;
    // The fill is claimed now, so that a second exchange or an upload for the same reservation
    // is refused at once rather than racing this one. An unknown token is the command's to
    // refuse, as before.
    let claimed = claim_fill(&mut world, &temp, &who.profile_id, call.now)?;
    let profile_id = who.profile_id.clone();
    let command = Command::new("exchange_data_for_token", &who.profile_id, move |w, ctx| {
        let id = w
            .data
            .reservation_by_temp(&temp, ctx.now)
            .map(str::to_owned)
            .ok_or_else(|| Rejection::new("data_token.temporary_token_not_found"))?;
        let reservation = w
            .data
            .reservations
            .get_mut(&id)
            .filter(|r| r.profile_id == profile_id)
            .ok_or_else(|| Rejection::new("data_token.temporary_token_not_found"))?;
        if reservation.data.is_some() {
            return Err(Rejection::new("data_token.already_filled"));
        }
        ctx.shared.check_stored("exchange_data_for_token", &data);
        reservation.data = Some(Bytes::from(data));
        Ok(None)
    })
    .on_abort(move |w| {
        if let Some(id) = claimed {
            w.data.release_fill(&id);
        }
    });
    Ok(commands::submit(s, &mut world, command))
}

/// Claims the fill of the caller's reservation behind `temp`: `Ok(Some(id))` when claimed,
/// `Ok(None)` when there is no such reservation, a `422` when it was filled (or claimed)
/// already.
fn claim_fill(
    world: &mut crate::state::World,
    temp: &str,
    profile_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<String>, ApiFailure> {
    let Some(id) = world.data.reservation_by_temp(temp, now).map(str::to_owned) else {
        return Ok(None);
    };
    let Some(reservation) = world
        .data
        .reservations
        .get_mut(&id)
        .filter(|r| r.profile_id == profile_id)
    else {
        return Ok(None);
    };
    if reservation.filling || reservation.data.is_some() {
        return Err(already_filled());
    }
    reservation.filling = true;
    Ok(Some(id))
}

fn already_filled() -> ApiFailure {
    ApiFailure::unprocessable(
        "data_token.already_filled",
        "the reservation already has its data",
    )
}

/// Turns a filled reservation into a permanent data token (the unofficial flow's promotion
/// step; the official text credits the upload, the mock needs both).
pub(crate) fn file_meta(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let temp = form.required("token")?;
    let file = FileMeta {
        file_name: form.required("fileName")?,
        extension: form.required("extension")?,
        size: form.required_int("size", 0, i64::MAX)?,
        path: form.required("path")?,
    };
    let context = form.required("context")?;
    let id = world
        .data
        .reservation_by_temp(&temp, call.now)
        .map(str::to_owned)
        .filter(|id| {
            world
                .data
                .reservations
                .get(id)
                .is_some_and(|r| r.profile_id == who.profile_id)
        })
        .ok_or_else(|| {
            ApiFailure::not_found(
                "data_token.temporary_token_not_found",
                "no unexpired reservation of this profile has this temporary token",
            )
        })?;
    if world
        .data
        .reservations
        .get(&id)
        .is_some_and(|r| r.data.is_none())
    {
        return Err(ApiFailure::unprocessable(
            "data_token.no_data",
            "exchange or upload the data before configuring its file meta",
        ));
    }
    let stored = world
        .data
        .reservations
        .get(&id)
        .and_then(|r| r.data.as_ref())
        .map_or(0, Bytes::len);
    if stored.checked_sub(WIRE_OVERHEAD) != usize::try_from(file.size).ok() {
        return Err(ApiFailure::unprocessable(
            "data_token.size_mismatch",
            "`size` must be the plaintext size of the stored payload (its length less the \
             IV and tag)",
        ));
    }
    let reservation = world.data.remove_reservation(&id).ok_or_else(|| {
        ApiFailure::not_found(
            "data_token.temporary_token_not_found",
            "the reservation is gone",
        )
    })?;
    let token = crate::rng::secret();
    world.data.insert_token(DataToken {
        token: token.clone(),
        profile_id: who.profile_id,
        seq: 0,
        context,
        created_at: call.now,
        file: Some(file),
        data_type: reservation.meta,
        risk: None,
        data: reservation.data.unwrap_or_default(),
        created_by: call
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    let shape = match s.config.shape("configure_file_meta") {
        ReplyShape::Object => ReplyShape::Object,
        _ => ReplyShape::String,
    };
    ok(shaped(&token, shape, "token"))
}

fn item(t: &DataToken) -> Value {
    let mut meta = Map::new();
    if let Some(file) = &t.file {
        meta.insert(
            "file".into(),
            json!({"fileName": file.file_name, "extension": file.extension, "size": file.size, "path": file.path}),
        );
    }
    if let Some(kind) = &t.data_type {
        meta.insert("data".into(), json!({"type": kind}));
    }
    if let Some(risk) = &t.risk {
        meta.insert(
            "information_security_risk".into(),
            json!({"classification": risk.classification, "label": risk.label, "handling": risk.handling}),
        );
    }
    json!({
        "token": t.token,
        "context": t.context,
        "createdAt": wire_time(t.created_at),
        "meta": meta,
    })
}

pub(crate) fn list(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let query = call.query();
    let mut filters = BTreeMap::new();
    for name in query.names() {
        let Some(key) = name
            .strip_prefix("filters[")
            .and_then(|k| k.strip_suffix(']'))
        else {
            continue;
        };
        if !FILTER_KEYS.contains(&key) {
            return Err(ApiFailure::unprocessable(
                "validation.unknown_filter",
                format!("unknown filter `{name}`; known: {}", FILTER_KEYS.join(", ")),
            ));
        }
        if let Some(value) = query.optional(name) {
            filters.insert(key.to_owned(), value);
        }
    }
    let items = world.data.list(&who.profile_id, &filters);
    paged_with(items, &query, s.config.wire.list_answer, item)
}

/// `202` with the request id in `x-dpt-cab-request-id` (and a command id in `x-dpt-cab-id`,
/// which request-status answers for and whose `X-DPT-CAB-ID` ack comes first); the data
/// follows on the WebSocket as `X-DPT-CAB-REQUEST-ID`: inline base64 (`output_type` 0) up to
/// the inline threshold, a single-use download link (`output_type` 1) above it.
pub(crate) fn request_data(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let token = form.required("token")?;
    if world.data.token(&token, &who.profile_id).is_none() {
        return Err(ApiFailure::not_found(
            "data_token.not_found",
            "no data token of this profile has this value",
        ));
    }
    let request_id = crate::rng::uuid();
    let profile_id = who.profile_id.clone();
    let frame_id = request_id.clone();
    let command = Command::new("request_data", &who.profile_id, move |w, ctx| {
        let stored = w
            .data
            .token(&token, &profile_id)
            .ok_or_else(|| Rejection::new("data_token.not_found"))?;
        let (data, context) = (stored.data.clone(), stored.context.clone());
        w.data.tx.entry(profile_id).or_default().retrieved += 1;
        let inline = match ctx.shared.config.wire.data_answer {
            DataAnswer::InlineOrLink => data.len() <= ctx.shared.config.inline_threshold,
            DataAnswer::StatusThenLink { .. } => false,
        };
        let (output_type, body) = if inline {
            (0, base64::engine::general_purpose::STANDARD.encode(&data))
        } else {
            let ticket = crate::rng::secret();
            let expires = after(ctx.now, ctx.shared.config.download_lifetime);
            w.data.issue_download(ticket.clone(), data, expires);
            (1, format!("{}/?auth={ticket}", ctx.shared.urls.download))
        };
        Ok(Some(json!({"data": {
            "type": "X-DPT-CAB-REQUEST-ID",
            "id": frame_id,
            "data_context": context,
            "output_type": output_type,
            "body": body,
        }})))
    });
    let command = command.with_progress(status_messages(s, &request_id));
    let command_id = command.id.clone();
    commands::submit(s, &mut world, command);
    Ok(Reply::DataRequest {
        request_id,
        command_id,
    })
}

/// The status texts ([`DataAnswer::StatusThenLink`]) pushed before a data request's result.
fn status_messages(s: &Shared, request_id: &str) -> Vec<Value> {
    let DataAnswer::StatusThenLink { status_messages } = s.config.wire.data_answer else {
        return Vec::new();
    };
    (1..=status_messages)
        .map(|step| {
            json!({"data": {
                "type": "X-DPT-CAB-REQUEST-ID",
                "id": request_id,
                "output_type": 0,
                "body": format!("Preparing data for download ({step} of {status_messages})"),
            }})
        })
        .collect()
}

pub(crate) fn risk_meta(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let token = form.required("token")?;
    let risk = RiskMeta {
        classification: Some(form.required("classification")?),
        label: Some(form.required("label")?),
        handling: Some(form.required("handling")?),
    };
    let profile_id = who.profile_id.clone();
    let command = Command::new("configure_risk_meta", &who.profile_id, move |w, _| {
        let stored = w
            .data
            .token_mut(&token, &profile_id)
            .ok_or_else(|| Rejection::new("data_token.not_found"))?;
        stored.risk = Some(risk);
        Ok(None)
    });
    Ok(commands::submit(s, &mut world, command))
}

fn opt_str(map: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>, ApiFailure> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(field, "a string")),
    }
}

fn sub_object<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<&'a Map<String, Value>>, ApiFailure> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(malformed(field, "an object")),
    }
}

/// The parts of `meta` an update replaces.
#[derive(Default)]
struct MetaUpdate {
    file: Option<FileMeta>,
    data_type: Option<Option<String>>,
    risk: Option<RiskMeta>,
}

fn parse_meta(meta: &Map<String, Value>) -> Result<MetaUpdate, ApiFailure> {
    let mut update = MetaUpdate::default();
    if let Some(file) = sub_object(meta, "file", "meta.file")? {
        let size = match file.get("size") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => n
                .as_i64()
                .filter(|v| *v >= 0)
                .ok_or_else(|| malformed("meta.file.size", "a non-negative integer"))?,
            Some(_) => return Err(malformed("meta.file.size", "a non-negative integer")),
        };
        update.file = Some(FileMeta {
            file_name: opt_str(file, "fileName", "meta.file.fileName")?.unwrap_or_default(),
            extension: opt_str(file, "extension", "meta.file.extension")?.unwrap_or_default(),
            size,
            path: opt_str(file, "path", "meta.file.path")?.unwrap_or_default(),
        });
    }
    if let Some(data) = sub_object(meta, "data", "meta.data")? {
        update.data_type = Some(opt_str(data, "type", "meta.data.type")?);
    }
    if let Some(risk) = sub_object(
        meta,
        "information_security_risk",
        "meta.information_security_risk",
    )? {
        update.risk = Some(RiskMeta {
            classification: opt_str(
                risk,
                "classification",
                "meta.information_security_risk.classification",
            )?,
            label: opt_str(risk, "label", "meta.information_security_risk.label")?,
            handling: opt_str(risk, "handling", "meta.information_security_risk.handling")?,
        });
    }
    Ok(update)
}

/// Replaces the data, and those parts of the metadata that are sent (leaving `meta` out keeps
/// the existing metadata, as the official page says).
pub(crate) fn update(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let body = call.json()?;
    let token = body.required_str("dataToken")?;
    let data = base64_field("data", &body.required_str("data")?)?;
    let meta = match body.optional_object("meta")? {
        Some(meta) => parse_meta(meta)?,
        None => MetaUpdate::default(),
    };
    let profile_id = who.profile_id.clone();
    let command = Command::new("update_data_token", &who.profile_id, move |w, ctx| {
        let stored = w
            .data
            .token_mut(&token, &profile_id)
            .ok_or_else(|| Rejection::new("data_token.not_found"))?;
        ctx.shared.check_stored("update_data_token", &data);
        stored.data = Bytes::from(data);
        if let Some(file) = meta.file {
            stored.file = Some(file);
        }
        if let Some(kind) = meta.data_type {
            stored.data_type = kind;
        }
        if let Some(risk) = meta.risk {
            stored.risk = Some(risk);
        }
        Ok(None)
    });
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn delete(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let token = form.required("token")?;
    let profile_id = who.profile_id.clone();
    let command = Command::new("delete_data", &who.profile_id, move |w, _| {
        w.data
            .remove_token(&token, &profile_id)
            .map(|_| None)
            .ok_or_else(|| Rejection::new("data_token.not_found"))
    });
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn statistics(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let tx = world
        .data
        .tx
        .get(&who.profile_id)
        .copied()
        .unwrap_or_default();
    ok(json!({
        "total": tx.stored + tx.retrieved + tx.deleted,
        "stored": tx.stored,
        "retrieved": tx.retrieved,
        "deleted": tx.deleted,
    }))
}

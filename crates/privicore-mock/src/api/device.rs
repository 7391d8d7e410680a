//! Device: onboarding (identifier, approval), configuration and removal (docs/protocol.md §9).
//! Commands that name a device check it when they run: an unknown or foreign device fails
//! the command with `device.not_found`.

use std::sync::Arc;

use serde_json::{Value, json};

use super::ok;
use crate::auth::caller;
use crate::commands::{self, Command, Rejection};
use crate::config::ReplyShape;
use crate::error::ApiFailure;
use crate::input::Call;
use crate::reply::{Reply, shaped};
use crate::shared::Shared;
use crate::state::devices::{Device, DeviceStatus};
use crate::state::{World, lock};

/// A new pending device owned by `owner`.
pub(crate) fn new_device(owner: &str, name: String) -> Device {
    Device {
        id: crate::rng::uuid(),
        owner: owner.to_owned(),
        name,
        status: DeviceStatus::Pending,
        storage: false,
        authenticator: false,
        last_sync: None,
        client_id: crate::rng::uuid(),
        client_secret: crate::rng::secret(),
        rabbit_user: format!("device-{}", &crate::rng::secret()[..12]),
        rabbit_pass: crate::rng::secret(),
        seq: 0,
    }
}

pub(crate) fn device_json(d: &Device) -> Value {
    json!({
        "deviceIdentifier": d.id,
        "name": d.name,
        "status": d.status.as_str(),
        "storage": d.storage,
        "authenticator": d.authenticator,
    })
}

/// Runs `change` on the caller's device named in the command, or fails it.
pub(crate) fn with_device(
    w: &mut World,
    owner: &str,
    id: &str,
    change: impl FnOnce(&mut Device) -> Result<(), Rejection>,
) -> Result<Option<Value>, Rejection> {
    let device = w
        .devices
        .get_mut(id, owner)
        .ok_or_else(|| Rejection::new("device.not_found"))?;
    change(device)?;
    Ok(None)
}

/// A command on one device: `deviceIdentifier` from the form, `change` when it runs.
pub(crate) fn device_command(
    s: &Arc<Shared>,
    call: &Call,
    change: impl FnOnce(&mut Device) -> Result<(), Rejection> + Send + 'static,
) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let id = form.required("deviceIdentifier")?;
    let owner = who.profile_id.clone();
    let command = Command::new(call.op, &who.profile_id, move |w, _| {
        with_device(w, &owner, &id, change)
    });
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn request_identifier(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let name = form.required("deviceName")?;
    let owner = who.profile_id.clone();
    let command = Command::new(
        "request_unique_identifier",
        &who.profile_id,
        move |w, ctx| {
            w.devices
                .insert(Some(ctx.id.to_owned()), new_device(&owner, name));
            Ok(None)
        },
    );
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn retrieve_identifier(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let id = form.required("id")?;
    let device = world
        .devices
        .by_request(&id, &who.profile_id)
        .ok_or_else(|| {
            ApiFailure::not_found(
                "device.request_not_found",
                "no completed request-unique-identifier command of this profile has this id",
            )
        })?;
    let shape = match s.config.shape("retrieve_unique_identifier") {
        ReplyShape::Object => ReplyShape::Object,
        _ => ReplyShape::String,
    };
    ok(shaped(&device.id, shape, "deviceIdentifier"))
}

pub(crate) fn list(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let list: Vec<Value> = world
        .devices
        .of(&who.profile_id)
        .into_iter()
        .map(device_json)
        .collect();
    ok(Value::Array(list))
}

pub(crate) fn configure_meta(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let name = call.form().ok().and_then(|f| f.optional("name"));
    device_command(s, call, move |d| {
        if let Some(name) = name {
            d.name = name;
        }
        Ok(())
    })
}

pub(crate) fn approve(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    device_command(s, call, |d| {
        d.status = DeviceStatus::Approved;
        Ok(())
    })
}

pub(crate) fn reject(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    device_command(s, call, |d| {
        d.status = DeviceStatus::Rejected;
        d.storage = false;
        d.authenticator = false;
        Ok(())
    })
}

pub(crate) fn configuration(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let id = call.param("deviceIdentifier")?;
    let device = world.devices.get(id, &who.profile_id).ok_or_else(|| {
        ApiFailure::not_found(
            "device.not_found",
            "no device of this profile has this identifier",
        )
    })?;
    let host = s
        .urls
        .api
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap_or("127.0.0.1")
        .to_owned();
    ok(json!({
        "device-identifier": device.id,
        "client-id": device.client_id,
        "client-secret": device.client_secret,
        "rabbit-user": device.rabbit_user,
        "rabbit-pass": device.rabbit_pass,
        "rabbit-host": host,
        "rabbit-port": "5672",
    }))
}

pub(crate) fn remove(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let id = form.required("deviceIdentifier")?;
    let owner = who.profile_id.clone();
    let command = Command::new("remove_device", &who.profile_id, move |w, _| {
        w.devices
            .remove(&id, &owner)
            .ok_or_else(|| Rejection::new("device.not_found"))?;
        for directory in w.directories.by_id.values_mut() {
            directory.devices.retain(|d| *d != id);
        }
        Ok(None)
    });
    Ok(commands::submit(s, &mut world, command))
}

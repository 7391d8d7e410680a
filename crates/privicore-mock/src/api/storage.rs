//! Storage: the storage role of an approved device.

use std::sync::Arc;

use serde_json::{Value, json};

use super::ok;
use crate::api::device::device_command;
use crate::auth::caller;
use crate::commands::Rejection;
use crate::error::ApiFailure;
use crate::input::Call;
use crate::reply::Reply;
use crate::shared::Shared;
use crate::state::devices::DeviceStatus;
use crate::state::{lock, wire_time};

/// Registration must follow approval (official overview); registering twice fails.
pub(crate) fn register(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    device_command(s, call, |d| {
        if d.status != DeviceStatus::Approved {
            return Err(Rejection::new("device.not_approved"));
        }
        if d.storage {
            return Err(Rejection::new("storage.already_registered"));
        }
        d.storage = true;
        Ok(())
    })
}

pub(crate) fn list(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let list: Vec<Value> = world
        .devices
        .of(&who.profile_id)
        .into_iter()
        .filter(|d| d.storage)
        .map(|d| {
            let mut item = json!({"deviceIdentifier": d.id, "name": d.name});
            if let Some(at) = d.last_sync {
                item["lastSyncAt"] = json!(wire_time(at));
            }
            item
        })
        .collect();
    ok(Value::Array(list))
}

pub(crate) fn synchronize(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    device_command(s, call, |d| {
        if !d.storage {
            return Err(Rejection::new("storage.not_registered"));
        }
        d.last_sync = Some(chrono::Utc::now());
        Ok(())
    })
}

pub(crate) fn remove(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    device_command(s, call, |d| {
        if !d.storage {
            return Err(Rejection::new("storage.not_registered"));
        }
        d.storage = false;
        Ok(())
    })
}

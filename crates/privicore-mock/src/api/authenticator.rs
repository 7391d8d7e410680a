//! Verified authenticator: the authenticator role, the profile-wide voting defaults and the
//! named voting configurations (docs/protocol.md §11).

use std::sync::Arc;

use serde_json::{Value, json};

use super::ok;
use crate::api::device::device_command;
use crate::auth::caller;
use crate::commands::{self, Command, Rejection};
use crate::error::ApiFailure;
use crate::input::{Call, malformed};
use crate::reply::Reply;
use crate::shared::Shared;
use crate::state::devices::DeviceStatus;
use crate::state::voting::{VotingConfig, VotingSettings};
use crate::state::{World, lock};

const STRATEGIES: &[&str] = &[
    "unanimous",
    "consensus",
    "affirmative",
    "minimum_percentage",
];

/// Longest voting time limit accepted: a week, in seconds.
const MAX_TIME_LIMIT: i64 = 7 * 24 * 3600;

pub(crate) fn register(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    device_command(s, call, |d| {
        if d.status != DeviceStatus::Approved {
            return Err(Rejection::new("device.not_approved"));
        }
        if d.authenticator {
            return Err(Rejection::new("authenticator.already_registered"));
        }
        d.authenticator = true;
        Ok(())
    })
}

pub(crate) fn remove(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    device_command(s, call, |d| {
        if !d.authenticator {
            return Err(Rejection::new("authenticator.not_registered"));
        }
        d.authenticator = false;
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
        .filter(|d| d.authenticator)
        .map(|d| json!({"deviceIdentifier": d.id, "name": d.name}))
        .collect();
    ok(Value::Array(list))
}

pub(crate) fn strategy(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let v = world
        .voting
        .settings
        .get(&who.profile_id)
        .cloned()
        .unwrap_or_default();
    ok(json!({
        "strategy": v.strategy,
        "strategyParams": v.strategy_params,
        "timeLimit": v.time_limit,
        "maximumVotingAttempts": v.maximum_attempts,
        "quorumSize": v.quorum_size,
    }))
}

/// A command that changes the caller's voting defaults.
fn settings_command(
    s: &Arc<Shared>,
    call: &Call,
    read: impl FnOnce(
        &crate::input::Fields,
    ) -> Result<Box<dyn FnOnce(&mut VotingSettings) + Send>, ApiFailure>,
) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let change = read(&form)?;
    let owner = who.profile_id.clone();
    let command = Command::new(call.op, &who.profile_id, move |w: &mut World, _| {
        change(w.voting.settings.entry(owner).or_default());
        Ok(None)
    });
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn set_quorum_size(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    settings_command(s, call, |form| {
        let size = form.required_int("quorumSize", 1, 1000)?;
        Ok(Box::new(move |v: &mut VotingSettings| v.quorum_size = size))
    })
}

pub(crate) fn set_quorum_strategy(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    settings_command(s, call, |form| {
        let strategy = form.required("strategy")?;
        if !STRATEGIES.contains(&strategy.as_str()) {
            return Err(malformed(
                "strategy",
                "one of unanimous, consensus, affirmative, minimum_percentage",
            ));
        }
        let params = form.required_int("strategy_params", 0, 100)?;
        Ok(Box::new(move |v: &mut VotingSettings| {
            v.strategy = strategy;
            v.strategy_params = params.to_string();
        }))
    })
}

pub(crate) fn set_time_limit(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    settings_command(s, call, |form| {
        let limit = form.required_int("timeLimit", 1, MAX_TIME_LIMIT)?;
        Ok(Box::new(move |v: &mut VotingSettings| v.time_limit = limit))
    })
}

pub(crate) fn set_maximum_attempts(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    settings_command(s, call, |form| {
        let attempts = form.required_int("numberOfAttempts", 1, 100)?;
        Ok(Box::new(move |v: &mut VotingSettings| {
            v.maximum_attempts = attempts
        }))
    })
}

/// Reads and checks a voting-configuration body.
fn read_configuration(call: &Call) -> Result<VotingConfig, ApiFailure> {
    let body = call.json()?;
    let name = body.required_str("name")?;
    let time_limit = body.required_int("timeLimit", 1, MAX_TIME_LIMIT)?;
    let strategy = body.required_str("strategy")?;
    if !STRATEGIES.contains(&strategy.as_str()) {
        return Err(malformed(
            "strategy",
            "one of unanimous, consensus, affirmative, minimum_percentage",
        ));
    }
    let percentage_required = body.optional_int("percentageRequired", 0, 100)?;
    if strategy == "minimum_percentage" && percentage_required.is_none() {
        return Err(ApiFailure::unprocessable(
            "validation.missing_field",
            "missing required field `percentageRequired` (strategy minimum_percentage)",
        ));
    }
    let device_identifiers = body.required_str_array("deviceIdentifiers")?;
    Ok(VotingConfig {
        name,
        time_limit,
        strategy,
        percentage_required,
        device_identifiers,
    })
}

/// Every listed device must be one of the caller's authenticators (`[]` means all of them).
fn check_devices(w: &World, owner: &str, config: &VotingConfig) -> Result<(), Rejection> {
    let all_known = config
        .device_identifiers
        .iter()
        .all(|id| w.devices.get(id, owner).is_some_and(|d| d.authenticator));
    if all_known {
        Ok(())
    } else {
        Err(Rejection::new("voting.unknown_authenticator"))
    }
}

pub(crate) fn register_configuration(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let config = read_configuration(call)?;
    if world.voting.name_taken(&who.profile_id, &config.name) {
        return Err(ApiFailure::conflict(
            "voting.configuration_exists",
            "a voting configuration with this name already exists",
        ));
    }
    let key = (who.profile_id.clone(), config.name.clone());
    world.voting.pending_names.insert(key.clone());
    let (owner, undo) = (who.profile_id.clone(), key.clone());
    let command = Command::new(
        "register_voting_configuration",
        &who.profile_id,
        move |w, _| {
            w.voting.pending_names.remove(&key);
            check_devices(w, &owner, &config)?;
            w.voting
                .configs
                .entry(owner)
                .or_default()
                .insert(config.name.clone(), config);
            Ok(None)
        },
    )
    .on_abort(move |w| {
        w.voting.pending_names.remove(&undo);
    });
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn update_configuration(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let config = read_configuration(call)?;
    let owner = who.profile_id.clone();
    let command = Command::new(
        "update_voting_configuration",
        &who.profile_id,
        move |w, _| {
            if w.voting.config(&owner, &config.name).is_none() {
                return Err(Rejection::new("voting.configuration_not_found"));
            }
            check_devices(w, &owner, &config)?;
            w.voting
                .configs
                .entry(owner)
                .or_default()
                .insert(config.name.clone(), config);
            Ok(None)
        },
    );
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn configuration_json(c: &VotingConfig) -> Value {
    let mut value = json!({
        "name": c.name,
        "timeLimit": c.time_limit,
        "strategy": c.strategy,
        "deviceIdentifiers": c.device_identifiers,
    });
    if let Some(p) = c.percentage_required {
        value["percentageRequired"] = json!(p);
    }
    value
}

pub(crate) fn list_configurations(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let list: Vec<Value> = world
        .voting
        .configs
        .get(&who.profile_id)
        .map(|c| c.values().map(configuration_json).collect())
        .unwrap_or_default();
    ok(Value::Array(list))
}

pub(crate) fn retrieve_configuration(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let name = call.param("name")?;
    let config = world.voting.config(&who.profile_id, name).ok_or_else(|| {
        ApiFailure::not_found(
            "voting.configuration_not_found",
            "no voting configuration of this profile has this name",
        )
    })?;
    ok(configuration_json(config))
}

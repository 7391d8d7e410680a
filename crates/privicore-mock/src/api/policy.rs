//! Policy: templates, registration (inactive at first), activation and removal
//! (docs/protocol.md §11). The command id of register becomes the policy id.

use std::sync::Arc;

use serde_json::{Value, json};

use super::ok;
use crate::auth::caller;
use crate::commands::{self, Command, Rejection};
use crate::error::ApiFailure;
use crate::input::Call;
use crate::reply::Reply;
use crate::shared::Shared;
use crate::state::lock;
use crate::state::policies::{self, Policy};

pub(crate) fn templates(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    caller(s, &mut world, call)?;
    ok(policies::templates())
}

/// Template, events and voting configuration are business rules checked when the command
/// runs; a taken name is refused at once (`409`).
pub(crate) fn register(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let body = call.json()?;
    let template_id = body.required_str("policyTemplateId")?;
    let event_ids = body.required_str_array("applyingEventIds")?;
    let configuration = body.optional_str_map("configuration")?;
    // OFF names the reference `configurationId`, the probe `votingConfigurationId` (with the
    // configuration's name): accept either.
    let voting = match body.optional_str("votingConfigurationId")? {
        Some(v) => Some(v),
        None => body.optional_str("configurationId")?,
    };
    let name = match body.optional_str("name")? {
        Some(name) => name,
        None => format!("policy-{}", world.policies.count_for(&who.profile_id) + 1),
    };
    if world.policies.name_taken(&who.profile_id, &name) {
        return Err(ApiFailure::conflict(
            "policy.name_taken",
            "a policy with this name already exists",
        ));
    }
    let key = (who.profile_id.clone(), name.clone());
    world.policies.pending_names.insert(key.clone());
    let (owner, undo) = (who.profile_id.clone(), key.clone());
    let command = Command::new("register_policy", &who.profile_id, move |w, ctx| {
        w.policies.pending_names.remove(&key);
        for event in &event_ids {
            match policies::template_has_event(&template_id, event) {
                None => return Err(Rejection::new("policy.template_not_found")),
                Some(false) => return Err(Rejection::new("policy.unknown_event")),
                Some(true) => {}
            }
        }
        if policies::template_has_event(&template_id, "").is_none() {
            return Err(Rejection::new("policy.template_not_found"));
        }
        if let Some(name) = &voting
            && w.voting.config(&owner, name).is_none()
        {
            return Err(Rejection::new("voting.configuration_not_found"));
        }
        w.policies.insert(Policy {
            id: ctx.id.to_owned(),
            profile_id: owner,
            name,
            template_id,
            event_ids,
            configuration,
            voting_configuration: voting,
            active: false,
            seq: 0,
        });
        Ok(None)
    })
    .on_abort(move |w| {
        w.policies.pending_names.remove(&undo);
    });
    Ok(commands::submit(s, &mut world, command))
}

/// The spec's fields, plus the configuration and voting reference the policy was registered
/// with (extra fields, which the generated types ignore).
fn policy_json(p: &Policy) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "policyTemplateId": p.template_id,
        "applyingEventIds": p.event_ids,
        "active": p.active,
        "configuration": p.configuration,
        "votingConfigurationId": p.voting_configuration,
    })
}

fn list(s: &Arc<Shared>, call: &Call, active: bool) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let list: Vec<Value> = world
        .policies
        .list(&who.profile_id, active)
        .into_iter()
        .map(policy_json)
        .collect();
    ok(Value::Array(list))
}

pub(crate) fn list_active(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    list(s, call, true)
}

pub(crate) fn list_inactive(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    list(s, call, false)
}

/// A command on one policy (`policyId` from the form).
fn policy_command(
    s: &Arc<Shared>,
    call: &Call,
    change: impl FnOnce(&mut crate::state::World, &str, &str) -> Result<(), Rejection> + Send + 'static,
) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let id = form.required("policyId")?;
    let owner = who.profile_id.clone();
    let command = Command::new(call.op, &who.profile_id, move |w, _| {
        change(w, &id, &owner).map(|()| None)
    });
    Ok(commands::submit(s, &mut world, command))
}

fn set_active(
    w: &mut crate::state::World,
    id: &str,
    owner: &str,
    active: bool,
) -> Result<(), Rejection> {
    let policy = w
        .policies
        .get_mut(id, owner)
        .ok_or_else(|| Rejection::new("policy.not_found"))?;
    policy.active = active;
    Ok(())
}

pub(crate) fn activate(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    policy_command(s, call, |w, id, owner| set_active(w, id, owner, true))
}

pub(crate) fn deactivate(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    policy_command(s, call, |w, id, owner| set_active(w, id, owner, false))
}

pub(crate) fn delete(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    policy_command(s, call, |w, id, owner| {
        w.policies
            .remove(id, owner)
            .map(|_| ())
            .ok_or_else(|| Rejection::new("policy.not_found"))
    })
}

pub(crate) fn retrieve(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let name = call.param("name")?;
    let policy = world
        .policies
        .by_name(&who.profile_id, name)
        .ok_or_else(|| {
            ApiFailure::not_found(
                "policy.not_found",
                "no policy of this profile has this name",
            )
        })?;
    ok(policy_json(policy))
}

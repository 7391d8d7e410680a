//! Voting: polls created by hand and their status. Ballots travel over RabbitMQ, outside this
//! API, so a mock pool never receives votes: it stays `open` until its time limit passes and
//! is `expired` after.

use std::sync::Arc;

use serde_json::json;

use super::ok;
use crate::auth::caller;
use crate::commands::{self, Command, Rejection};
use crate::error::ApiFailure;
use crate::input::Call;
use crate::reply::Reply;
use crate::shared::Shared;
use crate::state::lock;
use crate::state::voting::Pool;

/// The command id becomes the pool id (spec: "The command id is the pool id").
pub(crate) fn create(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let config_name = form.required("votingConfigurationName")?;
    form.required("subject")?;
    let owner = who.profile_id.clone();
    let command = Command::new("create_voting", &who.profile_id, move |w, ctx| {
        let time_limit = w
            .voting
            .config(&owner, &config_name)
            .map(|c| c.time_limit)
            .ok_or_else(|| Rejection::new("voting.configuration_not_found"))?;
        w.voting.pools.insert(
            ctx.id.to_owned(),
            Pool {
                profile_id: owner,
                created_at: ctx.now,
                time_limit,
            },
        );
        Ok(None)
    });
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn pool_status(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let id = call.param("poolId")?;
    let pool = world
        .voting
        .pools
        .get(id)
        .filter(|p| p.profile_id == who.profile_id)
        .ok_or_else(|| {
            ApiFailure::not_found(
                "voting.pool_not_found",
                "no voting pool of this profile has this id",
            )
        })?;
    let ends = pool.created_at + chrono::Duration::seconds(pool.time_limit);
    let status = if call.now < ends { "open" } else { "expired" };
    ok(json!({"poolId": id, "status": status, "yes": 0, "no": 0, "attempt": 1}))
}

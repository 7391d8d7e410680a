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

/// Create voting, as the official page has it (docs/protocol.md §11): a JSON body naming the
/// voting configuration, the question and title the authenticators see, the authenticators to
/// skip, and an optional nonce. The command id becomes the poll (pool) id, which
/// check-pool-status takes.
pub(crate) fn create(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let body = call.json()?;
    // The configuration is named by its name: the mock's configurations have no other id, and
    // the official examples use names (`admin-approval-config`).
    let config_name = body.required_str("votingConfigurationId")?;
    body.required_str("question")?;
    body.required_str("title")?;
    let skipped = body.optional_str_array("skipAuthenticatorDevices")?;
    body.optional_str("nonce")?;
    let owner = who.profile_id.clone();
    let command = Command::new("create_voting", &who.profile_id, move |w, ctx| {
        let time_limit = w
            .voting
            .config(&owner, &config_name)
            .map(|c| c.time_limit)
            .ok_or_else(|| Rejection::new("voting.configuration_not_found"))?;
        let all_authenticators = skipped
            .iter()
            .all(|id| w.devices.get(id, &owner).is_some_and(|d| d.authenticator));
        if !all_authenticators {
            return Err(Rejection::new("voting.unknown_authenticator"));
        }
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

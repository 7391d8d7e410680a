//! Profile: registration, authentication and the profile token's lifecycle.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

use super::ok;
use crate::auth::caller;
use crate::commands::{self, Command, Rejection};
use crate::config::ReauthorizeAnswer;
use crate::error::ApiFailure;
use crate::input::Call;
use crate::reply::Reply;
use crate::shared::Shared;
use crate::state::profiles::Profile;
use crate::state::{after, lock, wire_time};

/// Longest lifetime reauthorize grants: 30 days, the guides' example value.
const MAX_TTL_SECS: i64 = 30 * 24 * 3600;

/// Lifetime of a QR pairing token.
const QR_LIFETIME: Duration = Duration::from_secs(300);

/// Takes the username at once (a second registration gets 409 even before the first command
/// completes) with a pending profile, which becomes usable when its command completes.
/// Returns the new profile id.
pub(crate) fn reserve_profile(
    world: &mut crate::state::World,
    username: String,
    password: String,
    directory_id: Option<String>,
) -> Result<String, ApiFailure> {
    if world.profiles.username_taken(&username) {
        return Err(ApiFailure::conflict(
            "profile.username_taken",
            "a profile with this username already exists",
        ));
    }
    let profile_id = crate::rng::uuid();
    world.profiles.insert(Profile {
        id: profile_id.clone(),
        username,
        password,
        public_key: None,
        pending: true,
        display_name: None,
        email: None,
        directory_id,
    });
    Ok(profile_id)
}

pub(crate) fn register(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let form = call.form()?;
    let username = form.required("username")?;
    let password = form.required("password")?;
    let mut world = lock(&s.world);
    let profile_id = reserve_profile(&mut world, username, password, None)?;
    let (done, undo) = (profile_id.clone(), profile_id.clone());
    let command = Command::new("register_profile", &profile_id, move |w, _| {
        let profile = w
            .profiles
            .get_mut(&done)
            .ok_or_else(|| Rejection::new("profile.not_found"))?;
        profile.pending = false;
        Ok(None)
    })
    .on_abort(move |w| w.profiles.remove(&undo));
    Ok(commands::submit(s, &mut world, command))
}

fn token_body(token: &str, expires_at: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    json!({"authorizationToken": token, "expiresAt": wire_time(expires_at)})
}

pub(crate) fn authenticate(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let form = call.form()?;
    let username = form.required("username")?;
    let password = form.required("password")?;
    let mut world = lock(&s.world);
    let profile_id = world
        .profiles
        .check_credentials(&username, &password)
        .map(|p| p.id.clone())
        .ok_or_else(|| {
            ApiFailure::unauthorized(
                "auth.invalid_credentials",
                "the username or password is wrong",
            )
        })?;
    let token = crate::rng::secret();
    let expires_at = after(call.now, s.config.token_lifetime);
    world
        .profiles
        .issue_token(token.clone(), &profile_id, expires_at);
    ok(token_body(&token, expires_at))
}

pub(crate) fn profile_id(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    ok(json!({"profileId": who.profile_id}))
}

/// The current password is a business rule: a wrong one fails the command
/// (`profile.wrong_password`), it is not a `401` (the token is fine).
pub(crate) fn change_password(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let current = form.required("currentPassword")?;
    let new = form.required("newPassword")?;
    let profile_id = who.profile_id.clone();
    let command = Command::new("change_password", &who.profile_id, move |w, _| {
        let profile = w
            .profiles
            .get_mut(&profile_id)
            .ok_or_else(|| Rejection::new("profile.not_found"))?;
        if profile.password != current {
            return Err(Rejection::new("profile.wrong_password"));
        }
        profile.password = new;
        Ok(None)
    });
    Ok(commands::submit(s, &mut world, command))
}

/// A pairing token for a mobile authenticator. Nothing in the API consumes it, so it is not
/// stored.
pub(crate) fn token_qr(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    caller(s, &mut world, call)?;
    call.form()?;
    ok(json!({
        "qrToken": crate::rng::secret(),
        "expiresAt": wire_time(after(call.now, QR_LIFETIME)),
    }))
}

/// Issues a new token with the requested lifetime (seconds) and revokes the one used; or, with
/// [`ReauthorizeAnswer::Command`], accepts a command that extends the token used when it
/// settles.
pub(crate) fn reauthorize(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let ttl = form.required_int("ttl", 1, MAX_TTL_SECS)?;
    let lifetime = Duration::from_secs(ttl as u64);
    if s.config.wire.reauthorize_answer == ReauthorizeAnswer::Command {
        let token = who.token.clone();
        let command = Command::new(call.op, &who.profile_id, move |w, ctx| {
            // The lifetime counts from the settling, when the new expiry takes effect.
            if w.profiles.extend(&token, after(ctx.now, lifetime), ctx.now) {
                Ok(None)
            } else {
                Err(Rejection::new("auth.invalid_token"))
            }
        });
        return Ok(commands::submit(s, &mut world, command));
    }
    let token = crate::rng::secret();
    let expires_at = after(call.now, lifetime);
    world.profiles.revoke(&who.token);
    world
        .profiles
        .issue_token(token.clone(), &who.profile_id, expires_at);
    ok(token_body(&token, expires_at))
}

pub(crate) fn revoke(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    call.form()?;
    world.profiles.revoke(&who.token);
    Ok(Reply::Empty(StatusCode::OK))
}

pub(crate) fn expiry(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    call.form()?;
    let expires_at = world
        .profiles
        .token(&who.token, call.now)
        .map(|t| t.expires_at)
        .map_err(|_| {
            ApiFailure::unauthorized("auth.invalid_token", "the authorization token is not valid")
        })?;
    ok(json!({"expiresAt": wire_time(expires_at)}))
}

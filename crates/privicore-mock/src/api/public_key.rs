//! Public key: the profile's signed public key, the engine's key and key generation.

use std::sync::Arc;

use serde_json::json;

use super::ok;
use crate::auth::caller;
use crate::commands::{self, Command, Rejection};
use crate::error::ApiFailure;
use crate::input::Call;
use crate::keys;
use crate::reply::Reply;
use crate::shared::Shared;
use crate::state::lock;

/// An inferred operation: a fresh X25519 key pair in the signed format. The mock keeps
/// neither half.
pub(crate) fn generate(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    caller(s, &mut world, call)?;
    let (public, private) = keys::generate();
    ok(json!({"publicKey": public, "privateKey": private}))
}

/// The format is checked synchronously (`422`); the key replaces any previous one when the
/// command completes.
pub(crate) fn register(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let key = form.required("publicKey")?.to_ascii_lowercase();
    keys::validate(&key)?;
    let profile_id = who.profile_id.clone();
    let command = Command::new("register_public_key", &who.profile_id, move |w, _| {
        let profile = w
            .profiles
            .get_mut(&profile_id)
            .ok_or_else(|| Rejection::new("profile.not_found"))?;
        profile.public_key = Some(key);
        Ok(None)
    });
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn retrieve(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let key = world
        .profiles
        .get(&who.profile_id)
        .and_then(|p| p.public_key.clone())
        .ok_or_else(|| {
            ApiFailure::not_found("public_key.not_found", "the profile has no public key yet")
        })?;
    ok(json!({"publicKey": key}))
}

pub(crate) fn engine(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    caller(s, &mut world, call)?;
    ok(json!({"publicKey": s.engine_key}))
}

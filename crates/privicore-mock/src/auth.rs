//! Who is calling: the profile token (or an OAuth access token) in `X-DPT-AUTHORIZATION`, or
//! an OAuth access token in `Authorization: Bearer` where the server's
//! [`OAuthPlacement`](crate::OAuthPlacement) takes it there,
//! OAuth client credentials in `Authorization: Basic base64(id:secret)`, or a raw token in
//! `Authorization: Basic <token>` (docs/protocol.md §3.1).

use axum::http::header;
use chrono::{DateTime, Utc};

use crate::error::ApiFailure;
use crate::faults::InjectedFault;
use crate::input::Call;
use crate::routes::{Group, group_of};
use crate::shared::Shared;
use crate::state::World;
use crate::state::profiles::TokenProblem;

/// The header carrying the profile token.
pub(crate) const DPT_AUTHORIZATION: &str = "x-dpt-authorization";

/// An authenticated caller.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub profile_id: String,
    /// The token it sent.
    pub token: String,
}

fn token_failure(problem: TokenProblem) -> ApiFailure {
    match problem {
        TokenProblem::Unknown => {
            ApiFailure::unauthorized("auth.invalid_token", "the authorization token is not valid")
        }
        TokenProblem::Expired => {
            ApiFailure::unauthorized("auth.token_expired", "the authorization token has expired")
        }
        TokenProblem::Revoked => ApiFailure::unauthorized(
            "auth.token_revoked",
            "the authorization token has been revoked",
        ),
    }
}

/// The profile behind a token: a profile token, or else an OAuth access token (with its
/// scopes). Used by the API and by `joinChannel` on the WebSocket.
pub(crate) fn resolve_token(
    world: &World,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(String, Option<Vec<String>>), ApiFailure> {
    match world.profiles.token(token, now) {
        Ok(record) => Ok((record.profile_id.clone(), None)),
        Err(TokenProblem::Unknown) => match world.oauth.grant_by_access(token, now) {
            Ok(grant) => Ok((grant.profile_id.clone(), Some(grant.scopes.clone()))),
            Err(problem) => Err(token_failure(problem)),
        },
        Err(problem) => Err(token_failure(problem)),
    }
}

/// The scope an OAuth access token needs for `op`, or `None` when such a token may not call
/// it at all (only the data-token operations accept OAuth tokens).
fn oauth_scope_for(op: &str) -> Option<&'static str> {
    match op {
        "list_data_tokens" | "request_data" => Some("data-token:read"),
        _ if group_of(op) == Some(Group::DataToken) => Some("data-token:write"),
        _ => None,
    }
}

/// Operations a profile without a public key may call: the profile's own housekeeping and
/// key registration. Everything else needs an active profile (docs/protocol.md §8.3).
fn allowed_without_key(op: &str) -> bool {
    matches!(
        op,
        "retrieve_profile_id"
            | "change_password"
            | "generate_token_qr"
            | "reauthorize_authorization_token"
            | "revoke_authorization_token"
            | "retrieve_token_expiry"
            | "generate_key_pair"
            | "register_public_key"
            | "retrieve_public_key"
            | "retrieve_cab_public_key"
    )
}

/// The header a caller's token came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Header {
    /// `X-DPT-AUTHORIZATION: <token>`.
    Dpt,
    /// `Authorization: Bearer <token>`, read only where the server's
    /// [`OAuthPlacement`](crate::OAuthPlacement) takes OAuth tokens there.
    Bearer,
}

/// The token a request carries and the header it came in: `X-DPT-AUTHORIZATION` when sent,
/// else `Authorization: Bearer` when the server reads it for OAuth tokens.
fn presented_token(shared: &Shared, call: &Call) -> Result<(String, Header), ApiFailure> {
    let text = |value: &axum::http::HeaderValue| {
        value
            .to_str()
            .map(|v| v.trim().to_owned())
            .map_err(|_| token_failure(TokenProblem::Unknown))
    };
    let (token, header) = match call.headers.get(DPT_AUTHORIZATION) {
        Some(value) => (text(value)?, Header::Dpt),
        None => {
            let bearer = call
                .headers
                .get(header::AUTHORIZATION)
                .filter(|_| shared.config.wire.oauth_placement.in_bearer())
                .map(text)
                .transpose()?
                .and_then(|value| {
                    let (scheme, token) = value.split_once(' ')?;
                    scheme
                        .eq_ignore_ascii_case("bearer")
                        .then(|| token.trim().to_owned())
                });
            match bearer {
                Some(token) => (token, Header::Bearer),
                None => {
                    return Err(ApiFailure::unauthorized(
                        "auth.missing_token",
                        "the X-DPT-AUTHORIZATION header is required",
                    ));
                }
            }
        }
    };
    if token.is_empty() {
        return Err(ApiFailure::unauthorized(
            "auth.missing_token",
            "the authorization header is empty",
        ));
    }
    Ok((token, header))
}

/// The caller of an operation that needs `X-DPT-AUTHORIZATION` (or, for an OAuth access
/// token, the header the server's [`OAuthPlacement`](crate::OAuthPlacement) takes).
pub(crate) fn caller(
    shared: &Shared,
    world: &mut World,
    call: &Call,
) -> Result<Caller, ApiFailure> {
    let (token, header) = presented_token(shared, call)?;
    let (profile_id, oauth_scopes) = resolve_token(world, &token, call.now).map_err(|failure| {
        // A token the injector expired stays a fault on every later request that carries it.
        if shared.faults.was_expired_early(&token) {
            failure.injected(InjectedFault::ExpiredToken)
        } else {
            failure
        }
    })?;
    // A token in a header the server does not read for its kind is, to the server, no token
    // it knows: profile tokens only in X-DPT-AUTHORIZATION, OAuth tokens per the placement.
    let misplaced = match (header, oauth_scopes.is_some()) {
        (Header::Dpt, true) => !shared.config.wire.oauth_placement.in_dpt_header(),
        (Header::Bearer, false) => true,
        _ => false,
    };
    if misplaced {
        return Err(token_failure(TokenProblem::Unknown));
    }
    if shared.faults.expire_early(&token) {
        world.profiles.expire(&token, call.now);
        world.oauth.expire_access(&token, call.now);
        return Err(token_failure(TokenProblem::Expired).injected(InjectedFault::EarlyExpiry));
    }
    if let Some(scopes) = &oauth_scopes {
        let Some(needed) = oauth_scope_for(call.op) else {
            return Err(ApiFailure::forbidden(
                "auth.oauth_token_not_allowed",
                "an OAuth access token cannot call this operation; use a profile token",
            ));
        };
        if !scopes.iter().any(|s| s == "all" || s == needed) {
            return Err(ApiFailure::forbidden(
                "auth.insufficient_scope",
                format!("the OAuth access token lacks the `{needed}` scope"),
            ));
        }
    }
    if shared.config.require_public_key && !allowed_without_key(call.op) {
        let has_key = world
            .profiles
            .get(&profile_id)
            .is_some_and(|p| p.public_key.is_some());
        if !has_key {
            return Err(ApiFailure::forbidden(
                "profile.inactive",
                "the profile has no registered public key; register one first",
            ));
        }
    }
    Ok(Caller { profile_id, token })
}

/// The value after `Basic ` in the `Authorization` header.
fn basic_value(call: &Call) -> Result<String, ApiFailure> {
    let value = call.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiFailure::unauthorized(
            "auth.missing_credentials",
            "the Authorization header is required",
        )
    })?;
    let text = value
        .to_str()
        .map_err(|_| malformed_authorization())?
        .trim();
    let (scheme, rest) = text.split_once(' ').ok_or_else(malformed_authorization)?;
    if !scheme.eq_ignore_ascii_case("basic") || rest.trim().is_empty() {
        return Err(malformed_authorization());
    }
    Ok(rest.trim().to_owned())
}

fn malformed_authorization() -> ApiFailure {
    ApiFailure::unauthorized(
        "auth.malformed_authorization",
        "the Authorization header must be `Basic <credentials>`",
    )
}

/// The raw value of `Authorization: Basic <value>`, e.g. an access token.
pub(crate) fn raw_basic(call: &Call) -> Result<String, ApiFailure> {
    basic_value(call)
}

/// The OAuth application whose client credentials are in `Authorization: Basic
/// base64(clientId:clientSecret)`.
pub(crate) fn client_app(world: &World, call: &Call) -> Result<String, ApiFailure> {
    use base64::Engine as _;
    let encoded = basic_value(call)?;
    let invalid = || {
        ApiFailure::unauthorized(
            "auth.invalid_client",
            "the client credentials are not valid",
        )
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_bytes())
        .map_err(|_| invalid())?;
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (client_id, secret) = text.split_once(':').ok_or_else(invalid)?;
    let app = world
        .oauth
        .app_by_client_id(client_id)
        .ok_or_else(invalid)?;
    if app.client_secret != secret {
        return Err(invalid());
    }
    Ok(app.id.clone())
}

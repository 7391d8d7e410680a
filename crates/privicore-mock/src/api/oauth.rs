//! OAuth Application: registration, the once-only client secret, the asynchronous
//! authorization-code request, and access tokens with refresh-token rotation
//! (docs/protocol.md §10).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{ok, paged};
use crate::auth::{caller, client_app, raw_basic};
use crate::commands::{self, Command};
use crate::config::RefreshAnswer;
use crate::error::ApiFailure;
use crate::input::{Call, malformed};
use crate::reply::Reply;
use crate::shared::Shared;
use crate::state::oauth::{App, CodeRequest, FreshTokens, Grant, KNOWN_SCOPES, RotateProblem};
use crate::state::profiles::TokenProblem;
use crate::state::{after, lock, wire_time};

/// How long an authorization code may wait to be exchanged.
const CODE_LIFETIME: Duration = Duration::from_secs(300);

fn check_scopes(field: &str, scopes: &[String]) -> Result<(), ApiFailure> {
    if scopes.is_empty() {
        return Err(ApiFailure::unprocessable(
            "validation.missing_field",
            format!("missing required field `{field}`"),
        ));
    }
    match scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        Some(_) => Err(ApiFailure::unprocessable(
            "oauth.unknown_scope",
            format!(
                "`{field}` holds an unknown scope; known: {}",
                KNOWN_SCOPES.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// The command id becomes the `applicationId` (docs/protocol.md §10.1).
pub(crate) fn register(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let name = form.required("name")?;
    let redirect_uri = form.required("redirectUri")?;
    if !redirect_uri.contains("://") {
        return Err(malformed("redirectUri", "an absolute URI"));
    }
    let scopes = form.required("scopes")?;
    let list: Vec<String> = scopes.split_whitespace().map(str::to_owned).collect();
    check_scopes("scopes", &list)?;
    let profile_id = who.profile_id.clone();
    let command = Command::new(
        "register_oauth_application",
        &who.profile_id,
        move |w, ctx| {
            w.oauth.insert_app(App {
                id: ctx.id.to_owned(),
                profile_id,
                name,
                redirect_uri,
                scopes: list.join(" "),
                client_id: crate::rng::uuid(),
                client_secret: crate::rng::secret(),
                secret_retrieved: false,
                used_nonces: HashSet::new(),
                seq: 0,
            });
            Ok(None)
        },
    );
    Ok(commands::submit(s, &mut world, command))
}

/// Answers the client secret once; a second call is `422 oauth.already_retrieved`.
pub(crate) fn configuration(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let id = form.required("applicationId")?;
    let app = world
        .oauth
        .apps
        .get_mut(&id)
        .filter(|a| a.profile_id == who.profile_id)
        .ok_or_else(|| {
            ApiFailure::not_found(
                "oauth.application_not_found",
                "no application of this profile has this id",
            )
        })?;
    if app.secret_retrieved {
        return Err(ApiFailure::unprocessable(
            "oauth.already_retrieved",
            "the client secret can be retrieved only once; register a new application",
        ));
    }
    app.secret_retrieved = true;
    ok(json!({
        "applicationId": app.id,
        "clientId": app.client_id,
        "clientSecret": app.client_secret,
        "redirectUri": app.redirect_uri,
        "scopes": app.scopes,
    }))
}

/// Not a redirect: a command whose id the client passes to retrieve-authorization-code. The
/// code acts for the profile that asks (which may differ from the application's owner).
/// Requested scopes are not limited to those registered: the aligned probe registers
/// `data-token:read` and then asks for `all`.
pub(crate) fn request_code(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let query = call.query();
    let client_id = query.required("client_id")?;
    let nonce = query.required("nonce")?;
    let scopes = query.all("scope[]");
    check_scopes("scope[]", &scopes)?;
    let app_id = world
        .oauth
        .app_by_client_id(&client_id)
        .map(|a| a.id.clone())
        .ok_or_else(|| {
            ApiFailure::unprocessable("oauth.unknown_client", "no application has this client_id")
        })?;
    let app = world.oauth.apps.get_mut(&app_id).ok_or_else(|| {
        ApiFailure::unprocessable("oauth.unknown_client", "no application has this client_id")
    })?;
    if !app.used_nonces.insert(nonce.clone()) {
        return Err(ApiFailure::unprocessable(
            "oauth.nonce_reused",
            "this nonce was already used with this application",
        ));
    }
    let profile_id = who.profile_id.clone();
    let command = Command::new(
        "request_oauth_authorization_code",
        &who.profile_id,
        move |w, ctx| {
            w.oauth.insert_code_request(
                ctx.id.to_owned(),
                CodeRequest {
                    app_id,
                    profile_id,
                    nonce,
                    scopes,
                    code: crate::rng::secret(),
                    expires_at: after(ctx.now, CODE_LIFETIME),
                    used: false,
                },
            );
            Ok(None)
        },
    );
    Ok(commands::submit(s, &mut world, command))
}

fn code_not_found() -> ApiFailure {
    ApiFailure::not_found(
        "oauth.code_request_not_found",
        "no completed authorization-code request of this client has this id",
    )
}

pub(crate) fn retrieve_code(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let world = lock(&s.world);
    let app_id = client_app(&world, call)?;
    let form = call.form()?;
    let id = form.required("id")?;
    let nonce = form.required("nonce")?;
    let request = world
        .oauth
        .code_requests
        .get(&id)
        .filter(|r| r.app_id == app_id)
        .ok_or_else(code_not_found)?;
    if request.nonce != nonce {
        return Err(ApiFailure::unprocessable(
            "oauth.nonce_mismatch",
            "the nonce differs from the one sent with the code request",
        ));
    }
    if request.used {
        return Err(ApiFailure::unprocessable(
            "oauth.code_already_used",
            "this authorization code was already exchanged",
        ));
    }
    if request.expires_at <= call.now {
        return Err(ApiFailure::unprocessable(
            "oauth.code_expired",
            "the authorization code has expired",
        ));
    }
    let client_id = world.oauth.apps.get(&app_id).map(|a| a.client_id.clone());
    ok(json!({
        "clientId": client_id,
        "nonce": request.nonce,
        "authorizationCode": request.code,
        "expiresAt": wire_time(request.expires_at),
    }))
}

fn token_body(client_id: &str, grant: &Grant) -> Value {
    json!({
        "clientId": client_id,
        "token": grant.access_token,
        "refreshToken": grant.refresh_token,
        "type": "bearer",
        "scope": grant.scopes.join(" "),
        "expiresAt": wire_time(grant.access_expires),
        "refreshTokenExpiresAt": wire_time(grant.refresh_expires),
    })
}

/// Accepts the client credentials (probe) or, as one official page shows,
/// `Basic <authorization code>`. A code is exchanged once.
pub(crate) fn obtain_token(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let form = call.form()?;
    let code = form.required("authorization_code")?;
    let client = match client_app(&world, call) {
        Ok(app_id) => Some(app_id),
        Err(failure) => match raw_basic(call) {
            Ok(raw) if raw == code => None,
            _ => return Err(failure),
        },
    };
    let request = world.oauth.code_request_by_code(&code).ok_or_else(|| {
        ApiFailure::not_found(
            "oauth.code_not_found",
            "the authorization code is not known",
        )
    })?;
    if client.as_ref().is_some_and(|app| *app != request.app_id) {
        return Err(ApiFailure::forbidden(
            "oauth.client_mismatch",
            "the authorization code was issued to another client",
        ));
    }
    if request.used {
        return Err(ApiFailure::unprocessable(
            "oauth.code_already_used",
            "this authorization code was already exchanged",
        ));
    }
    if request.expires_at <= call.now {
        return Err(ApiFailure::unprocessable(
            "oauth.code_expired",
            "the authorization code has expired",
        ));
    }
    request.used = true;
    let grant = Grant {
        app_id: request.app_id.clone(),
        profile_id: request.profile_id.clone(),
        scopes: request.scopes.clone(),
        access_token: crate::rng::secret(),
        access_expires: after(call.now, s.config.token_lifetime),
        refresh_token: crate::rng::secret(),
        refresh_expires: after(call.now, s.config.refresh_lifetime()),
    };
    let client_id = world
        .oauth
        .apps
        .get(&grant.app_id)
        .map(|a| a.client_id.clone())
        .unwrap_or_default();
    let grant = world.oauth.insert_grant(grant);
    ok(token_body(&client_id, grant))
}

pub(crate) fn list(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let items = world
        .oauth
        .apps_of(&who.profile_id)
        .into_iter()
        .map(|a| {
            json!({
                "applicationId": a.id,
                "name": a.name,
                "redirectUri": a.redirect_uri,
                "scopes": a.scopes,
                "clientId": a.client_id,
            })
        })
        .collect();
    paged(items, &call.query(), s.config.wire.list_answer)
}

fn access_failure(problem: TokenProblem) -> ApiFailure {
    match problem {
        TokenProblem::Expired => {
            ApiFailure::unauthorized("auth.token_expired", "the access token has expired")
        }
        _ => ApiFailure::unauthorized("auth.invalid_token", "the access token is not valid"),
    }
}

pub(crate) fn scope(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let token = raw_basic(call)?;
    let world = lock(&s.world);
    let grant = world
        .oauth
        .grant_by_access(&token, call.now)
        .map_err(access_failure)?;
    let client_id = world
        .oauth
        .apps
        .get(&grant.app_id)
        .map(|a| a.client_id.clone());
    ok(json!({"clientId": client_id, "scope": grant.scopes.join(" ")}))
}

/// Rotates both tokens: the refresh token used and the access token sent stop working, and a
/// refresh token used twice is refused with `401 oauth.refresh_token_used`. Unless the
/// [`RefreshAnswer`] says otherwise: then only the access token is replaced. An expired access
/// token is accepted here: refreshing is what one does with it.
pub(crate) fn refresh(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let access = raw_basic(call)?;
    let form = call.form()?;
    let refresh_token = form.required("refresh_token")?;
    let mut world = lock(&s.world);
    if world.oauth.refresh_was_used(&refresh_token) {
        return Err(ApiFailure::unauthorized(
            "oauth.refresh_token_used",
            "this refresh token was already used; use the one issued with it",
        ));
    }
    let now = call.now;
    let rotated = s.config.wire.refresh_answer == RefreshAnswer::Rotated;
    let fresh = FreshTokens {
        access: crate::rng::secret(),
        access_expires: after(now, s.config.token_lifetime),
        // Not rotated: the refresh token and its expiry stay as they are.
        refresh: if rotated {
            crate::rng::secret()
        } else {
            refresh_token.clone()
        },
        refresh_expires: after(now, s.config.refresh_lifetime()),
    };
    let rotated = world.oauth.rotate(&refresh_token, &access, fresh, now);
    let grant = rotated.map_err(|problem| match problem {
        RotateProblem::UnknownRefresh => ApiFailure::unauthorized(
            "oauth.invalid_refresh_token",
            "the refresh token is not valid",
        ),
        RotateProblem::RefreshExpired => ApiFailure::unauthorized(
            "oauth.refresh_token_expired",
            "the refresh token has expired",
        ),
        RotateProblem::AccessMismatch => ApiFailure::unauthorized(
            "oauth.token_mismatch",
            "the access token in Authorization was not issued with this refresh token",
        ),
    })?;
    let grant = grant.clone();
    let client_id = world
        .oauth
        .apps
        .get(&grant.app_id)
        .map(|a| a.client_id.clone())
        .unwrap_or_default();
    let mut body = token_body(&client_id, &grant);
    if s.config.wire.refresh_answer == RefreshAnswer::WithoutRefreshToken
        && let Some(fields) = body.as_object_mut()
    {
        fields.remove("refreshToken");
        fields.remove("refreshTokenExpiresAt");
    }
    ok(body)
}

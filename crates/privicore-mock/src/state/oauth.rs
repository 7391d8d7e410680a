//! OAuth applications, authorization-code requests and issued token grants.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::profiles::TokenProblem;

/// Scopes an application may ask for. `all` covers every data-token operation;
/// `data-token:read` covers listing and requesting data; `data-token:write` the rest of
/// `/data-token/*`.
pub(crate) const KNOWN_SCOPES: &[&str] = &["all", "data-token:read", "data-token:write"];

/// Expired grants and used codes are remembered this long for precise error reasons.
const TOMBSTONE_SECS: i64 = 300;

#[derive(Clone, Debug)]
pub(crate) struct App {
    pub id: String,
    pub profile_id: String,
    pub name: String,
    pub redirect_uri: String,
    pub scopes: String,
    pub client_id: String,
    pub client_secret: String,
    pub secret_retrieved: bool,
    pub used_nonces: HashSet<String>,
    pub seq: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct CodeRequest {
    pub app_id: String,
    /// The profile that asked for the code: the tokens act on its behalf.
    pub profile_id: String,
    pub nonce: String,
    pub scopes: Vec<String>,
    pub code: String,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub app_id: String,
    pub profile_id: String,
    pub scopes: Vec<String>,
    pub access_token: String,
    pub access_expires: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub(crate) struct OAuth {
    pub apps: HashMap<String, App>,
    by_client_id: HashMap<String, String>,
    next_seq: u64,
    /// Keyed by the request-authorization-code command id.
    pub code_requests: HashMap<String, CodeRequest>,
    codes: HashMap<String, String>,
    grants: HashMap<u64, Grant>,
    next_grant: u64,
    by_access: HashMap<String, u64>,
    by_refresh: HashMap<String, u64>,
    /// Refresh tokens already rotated away, so reuse is reported as such until they expire.
    used_refresh: HashMap<String, DateTime<Utc>>,
}

impl OAuth {
    pub fn insert_app(&mut self, mut app: App) {
        app.seq = self.next_seq;
        self.next_seq += 1;
        self.by_client_id
            .insert(app.client_id.clone(), app.id.clone());
        self.apps.insert(app.id.clone(), app);
    }

    pub fn app_by_client_id(&self, client_id: &str) -> Option<&App> {
        self.by_client_id
            .get(client_id)
            .and_then(|id| self.apps.get(id))
    }

    /// The profile's applications, oldest first.
    pub fn apps_of(&self, profile_id: &str) -> Vec<&App> {
        let mut apps: Vec<&App> = self
            .apps
            .values()
            .filter(|a| a.profile_id == profile_id)
            .collect();
        apps.sort_by_key(|a| a.seq);
        apps
    }

    pub fn insert_code_request(&mut self, id: String, request: CodeRequest) {
        self.codes.insert(request.code.clone(), id.clone());
        self.code_requests.insert(id, request);
    }

    pub fn code_request_by_code(&mut self, code: &str) -> Option<&mut CodeRequest> {
        let id = self.codes.get(code)?;
        self.code_requests.get_mut(id)
    }

    pub fn insert_grant(&mut self, grant: Grant) -> &Grant {
        let id = self.next_grant;
        self.next_grant += 1;
        self.by_access.insert(grant.access_token.clone(), id);
        self.by_refresh.insert(grant.refresh_token.clone(), id);
        self.grants.entry(id).or_insert(grant)
    }

    /// The grant of a valid access token, or why it is not valid.
    pub fn grant_by_access(&self, token: &str, now: DateTime<Utc>) -> Result<&Grant, TokenProblem> {
        let grant = self
            .by_access
            .get(token)
            .and_then(|id| self.grants.get(id))
            .ok_or(TokenProblem::Unknown)?;
        if grant.access_expires <= now {
            return Err(TokenProblem::Expired);
        }
        Ok(grant)
    }

    /// Whether `token` is a refresh token that was already rotated away.
    pub fn refresh_was_used(&self, token: &str) -> bool {
        self.used_refresh.contains_key(token)
    }

    /// Rotates the grant of `refresh_token`, which must have been issued together with
    /// `access_token`: both old tokens stop working, the `fresh` pair replaces them (when
    /// `fresh` carries the same refresh token, only the access token is replaced).
    pub fn rotate(
        &mut self,
        refresh_token: &str,
        access_token: &str,
        fresh: FreshTokens,
        now: DateTime<Utc>,
    ) -> Result<&Grant, RotateProblem> {
        let FreshTokens {
            access: new_access,
            access_expires,
            refresh: new_refresh,
            refresh_expires,
        } = fresh;
        let id = *self
            .by_refresh
            .get(refresh_token)
            .ok_or(RotateProblem::UnknownRefresh)?;
        let grant = self.grants.get(&id).ok_or(RotateProblem::UnknownRefresh)?;
        if grant.refresh_expires <= now {
            return Err(RotateProblem::RefreshExpired);
        }
        if grant.access_token != access_token {
            return Err(RotateProblem::AccessMismatch);
        }
        let (old_refresh_expires, kept) = (grant.refresh_expires, new_refresh == refresh_token);
        self.by_refresh.remove(refresh_token);
        self.by_access.remove(access_token);
        // A refresh token handed out again (no rotation) is not spent, and keeps its expiry.
        let refresh_expires = if kept {
            old_refresh_expires
        } else {
            self.used_refresh
                .insert(refresh_token.to_owned(), old_refresh_expires);
            refresh_expires
        };
        self.by_access.insert(new_access.clone(), id);
        self.by_refresh.insert(new_refresh.clone(), id);
        let grant = self
            .grants
            .get_mut(&id)
            .ok_or(RotateProblem::UnknownRefresh)?;
        grant.access_token = new_access;
        grant.access_expires = access_expires;
        grant.refresh_token = new_refresh;
        grant.refresh_expires = refresh_expires;
        Ok(grant)
    }

    pub fn live_tokens(&self, now: DateTime<Utc>) -> usize {
        self.grants
            .values()
            .filter(|g| g.access_expires > now)
            .count()
    }

    pub fn expire_all(&mut self, now: DateTime<Utc>) {
        for grant in self.grants.values_mut() {
            grant.access_expires = grant.access_expires.min(now);
        }
        for request in self.code_requests.values_mut() {
            request.expires_at = request.expires_at.min(now);
        }
    }

    /// Forgets grants whose refresh token is long expired, used codes past their expiry and
    /// rotated refresh tokens past theirs.
    pub fn sweep(&mut self, now: DateTime<Utc>) {
        let horizon = now - chrono::Duration::seconds(TOMBSTONE_SECS);
        let (by_access, by_refresh) = (&mut self.by_access, &mut self.by_refresh);
        self.grants.retain(|_, g| {
            let keep = g.refresh_expires > horizon;
            if !keep {
                by_access.remove(&g.access_token);
                by_refresh.remove(&g.refresh_token);
            }
            keep
        });
        let codes = &mut self.codes;
        self.code_requests.retain(|_, r| {
            let keep = r.expires_at > horizon;
            if !keep {
                codes.remove(&r.code);
            }
            keep
        });
        self.used_refresh.retain(|_, expires| *expires > horizon);
    }
}

/// The tokens a refresh issues.
#[derive(Clone, Debug)]
pub(crate) struct FreshTokens {
    pub access: String,
    pub access_expires: DateTime<Utc>,
    pub refresh: String,
    pub refresh_expires: DateTime<Utc>,
}

/// Why a refresh was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RotateProblem {
    UnknownRefresh,
    RefreshExpired,
    AccessMismatch,
}

impl OAuth {
    /// Expires one access token now (fault injection).
    pub fn expire_access(&mut self, token: &str, now: DateTime<Utc>) {
        if let Some(grant) = self
            .by_access
            .get(token)
            .and_then(|id| self.grants.get_mut(id))
        {
            grant.access_expires = grant.access_expires.min(now);
        }
    }
}

//! Profiles, their credentials and public keys, and profile tokens.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

/// How long an expired or revoked token is remembered, so that it is answered with the precise
/// reason (`auth.token_expired`, `auth.token_revoked`) before it becomes merely unknown.
const TOMBSTONE_SECS: i64 = 300;

#[derive(Clone, Debug)]
pub(crate) struct Profile {
    pub id: String,
    pub username: String,
    pub password: String,
    /// The registered 200-hex signed public key.
    pub public_key: Option<String>,
    /// Registered but its command has not completed yet: it cannot authenticate.
    pub pending: bool,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// The directory that created this profile, if any.
    pub directory_id: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct TokenRecord {
    pub profile_id: String,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Unknown,
    Expired,
    Revoked,
}

#[derive(Debug, Default)]
pub(crate) struct Profiles {
    by_id: HashMap<String, Profile>,
    by_username: HashMap<String, String>,
    tokens: HashMap<String, TokenRecord>,
}

impl Profiles {
    pub fn count(&self) -> usize {
        self.by_id.len()
    }

    pub fn username_taken(&self, username: &str) -> bool {
        self.by_username.contains_key(username)
    }

    pub fn insert(&mut self, profile: Profile) {
        self.by_username
            .insert(profile.username.clone(), profile.id.clone());
        self.by_id.insert(profile.id.clone(), profile);
    }

    pub fn remove(&mut self, id: &str) {
        if let Some(profile) = self.by_id.remove(id) {
            self.by_username.remove(&profile.username);
            self.tokens.retain(|_, t| t.profile_id != id);
        }
    }

    pub fn get(&self, id: &str) -> Option<&Profile> {
        self.by_id.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Profile> {
        self.by_id.get_mut(id)
    }

    pub fn by_username(&self, username: &str) -> Option<&Profile> {
        self.by_username
            .get(username)
            .and_then(|id| self.by_id.get(id))
    }

    /// The profile these credentials belong to, if they are right and it is ready.
    pub fn check_credentials(&self, username: &str, password: &str) -> Option<&Profile> {
        self.by_username(username)
            .filter(|p| !p.pending && p.password == password)
    }

    pub fn issue_token(&mut self, token: String, profile_id: &str, expires_at: DateTime<Utc>) {
        self.tokens.insert(
            token,
            TokenRecord {
                profile_id: profile_id.to_owned(),
                expires_at,
                revoked: false,
            },
        );
    }

    /// The valid token record, or why it is not valid.
    pub fn token(&self, token: &str, now: DateTime<Utc>) -> Result<&TokenRecord, TokenProblem> {
        match self.tokens.get(token) {
            None => Err(TokenProblem::Unknown),
            Some(t) if t.revoked => Err(TokenProblem::Revoked),
            Some(t) if t.expires_at <= now => Err(TokenProblem::Expired),
            Some(t) => Ok(t),
        }
    }

    /// Gives a live token a new expiry; `false` when it is unknown, revoked or expired.
    pub fn extend(&mut self, token: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        match self.tokens.get_mut(token) {
            Some(t) if !t.revoked && t.expires_at > now => {
                t.expires_at = expires_at;
                true
            }
            _ => false,
        }
    }

    pub fn revoke(&mut self, token: &str) {
        if let Some(t) = self.tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    pub fn expire(&mut self, token: &str, now: DateTime<Utc>) {
        if let Some(t) = self.tokens.get_mut(token) {
            t.expires_at = t.expires_at.min(now);
        }
    }

    pub fn expire_all(&mut self, now: DateTime<Utc>) {
        for t in self.tokens.values_mut() {
            t.expires_at = t.expires_at.min(now);
        }
    }

    pub fn live_tokens(&self, now: DateTime<Utc>) -> usize {
        self.tokens
            .values()
            .filter(|t| !t.revoked && t.expires_at > now)
            .count()
    }

    /// Forgets tokens that expired (or were revoked and expired) long enough ago. A revoked
    /// token is also forgotten after the grace period counted from now at the latest, so a
    /// long-lived revoked token does not stay in memory for its whole lifetime.
    pub fn sweep(&mut self, now: DateTime<Utc>) {
        let grace = chrono::Duration::seconds(TOMBSTONE_SECS);
        let horizon = now - grace;
        self.tokens.retain(|_, t| t.expires_at > horizon);
        for t in self.tokens.values_mut() {
            if t.revoked && t.expires_at > now + grace {
                t.expires_at = now + grace;
            }
        }
    }
}

//! Where an OAuth session puts its access token on the operations that take a profile token.
//!
//! No source says (docs/protocol.md §10.5, §14.7): profile tokens go in
//! `X-DPT-AUTHORIZATION`, but the token answer of an OAuth application says `type: bearer`,
//! which usually means `Authorization: Bearer <token>`. By default the SDK sends the token
//! where profile tokens go, tries `Bearer` once after a `401`, and keeps whichever the server
//! accepted for the client's life. This module owns that choice; the OAuth token source asks
//! it where to send the token and tells it what the server did.

use std::sync::atomic::{AtomicU8, Ordering};

use privicore_api::hooks::Credential;

/// Where an OAuth session sends its access token on the operations that take a profile token
/// (set with [`ClientBuilder::oauth_token_placement`](crate::ClientBuilder::oauth_token_placement)).
///
/// Profile sessions are not affected (a profile token always goes in `X-DPT-AUTHORIZATION`),
/// nor are the OAuth operations whose header is documented (refresh and scope take
/// `Authorization: Basic <access token>`).
///
/// ```
/// use privicore::{Client, OAuthTokenPlacement};
///
/// let client = Client::builder()
///     .api_url("https://sandbox.privicore.com:9009")
///     .oauth_token_placement(OAuthTokenPlacement::Bearer)
///     .build()?;
/// # let _ = client;
/// # Ok::<(), privicore::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthTokenPlacement {
    /// `X-DPT-AUTHORIZATION: <token>` first, as profile tokens are sent. When the server
    /// answers `401`, the same token is sent once more as `Authorization: Bearer <token>`; the
    /// placement the server accepts is kept for the client's life (every clone, every OAuth
    /// session), so a refused placement costs one request in all. When both are refused, the
    /// token is renewed as after any `401` and the first placement stays. The default.
    #[default]
    Auto,
    /// Always `X-DPT-AUTHORIZATION: <token>`, never another header.
    DptHeader,
    /// Always `Authorization: Bearer <token>`, never another header.
    Bearer,
}

/// One of the two headers an access token can go in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// `X-DPT-AUTHORIZATION: <token>`.
    DptHeader,
    /// `Authorization: Bearer <token>`.
    Bearer,
}

impl Placement {
    /// `token` in this placement.
    pub(crate) fn credential(self, token: String) -> Credential {
        match self {
            Placement::DptHeader => Credential::Token(token),
            Placement::Bearer => Credential::Bearer(token),
        }
    }

    /// Where `credential` was sent, and its token (`None` for other credentials).
    pub(crate) fn of(credential: &Credential) -> Option<(Placement, &str)> {
        match credential {
            Credential::Token(token) => Some((Placement::DptHeader, token)),
            Credential::Bearer(token) => Some((Placement::Bearer, token)),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            Placement::DptHeader => 1,
            Placement::Bearer => 2,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Placement::DptHeader),
            2 => Some(Placement::Bearer),
            _ => None,
        }
    }
}

/// A client's choice of placement: the setting, and under [`OAuthTokenPlacement::Auto`] the
/// placement the server was found to accept. Shared by every clone of the client.
#[derive(Debug)]
pub(crate) struct PlacementChoice {
    setting: OAuthTokenPlacement,
    /// 0 while nothing was learned, else a [`Placement::code`].
    learned: AtomicU8,
}

impl PlacementChoice {
    pub(crate) fn new(setting: OAuthTokenPlacement) -> Self {
        Self {
            setting,
            learned: AtomicU8::new(0),
        }
    }

    /// The placement the server was found to accept, under `Auto`.
    pub(crate) fn learned(&self) -> Option<Placement> {
        Placement::from_code(self.learned.load(Ordering::Relaxed))
    }

    /// Where to send a token now.
    pub(crate) fn current(&self) -> Placement {
        match self.setting {
            OAuthTokenPlacement::DptHeader => Placement::DptHeader,
            OAuthTokenPlacement::Bearer => Placement::Bearer,
            OAuthTokenPlacement::Auto => self.learned().unwrap_or(Placement::DptHeader),
        }
    }

    /// After a `401` for a token sent in `rejected`: the placement to try the same token in,
    /// if any. Only under `Auto`, only while nothing was learned, and only from the first
    /// placement to the second, so a token is never sent back and forth.
    pub(crate) fn fallback(&self, rejected: Placement) -> Option<Placement> {
        let untried = self.setting == OAuthTokenPlacement::Auto
            && self.learned().is_none()
            && rejected == Placement::DptHeader;
        untried.then_some(Placement::Bearer)
    }

    /// A token sent in `placement` was answered with a success: under `Auto`, keep it, unless
    /// another request already settled the choice (the first answer wins, so the choice never
    /// flips).
    pub(crate) fn accepted(&self, placement: Placement) {
        if self.setting == OAuthTokenPlacement::Auto {
            let _ = self.learned.compare_exchange(
                0,
                placement.code(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_tries_bearer_once_and_keeps_what_was_accepted() {
        let choice = PlacementChoice::new(OAuthTokenPlacement::Auto);
        assert_eq!(choice.current(), Placement::DptHeader);
        assert_eq!(
            choice.fallback(Placement::DptHeader),
            Some(Placement::Bearer)
        );
        assert_eq!(choice.fallback(Placement::Bearer), None, "never back again");
        choice.accepted(Placement::Bearer);
        assert_eq!(choice.current(), Placement::Bearer);
        assert_eq!(choice.fallback(Placement::DptHeader), None);
        choice.accepted(Placement::DptHeader);
        assert_eq!(choice.current(), Placement::Bearer, "the first answer wins");
    }

    #[test]
    fn a_set_placement_never_falls_back_or_learns() {
        for (setting, placement) in [
            (OAuthTokenPlacement::DptHeader, Placement::DptHeader),
            (OAuthTokenPlacement::Bearer, Placement::Bearer),
        ] {
            let choice = PlacementChoice::new(setting);
            assert_eq!(choice.fallback(placement), None, "{setting:?}");
            choice.accepted(Placement::Bearer);
            choice.accepted(Placement::DptHeader);
            assert_eq!(choice.current(), placement, "{setting:?}");
        }
    }
}

//! The one token cache both kinds of session use: the current token with its expiry and
//! generation, renewed ahead of expiry and after a `401`, one renewal at a time.
//!
//! How a credential is obtained is kept apart from when it is renewed (in the manner of an
//! identity cache that wraps an identity resolver): a [`Renew`] implementation knows how to get
//! the next token of its kind (a profile reauthorizes or logs in again; an OAuth session
//! refreshes and rotates its refresh token), and [`TokenCache`] decides when, for everyone:
//!
//! * **renew ahead**: a token within the client's `renew_ahead` margin of its expiry is renewed
//!   before it is handed out;
//! * **single flight**: one renewal at a time; a caller that queued behind a renewal takes its
//!   result instead of renewing again;
//! * **generations**: every published token has a number, one more than the one before. A
//!   `401` for generation `N` renews only while `N` is still current, so a thousand callers
//!   refused with the same token cause one renewal, and a caller that already holds `N + 1`
//!   never renews again;
//! * **revocation**: a revoked cache never renews (a call meeting the `401` of the revoked
//!   token would otherwise log in behind the caller's back and leave a live token nobody
//!   revokes); revoking waits for a renewal in flight, so the token it revokes is the last;
//! * **store before publish**: a renewed token is [persisted](Renew::persist) before any caller
//!   can see it, so a token that was used is always one the store holds;
//! * **renewals run to completion**: the renewal runs in a task of its own, not in the caller's
//!   future. A caller that gives up (a timeout, a dropped session, a WebSocket task aborted)
//!   does not cancel a renewal that may already have reached the server; it still persists and
//!   publishes its result. (An OAuth refresh consumes the refresh token it presents: cancelled
//!   between the server's answer and the save, the rotated refresh token would be lost.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, watch};
use tracing::Instrument;

use privicore_api::hooks::BoxFuture;

use super::SessionTokens;
use crate::{Error, Result};

/// A token and its expiry: what the cache keeps for a credential of any kind.
pub(crate) trait Lease: Send + Sync + 'static {
    /// The token sent on requests.
    fn token(&self) -> &SecretString;
    /// When the server stops taking it.
    fn expires_at(&self) -> DateTime<Utc>;
}

/// Why the cache asks for a new credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The current one is within the renewal margin of its expiry (or past it).
    AheadOfExpiry,
    /// The server refused the current one (a `401`).
    Rejected,
    /// The owner asked for a renewal now ([`TokenCache::renew_now`]).
    Forced,
}

/// How a credential of one kind is renewed: the part that differs between a profile and an
/// OAuth session.
pub(crate) trait Renew: Send + Sync + 'static {
    /// The credential this renews.
    type Lease: Lease;

    /// The credential that replaces `current`. Called by the cache only, one call at a time.
    fn renew<'a>(
        &'a self,
        current: &'a Self::Lease,
        reason: Reason,
    ) -> BoxFuture<'a, Result<Self::Lease>>;

    /// Keeps `next` somewhere that outlives the process. Called before `next` is published; the
    /// default keeps nothing.
    fn persist<'a>(&'a self, next: &'a Self::Lease) -> BoxFuture<'a, Result<()>> {
        let _ = next;
        Box::pin(async { Ok(()) })
    }
}

/// A published credential and its generation.
pub(crate) struct Stamped<L> {
    pub(crate) generation: u64,
    pub(crate) lease: L,
}

impl<L> std::ops::Deref for Stamped<L> {
    type Target = L;

    fn deref(&self) -> &L {
        &self.lease
    }
}

/// The current credential of a session, renewed through `R`. Cheap to share: the state lives
/// behind one `Arc`, which a renewal's own task holds while it runs.
pub(crate) struct TokenCache<R: Renew> {
    inner: Arc<Inner<R>>,
}

struct Inner<R: Renew> {
    renewer: R,
    /// How long before its expiry a token is renewed.
    renew_ahead: Duration,
    /// Replaced whole, never edited.
    current: RwLock<Arc<Stamped<R::Lease>>>,
    /// Held by the renewal in flight (by its task, so that it outlives a caller that left).
    flight: Arc<Mutex<()>>,
    /// The generation of the current credential, for whoever watches it (the WebSocket).
    generation: watch::Sender<u64>,
    revoked: AtomicBool,
}

impl<R: Renew> TokenCache<R> {
    /// A cache starting from `first` (generation 0), renewing `renew_ahead` before expiry.
    pub(crate) fn new(renewer: R, first: R::Lease, renew_ahead: Duration) -> Self {
        let (generation, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                renewer,
                renew_ahead,
                current: RwLock::new(Arc::new(Stamped {
                    generation: 0,
                    lease: first,
                })),
                flight: Arc::new(Mutex::new(())),
                generation,
                revoked: AtomicBool::new(false),
            }),
        }
    }

    /// How this cache's credentials are renewed.
    pub(crate) fn renewer(&self) -> &R {
        &self.inner.renewer
    }

    /// The current credential, as it is (not renewed).
    pub(crate) fn current(&self) -> Arc<Stamped<R::Lease>> {
        self.inner.current()
    }

    /// When the current credential expires.
    pub(crate) fn expires_at(&self) -> DateTime<Utc> {
        self.current().lease.expires_at()
    }

    /// A token valid now: the current one, or its renewal when it is about to expire.
    pub(crate) async fn fresh(&self) -> Result<SecretString> {
        let seen = self.current();
        if !self.inner.needs_renewal(&seen.lease) {
            return Ok(seen.lease.token().clone());
        }
        let next = self
            .renew_after(seen.generation, Reason::AheadOfExpiry)
            .await?;
        Ok(next.lease.token().clone())
    }

    /// After a `401` for `rejected`: the token to replay with. It is the current one when
    /// another caller already replaced `rejected`, else a renewal of it; `None` when renewing
    /// failed or the cache was revoked (the `401` stands).
    pub(crate) async fn rejected(&self, rejected: &str) -> Option<SecretString> {
        let seen = self.current();
        if seen.lease.token().expose_secret() != rejected {
            // Generation `seen.generation` replaced the refused token already.
            return Some(seen.lease.token().clone());
        }
        match self.renew_after(seen.generation, Reason::Rejected).await {
            Ok(next) => Some(next.lease.token().clone()),
            Err(_) if self.inner.revoked.load(Ordering::SeqCst) => {
                tracing::debug!("a 401 after the token was revoked; not renewing");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "renewing the token after a 401 failed");
                None
            }
        }
    }

    /// Renews now, whatever the current credential's expiry.
    pub(crate) async fn renew_now(&self) -> Result<()> {
        let seen = self.current();
        self.renew_after(seen.generation, Reason::Forced)
            .await
            .map(drop)
    }

    /// From now on nothing renews. Waits for a renewal in flight to publish first, and returns
    /// the credential current after it: the last one, for the caller to revoke on the server.
    pub(crate) async fn stop_renewing(&self) -> Arc<Stamped<R::Lease>> {
        // Set before waiting: a renewal queued behind the one in flight must not start.
        self.inner.revoked.store(true, Ordering::SeqCst);
        let _flight = self.inner.flight.lock().await;
        self.current()
    }

    /// Renews generation `seen` for `reason`, unless another renewal already replaced it (then
    /// its result is the answer). One renewal at a time.
    async fn renew_after(&self, seen: u64, reason: Reason) -> Result<Arc<Stamped<R::Lease>>> {
        let flight = self.inner.flight.clone().lock_owned().await;
        let latest = self.current();
        let replaced = latest.generation != seen;
        let still_good = match reason {
            // The renewal we queued behind may itself be about to expire.
            Reason::AheadOfExpiry => !self.inner.needs_renewal(&latest.lease),
            Reason::Rejected | Reason::Forced => true,
        };
        if replaced && still_good {
            return Ok(latest);
        }
        if self.inner.revoked.load(Ordering::SeqCst) {
            return Err(Error::Credentials(
                "the session's token was revoked; log in again with Client::login".into(),
            ));
        }
        // The renewal runs in its own task, holding the flight until it has published: see
        // the module documentation.
        let inner = self.inner.clone();
        let renewal = async move {
            let _flight = flight;
            inner.renew_and_publish(latest, reason).await
        };
        tokio::spawn(renewal.in_current_span())
            .await
            .map_err(|e| Error::Credentials(format!("the token renewal stopped: {e}")))?
    }
}

impl<R: Renew> Inner<R> {
    fn current(&self) -> Arc<Stamped<R::Lease>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn needs_renewal(&self, lease: &R::Lease) -> bool {
        let margin = chrono::Duration::from_std(self.renew_ahead).unwrap_or(chrono::Duration::MAX);
        lease.expires_at()
            <= Utc::now()
                .checked_add_signed(margin)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Renews `current`, persists the result, then publishes it as the next generation.
    ///
    /// A result that could not be persisted is published all the same (the renewal may have
    /// spent what `current` renewed with, e.g. a rotated refresh token, so `current` is no way
    /// back); the persist error is returned, except after a `401`, where the caller needs the
    /// token more than the news that the store is stale (it is logged).
    async fn renew_and_publish(
        &self,
        current: Arc<Stamped<R::Lease>>,
        reason: Reason,
    ) -> Result<Arc<Stamped<R::Lease>>> {
        let next = self.renewer.renew(&current.lease, reason).await?;
        let persisted = self.renewer.persist(&next).await;
        let published = self.publish(current.generation, next);
        match persisted {
            Ok(()) => Ok(published),
            Err(e) if reason == Reason::Rejected => {
                tracing::warn!(error = %e, "could not persist the renewed credential");
                Ok(published)
            }
            Err(e) => Err(e),
        }
    }

    fn publish(&self, after: u64, lease: R::Lease) -> Arc<Stamped<R::Lease>> {
        let next = Arc::new(Stamped {
            generation: after + 1,
            lease,
        });
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = next.clone();
        self.generation.send_replace(after + 1);
        next
    }
}

impl<R: Renew> SessionTokens for TokenCache<R> {
    fn ws_token(&self) -> BoxFuture<'_, Result<SecretString>> {
        Box::pin(self.fresh())
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.inner.generation.subscribe()
    }

    fn rejected<'a>(&'a self, token: &'a SecretString) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let _ = TokenCache::rejected(self, token.expose_secret()).await;
        })
    }
}

#[cfg(test)]
mod tests {
    //! The cache's rules against a renewer that only counts: no server, no clock beyond the
    //! expiries it hands out.

    use std::sync::Mutex as StdMutex;
    use std::sync::atomic::AtomicUsize;

    use tokio::sync::Semaphore;

    use super::*;

    /// Callers in one burst.
    const BURST: usize = 1000;

    struct Token {
        secret: SecretString,
        expires_at: DateTime<Utc>,
    }

    impl Lease for Token {
        fn token(&self) -> &SecretString {
            &self.secret
        }

        fn expires_at(&self) -> DateTime<Utc> {
            self.expires_at
        }
    }

    /// `t<n>`, valid for `for_secs` (negative: expired).
    fn token(n: usize, for_secs: i64) -> Token {
        Token {
            secret: SecretString::from(format!("t{n}")),
            expires_at: Utc::now() + chrono::Duration::seconds(for_secs),
        }
    }

    /// Renews `t<n>` into `t<n+1>` (valid an hour), counting renewals and what was persisted.
    /// Each gate, when set, holds its step until the test adds a permit.
    #[derive(Default)]
    struct Counting {
        renewals: AtomicUsize,
        persisted: StdMutex<Vec<String>>,
        renew_gate: Option<Arc<Semaphore>>,
        persist_gate: Option<Arc<Semaphore>>,
        /// The generation published when `persist` started, read back through `seen`.
        seen: StdMutex<Option<Arc<dyn Fn() -> u64 + Send + Sync>>>,
        published_while_persisting: StdMutex<Vec<u64>>,
    }

    impl Renew for Counting {
        type Lease = Token;

        fn renew<'a>(&'a self, _: &'a Token, _: Reason) -> BoxFuture<'a, Result<Token>> {
            Box::pin(async move {
                let n = self.renewals.fetch_add(1, Ordering::SeqCst) + 1;
                match &self.renew_gate {
                    Some(gate) => gate.acquire().await.expect("open").forget(),
                    // Long enough for every caller of a burst to queue behind it.
                    None => tokio::time::sleep(Duration::from_millis(50)).await,
                }
                Ok(token(n, 3600))
            })
        }

        fn persist<'a>(&'a self, next: &'a Token) -> BoxFuture<'a, Result<()>> {
            Box::pin(async move {
                if let Some(gate) = &self.persist_gate {
                    gate.acquire().await.expect("open").forget();
                }
                if let Some(seen) = self.seen.lock().expect("lock").as_ref() {
                    self.published_while_persisting
                        .lock()
                        .expect("lock")
                        .push(seen());
                }
                self.persisted
                    .lock()
                    .expect("lock")
                    .push(next.secret.expose_secret().to_owned());
                Ok(())
            })
        }
    }

    fn cache(renewer: Counting, first: Token) -> Arc<TokenCache<Counting>> {
        Arc::new(TokenCache::new(renewer, first, Duration::from_secs(60)))
    }

    fn renewals(cache: &TokenCache<Counting>) -> usize {
        cache.renewer().renewals.load(Ordering::SeqCst)
    }

    /// Polls `condition` every 10 ms for up to 10 s.
    async fn eventually(what: &str, condition: impl Fn() -> bool) {
        for _ in 0..1000 {
            if condition() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("never: {what}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_on_an_expiring_token_renews_it_once() {
        // Within the 60 s margin, though not expired.
        let cache = cache(Counting::default(), token(0, 30));
        let calls = (0..BURST).map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.fresh().await })
        });
        for (i, got) in futures::future::join_all(calls)
            .await
            .into_iter()
            .enumerate()
        {
            let got = got.expect("no panic").expect("a token");
            assert_eq!(got.expose_secret(), "t1", "caller {i}");
        }
        assert_eq!(renewals(&cache), 1, "one renewal for {BURST} callers");
        assert_eq!(cache.current().generation, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_401s_for_one_generation_renews_it_once() {
        let cache = cache(Counting::default(), token(0, 3600));
        let calls = (0..BURST).map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.rejected("t0").await })
        });
        for (i, got) in futures::future::join_all(calls)
            .await
            .into_iter()
            .enumerate()
        {
            let got = got.expect("no panic").expect("a replacement");
            assert_eq!(got.expose_secret(), "t1", "caller {i}");
        }
        assert_eq!(
            renewals(&cache),
            1,
            "one renewal for {BURST} refusals of t0"
        );
        // A late 401 for t0 takes t1; a 401 for t1 (the next generation) renews once more.
        let late = cache.rejected("t0").await.expect("t1");
        assert_eq!(late.expose_secret(), "t1");
        assert_eq!(renewals(&cache), 1);
        let next = cache.rejected("t1").await.expect("t2");
        assert_eq!(next.expose_secret(), "t2");
        assert_eq!(renewals(&cache), 2);
        assert_eq!(
            *cache.changes().borrow(),
            2,
            "the watch saw both generations"
        );
    }

    #[tokio::test]
    async fn a_revoked_cache_never_renews() {
        let cache = cache(Counting::default(), token(0, -1));
        let last = cache.stop_renewing().await;
        assert_eq!(last.generation, 0);
        let error = cache
            .fresh()
            .await
            .expect_err("no renewal after the revoke");
        assert!(matches!(error, Error::Credentials(_)), "{error:?}");
        assert!(cache.rejected("t0").await.is_none(), "the 401 stands");
        assert!(cache.renew_now().await.is_err());
        assert_eq!(renewals(&cache), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revoking_waits_for_the_renewal_in_flight_and_gets_its_token() {
        let gate = Arc::new(Semaphore::new(0));
        let renewer = Counting {
            renew_gate: Some(gate.clone()),
            ..Counting::default()
        };
        let cache = cache(renewer, token(0, 3600));
        let renewing = tokio::spawn({
            let cache = cache.clone();
            async move { cache.renew_now().await }
        });
        eventually("the renewal started", || renewals(&cache) == 1).await;
        let revoking = tokio::spawn({
            let cache = cache.clone();
            async move { cache.stop_renewing().await }
        });
        eventually("revoking began", || {
            cache.inner.revoked.load(Ordering::SeqCst)
        })
        .await;
        assert!(
            !revoking.is_finished(),
            "revoking waits while the renewal is held"
        );
        gate.add_permits(1);
        let last = revoking.await.expect("no panic");
        assert_eq!(last.generation, 1, "the token revoked is the renewed one");
        assert_eq!(last.lease.secret.expose_secret(), "t1");
        renewing.await.expect("no panic").expect("renewed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_renewal_is_persisted_before_it_is_published_and_outlives_its_caller() {
        let gate = Arc::new(Semaphore::new(0));
        let renewer = Counting {
            persist_gate: Some(gate.clone()),
            ..Counting::default()
        };
        let cache = cache(renewer, token(0, -1));
        {
            let watched = cache.clone();
            *cache.renewer().seen.lock().expect("lock") =
                Some(Arc::new(move || watched.current().generation));
        }
        let caller = tokio::spawn({
            let cache = cache.clone();
            async move { cache.fresh().await }
        });
        eventually("the renewal reached the server", || renewals(&cache) == 1).await;
        // The caller gives up while the renewal is being persisted.
        caller.abort();
        assert!(caller.await.expect_err("aborted").is_cancelled());
        assert_eq!(
            cache.current().generation,
            0,
            "not published before it is persisted"
        );
        gate.add_permits(1);
        eventually("the abandoned renewal published", || {
            cache.current().generation == 1
        })
        .await;
        assert_eq!(
            *cache.renewer().persisted.lock().expect("lock"),
            vec!["t1".to_owned()],
            "persisted all the same"
        );
        assert_eq!(
            *cache
                .renewer()
                .published_while_persisting
                .lock()
                .expect("lock"),
            vec![0],
            "still generation 0 while persisting"
        );
        // And it is the token callers get, without another renewal.
        assert_eq!(cache.fresh().await.expect("t1").expose_secret(), "t1");
        assert_eq!(renewals(&cache), 1);
    }
}

//! Figure 6: 1,000 concurrent calls at token expiry cause exactly one renewal.
//!
//! Two ways a token runs out, each with 1,000 `profile_id()` calls spawned at once on one
//! session, counting the renewals the mock sees (`authenticate` and
//! `reauthorize_authorization_token` after the session was set up):
//!
//! * `renewals_at_expiry`: the token's `expiresAt` has passed, so every call finds it stale
//!   before sending;
//! * `renewals_after_401`: the server expired the token early, the client does not know, and
//!   every call comes back `401`.
//!
//! The baseline is measured in the same run: a second session, in the same state at the same
//! moment, makes one `profile_id()` call alone, and its renewals are counted the same way.
//! That is what one caller costs; the ratio says how much 1,000 concurrent callers add to it.
//!
//! Nothing waits a guessed time: the calls start once the clock is past the tokens'
//! `expiresAt` (polled), and after a `401` the counting ends once an acknowledged command has
//! gone through the session's WebSocket, which had to rejoin first if it noticed the expiry.

use std::time::{Duration, Instant};

use privicore::{Session, StoreOptions, VaultKey};
use privicore_mock::MockServer;
use serde_json::json;

use crate::fig::Ctx;
use crate::mock::InProcess;
use crate::report::{Figure, Target};
use crate::{Result, sdk};

const CALLS: usize = 1000;
const LIFETIME: Duration = Duration::from_secs(3);
/// How often the clock is checked while waiting for the tokens to expire.
const POLL: Duration = Duration::from_millis(5);

/// Measures the figure.
pub fn run(ctx: &Ctx) -> Result<Vec<Figure>> {
    Ok(vec![at_expiry(ctx)?, after_401(ctx)?])
}

fn renewals(mock: &MockServer) -> u64 {
    mock.count("authenticate") + mock.count("reauthorize_authorization_token")
}

/// Spawns `calls` calls at once and waits for all; returns how long they took.
async fn burst(session: &Session, calls: usize) -> Result<Duration> {
    let started = Instant::now();
    let tasks: Vec<_> = (0..calls)
        .map(|_| {
            let session = session.clone();
            tokio::spawn(async move { session.profile_id().await })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

/// The renewals `calls` concurrent calls on `session` cause, and how long they took.
async fn counted(mock: &MockServer, session: &Session, calls: usize) -> Result<(u64, Duration)> {
    let before = renewals(mock);
    let took = burst(session, calls).await?;
    Ok((renewals(mock) - before, took))
}

/// Returns once the clock is past every session's `expiresAt`.
async fn until_expired(sessions: &[&Session]) {
    while sessions
        .iter()
        .any(|session| chrono::Utc::now() <= session.expires_at())
    {
        tokio::time::sleep(POLL).await;
    }
}

/// Stores a few bytes: the command's acknowledgement comes over the session's WebSocket, so
/// once it is back any rejoin (and the renewal it may have asked for) is over.
async fn settled(session: &Session) -> Result<()> {
    session
        .vault(VaultKey::generate())
        .store(b"settled", &StoreOptions::new("renewal"))
        .await?;
    Ok(())
}

fn figure(name: &str, count: u64, took: Duration, baseline: u64, what: &str) -> Figure {
    Figure::cost(
        name,
        "count",
        count as f64,
        baseline as f64,
        Target::Exactly { value: 1.0 },
    )
    .with_detail(json!({
        "what": what,
        "baseline": "one profile_id() call alone on a second session in the same state, measured in the same run",
        "calls": CALLS,
        "renewals": count,
        "baseline_renewals": baseline,
        "burst_ms": took.as_secs_f64() * 1e3,
    }))
}

fn at_expiry(ctx: &Ctx) -> Result<Figure> {
    let mock = InProcess::start(
        MockServer::builder()
            .record_limit(0)
            .token_lifetime(LIFETIME),
    )?;
    ctx.runtime.block_on(async {
        // Renew ahead by a third of the lifetime, so that a renewed token is fresh (renewing
        // ahead by more than the lifetime would make every token stale on arrival).
        let client = sdk::builder(&mock.api(), &mock.ws())
            .renew_ahead(LIFETIME / 3)
            .build()?;
        let (_, alone) = sdk::provision(&client, "expiry-alone").await?;
        let (_, session) = sdk::provision(&client, "expiry").await?;
        until_expired(&[&alone, &session]).await;
        let (baseline, _) = counted(mock.server(), &alone, 1).await?;
        let (count, took) = counted(mock.server(), &session, CALLS).await?;
        Ok(figure(
            "renewals_at_expiry",
            count,
            took,
            baseline,
            "1,000 concurrent profile_id() calls on one session once its token's expiresAt has passed",
        ))
    })
}

fn after_401(ctx: &Ctx) -> Result<Figure> {
    let mock = InProcess::start(MockServer::builder().record_limit(0))?;
    ctx.runtime.block_on(async {
        let client = sdk::client(&mock.api(), &mock.ws())?;
        let (_, alone) = sdk::provision(&client, "revoked-alone").await?;
        let (_, session) = sdk::provision(&client, "revoked").await?;
        // Both tokens at once; counted from here: the WebSocket may notice the expiry too, and
        // must not add a renewal of its own.
        mock.server().expire_tokens();
        let before = renewals(mock.server());
        burst(&alone, 1).await?;
        settled(&alone).await?;
        let baseline = renewals(mock.server()) - before;
        let before = renewals(mock.server());
        let took = burst(&session, CALLS).await?;
        settled(&session).await?;
        let count = renewals(mock.server()) - before;
        Ok(figure(
            "renewals_after_401",
            count,
            took,
            baseline,
            "1,000 concurrent profile_id() calls on one session after the server expired its token early (every call answered 401 first)",
        ))
    })
}

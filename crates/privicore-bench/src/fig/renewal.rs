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
//! The baseline is the ideal, one renewal; the ratio is the count itself.

use std::time::{Duration, Instant};

use privicore::Session;
use privicore_mock::MockServer;
use serde_json::json;

use crate::fig::Ctx;
use crate::mock::InProcess;
use crate::report::{Figure, Target};
use crate::{Result, sdk};

const CALLS: usize = 1000;
const LIFETIME: Duration = Duration::from_secs(3);

/// Measures the figure.
pub fn run(ctx: &Ctx) -> Result<Vec<Figure>> {
    Ok(vec![at_expiry(ctx)?, after_401(ctx)?])
}

fn renewals(mock: &MockServer) -> u64 {
    mock.count("authenticate") + mock.count("reauthorize_authorization_token")
}

/// Spawns the calls at once and waits for all; returns how long the burst took.
async fn burst(session: &Session) -> Result<Duration> {
    let started = Instant::now();
    let tasks: Vec<_> = (0..CALLS)
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

fn figure(name: &str, count: u64, took: Duration, what: &str) -> Figure {
    Figure::cost(
        name,
        "count",
        count as f64,
        1.0,
        Target::Exactly { value: 1.0 },
    )
    .with_detail(json!({
        "what": what,
        "calls": CALLS,
        "renewals": count,
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
        let (_, session) = sdk::provision(&client, "expiry").await?;
        let expires = session.expires_at();
        let wait = (expires - chrono::Utc::now()).to_std().unwrap_or_default()
            + Duration::from_millis(200);
        tokio::time::sleep(wait).await;
        let before = renewals(mock.server());
        let took = burst(&session).await?;
        let count = renewals(mock.server()) - before;
        Ok(figure(
            "renewals_at_expiry",
            count,
            took,
            "1,000 concurrent profile_id() calls on one session once its token's expiresAt has passed",
        ))
    })
}

fn after_401(ctx: &Ctx) -> Result<Figure> {
    let mock = InProcess::start(MockServer::builder().record_limit(0))?;
    ctx.runtime.block_on(async {
        let client = sdk::client(&mock.api(), &mock.ws())?;
        let (_, session) = sdk::provision(&client, "revoked").await?;
        // Counted from here: the WebSocket may notice the expiry too, and must not add a
        // renewal of its own.
        let before = renewals(mock.server());
        mock.server().expire_tokens();
        let took = burst(&session).await?;
        // Let a WebSocket rejoin, if one was triggered, finish before counting.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let count = renewals(mock.server()) - before;
        Ok(figure(
            "renewals_after_401",
            count,
            took,
            "1,000 concurrent profile_id() calls on one session after the server expired its token early (every call answered 401 first)",
        ))
    })
}

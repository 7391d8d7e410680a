//! Figure 1: one authenticated read, one call at a time.
//!
//! SDK: `session.profile_id()` (token source, renewal check, retry wrapper, generated client,
//! hooks, typed answer). Baseline: a reqwest GET with the `X-DPT-AUTHORIZATION` header and the
//! answer decoded into the same one-field struct, URL and header value built once.

use std::time::Instant;

use privicore_mock::MockServer;
use serde::Deserialize;
use serde_json::json;

use crate::alloc::Counter;
use crate::fig::Ctx;
use crate::measure::interleave;
use crate::mock::InProcess;
use crate::raw::Raw;
use crate::report::{Figure, Target};
use crate::{Result, sdk};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileId {
    profile_id: String,
}

/// Measures the figure.
pub fn run(ctx: &Ctx) -> Result<Vec<Figure>> {
    // Recording every request costs the mock time and memory that has nothing to do with
    // either side: keep none (counts still work).
    let mock = InProcess::start(MockServer::builder().record_limit(0))?;
    let calls: u32 = ctx.pick(100, 300);
    let rounds = ctx.pick(15, 41);
    ctx.runtime.block_on(async {
        let client = sdk::client(&mock.api(), &mock.ws())?;
        let (username, session) = sdk::provision(&client, "read").await?;
        let raw = Raw::login(&mock.api(), &username, sdk::PASSWORD).await?;
        let url = format!("{}/profile/retrieve-profile-id", mock.api());

        let sdk_call = async || -> Result<String> { Ok(session.profile_id().await?) };
        let raw_call = async || -> Result<String> {
            let answer: ProfileId = raw
                .get(&url)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok(answer.profile_id)
        };

        // Same answer from both, and warm connection pools before anything is timed.
        let (a, b) = (sdk_call().await?, raw_call().await?);
        if a != b {
            return Err(format!("the sides disagree on the profile id: {a} vs {b}").into());
        }
        for _ in 0..calls {
            sdk_call().await?;
            raw_call().await?;
        }

        let per_call_us = |started: Instant| started.elapsed().as_secs_f64() * 1e6 / f64::from(calls);
        let pairs = interleave(
            rounds,
            async || {
                let started = Instant::now();
                for _ in 0..calls {
                    sdk_call().await?;
                }
                Ok(per_call_us(started))
            },
            async || {
                let started = Instant::now();
                for _ in 0..calls {
                    raw_call().await?;
                }
                Ok(per_call_us(started))
            },
        )
        .await?;

        // Untimed: heap allocations per call on the client's threads, to explain the ratio.
        let counter = Counter::start();
        for _ in 0..calls {
            sdk_call().await?;
        }
        let sdk_allocs = counter.stop().per(u64::from(calls));
        let counter = Counter::start();
        for _ in 0..calls {
            raw_call().await?;
        }
        let raw_allocs = counter.stop().per(u64::from(calls));

        let (sdk_us, raw_us) = pairs.medians(|v| *v);
        let figure = Figure::cost(
            "read_call",
            "us",
            sdk_us,
            raw_us,
            Target::RatioAtMost { max: 1.10 },
        )
        .with_detail(json!({
            "what": "time per call of one authenticated read (retrieve-profile-id), one call at a time, in-process mock on its own runtime",
            "calls_per_round": calls,
            "rounds_per_side": rounds,
            "sdk_us": pairs.sdk,
            "baseline_us": pairs.baseline,
            "allocations_per_call": {"sdk": sdk_allocs.0, "baseline": raw_allocs.0},
            "allocated_bytes_per_call": {"sdk": sdk_allocs.1, "baseline": raw_allocs.1},
        }));
        Ok(vec![figure])
    })
}

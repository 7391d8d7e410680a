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
    // Short rounds, many of them: the two samples of a round run within milliseconds of each
    // other, so the machine's drift (other builds on the same cores) hits both alike.
    let calls: u32 = 50;
    let rounds = ctx.pick(301, 1001);
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

        // Full mode: where the difference comes from, layer by layer.
        let layers = if ctx.quick {
            serde_json::Value::Null
        } else {
            breakdown(&mock.api(), &raw, &url, &session, calls, 201).await?
        };

        let figure = Figure::times(
            "read_call",
            "us",
            &pairs,
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
            "layers_paired_ratio_vs_baseline": layers,
        }));
        Ok(vec![figure])
    })
}

/// The SDK's call rebuilt one layer at a time, each as a ratio to the baseline measured in the
/// same round (rounds rotate the order of the five): reqwest with the SDK's client settings
/// (timeouts, user agent), the generated client with a fixed token (progenitor builder and the
/// auth hooks), the generated client with the session's token source (renewal check), and
/// the SDK call (adds the retry wrapper, span and error mapping).
async fn breakdown(
    api: &str,
    raw: &Raw,
    url: &str,
    session: &privicore::Session,
    calls: u32,
    rounds: usize,
) -> Result<serde_json::Value> {
    use privicore::api::hooks::{Credential, Inner, StaticToken};
    use std::sync::Arc;
    use std::time::Duration;

    let token = raw
        .get(url)
        .build()?
        .headers()
        .get(crate::raw::TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or("the baseline has no token header")?
        .to_owned();
    let configured = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .user_agent("privicore-rs/0.1.0")
        .build()?;
    let generated = privicore::api::Client::new_with_client(
        api,
        configured.clone(),
        Inner::with_source(Arc::new(StaticToken(Credential::Token(token.clone())))),
    );
    const NAMES: [&str; 5] = [
        "baseline",
        "reqwest_with_sdk_client_settings",
        "generated_client_fixed_token",
        "generated_client_session_token_source",
        "sdk",
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); NAMES.len()];
    for round in 0..rounds {
        for k in 0..NAMES.len() {
            let layer = (k + round) % NAMES.len();
            let started = Instant::now();
            for _ in 0..calls {
                let id = match layer {
                    0 => {
                        raw.get(url)
                            .send()
                            .await?
                            .error_for_status()?
                            .json::<ProfileId>()
                            .await?
                            .profile_id
                    }
                    1 => {
                        configured
                            .get(url)
                            .header(crate::raw::TOKEN_HEADER, token.as_str())
                            .send()
                            .await?
                            .error_for_status()?
                            .json::<ProfileId>()
                            .await?
                            .profile_id
                    }
                    2 => {
                        generated
                            .retrieve_profile_id()
                            .send()
                            .await?
                            .into_inner()
                            .profile_id
                    }
                    3 => {
                        session
                            .raw()
                            .retrieve_profile_id()
                            .send()
                            .await?
                            .into_inner()
                            .profile_id
                    }
                    _ => session.profile_id().await?,
                };
                std::hint::black_box(id);
            }
            samples[layer].push(started.elapsed().as_secs_f64());
        }
    }
    let mut layers = serde_json::Map::new();
    for (layer, name) in NAMES.iter().enumerate().skip(1) {
        let ratio =
            crate::measure::median(samples[layer].iter().zip(&samples[0]).map(|(a, b)| a / b));
        layers.insert((*name).to_owned(), json!(ratio));
    }
    Ok(serde_json::Value::Object(layers))
}

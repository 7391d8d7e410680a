//! Figure 5: listing 10,000 data tokens (2,000 in quick mode) with 5 ms of mock latency, the
//! SDK's paginator (a window of [`WINDOW`] pages in flight once the total is known) against a
//! page-by-page loop.
//!
//! Both sides read 100 items a page (the mock's maximum) and go through the same consumer.
//! Two consumers are measured:
//!
//! * `list`: the consumer does 5 ms of asynchronous work per 100 items (a batch written
//!   somewhere, say): as long as the mock's latency, so fetching ahead hides the latency
//!   behind the work;
//! * `list_collect`: the consumer does nothing (`collect()`): only pages fetched at once
//!   (the window) beat the loop, which waits out the latency once per page.
//!
//! The mock builds every item of the profile for each page it serves (its cost per page grows
//! with the total: about 0.5 ms at 100 items, 8 ms at 1,000, 80 ms at 10,000 on the reference
//! machine), so the full run's 10,000 items take seconds per listing; quick mode lists 2,000
//! to stay within its budget.
//!
//! SDK: `session.data_tokens().list().per_page(100).into_paginator().window(WINDOW).items()`
//! (`WINDOW` is the default, `privicore::paging::DEFAULT_WINDOW`). Baseline: a reqwest loop over
//! `page`, decoding each page, until a short page or `meta.count` items.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use privicore::{StoreOptions, VaultKey};
use privicore_mock::MockServer;
use serde::Deserialize;
use serde_json::json;

use crate::fig::Ctx;
use crate::measure::interleave;
use crate::mock::InProcess;
use crate::raw::Raw;
use crate::report::{Figure, Target};
use crate::{Result, sdk};

const PER_PAGE: u64 = 100;
/// The paginator's window: its default, so the figure measures what a caller gets.
const WINDOW: usize = privicore::paging::DEFAULT_WINDOW;
const LATENCY: Duration = Duration::from_millis(5);
/// The busy consumer's work per `PER_PAGE` items.
const WORK_PER_PAGE: Duration = Duration::from_millis(5);

#[derive(Deserialize)]
struct Page {
    items: Vec<privicore::DataTokenItem>,
    meta: Meta,
}

#[derive(Deserialize)]
struct Meta {
    count: u64,
}

/// What the consumer does with each item.
#[derive(Clone, Copy)]
enum Consumer {
    Busy,
    Idle,
}

impl Consumer {
    async fn take(self, index: u64) {
        if matches!(self, Consumer::Busy) && (index + 1).is_multiple_of(PER_PAGE) {
            tokio::time::sleep(WORK_PER_PAGE).await;
        }
    }
}

/// Measures the figure.
pub fn run(ctx: &Ctx) -> Result<Vec<Figure>> {
    // No ack delay: it only slows the seeding, which is not measured.
    let mock = InProcess::start(
        MockServer::builder()
            .record_limit(0)
            .ack_delay(Duration::ZERO),
    )?;
    let items: u64 = ctx.pick(2_000, 10_000);
    // The lines have no room for settings: say the window here (report.json has it too).
    eprintln!(
        "privicore-bench: list figures: SDK paginator with window {WINDOW}, {PER_PAGE} items a page"
    );
    let rounds = ctx.pick(3, 5);
    ctx.runtime.block_on(async {
        let client = sdk::client(&mock.api(), &mock.ws())?;
        let (username, session) = sdk::provision(&client, "list").await?;
        let seeding = Instant::now();
        seed(&session, items).await?;
        let seeding = seeding.elapsed();
        let raw = Raw::login(&mock.api(), &username, sdk::PASSWORD).await?;
        let url = format!("{}/data-token/list-data-tokens", mock.api());

        let sdk_list = async |consumer: Consumer| -> Result<f64> {
            let started = Instant::now();
            let mut stream = session
                .data_tokens()
                .list()
                .per_page(PER_PAGE)
                .into_paginator()
                .window(WINDOW)
                .items();
            let mut seen = 0;
            while let Some(item) = stream.try_next().await? {
                std::hint::black_box(&item);
                consumer.take(seen).await;
                seen += 1;
            }
            check(seen, items)?;
            Ok(started.elapsed().as_secs_f64() * 1e3)
        };
        let raw_list = async |consumer: Consumer| -> Result<f64> {
            let started = Instant::now();
            let per_page = PER_PAGE.to_string();
            let mut seen = 0;
            for page in 1u64.. {
                let page: Page = raw
                    .get(&url)
                    .query(&[("page", page.to_string().as_str()), ("perPage", per_page.as_str())])
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let short = (page.items.len() as u64) < PER_PAGE;
                for item in page.items {
                    std::hint::black_box(&item);
                    consumer.take(seen).await;
                    seen += 1;
                }
                if short || seen >= page.meta.count {
                    break;
                }
            }
            check(seen, items)?;
            Ok(started.elapsed().as_secs_f64() * 1e3)
        };

        // What the mock spends on one page before any latency is added: the floor that
        // prefetching cannot hide when the consumer is quicker than it.
        let probe = Instant::now();
        for _ in 0..5 {
            let page: Page = raw
                .get(&url)
                .query(&[("page", "1"), ("perPage", "100")])
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            std::hint::black_box(page.items.len());
        }
        let page_ms = probe.elapsed().as_secs_f64() * 1e3 / 5.0;

        mock.server().faults().update(|f| f.latency = LATENCY);
        // Warm pools.
        sdk_list(Consumer::Idle).await?;
        raw_list(Consumer::Idle).await?;

        let busy = interleave(
            rounds,
            async || sdk_list(Consumer::Busy).await,
            async || raw_list(Consumer::Busy).await,
        )
        .await?;
        let idle = interleave(
            rounds,
            async || sdk_list(Consumer::Idle).await,
            async || raw_list(Consumer::Idle).await,
        )
        .await?;
        mock.server().faults().clear();

        let figure = |name: &str, what: String, pairs: crate::measure::Pairs<f64>, target| {
            Figure::times(name, "ms", &pairs, target).with_detail(json!({
                "what": what,
                "items": items,
                "per_page": PER_PAGE,
                "window": WINDOW,
                "mock_latency_ms": LATENCY.as_millis(),
                "rounds_per_side": rounds,
                "seeding_s": seeding.as_secs_f64(),
                "page_without_latency_ms": page_ms,
                "sdk_ms": pairs.sdk,
                "baseline_ms": pairs.baseline,
            }))
        };
        Ok(vec![
            figure(
                "list",
                format!("100 items a page, 5 ms mock latency; the consumer spends 5 ms per 100 items (async): SDK paginator (window {WINDOW}) vs page-by-page loop"),
                busy,
                Target::RatioAtMost { max: 0.6 },
            ),
            figure(
                "list_collect",
                format!("100 items a page, 5 ms mock latency; the consumer does nothing: SDK paginator (window {WINDOW}) vs page-by-page loop"),
                idle,
                Target::RatioAtMost { max: 0.5 },
            ),
        ])
    })
}

/// Stores `count` tiny payloads, 64 at a time (set-up, not measured).
async fn seed(session: &privicore::Session, count: u64) -> Result<()> {
    let vault = session.vault(VaultKey::generate());
    let options = StoreOptions::new("list");
    futures::stream::iter(0..count)
        .map(|_| vault.store(b"listed", &options))
        .buffer_unordered(64)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    Ok(())
}

fn check(seen: u64, want: u64) -> Result<()> {
    if seen == want {
        Ok(())
    } else {
        Err(format!("listed {seen} items, expected {want}").into())
    }
}

//! The paginator (issue 14): order kept with a window of pages in flight, exactly one request
//! per page up to the announced last page, wrong totals, bare-array lists, concurrency counted
//! (never timed), cancellation, and the SDK's lists being exactly the spec's paginated
//! operations.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use privicore::paging::DEFAULT_WINDOW;
use privicore::{Paginator, StoreOptions, VaultKey};
use privicore_mock::{MockServer, Variant};

/// A fake server's record: the pages requested, and how many fetches run at once.
#[derive(Default)]
struct Record {
    requested: Mutex<Vec<u64>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

impl Record {
    fn requested(&self) -> Vec<u64> {
        self.requested.lock().expect("not poisoned").clone()
    }
}

/// Counts a fetch as running from its first poll until it ends or is dropped (aborted).
struct Running(Arc<Record>);

impl Running {
    fn start(record: &Arc<Record>) -> Self {
        let now = record.running.fetch_add(1, Ordering::SeqCst) + 1;
        record.max_running.fetch_max(now, Ordering::SeqCst);
        Self(record.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A fake list server holding the numbers `0..holds` and announcing `announces` as its total.
/// Within each group of four pages the later ones answer first (after fewer scheduler
/// yields), so a paginator that yielded pages as they complete would reorder them.
fn fake(holds: u64, announces: Option<u64>) -> (Paginator<u64>, Arc<Record>) {
    let record = Arc::new(Record::default());
    let shared = record.clone();
    let paginator = Paginator::from_fn(move |page, per_page| {
        shared.requested.lock().expect("not poisoned").push(page);
        let record = shared.clone();
        async move {
            let _running = Running::start(&record);
            for _ in 0..8 * (4 - page % 4) {
                tokio::task::yield_now().await;
            }
            let start = (page - 1).saturating_mul(per_page).min(holds);
            let end = start.saturating_add(per_page).min(holds);
            Ok(((start..end).collect(), announces))
        }
    });
    (paginator, record)
}

#[tokio::test]
async fn a_window_of_four_keeps_the_order_of_10_000_items() {
    let (list, record) = fake(10_000, Some(10_000));
    let items: Vec<u64> = list
        .per_page(100)
        .window(4)
        .items()
        .try_collect()
        .await
        .expect("no errors");
    assert_eq!(items.len(), 10_000);
    assert!(
        items.iter().copied().eq(0..10_000),
        "items out of order; first misplaced at index {:?}",
        items.iter().zip(0..).position(|(item, i)| *item != i)
    );
    assert_eq!(record.requested().len(), 100);
}

#[tokio::test]
async fn requests_are_exactly_the_pages_up_to_the_last_one() {
    for (total, per_page) in [
        (10_000, 100),
        (10_001, 100),
        (9_999, 100),
        (1, 100),
        (0, 100),
    ] {
        for window in [1, 4, 32] {
            let (list, record) = fake(total, Some(total));
            let items: Vec<u64> = list
                .per_page(per_page)
                .window(window)
                .items()
                .try_collect()
                .await
                .expect("no errors");
            assert_eq!(items.len() as u64, total, "{total}/{per_page}/{window}");
            let last = total.div_ceil(per_page).max(1);
            let mut requested = record.requested();
            requested.sort_unstable();
            assert_eq!(
                requested,
                (1..=last).collect::<Vec<_>>(),
                "{total} items, {per_page} a page, window {window}: one request per page, none past page {last}"
            );
        }
    }
}

#[tokio::test]
async fn the_window_is_filled_and_never_exceeded() {
    for window in [2, 4, 8] {
        let (list, record) = fake(10_000, Some(10_000));
        let items = list
            .per_page(100)
            .window(window)
            .items()
            .try_fold(0u64, |n, _| async move { Ok(n + 1) })
            .await
            .expect("no errors");
        assert_eq!(items, 10_000);
        assert_eq!(
            record.max_running.load(Ordering::SeqCst),
            window,
            "fetches running at once with window {window}"
        );
    }
}

#[tokio::test]
async fn without_a_total_one_page_is_fetched_at_a_time_until_a_short_page() {
    for holds in [250, 300] {
        let (list, record) = fake(holds, None);
        let items: Vec<u64> = list
            .per_page(100)
            .window(8)
            .items()
            .try_collect()
            .await
            .expect("no errors");
        assert_eq!(items, (0..holds).collect::<Vec<_>>());
        assert_eq!(record.max_running.load(Ordering::SeqCst), 1);
        // 250: pages 1-3, the third short; 300: a fourth, empty page says the list ended.
        assert_eq!(
            record.requested(),
            (1..=holds / 100 + 1).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn a_total_larger_than_the_list_ends_at_the_short_page() {
    let (list, record) = fake(250, Some(1_000));
    let pages: Vec<_> = list
        .per_page(100)
        .window(4)
        .pages()
        .try_collect()
        .await
        .expect("no errors");
    let items: Vec<u64> = pages.into_iter().flat_map(|p| p.into_items()).collect();
    assert_eq!(
        items,
        (0..250).collect::<Vec<_>>(),
        "every item once, in order"
    );
    // Page 1 alone, then pages 2-5 at once, then page 6 as page 2 is taken; page 3 is short and
    // ends the list. The pages requested past the end come back empty and are not yielded.
    let requested = record.requested();
    assert_eq!(requested, (1..=6).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_total_smaller_than_the_list_stops_at_the_page_that_reaches_it() {
    let (list, record) = fake(1_000, Some(150));
    let items: Vec<u64> = list
        .per_page(100)
        .window(4)
        .items()
        .try_collect()
        .await
        .expect("no errors");
    // The announced count is reached within page 2: its page is the last one fetched.
    assert_eq!(items, (0..200).collect::<Vec<_>>());
    assert_eq!(record.requested(), [1, 2]);
}

#[tokio::test]
async fn a_failed_page_is_yielded_after_every_page_before_it() {
    let record = Arc::new(Record::default());
    let shared = record.clone();
    let list = Paginator::from_fn(move |page, per_page| {
        shared.requested.lock().expect("not poisoned").push(page);
        async move {
            if page == 5 {
                return Err(privicore::Error::InvalidInput("page 5 failed".into()));
            }
            let start = (page - 1) * per_page;
            Ok(((start..start + per_page).collect::<Vec<u64>>(), Some(1_000)))
        }
    })
    .per_page(10)
    .window(4);
    let got: Vec<privicore::Result<u64>> = list.items().collect().await;
    let (ok, failed): (Vec<_>, Vec<_>) = got.into_iter().partition(Result::is_ok);
    let ok: Vec<u64> = ok.into_iter().map(|r| r.expect("ok")).collect();
    assert_eq!(ok, (0..40).collect::<Vec<_>>(), "pages 1-4, then the error");
    assert_eq!(failed.len(), 1, "one error, then the end");
}

#[tokio::test]
async fn dropping_the_stream_aborts_the_fetches_in_flight() {
    let record = Arc::new(Record::default());
    let shared = record.clone();
    let list = Paginator::from_fn(move |page, per_page| {
        let record = shared.clone();
        async move {
            let _running = Running::start(&record);
            if page > 1 {
                // Never answers: only an abort ends it.
                std::future::pending::<()>().await;
            }
            Ok(((0..per_page).collect::<Vec<u64>>(), Some(10 * per_page)))
        }
    })
    .per_page(10)
    .window(4);
    let mut items = list.items();
    items.try_next().await.expect("page 1").expect("an item");
    common::eventually("four pages in flight", || {
        record.running.load(Ordering::SeqCst) == 4
    })
    .await;
    drop(items);
    common::eventually("no fetch left running", || {
        record.running.load(Ordering::SeqCst) == 0
    })
    .await;
}

/// Stores `count` tiny payloads under context `list`, in order: their tokens.
async fn store(session: &privicore::Session, count: usize) -> Vec<String> {
    let vault = session.vault(VaultKey::generate());
    let mut tokens = Vec::new();
    for i in 0..count {
        let token = vault
            .store(format!("item {i}").as_bytes(), &StoreOptions::new("list"))
            .await
            .expect("stored");
        tokens.push(token.as_str().to_owned());
    }
    tokens
}

/// Data tokens listed through the SDK against the mock, with the envelope and with bare
/// arrays: every token once, in order, and the requests the pages need.
#[tokio::test]
async fn data_tokens_page_through_the_mock_with_and_without_a_total() {
    for variant in [Variant::Probe, Variant::ListsBare] {
        let (mock, client) =
            common::start_with(MockServer::builder().variant(variant), |b| b).await;
        let session = common::provisioned(&client, "paginator@test").await;
        let stored = store(&session, 23).await;
        for (per_page, window) in [(5, 4), (5, 1), (2, 8), (23, 4)] {
            mock.clear_recorded();
            let listed: Vec<String> = session
                .data_tokens()
                .list()
                .per_page(per_page)
                .into_paginator()
                .window(window)
                .items()
                .map_ok(|item| item.token)
                .try_collect()
                .await
                .unwrap_or_else(|e| panic!("{variant:?}: {e}"));
            // Compared without printing: data tokens are credentials to the data.
            assert!(
                listed == stored,
                "{variant:?}, {per_page} a page, window {window}: {} listed of {} stored, or out of order",
                listed.len(),
                stored.len()
            );
            // 23 items: ceil(23 / per_page) pages, the last one short, with or without the
            // total; a bare list of 23 at 23 a page needs an empty page 2 to end.
            let pages = match (variant, per_page) {
                (Variant::ListsBare, 23) => 2,
                _ => 23u64.div_ceil(per_page),
            };
            assert_eq!(
                mock.count("list_data_tokens"),
                pages,
                "{variant:?}, {per_page} a page, window {window}"
            );
        }
    }
}

/// The lists the SDK pages are the operations the spec marks with `x-privicore-pagination`,
/// and their requests carry the page and page size in the parameters the spec names.
#[tokio::test]
async fn the_sdk_pages_exactly_the_operations_the_spec_marks() {
    let marked: BTreeSet<&str> = privicore::api::OPERATIONS
        .iter()
        .filter(|op| op.pagination.is_some())
        .map(|op| op.id)
        .collect();
    assert!(!marked.is_empty(), "the spec marks its lists");

    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "marked@test").await;
    store(&session, 3).await;
    for i in 0..3 {
        session
            .oauth()
            .register(&format!("app-{i}"), "https://app.test/cb", "all")
            .await
            .expect("registered");
    }
    let paged = BTreeSet::from([
        pages_in_the_spec_parameters(&mock, session.data_tokens().list().into_paginator()).await,
        pages_in_the_spec_parameters(&mock, session.oauth().paginator()).await,
    ]);
    assert_eq!(paged, marked);
}

/// Lists the 3 items of `list` 2 a page: the operation it pages, after checking that both
/// requests carried the page and the page size in the parameters the spec names.
async fn pages_in_the_spec_parameters<T: Send + 'static>(
    mock: &MockServer,
    list: Paginator<T>,
) -> &'static str {
    let op = list.operation().expect("an SDK list names its operation");
    let paging = op.pagination.expect("and the spec says how it pages");
    mock.clear_recorded();
    let items: Vec<T> = list
        .per_page(2)
        .items()
        .try_collect()
        .await
        .expect("listed");
    assert_eq!(items.len(), 3, "{}", op.id);
    let mut queries: Vec<(String, String)> = mock
        .recorded()
        .into_iter()
        .filter(|r| r.operation_id == Some(op.id))
        .map(|r| {
            let param = |name: &str| {
                r.query
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (param(paging.page_param), param(paging.per_page_param))
        })
        .collect();
    queries.sort();
    assert_eq!(
        queries,
        [("1".into(), "2".into()), ("2".into(), "2".into())],
        "{}: pages 1 and 2 of 2, in the spec's parameters",
        op.id
    );
    op.id
}

#[test]
fn a_paginator_fetches_four_pages_at_once_unless_told() {
    assert_eq!(DEFAULT_WINDOW, 4);
    let list = Paginator::from_fn(|_, _| async { Ok((Vec::<u8>::new(), None)) });
    assert_eq!(list.window_size(), DEFAULT_WINDOW);
}

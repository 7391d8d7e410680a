//! Page-numbered lists as streams: a [`Paginator`] yields [`Page`]s, or their items, in order.
//!
//! Which operations are page-numbered lists is the spec's fact (`x-privicore-pagination`,
//! carried into [`OperationMeta::pagination`]); progenitor only generates streams for cursor
//! pagination, so the paging itself is written here, once, for every such list.
//!
//! How far ahead it fetches:
//!
//! * page 1 is fetched alone: it tells whether the server announces a total (`meta.count`);
//! * with a total, the pages up to the last one (`ceil(total / per_page)`) are fetched up to
//!   [`window`](Paginator::window) at a time and yielded in page order; nothing past the last
//!   page is requested;
//! * without one (a server that answers bare arrays, docs/protocol.md §14.6), the next page is
//!   requested only once a full page came back, and fetched while the caller consumes it.
//!
//! Either way the list ends at the first short or empty page, or once the announced total was
//! seen, whichever comes first: a server whose total is wrong, in either direction, gets no
//! item yielded twice, none skipped before the end, and cannot make the list loop past its
//! announced count. Pages still in flight when the list ends, fails or is dropped are aborted.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, FuturesOrdered, StreamExt, TryStreamExt};
use privicore_api::operations::OperationMeta;

use crate::Result;

/// How many pages a [`Paginator`] fetches at once by default, once the total is known.
pub const DEFAULT_WINDOW: usize = 4;

/// The largest [`window`](Paginator::window): more would only queue requests at the server,
/// and a hostile total must not make a list start thousands of tasks.
pub const MAX_WINDOW: usize = 32;

/// The page size of a [`Paginator`] unless [`per_page`](Paginator::per_page) says otherwise.
pub const DEFAULT_PER_PAGE: u64 = 100;

/// What a fetch answers for one page: its items, and the total across pages when the server
/// says (`None` when it does not).
type Fetched<T> = Result<(Vec<T>, Option<u64>)>;

/// Fetches page `number` (from 1) of `per_page` items.
type Fetch<T> = Arc<dyn Fn(u64, u64) -> BoxFuture<'static, Fetched<T>> + Send + Sync>;

/// One page of a list, as [`Paginator::pages`] yields it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    items: Vec<T>,
    number: u64,
    total: Option<u64>,
}

impl<T> Page<T> {
    /// The page's items, in the server's order.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The page's items, taken.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// The page number, from 1.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The total across pages, when the server announced one with this page.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// How many items the page has.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the page has no items (only ever the last page).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A page-numbered list: set the page size and the window, then stream its
/// [`pages`](Paginator::pages) or its [`items`](Paginator::items).
///
/// The SDK's lists give one with `into_paginator()`
/// ([`ListDataTokens::into_paginator`](crate::ListDataTokens::into_paginator),
/// [`OAuthApps::paginator`](crate::oauth::OAuthApps::paginator)); [`Paginator::from_fn`]
/// pages anything else. See the [module](self) for how far ahead it fetches.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> privicore::Result<()> {
/// use futures::TryStreamExt;
/// use privicore::Paginator;
///
/// // A list of 250 numbers that announces its total, served 100 a page.
/// let list = Paginator::from_fn(|page, per_page| async move {
///     let start = (page - 1) * per_page;
///     Ok(((start..(start + per_page).min(250)).collect::<Vec<u64>>(), Some(250)))
/// })
/// .per_page(100)
/// .window(4);
///
/// let pages: Vec<_> = list.clone().pages().try_collect().await?;
/// assert_eq!(pages.iter().map(|p| (p.number(), p.len())).collect::<Vec<_>>(), [(1, 100), (2, 100), (3, 50)]);
/// assert_eq!(pages[0].total(), Some(250));
///
/// let items: Vec<u64> = list.items().try_collect().await?;
/// assert_eq!(items, (0..250).collect::<Vec<_>>());
/// # Ok(()) }
/// ```
#[must_use]
pub struct Paginator<T> {
    fetch: Fetch<T>,
    per_page: u64,
    window: usize,
    operation: Option<&'static OperationMeta>,
}

impl<T> Clone for Paginator<T> {
    fn clone(&self) -> Self {
        Self {
            fetch: self.fetch.clone(),
            per_page: self.per_page,
            window: self.window,
            operation: self.operation,
        }
    }
}

impl<T> fmt::Debug for Paginator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("operation", &self.operation.map(|op| op.id))
            .field("per_page", &self.per_page)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Paginator<T> {
    /// Pages with `fetch(page, per_page)`, where `page` counts from 1. It answers the page's
    /// items, and the total across pages when the server says: with `None` the list ends at
    /// the first short page. Page size [`DEFAULT_PER_PAGE`], window [`DEFAULT_WINDOW`].
    pub fn from_fn<F, Fut>(fetch: F) -> Self
    where
        F: Fn(u64, u64) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Fetched<T>> + Send + 'static,
    {
        Self {
            fetch: Arc::new(move |page, per_page| Box::pin(fetch(page, per_page))),
            per_page: DEFAULT_PER_PAGE,
            window: DEFAULT_WINDOW,
            operation: None,
        }
    }

    /// A paginator over the spec operation `id` (whose table row says how it pages).
    pub(crate) fn for_operation<F, Fut>(id: &'static str, fetch: F) -> Self
    where
        F: Fn(u64, u64) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Fetched<T>> + Send + 'static,
    {
        Self {
            operation: privicore_api::operations::operation(id),
            ..Self::from_fn(fetch)
        }
    }

    /// Items per page (default [`DEFAULT_PER_PAGE`]); 0 is taken as 1.
    pub fn per_page(mut self, per_page: u64) -> Self {
        self.per_page = per_page.max(1);
        self
    }

    /// How many pages may be in flight at once once the total is known (default
    /// [`DEFAULT_WINDOW`], at most [`MAX_WINDOW`]); pages fetched but not yet yielded count
    /// against it. `1` fetches one page at a time, the next while the current one is
    /// consumed; 0 is taken as 1, like a page size of 0. Order is kept whatever the window.
    pub fn window(mut self, window: usize) -> Self {
        self.window = window.clamp(1, MAX_WINDOW);
        self
    }

    /// The page size this paginator asks for.
    pub fn page_size(&self) -> u64 {
        self.per_page
    }

    /// The window this paginator fetches with.
    pub fn window_size(&self) -> usize {
        self.window
    }

    /// The spec operation it pages, for the SDK's lists (`None` for [`Paginator::from_fn`]).
    pub fn operation(&self) -> Option<&'static OperationMeta> {
        self.operation
    }

    /// Every page, in order, from page 1. The first failure is yielded and ends the stream
    /// (every page before it was yielded); dropping the stream aborts the fetches in flight.
    pub fn pages(self) -> BoxStream<'static, Result<Page<T>>> {
        let state = State {
            fetch: self.fetch,
            per_page: self.per_page,
            window: self.window,
            next: 1,
            last: 1,
            seen: 0,
            in_flight: FuturesOrdered::new(),
            done: false,
        };
        stream::unfold(state, |mut state| async move {
            if state.done {
                return None;
            }
            state.request();
            // Nothing in flight and nothing left to request: the list has ended.
            let (number, fetched) = state.in_flight.next().await?;
            match fetched {
                Ok((items, total)) => {
                    let page = Page {
                        items,
                        number,
                        total,
                    };
                    state.received(&page);
                    // Start the next pages now, while the caller works through this one.
                    state.request();
                    Some((Ok(page), state))
                }
                Err(error) => {
                    state.finish();
                    Some((Err(error), state))
                }
            }
        })
        .boxed()
    }

    /// Every item of every page, in order (see [`Paginator::pages`]).
    pub fn items(self) -> BoxStream<'static, Result<T>> {
        self.pages()
            .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// Every item, collected.
    ///
    /// # Errors
    ///
    /// The first [`Error`](crate::Error) of any page.
    pub async fn collect(self) -> Result<Vec<T>> {
        self.items().try_collect().await
    }
}

/// Where a [`Paginator::pages`] stream is.
struct State<T> {
    fetch: Fetch<T>,
    per_page: u64,
    window: usize,
    /// The next page to request.
    next: u64,
    /// The last page that may be requested now: the announced last page, or, without a
    /// total, the one after the last full page.
    last: u64,
    /// Items received so far.
    seen: u64,
    /// Requested pages, yielded in the order they were requested.
    in_flight: FuturesOrdered<BoxFuture<'static, (u64, Fetched<T>)>>,
    done: bool,
}

impl<T: Send + 'static> State<T> {
    /// Requests pages until the window is full or the next page is past `last`.
    fn request(&mut self) {
        while !self.done && self.in_flight.len() < self.window && self.next <= self.last {
            let number = self.next;
            let fetching = spawn((self.fetch)(number, self.per_page));
            self.in_flight
                .push_back(Box::pin(async move { (number, fetching.await) }));
            self.next += 1;
        }
    }

    /// Takes in a received page: how far the list goes now.
    fn received(&mut self, page: &Page<T>) {
        let count = page.items.len() as u64;
        self.seen = self.seen.saturating_add(count);
        if count < self.per_page {
            // A short or empty page is the last one, whatever total was announced.
            self.finish();
            return;
        }
        match page.total {
            Some(total) if self.seen >= total => self.finish(),
            Some(total) => self.last = total.div_ceil(self.per_page),
            None => self.last = page.number + 1,
        }
    }

    /// Ends the list; pages still in flight are past its end, and are aborted.
    fn finish(&mut self) {
        self.done = true;
        self.in_flight = FuturesOrdered::new();
    }
}

/// Runs a page fetch on a task of its own, so it goes on while the caller consumes earlier
/// pages; dropping the returned future aborts the task. Outside a Tokio runtime there is no
/// task to spawn, and the fetch runs when the stream is polled.
fn spawn<T: Send + 'static>(
    fetch: BoxFuture<'static, Fetched<T>>,
) -> BoxFuture<'static, Fetched<T>> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return fetch;
    };
    let task = AbortOnDrop(runtime.spawn(fetch));
    Box::pin(async move {
        let mut task = task;
        match (&mut task.0).await {
            Ok(fetched) => fetched,
            // The fetch panicked (it is never aborted while awaited here).
            Err(e) => Err(crate::Error::WebSocket(format!(
                "a page fetch task failed: {e}"
            ))),
        }
    })
}

/// A spawned fetch, aborted when the caller no longer wants it.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A list of `total` numbers; `announce` is the total the fake server announces.
    fn list(total: u64, announce: Option<u64>) -> (Paginator<u64>, Arc<AtomicU64>) {
        let calls = Arc::new(AtomicU64::new(0));
        let counter = calls.clone();
        let paginator = Paginator::from_fn(move |page, per_page| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                let start = (page - 1).saturating_mul(per_page).min(total);
                let end = start.saturating_add(per_page).min(total);
                Ok(((start..end).collect(), announce))
            }
        });
        (paginator, calls)
    }

    #[tokio::test]
    async fn every_item_in_order_and_one_request_per_page() {
        for (total, per_page) in [(0, 10), (1, 10), (10, 10), (25, 10), (2500, 100)] {
            for announce in [true, false] {
                for window in [1, 4] {
                    let (list, calls) = list(total, announce.then_some(total));
                    let list = list.per_page(per_page).window(window);
                    let got: Vec<u64> = list.items().try_collect().await.expect("no errors");
                    let case = format!("{total}/{per_page}/{announce}/{window}");
                    assert_eq!(got, (0..total).collect::<Vec<_>>(), "{case}");
                    // Without a total, a full last page is followed by one empty page.
                    let expected = if announce {
                        total.div_ceil(per_page).max(1)
                    } else {
                        total / per_page + 1
                    };
                    assert_eq!(calls.load(Ordering::SeqCst), expected, "{case}");
                }
            }
        }
    }

    #[tokio::test]
    async fn a_server_that_never_ends_is_stopped_by_its_count() {
        let list = Paginator::from_fn(|_, _| async { Ok((vec![1u8; 5], Some(12))) }).per_page(5);
        let got: Vec<u8> = list.items().try_collect().await.expect("no errors");
        assert_eq!(got.len(), 15, "three full pages, then the count stops it");
    }

    #[tokio::test]
    async fn pages_carry_their_number_and_total() {
        let (list, _) = list(25, Some(25));
        let pages: Vec<Page<u64>> = list.per_page(10).pages().try_collect().await.expect("ok");
        let shape: Vec<(u64, usize, Option<u64>)> = pages
            .iter()
            .map(|p| (p.number(), p.len(), p.total()))
            .collect();
        assert_eq!(
            shape,
            [(1, 10, Some(25)), (2, 10, Some(25)), (3, 5, Some(25))]
        );
    }

    #[tokio::test]
    async fn an_error_ends_the_stream_after_every_page_before_it() {
        let list = Paginator::from_fn(|page, _| async move {
            if page == 3 {
                Err(crate::Error::InvalidInput("boom".into()))
            } else {
                Ok((vec![page; 2], Some(20)))
            }
        })
        .per_page(2)
        .window(4);
        let got: Vec<Result<u64>> = list.items().collect().await;
        let ok: Vec<u64> = got
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        assert_eq!(ok, [1, 1, 2, 2], "pages 1 and 2, then the error");
        assert_eq!(got.len(), 5);
        assert!(got[4].is_err());
    }

    #[test]
    fn window_and_page_size_are_clamped() {
        let (list, _) = list(1, None);
        let list = list.window(0).per_page(0);
        assert_eq!((list.window_size(), list.page_size()), (1, 1));
        assert_eq!(list.window(1000).window_size(), MAX_WINDOW);
    }

    #[test]
    fn pages_without_a_runtime() {
        let (list, calls) = list(25, Some(25));
        let got: Vec<u64> =
            futures::executor::block_on(list.per_page(10).items().try_collect()).expect("ok");
        assert_eq!(got, (0..25).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}

//! `page`/`perPage` lists as streams of items that fetch the next page while the caller
//! consumes the current one.
//!
//! progenitor only generates streams for cursor pagination, so this is hand-written. A list
//! ends at the first short or empty page, or once `meta.count` items were seen, whichever
//! comes first: a server that keeps answering full pages forever cannot make it loop past
//! the count it announced.

use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt};

use crate::Result;

/// One page of a list.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// The total across pages, when the server says.
    pub total: Option<u64>,
}

/// Aborts a prefetch the caller no longer wants.
struct Prefetch<T>(tokio::task::JoinHandle<Result<Page<T>>>);

impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct State<T, F> {
    fetch: F,
    per_page: u64,
    page: u64,
    seen: u64,
    next: Option<Prefetch<T>>,
    buffer: std::vec::IntoIter<T>,
    done: bool,
}

/// Streams every item, starting at page 1.
pub(crate) fn items<T, F, Fut>(per_page: u64, fetch: F) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    let per_page = per_page.max(1);
    let state = State {
        fetch,
        per_page,
        page: 1,
        seen: 0,
        next: None,
        buffer: Vec::new().into_iter(),
        done: false,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.buffer.next() {
                return Some((Ok(item), state));
            }
            if state.done {
                return None;
            }
            let pending = match state.next.take() {
                Some(pending) => pending,
                None => Prefetch(tokio::spawn((state.fetch)(state.page))),
            };
            let page = match await_prefetch(pending).await {
                Ok(page) => page,
                Err(e) => {
                    state.done = true;
                    return Some((Err(e), state));
                }
            };
            let count = page.items.len() as u64;
            state.seen += count;
            let more = count >= state.per_page && page.total.is_none_or(|total| state.seen < total);
            if more {
                state.page += 1;
                // Start the next page now, while the caller works through this one.
                state.next = Some(Prefetch(tokio::spawn((state.fetch)(state.page))));
            } else {
                state.done = true;
            }
            state.buffer = page.items.into_iter();
        }
    })
    .boxed()
}

async fn await_prefetch<T>(mut pending: Prefetch<T>) -> Result<Page<T>> {
    match (&mut pending.0).await {
        Ok(result) => result,
        Err(e) => Err(crate::Error::WebSocket(format!(
            "a page fetch task failed: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn pages(
        total: u64,
        per_page: u64,
        announce: bool,
    ) -> (BoxStream<'static, Result<u64>>, Arc<AtomicU64>) {
        let calls = Arc::new(AtomicU64::new(0));
        let counter = calls.clone();
        let stream = items(per_page, move |page| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                let start = (page - 1) * per_page;
                let end = (start + per_page).min(total);
                Ok(Page {
                    items: (start..end).collect(),
                    total: announce.then_some(total),
                })
            }
        });
        (stream, calls)
    }

    #[tokio::test]
    async fn streams_every_item_in_order() {
        for (total, per_page) in [(0, 10), (1, 10), (10, 10), (25, 10), (2500, 100)] {
            for announce in [true, false] {
                let (stream, calls) = pages(total, per_page, announce);
                let got: Vec<u64> = stream.try_collect().await.expect("no errors");
                assert_eq!(
                    got,
                    (0..total).collect::<Vec<_>>(),
                    "{total}/{per_page}/{announce}"
                );
                let expected_calls = if announce {
                    total.div_ceil(per_page).max(1)
                } else {
                    total / per_page + 1
                };
                assert_eq!(
                    calls.load(Ordering::SeqCst),
                    expected_calls,
                    "{total}/{per_page}/{announce}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_server_that_never_ends_is_stopped_by_its_count() {
        let stream = items(5, |_| async {
            Ok(Page {
                items: vec![1u8; 5],
                total: Some(12),
            })
        });
        let got: Vec<u8> = stream.try_collect().await.expect("no errors");
        assert_eq!(
            got.len(),
            15,
            "three full pages are fetched, then the count stops it"
        );
    }

    #[tokio::test]
    async fn an_error_ends_the_stream_after_yielding_it() {
        let stream = items(2, |page| async move {
            if page == 2 {
                Err(crate::Error::InvalidInput("boom".into()))
            } else {
                Ok(Page {
                    items: vec![page; 2],
                    total: None,
                })
            }
        });
        let got: Vec<Result<u64>> = stream.collect().await;
        assert_eq!(got.len(), 3);
        assert!(got[2].is_err());
    }
}

//! Runs a stream on a task of its own, a few items ahead of whoever consumes it.
//!
//! Why: in a transfer, the encryption (or decryption) and the socket I/O otherwise take turns
//! on one thread. hyper polls an upload body from its connection task, so each chunk is
//! encrypted between two writes; a download body is read from the socket only when its
//! consumer asks for the next chunk, so decryption and reading alternate. Moving the producer
//! onto a task of its own, with a short queue between, lets a multi-threaded runtime do both
//! at once (issue 7: the stream round trip was measured with a third of the two cores idle).
//!
//! Outside a Tokio runtime there is no task to spawn, and the stream is consumed directly.
//! Dropping the returned stream aborts the task, so a cancelled transfer stops reading.
//!
//! The end of the stream is an explicit message from the producer. If the producer stops
//! without sending it (it panicked, or its runtime is shutting down), the consumer gets the
//! caller's `broken` item instead of a quiet end: a transfer must never mistake a producer
//! that died half way for a payload that ended there.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How many items the producer may run ahead. Chunks are 64 KiB on upload and what the
/// socket delivered on download, so this bounds the extra memory to a few hundred KiB.
pub(crate) const DEPTH: usize = 4;

/// `stream`, produced on a task of its own up to [`DEPTH`] items ahead of its consumer.
/// Should the producer stop before the end, the consumer gets `broken()` and then the end.
pub(crate) fn ahead<S>(stream: S, broken: fn() -> S::Item) -> Ahead<S>
where
    S: Stream + Send + 'static,
    S::Item: Send + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return Ahead::Inline(Box::pin(stream));
    };
    let (sender, receiver) = mpsc::channel(DEPTH);
    let task = runtime.spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            if sender.send(Message::Item(item)).await.is_err() {
                // The consumer is gone.
                return;
            }
        }
        let _ = sender.send(Message::End).await;
    });
    Ahead::Spawned {
        receiver,
        task,
        broken: Some(broken),
    }
}

/// What the producer task sends.
pub(crate) enum Message<I> {
    Item(I),
    /// The stream ended normally.
    End,
}

/// The stream [`ahead`] returns.
pub(crate) enum Ahead<S: Stream> {
    /// No runtime to spawn on: the stream itself.
    Inline(Pin<Box<S>>),
    /// Items come from the producer task through a bounded queue.
    Spawned {
        receiver: mpsc::Receiver<Message<S::Item>>,
        task: JoinHandle<()>,
        /// Taken once the stream has ended, one way or the other.
        broken: Option<fn() -> S::Item>,
    },
}

impl<S: Stream> Stream for Ahead<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        match self.get_mut() {
            Ahead::Inline(stream) => stream.as_mut().poll_next(cx),
            Ahead::Spawned {
                receiver, broken, ..
            } => {
                if broken.is_none() {
                    return Poll::Ready(None);
                }
                match receiver.poll_recv(cx) {
                    Poll::Ready(Some(Message::Item(item))) => Poll::Ready(Some(item)),
                    Poll::Ready(Some(Message::End)) => {
                        *broken = None;
                        Poll::Ready(None)
                    }
                    // The producer is gone without saying the stream ended.
                    Poll::Ready(None) => Poll::Ready(broken.take().map(|broken| broken())),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: Stream> Drop for Ahead<S> {
    fn drop(&mut self) {
        if let Ahead::Spawned { task, .. } = self {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn yields_every_item_in_order_then_ends() {
        let items: Vec<u32> = ahead(futures::stream::iter(0..1000), || u32::MAX)
            .collect()
            .await;
        assert_eq!(items, (0..1000).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_at_most_depth_items_ahead_and_stops_when_dropped() {
        let produced = Arc::new(AtomicUsize::new(0));
        let counter = produced.clone();
        let source = futures::stream::iter(0..usize::MAX).map(move |i| {
            counter.fetch_add(1, Ordering::SeqCst);
            i
        });
        let mut stream = ahead(source, || usize::MAX);
        assert_eq!(stream.next().await, Some(0));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // One taken, DEPTH queued, and at most one more held by a blocked `send`.
        let before_drop = produced.load(Ordering::SeqCst);
        assert!(before_drop <= 2 + DEPTH, "produced {before_drop} items");
        drop(stream);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(produced.load(Ordering::SeqCst), before_drop);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_producer_that_dies_half_way_is_reported_not_taken_for_the_end() {
        let source = futures::stream::iter(0..10).map(|i| {
            assert!(
                i < 3,
                "the producer fails at item 3 (this panic is the test)"
            );
            Ok::<i32, &str>(i)
        });
        let items: Vec<Result<i32, &str>> = ahead(source, || Err("broken")).collect().await;
        assert_eq!(items, [Ok(0), Ok(1), Ok(2), Err("broken")]);
    }

    #[test]
    fn without_a_runtime_the_stream_is_consumed_directly() {
        let stream = ahead(futures::stream::iter([1, 2, 3]), || -1);
        assert!(matches!(stream, Ahead::Inline(_)));
        let items: Vec<i32> = futures::executor::block_on(stream.collect());
        assert_eq!(items, [1, 2, 3]);
    }
}

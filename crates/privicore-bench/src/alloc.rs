//! Counting heap allocations, to explain a ratio rather than to set one.
//!
//! Timed rounds run with counting off (one relaxed load per allocation). A separate, untimed
//! pass turns it on around N calls of each side. Only threads that opted in are counted
//! ([`count_this_thread`]): the client runtime's workers and the main thread, never the
//! in-process mock's workers, whose allocations would otherwise be charged to whichever side
//! was being counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // Const-initialised and without a destructor: reading it never allocates, so it is safe
    // to use inside the allocator.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

/// The system allocator, counting allocations while [`Counter`] is running.
pub struct Counting;

fn note(size: usize) {
    if ENABLED.load(Ordering::Relaxed) && COUNTED.try_with(Cell::get).unwrap_or(false) {
        COUNT.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; counting
// touches only atomics and a const thread-local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Counts allocations made on the calling thread from now on (when counting is on).
pub fn count_this_thread() {
    COUNTED.with(|c| c.set(true));
}

/// Allocations and bytes counted between [`Counter::start`] and [`Counter::stop`].
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Allocations {
    /// Number of allocations (and reallocations).
    pub count: u64,
    /// Bytes requested.
    pub bytes: u64,
}

impl Allocations {
    /// Per call, for `calls` calls.
    pub fn per(self, calls: u64) -> (f64, f64) {
        let calls = calls.max(1) as f64;
        (self.count as f64 / calls, self.bytes as f64 / calls)
    }
}

/// A counting window. Only one may be open at a time (the bench is sequential).
pub struct Counter;

impl Counter {
    /// Resets the counts and starts counting.
    pub fn start() -> Self {
        COUNT.store(0, Ordering::Relaxed);
        BYTES.store(0, Ordering::Relaxed);
        ENABLED.store(true, Ordering::SeqCst);
        Counter
    }

    /// Stops counting and returns what was counted.
    pub fn stop(self) -> Allocations {
        ENABLED.store(false, Ordering::SeqCst);
        Allocations {
            count: COUNT.load(Ordering::Relaxed),
            bytes: BYTES.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        ENABLED.store(false, Ordering::SeqCst);
    }
}

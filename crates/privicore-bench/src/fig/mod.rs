//! The figures of issue 7, one module each. Each `run` sets up its own mock (fresh state, so
//! one figure's data cannot slow another's), measures both sides interleaved, and returns its
//! figures.

pub mod build;
pub mod cipher;
pub mod list;
pub mod read;
pub mod renewal;
pub mod store;
pub mod stream;

use tokio::runtime::Runtime;

use crate::report::Figure;
use crate::{Paths, Result, alloc};

/// The figure groups, in the order they run (`--only` takes these names).
pub const GROUPS: &[&str] = &[
    "read", "store", "stream", "cipher", "list", "renewal", "build",
];

/// What every figure needs.
pub struct Ctx {
    /// Smaller sizes, fewer rounds.
    pub quick: bool,
    /// The client runtime: both sides of every figure run on it.
    pub runtime: Runtime,
    /// Where things are.
    pub paths: Paths,
}

impl Ctx {
    /// The context of a run.
    pub fn new(quick: bool, paths: Paths) -> Result<Self> {
        Ok(Self {
            quick,
            runtime: client_runtime()?,
            paths,
        })
    }

    /// `quick` in quick mode, `full` otherwise.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// The client runtime: two workers, as many as the cores the issue budgets for. Its threads
/// (and the main thread, which drives `block_on`) are the ones allocation counting sees.
pub fn client_runtime() -> Result<Runtime> {
    alloc::count_this_thread();
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("client")
        .on_thread_start(alloc::count_this_thread)
        .enable_all()
        .build()?)
}

/// Runs one group.
pub fn run(group: &str, ctx: &Ctx) -> Result<Vec<Figure>> {
    match group {
        "read" => read::run(ctx),
        "store" => store::run(ctx),
        "stream" => stream::run(ctx),
        "cipher" => cipher::run(ctx),
        "list" => list::run(ctx),
        "renewal" => renewal::run(ctx),
        "build" => build::run(ctx),
        other => Err(format!("unknown figure group `{other}`").into()),
    }
}

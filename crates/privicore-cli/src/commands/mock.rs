//! `privicore mock`: the embedded mock server in the foreground, for other programs to use.

use privicore_mock::MockServer;

use crate::cli::MockArgs;
use crate::error::{Context, Result};
use crate::output;

/// Serves until Ctrl-C. The four URLs go to stdout, one per line (`api URL`, `ws URL`,
/// `stream URL`, `download URL`, as the `privicore-mock` binary prints them), so a script can
/// read them; how to use them goes to stderr.
pub async fn run(args: MockArgs) -> Result<()> {
    // Listen for the stop signal before the URLs are out: a program that reads them and
    // interrupts at once must get a clean stop, not the default of dying mid-write.
    let stop = Stop::listen()?;
    let server = MockServer::builder()
        .port(args.port)
        .variant(args.variant)
        .start()
        .await
        .context("start the mock server")?;
    output::line(format_args!(
        "api {}\nws {}\nstream {}\ndownload {}",
        server.api_url(),
        server.ws_url(),
        server.stream_url(),
        server.download_url()
    ))?;
    output::note(format_args!(
        "mock Privicore serving the `{}` wire; in another shell:\n  export PRIVICORE_API_URL={} PRIVICORE_WS_URL={}\nCtrl-C stops it (its data lives in memory only)",
        args.variant,
        server.api_url(),
        server.ws_url()
    ));
    stop.wait().await;
    server.shutdown().await;
    output::note("mock stopped");
    Ok(())
}

/// Ctrl-C (and, on Unix, SIGTERM, which service managers send), registered up front.
struct Stop {
    #[cfg(unix)]
    signals: (tokio::signal::unix::Signal, tokio::signal::unix::Signal),
}

impl Stop {
    #[cfg(unix)]
    fn listen() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).context("listen for Ctrl-C")?;
        let terminate = signal(SignalKind::terminate()).context("listen for SIGTERM")?;
        Ok(Self {
            signals: (interrupt, terminate),
        })
    }

    #[cfg(not(unix))]
    fn listen() -> Result<Self> {
        Ok(Self {})
    }

    #[cfg(unix)]
    async fn wait(mut self) {
        let (interrupt, terminate) = &mut self.signals;
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    }

    #[cfg(not(unix))]
    async fn wait(self) {
        // Without the signal there is no way to stop cleanly; serving on is the safe default.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

//! `privicore mock`: the embedded mock server in the foreground, for other programs to use.

use privicore_mock::MockServer;

use crate::cli::MockArgs;
use crate::error::{Context, Result};
use crate::output;

/// Serves until Ctrl-C. The four URLs go to stdout, one per line (`api URL`, `ws URL`,
/// `stream URL`, `download URL`, as the `privicore-mock` binary prints them), so a script can
/// read them; how to use them goes to stderr.
pub async fn run(args: MockArgs) -> Result<()> {
    let server = MockServer::builder()
        .port(args.port)
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
        "mock Privicore serving; in another shell:\n  export PRIVICORE_API_URL={} PRIVICORE_WS_URL={}\nCtrl-C stops it (its data lives in memory only)",
        server.api_url(),
        server.ws_url()
    ));
    tokio::signal::ctrl_c().await.context("wait for Ctrl-C")?;
    server.shutdown().await;
    output::note("mock stopped");
    Ok(())
}

//! `privicore-mock --port P`: serves a mock Privicore until Ctrl-C.

use std::process::ExitCode;

const HELP: &str = "\
privicore-mock: an in-memory Privicore server for tests

USAGE:
    privicore-mock [--port P]

OPTIONS:
    --port P    API port; the WebSocket, stream and download servers use P+1, P+2, P+3.
                0 (the default) picks free ports for all four.
    -h, --help  Show this help.

Prints its four URLs, one per line (`api ...`, `ws ...`, `stream ...`, `download ...`),
then serves until interrupted.";

fn parse(args: impl Iterator<Item = String>) -> Result<Option<u16>, String> {
    let mut port = 0;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                port = value
                    .parse()
                    .map_err(|_| format!("--port: `{value}` is not a port number"))?;
            }
            other => match other.strip_prefix("--port=") {
                Some(value) => {
                    port = value
                        .parse()
                        .map_err(|_| format!("--port: `{value}` is not a port number"))?;
                }
                None => return Err(format!("unknown argument `{other}` (try --help)")),
            },
        }
    }
    Ok(Some(port))
}

/// Writes to stdout, ignoring a closed pipe (`privicore-mock --help | head` must not panic,
/// and a server whose reader went away still serves).
fn say(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Writes an error to stderr, ignoring a closed pipe.
fn complain(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "privicore-mock: {text}");
}

#[tokio::main]
async fn main() -> ExitCode {
    let port = match parse(std::env::args().skip(1)) {
        Ok(Some(port)) => port,
        Ok(None) => {
            say(HELP);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            complain(&message);
            return ExitCode::from(2);
        }
    };
    let server = match privicore_mock::MockServer::builder()
        .port(port)
        .start()
        .await
    {
        Ok(server) => server,
        Err(error) => {
            complain(&error.to_string());
            return ExitCode::FAILURE;
        }
    };
    // One line per listener, flushed at once: a test (or a script) reads them to connect.
    say(&format!(
        "api {}\nws {}\nstream {}\ndownload {}",
        server.api_url(),
        server.ws_url(),
        server.stream_url(),
        server.download_url()
    ));
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

//! `privicore-mock --port P --variant NAME`: serves a mock Privicore until Ctrl-C.

use std::process::ExitCode;

const USAGE: &str = "\
privicore-mock: an in-memory Privicore server for tests

USAGE:
    privicore-mock [--port P] [--variant NAME]

OPTIONS:
    --port P          API port; the WebSocket, stream and download servers use P+1, P+2, P+3.
                      0 (the default) picks free ports for all four.
    --variant NAME    The wire to speak where the sources allow more than one
                      (docs/protocol.md §14); default `probe`. One of:";

const AFTER: &str = "\
    -h, --help        Show this help.

Prints its four URLs, one per line (`api ...`, `ws ...`, `stream ...`, `download ...`),
then serves until interrupted.";

/// The help text, with one line per wire variant.
fn help() -> String {
    let variants: Vec<String> = privicore_mock::Variant::all()
        .iter()
        .map(|v| format!("                        {:<22}{}", v.name(), v.summary()))
        .collect();
    format!("{USAGE}\n{}\n{AFTER}", variants.join("\n"))
}

/// What the command line asks for.
struct Options {
    port: u16,
    variant: privicore_mock::Variant,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        port: 0,
        variant: privicore_mock::Variant::default(),
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        // `--name value` and `--name=value` alike.
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => {
                let value = value()?;
                options.port = value
                    .parse()
                    .map_err(|_| format!("--port: `{value}` is not a port number"))?;
            }
            "--variant" => {
                options.variant = value()?.parse().map_err(|e| format!("--variant: {e}"))?;
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(Some(options))
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
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            say(&help());
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            complain(&message);
            return ExitCode::from(2);
        }
    };
    let server = match privicore_mock::MockServer::builder()
        .port(options.port)
        .variant(options.variant)
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

//! The servers the figures run against: the mock library on its own runtime inside this
//! process, or the `privicore-mock` binary as a child process.
//!
//! In-process mocks give the figures what only the library offers (fault injection, request
//! counts, short token lifetimes). They get their own runtime so that server work is not
//! scheduled on the client's workers, where it would queue behind, and be charged to,
//! whichever side is running. The stream figure needs the mock *out* of the process instead:
//! it keeps every payload in memory, which must not count as the SDK's.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child as Process, ChildStdout, Command, Stdio};
use std::time::Duration;

use privicore_mock::{MockServer, MockServerBuilder};
use tokio::runtime::Runtime;

use crate::Result;

/// A mock server running on a runtime of its own, stopped on drop.
pub struct InProcess {
    server: MockServer,
    /// `Some` until drop, which shuts it down without blocking.
    runtime: Option<Runtime>,
}

impl InProcess {
    /// Starts `builder`'s server. Call from synchronous code (not inside another runtime).
    pub fn start(builder: MockServerBuilder) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mock")
            .enable_all()
            .build()?;
        let server = runtime.block_on(builder.start())?;
        Ok(Self {
            server,
            runtime: Some(runtime),
        })
    }

    /// The server (counts, faults, URLs).
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// Its API base URL.
    pub fn api(&self) -> String {
        self.server().api_url().to_owned()
    }

    /// Its WebSocket URL.
    pub fn ws(&self) -> String {
        self.server().ws_url().to_owned()
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        // Without blocking: this may run while the client runtime is still alive. The
        // server itself is dropped afterwards; aborting tasks of a stopped runtime is a no-op.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The mock binary running as a child process, killed on drop.
pub struct Child {
    process: Process,
    /// Kept open: the mock may still write to it.
    _stdout: BufReader<ChildStdout>,
    /// Its API base URL.
    pub api: String,
    /// Its WebSocket URL.
    pub ws: String,
}

impl Child {
    /// Starts `program` (with `args`) on free ports and reads the URLs it prints.
    pub fn spawn(program: &Path, args: &[&str]) -> Result<Self> {
        let mut process = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let stdout = match process.stdout.take() {
            Some(stdout) => stdout,
            None => {
                stop(&mut process);
                return Err("the mock's stdout was not captured".into());
            }
        };
        // Read the URLs on a helper thread so that a mock that never prints cannot hang the
        // bench.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut urls: Vec<(String, String)> = Vec::new();
            while urls.len() < 4 {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if let Some((name, url)) = line.trim().split_once(' ') {
                            urls.push((name.to_owned(), url.to_owned()));
                        }
                    }
                }
            }
            let _ = sender.send((urls, reader));
        });
        let Ok((urls, reader)) = receiver.recv_timeout(Duration::from_secs(20)) else {
            stop(&mut process);
            return Err(format!("{} printed no URLs within 20 s", program.display()).into());
        };
        let find = |name: &str| {
            urls.iter()
                .find(|(n, _)| n == name)
                .map(|(_, url)| url.clone())
        };
        let (Some(api), Some(ws)) = (find("api"), find("ws")) else {
            stop(&mut process);
            return Err(format!("{} did not print its api and ws URLs", program.display()).into());
        };
        Ok(Self {
            process,
            _stdout: reader,
            api,
            ws,
        })
    }
}

impl Child {
    /// The mock's process id (the stream children read its CPU time).
    pub fn pid(&self) -> u32 {
        self.process.id()
    }
}

fn stop(process: &mut Process) {
    let _ = process.kill();
    let _ = process.wait();
}

impl Drop for Child {
    fn drop(&mut self) {
        stop(&mut self.process);
    }
}

/// `--serve-mock`: what the `privicore-mock` binary does, for when it was not built.
pub fn serve_forever() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = MockServer::start().await?;
        println!(
            "api {}\nws {}\nstream {}\ndownload {}",
            server.api_url(),
            server.ws_url(),
            server.stream_url(),
            server.download_url()
        );
        // Until the parent kills this process.
        std::future::pending::<()>().await;
        drop(server);
        Ok(())
    })
}

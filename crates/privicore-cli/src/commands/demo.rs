//! `privicore demo`: the whole story in one command, narrated.
//!
//! With no configuration it starts the embedded mock in this process; with `--api`/`--ws` (or
//! the environment) it tells the same story to that server, under a fresh throwaway profile
//! (random name and password), and deletes what it stored. Every claim it narrates is checked:
//! a failed check ends the demo with exit code 1. With `--json` the narration goes to stderr
//! and stdout carries only the closing summary, as JSON.
//!
//! The embedded mock exists only in a binary built with the `mock` feature (the default); a
//! slim build tells the story only to a server given by --api/--ws.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use privicore::{Client, FileTokenStore, KeyPair, StoreOptions, VaultKey};
#[cfg(feature = "mock")]
use privicore_mock::MockServer;
use secrecy::{ExposeSecret, SecretString};

use crate::cli::DemoArgs;
use crate::commands::data;
use crate::error::{CliError, Context, Result};
use crate::output::json::{DemoStep, DemoSummary};
use crate::{output, progress, settings};

/// Size of the small file: well under the inline threshold, so it travels inside the request.
const SMALL_SIZE: usize = 200;

/// Runs the demo.
pub async fn run(args: DemoArgs) -> Result<()> {
    let mut timeline = Timeline {
        json: args.json,
        ..Timeline::default()
    };
    let server = Server::connect(&args, &mut timeline).await?;
    timeline.show(format!("Privicore demo against {}\n", server.describe))?;
    let client = &server.client;

    let run_id = random_hex(4)?;
    let username = format!("demo-{run_id}@privicore.test");
    let password = SecretString::from(random_hex(24)?);
    let context = format!("privicore-demo-{run_id}");

    timeline
        .step("provision profile", async {
            client
                .provision(&username, password.clone(), &KeyPair::generate())
                .await
                .map(drop)
                .map_err(CliError::from)
        })
        .await?;
    timeline.say(format!(
        "Provisioned profile {username}: registered, logged in, public key registered."
    ))?;

    let session = timeline
        .step("log in", async {
            Ok(client.login(username.clone(), password.clone()).await?)
        })
        .await?;
    timeline.say(format!(
        "Logged in again with its username and password; the token is valid until {}.",
        output::when(session.expires_at())
    ))?;

    let dir = tempfile::Builder::new()
        .prefix("privicore-demo-")
        .tempdir()
        .context("create a temporary directory")?;
    let small = dir.path().join("small.txt");
    let large = dir.path().join("large.bin");
    let large_size = args.large_size;
    timeline
        .step("make test files", async {
            make_files(&small, &large, large_size).await
        })
        .await?;
    let vault = session.vault(VaultKey::generate());
    timeline.say(format!(
        "Made small.txt ({}) and large.bin ({}) in {}, and a vault key that stays in memory.",
        output::bytes(SMALL_SIZE as u64),
        output::bytes(large_size),
        dir.path().display()
    ))?;

    let options = StoreOptions::new(context.clone());
    let small_token = timeline
        .step("store small file", async {
            let file = open(&small).await?;
            let options = options.clone().file_name("small.txt");
            let (token, _) =
                data::store_reader(&vault, file, Some(SMALL_SIZE as u64), &options, "small.txt")
                    .await?;
            Ok(token)
        })
        .await?;
    timeline.say(format!(
        "Stored small.txt, encrypted here and sent inline: data token {small_token}."
    ))?;

    let large_token = timeline
        .step("store large file", async {
            let file = open(&large).await?;
            let options = options.clone().file_name("large.bin");
            let (token, sent) =
                data::store_reader(&vault, file, Some(large_size), &options, "large.bin").await?;
            check(
                sent == large_size,
                format!("{sent} bytes of large.bin were sent, not {large_size}"),
            )?;
            Ok(token)
        })
        .await?;
    // Over the inline threshold a payload goes to the stream server (the hidden size flag can
    // make it small enough to go inline).
    let how = if large_size > privicore::DEFAULT_INLINE_THRESHOLD as u64 {
        "streamed"
    } else {
        "sent inline"
    };
    timeline.say(format!(
        "Stored large.bin, encrypted here and {how}: data token {large_token}."
    ))?;

    let listed = timeline
        .step("list data tokens", async {
            let items = session
                .data_tokens()
                .list()
                .context(context.clone())
                .per_page(1)
                .collect()
                .await?;
            let mut tokens: Vec<&str> = items.iter().map(|i| i.token.as_str()).collect();
            tokens.sort_unstable();
            let mut expected = vec![small_token.as_str(), large_token.as_str()];
            expected.sort_unstable();
            check(
                tokens == expected,
                format!(
                    "the listing holds {} tokens, not the two just stored",
                    tokens.len()
                ),
            )?;
            Ok(items.len())
        })
        .await?;
    timeline.say(format!(
        "Listed the data tokens of context {context}, one per page: both are there ({listed} tokens)."
    ))?;

    timeline
        .step("retrieve small file", async {
            let back = vault.retrieve(&small_token).await?;
            let original = tokio::fs::read(&small).await.context("read small.txt")?;
            check(
                back == original,
                "small.txt came back different from the original",
            )
        })
        .await?;
    timeline.say(format!(
        "Retrieved small.txt: {}, decrypted and identical byte for byte.",
        output::bytes(SMALL_SIZE as u64)
    ))?;

    let large_back = dir.path().join("large.back");
    timeline
        .step("retrieve large file", async {
            // Into a file that appears only once the payload has verified; the comparison
            // below reads it only then.
            let bar = progress::transfer("large.bin", Some(large_size));
            let shown = bar.clone();
            let written = vault
                .retrieve_to_file_with_progress(&large_token, &large_back, move |n| {
                    shown.set_position(n);
                })
                .await;
            bar.finish_and_clear();
            let written = written?;
            check(
                written == large_size,
                format!("{written} bytes of large.bin came back, not {large_size}"),
            )?;
            match first_difference(large.clone(), large_back.clone()).await? {
                None => Ok(()),
                Some(offset) => Err(CliError::new(format!(
                    "check failed: large.bin came back different from byte {offset} on"
                ))),
            }
        })
        .await?;
    timeline.say(format!(
        "Retrieved large.bin, streamed and decrypted on the fly: {}, verified and identical byte for byte.",
        output::bytes(large_size)
    ))?;

    let apps = session.oauth();
    let (app_id, credentials) = timeline
        .step("OAuth: register app", async {
            let id = apps
                .register("privicore-demo", "https://demo.invalid/callback", "all")
                .await?;
            let credentials = apps.configuration(&id).await?;
            Ok((id, credentials))
        })
        .await?;
    timeline.say(format!(
        "Registered OAuth application privicore-demo (id {app_id}) and read its client credentials, which the server shows once."
    ))?;

    let application = client.oauth_client(
        credentials.client_id.clone(),
        credentials.client_secret.clone(),
    );
    let tokens = timeline
        .step("OAuth: authorize", async {
            Ok(application.authorize(&session, &["all"]).await?)
        })
        .await?;
    timeline.say(format!(
        "Authorized it: the profile asked for a code, the application retrieved it and exchanged it for tokens (scope {}).",
        tokens.scope.as_deref().unwrap_or("-")
    ))?;

    let token_file = dir.path().join("oauth-tokens.json");
    let oauth = timeline
        .step("OAuth: session, list", async {
            let store = Arc::new(FileTokenStore::new(&token_file));
            let oauth = client.oauth_session(tokens.clone(), store).await?;
            let seen = oauth
                .data_tokens()
                .list()
                .context(context.clone())
                .collect()
                .await?;
            check(
                seen.len() == 2,
                format!(
                    "the application sees {} data tokens, not the profile's 2",
                    seen.len()
                ),
            )?;
            let registered: Vec<_> = apps.list(100).try_collect().await?;
            check(
                registered
                    .iter()
                    .any(|app| app.application_id == app_id.as_str()),
                "the new application is missing from the profile's list",
            )?;
            Ok(oauth)
        })
        .await?;
    timeline.say(
        "Opened an OAuth session (tokens kept in a 0600 file): the application lists the same 2 data tokens.",
    )?;

    timeline
        .step("OAuth: refresh", async {
            let before = oauth.oauth_tokens().map(|t| t.access_token);
            oauth.refresh_oauth().await?;
            let after = oauth.oauth_tokens().map(|t| t.access_token);
            let rotated = match (&before, &after) {
                (Some(a), Some(b)) => a.expose_secret() != b.expose_secret(),
                _ => false,
            };
            check(rotated, "the access token did not change on refresh")?;
            // The new token works.
            oauth
                .data_tokens()
                .list()
                .context(context.clone())
                .collect()
                .await?;
            Ok(())
        })
        .await?;
    timeline.say(format!(
        "Refreshed the OAuth access token: a new one, saved before use, valid until {}.",
        output::when(oauth.expires_at())
    ))?;

    timeline
        .step("delete data tokens", async {
            let tokens = session.data_tokens();
            tokens.delete(small_token.as_str()).await?;
            let left = tokens.list().context(context.clone()).collect().await?;
            check(
                left.len() == 1 && left[0].token == large_token.as_str(),
                "after deleting small.txt's token the listing is not just large.bin's",
            )?;
            // The story's data leaves nothing behind on a real server.
            tokens.delete(large_token.as_str()).await?;
            let left = tokens.list().context(context.clone()).collect().await?;
            check(left.is_empty(), "tokens remain after deleting both")
        })
        .await?;
    timeline.say("Deleted small.txt's token (large.bin's was then the only one left), then large.bin's: none left.")?;

    timeline.summary(&server.name)
}

/// The server the demo talks to, and the mock behind it when it is embedded.
struct Server {
    client: Client,
    describe: String,
    /// `embedded mock`, or the API URL.
    name: String,
    /// Kept alive for the whole demo; dropping it stops the mock.
    #[cfg(feature = "mock")]
    _mock: Option<MockServer>,
}

impl Server {
    async fn connect(args: &DemoArgs, timeline: &mut Timeline) -> Result<Self> {
        match settings::urls(&args.server)? {
            (Some(api), Some(ws)) => Ok(Self {
                client: Client::builder().api_url(&api).ws_url(&ws).build()?,
                describe: format!("the server at {api} (WebSocket {ws})"),
                name: api,
                #[cfg(feature = "mock")]
                _mock: None,
            }),
            (Some(_), None) => Err(CliError::usage(
                "the demo needs the WebSocket URL too (--ws or PRIVICORE_WS_URL): retrieval results arrive there",
            )),
            (None, _) => Self::embedded(timeline).await,
        }
    }

    #[cfg(not(feature = "mock"))]
    async fn embedded(_timeline: &mut Timeline) -> Result<Self> {
        Err(CliError::usage(
            "this privicore was built without the embedded mock server (cargo feature `mock`): \
             pass --api and --ws (or PRIVICORE_API_URL and PRIVICORE_WS_URL) to run the demo against a server",
        ))
    }

    #[cfg(feature = "mock")]
    async fn embedded(timeline: &mut Timeline) -> Result<Self> {
        let mock = timeline
            .step("start mock server", async {
                MockServer::start().await.context("start the mock server")
            })
            .await?;
        let client = Client::builder()
            .api_url(mock.api_url())
            .ws_url(mock.ws_url())
            .build()?;
        Ok(Self {
            client,
            describe: format!(
                "an embedded mock server (API {}, WebSocket {})",
                mock.api_url(),
                mock.ws_url()
            ),
            name: "embedded mock".to_owned(),
            _mock: Some(mock),
        })
    }
}

/// The steps done so far and how long each took.
#[derive(Default)]
struct Timeline {
    steps: Vec<(&'static str, Duration)>,
    said: usize,
    /// The summary goes to stdout as JSON; the narration to stderr.
    json: bool,
}

impl Timeline {
    /// Runs one step, timing it; a failure names the step.
    async fn step<T>(
        &mut self,
        name: &'static str,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        let value = work.await.with_context(|| format!("demo step `{name}`"))?;
        self.steps.push((name, started.elapsed()));
        Ok(value)
    }

    /// Narrates one line, numbered.
    fn say(&mut self, text: impl std::fmt::Display) -> Result<()> {
        self.said += 1;
        self.show(format!("{:>2}. {text}", self.said))
    }

    /// One line of narration: on stdout, or on stderr when stdout carries JSON.
    fn show(&self, text: impl std::fmt::Display) -> Result<()> {
        if self.json {
            output::note(text);
            Ok(())
        } else {
            output::line(text)
        }
    }

    /// The closing table: step, duration.
    fn summary(&self, server: &str) -> Result<()> {
        if self.json {
            let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
            return output::json(&DemoSummary {
                server: server.to_owned(),
                steps: self
                    .steps
                    .iter()
                    .map(|(step, took)| DemoStep {
                        step,
                        micros: micros(*took),
                    })
                    .collect(),
                total_micros: micros(self.steps.iter().map(|(_, took)| *took).sum()),
                checks_passed: true,
            });
        }
        let width = self
            .steps
            .iter()
            .map(|(name, _)| name.len())
            .max()
            .unwrap_or(4);
        let mut text = format!("\n{:<width$}  {:>9}\n", "step", "time");
        let mut total = Duration::ZERO;
        for (name, took) in &self.steps {
            text.push_str(&format!("{name:<width$}  {:>9}\n", output::duration(*took)));
            total += *took;
        }
        text.push_str(&format!(
            "{:<width$}  {:>9}\n",
            "total",
            output::duration(total)
        ));
        text.push_str("\nEvery check passed.");
        output::line(text)
    }
}

/// Fails with `what` unless `ok`.
fn check(ok: bool, what: impl std::fmt::Display) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(CliError::new(format!("check failed: {what}")))
    }
}

async fn open(path: &Path) -> Result<tokio::fs::File> {
    tokio::fs::File::open(path)
        .await
        .with_context(|| format!("open {}", path.display()))
}

/// Writes the small text file and `large_size` bytes of pseudo-random data (incompressible,
/// so no layer can shortcut the transfer).
async fn make_files(small: &Path, large: &Path, large_size: u64) -> Result<()> {
    let text =
        b"Privicore demo: this small file is encrypted on this machine with a key only this \
process holds, stored as ciphertext, and replaced by an opaque data token. ";
    let small_data: Vec<u8> = text.iter().copied().cycle().take(SMALL_SIZE).collect();
    tokio::fs::write(small, small_data)
        .await
        .with_context(|| format!("write {}", small.display()))?;
    let large = large.to_path_buf();
    // Any seed will do: the data need only differ between runs.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    tokio::task::spawn_blocking(move || write_noise(&large, large_size, seed))
        .await
        .map_err(|e| CliError::new(format!("the file writer failed: {e}")))?
        .context("write large.bin")
}

fn write_noise(path: &Path, size: u64, seed: u64) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    // xorshift64*: fast, and plenty for bytes that only need to look random.
    let mut state = seed | 1;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in chunk.chunks_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bytes = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            word.copy_from_slice(&bytes[..word.len()]);
        }
        let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    file.flush()
}

/// The offset of the first byte where the two files differ (or where the shorter one ends),
/// read in bounded memory.
async fn first_difference(a: PathBuf, b: PathBuf) -> Result<Option<u64>> {
    tokio::task::spawn_blocking(move || -> std::io::Result<Option<u64>> {
        use std::io::Read;
        let mut a = std::io::BufReader::new(std::fs::File::open(a)?);
        let mut b = std::io::BufReader::new(std::fs::File::open(b)?);
        let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
        let mut offset = 0u64;
        loop {
            let n = read_full(&mut a, &mut x)?;
            let m = read_full(&mut b, &mut y)?;
            if let Some(i) = x[..n.min(m)]
                .iter()
                .zip(&y[..n.min(m)])
                .position(|(p, q)| p != q)
            {
                return Ok(Some(offset + i as u64));
            }
            if n != m {
                return Ok(Some(offset + n.min(m) as u64));
            }
            if n == 0 {
                return Ok(None);
            }
            offset += n as u64;
        }
        fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
            let mut filled = 0;
            while filled < buf.len() {
                match r.read(&mut buf[filled..])? {
                    0 => break,
                    n => filled += n,
                }
            }
            Ok(filled)
        }
    })
    .await
    .map_err(|e| CliError::new(format!("the comparison failed: {e}")))?
    .context("compare the files")
}

/// `2 * n` random hex characters from the operating system's generator (they make the
/// throwaway profile's password, so there is no weaker fallback).
fn random_hex(n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| {
        CliError::new(format!(
            "the operating system's random number generator failed: {e}"
        ))
    })?;
    Ok(hex::encode(buf))
}

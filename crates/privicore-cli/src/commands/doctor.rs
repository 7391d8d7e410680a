//! `privicore doctor`: a short, safe check of a real server, and which reading of each open
//! point of the protocol (docs/protocol.md §14) it speaks.
//!
//! The sequence touches nothing but what it creates: health, log in, renew the login token
//! once by reauthorizing it (which answer the server gives is open, docs/protocol.md §14.5),
//! join the WebSocket, store
//! a few bytes (streamed, so that the upload target is exercised) under a throwaway vault key
//! and context, retrieve and compare them, find them in the list, delete them, ask
//! request-status about the deletion's command id, and revoke the login token, whatever
//! happened before. A check that needs an earlier one that failed is skipped, the others still
//! run. What the SDK observed at each open point comes from [`privicore::Client::wire_report`].
//!
//! The report ([`report`]) is text or `--json`; nothing in it is a secret (the password, the
//! login token and the vault key are never printed).

mod report;

use std::future::Future;
use std::time::{Duration, Instant};

use privicore::wire_report::ReauthorizeAnswer;
use privicore::{Client, CommandId, CommandState, Session, StoreOptions, VaultKey};

use crate::cli::DoctorArgs;
use crate::error::{CliError, Result};
use crate::settings;

use report::{Check, Outcome, Report};

/// The payload stored and read back: a few bytes, marked as the doctor's.
const PAYLOAD: &[u8] = b"privicore doctor: a few bytes, stored and deleted at once";

/// Runs the checks and prints the report. Exit code 0 when every check passed, 1 otherwise
/// (with one `error:` line naming the failed checks).
pub async fn run(args: DoctorArgs) -> Result<()> {
    // What is missing locally (no server, no username, no password) is a plain error: there
    // is nothing to check without it. A missing WebSocket URL is the `websocket` check's
    // failure.
    let client = settings::builder(&args.login.server)?
        .command_timeout(Duration::from_secs(args.timeout))
        .build()?;
    let (api, ws) = settings::urls(&args.login.server)?;
    let username = settings::username(&args.login)?;
    let password = settings::password(&username, false)?;

    let mut doctor = Doctor::default();
    doctor.checks(&client, &username, password).await;
    let report = Report::new(
        api.as_deref(),
        ws.as_deref(),
        doctor.checks,
        client.wire_report(),
    );
    if args.json {
        crate::output::json(&report)?;
    } else {
        crate::output::line(report.text())?;
    }
    match report.failed() {
        failed if failed.is_empty() => Ok(()),
        failed => Err(CliError::new(format!(
            "doctor: {} of {} checks failed: {}",
            failed.len(),
            report.checks.len(),
            failed.join(", ")
        ))),
    }
}

/// The checks done so far.
#[derive(Default)]
struct Doctor {
    checks: Vec<Check>,
}

impl Doctor {
    /// The whole sequence. Each step runs only when the steps it needs passed.
    async fn checks(&mut self, client: &Client, username: &str, password: secrecy::SecretString) {
        self.step("health", async {
            client.health().await?;
            Ok("the server answers".to_owned())
        })
        .await;

        let session = self
            .step_with("login", async {
                let session = client.login(username.to_owned(), password).await?;
                Ok((session, format!("as {username}")))
            })
            .await;
        let Some(session) = session else {
            self.skip(
                &[
                    "reauthorize",
                    "websocket",
                    "store",
                    "retrieve",
                    "list",
                    "delete",
                    "request-status",
                    "revoke",
                ],
                "login",
            );
            return;
        };

        // Before anything else uses the token, so that the rest of the run goes on with the
        // renewed one (and the revoke at the end revokes it). A `200` replaces the token; the
        // SDK keeps only the new one, so a server that does not retire the old token itself
        // lets it lapse at its own expiry (the mock retires it).
        self.step("reauthorize", async {
            match session.reauthorize().await? {
                Some(ReauthorizeAnswer::NewToken) => Ok("renewed: a new token (200)".to_owned()),
                Some(ReauthorizeAnswer::Command) => {
                    Ok("renewed: a command (202), settled".to_owned())
                }
                Some(other) => Ok(format!("renewed: {other:?}")),
                None => Err(CliError::new(
                    "reauthorize did not renew the token (refused, or its command did not \
                     settle); the session logged in again instead",
                )),
            }
        })
        .await;

        let joined = self
            .step("websocket", async {
                session.join_websocket().await?;
                Ok("joined the profile channel".to_owned())
            })
            .await;

        let context = format!("privicore-doctor-{}", random_hex(4));
        // A throwaway key: it lives in this process only, and the payload is deleted anyway.
        // The threshold 0 sends even these few bytes through the stream server, so that the
        // upload target's form is seen.
        let vault = session.vault(VaultKey::generate()).inline_threshold(0);
        let token = if joined {
            self.step_with("store", async {
                let token = vault
                    .store(
                        PAYLOAD,
                        &StoreOptions::new(context.clone()).file_name("doctor.txt"),
                    )
                    .await?;
                Ok((token, format!("{} bytes, streamed", PAYLOAD.len())))
            })
            .await
        } else {
            self.skip(&["store"], "websocket");
            None
        };

        match &token {
            Some(token) => {
                self.step("retrieve", async {
                    let back = vault.retrieve(token).await?;
                    if back != PAYLOAD {
                        return Err(CliError::new(format!(
                            "the payload came back different ({} bytes, not {})",
                            back.len(),
                            PAYLOAD.len()
                        )));
                    }
                    Ok("identical byte for byte".to_owned())
                })
                .await;
            }
            None => self.skip(&["retrieve"], if joined { "store" } else { "websocket" }),
        }

        // A read: it needs no acknowledgement, so it runs whether or not the store did.
        self.step("list", async {
            let items = session
                .data_tokens()
                .list()
                .context(context.clone())
                .per_page(10)
                .collect()
                .await?;
            match &token {
                Some(token) if !items.iter().any(|i| i.token == token.as_str()) => Err(
                    CliError::new("the stored token is missing from its context's list"),
                ),
                Some(_) => Ok("the stored token is listed".to_owned()),
                None => Ok(format!("{} tokens in the doctor's context", items.len())),
            }
        })
        .await;

        let deleted = match &token {
            Some(token) => {
                self.step_with("delete", async {
                    let id = delete(&session, token.as_str()).await?;
                    Ok((id, "deleted and acknowledged".to_owned()))
                })
                .await
            }
            None => {
                self.skip(&["delete"], if joined { "store" } else { "websocket" });
                None
            }
        };

        match deleted {
            Some(id) => {
                self.step("request-status", async {
                    match session.command_status(&id).await? {
                        CommandState::Completed => Ok("the deletion is completed".to_owned()),
                        state => Err(CliError::new(format!(
                            "the acknowledged deletion reads {state:?}, not completed"
                        ))),
                    }
                })
                .await;
            }
            None => self.skip(&["request-status"], "delete"),
        }

        // Always, whatever happened: a doctor leaves no live token behind.
        self.step("revoke", async {
            session.logout().await?;
            Ok("the login token is revoked".to_owned())
        })
        .await;
    }

    /// Runs one check, timing it; whether it passed.
    async fn step(
        &mut self,
        name: &'static str,
        work: impl Future<Output = Result<String>>,
    ) -> bool {
        self.step_with(name, async { work.await.map(|detail| ((), detail)) })
            .await
            .is_some()
    }

    /// Runs one check that yields a value for later checks.
    async fn step_with<T>(
        &mut self,
        name: &'static str,
        work: impl Future<Output = Result<(T, String)>>,
    ) -> Option<T> {
        let started = Instant::now();
        let result = work.await;
        let took = started.elapsed();
        match result {
            Ok((value, detail)) => {
                self.checks
                    .push(Check::new(name, Outcome::Ok, took, detail));
                Some(value)
            }
            Err(error) => {
                self.checks
                    .push(Check::new(name, Outcome::Fail, took, error.one_line()));
                None
            }
        }
    }

    /// Records `names` as skipped because `needs` did not pass.
    fn skip(&mut self, names: &[&'static str], needs: &str) {
        for name in names {
            self.checks.push(Check::new(
                name,
                Outcome::Skipped,
                Duration::ZERO,
                format!("needs {needs}"),
            ));
        }
    }
}

/// Deletes `token` through [`Session::call`], which gives the command id request-status is
/// then asked about.
async fn delete(session: &Session, token: &str) -> Result<CommandId> {
    let answer = session
        .call("delete_data")
        .form("token", token)
        .send()
        .await?;
    answer
        .command_id()
        .cloned()
        .ok_or_else(|| CliError::new("delete_data answered as a read, not a command"))
}

/// `2 * n` random hex characters (a context name, not a secret: a clock fallback would do).
fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    if getrandom::fill(&mut buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        buf = nanos.to_le_bytes().to_vec();
    }
    hex::encode(buf)
}

//! The typed group handlers generated from the spec (`src/generated/`): every operation of the
//! spec has a typed method, the handlers send what the spec says against the mock, and a
//! secret given to a builder never shows in `Debug`.

mod common;

use std::path::{Path, PathBuf};

use privicore::handlers::{GENERATED, HAND_WRITTEN};
use privicore::{Error, RawAnswer};
use privicore_api::OPERATIONS;
use privicore_mock::CommandOutcome;
use secrecy::SecretString;

const PASSWORD_PLANTED: &str = "hunter2-never-in-debug";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `86 of 86, minus none`: each operation of the spec is either generated (its builder calls
/// the raw operation) or marked hand-written with a file that defines the named method and
/// calls the operation.
#[test]
fn every_operation_of_the_spec_has_a_typed_method() {
    let generated_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/generated");
    let mut missing = Vec::new();
    let (mut generated, mut hand_written) = (0, 0);
    for op in OPERATIONS {
        let as_generated: Vec<_> = GENERATED.iter().filter(|(id, _)| *id == op.id).collect();
        let as_hand_written: Vec<_> = HAND_WRITTEN
            .iter()
            .filter(|(id, _, _)| *id == op.id)
            .collect();
        match (as_generated.as_slice(), as_hand_written.as_slice()) {
            ([(_, path)], []) => {
                // `module::Type::method`: the module's file defines the method on the type and
                // its builder calls the raw operation.
                let mut parts = path.split("::");
                let (Some(module), Some(ty), Some(method)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    missing.push(format!("{}: malformed path {path}", op.id));
                    continue;
                };
                let source = read(&generated_dir.join(format!("{module}.rs")));
                let owner = ty.rsplit("::").next().unwrap_or(ty);
                let defines = source.contains(&format!("impl {owner} {{"))
                    || source.contains(&format!("impl crate::{owner} {{"));
                if !defines
                    || !source.contains(&format!("pub fn {method}("))
                    || !source.contains(&format!("raw.{}()", op.id))
                {
                    missing.push(format!("{}: no generated method {path}", op.id));
                    continue;
                }
                generated += 1;
            }
            ([], [(_, file, method)]) => {
                let path = workspace_root().join(file);
                let Ok(source) = std::fs::read_to_string(&path) else {
                    missing.push(format!(
                        "{}: hand-written file {file} does not exist",
                        op.id
                    ));
                    continue;
                };
                let name = method.rsplit("::").next().unwrap_or(method);
                let defines = source.contains(&format!("fn {name}("))
                    || source.contains(&format!("fn {name}<"));
                let calls = source.contains(&format!(".{}()", op.id))
                    || source.contains(&format!("\"{}\"", op.id));
                if !defines || !calls {
                    missing.push(format!(
                        "{}: {file} has no method {method} calling it (defines: {defines}, calls: {calls})",
                        op.id
                    ));
                    continue;
                }
                hand_written += 1;
            }
            (g, h) => missing.push(format!(
                "{}: {} generated and {} hand-written entries (want exactly one)",
                op.id,
                g.len(),
                h.len()
            )),
        }
    }
    for (id, _) in GENERATED {
        if !OPERATIONS.iter().any(|op| op.id == *id) {
            missing.push(format!("{id}: generated but not in the spec"));
        }
    }
    for (id, _, _) in HAND_WRITTEN {
        if !OPERATIONS.iter().any(|op| op.id == *id) {
            missing.push(format!("{id}: marked hand-written but not in the spec"));
        }
    }
    let covered = generated + hand_written;
    println!(
        "typed methods: {covered} of {} ({generated} generated, {hand_written} hand-written), missing: {}",
        OPERATIONS.len(),
        if missing.is_empty() {
            "none".to_string()
        } else {
            missing.join("; ")
        }
    );
    assert!(
        missing.is_empty(),
        "operations without a typed method:\n{}",
        missing.join("\n")
    );
    assert_eq!(covered, OPERATIONS.len());
}

#[test]
fn a_directory_user_body_never_shows_its_password() {
    let body = privicore::api::types::CreateDirectoryUserBody {
        directory_id: "dir-1".into(),
        username: "bob@example.com".into(),
        password: PASSWORD_PLANTED.into(),
    };
    let debug = format!("{body:?}");
    assert!(!debug.contains(PASSWORD_PLANTED), "{debug}");
    assert!(
        debug.contains("bob@example.com") && debug.contains("[redacted]"),
        "{debug}"
    );
    let builder = privicore::api::types::CreateDirectoryUserBody::builder()
        .directory_id("dir-1")
        .username("bob@example.com")
        .password(PASSWORD_PLANTED);
    let debug = format!("{builder:?}");
    assert!(!debug.contains(PASSWORD_PLANTED), "{debug}");
}

/// One call per group, through the typed handlers only, against the mock.
#[tokio::test]
async fn each_group_is_reachable_through_its_typed_handler() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "handlers@test").await;

    // Device: a command (acknowledged), then a read taking its id.
    let request = session
        .devices()
        .request_unique_identifier("phone")
        .send()
        .await
        .expect("device requested");
    let identifier = session
        .devices()
        .retrieve_unique_identifier(request.to_string())
        .send()
        .await
        .expect("identifier");
    let device = match identifier {
        privicore::types::DeviceIdentifierResponse::String(id) => id,
        privicore::types::DeviceIdentifierResponse::Object { device_identifier } => {
            device_identifier
        }
    };
    session
        .devices()
        .approve_device(&device)
        .send()
        .await
        .expect("approved");
    let devices = session
        .devices()
        .list_profile_devices()
        .send()
        .await
        .expect("listed");
    assert!(!devices.is_empty(), "the approved device is listed");

    // Storage, Policy, Verified authenticator, Public key, Profile: reads answer.
    session
        .storage()
        .list_storage_devices()
        .send()
        .await
        .expect("storage");
    session
        .policies()
        .list_policy_templates()
        .send()
        .await
        .expect("templates");
    session
        .authenticators()
        .list_authenticators()
        .send()
        .await
        .expect("authenticators");

    // Directory: the scoped handle fills in the directory id; the password is sent, and
    // never shown by the builder's Debug.
    let directory = session
        .directories()
        .register_directory("engineering")
        .send()
        .await
        .expect("directory registered");
    let create = session
        .directories()
        .directory(directory.to_string())
        .create_directory_user("bob@test", SecretString::from(PASSWORD_PLANTED));
    let debug = format!("{create:?}");
    assert!(!debug.contains(PASSWORD_PLANTED), "{debug}");
    create.send().await.expect("directory user created");
    assert_eq!(mock.count("create_directory_user"), 1);
    let users = session
        .directories()
        .directory(directory.to_string())
        .list_directory_users()
        .send()
        .await
        .expect("users listed");
    assert!(
        users.iter().any(|u| u.username == "bob@test"),
        "the new user is listed: {users:?}"
    );
}

/// A value the spec does not allow is refused before anything is sent.
#[tokio::test]
async fn a_value_outside_the_spec_is_a_typed_error_and_nothing_is_sent() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "invalid@test").await;
    let before = mock.count("set_quorum_strategy") + mock.count("set_voting_time_limit");

    let error = session
        .authenticators()
        .set_quorum_strategy("majority", "0")
        .send()
        .await
        .expect_err("not a strategy");
    assert!(
        matches!(&error, Error::InvalidInput(m) if m.contains("set_quorum_strategy") && m.contains("strategy")),
        "{error}"
    );
    let error = session
        .authenticators()
        .set_voting_time_limit(0)
        .send()
        .await
        .expect_err("0 seconds");
    assert!(
        matches!(&error, Error::InvalidInput(m) if m.contains("timeLimit")),
        "{error}"
    );
    assert_eq!(
        mock.count("set_quorum_strategy") + mock.count("set_voting_time_limit"),
        before,
        "nothing was sent"
    );

    // The valid values go through.
    session
        .authenticators()
        .set_quorum_strategy("consensus", "0")
        .send()
        .await
        .expect("a valid strategy");
    session
        .authenticators()
        .set_voting_time_limit(300)
        .send()
        .await
        .expect("a valid limit");
}

/// The escape hatch cannot send a command as a read (which would be retried, i.e. re-posted)
/// nor a read as a command (which would wait for an acknowledgement that never comes).
/// A device of `session`'s profile, registered through the typed methods.
async fn registered_device(session: &privicore::Session, name: &str) -> String {
    let request = session
        .devices()
        .request_unique_identifier(name)
        .send()
        .await
        .expect("device requested");
    match session
        .devices()
        .retrieve_unique_identifier(request.to_string())
        .send()
        .await
        .expect("identifier")
    {
        privicore::types::DeviceIdentifierResponse::String(id) => id,
        privicore::types::DeviceIdentifierResponse::Object { device_identifier } => {
            device_identifier
        }
    }
}

#[tokio::test]
async fn the_escape_hatch_reads_with_a_path_param() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "hatch-read@test").await;
    let device = registered_device(&session, "phone-a").await;
    let answer = session
        .call("retrieve_device_configuration")
        .path_param("deviceIdentifier", device.as_str())
        .send()
        .await
        .expect("read");
    let RawAnswer::Read { status, body } = &answer else {
        panic!("a read answers as a read: {answer:?}");
    };
    assert_eq!(*status, 200);
    assert_eq!(body["device-identifier"], serde_json::json!(device));
    assert_eq!(answer.command_id(), None);
    assert_eq!(mock.count("retrieve_device_configuration"), 1);
    // The device's client secret is in the answer, never in its `Debug`.
    let secret = answer.body().expect("a read")["client-secret"]
        .as_str()
        .expect("a client secret")
        .to_owned();
    assert!(!secret.is_empty());
    assert!(!format!("{answer:?}").contains(&secret), "{answer:?}");
    // Nor is a value given to a call.
    let call = session
        .call("authenticate")
        .form("password", PASSWORD_PLANTED)
        .query("q", PASSWORD_PLANTED)
        .path_param("p", PASSWORD_PLANTED);
    let shown = format!("{call:?}");
    assert!(!shown.contains(PASSWORD_PLANTED), "{shown}");
    assert!(shown.contains("\"password\""), "the names show: {shown}");
}

#[tokio::test]
async fn the_escape_hatch_awaits_a_commands_acknowledgement() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "hatch-command@test").await;
    let answer = session
        .call("request_unique_identifier")
        .form("deviceName", "phone-b")
        .send()
        .await
        .expect("command");
    let id = answer.command_id().expect("a command answers with its id");
    // Returned only once acknowledged: the mock already holds the command as completed.
    assert_eq!(
        mock.command_outcome(id.as_str()),
        Some(CommandOutcome::Completed)
    );
    assert_eq!(answer.body(), None);
    assert_eq!(mock.count("request_unique_identifier"), 1, "sent once");
}

#[tokio::test]
async fn the_escape_hatch_refuses_what_the_spec_does_not_name() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "hatch-unknown@test").await;
    mock.clear_recorded();
    let error = session
        .call("no_such_operation")
        .send()
        .await
        .expect_err("not in the spec");
    assert!(
        matches!(&error, Error::InvalidInput(m) if m.contains("\"no_such_operation\" is not an operation of the spec")),
        "{error}"
    );
    let error = session
        .call("retrieve_device_configuration")
        .send()
        .await
        .expect_err("the path parameter is missing");
    assert!(
        matches!(&error, Error::InvalidInput(m) if m.contains("needs the path parameter `deviceIdentifier`")),
        "{error}"
    );
    let error = session
        .call("list_profile_devices")
        .path_param("deviceIdentifier", "d-1")
        .send()
        .await
        .expect_err("no such path parameter");
    assert!(
        matches!(&error, Error::InvalidInput(m) if m.contains("has no path parameter `deviceIdentifier`")),
        "{error}"
    );
    assert_eq!(
        mock.count("retrieve_device_configuration"),
        0,
        "nothing was sent"
    );
    assert_eq!(mock.count("list_profile_devices"), 0, "nothing was sent");
}

#[tokio::test]
async fn the_escape_hatch_surfaces_a_rejected_command() {
    let (mock, client) = common::start().await;
    let session = common::provisioned(&client, "hatch-rejected@test").await;
    let error = session
        .call("approve_device")
        .form("deviceIdentifier", "unknown-device")
        .send()
        .await
        .expect_err("an unknown device cannot be approved");
    let Error::CommandRejected {
        operation,
        command_id,
        reason,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(*operation, "approve_device");
    assert!(reason.contains("device"), "the server's reason: {reason}");
    assert!(
        matches!(mock.command_outcome(command_id), Some(CommandOutcome::Failed(key)) if key == *reason),
        "the mock failed the command with the reason the SDK reports"
    );
}

/// A provisioned session called `name` on a mock that answers every request `500`/`503`,
/// through a client that retries twice without waiting long; the recording starts empty.
async fn failing_server(name: &str) -> (privicore_mock::MockServer, privicore::Session) {
    let (mock, client) = common::start_with(privicore_mock::MockServer::builder(), |b| {
        b.retry_policy(
            privicore::RetryPolicy::default()
                .max_retries(2)
                .initial_backoff(std::time::Duration::from_millis(1))
                .max_backoff(std::time::Duration::from_millis(2)),
        )
    })
    .await;
    let session = common::provisioned(&client, name).await;
    mock.clear_recorded();
    mock.faults().update(|f| f.error_rate = 1.0);
    (mock, session)
}

/// How many requests to `op` the mock recorded.
fn sent(mock: &privicore_mock::MockServer, op: &str) -> usize {
    mock.recorded()
        .iter()
        .filter(|r| r.operation_id == Some(op))
        .count()
}

/// Retries come from the spec: on a server that answers every request `500`/`503`, a GET and
/// a POST marked `x-privicore-idempotent` are tried again, a POST read without the flag and a
/// command are sent once.
#[tokio::test]
async fn retries_follow_the_spec_not_the_method() {
    let (mock, session) = failing_server("retries@test").await;
    session
        .token_expiry()
        .await
        .expect_err("every answer fails");
    assert_eq!(
        sent(&mock, "retrieve_token_expiry"),
        3,
        "a POST marked idempotent is retried"
    );
    session
        .storage()
        .list_storage_devices()
        .send()
        .await
        .expect_err("every answer fails");
    assert_eq!(sent(&mock, "list_storage_devices"), 3, "a GET is retried");
    session
        .profile()
        .generate_token_qr()
        .send()
        .await
        .expect_err("every answer fails");
    assert_eq!(
        sent(&mock, "generate_token_qr"),
        1,
        "a POST without the flag is sent once"
    );
    session
        .devices()
        .request_unique_identifier("once")
        .send()
        .await
        .expect_err("every answer fails");
    assert_eq!(
        sent(&mock, "request_unique_identifier"),
        1,
        "a command is never re-posted"
    );
    mock.faults().clear();
}

/// The answers are this crate's own types (`privicore::types`), and their secrets do not show
/// in `Debug` either.
#[tokio::test]
async fn an_answer_with_a_secret_is_redacted_in_debug() {
    let (_mock, client) = common::start().await;
    let session = common::provisioned(&client, "keys@test").await;
    let pair: privicore::types::GeneratedKeyPair = session
        .public_keys()
        .generate_key_pair()
        .send()
        .await
        .expect("a key pair");
    assert!(!pair.private_key.is_empty());
    let debug = format!("{pair:?}");
    assert!(!debug.contains(&pair.private_key), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
}

#[tokio::test]
async fn the_escape_hatch_retries_only_what_the_spec_says_is_safe() {
    let (mock, session) = failing_server("hatch-retries@test").await;
    let error = session
        .call("list_storage_devices")
        .send()
        .await
        .expect_err("every answer fails");
    assert!(matches!(error.status(), Some(500 | 503)), "{error}");
    assert_eq!(sent(&mock, "list_storage_devices"), 3, "a GET is retried");
    session
        .call("request_unique_identifier")
        .form("deviceName", "phone-c")
        .send()
        .await
        .expect_err("every answer fails");
    assert_eq!(
        sent(&mock, "request_unique_identifier"),
        1,
        "a command is sent once"
    );
    mock.faults().clear();

    // The session's credential applies, renewed after a `401` like a typed call's.
    mock.clear_recorded();
    mock.expire_tokens();
    let answer = session
        .call("list_profile_devices")
        .send()
        .await
        .expect("renewed after the token expired");
    assert!(
        matches!(&answer, RawAnswer::Read { status: 200, body } if body.is_array()),
        "{answer:?}"
    );
    assert_eq!(
        sent(&mock, "list_profile_devices"),
        2,
        "refused once, replayed once"
    );
    assert!(
        answer.body().is_some_and(serde_json::Value::is_array),
        "{answer:?}"
    );
}

/// The public items of `source`: each `pub` (not `pub(crate)`) declaration, up to its body or
/// its end, as one line.
fn public_signatures(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    for line in source.lines() {
        let trimmed = line.trim();
        if current.is_none()
            && [
                "pub fn ",
                "pub async fn ",
                "pub struct ",
                "pub enum ",
                "pub type ",
                "pub use ",
            ]
            .iter()
            .any(|start| trimmed.starts_with(start))
        {
            current = Some(String::new());
        }
        if let Some(signature) = current.as_mut() {
            signature.push_str(trimmed);
            signature.push(' ');
            if trimmed.ends_with('{') || trimmed.ends_with(';') {
                found.extend(current.take());
            }
        }
    }
    found
}

/// The names a file imports from the raw client or progenitor, one-line `use` statements
/// (`use privicore_api::types::{self, X as Y};` imports `types` and `Y`).
fn raw_imports(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in source.lines().map(str::trim) {
        let Some(path) = ["use privicore_api::", "use progenitor_client::"]
            .iter()
            .find_map(|start| line.strip_prefix(start))
        else {
            continue;
        };
        let path = path.trim_end_matches(';');
        let (module, items) = match path.split_once('{') {
            Some((module, items)) => (module.trim_end_matches("::"), items.trim_end_matches('}')),
            None => ("", path),
        };
        for item in items.split(',').map(str::trim) {
            let name = match item.split_once(" as ") {
                Some((_, alias)) => alias,
                None => item.rsplit("::").next().unwrap_or(item),
            };
            let name = if name == "self" {
                module.rsplit("::").next().unwrap_or(module)
            } else {
                name
            };
            if !name.is_empty() {
                names.push(name.trim().to_owned());
            }
        }
    }
    names
}

/// Whether `text` names `word` as a whole, unqualified identifier (`crate::types::X` is not
/// the `types` a file imported).
fn names(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        if text[..at].ends_with("::") {
            return false;
        }
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// The session's public surface (and what the crate root re-exports) names no type of the
/// generated raw client or of progenitor, so that a progenitor upgrade cannot break code
/// written against it. The documented exceptions are the raw layer itself.
#[test]
fn the_session_surface_names_no_raw_client_type() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // The deliberate exceptions, each documented where it is declared.
    let allowed: &[(&str, &str)] = &[
        // The unstable raw layer, documented as such on `Session::raw`.
        (
            "session.rs",
            "pub fn raw(&self) -> &privicore_api::Client {",
        ),
        // The raw crate itself, reachable as `privicore::api`.
        ("lib.rs", "pub use privicore_api as api;"),
    ];
    let mut leaks = Vec::new();
    for file in ["session.rs", "raw_call.rs", "lib.rs"] {
        let source = read(&src.join(file));
        let imported = raw_imports(&source);
        for signature in public_signatures(&source) {
            let leak = ["privicore_api::", "progenitor_client::"]
                .iter()
                .any(|path| signature.contains(path))
                || imported.iter().any(|name| names(&signature, name));
            let excused = allowed
                .iter()
                .any(|(f, s)| *f == file && signature.trim() == *s);
            if leak && !excused {
                leaks.push(format!("{file}: {signature}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "public signatures that name the raw client's types:\n{}",
        leaks.join("\n")
    );
}

//! `privicore doctor`: against the mock in three wire variants, the JSON names exactly the
//! variant the mock plays at each open point and the text says the same; a failing check is
//! named, the others still run, and the login token is revoked whatever happened.

use assert_cmd::Command;
use privicore_mock::{
    CommandAnswer, DataAnswer, FaultConfig, ListAnswer, MockServer, RequestStatusMethod,
    UploadAnswer, Variant,
};
use serde_json::{Value, json};

use crate::common::{Mock, PASSWORD};

/// The doctor's report and exit code; durations are zeroed (they vary from run to run).
fn doctor_json(cmd: &mut Command, extra: &[&str]) -> (Value, Option<i32>, String) {
    let output = cmd
        .args(["doctor", "--json"])
        .args(extra)
        .output()
        .expect("runs");
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    let mut report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}); stderr: {stderr}"));
    for check in report["checks"].as_array_mut().expect("checks") {
        assert!(check["duration_ms"].is_u64(), "{check}");
        check["duration_ms"] = json!(0);
    }
    (report, output.status.code(), stderr)
}

/// `name: (outcome, detail)` for each check, in order, as the report lists them.
fn checks(report: &Value) -> Vec<(String, String, String)> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().expect("name").to_owned(),
                c["outcome"].as_str().expect("outcome").to_owned(),
                c["detail"].as_str().expect("detail").to_owned(),
            )
        })
        .collect()
}

/// The reauthorize check's detail when the server answers `200` with a new token.
const NEW_TOKEN: &str = "renewed: a new token (200)";

/// The checks of a run where everything passed, reauthorize's detail being `reauthorized`.
fn all_passed(reauthorized: &str) -> Value {
    let check = |name: &str, detail: &str| json!({"name": name, "outcome": "ok", "duration_ms": 0, "detail": detail});
    json!([
        check("health", "the server answers"),
        check("login", "as doc"),
        check("reauthorize", reauthorized),
        check("websocket", "joined the profile channel"),
        check("store", "57 bytes, streamed"),
        check("retrieve", "identical byte for byte"),
        check("list", "the stored token is listed"),
        check("delete", "deleted and acknowledged"),
        check("request-status", "the deletion is completed"),
        check("revoke", "the login token is revoked"),
    ])
}

/// Runs the doctor on `mock` as a passing run and checks the whole JSON report (reauthorize's
/// detail being `reauthorized`), the text report's open-point lines (`text_points`), that the
/// login token was revoked and that the stored bytes were deleted.
fn passes_with(mock: &Mock, reauthorized: &str, wire: Value, text_points: &[&str]) {
    mock.provision("doc");
    let live = mock.server.stats().tokens;
    let revokes = mock.server.count("revoke_authorization_token");
    let reauthorizes = mock.server.count("reauthorize_authorization_token");
    let (report, code, stderr) = doctor_json(
        mock.cmd()
            .env("PRIVICORE_USERNAME", "doc")
            .env("PRIVICORE_PASSWORD", PASSWORD),
        &[],
    );
    assert_eq!(code, Some(0), "stderr: {stderr}\n{report:#}");
    assert_eq!(
        report,
        json!({
            "api_url": mock.server.api_url(),
            "ws_url": mock.server.ws_url(),
            "passed": true,
            "checks": all_passed(reauthorized),
            "wire": wire,
        }),
        "{report:#}"
    );
    assert_eq!(mock.server.count("revoke_authorization_token") - revokes, 1);
    assert_eq!(
        mock.server.count("reauthorize_authorization_token") - reauthorizes,
        1,
        "the token is renewed once"
    );
    assert_eq!(
        mock.server.stats().tokens,
        live,
        "no live login token is left"
    );
    assert_eq!(
        mock.server.stats().data_tokens,
        0,
        "the stored bytes are deleted"
    );

    let output = mock
        .cmd()
        .env("PRIVICORE_USERNAME", "doc")
        .env("PRIVICORE_PASSWORD", PASSWORD)
        .arg("doctor")
        .output()
        .expect("runs");
    let text = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(output.status.code(), Some(0), "{text}");
    // Shown with `--nocapture`: the two reports of this variant, for a person to read.
    println!("{text}\n{report:#}");
    let lines: Vec<&str> = text.lines().collect();
    for name in [
        "health",
        "login",
        "reauthorize",
        "websocket",
        "store",
        "retrieve",
        "list",
        "delete",
        "request-status",
        "revoke",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("ok ") && l.split_whitespace().nth(1) == Some(name)),
            "no `ok {name}` line in:\n{text}"
        );
    }
    for point in text_points {
        assert!(lines.contains(point), "no line `{point}` in:\n{text}");
    }
    assert_eq!(lines.last(), Some(&"10 of 10 checks passed"), "{text}");
}

#[test]
fn the_default_wire_is_reported() {
    let mock = Mock::start();
    passes_with(
        &mock,
        NEW_TOKEN,
        json!({
            "request_status_method": "POST",
            "upload_target": "stream_uri",
            "accepted_status": 202,
            "command_id_encoding": "json",
            "list_shape": "envelope",
            "data_delivery": "inline",
            "data_status_messages": false,
            "reauthorize": "new_token",
        }),
        &[
            "seen          request-status method  POST",
            "seen          upload target          stream uri",
            "seen          command accepted       202",
            "seen          command id             json",
            "seen          list shape             envelope",
            "seen          data delivery          inline",
            "seen          data status messages   none",
            "seen          reauthorize            new token",
        ],
    );
}

/// §14.5: reauthorize answered `202` and a command id, the renewal settling by command.
#[test]
fn a_reauthorize_answered_by_command_is_reported() {
    let mock = Mock::start_with(MockServer::builder().variant(Variant::ReauthorizeAsync));
    passes_with(
        &mock,
        "renewed: a command (202), settled",
        json!({
            "request_status_method": "POST",
            "upload_target": "stream_uri",
            "accepted_status": 202,
            "command_id_encoding": "json",
            "list_shape": "envelope",
            "data_delivery": "inline",
            "data_status_messages": false,
            "reauthorize": "command",
        }),
        &[
            "seen          request-status method  POST",
            "seen          reauthorize            command",
        ],
    );
}

#[test]
fn every_other_reading_is_reported() {
    let mock = Mock::start_with(
        MockServer::builder()
            .request_status_method(RequestStatusMethod::Get)
            .upload_answer(UploadAnswer::StreamServer)
            .command_answer(CommandAnswer::OkPlainText)
            .list_answer(ListAnswer::BareArray)
            .data_answer(DataAnswer::StatusThenLink { status_messages: 2 }),
    );
    passes_with(
        &mock,
        NEW_TOKEN,
        json!({
            "request_status_method": "GET",
            "upload_target": "stream_server",
            "accepted_status": 200,
            "command_id_encoding": "plain_text",
            "list_shape": "bare_array",
            "data_delivery": "link",
            "data_status_messages": true,
            "reauthorize": "new_token",
        }),
        &[
            "seen          request-status method  GET",
            "seen          upload target          stream server",
            "seen          command accepted       200",
            "seen          command id             plain text",
            "seen          list shape             bare array",
            "seen          data delivery          link",
            "seen          data status messages   seen",
            "seen          reauthorize            new token",
        ],
    );
}

/// A reauthorize answer the client cannot read: the session logs in again, which the
/// reauthorize check reports as its failure (the renewal did not come from reauthorize), and
/// every other check still runs and passes.
#[test]
fn a_reauthorize_that_does_not_renew_fails_its_check() {
    let mock = Mock::start();
    mock.provision("doc");
    mock.server.faults().set(FaultConfig {
        malform_rate: 1.0,
        mangle_operations: vec!["reauthorize_authorization_token".to_owned()],
        ..FaultConfig::default()
    });
    let logins = mock.server.count("authenticate");
    let (report, code, stderr) = doctor_json(
        mock.cmd()
            .env("PRIVICORE_USERNAME", "doc")
            .env("PRIVICORE_PASSWORD", PASSWORD),
        &[],
    );
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(
        stderr,
        "error: doctor: 1 of 10 checks failed: reauthorize\n"
    );
    let checks = checks(&report);
    let outcomes: Vec<(&str, &str)> = checks
        .iter()
        .map(|(name, outcome, _)| (name.as_str(), outcome.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("health", "ok"),
            ("login", "ok"),
            ("reauthorize", "fail"),
            ("websocket", "ok"),
            ("store", "ok"),
            ("retrieve", "ok"),
            ("list", "ok"),
            ("delete", "ok"),
            ("request-status", "ok"),
            ("revoke", "ok"),
        ]
    );
    assert_eq!(
        checks[2].2,
        "reauthorize did not renew the token (refused, or its command did not settle); the \
         session logged in again instead"
    );
    assert_eq!(
        mock.server.count("authenticate") - logins,
        2,
        "the doctor's login, and the one that replaced the unread reauthorize"
    );
    assert_eq!(report["wire"]["reauthorize"], Value::Null, "{report:#}");
}

#[test]
fn a_websocket_that_never_joins_fails_its_check_and_the_rest_still_run() {
    let mock = Mock::start();
    mock.provision("doc");
    let live = mock.server.stats().tokens;
    let revokes = mock.server.count("revoke_authorization_token");
    // Nothing listens on port 1: the join cannot succeed.
    let (report, code, stderr) = doctor_json(
        mock.cmd()
            .env("PRIVICORE_WS_URL", "ws://127.0.0.1:1")
            .env("PRIVICORE_USERNAME", "doc")
            .env("PRIVICORE_PASSWORD", PASSWORD),
        &["--timeout", "2"],
    );
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(
        stderr, "error: doctor: 1 of 10 checks failed: websocket\n",
        "one error line naming the failed check"
    );
    assert_eq!(report["passed"], json!(false));
    let outcomes: Vec<(String, String)> = checks(&report)
        .into_iter()
        .map(|(name, outcome, _)| (name, outcome))
        .collect();
    let expected = [
        ("health", "ok"),
        ("login", "ok"),
        ("reauthorize", "ok"),
        ("websocket", "fail"),
        ("store", "skipped"),
        ("retrieve", "skipped"),
        ("list", "ok"),
        ("delete", "skipped"),
        ("request-status", "skipped"),
        ("revoke", "ok"),
    ]
    .map(|(n, o)| (n.to_owned(), o.to_owned()));
    assert_eq!(outcomes, expected);
    let websocket = &checks(&report)[3];
    assert!(websocket.2.contains("WebSocket"), "{websocket:?}");
    // What was reached is reported, what was not is null.
    assert_eq!(report["wire"]["list_shape"], json!("envelope"));
    assert_eq!(report["wire"]["reauthorize"], json!("new_token"));
    assert_eq!(report["wire"]["upload_target"], Value::Null);
    assert_eq!(report["wire"]["data_status_messages"], Value::Null);
    assert_eq!(mock.server.count("revoke_authorization_token") - revokes, 1);
    assert_eq!(
        mock.server.stats().tokens,
        live,
        "no live login token is left"
    );
}

#[test]
fn a_wrong_password_fails_login_and_skips_what_needs_it() {
    let mock = Mock::start();
    mock.provision("doc");
    let live = mock.server.stats().tokens;
    let (report, code, stderr) = doctor_json(
        mock.cmd()
            .env("PRIVICORE_USERNAME", "doc")
            .env("PRIVICORE_PASSWORD", "not-the-password"),
        &[],
    );
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(stderr, "error: doctor: 1 of 10 checks failed: login\n");
    let checks = checks(&report);
    assert_eq!(checks[0].0, "health");
    assert_eq!(checks[0].1, "ok");
    assert_eq!(checks[1].0, "login");
    assert_eq!(checks[1].1, "fail");
    assert!(
        checks[2..]
            .iter()
            .all(|(_, outcome, detail)| outcome == "skipped" && detail == "needs login"),
        "{checks:?}"
    );
    assert_eq!(checks.len(), 10);
    assert!(!report.to_string().contains("not-the-password"));
    assert_eq!(mock.server.stats().tokens, live, "no token was issued");
    assert_eq!(mock.server.count("revoke_authorization_token"), 0);
}

#[test]
fn a_server_that_does_not_answer_fails_health_and_login() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // Nothing listens on port 1.
    let (report, code, stderr) = doctor_json(
        crate::common::bare(dir.path())
            .env("PRIVICORE_API_URL", "http://127.0.0.1:1")
            .env("PRIVICORE_WS_URL", "ws://127.0.0.1:1")
            .env("PRIVICORE_USERNAME", "doc")
            .env("PRIVICORE_PASSWORD", PASSWORD),
        &["--timeout", "2"],
    );
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(
        stderr,
        "error: doctor: 2 of 10 checks failed: health, login\n"
    );
    let checks = checks(&report);
    assert_eq!(
        checks[..2]
            .iter()
            .map(|(name, outcome, _)| (name.as_str(), outcome.as_str()))
            .collect::<Vec<_>>(),
        [("health", "fail"), ("login", "fail")]
    );
    assert!(
        checks[2..]
            .iter()
            .all(|(_, outcome, _)| outcome == "skipped")
    );
    assert!(
        report["wire"]
            .as_object()
            .expect("wire")
            .values()
            .all(Value::is_null),
        "nothing observed: {report:#}"
    );
}

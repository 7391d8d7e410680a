//! The tool's whole story (provision, store a small and a large file, list, OAuth authorize and
//! refresh, retrieve both, delete) under every named wire variant of the mock
//! (docs/protocol.md §14), and without a WebSocket, where everything but retrieval works by
//! polling request-status.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use privicore_mock::{MockServer, Variant};

use crate::common::{Mock, key, noise};

/// 1 KiB: answered inline under the probe's wire.
const SMALL: usize = 1024;
/// 300 KB: above the 64 KiB inline threshold, so it is uploaded to the stream server and
/// answered with a download link.
const LARGE: usize = 300_000;

const USER: &str = "story";

/// Runs `cmd` and checks it succeeded; `what` names the variant and the step in a failure.
fn succeeds(cmd: &mut assert_cmd::Command, what: &str) -> String {
    let output = cmd.output().expect("runs");
    assert!(
        output.status.success(),
        "{what}: failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The data tokens `tokens list --json --per-page 1` lists, sorted.
fn listed(cmd: &mut assert_cmd::Command, what: &str) -> Vec<String> {
    let out = succeeds(
        cmd.args(["tokens", "list", "--json", "--per-page", "1"]),
        what,
    );
    let items: Vec<serde_json::Value> =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{what}: not a JSON array: {e}"));
    let mut tokens: Vec<String> = items
        .iter()
        .map(|i| i["token"].as_str().expect("a token").to_owned())
        .collect();
    tokens.sort_unstable();
    tokens
}

/// What the story leaves on the wire that tells the variants apart, read from the mock's
/// recording.
#[derive(Debug, PartialEq, Eq)]
struct Trace {
    /// The method of every request-status call that was answered (not refused with `405`).
    status_method: &'static str,
    /// The status reserve-token-space answered.
    reserve_status: u16,
    /// Requests to the download server (one per payload answered with a link).
    downloads: usize,
    /// List requests of the first `tokens list --per-page 1` over two tokens.
    list_pages: u64,
    /// The status every reauthorize answered (each command renews its short-lived login once).
    reauthorize_status: u16,
    /// Whether each of the two OAuth refreshes gave a new refresh token.
    refresh_rotated: [bool; 2],
}

/// The trace of the probe's wire; each other variant changes what its name says.
fn expected(variant: Variant) -> Trace {
    let mut trace = Trace {
        status_method: "POST",
        reserve_status: 202,
        // Only the large payload: the small one comes back inline.
        downloads: 1,
        // The envelope's `meta.count` says two: two pages.
        list_pages: 2,
        reauthorize_status: 200,
        refresh_rotated: [true, true],
    };
    match variant {
        Variant::StatusGetOnly => trace.status_method = "GET",
        // Both payloads come as links after the status texts.
        Variant::StatusMessages => trace.downloads = 2,
        Variant::Writes200 | Variant::Writes200Text => trace.reserve_status = 200,
        // No total is told: the pager reads until an empty page.
        Variant::ListsBare => trace.list_pages = 3,
        Variant::ReauthorizeAsync => trace.reauthorize_status = 202,
        Variant::RefreshNoRotation | Variant::RefreshSameToken => {
            trace.refresh_rotated = [false, false]
        }
        _ => {}
    }
    trace
}

/// The methods of the answered request-status calls, which must all be the same one.
fn status_method(server: &MockServer, what: &str) -> &'static str {
    let mut methods: Vec<String> = server
        .recorded()
        .into_iter()
        .filter(|r| r.operation_id == Some("request_command_status") && r.status != 405)
        .map(|r| r.method)
        .collect();
    methods.dedup();
    match methods.as_slice() {
        [one] if one == "POST" => "POST",
        [one] if one == "GET" => "GET",
        other => panic!("{what}: request-status answered on {other:?}"),
    }
}

fn statuses(server: &MockServer, operation: &str) -> Vec<u16> {
    server
        .recorded()
        .into_iter()
        .filter(|r| r.operation_id == Some(operation))
        .map(|r| r.status)
        .collect()
}

/// The one status `operation` was answered with, every time (it was called at least once).
fn one_status(server: &MockServer, operation: &str, what: &str) -> u16 {
    let answered = statuses(server, operation);
    assert!(
        !answered.is_empty() && answered.iter().all(|s| *s == answered[0]),
        "{what}: {operation} answered {answered:?}"
    );
    answered[0]
}

/// The refresh token in a token file.
fn refresh_token_in(path: &Path) -> String {
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("the token file")).expect("JSON");
    value["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

/// Registers an OAuth application, authorizes it into a token file and refreshes twice;
/// returns whether each refresh gave a new refresh token.
fn oauth_refreshes(mock: &Mock, key: &str, what: &str) -> [bool; 2] {
    let out = succeeds(
        mock.as_user(USER, key).args([
            "oauth",
            "register",
            "story-app",
            "--redirect-uri",
            "https://app.example/cb",
            "--scopes",
            "all",
            "--json",
        ]),
        &format!("{what}: oauth register"),
    );
    let app: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let file = mock.path("oauth-tokens.json");
    succeeds(
        mock.as_user(USER, key)
            .env(
                "PRIVICORE_CLIENT_SECRET",
                app["client_secret"].as_str().expect("a secret"),
            )
            .args([
                "oauth",
                "authorize",
                "--client-id",
                app["client_id"].as_str().expect("a client id"),
                "--token-file",
            ])
            .arg(&file),
        &format!("{what}: oauth authorize"),
    );
    [0, 1].map(|i| {
        let before = refresh_token_in(&file);
        succeeds(
            mock.cmd()
                .args(["oauth", "refresh", "--token-file"])
                .arg(&file),
            &format!("{what}: oauth refresh {i}"),
        );
        refresh_token_in(&file) != before
    })
}

/// Provisions [`USER`] and stores the small and the large file; returns the vault key, the
/// two payloads and their tokens.
fn provision_and_store(mock: &Mock, what: &str) -> (String, [(Vec<u8>, String); 2]) {
    let key = key();
    let out = succeeds(
        mock.as_user(USER, &key).args(["profile", "provision"]),
        &format!("{what}: provision"),
    );
    assert!(
        out.starts_with(&format!("provisioned profile {USER} (id ")),
        "{what}: {out}"
    );
    let stored = [SMALL, LARGE].map(|len| {
        let data = noise(len, len as u64);
        let file = mock.path(&format!("payload-{len}"));
        std::fs::write(&file, &data).expect("write");
        let out = succeeds(
            mock.as_user(USER, &key).arg("store").arg(&file),
            &format!("{what}: store {len} bytes"),
        );
        assert_eq!(out.lines().count(), 1, "{what}: only the token: {out}");
        (data, out.trim().to_owned())
    });
    (key, stored)
}

/// Deletes both tokens and checks nothing is listed afterwards.
fn delete_all(mock: &Mock, key: &str, stored: &[(Vec<u8>, String)], ws: bool, what: &str) {
    let cmd = || {
        let mut cmd = mock.as_user(USER, key);
        if !ws {
            cmd.env_remove("PRIVICORE_WS_URL");
        }
        cmd
    };
    for (_, token) in stored {
        let out = succeeds(
            cmd().args(["tokens", "delete", token]),
            &format!("{what}: delete"),
        );
        assert_eq!(out, format!("deleted {token}\n"), "{what}");
    }
    assert_eq!(
        listed(&mut cmd(), &format!("{what}: list after delete")),
        Vec::<String>::new(),
        "{what}"
    );
}

#[test]
fn the_story_passes_under_every_wire_variant() {
    for &variant in Variant::all() {
        let what = format!("variant {variant}");
        // Logins shorter than the client's 60 s renewal margin: every command renews its
        // token once (reauthorize asks for an hour), so §14.5 is on the wire too.
        let mock = Mock::start_with(
            MockServer::builder()
                .variant(variant)
                .token_lifetime(Duration::from_secs(30)),
        );
        assert_eq!(mock.server.wire(), variant.config(), "{what}");
        let (key, stored) = provision_and_store(&mock, &what);
        // The large file went to the stream server, the small one inline.
        assert_eq!(mock.server.count("upload_stream"), 1, "{what}");
        assert_eq!(mock.server.count("exchange_data_for_token"), 1, "{what}");

        let lists_before = mock.server.count("list_data_tokens");
        let mut tokens: Vec<String> = stored.iter().map(|(_, t)| t.clone()).collect();
        tokens.sort_unstable();
        assert_eq!(
            listed(&mut mock.as_user(USER, &key), &what),
            tokens,
            "{what}"
        );
        let list_pages = mock.server.count("list_data_tokens") - lists_before;
        let refresh_rotated = oauth_refreshes(&mock, &key, &what);

        for (data, token) in &stored {
            let target = mock.path(&format!("{token}.back"));
            let out = succeeds(
                mock.as_user(USER, &key)
                    .args(["retrieve", token, "-o"])
                    .arg(&target),
                &format!("{what}: retrieve {} bytes", data.len()),
            );
            assert_eq!(out, "", "{what}: -o writes nothing to stdout");
            assert!(
                std::fs::read(&target).expect("written") == *data,
                "{what}: {} bytes come back byte-identical",
                data.len()
            );
        }

        let trace = Trace {
            status_method: status_method(&mock.server, &what),
            reserve_status: one_status(&mock.server, "reserve_token_space", &what),
            downloads: mock
                .server
                .recorded()
                .iter()
                .filter(|r| r.listener == privicore_mock::Listener::Download)
                .count(),
            list_pages,
            reauthorize_status: one_status(&mock.server, "reauthorize_authorization_token", &what),
            refresh_rotated,
        };
        assert_eq!(trace, expected(variant), "{what}");

        delete_all(&mock, &key, &stored, true, &what);
    }
}

/// The one line `retrieve` fails with when no WebSocket URL is configured.
fn no_websocket_error(token: &str) -> String {
    format!(
        "error: retrieve {token}: retrieving data needs the WebSocket: set PRIVICORE_WS_URL or pass --ws URL (the result is only pushed over the WebSocket)\n"
    )
}

#[test]
fn without_a_websocket_everything_but_retrieval_works_by_polling() {
    let mock = Mock::start();
    let what = "no WebSocket";
    let key = key();
    let no_ws = || {
        let mut cmd = mock.as_user(USER, &key);
        cmd.env_remove("PRIVICORE_WS_URL");
        cmd
    };

    // Provision and store without the WebSocket: every command outcome is polled.
    let out = succeeds(no_ws().args(["profile", "provision"]), what);
    assert!(out.starts_with("provisioned profile story (id "), "{out}");
    let mut stored = Vec::new();
    for len in [SMALL, LARGE] {
        let data = noise(len, len as u64);
        let file = mock.path(&format!("payload-{len}"));
        std::fs::write(&file, &data).expect("write");
        let polls_before = mock.server.count("request_command_status");
        let out = succeeds(no_ws().arg("store").arg(&file), what);
        // Reserve and (for the small file) exchange are awaited by polling.
        assert!(
            mock.server.count("request_command_status") > polls_before,
            "store polls request-status"
        );
        stored.push((data, out.trim().to_owned()));
    }
    assert_eq!(mock.server.count("upload_stream"), 1);
    let mut tokens: Vec<String> = stored.iter().map(|(_, t)| t.clone()).collect();
    tokens.sort_unstable();
    assert_eq!(listed(&mut no_ws(), what), tokens);

    // Retrieval needs the WebSocket: one clear line, exit code 1, nothing requested and no
    // file left behind.
    for (_, token) in &stored {
        let target = mock.path("never-written");
        let output: Output = no_ws()
            .args(["retrieve", token, "-o"])
            .arg(&target)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            String::from_utf8(output.stderr).expect("utf-8"),
            no_websocket_error(token)
        );
        assert!(output.stdout.is_empty());
        assert!(!target.exists());
        // To stdout too.
        let output = no_ws().args(["retrieve", token]).output().expect("runs");
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            String::from_utf8(output.stderr).expect("utf-8"),
            no_websocket_error(token)
        );
        assert!(output.stdout.is_empty());
    }
    assert_eq!(
        mock.server.count("request_data"),
        0,
        "nothing was requested"
    );

    // The same tokens retrieve with the WebSocket: the error was about the socket only.
    for (data, token) in &stored {
        let back = mock
            .as_user(USER, &key)
            .args(["retrieve", token])
            .output()
            .expect("runs");
        assert!(back.status.success());
        assert!(back.stdout == *data);
    }

    let polls_before = mock.server.count("request_command_status");
    delete_all(&mock, &key, &stored, false, what);
    assert!(
        mock.server.count("request_command_status") > polls_before,
        "delete polls request-status"
    );
}

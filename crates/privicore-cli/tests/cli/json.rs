//! The `--json` shape of every command that prints a result, as snapshots: the documented
//! contract of docs/cli-json.md. What differs from run to run (tokens, ids, paths, times,
//! durations) is redacted, each after checking it has the expected form; the secrets that a
//! command prints by design (`key generate`, `oauth register`) are redacted the same way.

use std::path::Path;

use insta::internals::{Content, ContentPath};
use serde_json::Value;

use crate::common::{Mock, PASSWORD, key, stdout};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A non-empty string, replaced by `[what]`.
fn present(what: &'static str) -> impl Fn(Content, ContentPath<'_>) -> String {
    move |value, path| {
        let text = value.as_str().unwrap_or_default();
        assert!(!text.is_empty(), "{path}: empty {what}");
        format!("[{what}]")
    }
}

/// A path, replaced by `[dir]/` and its file name (the directory is a temporary one).
fn path(value: Content, at: ContentPath<'_>) -> String {
    let text = value.as_str().unwrap_or_else(|| panic!("{at}: not a path"));
    let name = Path::new(text)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_else(|| panic!("{at}: no file name in {text}"));
    format!("[dir]/{name}")
}

/// An RFC 3339 time, replaced by `[time]`.
fn time(value: Content, at: ContentPath<'_>) -> String {
    let text = value.as_str().unwrap_or_else(|| panic!("{at}: not a time"));
    chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{at}: {text}: {e}"));
    "[time]".to_owned()
}

/// A count of microseconds, replaced by `[micros]`.
fn micros(value: Content, at: ContentPath<'_>) -> String {
    assert!(
        value.as_u64().is_some(),
        "{at}: not a count of microseconds"
    );
    "[micros]".to_owned()
}

#[test]
fn data_commands() {
    let mock = Mock::start();
    mock.provision("json-data");
    let key = key();
    let file = mock.path("invoice.pdf");
    std::fs::write(&file, "nineteen bytes here").expect("write");
    let user = || mock.as_user("json-data", &key);

    let stored = json(&stdout(
        user()
            .args(["store", "--json", "--context", "invoices"])
            .arg(&file),
    ));
    let token = stored["token"].as_str().expect("a token").to_owned();
    insta::assert_json_snapshot!("store", stored, {
        ".token" => insta::dynamic_redaction(present("data token")),
        ".file" => insta::dynamic_redaction(path),
    });

    let out = mock.path("back.pdf");
    let retrieved = json(&stdout(
        user()
            .args(["retrieve", &token, "--json", "--output"])
            .arg(&out),
    ));
    assert_eq!(retrieved["token"], token.as_str());
    insta::assert_json_snapshot!("retrieve", retrieved, {
        ".token" => insta::dynamic_redaction(present("data token")),
        ".file" => insta::dynamic_redaction(path),
    });

    let listed = json(&stdout(user().args(["tokens", "list", "--json"])));
    insta::assert_json_snapshot!("tokens_list", listed, {
        "[].token" => insta::dynamic_redaction(present("data token")),
        "[].created_at" => insta::dynamic_redaction(time),
    });

    let deleted = json(&stdout(user().args(["tokens", "delete", &token, "--json"])));
    assert_eq!(deleted["token"], token.as_str());
    insta::assert_json_snapshot!("tokens_delete", deleted, {
        ".token" => insta::dynamic_redaction(present("data token")),
    });
}

#[test]
fn profile_and_key_commands() {
    let mock = Mock::start();
    let key_file = mock.path("profile.key");
    let provisioned = json(&stdout(
        mock.cmd()
            .env("PRIVICORE_USERNAME", "json-profile")
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .args(["profile", "provision", "--json", "--key-file"])
            .arg(&key_file),
    ));
    insta::assert_json_snapshot!("profile_provision", provisioned, {
        ".profile_id" => insta::dynamic_redaction(present("profile id")),
        ".key_file" => insta::dynamic_redaction(path),
    });

    let generated = json(&stdout(mock.bare().args(["key", "generate", "--json"])));
    insta::assert_json_snapshot!("key_generate", generated, {
        ".vault_key" => insta::dynamic_redaction(|value, _| {
            let hex = value.as_str().expect("a string");
            assert!(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()), "not a key");
            "[64 hex digits]"
        }),
    });
}

#[test]
fn oauth_commands() {
    let mock = Mock::start();
    mock.provision("json-oauth");
    let registered = json(&stdout(mock.as_user("json-oauth", "").args([
        "oauth",
        "register",
        "billing",
        "--redirect-uri",
        "https://app.example/cb",
        "--scopes",
        "all",
        "--json",
    ])));
    let client_id = registered["client_id"].as_str().expect("id").to_owned();
    let secret = registered["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    insta::assert_json_snapshot!("oauth_register", registered, {
        ".application_id" => insta::dynamic_redaction(present("application id")),
        ".client_id" => insta::dynamic_redaction(present("client id")),
        ".client_secret" => insta::dynamic_redaction(present("client secret")),
    });

    let token_file = mock.path("oauth.json");
    let authorized = json(&stdout(
        mock.as_user("json-oauth", "")
            .env("PRIVICORE_CLIENT_SECRET", &secret)
            .args(["oauth", "authorize", "--client-id", &client_id, "--json"])
            .arg("--token-file")
            .arg(&token_file),
    ));
    let refreshed = json(&stdout(
        mock.cmd()
            .args(["oauth", "refresh", "--json", "--token-file"])
            .arg(&token_file),
    ));
    let inspected = json(&stdout(
        mock.bare()
            .args(["oauth", "inspect", "--json", "--token-file"])
            .arg(&token_file),
    ));
    for (name, value) in [
        ("oauth_authorize", authorized),
        ("oauth_refresh", refreshed),
        ("oauth_inspect", inspected),
    ] {
        assert_eq!(value["client_id"], client_id.as_str(), "{name}");
        insta::assert_json_snapshot!(name, value, {
            ".token_file" => insta::dynamic_redaction(path),
            ".client_id" => insta::dynamic_redaction(present("client id")),
            ".expires_at" => insta::dynamic_redaction(time),
            ".refresh_token_expires_at" => insta::dynamic_redaction(time),
        });
    }
}

#[test]
fn demo_summary() {
    let mock = Mock::start();
    let output = mock
        .cmd()
        .args(["demo", "--large-size", "60000", "--json"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    // The narration moved to stderr; stdout is the JSON document alone.
    assert!(err.contains("Provisioned profile"), "{err}");
    let out = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(!out.contains("Provisioned profile"), "{out}");
    let summary = json(&out);
    assert_eq!(
        summary["server"],
        mock.server.api_url().to_string().as_str()
    );
    insta::assert_json_snapshot!("demo", summary, {
        ".server" => "[the API URL]",
        ".steps[].micros" => insta::dynamic_redaction(micros),
        ".total_micros" => insta::dynamic_redaction(micros),
    });
}

#[test]
fn config_settings() {
    let mock = Mock::start();
    let config = mock.path("privicore.toml");
    std::fs::write(
        &config,
        "[profiles.work]\napi_url = \"https://api.example\"\nws_url = \"wss://ws.example\"\nusername = \"me@example.com\"\npassword_command = \"pass show privicore\"\n",
    )
    .expect("write");
    let shown = json(&stdout(
        mock.bare()
            .env("PRIVICORE_VAULT_KEY", key())
            .env("PRIVICORE_WS_URL", "wss://env.example")
            .args(["config", "--json", "--profile", "work", "--config"])
            .arg(&config),
    ));
    insta::assert_json_snapshot!("config", shown, {
        ".config_file" => insta::dynamic_redaction(path),
        ".token_file.value" => insta::dynamic_redaction(path),
    });
}

//! No secret in any output: every command is run, successes and failures, and everything it
//! printed is searched for every secret in play. The only exceptions are the documented
//! ones: `key generate` prints the key it makes, `oauth register` the client secret it
//! obtained.

use assert_cmd::Command;
use privicore_mock::leak_check::Secrets;

use crate::common::{Mock, PASSWORD, key, noise};
use crate::oauth::tokens_in;

/// Everything one run printed, and which secret (if any) it may print.
struct Run {
    what: String,
    text: String,
    may_print: Option<String>,
}

fn run(runs: &mut Vec<Run>, what: &str, cmd: &mut Command, may_print: Option<&str>) -> String {
    let output = cmd.output().expect("runs");
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    runs.push(Run {
        what: what.to_owned(),
        text: format!("{out}\n{err}"),
        may_print: may_print.map(str::to_owned),
    });
    out
}

#[test]
fn no_command_prints_a_secret() {
    let mock = Mock::start();
    let mut runs = Vec::new();
    let user = "secretive";
    let key_file = mock.path("profile.key");
    let token_file = mock.path("oauth.json");
    let payload = mock.path("payload.bin");
    std::fs::write(&payload, noise(120_000, 11)).expect("write");

    let vault_key = key();
    let with_env = |cmd: &mut Command| {
        cmd.env("PRIVICORE_USERNAME", user)
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .env("PRIVICORE_VAULT_KEY", &vault_key);
    };
    let mut cmd = mock.cmd();
    with_env(&mut cmd);
    run(
        &mut runs,
        "profile provision",
        cmd.args(["profile", "provision", "--key-file"])
            .arg(&key_file),
        None,
    );
    let private_key = std::fs::read_to_string(&key_file)
        .expect("key file")
        .trim()
        .to_owned();
    let generated = run(
        &mut runs,
        "key generate",
        mock.bare().args(["key", "generate"]),
        None,
    );
    runs.last_mut().expect("a run").may_print = Some(generated.trim().to_owned());

    let mut cmd = mock.cmd();
    with_env(&mut cmd);
    let token = run(&mut runs, "store", cmd.arg("store").arg(&payload), None);
    let token = token.trim().to_owned();
    let mut cmd = mock.cmd();
    with_env(&mut cmd);
    run(
        &mut runs,
        "store --json",
        cmd.args(["store", "--json"]).arg(&payload),
        None,
    );
    let mut cmd = mock.cmd();
    with_env(&mut cmd);
    run(
        &mut runs,
        "retrieve -o",
        cmd.args(["retrieve", &token, "-o"])
            .arg(mock.path("back.bin")),
        None,
    );
    for args in [
        &["tokens", "list"][..],
        &["tokens", "list", "--json"],
        &["tokens", "delete", &token],
        &["tokens", "delete", &token],
        &["retrieve", "unknown-token"],
    ] {
        let mut cmd = mock.cmd();
        with_env(&mut cmd);
        run(&mut runs, &args.join(" "), cmd.args(args), None);
    }

    // OAuth: register (prints the secret once), authorize, inspect, refresh.
    let mut client_secret = String::new();
    let mut client_id = String::new();
    for json in [false, true] {
        let mut cmd = mock.cmd();
        with_env(&mut cmd);
        cmd.args([
            "oauth",
            "register",
            "app",
            "--redirect-uri",
            "https://a/cb",
            "--scopes",
            "all",
        ]);
        if json {
            cmd.arg("--json");
        }
        let out = run(&mut runs, "oauth register", &mut cmd, None);
        if json {
            let value: serde_json::Value = serde_json::from_str(&out).expect("JSON");
            client_secret = value["client_secret"].as_str().expect("secret").to_owned();
            client_id = value["client_id"].as_str().expect("id").to_owned();
            runs.last_mut().expect("a run").may_print = Some(client_secret.clone());
            let mut cmd = mock.cmd();
            with_env(&mut cmd);
            run(
                &mut runs,
                "oauth authorize",
                cmd.env("PRIVICORE_CLIENT_SECRET", &client_secret)
                    .args([
                        "oauth",
                        "authorize",
                        "--client-id",
                        &client_id,
                        "--token-file",
                    ])
                    .arg(&token_file),
                None,
            );
            let mut cmd = mock.cmd();
            with_env(&mut cmd);
            run(
                &mut runs,
                "oauth authorize (wrong secret)",
                cmd.env("PRIVICORE_CLIENT_SECRET", "wrong-secret-0xC0FFEE")
                    .args([
                        "oauth",
                        "authorize",
                        "--client-id",
                        &client_id,
                        "--token-file",
                    ])
                    .arg(mock.path("never.json")),
                None,
            );
        } else {
            let secret = out
                .lines()
                .find_map(|l| l.strip_prefix("client secret"))
                .expect("a secret line")
                .trim()
                .to_owned();
            runs.last_mut().expect("a run").may_print = Some(secret);
        }
    }
    let first_tokens = tokens_in(&token_file);
    for args in [
        &["oauth", "inspect"][..],
        &["oauth", "inspect", "--json"],
        &["oauth", "refresh"],
        &["oauth", "refresh", "--json"],
    ] {
        let mut cmd = mock.cmd();
        with_env(&mut cmd);
        run(
            &mut runs,
            &args.join(" "),
            cmd.args(args).arg("--token-file").arg(&token_file),
            None,
        );
    }
    let last_tokens = tokens_in(&token_file);

    // Failures that hold a secret in hand.
    let bad_key = format!("{}Q", "b4dc0ffee".repeat(7));
    let mut cmd = mock.cmd();
    with_env(&mut cmd);
    run(
        &mut runs,
        "store (bad key)",
        cmd.env("PRIVICORE_VAULT_KEY", &bad_key)
            .arg("store")
            .arg(&payload),
        None,
    );
    // Spaces and reserved characters: its percent- and form-encoded forms differ from it.
    let wrong_password = "wr0ng Pa55word/zebra+&";
    let mut cmd = mock.cmd();
    with_env(&mut cmd);
    run(
        &mut runs,
        "tokens list (wrong password)",
        cmd.env("PRIVICORE_PASSWORD", wrong_password)
            .args(["tokens", "list"]),
        None,
    );
    // The doctor, passing and with the wrong password.
    for args in [&["doctor"][..], &["doctor", "--json"]] {
        let mut cmd = mock.cmd();
        with_env(&mut cmd);
        run(&mut runs, &args.join(" "), cmd.args(args), None);
    }
    let mut cmd = mock.cmd();
    with_env(&mut cmd);
    run(
        &mut runs,
        "doctor (wrong password)",
        cmd.env("PRIVICORE_PASSWORD", wrong_password)
            .args(["doctor", "--json"]),
        None,
    );
    // Help with every secret in the environment.
    let mut cmd = mock.cmd();
    with_env(&mut cmd);
    run(
        &mut runs,
        "store --help",
        cmd.env("PRIVICORE_CLIENT_SECRET", &client_secret)
            .args(["store", "--help"]),
        None,
    );
    // The settings report with every secret in the environment: set, never shown.
    for args in [&["config"][..], &["config", "--json"]] {
        let mut cmd = mock.cmd();
        with_env(&mut cmd);
        run(
            &mut runs,
            &args.join(" "),
            cmd.env("PRIVICORE_CLIENT_SECRET", &client_secret)
                .args(args),
            None,
        );
    }

    let key_bytes = |name: &str, hex_text: &str| -> Vec<u8> {
        hex::decode(hex_text).unwrap_or_else(|e| panic!("the {name} is hex: {e}"))
    };
    let mut secrets = Secrets::new();
    secrets
        .text("password", PASSWORD)
        .text("wrong password", wrong_password)
        .key("vault key", &key_bytes("vault key", &vault_key))
        .text("bad vault key", &bad_key)
        .text("bad vault key (head)", &bad_key[..16])
        .key("private key", &key_bytes("private key", &private_key))
        .client("client secret", &client_id, &client_secret)
        .client("wrong client secret", &client_id, "wrong-secret-0xC0FFEE")
        .text("access token", &first_tokens.0)
        .text("refresh token", &first_tokens.1)
        .text("refreshed access token", &last_tokens.0)
        .text("refreshed refresh token", &last_tokens.1);
    assert!(
        secrets.len() >= 10,
        "every secret in play is searched for: {}",
        secrets.len()
    );
    let mut checked = 0;
    for run in &runs {
        let found = secrets.find_except(&run.text, run.may_print.as_deref());
        assert!(
            found.is_empty(),
            "`{}` printed {}:\n{}",
            run.what,
            found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            run.text
        );
        checked += secrets.forms();
    }
    // The documented exceptions did print their secret (so the search above would have
    // found a leak).
    assert!(runs.iter().any(
        |r| r.what == "key generate" && r.text.contains(r.may_print.as_deref().unwrap_or("-"))
    ));
    assert!(
        runs.iter()
            .filter(|r| r.what == "oauth register")
            .all(|r| r.text.contains(r.may_print.as_deref().unwrap_or("-")))
    );
    assert!(checked > 1000, "{checked}");
}

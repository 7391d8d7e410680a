//! The config file: a whole session from a profile, the precedence of flags, the environment
//! and the file, commands that print secrets, and `privicore config` never showing one.

use std::path::PathBuf;

use assert_cmd::Command;

use crate::common::{Mock, PASSWORD, key, one_line_error, stdout};

/// A URL where nothing listens: a setting that reaches it makes the command fail.
const DEAD_API: &str = "http://127.0.0.1:9";
const DEAD_WS: &str = "ws://127.0.0.1:9";

/// Writes `text` as a config file in the scratch directory and returns its path.
fn config_file(mock: &Mock, text: &str) -> PathBuf {
    let path = mock.path("privicore.toml");
    std::fs::write(&path, text).expect("write the config file");
    path
}

/// Writes a secret to a file that only a `cat` command in the config file names, so that the
/// secret itself appears nowhere but there.
fn secret_file(mock: &Mock, name: &str, secret: &str) -> String {
    let path = mock.path(name);
    std::fs::write(&path, format!("{secret}\n")).expect("write the secret");
    format!("cat '{}'", path.display())
}

/// A config with profile `dev` pointing at the mock (credentials by command) and a default
/// profile `dead` pointing nowhere.
fn dev_config(mock: &Mock, user: &str, vault_key: &str) -> PathBuf {
    let password_command = secret_file(mock, "password.txt", PASSWORD);
    let vault_key_command = secret_file(mock, "vault.key", vault_key);
    config_file(
        mock,
        &format!(
            r#"default_profile = "dead"

[profiles.dead]
api_url = "{DEAD_API}"
ws_url = "{DEAD_WS}"
username = "nobody"
password_command = "echo any"

[profiles.dev]
api_url = "{api}"
ws_url = "{ws}"
username = "{user}"
password_command = "{password_command}"
vault_key_command = "{vault_key_command}"
"#,
            api = mock.server.api_url(),
            ws = mock.server.ws_url(),
        ),
    )
}

fn with_config(mock: &Mock, path: &PathBuf) -> Command {
    let mut cmd = mock.bare();
    cmd.arg("--config").arg(path);
    cmd
}

#[test]
fn a_whole_session_from_a_profile() {
    let mock = Mock::start();
    mock.provision("profiled");
    let vault_key = key();
    let config = dev_config(&mock, "profiled", &vault_key);
    let payload = mock.path("note.txt");
    std::fs::write(&payload, "from a profile").expect("write");

    // No URL, username, password or key in the environment or on the line: all from `dev`.
    let token = stdout(
        with_config(&mock, &config)
            .args(["store", "--profile", "dev", "--context", "cfg"])
            .arg(&payload),
    );
    let token = token.trim();
    let listed =
        stdout(with_config(&mock, &config).args(["--profile", "dev", "tokens", "list", "--json"]));
    let items: Vec<serde_json::Value> = serde_json::from_str(&listed).expect("JSON");
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["token"], token);
    let back = stdout(
        with_config(&mock, &config)
            .env("PRIVICORE_PROFILE", "dev")
            .args(["retrieve", token]),
    );
    assert_eq!(back, "from a profile");

    // Without --profile the file's default_profile (`dead`) is used, and it is dead.
    let err = one_line_error(with_config(&mock, &config).args(["tokens", "list"]), 1);
    assert!(err.contains("log in as nobody"), "{err}");

    // The default place: $XDG_CONFIG_HOME/privicore/config.toml.
    let default_place = mock.path("config/privicore/config.toml");
    std::fs::create_dir_all(default_place.parent().expect("a parent")).expect("mkdir");
    std::fs::copy(&config, &default_place).expect("copy");
    stdout(mock.bare().args(["tokens", "list", "--profile", "dev"]));
}

/// What `privicore config --json` says about one setting (`cmd` may already hold `config`
/// and its flags).
fn shown(cmd: &mut Command, setting: &str) -> (String, String) {
    let is_config = cmd.get_args().any(|a| a == "config");
    if !is_config {
        cmd.arg("config");
    }
    let out = stdout(cmd.arg("--json"));
    let value: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    (
        value[setting]["value"].as_str().unwrap_or("-").to_owned(),
        value[setting]["source"].as_str().unwrap_or("-").to_owned(),
    )
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file() {
    let mock = Mock::start();
    mock.provision("ranked");
    let vault_key = key();
    let config = config_file(
        &mock,
        &format!(
            r#"default_profile = "p"
[profiles.p]
api_url = "{DEAD_API}"
ws_url = "{DEAD_WS}"
username = "ranked"
"#
        ),
    );
    let cmd = || {
        let mut cmd = with_config(&mock, &config);
        cmd.env("PRIVICORE_PASSWORD", PASSWORD)
            .env("PRIVICORE_VAULT_KEY", &vault_key);
        cmd
    };

    // The file alone: its dead server is used.
    assert_eq!(
        shown(&mut cmd(), "api_url"),
        (DEAD_API.to_owned(), "file:p".to_owned())
    );
    one_line_error(cmd().args(["tokens", "list"]), 1);

    // The environment beats the file: the command reaches the mock.
    let mut env = cmd();
    env.env("PRIVICORE_API_URL", mock.server.api_url())
        .env("PRIVICORE_WS_URL", mock.server.ws_url());
    assert_eq!(
        shown(&mut env, "api_url"),
        (
            mock.server.api_url().to_string(),
            "env PRIVICORE_API_URL".to_owned()
        )
    );
    let mut env = cmd();
    env.env("PRIVICORE_API_URL", mock.server.api_url())
        .env("PRIVICORE_WS_URL", mock.server.ws_url());
    stdout(env.args(["tokens", "list"]));

    // A flag beats the environment: dead environment, live flags.
    let mut flag = cmd();
    flag.env("PRIVICORE_API_URL", DEAD_API)
        .env("PRIVICORE_WS_URL", DEAD_WS)
        .arg("config")
        .args(["--api", mock.server.api_url()])
        .args(["--ws", mock.server.ws_url()]);
    assert_eq!(
        shown(&mut flag, "api_url"),
        (mock.server.api_url().to_string(), "flag".to_owned())
    );
    let mut flag = cmd();
    flag.env("PRIVICORE_API_URL", DEAD_API)
        .env("PRIVICORE_WS_URL", DEAD_WS)
        .args(["tokens", "list"])
        .args(["--api", mock.server.api_url()])
        .args(["--ws", mock.server.ws_url()]);
    stdout(&mut flag);

    // The same for the username and the token file, and the default below them all.
    assert_eq!(
        shown(cmd().env("PRIVICORE_USERNAME", "env-user"), "username"),
        ("env-user".to_owned(), "env PRIVICORE_USERNAME".to_owned())
    );
    assert_eq!(
        shown(
            cmd()
                .env("PRIVICORE_USERNAME", "env-user")
                .args(["config", "--username", "flag-user"]),
            "username"
        ),
        ("flag-user".to_owned(), "flag".to_owned())
    );
    let (path, source) = shown(&mut cmd(), "token_file");
    assert_eq!(source, "default");
    assert!(path.ends_with("privicore/oauth-tokens.json"), "{path}");
    assert_eq!(
        shown(
            cmd().env("PRIVICORE_TOKEN_FILE", "/t/env.json"),
            "token_file"
        ),
        (
            "/t/env.json".to_owned(),
            "env PRIVICORE_TOKEN_FILE".to_owned()
        )
    );
}

#[test]
fn the_profile_is_chosen_by_flag_then_environment_then_file() {
    let mock = Mock::start();
    let config = config_file(
        &mock,
        "default_profile = \"a\"\n[profiles.a]\nusername = \"ua\"\n[profiles.b]\nusername = \"ub\"\n[profiles.c]\nusername = \"uc\"\n",
    );
    let profile = |cmd: &mut Command| shown(cmd, "profile");
    assert_eq!(
        profile(&mut with_config(&mock, &config)),
        ("a".to_owned(), "file default_profile".to_owned())
    );
    assert_eq!(
        profile(with_config(&mock, &config).env("PRIVICORE_PROFILE", "b")),
        ("b".to_owned(), "env PRIVICORE_PROFILE".to_owned())
    );
    assert_eq!(
        profile(
            with_config(&mock, &config)
                .env("PRIVICORE_PROFILE", "b")
                .args(["--profile", "c"])
        ),
        ("c".to_owned(), "flag".to_owned())
    );
    // PRIVICORE_CONFIG names the file when --config does not.
    assert_eq!(
        profile(mock.bare().env("PRIVICORE_CONFIG", &config)),
        ("a".to_owned(), "file default_profile".to_owned())
    );
    let err = one_line_error(
        with_config(&mock, &config).args(["--profile", "nope", "tokens", "list"]),
        1,
    );
    assert!(err.contains("no profile nope"), "{err}");
    assert!(err.contains("it has a, b, c"), "{err}");
    // A file named on purpose must exist.
    let err = one_line_error(
        mock.bare()
            .args(["--config", "/nonexistent/privicore.toml", "tokens", "list"]),
        1,
    );
    assert!(err.contains("/nonexistent/privicore.toml"), "{err}");
}

#[test]
fn a_password_command_that_fails_is_a_clear_error() {
    let mock = Mock::start();
    mock.provision("cmd-user");
    let leaked = "printed-by-a-failing-command";
    for (command, expected) in [
        (
            format!("echo {leaked}; exit 3"),
            "password_command (profile p) failed (exit status: 3); what it printed is not shown",
        ),
        (
            "printf '  \\n'".to_owned(),
            "password_command (profile p) printed nothing",
        ),
    ] {
        let config = config_file(
            &mock,
            &format!(
                "[profiles.p]\napi_url = \"{}\"\nws_url = \"{}\"\nusername = \"cmd-user\"\npassword_command = \"{command}\"\n",
                mock.server.api_url(),
                mock.server.ws_url()
            ),
        );
        let err = one_line_error(
            with_config(&mock, &config).args(["--profile", "p", "tokens", "list"]),
            1,
        );
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains(leaked), "{err}");
    }
    // The environment beats the command: a broken command is not even run.
    let config = config_file(
        &mock,
        &format!(
            "[profiles.p]\napi_url = \"{}\"\nws_url = \"{}\"\nusername = \"cmd-user\"\npassword_command = \"exit 1\"\n",
            mock.server.api_url(),
            mock.server.ws_url()
        ),
    );
    stdout(
        with_config(&mock, &config)
            .env("PRIVICORE_PASSWORD", PASSWORD)
            .args(["--profile", "p", "tokens", "list"]),
    );
}

#[test]
fn the_file_refuses_secrets_and_unknown_keys() {
    let mock = Mock::start();
    let secret = "plaintext-hunter2";
    for key in ["password", "vault_key", "client_secret"] {
        let config = config_file(&mock, &format!("[profiles.p]\n{key} = \"{secret}\"\n"));
        let err = one_line_error(
            with_config(&mock, &config).args(["--profile", "p", "tokens", "list"]),
            1,
        );
        assert!(err.contains(&format!("`{key}` is refused")), "{err}");
        assert!(err.contains("plain text"), "{err}");
        assert!(err.contains(&format!("{key}_command")), "{err}");
        assert!(!err.contains(secret), "{err}");
    }
    let config = config_file(&mock, "[profiles.p]\napi_uri = \"http://x\"\n");
    let err = one_line_error(with_config(&mock, &config).arg("config"), 1);
    assert!(err.contains("unknown field `api_uri`"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    // A command that needs no setting does not read the file.
    stdout(with_config(&mock, &config).args(["key", "generate"]));
}

#[test]
fn config_shows_sources_and_masks_every_secret() {
    let mock = Mock::start();
    let vault_key = key();
    let from_command = "password-from-the-command-xyzzy";
    let password_command = secret_file(&mock, "pw.txt", from_command);
    let config = config_file(
        &mock,
        &format!(
            "default_profile = \"p\"\n[profiles.p]\napi_url = \"http://file.example\"\nusername = \"file-user\"\npassword_command = \"{password_command}\"\nvault_key_command = \"cat /nonexistent\"\n"
        ),
    );
    let client_secret = "client-secret-plugh";
    let secrets = [PASSWORD, vault_key.as_str(), client_secret, from_command];

    // The password from the command (not run), the vault key and client secret from the
    // environment.
    let output = with_config(&mock, &config)
        .env("PRIVICORE_VAULT_KEY", &vault_key)
        .env("PRIVICORE_CLIENT_SECRET", client_secret)
        .env("PRIVICORE_WS_URL", "ws://env.example")
        .arg("config")
        .output()
        .expect("runs");
    let out = String::from_utf8(output.stdout).expect("UTF-8");
    let err = String::from_utf8(output.stderr).expect("UTF-8");
    assert!(output.status.success(), "{err}");
    for expected in [
        "profile        p (file default_profile)",
        "api_url        http://file.example (file:p)",
        "ws_url         ws://env.example (env PRIVICORE_WS_URL)",
        "username       file-user (file:p)",
        "password       set (command password_command, file:p)",
        "vault_key      set (env PRIVICORE_VAULT_KEY)",
        "client_secret  set (env PRIVICORE_CLIENT_SECRET)",
    ] {
        assert!(out.contains(expected), "`{expected}` missing:\n{out}");
    }

    // Every secret in the environment, text and JSON: none is printed.
    for json in [false, true] {
        let mut cmd = with_config(&mock, &config);
        cmd.env("PRIVICORE_PASSWORD", PASSWORD)
            .env("PRIVICORE_VAULT_KEY", &vault_key)
            .env("PRIVICORE_CLIENT_SECRET", client_secret)
            .arg("config");
        if json {
            cmd.arg("--json");
        }
        let output = cmd.output().expect("runs");
        assert!(output.status.success());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        for secret in secrets {
            assert!(!text.contains(secret), "a secret is shown:\n{text}");
        }
        assert!(text.contains("PRIVICORE_PASSWORD"), "{text}");
        if !json {
            assert!(
                text.contains("password       set (env PRIVICORE_PASSWORD)"),
                "{text}"
            );
        }
    }

    // Nothing set at all.
    let out = stdout(mock.bare().arg("config"));
    for expected in [
        "password       not set",
        "vault_key      not set",
        "api_url        not set",
        "(default, not found)",
    ] {
        assert!(out.contains(expected), "`{expected}` missing:\n{out}");
    }
}

//! Starts the `privicore-mock` binary and drives it with a plain HTTP + WebSocket client
//! written here (not the SDK, not the generated client), following docs/protocol.md step by step:
//! a full store-and-retrieve (inline exchange and stream upload, inline and downloaded
//! answers) and the OAuth code flow with refresh-token rotation.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use common::{WAIT, Ws, auth_of, extract_id, join, signed_key, wait_frame};
use serde_json::{Value, json};

/// Kills the server if the test panics before it stops it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The four URLs the binary prints.
struct Urls {
    api: String,
    ws: String,
    stream: String,
    download: String,
}

fn start() -> (Running, Urls) {
    start_with(&[])
}

/// The binary on free ports, with `args` after `--port 0`.
fn start_with(args: &[&str]) -> (Running, Urls) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_privicore-mock"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut next = |label: &str| {
        let line = lines.next().expect("a line").expect("utf-8");
        let (name, url) = line.split_once(' ').expect("`name url`");
        assert_eq!(name, label);
        url.to_owned()
    };
    let urls = Urls {
        api: next("api"),
        ws: next("ws"),
        stream: next("stream"),
        download: next("download"),
    };
    assert!(urls.api.starts_with("http://127.0.0.1:"));
    assert!(urls.ws.starts_with("ws://127.0.0.1:"));
    (running, urls)
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "{:?}",
        response.url().path()
    );
    response.json().await.expect("JSON body")
}

/// Waits for the `X-DPT-CAB-ID` ack of `id` and checks it succeeded.
async fn acked(ws: &mut Ws, id: &str) {
    let ack = wait_frame(ws, "X-DPT-CAB-ID", id).await;
    assert_eq!(ack["data"]["command_status"], 2, "{ack}");
}

#[tokio::test]
async fn binary_serves_store_and_retrieve_and_oauth() {
    let (running, urls) = start();
    let http = reqwest::Client::new();
    let api = urls.api.as_str();
    let b64 = base64::engine::general_purpose::STANDARD;

    // §4/§5.3: register, poll request-status (no token yet), authenticate.
    let body = json_of(
        http.post(format!("{api}/profile/register-profile"))
            .form(&[("username", "dana"), ("password", "s3cret")])
            .send()
            .await
            .expect("register"),
        202,
    )
    .await;
    let id = extract_id(&body);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let state = json_of(
            http.post(format!("{api}/request-status/{id}"))
                .json(&json!({}))
                .send()
                .await
                .expect("status"),
            200,
        )
        .await;
        let state = state
            .as_str()
            .map(str::to_owned)
            .or_else(|| state[0].as_str().map(str::to_owned));
        if state.as_deref() == Some("completed") {
            break;
        }
        assert_eq!(state.as_deref(), Some("started"));
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let auth = json_of(
        http.post(format!("{api}/profile/authenticate"))
            .form(&[("username", "dana"), ("password", "s3cret")])
            .send()
            .await
            .expect("authenticate"),
        200,
    )
    .await;
    let token = auth["authorizationToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let expires = auth["expiresAt"].as_str().expect("expiresAt");
    assert!(
        expires.ends_with("+00:00"),
        "RFC 3339 with an offset: {expires}"
    );

    // §5.2: join the channel before sending the commands whose acks we need.
    let (mut ws, joined) = join(&urls.ws, &token).await;
    assert_eq!(joined["status"], 200);

    // §8: register the signed public key (tag || key || BLAKE2b-512).
    let post = |path: &str| {
        http.post(format!("{api}{path}"))
            .header("X-DPT-AUTHORIZATION", &token)
    };
    let body = json_of(
        post("/public-key/register-public-key")
            .form(&[("publicKey", signed_key([42; 32]))])
            .send()
            .await
            .expect("key"),
        202,
    )
    .await;
    acked(&mut ws, &extract_id(&body)).await;

    // §6 steps 1-4, small payload: reserve, wait, temporary token, exchange, wait, file meta.
    let small = b"iv-12-bytes!ciphertext-and-tag-16-bytes!".to_vec();
    let reserve = |context: &'static str| {
        post("/data-token/reserve-token-space")
            .form(&[("context", context), ("ttl", "5")])
            .send()
    };
    let c1 = extract_id(&json_of(reserve("notes").await.expect("reserve"), 202).await);
    acked(&mut ws, &c1).await;
    // The temporary token (and stream URL) of a reservation once it is acknowledged.
    let temporary = async |command: &str| {
        let response = http
            .get(format!(
                "{api}/data-token/retrieve-temporary-data-token/{command}"
            ))
            .header("X-DPT-AUTHORIZATION", &token)
            .send()
            .await
            .expect("temporary");
        json_of(response, 200).await
    };
    let temp = temporary(&c1).await;
    let temp_token = temp["token"].as_str().expect("temporary token").to_owned();
    let c2 = extract_id(
        &json_of(
            post("/data-token/exchange-data-for-token")
                .form(&[
                    ("temporaryTokenSpace", temp_token.as_str()),
                    ("data", &b64.encode(&small)),
                ])
                .send()
                .await
                .expect("exchange"),
            202,
        )
        .await,
    );
    acked(&mut ws, &c2).await;
    let file_meta = |temp: String, size: usize| {
        post("/data-token/configure-file-meta")
            .form(&[
                ("token", temp),
                ("fileName", "payload".into()),
                ("extension", "bin".into()),
                ("context", "notes".into()),
                ("size", size.to_string()),
                ("path", "/p".into()),
            ])
            .send()
    };
    let small_token = json_of(
        file_meta(temp_token, small.len() - common::WIRE_OVERHEAD)
            .await
            .expect("meta"),
        200,
    )
    .await;
    let small_token = small_token
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| small_token["token"].as_str().expect("token").to_owned());

    // §6 step 3b, large payload: raw bytes to the stream server.
    let large: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let c3 = extract_id(&json_of(reserve("blobs").await.expect("reserve"), 202).await);
    acked(&mut ws, &c3).await;
    let temp = temporary(&c3).await;
    let stream_url = temp["stream"].as_str().expect("stream URI");
    assert!(stream_url.starts_with(&urls.stream));
    let upload = http
        .post(stream_url)
        .header("content-type", "application/octet-stream")
        .body(large.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), 200);
    let large_token = json_of(
        file_meta(
            temp["token"].as_str().expect("token").to_owned(),
            large.len() - common::WIRE_OVERHEAD,
        )
        .await
        .expect("meta"),
        200,
    )
    .await;
    let large_token = large_token.as_str().expect("bare token").to_owned();

    // §6 steps 6-7: request the data, wait for X-DPT-CAB-REQUEST-ID, read it back.
    let request = |data_token: String| {
        post("/data-token/request-data")
            .form(&[("token", data_token)])
            .send()
    };
    let response = request(small_token).await.expect("request-data");
    assert_eq!(response.status(), 202);
    let request_id = response.headers()["x-dpt-cab-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    assert!(response.headers().contains_key("x-dpt-cab-id"));
    let frame = wait_frame(&mut ws, "X-DPT-CAB-REQUEST-ID", &request_id).await;
    assert_eq!(frame["data"]["output_type"], 0);
    assert_eq!(frame["data"]["data_context"], "notes");
    let inline = b64
        .decode(frame["data"]["body"].as_str().expect("body"))
        .expect("base64");
    assert_eq!(inline, small);

    let response = request(large_token).await.expect("request-data");
    let request_id = response.headers()["x-dpt-cab-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let frame = wait_frame(&mut ws, "X-DPT-CAB-REQUEST-ID", &request_id).await;
    assert_eq!(
        frame["data"]["output_type"], 1,
        "300 kB is above the 64 KiB inline threshold"
    );
    let link = frame["data"]["body"].as_str().expect("link");
    assert!(link.starts_with(&urls.download));
    assert!(!auth_of(link).is_empty());
    let download = http.get(link).send().await.expect("download");
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(
        download.headers()["content-length"],
        large.len().to_string().as_str()
    );
    assert_eq!(
        download.bytes().await.expect("bytes").as_ref(),
        large.as_slice()
    );
    assert_eq!(
        http.get(link).send().await.expect("again").status(),
        401,
        "single use"
    );

    // §10: OAuth register -> configuration -> request code -> retrieve code -> obtain ->
    // refresh -> the old refresh token is refused.
    let app = extract_id(
        &json_of(
            post("/profile/oauth-application-register")
                .form(&[
                    ("name", "reporting"),
                    ("redirectUri", "https://r.example/cb"),
                    ("scopes", "data-token:read"),
                ])
                .send()
                .await
                .expect("register app"),
            202,
        )
        .await,
    );
    acked(&mut ws, &app).await;
    let config = json_of(
        post("/profile/retrieve-oauth-application-configuration")
            .form(&[("applicationId", app.as_str())])
            .send()
            .await
            .expect("configuration"),
        200,
    )
    .await;
    let client_id = config["clientId"].as_str().expect("clientId").to_owned();
    let client_secret = config["clientSecret"]
        .as_str()
        .expect("clientSecret")
        .to_owned();
    let code_request = extract_id(
        &json_of(
            http.get(format!(
                "{api}/profile/oauth-application-request-authorization-code"
            ))
            .header("X-DPT-AUTHORIZATION", &token)
            .query(&[
                ("client_id", client_id.as_str()),
                ("nonce", "nonce-1"),
                ("scope[]", "all"),
            ])
            .send()
            .await
            .expect("request code"),
            202,
        )
        .await,
    );
    acked(&mut ws, &code_request).await;
    let code = json_of(
        http.post(format!(
            "{api}/oauth-application/retrieve-authorization-code"
        ))
        .basic_auth(&client_id, Some(&client_secret))
        .form(&[("id", code_request.as_str()), ("nonce", "nonce-1")])
        .send()
        .await
        .expect("retrieve code"),
        200,
    )
    .await;
    assert_eq!(code["nonce"], "nonce-1");
    let tokens = json_of(
        http.post(format!("{api}/oauth-application/obtain-access-token"))
            .basic_auth(&client_id, Some(&client_secret))
            .form(&[(
                "authorization_code",
                code["authorizationCode"].as_str().expect("code"),
            )])
            .send()
            .await
            .expect("obtain"),
        200,
    )
    .await;
    assert_eq!(
        (tokens["type"].clone(), tokens["scope"].clone()),
        (json!("bearer"), json!("all"))
    );
    let refresh = |access: String, refresh: String| {
        http.post(format!("{api}/oauth-application/refresh-access-token"))
            .header("Authorization", format!("Basic {access}"))
            .form(&[("refresh_token", refresh)])
            .send()
    };
    let first_refresh = tokens["refreshToken"].as_str().expect("refresh").to_owned();
    let rotated = json_of(
        refresh(
            tokens["token"].as_str().expect("token").to_owned(),
            first_refresh.clone(),
        )
        .await
        .expect("refresh"),
        200,
    )
    .await;
    assert_ne!(
        rotated["refreshToken"].as_str(),
        Some(first_refresh.as_str())
    );
    let refused = refresh(
        rotated["token"].as_str().expect("token").to_owned(),
        first_refresh,
    )
    .await
    .expect("refresh");
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.json::<Value>().await.expect("json")["reason"],
        "oauth.refresh_token_used"
    );
    // The rotated access token reads data tokens (X-DPT-AUTHORIZATION, scope `all`).
    let listed = json_of(
        http.get(format!("{api}/data-token/list-data-tokens"))
            .header(
                "X-DPT-AUTHORIZATION",
                rotated["token"].as_str().expect("token"),
            )
            .query(&[("page", "1"), ("perPage", "10")])
            .send()
            .await
            .expect("list"),
        200,
    )
    .await;
    assert_eq!(
        listed["meta"],
        json!({"count": 2, "page": 1, "perPage": 10})
    );

    // Ctrl-C stops the server cleanly.
    let mut running = running;
    let pid = running.0.id().to_string();
    let status = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(exit) = running.0.try_wait().expect("wait") {
            assert!(exit.success(), "exits cleanly on Ctrl-C: {exit:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server stops on Ctrl-C"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(ws);
}

/// The status and `Allow` header request-status answers `method` with (an unknown command id:
/// `404` where the method is served, `405` where it is not).
async fn request_status(http: &reqwest::Client, api: &str, method: &str) -> (u16, String) {
    let url = format!("{api}/request-status/00000000-0000-0000-0000-000000000000");
    let request = match method {
        "POST" => http.post(url).json(&json!({})),
        _ => http.get(url),
    };
    let response = request.send().await.expect("request-status");
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), allow)
}

/// What request-status answers one method with: the status and the `Allow` header.
type Answer<'a> = (u16, &'a str);

#[tokio::test]
async fn variant_picks_the_wire_the_binary_serves() {
    let http = reqwest::Client::new();
    // (arguments, what POST gets, what GET gets)
    let cases: [(&[&str], Answer, Answer); 4] = [
        (&[], (404, ""), (405, "POST")),
        (&["--variant", "probe"], (404, ""), (405, "POST")),
        (&["--variant", "status-get-only"], (405, "GET"), (404, "")),
        (&["--variant=status-get-only"], (405, "GET"), (404, "")),
    ];
    for (args, post, get) in cases {
        let (running, urls) = start_with(args);
        let answered = (
            request_status(&http, &urls.api, "POST").await,
            request_status(&http, &urls.api, "GET").await,
        );
        let answered = (
            (answered.0.0, answered.0.1.as_str()),
            (answered.1.0, answered.1.1.as_str()),
        );
        assert_eq!(answered, (post, get), "{args:?}");
        drop(running);
    }
}

#[test]
fn an_unknown_variant_is_refused_with_the_valid_names() {
    let output = Command::new(env!("CARGO_BIN_EXE_privicore-mock"))
        .args(["--variant", "status-post"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let names: Vec<&str> = privicore_mock::Variant::all()
        .iter()
        .map(|v| v.name())
        .collect();
    assert_eq!(
        String::from_utf8(output.stderr).expect("utf-8"),
        format!(
            "privicore-mock: --variant: unknown wire variant `status-post`; valid: {}\n",
            names.join(", ")
        )
    );
}

#[test]
fn help_lists_every_variant() {
    let output = Command::new(env!("CARGO_BIN_EXE_privicore-mock"))
        .arg("--help")
        .output()
        .expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("utf-8");
    for variant in privicore_mock::Variant::all() {
        let line = format!(" {:<22}{}", variant.name(), variant.summary());
        assert!(help.contains(&line), "{variant} missing:\n{help}");
    }
}

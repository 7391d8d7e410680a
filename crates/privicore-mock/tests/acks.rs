//! The WebSocket side: who gets which ack, joining and leaving, and that nothing is replayed.

mod common;

use std::time::Duration;

use common::*;
use futures::{SinkExt, StreamExt};
use privicore_mock::MockServer;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn server() -> MockServer {
    MockServer::builder()
        .ack_delay(Duration::from_millis(40))
        .start()
        .await
        .expect("server starts")
}

/// Sends a command (reserve) for `token` and returns its id.
async fn reserve(http: &reqwest::Client, api: &str, token: &str) -> String {
    let body: Value = post_form(
        http,
        format!("{api}/data-token/reserve-token-space"),
        Some(token),
        &[("context", "c")],
    )
    .await;
    extract_id(&body)
}

async fn ready_profile(http: &reqwest::Client, api: &str, name: &str) -> String {
    let token = plain_profile(http, api, name).await;
    plain_activate(http, api, &token).await;
    token
}

#[tokio::test]
async fn acks_reach_every_socket_of_the_profile_and_no_other() {
    let s = server().await;
    let http = reqwest::Client::new();
    let alice = ready_profile(&http, s.api_url(), "alice").await;
    let bob = ready_profile(&http, s.api_url(), "bob").await;
    // A second token of the same profile joins the same channel.
    let alice_again: Value = post_form(
        &http,
        format!("{}/profile/authenticate", s.api_url()),
        None,
        &[("username", "alice"), ("password", "pw")],
    )
    .await;
    let alice_again = alice_again["authorizationToken"].as_str().expect("token");
    let (mut a1, joined) = join(s.ws_url(), &alice).await;
    assert_eq!(joined["status"], 200);
    assert_eq!(joined["correlationId"], "c-1");
    assert_eq!(
        joined["data"]["message"],
        "Successfully joined profile channel."
    );
    assert!(joined["data"]["channelId"].is_string());
    let (mut a2, _) = join(s.ws_url(), alice_again).await;
    let (mut b, _) = join(s.ws_url(), &bob).await;

    let id = reserve(&http, s.api_url(), &alice).await;
    for ws in [&mut a1, &mut a2] {
        let ack = wait_frame(ws, "X-DPT-CAB-ID", &id).await;
        assert_eq!(ack["data"]["command_status"], 2);
        assert_eq!(ack["data"]["body"], "Command completed successfully");
    }
    // Alice's ack went out before Bob sends anything: were it pushed to Bob's socket too, it
    // would arrive there before the ack of Bob's own command.
    let own = reserve(&http, s.api_url(), &bob).await;
    assert_eq!(
        first_ack(&mut b).await,
        own,
        "another profile's socket gets nothing"
    );
}

/// The id of the next frame on `ws`, which must be an ack.
async fn first_ack(ws: &mut Ws) -> String {
    let frame = next_json(ws).await.expect("a frame");
    assert_eq!(frame["data"]["type"], "X-DPT-CAB-ID", "{frame}");
    frame["data"]["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn late_joiners_get_no_replay_but_request_status_answers() {
    let s = server().await;
    let http = reqwest::Client::new();
    let alice = ready_profile(&http, s.api_url(), "alice").await;
    let id = reserve(&http, s.api_url(), &alice).await;
    wait_completed(&http, s.api_url(), &id).await;
    let (mut late, joined) = join(s.ws_url(), &alice).await;
    assert_eq!(joined["status"], 200);
    // A replay of the finished command's ack would arrive before the ack of the next one.
    let next = reserve(&http, s.api_url(), &alice).await;
    assert_eq!(first_ack(&mut late).await, next, "acks are not replayed");
    let status: Value = http
        .post(format!("{}/request-status/{id}", s.api_url()))
        .json(&json!({}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(status, json!(["completed"]));
}

#[tokio::test]
async fn join_rules_bad_token_one_channel_leave_and_unknown_frames() {
    let s = server().await;
    let http = reqwest::Client::new();
    let alice = ready_profile(&http, s.api_url(), "alice").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(s.ws_url())
        .await
        .expect("connects");
    // Garbage and unknown actions are ignored; correlationId may sit at the top level.
    ws.send(Message::text("not json")).await.expect("send");
    ws.send(Message::text(r#"{"action":"dance"}"#))
        .await
        .expect("send");
    ws.send(Message::Ping(vec![1, 2].into()))
        .await
        .expect("ping");
    ws.send(Message::text(
        json!({"action": "joinChannel", "correlationId": "top", "data": {"authorizationToken": "bogus"}}).to_string(),
    ))
    .await
    .expect("send");
    let reply = next_json(&mut ws).await.expect("reply");
    assert_eq!(
        (reply["status"].clone(), reply["correlationId"].clone()),
        (json!(401), json!("top"))
    );
    ws.send(Message::text(
        json!({"action": "joinChannel", "data": {"authorizationToken": alice}}).to_string(),
    ))
    .await
    .expect("send");
    let reply = next_json(&mut ws).await.expect("reply");
    assert_eq!(reply["status"], 200);
    assert_eq!(reply["correlationId"], Value::Null);
    ws.send(Message::text(
        json!({"action": "joinChannel", "data": {"authorizationToken": alice}}).to_string(),
    ))
    .await
    .expect("send");
    assert_eq!(
        next_json(&mut ws).await.expect("reply")["status"],
        409,
        "one channel per connection"
    );
    ws.send(Message::text(
        json!({"action": "leaveChannel", "data": {"authorizationToken": alice, "correlationId": "bye"}}).to_string(),
    ))
    .await
    .expect("send");
    let reply = next_json(&mut ws).await.expect("reply");
    assert_eq!(reply["status"], 200);
    assert_eq!(
        reply["data"]["message"],
        "Successfully left profile channel."
    );
    let id = reserve(&http, s.api_url(), &alice).await;
    wait_completed(&http, s.api_url(), &id).await;
    // Joined again: an ack pushed to the socket while it was out would arrive before the
    // join reply.
    ws.send(Message::text(
        json!({"action": "joinChannel", "data": {"authorizationToken": alice}}).to_string(),
    ))
    .await
    .expect("send");
    let reply = next_json(&mut ws).await.expect("reply");
    assert_eq!(
        reply["status"], 200,
        "a socket that left gets no acks: {reply}"
    );
}

#[tokio::test]
async fn oauth_tokens_join_the_owning_profile_channel() {
    let s = server().await;
    let api = s.api_url();
    let http = reqwest::Client::new();
    let alice = ready_profile(&http, api, "alice").await;
    let app: Value = post_form(
        &http,
        format!("{api}/profile/oauth-application-register"),
        Some(&alice),
        &[
            ("name", "a"),
            ("redirectUri", "https://e.example/cb"),
            ("scopes", "all"),
        ],
    )
    .await;
    let app = extract_id(&app);
    wait_completed(&http, api, &app).await;
    let config: Value = http
        .post(format!(
            "{api}/profile/retrieve-oauth-application-configuration"
        ))
        .header("X-DPT-AUTHORIZATION", &alice)
        .form(&[("applicationId", app.as_str())])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let (id, secret) = (
        config["clientId"].as_str().expect("id"),
        config["clientSecret"].as_str().expect("secret"),
    );
    let request: Value = http
        .get(format!(
            "{api}/profile/oauth-application-request-authorization-code"
        ))
        .header("X-DPT-AUTHORIZATION", &alice)
        .query(&[("client_id", id), ("nonce", "n"), ("scope[]", "all")])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let request = extract_id(&request);
    wait_completed(&http, api, &request).await;
    let code: Value = http
        .post(format!(
            "{api}/oauth-application/retrieve-authorization-code"
        ))
        .basic_auth(id, Some(secret))
        .form(&[("id", request.as_str()), ("nonce", "n")])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let tokens: Value = http
        .post(format!("{api}/oauth-application/obtain-access-token"))
        .basic_auth(id, Some(secret))
        .form(&[(
            "authorization_code",
            code["authorizationCode"].as_str().expect("code"),
        )])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let access = tokens["token"].as_str().expect("access token");
    let (mut profile_socket, _) = join(s.ws_url(), &alice).await;
    let (mut oauth_socket, joined) = join(s.ws_url(), access).await;
    assert_eq!(joined["status"], 200);
    let id = reserve(&http, api, access).await;
    for ws in [&mut profile_socket, &mut oauth_socket] {
        assert_eq!(
            wait_frame(ws, "X-DPT-CAB-ID", &id).await["data"]["command_status"],
            2
        );
    }
}

#[tokio::test]
async fn dropped_websockets_close_without_a_frame() {
    let s = server().await;
    let http = reqwest::Client::new();
    let alice = ready_profile(&http, s.api_url(), "alice").await;
    let (mut ws, _) = join(s.ws_url(), &alice).await;
    assert_eq!(s.stats().websockets, 1);
    s.drop_websockets();
    let next = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("the socket ends");
    assert!(
        !matches!(next, Some(Ok(Message::Close(_)))),
        "dropped without a close frame: {next:?}"
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while s.stats().websockets != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "connection count returns to 0"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

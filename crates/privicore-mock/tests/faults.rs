//! Fault injection: each fault, changed at run time, and reproducible from the seed.

mod common;

use std::time::{Duration, Instant};

use common::*;
use privicore_mock::{FaultConfig, MockServer};
use serde_json::{Value, json};

#[tokio::test]
async fn server_errors_change_nothing_and_can_be_cleared() {
    let s = server().await;
    s.faults().update(|f| f.error_rate = 1.0);
    let http = reqwest::Client::new();
    let register = || {
        http.post(format!("{}/profile/register-profile", s.api_url()))
            .form(&[("username", "alice"), ("password", "pw")])
            .send()
    };
    for _ in 0..4 {
        let response = register().await.expect("sent");
        let status = response.status().as_u16();
        assert!(status == 503 || status == 500, "{status}");
        let body: Value = response.json().await.expect("ApiError");
        assert!(
            body["reason"]
                .as_str()
                .expect("reason")
                .starts_with("fault.")
        );
    }
    assert_eq!(s.stats().profiles, 0, "a 5xx answer changed no state");
    s.faults().clear();
    assert!(!s.faults().get().is_active());
    assert_eq!(register().await.expect("sent").status(), 202);
}

#[tokio::test]
async fn latency_delays_every_request() {
    let s = MockServer::builder()
        .faults(FaultConfig {
            latency: Duration::from_millis(120),
            jitter: Duration::from_millis(30),
            ..FaultConfig::default()
        })
        .start()
        .await
        .expect("server starts");
    let started = Instant::now();
    let response = reqwest::get(format!("{}/health", s.api_url()))
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn rejected_commands_fail_with_status_3_and_no_effect() {
    let s = server().await;
    let http = reqwest::Client::new();
    let token = active_profile(s.api_url(), "alice", "pw").await;
    let (mut ws, _) = join(s.ws_url(), &token).await;
    s.faults().update(|f| f.reject_rate = 1.0);
    let body: Value = post_form(
        &http,
        format!("{}/data-token/reserve-token-space", s.api_url()),
        Some(&token),
        &[("context", "c")],
    )
    .await;
    let id = extract_id(&body);
    let ack = wait_frame(&mut ws, "X-DPT-CAB-ID", &id).await;
    assert_eq!(ack["data"]["command_status"], 3);
    assert_eq!(ack["data"]["body"], "fault.injected_rejection");
    let status: Value = http
        .post(format!("{}/request-status/{id}", s.api_url()))
        .json(&json!({}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(status, json!(["failed"]));
    s.faults().clear();
    let temp = http
        .get(format!(
            "{}/data-token/retrieve-temporary-data-token/{id}",
            s.api_url()
        ))
        .header("X-DPT-AUTHORIZATION", &token)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        temp.status(),
        404,
        "the rejected reservation does not exist"
    );
}

#[tokio::test]
async fn tokens_expire_early() {
    let s = server().await;
    let token = active_profile(s.api_url(), "alice", "pw").await;
    s.faults().update(|f| f.early_expiry_rate = 1.0);
    let get = || {
        reqwest::Client::new()
            .get(format!("{}/profile/retrieve-profile-id", s.api_url()))
            .header("X-DPT-AUTHORIZATION", &token)
            .send()
    };
    let response = get().await.expect("sent");
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.expect("json")["reason"],
        "auth.token_expired"
    );
    s.faults().clear();
    assert_eq!(
        get().await.expect("sent").status(),
        401,
        "an early-expired token stays expired"
    );
}

#[tokio::test]
async fn truncated_and_malformed_bodies_fail_to_decode() {
    let s = server().await;
    let client = anonymous(s.api_url());
    s.faults().update(|f| f.truncate_rate = 1.0);
    let truncated = client.check_server_health().send().await;
    assert!(
        matches!(
            truncated,
            Err(privicore_api::Error::InvalidResponsePayload(..))
        ),
        "{truncated:?}"
    );
    s.faults().set(FaultConfig {
        malform_rate: 1.0,
        ..FaultConfig::default()
    });
    let text = reqwest::get(format!("{}/health", s.api_url()))
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    s.faults().clear();
    client
        .check_server_health()
        .send()
        .await
        .expect("healthy again");
}

#[tokio::test]
async fn websockets_are_dropped_periodically() {
    use futures::StreamExt;
    let s = server().await;
    let token = active_profile(s.api_url(), "alice", "pw").await;
    // Nothing else drops these sockets: each one ends only through the periodic drop, and
    // again after a reconnect. The fault is off while joining, so the join reply gets through.
    for round in 1..=2u64 {
        let (mut ws, _) = join(s.ws_url(), &token).await;
        s.faults()
            .update(|f| f.ws_drop_every = Some(Duration::from_millis(100)));
        let ended =
            tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = ws.next().await {} }).await;
        assert!(ended.is_ok(), "socket {round} was dropped within {WAIT:?}");
        let drops = s.faults().counts().ws_drops;
        assert!(
            drops >= round,
            "{drops} periodic drops counted by round {round}"
        );
        s.faults().update(|f| f.ws_drop_every = None);
    }
}

/// The status codes of `n` health checks under a 50 % error rate.
async fn statuses(seed: u64, n: usize) -> Vec<u16> {
    let s = MockServer::builder()
        .seed(seed)
        .faults(FaultConfig {
            error_rate: 0.5,
            ..FaultConfig::default()
        })
        .start()
        .await
        .expect("server starts");
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for _ in 0..n {
        let response = http
            .get(format!("{}/health", s.api_url()))
            .send()
            .await
            .expect("sent");
        out.push(response.status().as_u16());
    }
    out
}

#[tokio::test]
async fn faults_are_reproducible_from_the_seed() {
    let a = statuses(42, 40).await;
    let b = statuses(42, 40).await;
    let c = statuses(43, 40).await;
    assert_eq!(a, b, "same seed, same faults");
    assert_ne!(a, c, "another seed, other faults");
    assert!(a.contains(&200) && a.iter().any(|s| *s >= 500));
}

#[tokio::test]
async fn damage_after_the_change_is_limited_to_its_operations_and_recorded() {
    let s = server().await;
    let token = active_profile(s.api_url(), "alice", "pw").await;
    s.faults().set(FaultConfig {
        truncate_rate: 1.0,
        mangle_operations: vec!["reserve_token_space".into()],
        ..FaultConfig::default()
    });
    s.clear_recorded();
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/health", s.api_url()))
        .header("x-request-id", "h-1")
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(
        serde_json::from_str::<Value>(&health).is_ok(),
        "another operation's answer is intact: {health}"
    );
    let reserved = http
        .post(format!("{}/data-token/reserve-token-space", s.api_url()))
        .header("x-dpt-authorization", &token)
        .header("x-request-id", "r-1")
        .form(&[("context", "c")])
        .send()
        .await
        .expect("sent");
    assert_eq!(reserved.status(), 202);
    let text = reserved.text().await.expect("text");
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "the answer is damaged: {text}"
    );
    let recorded = s.recorded();
    let by_id = |id: &str| {
        recorded
            .iter()
            .find(|r| r.request_id() == Some(id))
            .unwrap_or_else(|| panic!("request {id} recorded"))
    };
    assert_eq!(by_id("h-1").fault, None);
    let request = by_id("r-1");
    let Some(privicore_mock::InjectedFault::Truncated {
        command_id: Some(id),
    }) = &request.fault
    else {
        panic!(
            "the damage is recorded with its command: {:?}",
            request.fault
        );
    };
    assert_eq!(request.command_id.as_ref(), Some(id));
    // The change happened all the same: the damage is to the answer only.
    assert_eq!(
        s.command_outcome(id),
        Some(privicore_mock::CommandOutcome::Completed)
    );
}

//! Recording: every request is kept, named by operation, with secrets masked.

mod common;

use common::*;
use privicore_mock::{Listener, MASK, MockServer, RecordedBody};
use serde_json::json;

#[tokio::test]
async fn requests_are_recorded_with_secrets_masked() {
    let s = server().await;
    let api = s.api_url();
    let token = active_profile(api, "alice", "hunter2").await;
    let http = reqwest::Client::new();
    http.post(format!("{api}/data-token/exchange-data-for-token"))
        .header("X-DPT-AUTHORIZATION", &token)
        .form(&[("temporaryTokenSpace", "tmp-secret"), ("data", "AAAAAAAA")])
        .send()
        .await
        .expect("sent");
    http.post(format!("{api}/data-token/update-data"))
        .header("X-DPT-AUTHORIZATION", &token)
        .json(&json!({"dataToken": "dt-secret", "data": "AAAA", "meta": {"file": {"fileName": "a.txt"}}}))
        .send()
        .await
        .expect("sent");
    http.post(format!(
        "{api}/oauth-application/retrieve-authorization-code"
    ))
    .basic_auth("client", Some("client-secret"))
    .form(&[("id", "x"), ("nonce", "n")])
    .send()
    .await
    .expect("sent");
    http.post(format!("{}/?auth=stream-secret", s.stream_url()))
        .header("content-type", "application/octet-stream")
        .body(vec![0u8; 10])
        .send()
        .await
        .expect("sent");

    let recorded = s.recorded();
    let everything = format!("{recorded:?}");
    for secret in [
        "hunter2",
        &token,
        "tmp-secret",
        "dt-secret",
        "client-secret",
        "stream-secret",
    ] {
        assert!(
            !everything.contains(secret),
            "`{secret}` leaked into the recording"
        );
    }
    let register = recorded
        .iter()
        .find(|r| r.operation_id == Some("register_profile"))
        .expect("register recorded");
    assert_eq!(register.form_field("username"), Some("alice"));
    assert_eq!(register.form_field("password"), Some(MASK));
    assert_eq!(register.status, 202);
    let exchange = recorded
        .iter()
        .find(|r| r.operation_id == Some("exchange_data_for_token"))
        .expect("exchange recorded");
    assert_eq!(exchange.header("x-dpt-authorization"), Some(MASK));
    assert_eq!(exchange.form_field("data"), Some("<8 bytes>"));
    let update = recorded
        .iter()
        .find(|r| r.operation_id == Some("update_data_token"))
        .expect("update recorded");
    let RecordedBody::Json(body) = &update.body else {
        panic!("JSON body")
    };
    assert_eq!(body["dataToken"], MASK);
    assert_eq!(body["meta"]["file"]["fileName"], "a.txt");
    let basic = recorded
        .iter()
        .find(|r| r.operation_id == Some("retrieve_oauth_authorization_code"))
        .expect("code recorded");
    assert_eq!(basic.header("authorization"), Some("Basic ***"));
    assert_eq!(basic.status, 401);
    let upload = recorded
        .iter()
        .find(|r| r.listener == Listener::Stream)
        .expect("upload recorded");
    assert_eq!(upload.operation_id, Some("upload_stream"));
    assert_eq!(upload.query, vec![("auth".to_owned(), MASK.to_owned())]);
    assert!(matches!(
        upload.body,
        RecordedBody::Binary { len: Some(10), .. }
    ));

    assert_eq!(s.count("register_profile"), 1);
    assert_eq!(s.count("exchange_data_for_token"), 1);
    s.clear_recorded();
    assert!(s.recorded().is_empty());
    assert_eq!(s.count("register_profile"), 0);
}

#[tokio::test]
async fn the_log_is_bounded() {
    let s = MockServer::builder()
        .record_limit(3)
        .start()
        .await
        .expect("server starts");
    for _ in 0..5 {
        reqwest::get(format!("{}/health", s.api_url()))
            .await
            .expect("sent");
    }
    assert_eq!(s.recorded().len(), 3);
    assert_eq!(s.stats().recorded, 3);
    assert_eq!(s.count("check_server_health"), 5);
}

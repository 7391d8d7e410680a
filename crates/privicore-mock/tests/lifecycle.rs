//! Starting on chosen or ephemeral ports, and stopping on drop or `shutdown()`.

use std::time::Duration;

use privicore_mock::{Error, MockServer, Stats};

/// How long a listener may take to stop: generous, so that a loaded machine makes the test
/// slower, never wrong.
const WAIT: Duration = Duration::from_secs(60);

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port")
}

/// Waits until nothing accepts connections at `url` any more.
async fn refused(url: &str) {
    let address = url.split("://").nth(1).expect("address").to_owned();
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(&address).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} still accepts connections"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn ephemeral_ports_and_stop_on_drop() {
    let server = MockServer::start().await.expect("server starts");
    let urls = [
        server.api_url().to_owned(),
        server.ws_url().to_owned(),
        server.stream_url().to_owned(),
        server.download_url().to_owned(),
    ];
    let ports: std::collections::HashSet<u16> = urls.iter().map(|u| port_of(u)).collect();
    assert_eq!(ports.len(), 4, "four separate listeners");
    assert_eq!(
        server.stats(),
        Stats::default(),
        "a new server holds nothing"
    );
    assert!(format!("{server:?}").contains("127.0.0.1"));
    drop(server);
    for url in &urls {
        refused(url).await;
    }
}

#[tokio::test]
async fn shutdown_stops_all_listeners() {
    let server = MockServer::start().await.expect("server starts");
    let api = server.api_url().to_owned();
    let download = server.download_url().to_owned();
    // An open keep-alive connection does not hold shutdown up.
    reqwest::get(format!("{api}/health")).await.expect("served");
    tokio::time::timeout(Duration::from_secs(6), server.shutdown())
        .await
        .expect("shutdown finishes");
    refused(&api).await;
    refused(&download).await;
}

#[tokio::test]
async fn a_chosen_port_takes_the_next_three() {
    // Find four free consecutive ports; another process may take them in between, so retry.
    for _ in 0..20 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
        let base = probe.local_addr().expect("address").port();
        drop(probe);
        if base > u16::MAX - 3 {
            continue;
        }
        match MockServer::builder().port(base).start().await {
            Ok(server) => {
                assert_eq!(port_of(server.api_url()), base);
                assert_eq!(port_of(server.ws_url()), base + 1);
                assert_eq!(port_of(server.stream_url()), base + 2);
                assert_eq!(port_of(server.download_url()), base + 3);
                return;
            }
            Err(Error::Bind { .. }) => {
                continue;
            }
            Err(other) => panic!("{other}"),
        }
    }
    panic!("no four free consecutive ports found");
}

#[tokio::test]
async fn a_port_too_high_is_refused() {
    let error = MockServer::builder()
        .port(65_534)
        .start()
        .await
        .expect_err("no room for three more ports");
    assert!(matches!(error, Error::PortOutOfRange(65_534)));
}

//! TLS, client certificates, the proxy and the caller's own HTTP client (issue 16).
//!
//! A TLS-terminating relay (tokio-rustls, a server certificate signed by the test CA in
//! `tests/tls/`) sits in front of the embedded mock's API and WebSocket listeners. Each check
//! shows both sides: refused without the setting, accepted with it. Run with `--nocapture` to
//! see the lines (`http without test CA: refused: ...`).

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use privicore::{Client, Error, KeyPair, StoreOptions, TlsConfig, VaultKey};
use privicore_mock::MockServer;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

const CA: &[u8] = include_bytes!("tls/ca.pem");
const SERVER_CERT: &[u8] = include_bytes!("tls/server.pem");
const SERVER_KEY: &[u8] = include_bytes!("tls/server.key");
const CLIENT_CERT: &[u8] = include_bytes!("tls/client.pem");
const CLIENT_KEY: &[u8] = include_bytes!("tls/client.key");

/// Long enough for many connection attempts on a loaded machine; only the refused cases wait
/// it out (an accepted WebSocket joins in milliseconds).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A TLS endpoint on 127.0.0.1 that relays the plaintext to `upstream` (a mock listener).
struct Relay {
    addr: SocketAddr,
    /// Handshakes that completed.
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    /// `require_client_cert`: only clients presenting a certificate signed by the test CA
    /// complete the handshake.
    async fn start(upstream: &str, require_client_cert: bool) -> Relay {
        let upstream = address_of(upstream);
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions");
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(certificate(CA)).expect("the test CA");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let config = builder
            .with_single_cert(
                vec![certificate(SERVER_CERT)],
                PrivateKeyDer::from_pem_slice(SERVER_KEY).expect("the server key"),
            )
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let count = count.clone();
                tokio::spawn(async move {
                    // A refused handshake just ends this connection.
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    count.fetch_add(1, Ordering::SeqCst);
                    let Ok(mut plain) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Relay {
            addr,
            accepted,
            task,
        }
    }

    fn https(&self) -> String {
        format!("https://{}", self.addr)
    }

    fn wss(&self) -> String {
        format!("wss://{}", self.addr)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn certificate(pem: &[u8]) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem).expect("a test certificate")
}

/// `host:port` of a mock URL.
fn address_of(url: &str) -> SocketAddr {
    let url = url::Url::parse(url).expect("a mock URL");
    let host = url.host_str().expect("a host");
    let port = url.port().expect("a port");
    format!("{host}:{port}").parse().expect("an IP address")
}

fn test_ca() -> TlsConfig {
    TlsConfig::new()
        .add_root_certificate(CA)
        .expect("the test CA parses")
}

/// The error and its causes on one line, for the printed evidence.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The rustls error somewhere in `error`'s causes. An `io::Error` hides the error it wraps
/// from `source()` (reqwest's chain has an `io::Error` inside an `io::Error`), so the walk
/// steps into it instead.
fn tls_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
    }
    None
}

fn assert_untrusted(error: &Error) {
    assert!(
        matches!(
            tls_cause(error),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "the cause is the unknown issuer: {error:?}"
    );
}

/// Registers a profile on the mock directly (plain HTTP), for the log-ins over TLS.
async fn registered(mock: &MockServer, name: &str) -> SecretString {
    let password = SecretString::from(common::PASSWORD);
    let plain = common::builder(mock).build().expect("plain client");
    plain
        .register_profile(name, &password)
        .await
        .expect("registered");
    password
}

#[tokio::test]
async fn http_is_refused_without_the_test_ca_and_accepted_with_it() {
    let mock = MockServer::start().await.expect("the mock starts");
    let relay = Relay::start(mock.api_url(), false).await;
    let password = registered(&mock, "tls-http@test").await;

    let without = Client::builder()
        .api_url(relay.https())
        .build()
        .expect("client");
    let error = without
        .login("tls-http@test", password.clone())
        .await
        .expect_err("an untrusted server certificate is refused");
    println!("http without test CA: refused: {}", chain(&error));
    assert!(
        matches!(error, Error::Transport { .. }),
        "a transport error: {error:?}"
    );
    assert_untrusted(&error);
    assert_eq!(relay.accepted(), 0, "no handshake completed");

    let with = Client::builder()
        .api_url(relay.https())
        .tls(test_ca())
        .build()
        .expect("client");
    let session = with
        .login("tls-http@test", password)
        .await
        .expect("the test CA makes the certificate trusted");
    session.profile_id().await.expect("a call over TLS");
    println!("http with test CA: accepted");
    assert!(relay.accepted() >= 1);
}

#[tokio::test]
async fn the_websocket_is_refused_without_the_test_ca_and_accepted_with_it() {
    let mock = MockServer::start().await.expect("the mock starts");
    let relay = Relay::start(mock.ws_url(), false).await;
    // The API stays plain HTTP here: only the WebSocket's TLS is under test.
    let client = |tls: Option<TlsConfig>| {
        let builder = Client::builder()
            .api_url(mock.api_url())
            .ws_url(relay.wss())
            .command_timeout(COMMAND_TIMEOUT);
        match tls {
            Some(tls) => builder.tls(tls),
            None => builder,
        }
        .build()
        .expect("client")
    };

    // Provisioning ends with a command, which needs the joined WebSocket.
    let error = client(None)
        .provision(
            "tls-ws-refused@test",
            SecretString::from(common::PASSWORD),
            &KeyPair::generate(),
        )
        .await
        .expect_err("an untrusted WebSocket certificate is refused");
    println!("websocket without test CA: refused: {}", chain(&error));
    assert!(
        matches!(error, Error::WebSocketConnect { .. }),
        "the WebSocket's connection error: {error:?}"
    );
    assert_untrusted(&error);
    assert_eq!(relay.accepted(), 0, "no handshake completed");

    let session = client(Some(test_ca()))
        .provision(
            "tls-ws-accepted@test",
            SecretString::from(common::PASSWORD),
            &KeyPair::generate(),
        )
        .await
        .expect("the test CA makes the WebSocket's certificate trusted");
    println!("websocket with test CA: accepted");
    assert!(relay.accepted() >= 1);
    session.logout().await.expect("logged out");
}

#[tokio::test]
async fn a_client_certificate_is_presented_on_both_connections() {
    let mock = MockServer::start().await.expect("the mock starts");
    let api = Relay::start(mock.api_url(), true).await;
    let ws = Relay::start(mock.ws_url(), true).await;
    let client = |tls: TlsConfig| {
        Client::builder()
            .api_url(api.https())
            .ws_url(ws.wss())
            .command_timeout(COMMAND_TIMEOUT)
            .tls(tls)
            .build()
            .expect("client")
    };

    let error = client(test_ca())
        .register_profile("mtls@test", &SecretString::from(common::PASSWORD))
        .await
        .expect_err("a server that requires a client certificate refuses one without");
    println!(
        "http without client certificate: refused: {}",
        chain(&error)
    );
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(api.accepted(), 0);

    // The WebSocket alone (the API plain): refused without the certificate too.
    let error = Client::builder()
        .api_url(mock.api_url())
        .ws_url(ws.wss())
        .command_timeout(COMMAND_TIMEOUT)
        .tls(test_ca())
        .build()
        .expect("client")
        .provision(
            "mtls-ws-refused@test",
            SecretString::from(common::PASSWORD),
            &KeyPair::generate(),
        )
        .await
        .expect_err("the WebSocket without a client certificate is refused");
    println!(
        "websocket without client certificate: refused: {}",
        chain(&error)
    );
    assert!(matches!(error, Error::WebSocketConnect { .. }), "{error:?}");
    assert_eq!(ws.accepted(), 0);

    let with_identity = test_ca()
        .identity(CLIENT_CERT, CLIENT_KEY)
        .expect("the test client identity");
    let session = client(with_identity)
        .provision(
            "mtls@test",
            SecretString::from(common::PASSWORD),
            &KeyPair::generate(),
        )
        .await
        .expect("the client certificate is accepted on the API and the WebSocket");
    println!("http and websocket with client certificate: accepted");
    assert!(api.accepted() >= 1, "the API handshake completed");
    assert!(ws.accepted() >= 1, "the WebSocket handshake completed");
    session.logout().await.expect("logged out");
}

/// An HTTP `CONNECT` proxy on 127.0.0.1 that records the authorities it tunnels to.
struct Proxy {
    addr: SocketAddr,
    tunnels: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let record = tunnels.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(tunnel(socket, record.clone()));
            }
        });
        Proxy {
            addr,
            tunnels,
            task,
        }
    }

    fn tunnels(&self) -> Vec<String> {
        self.tunnels.lock().expect("tunnels").clone()
    }
}

/// Serves one `CONNECT authority HTTP/1.1` request: answers 200 and relays both ways.
async fn tunnel(mut client: TcpStream, record: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        match client.read_u8().await {
            Ok(byte) => head.push(byte),
            Err(_) => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut words = head.split_whitespace();
    let (Some("CONNECT"), Some(authority)) = (words.next(), words.next()) else {
        let _ = client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            .await;
        return;
    };
    record.lock().expect("tunnels").push(authority.to_owned());
    let Ok(mut upstream) = TcpStream::connect(authority).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

#[tokio::test]
async fn the_websocket_and_the_api_go_through_the_proxy() {
    let mock = MockServer::start().await.expect("the mock starts");
    let api = Relay::start(mock.api_url(), false).await;
    let ws = Relay::start(mock.ws_url(), false).await;
    let proxy = Proxy::start().await;
    let tls = test_ca()
        .proxy(&format!("http://{}", proxy.addr))
        .expect("a proxy URL");
    let client = Client::builder()
        .api_url(api.https())
        .ws_url(ws.wss())
        .command_timeout(COMMAND_TIMEOUT)
        .tls(tls)
        .build()
        .expect("client");
    let session = client
        .provision(
            "proxied@test",
            SecretString::from(common::PASSWORD),
            &KeyPair::generate(),
        )
        .await
        .expect("provisioned through the proxy");
    let tunnels = proxy.tunnels();
    println!("proxy tunnels: {tunnels:?}");
    assert!(
        tunnels.contains(&api.addr.to_string()),
        "the API went through the proxy: {tunnels:?}"
    );
    assert!(
        tunnels.contains(&ws.addr.to_string()),
        "the WebSocket went through the proxy: {tunnels:?}"
    );
    session.logout().await.expect("logged out");
}

/// The header the caller's own client adds to every request.
const CUSTOM_HEADER: &str = "x-test-http-client";

#[tokio::test]
async fn the_callers_http_client_sends_every_request() {
    let mock = MockServer::builder()
        .inline_threshold(1024)
        .start()
        .await
        .expect("the mock starts");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        CUSTOM_HEADER,
        reqwest::header::HeaderValue::from_static("caller-42"),
    );
    let custom = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a reqwest client");
    let client = common::builder(&mock)
        .http_client(custom)
        .build()
        .expect("client");

    let session = client
        .provision(
            "own-client@test",
            SecretString::from(common::PASSWORD),
            &KeyPair::generate(),
        )
        .await
        .expect("provisioned");
    let vault = session.vault(VaultKey::generate());
    // Above the inline threshold: the upload and the download use the transfer listeners.
    let payload = vec![5u8; 64 * 1024];
    let token = vault
        .store(&payload, &StoreOptions::new("own-client"))
        .await
        .expect("stored");
    assert_eq!(vault.retrieve(&token).await.expect("retrieved"), payload);

    let recorded = mock.recorded();
    let listeners: std::collections::BTreeSet<String> = recorded
        .iter()
        .map(|r| format!("{:?}", r.listener))
        .collect();
    println!(
        "own http client: {} requests on {listeners:?}",
        recorded.len()
    );
    assert_eq!(
        listeners.len(),
        3,
        "the API, stream and download listeners were all used"
    );
    let without: Vec<String> = recorded
        .iter()
        .filter(|r| r.header(CUSTOM_HEADER) != Some("caller-42"))
        .map(|r| format!("{:?} {} {}", r.listener, r.method, r.path))
        .collect();
    assert!(
        without.is_empty(),
        "every request came from the caller's client; these did not: {without:?}"
    );
}

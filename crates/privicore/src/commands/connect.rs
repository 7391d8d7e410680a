//! Opening the acknowledgement WebSocket: directly, or through an HTTP `CONNECT` proxy, with
//! the client's TLS settings ([`TlsConfig`](crate::TlsConfig)).
//!
//! Errors keep their type (tungstenite's, with rustls' inside for a refused certificate), so
//! that [`Error::WebSocketConnect`](crate::Error::WebSocketConnect) can hand the caller the
//! real cause.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use url::Url;

/// The socket the hub reads and writes.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why the socket could not be opened, kept whole for the caller.
pub(crate) type ConnectError = Arc<dyn std::error::Error + Send + Sync>;

/// The errors of the steps, before they are shared.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Longest `CONNECT` answer head read from a proxy.
const MAX_PROXY_ANSWER: usize = 8 * 1024;

/// How the WebSocket reaches the server.
#[derive(Clone, Default)]
pub(crate) struct Route {
    /// The rustls configuration of `wss://` (`None`: tokio-tungstenite's default).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The HTTP proxy to tunnel through.
    pub proxy: Option<Url>,
}

impl Route {
    /// Opens the socket to `url` and runs the WebSocket handshake.
    pub(crate) async fn open(&self, url: &Url) -> Result<Socket, ConnectError> {
        self.try_open(url).await.map_err(ConnectError::from)
    }

    async fn try_open(&self, url: &Url) -> Result<Socket, BoxError> {
        let connector = self.tls.clone().map(Connector::Rustls);
        match &self.proxy {
            None => {
                let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
                    url.as_str(),
                    None,
                    false,
                    connector,
                )
                .await?;
                Ok(socket)
            }
            Some(proxy) => {
                let stream = tunnel(proxy, url).await?;
                let (socket, _) = tokio_tungstenite::client_async_tls_with_config(
                    url.as_str(),
                    stream,
                    None,
                    connector,
                )
                .await?;
                Ok(socket)
            }
        }
    }
}

/// A TCP stream to `target`'s host and port through the proxy's `CONNECT` tunnel.
async fn tunnel(proxy: &Url, target: &Url) -> Result<TcpStream, BoxError> {
    let (Some(proxy_host), Some(proxy_port)) = (proxy.host_str(), proxy.port_or_known_default())
    else {
        return Err("the proxy URL has no host".into());
    };
    let (Some(host), Some(port)) = (target.host(), target.port_or_known_default()) else {
        return Err("the WebSocket URL has no host".into());
    };
    // `Host` prints an IPv6 address in brackets, as the authority form needs.
    let authority = format!("{host}:{port}");
    let mut stream = TcpStream::connect((proxy_host.trim_matches(['[', ']']), proxy_port)).await?;
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(credentials) = proxy_credentials(proxy) {
        head.push_str("Proxy-Authorization: Basic ");
        head.push_str(credentials.expose_secret());
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    let status = read_answer_status(&mut stream).await?;
    if status != 200 {
        return Err(
            format!("the proxy refused the tunnel to {authority} with status {status}").into(),
        );
    }
    Ok(stream)
}

/// `base64(user:password)` of the proxy URL, when it has a user.
fn proxy_credentials(proxy: &Url) -> Option<SecretString> {
    use base64::Engine;
    if proxy.username().is_empty() {
        return None;
    }
    let decode = |text: &str| percent_decode(text).unwrap_or_else(|| text.to_owned());
    let pair = format!(
        "{}:{}",
        decode(proxy.username()),
        decode(proxy.password().unwrap_or(""))
    );
    Some(SecretString::from(
        base64::engine::general_purpose::STANDARD.encode(pair),
    ))
}

/// `%XX`-decodes URL userinfo (which [`Url`] keeps encoded); `None` when it is not valid.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Reads the proxy's answer head (up to the blank line, byte by byte so that nothing of the
/// tunnel is consumed) and returns its status code.
async fn read_answer_status(stream: &mut TcpStream) -> Result<u16, BoxError> {
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_PROXY_ANSWER {
            return Err("the proxy's answer head is too long".into());
        }
        let byte = stream.read_u8().await?;
        head.push(byte);
    }
    let status_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let status = std::str::from_utf8(status_line)
        .ok()
        .filter(|line| line.starts_with("HTTP/1."))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok());
    status.ok_or_else(|| "the proxy did not answer the CONNECT with HTTP".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_decoded_then_encoded_for_basic() {
        let proxy = Url::parse("http://us%40er:p%3Ass@proxy:3128").expect("url");
        let encoded = proxy_credentials(&proxy).expect("credentials");
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.expose_secret())
            .expect("base64");
        assert_eq!(decoded, b"us@er:p:ss");
        let anonymous = Url::parse("http://proxy:3128").expect("url");
        assert!(proxy_credentials(&anonymous).is_none());
    }

    /// A proxy that reads one CONNECT head, answers `answer`, and hands the head back.
    async fn one_shot_proxy(answer: &'static str) -> (Url, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                head.push(socket.read_u8().await.expect("the CONNECT head"));
            }
            socket.write_all(answer.as_bytes()).await.expect("answered");
            String::from_utf8(head).expect("text")
        });
        let url = Url::parse(&format!("http://user:pa%20ss@{addr}")).expect("proxy url");
        (url, task)
    }

    #[tokio::test]
    async fn a_refused_tunnel_is_an_error_naming_the_status() {
        let (proxy, head) =
            one_shot_proxy("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").await;
        let route = Route {
            tls: None,
            proxy: Some(proxy),
        };
        let target = Url::parse("ws://privicore.test:8083/").expect("ws url");
        let error = route.open(&target).await.expect_err("refused");
        assert!(error.to_string().contains("with status 407"), "{error}");
        let head = head.await.expect("the proxy ran");
        assert!(
            head.starts_with("CONNECT privicore.test:8083 HTTP/1.1\r\n"),
            "{head}"
        );
        // base64("user:pa ss")
        assert!(
            head.contains("Proxy-Authorization: Basic dXNlcjpwYSBzcw==\r\n"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn a_proxy_that_does_not_speak_http_is_an_error() {
        let (proxy, _head) = one_shot_proxy("SSH-2.0-OpenSSH\r\n\r\n").await;
        let route = Route {
            tls: None,
            proxy: Some(proxy),
        };
        let target = Url::parse("ws://privicore.test:8083/").expect("ws url");
        let error = route.open(&target).await.expect_err("not HTTP");
        assert!(error.to_string().contains("did not answer"), "{error}");
    }

    #[test]
    fn malformed_percent_escapes_are_refused() {
        assert_eq!(percent_decode("a%2"), None);
        assert_eq!(percent_decode("a%zz"), None);
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
    }
}

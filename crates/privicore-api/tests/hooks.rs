//! The auth hooks, end to end: the generated client against a local listener that records
//! every request and answers from a script. Counting requests on the server side is what shows
//! that a `401` leads to at most one refresh and one replay.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use privicore_api::hooks::{
    BoxFuture, Credential, CredentialError, Inner, StaticToken, TokenSource,
};
use privicore_api::operations::Auth;
use privicore_api::{Client, Error, types};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// A scripted HTTP/1.1 listener
// ---------------------------------------------------------------------------------------------

/// A request as the listener received it (header names lower-cased).
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Script {
    seen: Vec<Seen>,
    replies: VecDeque<(u16, String)>,
}

/// Answers each request with the next scripted `(status, JSON body)`; `500` when the script
/// has run out, so an unexpected extra request fails the test.
struct Server {
    url: String,
    script: Arc<Mutex<Script>>,
}

impl Server {
    async fn start(replies: &[(u16, &str)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let script = Arc::new(Mutex::new(Script {
            seen: Vec::new(),
            replies: replies.iter().map(|(s, b)| (*s, (*b).to_owned())).collect(),
        }));
        let shared = Arc::clone(&script);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&shared)));
            }
        });
        Self { url, script }
    }

    fn seen(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }
}

async fn serve(mut stream: TcpStream, script: Arc<Mutex<Script>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        buffer.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or_default().split(' ');
        let method = request_line.next().unwrap_or_default().to_owned();
        let target = request_line.next().unwrap_or_default().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buffer.len() < length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buffer.drain(..length).collect();
        let (status, reply) = {
            let mut script = script.lock().unwrap();
            script.seen.push(Seen {
                method,
                target,
                headers,
                body,
            });
            script
                .replies
                .pop_front()
                .unwrap_or((500, r#"{"message":"script exhausted"}"#.to_owned()))
        };
        let response = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Token sources and fixtures
// ---------------------------------------------------------------------------------------------

const UNAUTHORIZED: (u16, &str) = (401, r#"{"message":"token expired"}"#);
const PROFILE_ID: (u16, &str) = (
    200,
    r#"{"profileId":"0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}"#,
);
const ACCEPTED: (u16, &str) = (202, r#""23f7978a-5561-4718-84ca-c38d7db0843c""#);

/// A source whose token the server may reject: `credential` hands out the current token;
/// `refresh` records what was rejected and, if a replacement is set, switches to it.
struct Rotating {
    current: Mutex<Credential>,
    replacement: Option<Credential>,
    rejected: Mutex<Vec<(Auth, Credential)>>,
}

impl Rotating {
    fn new(current: Credential, replacement: Option<Credential>) -> Arc<Self> {
        Arc::new(Self {
            current: Mutex::new(current),
            replacement,
            rejected: Mutex::new(Vec::new()),
        })
    }

    fn rejected(&self) -> Vec<(Auth, Credential)> {
        self.rejected.lock().unwrap().clone()
    }
}

impl TokenSource for Rotating {
    fn credential(&self, _: Auth) -> BoxFuture<'_, Result<Option<Credential>, CredentialError>> {
        let current = self.current.lock().unwrap().clone();
        Box::pin(async move { Ok(Some(current)) })
    }

    fn refresh<'a>(
        &'a self,
        auth: Auth,
        rejected: &'a Credential,
    ) -> BoxFuture<'a, Option<Credential>> {
        self.rejected.lock().unwrap().push((auth, rejected.clone()));
        if let Some(fresh) = &self.replacement {
            *self.current.lock().unwrap() = fresh.clone();
        }
        let fresh = self.replacement.clone();
        Box::pin(async move { fresh })
    }
}

/// A source with no credential: `Ok(None)`, or an error.
struct NoCredential {
    fail: bool,
}

impl TokenSource for NoCredential {
    fn credential(&self, _: Auth) -> BoxFuture<'_, Result<Option<Credential>, CredentialError>> {
        let result = if self.fail {
            Err(CredentialError("not logged in".into()))
        } else {
            Ok(None)
        };
        Box::pin(async move { result })
    }

    fn refresh<'a>(&'a self, _: Auth, _: &'a Credential) -> BoxFuture<'a, Option<Credential>> {
        Box::pin(async { None })
    }
}

fn token(value: &str) -> Credential {
    Credential::Token(value.into())
}

fn client_with(server: &Server, source: Arc<dyn TokenSource>) -> Client {
    Client::new(&server.url, Inner::with_source(source))
}

fn static_client(server: &Server, credential: Credential) -> Client {
    client_with(server, Arc::new(StaticToken(credential)))
}

fn reserve_body() -> types::ReserveTokenSpaceBody {
    types::ReserveTokenSpaceBody {
        context: "invoices/2026-Q1".into(),
        meta: None,
        ttl: std::num::NonZeroU64::new(5),
    }
}

/// Every request of every test: progenitor's `api-version` header never reaches the wire.
fn assert_no_api_version(seen: &[Seen]) {
    for request in seen {
        assert_eq!(
            request.header("api-version"),
            None,
            "{} {}",
            request.method,
            request.target
        );
    }
}

fn status_of<T: std::fmt::Debug>(result: Result<T, Error<types::ApiError>>) -> u16 {
    match result {
        Err(Error::ErrorResponse(response)) => response.status().as_u16(),
        other => panic!("expected an error response, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn static_token_goes_on_profile_token_operations_only() {
    let server = Server::start(&[
        PROFILE_ID,
        (200, r#"{"status":"ok"}"#),
        (
            200,
            r#"{"authorizationToken":"t","expiresAt":"2026-02-21T15:33:44+00:00"}"#,
        ),
    ])
    .await;
    let client = static_client(&server, token("tok-static"));

    client
        .retrieve_profile_id()
        .send()
        .await
        .expect("profile id");
    client.check_server_health().send().await.expect("health");
    client
        .authenticate()
        .body(types::AuthenticateBody {
            username: "alice@example.com".into(),
            password: "pw".into(),
        })
        .send()
        .await
        .expect("authenticate");

    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].target, "/profile/retrieve-profile-id");
    assert_eq!(seen[0].header("x-dpt-authorization"), Some("tok-static"));
    assert_eq!(seen[0].header("authorization"), None);
    for unauthenticated in &seen[1..] {
        assert_eq!(unauthenticated.header("x-dpt-authorization"), None);
        assert_eq!(unauthenticated.header("authorization"), None);
    }
    assert_no_api_version(&seen);
}

#[tokio::test]
async fn a_refreshed_token_is_replayed_once_and_succeeds() {
    let server = Server::start(&[UNAUTHORIZED, ACCEPTED]).await;
    let source = Rotating::new(token("tok-old"), Some(token("tok-new")));
    let client = client_with(&server, source.clone());

    let accepted = client
        .reserve_token_space()
        .body(reserve_body())
        .send()
        .await
        .expect("the replay succeeds")
        .into_inner();
    assert!(matches!(accepted, types::CommandAccepted::String(ref id) if id.starts_with("23f7")));

    let seen = server.seen();
    assert_eq!(seen.len(), 2, "one request and one replay");
    assert_eq!(seen[0].header("x-dpt-authorization"), Some("tok-old"));
    assert_eq!(seen[1].header("x-dpt-authorization"), Some("tok-new"));
    assert_eq!(seen[1].method, seen[0].method);
    assert_eq!(seen[1].target, seen[0].target);
    assert_eq!(
        seen[1].body, seen[0].body,
        "the replay carries the same body"
    );
    assert_eq!(
        seen[1].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        source.rejected(),
        vec![(Auth::ProfileToken, token("tok-old"))],
        "exactly one refresh, told which token was rejected"
    );
    assert_no_api_version(&seen);
}

#[tokio::test]
async fn a_second_401_goes_to_the_caller_without_a_loop() {
    let server = Server::start(&[UNAUTHORIZED, UNAUTHORIZED, PROFILE_ID]).await;
    let source = Rotating::new(token("tok-old"), Some(token("tok-new")));
    let client = client_with(&server, source.clone());

    let status = status_of(client.retrieve_profile_id().send().await);
    assert_eq!(status, 401);

    let seen = server.seen();
    assert_eq!(seen.len(), 2, "the request and one replay, nothing more");
    assert_eq!(seen[1].header("x-dpt-authorization"), Some("tok-new"));
    assert_eq!(source.rejected().len(), 1, "one refresh");
    assert_no_api_version(&seen);
}

#[tokio::test]
async fn no_fresh_token_gives_the_401_to_the_caller() {
    let server = Server::start(&[UNAUTHORIZED, PROFILE_ID]).await;
    let source = Rotating::new(token("tok-old"), None);
    let client = client_with(&server, source.clone());

    let status = status_of(client.retrieve_profile_id().send().await);
    assert_eq!(status, 401);
    assert_eq!(server.seen().len(), 1, "no replay without a fresh token");
    assert_eq!(source.rejected().len(), 1, "the source was asked once");

    // A StaticToken never refreshes: same outcome.
    let server = Server::start(&[UNAUTHORIZED, PROFILE_ID]).await;
    let client = static_client(&server, token("tok-static"));
    assert_eq!(status_of(client.retrieve_profile_id().send().await), 401);
    assert_eq!(server.seen().len(), 1);
    assert_no_api_version(&server.seen());
}

#[tokio::test]
async fn a_401_without_credentials_is_not_replayed() {
    let server = Server::start(&[UNAUTHORIZED, UNAUTHORIZED]).await;
    let source = Rotating::new(token("tok-old"), Some(token("tok-new")));
    let client = client_with(&server, source.clone());

    let status = status_of(
        client
            .authenticate()
            .body(types::AuthenticateBody {
                username: "alice@example.com".into(),
                password: "wrong".into(),
            })
            .send()
            .await,
    );
    assert_eq!(status, 401);
    assert_eq!(server.seen().len(), 1);
    assert!(
        source.rejected().is_empty(),
        "no refresh for a `none` operation"
    );
}

#[tokio::test]
async fn client_credentials_become_basic_base64_id_secret() {
    let server = Server::start(&[(
        200,
        r#"{"token":"t","expiresAt":"2026-02-21T15:33:44+00:00"}"#,
    )])
    .await;
    // RFC 7617's example pair.
    let client = static_client(
        &server,
        Credential::ClientCredentials {
            client_id: "Aladdin".into(),
            client_secret: "open sesame".into(),
        },
    );
    client
        .obtain_oauth_access_token()
        .body(types::ObtainOauthAccessTokenBody {
            authorization_code: "ac-5f1e".into(),
        })
        .send()
        .await
        .expect("access token");

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    );
    assert_eq!(seen[0].header("x-dpt-authorization"), None);
    assert_no_api_version(&seen);
}

#[tokio::test]
async fn rejected_client_credentials_reach_refresh_as_the_header_value() {
    let server = Server::start(&[UNAUTHORIZED]).await;
    let source = Rotating::new(
        Credential::ClientCredentials {
            client_id: "Aladdin".into(),
            client_secret: "open sesame".into(),
        },
        None,
    );
    let client = client_with(&server, source.clone());
    let status = status_of(
        client
            .obtain_oauth_access_token()
            .body(types::ObtainOauthAccessTokenBody {
                authorization_code: "ac-5f1e".into(),
            })
            .send()
            .await,
    );
    assert_eq!(status, 401);
    assert_eq!(
        source.rejected(),
        vec![(
            Auth::OAuthClientBasic,
            Credential::AuthorizationHeader("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".into())
        )]
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn raw_token_basic_is_the_token_after_basic() {
    let server = Server::start(&[(200, r#"{"scope":"all"}"#)]).await;
    let client = static_client(&server, token("at-raw-7c2a"));
    client
        .retrieve_oauth_application_scope()
        .send()
        .await
        .expect("scope");

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), Some("Basic at-raw-7c2a"));
    assert_eq!(seen[0].header("x-dpt-authorization"), None);
    assert_no_api_version(&seen);
}

#[tokio::test]
async fn request_status_goes_without_a_token_when_there_is_none() {
    let sources: [(&str, Option<Arc<dyn TokenSource>>); 3] = [
        ("no token source", None),
        (
            "a source with no token",
            Some(Arc::new(NoCredential { fail: false })),
        ),
        (
            "a source that fails",
            Some(Arc::new(NoCredential { fail: true })),
        ),
    ];
    for (case, source) in sources {
        let server = Server::start(&[(200, r#""completed""#)]).await;
        let inner = source.map_or_else(Inner::anonymous, Inner::with_source);
        let client = Client::new(&server.url, inner);
        let status = client
            .request_command_status()
            .command_id("23f7978a-5561-4718-84ca-c38d7db0843c")
            .body(types::EmptyObject {})
            .send()
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"))
            .into_inner();
        assert!(
            matches!(status, types::RequestStatus::String(ref s) if s == "completed"),
            "{case}"
        );
        let seen = server.seen();
        assert_eq!(seen.len(), 1, "{case}");
        assert_eq!(seen[0].header("x-dpt-authorization"), None, "{case}");
        assert_eq!(seen[0].header("authorization"), None, "{case}");
        assert_no_api_version(&seen);
    }

    // With a token at hand, request-status sends it.
    let server = Server::start(&[(200, r#""completed""#)]).await;
    let client = static_client(&server, token("tok-static"));
    client
        .request_command_status()
        .command_id("23f7978a-5561-4718-84ca-c38d7db0843c")
        .body(types::EmptyObject {})
        .send()
        .await
        .expect("status");
    assert_eq!(
        server.seen()[0].header("x-dpt-authorization"),
        Some("tok-static")
    );
}

#[tokio::test]
async fn a_failing_source_fails_a_profile_token_operation_before_sending() {
    let server = Server::start(&[PROFILE_ID]).await;
    let client = client_with(&server, Arc::new(NoCredential { fail: true }));
    let error = client
        .retrieve_profile_id()
        .send()
        .await
        .expect_err("no credential");
    assert!(matches!(error, Error::Custom(_)), "{error}");
    assert!(server.seen().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn an_oversized_answer_is_cut_off_instead_of_read_whole() {
    // A JSON string just over the bound: the client must fail reading it, not decode it.
    let huge = format!(
        "\"{}\"",
        "x".repeat(privicore_api::hooks::MAX_ANSWER_BYTES as usize + 1)
    );
    let small = "\"ok\"";
    let server = Server::start(&[(200, huge.as_str()), (200, small)]).await;
    let client = static_client(&server, token("t-1"));
    let oversized = client
        .request_command_status()
        .command_id("c-1")
        .body(types::EmptyObject {})
        .send()
        .await;
    assert!(
        matches!(oversized, Err(Error::ResponseBodyError(_))),
        "{:?}",
        oversized.map(|v| v.status())
    );
    let fine = client
        .request_command_status()
        .command_id("c-2")
        .body(types::EmptyObject {})
        .send()
        .await
        .expect("a small answer still decodes");
    assert!(matches!(fine.into_inner(), types::RequestStatus::String(s) if s == "ok"));
}

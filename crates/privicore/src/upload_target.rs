//! Where a large payload is uploaded: the one place that turns a retrieve-temporary-data-token
//! answer into a stream-server URL and its single-use `auth` token.
//!
//! The sources disagree on the answer's upload fields (docs/protocol.md §6.2, §14.1), so every
//! reading is accepted here and nowhere else:
//!
//! 1. `stream` as a full URI with its `?auth=` token (the probe, the guide);
//! 2. `stream` relative or without the `auth` query, completed with the `auth` field (a
//!    relative one is resolved against the stream server when the answer names one, else
//!    against the API URL);
//! 3. `stream_server_id` + `stream_server_port` + `auth` (the official upstream page). No
//!    source says how a server id maps to a host: the API URL's scheme and host are used with
//!    the given port, and a server id that is itself a host name (it holds a dot or is
//!    `localhost`) is used as the host. With these fields a `stream` that is neither a URI nor
//!    a path is read as the token, as the official template `?auth={stream}` prints it;
//! 4. `streamUrl`, a tolerated alias of (1) that no source names.
//!
//! The token is a secret: it is never part of an error or of [`UploadTarget`]'s `Debug`.

use privicore_api::types::TemporaryDataToken;
use url::Url;

use crate::error::{Error, Result};
use crate::wire_report::UploadTargetForm;

/// The operation whose answer is read here, named in its errors.
const OP: &str = "retrieve_temporary_data_token";

/// A stream-server upload target: the base URL the upload is posted to and the single-use
/// token sent as its `auth` query parameter.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct UploadTarget {
    /// `scheme://host[:port][/path]`, no query and no trailing slash.
    pub(crate) base: String,
    /// The single-use stream token (a secret).
    pub(crate) auth: String,
    /// Which of the forms above named it (for [`Client::wire_report`](crate::Client::wire_report)).
    pub(crate) form: UploadTargetForm,
}

impl std::fmt::Debug for UploadTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadTarget")
            .field("base", &self.base)
            .field("auth", &"<redacted>")
            .field("form", &self.form)
            .finish()
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error::Decode {
        request_id: None,
        operation: OP,
        message: message.into(),
    }
}

/// A present, non-blank field.
fn field(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The upload target `answer` describes, relative to the client's `api_url`.
///
/// # Errors
///
/// [`Error::Decode`] naming what is missing or malformed (never the token's value).
pub(crate) fn upload_target(answer: &TemporaryDataToken, api_url: &Url) -> Result<UploadTarget> {
    let auth = field(&answer.auth);
    let server = server_base(answer, api_url)?;
    // With a stream server named, a `stream` that is neither a URI nor a path is the token.
    let stream = field(&answer.stream);
    let (uri, auth) = match (stream, &server) {
        (Some(s), Some(_)) if !s.contains("://") && !s.contains(['/', '?']) => {
            (None, Some(auth.unwrap_or(s)))
        }
        (Some(s), _) => (Some(("stream", s)), auth),
        (None, _) => (field(&answer.stream_url).map(|s| ("streamUrl", s)), auth),
    };
    match (uri, server) {
        (Some((name, text)), server) => {
            let origin = server.as_ref().unwrap_or(api_url);
            let form = if name == "stream" {
                UploadTargetForm::StreamUri
            } else {
                UploadTargetForm::StreamUrlAlias
            };
            from_uri(name, text, origin, auth, form)
        }
        (None, Some(server)) => {
            let auth = auth.ok_or_else(|| {
                bad("the answer names a stream server but no `auth` token to upload with")
            })?;
            Ok(UploadTarget {
                base: base_of(&server),
                auth: auth.to_owned(),
                form: UploadTargetForm::StreamServer,
            })
        }
        (None, None) => Err(bad(format!(
            "the answer has no upload target: no `stream` URI and no stream server (missing: {}); \
             the payload is too large to send inline",
            missing_server_fields(answer)
        ))),
    }
}

/// The names of the server-form fields `answer` lacks.
fn missing_server_fields(answer: &TemporaryDataToken) -> String {
    let mut missing = Vec::new();
    if field(&answer.stream_server_id).is_none() {
        missing.push("`stream_server_id`");
    }
    if answer.stream_server_port.is_none() {
        missing.push("`stream_server_port`");
    }
    if field(&answer.auth).is_none() {
        missing.push("`auth`");
    }
    missing.join(", ")
}

/// The stream server named by `stream_server_id` + `stream_server_port`, when both are given.
fn server_base(answer: &TemporaryDataToken, api_url: &Url) -> Result<Option<Url>> {
    let id = field(&answer.stream_server_id);
    let port = answer.stream_server_port;
    let (id, port) = match (id, port) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(bad(
                "the answer has `stream_server_id` without `stream_server_port`",
            ));
        }
        (None, Some(_)) => {
            return Err(bad(
                "the answer has `stream_server_port` without `stream_server_id`",
            ));
        }
        (Some(id), Some(port)) => (id, port),
    };
    let port = u16::try_from(port.get())
        .map_err(|_| bad("`stream_server_port` is not a TCP port (above 65535)"))?;
    let mut url = api_url.clone();
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    // The docs give no mapping from a server id to a host (docs/protocol.md §14.1): a host
    // name is taken as it is, anything else (a number, an opaque id) means the API's host.
    if id == "localhost" || id.contains('.') {
        url.set_host(Some(id))
            .map_err(|_| bad("`stream_server_id` is not a valid host name"))?;
    }
    url.set_port(Some(port))
        .map_err(|()| bad("the API URL cannot take a stream server port"))?;
    Ok(Some(url))
}

/// The target in the URI `text` (the field `name`): absolute, scheme-less (HTTPS) or relative
/// to `origin`; its `auth` query wins over the separate `auth` field.
fn from_uri(
    name: &str,
    text: &str,
    origin: &Url,
    auth: Option<&str>,
    form: UploadTargetForm,
) -> Result<UploadTarget> {
    let url = if text.starts_with('/') || text.starts_with('?') {
        origin.join(text)
    } else if text.contains("://") {
        Url::parse(text)
    } else {
        Url::parse(&format!("https://{text}"))
    }
    .map_err(|_| bad(format!("the `{name}` URI does not parse")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!("the `{name}` URI is not HTTP(S)")));
    }
    if url.host_str().is_none() {
        return Err(bad(format!("the `{name}` URI has no host")));
    }
    let in_query = url
        .query_pairs()
        .find(|(k, _)| k == "auth")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty());
    let auth = in_query.or(auth.map(str::to_owned)).ok_or_else(|| {
        bad(format!(
            "the `{name}` URI has no `auth` query and the answer no `auth` token"
        ))
    })?;
    Ok(UploadTarget {
        base: base_of(&url),
        auth,
        form,
    })
}

/// `scheme://host[:port][/path]` of `url`, without query, fragment or trailing slash.
fn base_of(url: &Url) -> String {
    let mut base = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        base.push_str(&format!(":{port}"));
    }
    base.push_str(url.path().trim_end_matches('/'));
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "st-secret-9f2";

    fn api() -> Url {
        Url::parse("https://api.example.com:9009/v1").unwrap()
    }

    fn answer() -> TemporaryDataToken {
        TemporaryDataToken {
            token: "tmp".into(),
            auth: None,
            stream: None,
            stream_server_id: None,
            stream_server_port: None,
            stream_url: None,
        }
    }

    fn target(base: &str, form: UploadTargetForm) -> UploadTarget {
        UploadTarget {
            base: base.into(),
            auth: SECRET.into(),
            form,
        }
    }

    fn port(p: u64) -> Option<std::num::NonZeroU64> {
        std::num::NonZeroU64::new(p)
    }

    /// The decode message of an error, checked to be free of the token.
    fn message(error: Error) -> String {
        let text = format!("{error} {error:?}");
        assert!(!text.contains(SECRET), "the token leaked: {text}");
        match error {
            Error::Decode { message, .. } => message,
            other => panic!("not a decode error: {other:?}"),
        }
    }

    #[test]
    fn a_full_stream_uri_is_used_as_it_is() {
        let a = TemporaryDataToken {
            stream: Some(format!("http://10.0.0.5:8010/?auth={SECRET}")),
            ..answer()
        };
        assert_eq!(
            upload_target(&a, &api()).unwrap(),
            target("http://10.0.0.5:8010", UploadTargetForm::StreamUri)
        );
    }

    #[test]
    fn a_full_stream_uri_keeps_its_path() {
        let a = TemporaryDataToken {
            stream: Some(format!("https://up.example.com/in/?auth={SECRET}")),
            ..answer()
        };
        assert_eq!(
            upload_target(&a, &api()).unwrap(),
            target("https://up.example.com/in", UploadTargetForm::StreamUri)
        );
    }

    #[test]
    fn a_scheme_less_stream_uri_is_https() {
        let a = TemporaryDataToken {
            stream: Some(format!("up.example.com:8010/?auth={SECRET}")),
            ..answer()
        };
        assert_eq!(
            upload_target(&a, &api()).unwrap(),
            target("https://up.example.com:8010", UploadTargetForm::StreamUri)
        );
    }

    #[test]
    fn a_stream_uri_without_auth_takes_the_auth_field() {
        let a = TemporaryDataToken {
            stream: Some("http://10.0.0.5:8010/".into()),
            auth: Some(SECRET.into()),
            ..answer()
        };
        assert_eq!(
            upload_target(&a, &api()).unwrap(),
            target("http://10.0.0.5:8010", UploadTargetForm::StreamUri)
        );
    }

    #[test]
    fn the_auth_query_of_the_uri_wins_over_the_auth_field() {
        let a = TemporaryDataToken {
            stream: Some(format!("http://10.0.0.5:8010/?auth={SECRET}")),
            auth: Some("other".into()),
            ..answer()
        };
        let t = upload_target(&a, &api()).unwrap();
        // Compared as text: `UploadTarget`'s Debug hides which token was picked.
        assert_eq!(t.auth, SECRET, "the URI's own token is sent");
        assert_eq!(t.base, "http://10.0.0.5:8010");
    }

    #[test]
    fn a_relative_stream_is_resolved_against_the_api_url() {
        let a = TemporaryDataToken {
            stream: Some("/upload/".into()),
            auth: Some(SECRET.into()),
            ..answer()
        };
        assert_eq!(
            upload_target(&a, &api()).unwrap(),
            target(
                "https://api.example.com:9009/upload",
                UploadTargetForm::StreamUri
            )
        );
    }

    #[test]
    fn a_relative_stream_is_resolved_against_the_named_stream_server() {
        let a = TemporaryDataToken {
            stream: Some(format!("/?auth={SECRET}")),
            stream_server_id: Some("3".into()),
            stream_server_port: port(8010),
            ..answer()
        };
        assert_eq!(
            upload_target(&a, &api()).unwrap(),
            target("https://api.example.com:8010", UploadTargetForm::StreamUri)
        );
    }

    #[test]
    fn server_id_port_and_auth_use_the_api_host_with_that_port() {
        let a = TemporaryDataToken {
            stream_server_id: Some("1".into()),
            stream_server_port: port(8010),
            auth: Some(SECRET.into()),
            ..answer()
        };
        assert_eq!(
            upload_target(&a, &api()).unwrap(),
            target(
                "https://api.example.com:8010",
                UploadTargetForm::StreamServer
            )
        );
    }

    #[test]
    fn a_server_id_that_is_a_host_name_is_the_host() {
        let a = TemporaryDataToken {
            stream_server_id: Some("stream1.example.com".into()),
            stream_server_port: port(8443),
            auth: Some(SECRET.into()),
            ..answer()
        };
        assert_eq!(
            upload_target(&a, &api()).unwrap(),
            target(
                "https://stream1.example.com:8443",
                UploadTargetForm::StreamServer
            )
        );
    }

    #[test]
    fn with_a_server_a_bare_stream_is_the_token() {
        let a = TemporaryDataToken {
            stream: Some(SECRET.into()),
            stream_server_id: Some("1".into()),
            stream_server_port: port(8010),
            ..answer()
        };
        assert_eq!(
            upload_target(&a, &api()).unwrap(),
            target(
                "https://api.example.com:8010",
                UploadTargetForm::StreamServer
            )
        );
    }

    #[test]
    fn stream_url_is_a_tolerated_alias() {
        let a = TemporaryDataToken {
            stream_url: Some(format!("http://10.0.0.5:8010/?auth={SECRET}")),
            ..answer()
        };
        assert_eq!(
            upload_target(&a, &api()).unwrap(),
            target("http://10.0.0.5:8010", UploadTargetForm::StreamUrlAlias)
        );
    }

    #[test]
    fn stream_wins_over_the_alias() {
        let a = TemporaryDataToken {
            stream: Some(format!("http://10.0.0.5:8010/?auth={SECRET}")),
            stream_url: Some("http://elsewhere:1/?auth=x".into()),
            ..answer()
        };
        assert_eq!(
            upload_target(&a, &api()).unwrap(),
            target("http://10.0.0.5:8010", UploadTargetForm::StreamUri)
        );
    }

    #[test]
    fn no_upload_fields_name_what_is_missing() {
        let m = message(upload_target(&answer(), &api()).unwrap_err());
        assert!(
            m.contains("no upload target")
                && m.contains("`stream_server_id`, `stream_server_port`, `auth`"),
            "{m}"
        );
    }

    #[test]
    fn a_server_without_auth_names_the_auth() {
        let a = TemporaryDataToken {
            stream_server_id: Some("1".into()),
            stream_server_port: port(8010),
            ..answer()
        };
        let m = message(upload_target(&a, &api()).unwrap_err());
        assert!(m.contains("no `auth` token"), "{m}");
    }

    #[test]
    fn a_server_id_without_port_names_the_port() {
        let a = TemporaryDataToken {
            stream_server_id: Some("1".into()),
            auth: Some(SECRET.into()),
            ..answer()
        };
        let m = message(upload_target(&a, &api()).unwrap_err());
        assert!(m.contains("without `stream_server_port`"), "{m}");
    }

    #[test]
    fn a_port_above_65535_is_refused() {
        let a = TemporaryDataToken {
            stream_server_id: Some("1".into()),
            stream_server_port: port(70000),
            auth: Some(SECRET.into()),
            ..answer()
        };
        let m = message(upload_target(&a, &api()).unwrap_err());
        assert!(m.contains("not a TCP port"), "{m}");
    }

    #[test]
    fn a_uri_without_any_auth_is_refused() {
        let a = TemporaryDataToken {
            stream: Some("http://10.0.0.5:8010/".into()),
            ..answer()
        };
        let m = message(upload_target(&a, &api()).unwrap_err());
        assert!(m.contains("`stream` URI has no `auth` query"), "{m}");
    }

    #[test]
    fn a_non_http_uri_is_refused_without_echoing_it() {
        let a = TemporaryDataToken {
            stream: Some(format!("ftp://10.0.0.5/?auth={SECRET}")),
            ..answer()
        };
        let m = message(upload_target(&a, &api()).unwrap_err());
        assert!(m.contains("not HTTP(S)"), "{m}");
    }

    #[test]
    fn debug_hides_the_token() {
        let shown = format!("{:?}", target("http://h", UploadTargetForm::StreamUri));
        assert!(
            !shown.contains(SECRET) && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}

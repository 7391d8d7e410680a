//! What a server instance is configured with; set through [`MockServerBuilder`](crate::MockServerBuilder).

use std::collections::HashMap;
use std::time::Duration;

use crate::faults::FaultConfig;
use crate::routes::{self, Group};

/// The wire shape of an id in a `202` body (and of a few `oneOf` results).
///
/// docs/protocol.md §5.1 records three shapes without saying which endpoint uses which, so the
/// mock uses all three, by documentation group, and a test suite can pin any operation to any
/// shape with [`MockServerBuilder::reply_shape`](crate::MockServerBuilder::reply_shape):
///
/// | group | default |
/// |---|---|
/// | Profile, Public key, OAuth Application | [`ReplyShape::String`] (`"5a1b…"`) |
/// | Data Token | [`ReplyShape::Array`] (`["5a1b…"]`) |
/// | Device, Storage, Verified authenticator, Policy, Directory, Voting | [`ReplyShape::Object`] (`{"commandId":"5a1b…"}`) |
///
/// Two synchronous answers are `oneOf` a string and an object, and follow the same setting:
/// `configure_file_meta` (default [`ReplyShape::String`]: the bare permanent token, else
/// `{"token"}`) and `retrieve_unique_identifier` (default [`ReplyShape::Object`]:
/// `{"deviceIdentifier"}`, else the bare string); [`ReplyShape::Array`] means the bare string
/// for them. `request_command_status` answers a one-element array for commands accepted with
/// [`ReplyShape::Array`] and a bare string otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReplyShape {
    /// A bare JSON string.
    String,
    /// A one-element JSON array of strings.
    Array,
    /// An object with one field (`commandId` for commands).
    Object,
}

impl ReplyShape {
    /// The shape an operation uses unless overridden (see the table above).
    pub(crate) fn default_for(op: &str) -> ReplyShape {
        match op {
            "configure_file_meta" => return ReplyShape::String,
            "retrieve_unique_identifier" => return ReplyShape::Object,
            _ => {}
        }
        match routes::group_of(op) {
            Some(Group::Profile | Group::PublicKey | Group::OAuth | Group::Utility) | None => {
                ReplyShape::String
            }
            Some(Group::DataToken | Group::Stream) => ReplyShape::Array,
            Some(
                Group::Device
                | Group::Storage
                | Group::Authenticator
                | Group::Policy
                | Group::Directory
                | Group::Voting,
            ) => ReplyShape::Object,
        }
    }
}

/// How reauthorize-authorization-token answers: the two wire forms the spec allows
/// (`ReauthorizeResponse` is `oneOf` them). Set with
/// [`MockServerBuilder::reauthorize_answer`](crate::MockServerBuilder::reauthorize_answer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReauthorizeAnswer {
    /// `200` with a new token and its expiry; the token used is revoked at once (the
    /// default, as the official page shows it).
    #[default]
    NewToken,
    /// `202` with a command id, which the probe accepts (and says to await the ack before
    /// treating the renewed token as live, docs/protocol.md §14.5): the same token lives on,
    /// and its new expiry takes effect only when the command settles (its `X-DPT-CAB-ID` ack,
    /// after the [ack delay](crate::MockServerBuilder::ack_delay)). Until then
    /// retrieve-token-expiry still answers the old expiry.
    Command,
}

/// Whether refresh-access-token rotates the refresh token. Set with
/// [`MockServerBuilder::refresh_answer`](crate::MockServerBuilder::refresh_answer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefreshAnswer {
    /// A new refresh token with every new access token; the one used is spent, and presenting
    /// it again is refused with `401 oauth.refresh_token_used` (the default).
    #[default]
    Rotated,
    /// The answer carries no `refreshToken` (nor its expiry): the one used stays valid.
    WithoutRefreshToken,
    /// The answer repeats the refresh token that was sent: it stays valid.
    SameRefreshToken,
}

/// Which methods request-status answers (docs/protocol.md §5.6, §14.2: the official pages say
/// `GET`, the probe `POST`s with `{}`). Set with
/// [`MockServerBuilder::request_status_method`](crate::MockServerBuilder::request_status_method).
///
/// The method not served is answered `405` with an `Allow` header and no body, as a router
/// answers before any handler runs, so a client cannot tell it from the API's own errors by
/// the body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestStatusMethod {
    /// `POST` only, as the probe (aligned with the live wire) sends it (the default).
    #[default]
    Post,
    /// `GET` only, as the official register-profile page and a legacy client send it.
    Get,
    /// Both methods.
    Both,
}

impl RequestStatusMethod {
    /// Whether request-status answers `method` (`"GET"` or `"POST"`).
    pub(crate) fn allows(self, method: &str) -> bool {
        match self {
            RequestStatusMethod::Post => method == "POST",
            RequestStatusMethod::Get => method == "GET",
            RequestStatusMethod::Both => true,
        }
    }

    /// The `Allow` header value of the `405`.
    pub(crate) fn allow_header(self) -> &'static str {
        match self {
            RequestStatusMethod::Post => "POST",
            RequestStatusMethod::Get => "GET",
            RequestStatusMethod::Both => "GET, POST",
        }
    }
}

/// How request-data's result is pushed (docs/protocol.md §5.4, §14.3: the guides read
/// `output_type` 0 as inline ciphertext, the official "Data download messages" page as a
/// status text sent while the data is prepared, with `output_type` 1 the download link). Set
/// with [`MockServerBuilder::data_answer`](crate::MockServerBuilder::data_answer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataAnswer {
    /// Inline base64 (`output_type` 0) up to the
    /// [inline threshold](crate::MockServerBuilder::inline_threshold), a download link
    /// (`output_type` 1) above it (the default, as the guides describe it).
    #[default]
    InlineOrLink,
    /// The official reading: `status_messages` textual status messages (`output_type` 0, same
    /// request id) before every result, and the result always a download link (no inline
    /// answers, whatever the threshold).
    StatusThenLink {
        /// How many status messages precede each result.
        status_messages: usize,
    },
}

/// How retrieve-temporary-data-token names the upload target (docs/protocol.md §6.2, §14.1:
/// the probe and the guide read `stream` as the full upload URI, the official upstream page
/// names a stream server id, port and `auth` token, and an earlier spec invented
/// `streamUrl`). Whatever the form, the stream listener takes the token as its `auth` query
/// parameter. Set with
/// [`MockServerBuilder::upload_answer`](crate::MockServerBuilder::upload_answer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UploadAnswer {
    /// `{token, stream}` with `stream` the full `<stream server>/?auth=<token>` URI (the
    /// default, as the probe reads it).
    #[default]
    StreamUri,
    /// `{token, stream_server_id, stream_server_port, auth}` (the official page's fields); the
    /// server id is an opaque `"1"`, so the client must use the API host with that port.
    StreamServer,
    /// `{token, streamUrl}` with the full URI: the alias no source names.
    StreamUrlAlias,
}

/// The status and body type an asynchronous command is accepted with (docs/protocol.md
/// §14.4: the spec declares `202`, the probes accept `200` or `202` for register-public-key,
/// register/activate/deactivate policy, register voting configuration and
/// request-authorization-code, and nothing rules `200` out elsewhere). Applies to every
/// command answered with a command id; set with
/// [`MockServerBuilder::command_answer`](crate::MockServerBuilder::command_answer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandAnswer {
    /// `202`, the id as JSON in its [`ReplyShape`] (the default, as the spec declares it).
    #[default]
    Accepted,
    /// `200`, the id as JSON in its [`ReplyShape`].
    Ok,
    /// `200`, `text/plain`, the bare unquoted id.
    OkPlainText,
    /// `202`, `text/plain`, the bare unquoted id.
    AcceptedPlainText,
}

/// The body of the two lists (list-data-tokens, list-oauth-applications): no source documents
/// their envelope (docs/protocol.md §14.6). Set with
/// [`MockServerBuilder::list_answer`](crate::MockServerBuilder::list_answer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListAnswer {
    /// `{items, meta: {count, page, perPage}}`, as the stub and probe schemas have it (the
    /// default).
    #[default]
    Envelope,
    /// The page's items as a bare JSON array: the total is not told, so a client pages until
    /// a short page.
    BareArray,
}

/// The wire form the server speaks at every point where the sources allow more than one
/// (docs/protocol.md §14): one setting per open point. [`MockConfig::default`] is the aligned
/// probe's reading, [`Variant`](crate::Variant) names a preset per reading, and
/// [`MockServerBuilder::wire`](crate::MockServerBuilder::wire) serves one.
///
/// ```
/// use privicore_mock::{MockConfig, RequestStatusMethod, Variant};
///
/// let mut wire = MockConfig::default();
/// assert_eq!(wire, Variant::Probe.config());
/// wire.request_status_method = RequestStatusMethod::Get;
/// assert_eq!(wire, MockConfig::variant(Variant::StatusGetOnly));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MockConfig {
    /// §14.1: how retrieve-temporary-data-token names the upload target.
    pub upload_answer: UploadAnswer,
    /// §14.2: which methods request-status answers.
    pub request_status_method: RequestStatusMethod,
    /// §14.3: how request-data's result is pushed.
    pub data_answer: DataAnswer,
    /// §14.4: the status and body type commands are accepted with.
    pub command_answer: CommandAnswer,
    /// §14.5: how reauthorize-authorization-token answers.
    pub reauthorize_answer: ReauthorizeAnswer,
    /// §14.6: the body of the two lists.
    pub list_answer: ListAnswer,
    /// §10.4: whether refresh-access-token rotates the refresh token.
    pub refresh_answer: RefreshAnswer,
    /// §14.7: which header an OAuth access token is accepted in.
    pub oauth_placement: OAuthPlacement,
}

impl MockConfig {
    /// The settings of a named [`Variant`](crate::Variant) (the same as
    /// [`Variant::config`](crate::Variant::config)).
    pub fn variant(variant: crate::Variant) -> MockConfig {
        variant.config()
    }
}

/// Where an OAuth access token is accepted on the operations that take a profile token
/// (docs/protocol.md §10.5, §14.7: no source says; profile tokens go in `X-DPT-AUTHORIZATION`,
/// and the token answer says `type: bearer`). A profile token is accepted in
/// `X-DPT-AUTHORIZATION` only, under every variant. A token in a header the variant does not
/// read is answered `401` as any unknown token is (`auth.invalid_token`, or
/// `auth.missing_token` when no header it reads carries one). Set with
/// [`MockServerBuilder::oauth_placement`](crate::MockServerBuilder::oauth_placement).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthPlacement {
    /// `X-DPT-AUTHORIZATION: <token>` only, like a profile token, as the spec reads it (the
    /// default).
    #[default]
    DptHeaderOnly,
    /// `Authorization: Bearer <token>` only, as the token's `type: bearer` suggests.
    BearerOnly,
    /// Either header.
    Either,
}

impl OAuthPlacement {
    /// Whether an OAuth access token is accepted in `X-DPT-AUTHORIZATION`.
    pub(crate) fn in_dpt_header(self) -> bool {
        matches!(self, OAuthPlacement::DptHeaderOnly | OAuthPlacement::Either)
    }

    /// Whether `Authorization: Bearer` is read at all.
    pub(crate) fn in_bearer(self) -> bool {
        matches!(self, OAuthPlacement::BearerOnly | OAuthPlacement::Either)
    }
}

/// Immutable settings of one server.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub port: u16,
    pub token_lifetime: Duration,
    pub ack_delay: Duration,
    pub inline_threshold: usize,
    pub shapes: HashMap<String, ReplyShape>,
    pub seed: u64,
    pub faults: FaultConfig,
    pub require_public_key: bool,
    pub command_retention: Duration,
    pub record_limit: usize,
    pub max_body: usize,
    pub max_upload: usize,
    pub download_lifetime: Duration,
    pub wire: MockConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            port: 0,
            token_lifetime: Duration::from_secs(3600),
            ack_delay: Duration::from_millis(5),
            inline_threshold: 64 * 1024,
            shapes: HashMap::new(),
            seed: 0x5EED_0FC0_FFEE,
            faults: FaultConfig::default(),
            require_public_key: true,
            command_retention: Duration::from_secs(600),
            record_limit: 10_000,
            max_body: 32 * 1024 * 1024,
            max_upload: 4 * 1024 * 1024 * 1024,
            download_lifetime: Duration::from_secs(300),
            wire: MockConfig::default(),
        }
    }
}

impl Config {
    pub fn shape(&self, op: &str) -> ReplyShape {
        self.shapes
            .get(op)
            .copied()
            .unwrap_or_else(|| ReplyShape::default_for(op))
    }

    /// The refresh token outlives the access token (docs/protocol.md §4.4); a day's worth of
    /// access tokens keeps the ratio of a typical deployment while scaling with test lifetimes.
    pub fn refresh_lifetime(&self) -> Duration {
        self.token_lifetime.saturating_mul(24)
    }
}

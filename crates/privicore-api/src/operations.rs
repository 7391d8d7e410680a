//! What the spec says about each operation beyond what progenitor keeps: the credential it
//! needs, whether it is an asynchronous command, how well its wire form is attested, and
//! whether it is a page-numbered list.
//!
//! The data is [`OPERATIONS`](crate::OPERATIONS), generated from `spec/privicore.yaml`; these
//! are its types.

/// The credential an operation needs, from its `security` in the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Auth {
    /// No credentials (register, authenticate, health).
    None,
    /// `X-DPT-AUTHORIZATION: <token>`: a profile token (or an OAuth access token).
    ProfileToken,
    /// The profile token when one is at hand, nothing otherwise (request-status).
    OptionalProfileToken,
    /// `Authorization: Basic base64(clientId:clientSecret)`.
    OAuthClientBasic,
    /// `Authorization: Basic <access token>`, the raw token after `Basic `.
    OAuthTokenBasic,
    /// A single-use token in the `auth` query parameter (stream upload, download).
    StreamQuery,
}

/// How an operation completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The answer carries the result.
    Sync,
    /// `202` + a command id; the outcome arrives as an `X-DPT-CAB-ID` WebSocket ack.
    AsyncCommand,
    /// `202` + a request id in `x-dpt-cab-request-id`; the result arrives as an
    /// `X-DPT-CAB-REQUEST-ID` WebSocket message.
    AsyncRequest,
    /// A transfer on the stream or download server.
    Stream,
}

/// How well an operation's wire form is attested (`x-privicore-source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// An official documentation page was read.
    Documented,
    /// From the unofficial probe suite.
    Probe,
    /// Path or fields unknown; the spec's description says what.
    Inferred,
}

/// How a list operation pages (`x-privicore-pagination`): page numbers from 1 in one query
/// parameter, the page size in another, and an envelope that holds the page's items and the
/// total across pages.
///
/// ```
/// use privicore_api::operations::operation;
/// let paging = operation("list_data_tokens").and_then(|op| op.pagination).expect("a list");
/// assert_eq!((paging.page_param, paging.per_page_param), ("page", "perPage"));
/// assert_eq!((paging.items, paging.total), ("items", "meta.count"));
/// assert!(operation("authenticate").and_then(|op| op.pagination).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pagination {
    /// The query parameter that carries the page number (from 1).
    pub page_param: &'static str,
    /// The query parameter that carries the page size.
    pub per_page_param: &'static str,
    /// The envelope's field that holds the page's items.
    pub items: &'static str,
    /// The dotted path of the envelope's total across pages.
    pub total: &'static str,
}

/// One operation of the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OperationMeta {
    /// The operation id (snake_case), as in [`progenitor_client::OperationInfo`].
    pub id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// Documentation group.
    pub tag: &'static str,
    /// Credential the operation needs.
    pub auth: Auth,
    /// How the operation completes.
    pub kind: Kind,
    /// How well it is attested.
    pub source: Source,
    /// `x-privicore-idempotent`: a synchronous POST that is safe to send again (a read that
    /// is a POST, or the log-in). GETs are safe by their method and do not carry the flag.
    pub idempotent: bool,
    /// How it pages, when it is a page-numbered list.
    pub pagination: Option<Pagination>,
    /// The 2xx statuses the spec declares for it, ascending: the answers that count as its
    /// success (an undeclared 2xx is not one).
    pub success: &'static [u16],
}

/// Looks an operation up by its id.
///
/// ```
/// use privicore_api::operations::{operation, Auth, Kind};
/// let op = operation("reserve_token_space").expect("in the spec");
/// assert_eq!((op.auth, op.kind), (Auth::ProfileToken, Kind::AsyncCommand));
/// assert!(operation("no_such_operation").is_none());
/// ```
pub fn operation(id: &str) -> Option<&'static OperationMeta> {
    crate::OPERATIONS
        .binary_search_by(|op| op.id.cmp(id))
        .ok()
        .map(|index| &crate::OPERATIONS[index])
}

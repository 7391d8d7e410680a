//! [`Session::call`]: the escape hatch for what the typed methods do not cover, with only
//! std, `serde_json` and this crate's types in its signatures, so that an upgrade of the
//! generated raw client cannot break code written against it.
//!
//! The method and path come from the spec's operation table; the request goes through the
//! session's raw client hooks (credential, renewal and one replay after a `401`, request ids,
//! the answer's size bound), the session's span and retries (reads the spec marks safe only),
//! and a command is awaited to its acknowledgement like a typed one.

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use serde_json::Value;

use privicore_api::operations::{Kind, OperationMeta, operation};
use privicore_api::types::{ApiError, CommandAccepted};

use crate::{CommandId, Error, Result, Session};

impl Session {
    /// Prepares a call of the spec's operation `operation_id`, for what the typed methods
    /// (the group handlers such as [`Session::devices`], or the hand-written flows) do not
    /// cover. Nothing is checked or sent before [`RawCall::send`].
    ///
    /// ```no_run
    /// # async fn run(session: privicore::Session) -> privicore::Result<()> {
    /// // A read: the JSON answer.
    /// let answer = session
    ///     .call("retrieve_policy")
    ///     .path_param("name", "default")
    ///     .send()
    ///     .await?;
    /// println!("{}", answer.body().map(ToString::to_string).unwrap_or_default());
    /// // A command: sent once, awaited to its acknowledgement.
    /// let done = session
    ///     .call("delete_data")
    ///     .form("token", "a-data-token")
    ///     .send()
    ///     .await?;
    /// println!("deleted by command {:?}", done.command_id());
    /// # Ok(()) }
    /// ```
    pub fn call(&self, operation_id: &str) -> RawCall<'_> {
        RawCall {
            session: self,
            operation_id: operation_id.to_owned(),
            path_params: Vec::new(),
            query: Vec::new(),
            body: None,
        }
    }
}

/// A call of one operation of the spec by its id, built by [`Session::call`].
///
/// Its `Debug` shows the operation and the names of the values set, never the values: a body
/// field may be a password, and this crate has no schema here to tell which.
#[derive(Clone)]
#[must_use = "a call does nothing until it is sent"]
pub struct RawCall<'s> {
    session: &'s Session,
    operation_id: String,
    path_params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<Body>,
}

#[derive(Clone)]
enum Body {
    Json(Value),
    Form(Vec<(String, String)>),
}

/// What a [`RawCall`] got back.
///
/// Its `Debug` shows a read's status and the body's kind and size, not its values: an answer
/// may carry a secret (a device's client secret, say), and the typed answers that know their
/// secret fields are the ones that print them redacted.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum RawAnswer {
    /// A synchronous operation's answer: its status and JSON body (`null` when empty).
    Read {
        /// The HTTP status.
        status: u16,
        /// The JSON body.
        body: Value,
    },
    /// An asynchronous command that the server acknowledged as completed.
    Command {
        /// The command's id.
        id: CommandId,
    },
}

impl std::fmt::Debug for RawCall<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |pairs: &[(String, String)]| -> Vec<String> {
            pairs.iter().map(|(name, _)| name.clone()).collect()
        };
        let body = match &self.body {
            None => "none".to_owned(),
            Some(Body::Json(_)) => "json".to_owned(),
            Some(Body::Form(fields)) => format!("form {:?}", names(fields)),
        };
        f.debug_struct("RawCall")
            .field("operation", &self.operation_id)
            .field("path_params", &names(&self.path_params))
            .field("query", &names(&self.query))
            .field("body", &format_args!("{body}"))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RawAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawAnswer::Read { status, body } => {
                let kind = match body {
                    Value::Null => "null",
                    Value::Bool(_) => "bool",
                    Value::Number(_) => "number",
                    Value::String(_) => "string",
                    Value::Array(_) => "array",
                    Value::Object(_) => "object",
                };
                let size = body.to_string().len();
                f.debug_struct("Read")
                    .field("status", status)
                    .field("body", &format_args!("<{kind}, {size} bytes of JSON>"))
                    .finish()
            }
            RawAnswer::Command { id } => f.debug_struct("Command").field("id", id).finish(),
        }
    }
}

impl RawAnswer {
    /// The JSON body of a read; `None` for a command.
    pub fn body(&self) -> Option<&Value> {
        match self {
            RawAnswer::Read { body, .. } => Some(body),
            RawAnswer::Command { .. } => None,
        }
    }

    /// The id of a completed command; `None` for a read.
    pub fn command_id(&self) -> Option<&CommandId> {
        match self {
            RawAnswer::Command { id } => Some(id),
            RawAnswer::Read { .. } => None,
        }
    }
}

impl RawCall<'_> {
    /// Fills the path template's `{name}` with `value` (percent-encoded).
    pub fn path_param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.path_params.push((name.to_owned(), value.into()));
        self
    }

    /// Adds the query parameter `name=value`.
    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_owned(), value.into()));
        self
    }

    /// Sends `body` as JSON (replaces any body set before).
    pub fn json_body(mut self, body: Value) -> Self {
        self.body = Some(Body::Json(body));
        self
    }

    /// Adds the field `name=value` to a form-encoded body (the form most of the API takes;
    /// replaces a JSON body set before).
    pub fn form(mut self, name: &str, value: impl Into<String>) -> Self {
        let field = (name.to_owned(), value.into());
        match &mut self.body {
            Some(Body::Form(fields)) => fields.push(field),
            _ => self.body = Some(Body::Form(vec![field])),
        }
        self
    }

    /// Sends the call: a read returns its answer (retried on transient failures only when
    /// the spec says sending it twice is harmless: a `GET`, or `x-privicore-idempotent`); a
    /// command is sent once and awaited to its acknowledgement, as [`Session`]'s typed
    /// commands are.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] (nothing is sent) when the id is not an operation of the spec,
    /// when the operation is a data request or a transfer (which have typed methods only), or
    /// when a path parameter is missing or not in the template; [`Error::CommandRejected`]
    /// with the server's reason; [`Error::Timeout`] when no acknowledgement arrived in time;
    /// any [`Error`] of the call itself.
    pub async fn send(self) -> Result<RawAnswer> {
        let meta = operation(&self.operation_id).ok_or_else(|| {
            Error::InvalidInput(format!(
                "Session::call: {:?} is not an operation of the spec",
                self.operation_id
            ))
        })?;
        let path = self.fill_path(meta)?;
        let request = Prepared {
            meta,
            path,
            query: &self.query,
            body: self.body.as_ref(),
        };
        match meta.kind {
            Kind::Sync => {
                let answer = self
                    .session
                    .read(meta.id, |raw| request.send_read(raw))
                    .await?;
                Ok(answer)
            }
            Kind::AsyncCommand => {
                let id = self
                    .session
                    .command(meta.id, |raw| request.send_command(raw))
                    .await?;
                Ok(RawAnswer::Command { id })
            }
            Kind::AsyncRequest | Kind::Stream => Err(Error::InvalidInput(format!(
                "Session::call: {} is a data request or a transfer; use its typed method",
                meta.id
            ))),
        }
    }

    /// The path template with every `{name}` filled; every parameter given must be in it.
    fn fill_path(&self, meta: &OperationMeta) -> Result<String> {
        let mut path = meta.path.to_owned();
        for (name, value) in &self.path_params {
            let slot = format!("{{{name}}}");
            if !path.contains(&slot) {
                return Err(Error::InvalidInput(format!(
                    "Session::call: {} has no path parameter `{name}` ({})",
                    meta.id, meta.path
                )));
            }
            path = path.replace(&slot, &progenitor_client::encode_path(value));
        }
        if let (Some(open), Some(close)) = (path.find('{'), path.find('}')) {
            return Err(Error::InvalidInput(format!(
                "Session::call: {} needs the path parameter `{}`",
                meta.id,
                &path[open + 1..close.max(open + 1)]
            )));
        }
        Ok(path)
    }
}

/// A call ready to be sent, as often as the retries need.
struct Prepared<'c> {
    meta: &'static OperationMeta,
    path: String,
    query: &'c [(String, String)],
    body: Option<&'c Body>,
}

type RawResult<T> = std::result::Result<ResponseValue<T>, progenitor_client::Error<ApiError>>;

impl Prepared<'_> {
    /// Sends the request through `raw`'s hooks, as the generated methods do.
    async fn exchange(
        &self,
        raw: &privicore_api::Client,
    ) -> std::result::Result<reqwest::Response, progenitor_client::Error<ApiError>> {
        let method = reqwest::Method::from_bytes(self.meta.method.as_bytes())
            .map_err(|e| progenitor_client::Error::InvalidRequest(e.to_string()))?;
        let url = format!("{}{}", raw.baseurl(), self.path);
        let mut builder = raw
            .client()
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json");
        if !self.query.is_empty() {
            builder = builder.query(self.query);
        }
        builder = match self.body {
            Some(Body::Json(value)) => builder.json(value),
            Some(Body::Form(fields)) => builder.form(fields),
            None => builder,
        };
        let mut request = builder.build()?;
        let info = OperationInfo {
            operation_id: self.meta.id,
        };
        raw.pre(&mut request, &info).await?;
        let result = raw.exec(request, &info).await;
        raw.post(&result, &info).await?;
        let response = result?;
        if !response.status().is_success() {
            return Err(progenitor_client::Error::UnexpectedResponse(response));
        }
        Ok(response)
    }

    async fn send_read(&self, raw: &privicore_api::Client) -> RawResult<RawAnswer> {
        let response = self.exchange(raw).await?;
        let status = response.status();
        // The same answers a typed read takes: a 2xx the spec does not declare (a `204` with
        // no body where a `200` with one is declared) is not this operation's answer.
        if !declared_success(self.meta, status.as_u16()) {
            return Err(progenitor_client::Error::UnexpectedResponse(response));
        }
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(progenitor_client::Error::ResponseBodyError)?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| progenitor_client::Error::InvalidResponsePayload(bytes, e))?
        };
        let answer = RawAnswer::Read {
            status: status.as_u16(),
            body,
        };
        Ok(ResponseValue::new(answer, status, headers))
    }

    async fn send_command(&self, raw: &privicore_api::Client) -> RawResult<CommandAccepted> {
        ResponseValue::from_response(self.exchange(raw).await?).await
    }
}

/// Whether `status` is one the spec declares as `meta`'s success.
fn declared_success(meta: &OperationMeta, status: u16) -> bool {
    meta.success.contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read takes the answers the spec declares, as a typed read does: the hostile mock's
    /// empty `204` and `202` to `retrieve_unique_identifier` (declared: `200`) are not answers.
    #[test]
    fn a_read_takes_only_the_statuses_the_spec_declares() {
        let meta = operation("retrieve_unique_identifier").expect("in the spec");
        assert_eq!(meta.success, &[200]);
        assert!(declared_success(meta, 200));
        assert!(!declared_success(meta, 204));
        assert!(!declared_success(meta, 202));
    }

    #[test]
    fn debug_never_shows_a_value() {
        const SECRET: &str = "hunter2-never-in-debug";
        let answer = RawAnswer::Read {
            status: 200,
            body: serde_json::json!({"client-secret": SECRET}),
        };
        let shown = format!("{answer:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(
            shown.contains("status: 200") && shown.contains("<object,"),
            "{shown}"
        );
    }
}

//! What `privicore doctor` prints: one line per check, one per open point, as text or as JSON.
//!
//! The JSON shape is stable (documented in the README): an object with `api_url`, `ws_url`,
//! `passed`, `checks` (in the order they ran: `name`, `outcome` `ok`/`fail`/`skipped`,
//! `duration_ms`, `detail`) and `wire` (one field per open point, `null` when not observed).
//! Fields are added, never renamed or removed.

use std::time::Duration;

use privicore::WireObservations;
use privicore::wire_report::{
    CommandIdEncoding, DataDelivery, ListShape, ReauthorizeAnswer, RequestStatusMethod,
    UploadTargetForm,
};
use serde::Serialize;

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It passed.
    Ok,
    /// It failed; the detail says why.
    Fail,
    /// It did not run: a check it needs did not pass.
    Skipped,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One check and how it went.
#[derive(Debug, Serialize)]
pub struct Check {
    /// `health`, `login`, `reauthorize`, `websocket`, `store`, `retrieve`, `list`, `delete`,
    /// `request-status`, `revoke`.
    pub name: &'static str,
    pub outcome: Outcome,
    /// Whole milliseconds (0 for a skipped check).
    pub duration_ms: u64,
    /// What was seen, or why it failed (an SDK error message: never a secret).
    pub detail: String,
    #[serde(skip)]
    took: Duration,
}

impl Check {
    pub fn new(name: &'static str, outcome: Outcome, took: Duration, detail: String) -> Self {
        Self {
            name,
            outcome,
            duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            detail,
            took,
        }
    }
}

/// The variant the server spoke at each open point (docs/protocol.md §14); `None` (JSON
/// `null`) when the run did not get that far.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Wire {
    /// `"POST"` or `"GET"` (§14.2).
    pub request_status_method: Option<&'static str>,
    /// `"stream_uri"`, `"stream_server"` or `"stream_url_alias"` (§14.1).
    pub upload_target: Option<&'static str>,
    /// `200` or `202` (§14.4).
    pub accepted_status: Option<u16>,
    /// `"json"` or `"plain_text"` (§14.4).
    pub command_id_encoding: Option<&'static str>,
    /// `"envelope"` or `"bare_array"` (§14.6).
    pub list_shape: Option<&'static str>,
    /// `"inline"` or `"link"` (§14.3).
    pub data_delivery: Option<&'static str>,
    /// Whether `output_type` 0 status messages preceded the data (§14.3); `null` when no data
    /// came.
    pub data_status_messages: Option<bool>,
    /// `"new_token"` (`200`) or `"command"` (`202` + command id) (§14.5).
    pub reauthorize: Option<&'static str>,
}

impl From<WireObservations> for Wire {
    fn from(seen: WireObservations) -> Self {
        Self {
            request_status_method: seen.request_status_method.map(|m| match m {
                RequestStatusMethod::Post => "POST",
                RequestStatusMethod::Get => "GET",
                _ => "other",
            }),
            upload_target: seen.upload_target.map(|f| match f {
                UploadTargetForm::StreamUri => "stream_uri",
                UploadTargetForm::StreamServer => "stream_server",
                UploadTargetForm::StreamUrlAlias => "stream_url_alias",
                _ => "other",
            }),
            accepted_status: seen.accepted_status,
            command_id_encoding: seen.command_id_encoding.map(|e| match e {
                CommandIdEncoding::Json => "json",
                CommandIdEncoding::PlainText => "plain_text",
                _ => "other",
            }),
            list_shape: seen.list_shape.map(|s| match s {
                ListShape::Envelope => "envelope",
                ListShape::BareArray => "bare_array",
                _ => "other",
            }),
            data_delivery: seen.data_delivery.map(|d| match d {
                DataDelivery::Inline => "inline",
                DataDelivery::Link => "link",
                _ => "other",
            }),
            // Status messages can only be told absent once the data itself came.
            data_status_messages: seen.data_delivery.map(|_| seen.data_status_messages_seen),
            reauthorize: seen.reauthorize.map(|a| match a {
                ReauthorizeAnswer::NewToken => "new_token",
                ReauthorizeAnswer::Command => "command",
                _ => "other",
            }),
        }
    }
}

impl Wire {
    /// `(point, variant for people)` in a fixed order.
    fn lines(&self) -> Vec<(&'static str, Option<String>)> {
        let text = |v: Option<&str>| v.map(|v| v.replace('_', " "));
        vec![
            ("request-status method", text(self.request_status_method)),
            ("upload target", text(self.upload_target)),
            (
                "command accepted",
                self.accepted_status.map(|s| s.to_string()),
            ),
            ("command id", text(self.command_id_encoding)),
            ("list shape", text(self.list_shape)),
            ("data delivery", text(self.data_delivery)),
            (
                "data status messages",
                self.data_status_messages
                    .map(|seen| if seen { "seen" } else { "none" }.to_owned()),
            ),
            ("reauthorize", text(self.reauthorize)),
        ]
    }
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub api_url: Option<&'a str>,
    pub ws_url: Option<&'a str>,
    /// Whether every check passed (a skipped check is not a pass).
    pub passed: bool,
    pub checks: Vec<Check>,
    pub wire: Wire,
}

impl<'a> Report<'a> {
    pub fn new(
        api_url: Option<&'a str>,
        ws_url: Option<&'a str>,
        checks: Vec<Check>,
        seen: WireObservations,
    ) -> Self {
        Self {
            api_url,
            ws_url,
            passed: checks.iter().all(|c| c.outcome == Outcome::Ok),
            checks,
            wire: seen.into(),
        }
    }

    /// The names of the checks that failed.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .map(|c| c.name)
            .collect()
    }

    /// The text form: a heading, a line per check (`outcome name duration detail`), a line per
    /// open point (`seen`/`not-observed point variant`), and a closing line.
    pub fn text(&self) -> String {
        let mut out = format!(
            "privicore doctor: API {}, WebSocket {}\n\nchecks:\n",
            self.api_url.unwrap_or("-"),
            self.ws_url.unwrap_or("-")
        );
        for check in &self.checks {
            let took = match check.outcome {
                Outcome::Skipped => "-".to_owned(),
                _ => crate::output::duration(check.took),
            };
            out.push_str(&format!(
                "{:<8} {:<15} {:>9}  {}\n",
                check.outcome.label(),
                check.name,
                took,
                check.detail
            ));
        }
        out.push_str("\nopen points (docs/protocol.md §14):\n");
        for (point, variant) in self.wire.lines() {
            let (label, variant) = match variant {
                Some(v) => ("seen", v),
                None => ("not-observed", "-".to_owned()),
            };
            out.push_str(&format!("{label:<13} {point:<22} {variant}\n"));
        }
        let passed = self
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Ok)
            .count();
        out.push_str(&format!(
            "\n{passed} of {} checks passed",
            self.checks.len()
        ));
        out
    }
}

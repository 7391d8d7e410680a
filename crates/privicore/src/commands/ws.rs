//! The WebSocket frames Privicore sends and the ones the client sends: parsing is a pure
//! function of the text, so garbage is ignored, never fatal.

use serde_json::Value;

/// A frame from the server, reduced to what the client acts on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// The reply to `joinChannel` (or `leaveChannel`).
    Reply { status: i64 },
    /// `X-DPT-CAB-ID`: a command's status (1 pending, 2 success, 3 failure).
    CommandStatus {
        id: String,
        status: i64,
        body: String,
    },
    /// `X-DPT-CAB-REQUEST-ID`: the result of a data request.
    DataRequest {
        id: String,
        output_type: i64,
        body: String,
        data_context: Option<String>,
    },
    /// Anything else: keep-alives, unknown message types, malformed text.
    Other,
}

/// Parses one text frame.
pub(crate) fn parse(text: &str) -> Frame {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Frame::Other;
    };
    let data = value.get("data");
    let body = || {
        data.and_then(|d| d.get("body"))
            .map(text_of)
            .unwrap_or_default()
    };
    let kind = data.and_then(|d| d.get("type")).and_then(Value::as_str);
    let id = data.and_then(|d| d.get("id")).and_then(id_text);
    match (kind, id) {
        (Some("X-DPT-CAB-ID"), Some(id)) => {
            let Some(status) = data.and_then(|d| d.get("command_status")).and_then(int) else {
                return Frame::Other;
            };
            Frame::CommandStatus {
                id,
                status,
                body: body(),
            }
        }
        (Some("X-DPT-CAB-REQUEST-ID"), Some(id)) => {
            let Some(output_type) = data.and_then(|d| d.get("output_type")).and_then(int) else {
                return Frame::Other;
            };
            Frame::DataRequest {
                id,
                output_type,
                body: body(),
                data_context: data
                    .and_then(|d| d.get("data_context"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }
        }
        (None, _) => match value.get("status").and_then(int) {
            Some(status) => Frame::Reply { status },
            None => Frame::Other,
        },
        _ => Frame::Other,
    }
}

/// The `joinChannel` frame. `correlationId` goes inside `data`, next to the token (where it
/// sits is not documented; this is the probe's and the guide's layout).
pub(crate) fn join_frame(token: &str, correlation_id: &str) -> String {
    serde_json::json!({
        "action": "joinChannel",
        "data": { "authorizationToken": token, "correlationId": correlation_id },
    })
    .to_string()
}

/// Integers may arrive as numbers or as numeric strings.
fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_examples_parse() {
        assert_eq!(
            parse(
                r#"{"data":{"type":"X-DPT-CAB-ID","id":"c1","command_status":2,"body":"Command completed successfully"}}"#
            ),
            Frame::CommandStatus {
                id: "c1".into(),
                status: 2,
                body: "Command completed successfully".into()
            }
        );
        assert_eq!(
            parse(
                r#"{"data":{"type":"X-DPT-CAB-REQUEST-ID","id":"r1","data_context":"ctx","output_type":1,"body":"https://dl/?auth=x"}}"#
            ),
            Frame::DataRequest {
                id: "r1".into(),
                output_type: 1,
                body: "https://dl/?auth=x".into(),
                data_context: Some("ctx".into())
            }
        );
        assert_eq!(
            parse(
                r#"{"correlationId":"k","status":200,"data":{"channelId":"ch","message":"Successfully joined profile channel."}}"#
            ),
            Frame::Reply { status: 200 }
        );
    }

    #[test]
    fn garbage_is_other() {
        for text in [
            "",
            "null",
            "[]",
            "{",
            r#"{"data":{"type":"X-DPT-CAB-ID"}}"#,
            r#"{"data":{"type":"X-DPT-CAB-ID","id":"c","command_status":"x"}}"#,
            r#"{"data":{"type":"STREAM-READY","id":"c"}}"#,
        ] {
            assert_eq!(parse(text), Frame::Other, "{text}");
        }
    }

    #[test]
    fn status_as_string_is_accepted() {
        assert!(matches!(
            parse(
                r#"{"data":{"type":"X-DPT-CAB-ID","id":7,"command_status":"3","body":{"reason":"x"}}}"#
            ),
            Frame::CommandStatus { status: 3, .. }
        ));
    }
}

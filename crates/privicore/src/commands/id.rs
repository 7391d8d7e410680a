//! Command and request ids: the three `202` body shapes and the header-carried request id,
//! normalised in one place.

use std::fmt;

use privicore_api::types::CommandAccepted;

use crate::{Error, Result};

/// The id of an asynchronous command (also the handle of the next step: a reservation's
/// command id names its temporary token, an OAuth registration's is the application id).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(String);

impl CommandId {
    /// Wraps an id received some other way (e.g. kept from an earlier run).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an empty id.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.trim().is_empty() {
            return Err(Error::InvalidInput("a command id cannot be empty".into()));
        }
        Ok(Self(id))
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The command id in any of the three shapes a `202` body comes in: a bare string, a
/// one-element array or `{commandId}`.
pub(crate) fn command_id(operation: &'static str, accepted: CommandAccepted) -> Result<CommandId> {
    let id = match accepted {
        CommandAccepted::String(id) => id,
        CommandAccepted::Array([id]) => id,
        CommandAccepted::Object { command_id } => command_id,
    };
    CommandId::new(id).map_err(|_| Error::Decode {
        request_id: None,
        operation,
        message: "the command id is empty".into(),
    })
}

/// The request id of `request-data`, carried in the `x-dpt-cab-request-id` response header.
pub(crate) fn request_id(
    operation: &'static str,
    headers: &reqwest::header::HeaderMap,
) -> Result<CommandId> {
    let value = headers
        .get("x-dpt-cab-request-id")
        .ok_or_else(|| Error::Decode {
            request_id: None,
            operation,
            message: "the x-dpt-cab-request-id header is missing".into(),
        })?
        .to_str()
        .map_err(|_| Error::Decode {
            request_id: None,
            operation,
            message: "the x-dpt-cab-request-id header is not text".into(),
        })?;
    CommandId::new(value.trim()).map_err(|_| Error::Decode {
        request_id: None,
        operation,
        message: "the x-dpt-cab-request-id header is empty".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_shapes_give_the_same_id() {
        let shapes = [
            CommandAccepted::String("c-1".into()),
            CommandAccepted::Array(["c-1".into()]),
            CommandAccepted::Object {
                command_id: "c-1".into(),
            },
        ];
        for shape in shapes {
            assert_eq!(command_id("op", shape).expect("valid").as_str(), "c-1");
        }
    }

    #[test]
    fn empty_ids_are_decode_errors() {
        let err = command_id("op", CommandAccepted::String(" ".into())).expect_err("empty");
        assert!(matches!(
            err,
            Error::Decode {
                operation: "op",
                ..
            }
        ));
        let headers = reqwest::header::HeaderMap::new();
        assert!(matches!(
            request_id("op", &headers),
            Err(Error::Decode { .. })
        ));
    }
}

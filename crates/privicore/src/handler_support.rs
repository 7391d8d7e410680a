//! Checks the generated handlers (`generated/`) run on a builder's values before anything is
//! sent, so a value the spec does not allow is a typed [`Error::InvalidInput`] naming the
//! operation and the field, not a server error or a serializer failure.

use std::num::NonZeroU64;

use crate::{Error, Result};

/// The raw client's answer as this crate's own type ([`crate::types`]): both are generated
/// from the same schema, so the JSON form of one is the other.
pub(crate) fn mirror<T, U>(operation: &'static str, answer: &T) -> Result<U>
where
    T: serde::Serialize,
    U: serde::de::DeserializeOwned,
{
    serde_json::to_value(answer)
        .and_then(serde_json::from_value)
        .map_err(|e| Error::Decode {
            operation,
            message: format!("the answer does not fit its type: {e}"),
            request_id: None,
        })
}

/// `value` as a field that the spec says is at least 1.
pub(crate) fn at_least_one(operation: &str, field: &str, value: u64) -> Result<NonZeroU64> {
    NonZeroU64::new(value)
        .ok_or_else(|| Error::InvalidInput(format!("{operation}: `{field}` must be at least 1")))
}

/// `value` as the generated enumeration `T`, when it is one of the spec's `allowed` values.
pub(crate) fn one_of<'v, T>(
    operation: &str,
    field: &str,
    value: &'v str,
    allowed: &[&str],
) -> Result<T>
where
    T: TryFrom<&'v str>,
{
    let invalid = || {
        Error::InvalidInput(format!(
            "{operation}: `{field}` is {value:?}; expected one of {}",
            allowed.join(", ")
        ))
    };
    if !allowed.contains(&value) {
        return Err(invalid());
    }
    T::try_from(value).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use privicore_api::types::SetQuorumStrategyBodyStrategy as Strategy;

    #[test]
    fn zero_is_refused_where_the_spec_says_at_least_one() {
        assert_eq!(
            at_least_one("op", "ttl", 5).map(NonZeroU64::get).ok(),
            Some(5)
        );
        let error = at_least_one("op", "ttl", 0).expect_err("0 is refused");
        assert!(matches!(&error, Error::InvalidInput(m) if m.contains("`ttl` must be at least 1")));
    }

    #[test]
    fn an_enumeration_takes_only_the_allowed_values() {
        let allowed = ["unanimous", "consensus"];
        let ok: Result<Strategy> = one_of("op", "strategy", "consensus", &allowed);
        assert!(matches!(ok, Ok(Strategy::Consensus)));
        let error =
            one_of::<Strategy>("op", "strategy", "majority", &allowed).expect_err("not allowed");
        assert!(
            matches!(&error, Error::InvalidInput(m) if m.contains("expected one of unanimous, consensus")),
            "{error}"
        );
    }
}

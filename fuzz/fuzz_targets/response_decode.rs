//! Response decoding: arbitrary bytes into the generated types of the main answers, the way
//! the raw client decodes them. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privicore::api::types;

macro_rules! decode {
    ($bytes:expr; $($t:ty),*) => {$(
        let _ = serde_json::from_slice::<$t>($bytes);
    )*};
}

fuzz_target!(|data: &[u8]| {
    decode!(data;
        types::CommandAccepted,
        types::RequestStatus,
        types::AuthorizationToken,
        types::TokenExpiry,
        types::ReauthorizeResponse,
        types::OAuthAccessToken,
        types::AuthorizationCode,
        types::OAuthApplicationConfiguration,
        types::OAuthApplicationList,
        types::OAuthApplicationScope,
        types::TemporaryDataToken,
        types::PermanentDataToken,
        types::DataTokenList,
        types::DeviceIdentifierResponse,
        types::DeviceConfiguration,
        types::PublicKey,
        types::ProfileId,
        types::HealthStatus,
        types::TransactionStatistics,
        types::PolicyTemplates,
        types::ApiError
    );
});

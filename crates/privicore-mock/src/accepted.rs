//! The body fields each operation accepts: the one list the strict body readers
//! ([`Call::form`](crate::input::Call::form) and [`Call::json`](crate::input::Call::json))
//! check every request against, so that a client sending a field the server does not know
//! (a typo, a field of another operation, a leftover) or sending one twice is told so with a
//! `422` instead of having it silently ignored.
//!
//! The names are the ones the handlers in [`crate::api`] read, which are the request-body
//! properties of `spec/privicore.yaml`. An operation missing here accepts an empty body only,
//! so a handler reading a field this table forgets is caught by the first test that sends it.

/// The top-level body fields `op` accepts (form fields, or the keys of a JSON object).
pub(crate) fn body_fields(op: &str) -> &'static [&'static str] {
    match op {
        // Profile
        "register_profile" | "authenticate" => &["username", "password"],
        "change_password" => &["currentPassword", "newPassword"],
        "reauthorize_authorization_token" => &["ttl"],
        // OAuth Application
        "register_oauth_application" => &["name", "redirectUri", "scopes"],
        "retrieve_oauth_application_configuration" => &["applicationId"],
        "retrieve_oauth_authorization_code" => &["id", "nonce"],
        "obtain_oauth_access_token" => &["authorization_code"],
        "refresh_oauth_access_token" => &["refresh_token"],
        // Public key
        "register_public_key" => &["publicKey"],
        // Data Token
        "reserve_token_space" => &["context", "ttl", "meta"],
        "exchange_data_for_token" => &["temporaryTokenSpace", "data"],
        "request_data" | "delete_data" => &["token"],
        "configure_risk_meta" => &["token", "classification", "label", "handling"],
        "configure_file_meta" => &["token", "fileName", "extension", "size", "path", "context"],
        "update_data_token" => &["dataToken", "data", "meta"],
        // Device, Storage, Verified authenticator: one device
        "approve_device"
        | "reject_device"
        | "remove_device"
        | "register_storage_device"
        | "synchronize_storage_device"
        | "remove_storage_device"
        | "register_authenticator"
        | "remove_authenticator" => &["deviceIdentifier"],
        "configure_device_meta" => &["deviceIdentifier", "name"],
        "request_unique_identifier" => &["deviceName"],
        "retrieve_unique_identifier" => &["id"],
        // Voting defaults and configurations
        "set_quorum_size" => &["quorumSize"],
        "set_quorum_strategy" => &["strategy", "strategy_params"],
        "set_voting_time_limit" => &["timeLimit"],
        "set_maximum_voting_attempts" => &["numberOfAttempts"],
        "register_voting_configuration" | "update_voting_configuration" => &[
            "name",
            "timeLimit",
            "strategy",
            "percentageRequired",
            "deviceIdentifiers",
        ],
        // Policy
        "register_policy" => &[
            "policyTemplateId",
            "applyingEventIds",
            "configuration",
            "votingConfigurationId",
            "configurationId",
            "name",
        ],
        "activate_policy" | "deactivate_policy" | "delete_policy" => &["policyId"],
        // Directory
        "register_directory" => &["name"],
        "create_directory_user" => &["directoryId", "username", "password"],
        "update_directory_user" => &["directoryId", "profileId", "displayName", "email"],
        "invite_profile" => &["directoryId", "username"],
        "set_directory_profile_password" => &["directoryId", "profileId", "password"],
        "process_directory_invitation" => &["invitationId", "accept"],
        "create_directory_profile_device" => &["directoryId", "profileId", "deviceName"],
        "add_directory_storage_device" => &["directoryId", "profileId", "deviceIdentifier"],
        "create_directory_voting_pool" => &["directoryId", "name", "votingConfigurationName"],
        "store_directory_meta" => &["directoryId", "key", "value"],
        // Voting
        "create_voting" => &[
            "votingConfigurationId",
            "question",
            "title",
            "skipAuthenticatorDevices",
            "nonce",
        ],
        // Everything else (request-status, revoke, expiry, generate-token-qr, the reads) takes
        // an empty body.
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_posts_take_body_fields() {
        for route in crate::routes::ROUTES {
            for field in body_fields(route.op) {
                assert_eq!(
                    route.verb,
                    crate::routes::Verb::Post,
                    "{} reads body field {field} but is not a POST",
                    route.op
                );
            }
        }
    }
}

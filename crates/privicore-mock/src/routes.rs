//! The operation table: every operation of `spec/privicore.yaml`, its method, path, group and
//! handler. The API server dispatches through it and the recorder names operations with it; a
//! test checks it against `privicore_api::OPERATIONS` so that mock and spec cannot drift.

use std::sync::Arc;

use crate::api::{
    authenticator as va, data_token as dt, device, directory as dir, oauth, policy, profile,
    public_key as pk, storage, utility, voting,
};
use crate::error::ApiFailure;
use crate::input::{Call, percent_decode};
use crate::reply::Reply;
use crate::shared::Shared;

/// A synchronous handler: it reads the call, changes state under the lock and answers.
/// Asynchronous outcomes are scheduled through [`crate::commands`].
pub(crate) type Handler = fn(&Arc<Shared>, &Call) -> Result<Reply, ApiFailure>;

/// The documentation group (tag) of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    Utility,
    Profile,
    OAuth,
    PublicKey,
    DataToken,
    Stream,
    Device,
    Storage,
    Authenticator,
    Policy,
    Directory,
    Voting,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
        }
    }
}

/// Where an operation is served: the API, or one of the two transfer servers.
#[derive(Clone, Copy)]
pub(crate) enum Serve {
    Api(Handler),
    Stream,
    Download,
}

pub(crate) struct Route {
    pub op: &'static str,
    pub verb: Verb,
    pub path: &'static str,
    pub group: Group,
    pub serve: Serve,
}

const fn api(op: &'static str, verb: Verb, path: &'static str, group: Group, h: Handler) -> Route {
    Route {
        op,
        verb,
        path,
        group,
        serve: Serve::Api(h),
    }
}

use Group as G;
use Verb::{Get, Post};

/// Every operation. request-status is listed twice: the spec (following the probe) says POST,
/// the official page and a legacy client say GET; which of the two answers is a setting
/// ([`RequestStatusMethod`](crate::RequestStatusMethod)), the other is refused in `dispatch`.
#[rustfmt::skip]
pub(crate) static ROUTES: &[Route] = &[
    // Utility
    api("check_server_health", Get, "/health", G::Utility, utility::health),
    api("request_command_status", Post, "/request-status/{commandId}", G::Utility, utility::request_status),
    api("request_command_status", Get, "/request-status/{commandId}", G::Utility, utility::request_status),
    // Profile
    api("register_profile", Post, "/profile/register-profile", G::Profile, profile::register),
    api("authenticate", Post, "/profile/authenticate", G::Profile, profile::authenticate),
    api("retrieve_profile_id", Get, "/profile/retrieve-profile-id", G::Profile, profile::profile_id),
    api("change_password", Post, "/profile/change-password", G::Profile, profile::change_password),
    api("generate_token_qr", Post, "/profile/generate-token-qr", G::Profile, profile::token_qr),
    api("reauthorize_authorization_token", Post, "/profile/reauthorize-authorization-token", G::Profile, profile::reauthorize),
    api("revoke_authorization_token", Post, "/profile/revoke-authorization-token", G::Profile, profile::revoke),
    api("retrieve_token_expiry", Post, "/profile/authorization-token/expiry", G::Profile, profile::expiry),
    // OAuth Application
    api("register_oauth_application", Post, "/profile/oauth-application-register", G::OAuth, oauth::register),
    api("retrieve_oauth_application_configuration", Post, "/profile/retrieve-oauth-application-configuration", G::OAuth, oauth::configuration),
    api("request_oauth_authorization_code", Get, "/profile/oauth-application-request-authorization-code", G::OAuth, oauth::request_code),
    api("retrieve_oauth_authorization_code", Post, "/oauth-application/retrieve-authorization-code", G::OAuth, oauth::retrieve_code),
    api("obtain_oauth_access_token", Post, "/oauth-application/obtain-access-token", G::OAuth, oauth::obtain_token),
    api("list_oauth_applications", Get, "/profile/retrieve-oauth-application-list", G::OAuth, oauth::list),
    api("retrieve_oauth_application_scope", Get, "/oauth-application/retrieve-oauth-application-scope", G::OAuth, oauth::scope),
    api("refresh_oauth_access_token", Post, "/oauth-application/refresh-access-token", G::OAuth, oauth::refresh),
    // Public key
    api("generate_key_pair", Get, "/public-key/generate-keys", G::PublicKey, pk::generate),
    api("register_public_key", Post, "/public-key/register-public-key", G::PublicKey, pk::register),
    api("retrieve_public_key", Get, "/public-key/retrieve-public-key", G::PublicKey, pk::retrieve),
    api("retrieve_cab_public_key", Get, "/dptcab/public-key", G::PublicKey, pk::engine),
    // Data Token
    api("reserve_token_space", Post, "/data-token/reserve-token-space", G::DataToken, dt::reserve),
    api("retrieve_temporary_data_token", Get, "/data-token/retrieve-temporary-data-token/{commandId}", G::DataToken, dt::temporary_token),
    api("exchange_data_for_token", Post, "/data-token/exchange-data-for-token", G::DataToken, dt::exchange),
    api("request_data", Post, "/data-token/request-data", G::DataToken, dt::request_data),
    api("configure_risk_meta", Post, "/data-token/configure-information-security-risk-meta", G::DataToken, dt::risk_meta),
    api("configure_file_meta", Post, "/data-token/configure-file-meta", G::DataToken, dt::file_meta),
    api("list_data_tokens", Get, "/data-token/list-data-tokens", G::DataToken, dt::list),
    api("update_data_token", Post, "/data-token/update-data", G::DataToken, dt::update),
    api("delete_data", Post, "/data-token/delete-data", G::DataToken, dt::delete),
    api("data_token_transaction_statistics", Get, "/data-token/transaction-count-statistics", G::DataToken, dt::statistics),
    // Stream Transfer (served by the stream and download listeners)
    Route { op: "upload_stream", verb: Post, path: "/", group: G::Stream, serve: Serve::Stream },
    Route { op: "download_data", verb: Get, path: "/", group: G::Stream, serve: Serve::Download },
    // Device
    api("request_unique_identifier", Post, "/device/request-unique-identifier", G::Device, device::request_identifier),
    api("retrieve_unique_identifier", Post, "/device/retrieve-unique-identifier", G::Device, device::retrieve_identifier),
    api("list_profile_devices", Get, "/device/retrieve-profile-devices", G::Device, device::list),
    api("configure_device_meta", Post, "/device/configure-meta", G::Device, device::configure_meta),
    api("approve_device", Post, "/device/approve-device", G::Device, device::approve),
    api("reject_device", Post, "/device/reject-device", G::Device, device::reject),
    api("retrieve_device_configuration", Get, "/device/retrieve-device-configuration/{deviceIdentifier}", G::Device, device::configuration),
    api("remove_device", Post, "/device/remove", G::Device, device::remove),
    // Storage
    api("register_storage_device", Post, "/storage/register", G::Storage, storage::register),
    api("list_storage_devices", Get, "/storage/list-storage-devices", G::Storage, storage::list),
    api("synchronize_storage_device", Post, "/storage/sync-device", G::Storage, storage::synchronize),
    api("remove_storage_device", Post, "/storage/remove", G::Storage, storage::remove),
    // Verified authenticator
    api("register_authenticator", Post, "/verified-authenticator/register", G::Authenticator, va::register),
    api("list_authenticators", Get, "/verified-authenticator/list", G::Authenticator, va::list),
    api("retrieve_voting_strategy", Get, "/verified-authenticator/retrieve-strategy", G::Authenticator, va::strategy),
    api("set_quorum_size", Post, "/verified-authenticator/set-quorum-size", G::Authenticator, va::set_quorum_size),
    api("set_quorum_strategy", Post, "/verified-authenticator/set-quorum-strategy", G::Authenticator, va::set_quorum_strategy),
    api("set_voting_time_limit", Post, "/verified-authenticator/set-voting-time-limit", G::Authenticator, va::set_time_limit),
    api("set_maximum_voting_attempts", Post, "/verified-authenticator/set-maximum-voting-attempts", G::Authenticator, va::set_maximum_attempts),
    api("remove_authenticator", Post, "/verified-authenticator/remove", G::Authenticator, va::remove),
    api("register_voting_configuration", Post, "/verified-authenticator/voting-configuration/register", G::Authenticator, va::register_configuration),
    api("update_voting_configuration", Post, "/verified-authenticator/voting-configuration/update", G::Authenticator, va::update_configuration),
    api("list_voting_configurations", Get, "/verified-authenticator/voting-configuration/list", G::Authenticator, va::list_configurations),
    api("retrieve_voting_configuration", Get, "/verified-authenticator/voting-configuration/retrieve/{name}", G::Authenticator, va::retrieve_configuration),
    // Policy
    api("list_policy_templates", Get, "/policy/list-policy-templates", G::Policy, policy::templates),
    api("register_policy", Post, "/policy/register", G::Policy, policy::register),
    api("list_active_policies", Get, "/policy/list-active-policies", G::Policy, policy::list_active),
    api("list_inactive_policies", Get, "/policy/list-inactive-policies", G::Policy, policy::list_inactive),
    api("activate_policy", Post, "/policy/activate", G::Policy, policy::activate),
    api("deactivate_policy", Post, "/policy/deactivate", G::Policy, policy::deactivate),
    api("delete_policy", Post, "/policy/delete", G::Policy, policy::delete),
    api("retrieve_policy", Get, "/policy/retrieve-policy/{name}", G::Policy, policy::retrieve),
    // Directory
    api("register_directory", Post, "/directory/register", G::Directory, dir::register),
    api("list_owned_directories", Get, "/directory/retrieve-owned-directories", G::Directory, dir::list_owned),
    api("list_assigned_directories", Get, "/directory/retrieve-assigned-directories", G::Directory, dir::list_assigned),
    api("retrieve_directory", Get, "/directory/retrieve-directory/{directoryId}", G::Directory, dir::retrieve),
    api("create_directory_user", Post, "/directory/create-user", G::Directory, dir::create_user),
    api("update_directory_user", Post, "/directory/update-user-information", G::Directory, dir::update_user),
    api("invite_profile", Post, "/directory/invite-profile", G::Directory, dir::invite),
    api("set_directory_profile_password", Post, "/directory/set-profile-password", G::Directory, dir::set_password),
    api("list_directory_invites", Get, "/directory/list-invites", G::Directory, dir::list_invites),
    api("process_directory_invitation", Post, "/directory/process-invitation", G::Directory, dir::process_invitation),
    api("retrieve_directory_profile", Get, "/directory/retrieve-directory-profile/{profileId}", G::Directory, dir::retrieve_profile),
    api("list_directory_users", Get, "/directory/list-users/{directoryId}", G::Directory, dir::list_users),
    api("directory_profiles_info", Get, "/directory/profiles-info/{directoryId}", G::Directory, dir::profiles_info),
    api("create_directory_profile_device", Post, "/directory/create-profile-device", G::Directory, dir::create_device),
    api("add_directory_storage_device", Post, "/directory/add-storage-device-to-profile", G::Directory, dir::add_storage_device),
    api("list_directory_devices", Get, "/directory/list-devices/{directoryId}", G::Directory, dir::list_devices),
    api("create_directory_voting_pool", Post, "/directory/create-voting-pool", G::Directory, dir::create_voting_pool),
    api("store_directory_meta", Post, "/directory/store-meta-information", G::Directory, dir::store_meta),
    // Voting
    api("create_voting", Post, "/voting/create", G::Voting, voting::create),
    api("check_pool_status", Get, "/voting/check-pool-status/{poolId}", G::Voting, voting::pool_status),
];

/// The group of an operation id.
pub(crate) fn group_of(op: &str) -> Option<Group> {
    ROUTES.iter().find(|r| r.op == op).map(|r| r.group)
}

/// The result of looking a request up.
pub(crate) enum Lookup {
    Found(&'static Route, Vec<(&'static str, String)>),
    /// The path exists for another method.
    WrongMethod,
    NotFound,
}

/// Matches `path` against a template such as `/policy/retrieve-policy/{name}`.
fn match_path(template: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let mut params = Vec::new();
    let mut want = template.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(h)) => {
                if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    if h.is_empty() {
                        return None;
                    }
                    params.push((name, percent_decode(h)));
                } else if w != h {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The API route for a request.
pub(crate) fn find_api(method: &str, path: &str) -> Lookup {
    let mut wrong_method = false;
    for route in ROUTES {
        if !matches!(route.serve, Serve::Api(_)) {
            continue;
        }
        if let Some(params) = match_path(route.path, path) {
            if route.verb.as_str() == method {
                return Lookup::Found(route, params);
            }
            wrong_method = true;
        }
    }
    if wrong_method {
        Lookup::WrongMethod
    } else {
        Lookup::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_with_decoded_parameters() {
        let params = match_path(
            "/policy/retrieve-policy/{name}",
            "/policy/retrieve-policy/my%20policy",
        )
        .expect("matches");
        assert_eq!(params, vec![("name", "my policy".to_owned())]);
        assert!(match_path("/policy/retrieve-policy/{name}", "/policy/retrieve-policy/").is_none());
        assert!(match_path("/health", "/health/x").is_none());
    }

    #[test]
    fn lookup_tells_wrong_method_from_unknown_path() {
        assert!(matches!(find_api("POST", "/health"), Lookup::WrongMethod));
        assert!(matches!(find_api("GET", "/nope"), Lookup::NotFound));
        assert!(matches!(
            find_api("GET", "/request-status/abc"),
            Lookup::Found(..)
        ));
        assert!(matches!(
            find_api("POST", "/request-status/abc"),
            Lookup::Found(..)
        ));
    }
}

//! The hand-written half of routing: which handler answers each operation id. Method, path
//! and group come from the spec ([`generated_routes`](crate::generated_routes)); a test below
//! checks that every generated route is bound here and every binding names a generated route
//! (a table rather than a `match`, so that the bindings can be listed).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use crate::api::{
    authenticator as va, data_token as dt, device, directory as dir, oauth, policy, profile,
    public_key as pk, storage, utility, voting,
};
use crate::error::ApiFailure;
use crate::input::Call;
use crate::reply::Reply;
use crate::shared::Shared;

/// A synchronous handler: it reads the call, changes state under the lock and answers.
/// Asynchronous outcomes are scheduled through [`crate::commands`].
pub(crate) type Handler = fn(&Arc<Shared>, &Call) -> Result<Reply, ApiFailure>;

/// Where an operation is served: the API, or one of the two transfer servers.
#[derive(Clone, Copy)]
pub(crate) enum Serve {
    Api(Handler),
    Stream,
    Download,
}

/// Every binding: operation id -> where it is served.
#[rustfmt::skip]
static BINDINGS: &[(&str, Serve)] = &[
    // Utility
    ("check_server_health", Serve::Api(utility::health)),
    ("request_command_status", Serve::Api(utility::request_status)),
    // Profile
    ("register_profile", Serve::Api(profile::register)),
    ("authenticate", Serve::Api(profile::authenticate)),
    ("retrieve_profile_id", Serve::Api(profile::profile_id)),
    ("change_password", Serve::Api(profile::change_password)),
    ("generate_token_qr", Serve::Api(profile::token_qr)),
    ("reauthorize_authorization_token", Serve::Api(profile::reauthorize)),
    ("revoke_authorization_token", Serve::Api(profile::revoke)),
    ("retrieve_token_expiry", Serve::Api(profile::expiry)),
    // OAuth Application
    ("register_oauth_application", Serve::Api(oauth::register)),
    ("retrieve_oauth_application_configuration", Serve::Api(oauth::configuration)),
    ("request_oauth_authorization_code", Serve::Api(oauth::request_code)),
    ("retrieve_oauth_authorization_code", Serve::Api(oauth::retrieve_code)),
    ("obtain_oauth_access_token", Serve::Api(oauth::obtain_token)),
    ("list_oauth_applications", Serve::Api(oauth::list)),
    ("retrieve_oauth_application_scope", Serve::Api(oauth::scope)),
    ("refresh_oauth_access_token", Serve::Api(oauth::refresh)),
    // Public key
    ("generate_key_pair", Serve::Api(pk::generate)),
    ("register_public_key", Serve::Api(pk::register)),
    ("retrieve_public_key", Serve::Api(pk::retrieve)),
    ("retrieve_cab_public_key", Serve::Api(pk::engine)),
    // Data Token
    ("reserve_token_space", Serve::Api(dt::reserve)),
    ("retrieve_temporary_data_token", Serve::Api(dt::temporary_token)),
    ("exchange_data_for_token", Serve::Api(dt::exchange)),
    ("request_data", Serve::Api(dt::request_data)),
    ("configure_risk_meta", Serve::Api(dt::risk_meta)),
    ("configure_file_meta", Serve::Api(dt::file_meta)),
    ("list_data_tokens", Serve::Api(dt::list)),
    ("update_data_token", Serve::Api(dt::update)),
    ("delete_data", Serve::Api(dt::delete)),
    ("data_token_transaction_statistics", Serve::Api(dt::statistics)),
    // Device
    ("request_unique_identifier", Serve::Api(device::request_identifier)),
    ("retrieve_unique_identifier", Serve::Api(device::retrieve_identifier)),
    ("list_profile_devices", Serve::Api(device::list)),
    ("configure_device_meta", Serve::Api(device::configure_meta)),
    ("approve_device", Serve::Api(device::approve)),
    ("reject_device", Serve::Api(device::reject)),
    ("retrieve_device_configuration", Serve::Api(device::configuration)),
    ("remove_device", Serve::Api(device::remove)),
    // Storage
    ("register_storage_device", Serve::Api(storage::register)),
    ("list_storage_devices", Serve::Api(storage::list)),
    ("synchronize_storage_device", Serve::Api(storage::synchronize)),
    ("remove_storage_device", Serve::Api(storage::remove)),
    // Verified authenticator
    ("register_authenticator", Serve::Api(va::register)),
    ("list_authenticators", Serve::Api(va::list)),
    ("retrieve_voting_strategy", Serve::Api(va::strategy)),
    ("set_quorum_size", Serve::Api(va::set_quorum_size)),
    ("set_quorum_strategy", Serve::Api(va::set_quorum_strategy)),
    ("set_voting_time_limit", Serve::Api(va::set_time_limit)),
    ("set_maximum_voting_attempts", Serve::Api(va::set_maximum_attempts)),
    ("remove_authenticator", Serve::Api(va::remove)),
    ("register_voting_configuration", Serve::Api(va::register_configuration)),
    ("update_voting_configuration", Serve::Api(va::update_configuration)),
    ("list_voting_configurations", Serve::Api(va::list_configurations)),
    ("retrieve_voting_configuration", Serve::Api(va::retrieve_configuration)),
    // Policy
    ("list_policy_templates", Serve::Api(policy::templates)),
    ("register_policy", Serve::Api(policy::register)),
    ("list_active_policies", Serve::Api(policy::list_active)),
    ("list_inactive_policies", Serve::Api(policy::list_inactive)),
    ("activate_policy", Serve::Api(policy::activate)),
    ("deactivate_policy", Serve::Api(policy::deactivate)),
    ("delete_policy", Serve::Api(policy::delete)),
    ("retrieve_policy", Serve::Api(policy::retrieve)),
    // Directory
    ("register_directory", Serve::Api(dir::register)),
    ("list_owned_directories", Serve::Api(dir::list_owned)),
    ("list_assigned_directories", Serve::Api(dir::list_assigned)),
    ("retrieve_directory", Serve::Api(dir::retrieve)),
    ("create_directory_user", Serve::Api(dir::create_user)),
    ("update_directory_user", Serve::Api(dir::update_user)),
    ("invite_profile", Serve::Api(dir::invite)),
    ("set_directory_profile_password", Serve::Api(dir::set_password)),
    ("list_directory_invites", Serve::Api(dir::list_invites)),
    ("process_directory_invitation", Serve::Api(dir::process_invitation)),
    ("retrieve_directory_profile", Serve::Api(dir::retrieve_profile)),
    ("list_directory_users", Serve::Api(dir::list_users)),
    ("directory_profiles_info", Serve::Api(dir::profiles_info)),
    ("create_directory_profile_device", Serve::Api(dir::create_device)),
    ("add_directory_storage_device", Serve::Api(dir::add_storage_device)),
    ("list_directory_devices", Serve::Api(dir::list_devices)),
    ("create_directory_voting_pool", Serve::Api(dir::create_voting_pool)),
    ("store_directory_meta", Serve::Api(dir::store_meta)),
    // Voting
    ("create_voting", Serve::Api(voting::create)),
    ("check_pool_status", Serve::Api(voting::pool_status)),
    // Stream Transfer (served by the stream and download listeners)
    ("upload_stream", Serve::Stream),
    ("download_data", Serve::Download),
];

/// The bindings by id, built once.
static BY_ID: LazyLock<HashMap<&'static str, Serve>> =
    LazyLock::new(|| BINDINGS.iter().copied().collect());

/// The binding of an operation id; `None` for an id the mock does not bind.
pub(crate) fn serve(op: &str) -> Option<Serve> {
    BY_ID.get(op).copied()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::generated_routes::ROUTES;

    #[test]
    fn every_generated_route_is_bound_and_every_binding_is_a_route() {
        let generated: BTreeSet<&str> = ROUTES.iter().map(|r| r.op).collect();
        let unbound: Vec<&str> = generated
            .iter()
            .copied()
            .filter(|op| serve(op).is_none())
            .collect();
        assert!(
            unbound.is_empty(),
            "generated routes without a handler: {unbound:?}"
        );

        let bound: BTreeSet<&str> = BINDINGS.iter().map(|(op, _)| *op).collect();
        assert_eq!(
            bound.len(),
            BINDINGS.len(),
            "an operation id is bound twice"
        );
        let stray: Vec<&str> = bound.difference(&generated).copied().collect();
        assert!(
            stray.is_empty(),
            "bindings for no generated route: {stray:?}"
        );
        let bound = generated.iter().filter(|op| serve(op).is_some()).count();
        assert_eq!(
            (bound, BINDINGS.len()),
            (86, 86),
            "{bound} of {} generated routes bound",
            generated.len()
        );
    }

    #[test]
    fn an_unknown_id_has_no_binding() {
        assert!(serve("no_such_operation").is_none());
    }
}

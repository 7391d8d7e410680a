//! The Verified authenticator group through its typed handlers: make an approved device an
//! authenticator, set the voting rules (quorum, time limit, attempts) and read them back,
//! list the authenticators, remove one. (`voting.rs` goes on to voting configurations and
//! pools.)
//!
//! Runs against the embedded mock unless `PRIVICORE_API_URL` (and `PRIVICORE_WS_URL`,
//! `PRIVICORE_USERNAME`, `PRIVICORE_PASSWORD`) point at a real server:
//!
//! ```sh
//! cargo run -p privicore --example authenticators
//! ```

use privicore::types::DeviceIdentifierResponse;

#[path = "common/mod.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let session = common::session(&client, "authenticators@privicore.test").await?;

    // Only an approved device of the profile becomes an authenticator.
    let request = session
        .devices()
        .request_unique_identifier("phone")
        .send()
        .await?;
    let device = match session
        .devices()
        .retrieve_unique_identifier(request.to_string())
        .send()
        .await?
    {
        DeviceIdentifierResponse::String(id) => id,
        DeviceIdentifierResponse::Object { device_identifier } => device_identifier,
    };
    session.devices().approve_device(&device).send().await?;

    let authenticators = session.authenticators();
    authenticators
        .register_authenticator(&device)
        .send()
        .await?;
    let listed = authenticators.list_authenticators().send().await?;
    for item in listed.iter() {
        println!("authenticator {item:?}");
    }
    assert!(
        listed.iter().any(|a| a.device_identifier == device),
        "the registered authenticator is listed"
    );

    // The voting rules: each is a command, acknowledged before the next is sent.
    authenticators
        .set_quorum_strategy("consensus", "60")
        .send()
        .await?;
    authenticators.set_quorum_size(1).send().await?;
    authenticators.set_voting_time_limit(300).send().await?;
    authenticators.set_maximum_voting_attempts(3).send().await?;
    let strategy = authenticators.retrieve_voting_strategy().send().await?;
    println!("voting strategy {strategy:?}");
    assert_eq!(strategy.strategy, "consensus");
    assert_eq!(strategy.quorum_size, Some(1));
    assert_eq!(strategy.time_limit, Some(300));
    assert_eq!(strategy.maximum_voting_attempts, Some(3));

    authenticators.remove_authenticator(&device).send().await?;
    let after = authenticators.list_authenticators().send().await?;
    assert!(
        after.iter().all(|a| a.device_identifier != device),
        "the removed authenticator is gone"
    );
    println!("removed {device}: {} authenticators left", after.len());
    Ok(())
}

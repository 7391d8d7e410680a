//! The Voting group through its typed handlers, with the Verified authenticator setup it needs:
//! set the quorum strategy, register a voting configuration, open a voting pool and read its
//! status. (`authenticators.rs` shows the rest of the Verified authenticator group.)
//!
//! Runs against the embedded mock unless `PRIVICORE_API_URL` (and `PRIVICORE_WS_URL`,
//! `PRIVICORE_USERNAME`, `PRIVICORE_PASSWORD`) point at a real server:
//!
//! ```sh
//! cargo run -p privicore --example voting
//! ```

#[path = "common/mod.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let session = common::session(&client, "voting@privicore.test").await?;
    let authenticators = session.authenticators();

    // A value outside the spec's enumeration is refused before anything is sent.
    let refused = authenticators
        .set_quorum_strategy("majority", "0")
        .send()
        .await;
    println!(
        "strategy `majority`: {}",
        refused.err().map(|e| e.to_string()).unwrap_or_default()
    );
    authenticators
        .set_quorum_strategy("consensus", "0")
        .send()
        .await?;
    println!(
        "strategy: {:?}",
        authenticators.retrieve_voting_strategy().send().await?
    );

    // `[]`: every authenticator of the profile takes part.
    authenticators
        .register_voting_configuration("high-security", 300, "unanimous", vec![])
        .send()
        .await?;
    let pool = session
        .voting()
        .create_voting("high-security", "Ship release 1.0?", "Release 1.0")
        .send()
        .await?;
    let status = session
        .voting()
        .check_pool_status(pool.to_string())
        .send()
        .await?;
    println!("pool {pool}: {status:?}");
    Ok(())
}

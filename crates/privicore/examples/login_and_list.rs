//! Log in, store a few payloads, and page through the data tokens.
//!
//! Runs against the embedded mock unless `PRIVICORE_API_URL` (and `PRIVICORE_WS_URL`,
//! `PRIVICORE_USERNAME`, `PRIVICORE_PASSWORD`) point at a real server:
//!
//! ```sh
//! cargo run -p privicore --example login_and_list
//! ```

use futures::TryStreamExt;
use privicore::{KeyPair, StoreOptions, VaultKey};
use secrecy::SecretString;

#[path = "common/mod.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the mock alive for as long as the example runs.
    let (client, _mock) = common::client().await?;
    let session = match std::env::var("PRIVICORE_USERNAME") {
        Ok(_) => client.login_configured().await?,
        Err(_) => {
            // A fresh profile on the mock: register, log in, register a key.
            let password = SecretString::from("correct horse battery staple".to_string());
            client
                .provision("example@privicore.test", password, &KeyPair::generate())
                .await?
        }
    };
    println!("logged in; token valid until {}", session.expires_at());

    let vault = session.vault(VaultKey::generate());
    for i in 0..5 {
        let payload = format!("secret number {i}");
        let token = vault
            .store(payload.as_bytes(), &StoreOptions::new("examples"))
            .await?;
        println!("stored {} bytes as {token}", payload.len());
    }

    let mut tokens = session
        .data_tokens()
        .list()
        .context("examples")
        .per_page(2)
        .stream();
    while let Some(item) = tokens.try_next().await? {
        println!("listed {} ({:?})", item.token, item.context);
    }
    Ok(())
}

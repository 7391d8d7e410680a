//! The OAuth application flow: register an application, read its client credentials, get an
//! authorization code, exchange it for tokens, and use (and refresh) them.
//!
//! Runs against the embedded mock unless `PRIVICORE_API_URL` and friends are set:
//!
//! ```sh
//! cargo run -p privicore --example oauth
//! ```

use std::sync::Arc;

use privicore::{KeyPair, MemoryTokenStore};
use secrecy::SecretString;

#[path = "common/mod.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let profile = match std::env::var("PRIVICORE_USERNAME") {
        Ok(_) => client.login_configured().await?,
        Err(_) => {
            let password = SecretString::from("correct horse battery staple".to_string());
            client
                .provision(
                    "oauth-example@privicore.test",
                    password,
                    &KeyPair::generate(),
                )
                .await?
        }
    };

    let app = profile
        .oauth()
        .register(
            "example-integration",
            "https://app.example.com/oauth/callback",
            "all",
        )
        .await?;
    println!("registered OAuth application {app}");
    // The secret can be read once only: a real application stores it now.
    let credentials = profile.oauth().configuration(&app).await?;
    println!("client id {}", credentials.client_id);

    let oauth = client.oauth_client(
        credentials.client_id.clone(),
        credentials.client_secret.clone(),
    );
    let tokens = oauth.authorize(&profile, &["all"]).await?;
    println!("access token valid until {}", tokens.expires_at);

    let session = client
        .oauth_session(tokens, Arc::new(MemoryTokenStore::new()))
        .await?;
    println!("scope: {:?}", session.oauth_scope().await?.scope);
    session.refresh_oauth().await?;
    println!(
        "refreshed; access token now valid until {}",
        session.expires_at()
    );
    let listed = session.data_tokens().list().collect().await?;
    println!("the application sees {} data tokens", listed.len());
    Ok(())
}

//! Shared by the examples: a client for the server named in the environment, or for an
//! embedded mock started in-process.

use privicore::Client;

/// The client, and the mock to keep alive while it is used (none for a real server).
pub async fn client()
-> Result<(Client, Option<privicore_mock::MockServer>), Box<dyn std::error::Error>> {
    if std::env::var("PRIVICORE_API_URL").is_ok() {
        return Ok((Client::from_env()?, None));
    }
    let mock = privicore_mock::MockServer::start().await?;
    let client = Client::builder()
        .api_url(mock.api_url())
        .ws_url(mock.ws_url())
        .build()?;
    Ok((client, Some(mock)))
}

/// A session: the configured profile on a real server, a freshly provisioned one on the mock.
#[allow(dead_code)]
pub async fn session(
    client: &Client,
    username: &str,
) -> Result<privicore::Session, Box<dyn std::error::Error>> {
    if std::env::var("PRIVICORE_USERNAME").is_ok() {
        return Ok(client.login_configured().await?);
    }
    let password = secrecy::SecretString::from("correct horse battery staple".to_string());
    Ok(client
        .provision(username, password, &privicore::KeyPair::generate())
        .await?)
}

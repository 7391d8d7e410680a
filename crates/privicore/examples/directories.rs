//! The Directory group through its typed handlers: register a directory, then create a user in
//! it through the per-directory handle (the password is a `SecretString`, never printed).
//!
//! Runs against the embedded mock unless `PRIVICORE_API_URL` (and `PRIVICORE_WS_URL`,
//! `PRIVICORE_USERNAME`, `PRIVICORE_PASSWORD`) point at a real server:
//!
//! ```sh
//! cargo run -p privicore --example directories
//! ```

use secrecy::SecretString;

#[path = "common/mod.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let session = common::session(&client, "directories@privicore.test").await?;

    // The command id of the registration is the directory's id.
    let id = session
        .directories()
        .register_directory("engineering")
        .send()
        .await?;
    let directory = session.directories().directory(id.to_string());

    let create = directory.create_directory_user(
        "bob@privicore.test",
        SecretString::from("initial password".to_string()),
    );
    println!("sending {create:?}");
    create.send().await?;

    for user in directory.list_directory_users().send().await?.iter() {
        println!("user {} ({})", user.username, user.profile_id);
    }
    println!("{:?}", directory.retrieve_directory().send().await?);
    Ok(())
}

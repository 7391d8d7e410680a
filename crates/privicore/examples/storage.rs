//! The Storage group through its typed handlers: make an approved device a storage device,
//! synchronize it, list the storage devices, remove it again.
//!
//! Runs against the embedded mock unless `PRIVICORE_API_URL` (and `PRIVICORE_WS_URL`,
//! `PRIVICORE_USERNAME`, `PRIVICORE_PASSWORD`) point at a real server:
//!
//! ```sh
//! cargo run -p privicore --example storage
//! ```

use privicore::types::DeviceIdentifierResponse;

#[path = "common/mod.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let session = common::session(&client, "storage@privicore.test").await?;

    // Only an approved device of the profile becomes a storage device.
    let request = session
        .devices()
        .request_unique_identifier("backup disk")
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

    let storage = session.storage();
    storage.register_storage_device(&device).send().await?;
    storage.synchronize_storage_device(&device).send().await?;
    let listed = storage.list_storage_devices().send().await?;
    for item in listed.iter() {
        println!("storage device {item:?}");
    }
    assert!(
        listed.iter().any(|d| d.device_identifier == device),
        "the registered storage device is listed"
    );

    storage.remove_storage_device(&device).send().await?;
    let after = storage.list_storage_devices().send().await?;
    assert!(
        after.iter().all(|d| d.device_identifier != device),
        "the removed storage device is gone"
    );
    println!("removed {device}: {} storage devices left", after.len());
    Ok(())
}

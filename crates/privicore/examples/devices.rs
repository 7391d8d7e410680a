//! The Device group through its typed handlers: register a device, approve it, list the
//! profile's devices. (`storage.rs` makes such a device a storage device.)
//!
//! Runs against the embedded mock unless `PRIVICORE_API_URL` (and `PRIVICORE_WS_URL`,
//! `PRIVICORE_USERNAME`, `PRIVICORE_PASSWORD`) point at a real server:
//!
//! ```sh
//! cargo run -p privicore --example devices
//! ```

use privicore::types::DeviceIdentifierResponse;

#[path = "common/mod.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let session = common::session(&client, "devices@privicore.test").await?;

    // A command: waits for the acknowledgement, answers the command id.
    let request = session
        .devices()
        .request_unique_identifier("laptop")
        .send()
        .await?;
    // A read taking that id: the device's identifier.
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

    let devices = session.devices().list_profile_devices().send().await?;
    for item in devices.iter() {
        println!("device {item:?}");
    }
    assert!(!devices.is_empty(), "the approved device is listed");
    Ok(())
}

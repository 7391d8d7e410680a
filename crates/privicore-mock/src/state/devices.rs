//! Devices and their roles (storage, verified authenticator).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    Pending,
    Approved,
    Rejected,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Rejected => "rejected",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Device {
    pub id: String,
    pub owner: String,
    pub name: String,
    pub status: DeviceStatus,
    pub storage: bool,
    pub authenticator: bool,
    pub last_sync: Option<DateTime<Utc>>,
    pub client_id: String,
    pub client_secret: String,
    pub rabbit_user: String,
    pub rabbit_pass: String,
    pub seq: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Devices {
    devices: HashMap<String, Device>,
    /// request-unique-identifier command id -> device identifier.
    requests: HashMap<String, String>,
    next_seq: u64,
}

impl Devices {
    pub fn insert(&mut self, request_id: Option<String>, mut device: Device) {
        device.seq = self.next_seq;
        self.next_seq += 1;
        if let Some(request_id) = request_id {
            self.requests.insert(request_id, device.id.clone());
        }
        self.devices.insert(device.id.clone(), device);
    }

    pub fn by_request(&self, request_id: &str, owner: &str) -> Option<&Device> {
        self.requests
            .get(request_id)
            .and_then(|id| self.get(id, owner))
    }

    /// The owner's device (another profile's device is as good as unknown).
    pub fn get(&self, id: &str, owner: &str) -> Option<&Device> {
        self.devices.get(id).filter(|d| d.owner == owner)
    }

    pub fn get_any(&self, id: &str) -> Option<&Device> {
        self.devices.get(id)
    }

    pub fn get_mut(&mut self, id: &str, owner: &str) -> Option<&mut Device> {
        self.devices.get_mut(id).filter(|d| d.owner == owner)
    }

    pub fn remove(&mut self, id: &str, owner: &str) -> Option<Device> {
        self.get(id, owner)?;
        self.requests.retain(|_, d| d != id);
        self.devices.remove(id)
    }

    /// The owner's devices, oldest first.
    pub fn of(&self, owner: &str) -> Vec<&Device> {
        let mut devices: Vec<&Device> =
            self.devices.values().filter(|d| d.owner == owner).collect();
        devices.sort_by_key(|d| d.seq);
        devices
    }
}

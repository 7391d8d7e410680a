//! Policies and the fixed catalogue of policy templates.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub(crate) struct Policy {
    pub id: String,
    pub profile_id: String,
    pub name: String,
    pub template_id: String,
    pub event_ids: Vec<String>,
    pub configuration: BTreeMap<String, String>,
    pub voting_configuration: Option<String>,
    pub active: bool,
    pub seq: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Policies {
    by_id: HashMap<String, Policy>,
    pub pending_names: HashSet<(String, String)>,
    next_seq: u64,
}

impl Policies {
    pub fn insert(&mut self, mut policy: Policy) {
        policy.seq = self.next_seq;
        self.next_seq += 1;
        self.by_id.insert(policy.id.clone(), policy);
    }

    pub fn get_mut(&mut self, id: &str, profile_id: &str) -> Option<&mut Policy> {
        self.by_id
            .get_mut(id)
            .filter(|p| p.profile_id == profile_id)
    }

    pub fn remove(&mut self, id: &str, profile_id: &str) -> Option<Policy> {
        self.by_id.get(id).filter(|p| p.profile_id == profile_id)?;
        self.by_id.remove(id)
    }

    pub fn by_name(&self, profile_id: &str, name: &str) -> Option<&Policy> {
        self.by_id
            .values()
            .find(|p| p.profile_id == profile_id && p.name == name)
    }

    pub fn name_taken(&self, profile_id: &str, name: &str) -> bool {
        self.by_name(profile_id, name).is_some()
            || self
                .pending_names
                .contains(&(profile_id.to_owned(), name.to_owned()))
    }

    /// The profile's policies with the given state, oldest first.
    pub fn list(&self, profile_id: &str, active: bool) -> Vec<&Policy> {
        let mut list: Vec<&Policy> = self
            .by_id
            .values()
            .filter(|p| p.profile_id == profile_id && p.active == active)
            .collect();
        list.sort_by_key(|p| p.seq);
        list
    }

    pub fn count_for(&self, profile_id: &str) -> usize {
        self.by_id
            .values()
            .filter(|p| p.profile_id == profile_id)
            .count()
    }
}

/// The policy templates, keyed by template id (list-policy-templates answers a map, not a
/// list: docs/protocol.md §11). The catalogue is invented but has the documented shape.
pub(crate) fn templates() -> Value {
    json!({
        "1": {
            "name": "Data request approval",
            "description": "Requests for data are put to the profile's verified authenticators.",
            "events": {
                "1": {"data_token.request_data": "Data requested"},
                "2": {"data_token.delete_data": "Data deleted"}
            },
            "configuration": ["contexts"],
            "votingAttributes": ["timeLimit", "strategy"]
        },
        "2": {
            "name": "Device approval",
            "description": "New devices need a vote before they are approved.",
            "events": {
                "3": {"device.approve_device": "Device approved"}
            },
            "configuration": [],
            "votingAttributes": ["strategy"]
        }
    })
}

/// Whether `event_id` belongs to template `template_id`.
pub(crate) fn template_has_event(template_id: &str, event_id: &str) -> Option<bool> {
    let all = templates();
    let template = all.get(template_id)?;
    Some(
        template
            .get("events")
            .and_then(Value::as_object)
            .is_some_and(|events| events.contains_key(event_id)),
    )
}

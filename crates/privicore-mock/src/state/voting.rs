//! Profile-wide voting defaults, named voting configurations and voting pools.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

#[derive(Clone, Debug)]
pub(crate) struct VotingSettings {
    pub strategy: String,
    pub strategy_params: String,
    pub time_limit: i64,
    pub maximum_attempts: i64,
    pub quorum_size: i64,
}

impl Default for VotingSettings {
    fn default() -> Self {
        Self {
            strategy: "unanimous".to_owned(),
            strategy_params: "100".to_owned(),
            time_limit: 300,
            maximum_attempts: 1,
            quorum_size: 1,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct VotingConfig {
    pub name: String,
    pub time_limit: i64,
    pub strategy: String,
    pub percentage_required: Option<i64>,
    pub device_identifiers: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Pool {
    pub profile_id: String,
    pub created_at: DateTime<Utc>,
    pub time_limit: i64,
}

#[derive(Debug, Default)]
pub(crate) struct Voting {
    pub settings: HashMap<String, VotingSettings>,
    /// Per profile, by name.
    pub configs: HashMap<String, BTreeMap<String, VotingConfig>>,
    /// Names of configurations whose register command has not completed yet.
    pub pending_names: HashSet<(String, String)>,
    pub pools: HashMap<String, Pool>,
}

impl Voting {
    pub fn config(&self, profile_id: &str, name: &str) -> Option<&VotingConfig> {
        self.configs.get(profile_id).and_then(|c| c.get(name))
    }

    pub fn name_taken(&self, profile_id: &str, name: &str) -> bool {
        self.config(profile_id, name).is_some()
            || self
                .pending_names
                .contains(&(profile_id.to_owned(), name.to_owned()))
    }
}

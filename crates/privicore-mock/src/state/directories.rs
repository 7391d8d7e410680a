//! Directories: groups of profiles owned by one profile, with invitations, devices, voting
//! pools and free-form meta information. The whole group is inferred (no source documents
//! it), so the state is the simplest that keeps every operation consistent.

use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Clone, Debug)]
pub(crate) struct Directory {
    pub id: String,
    pub owner: String,
    pub name: String,
    pub meta: BTreeMap<String, String>,
    /// Member profile ids, in the order they joined.
    pub members: Vec<String>,
    pub devices: Vec<String>,
    pub pools: Vec<String>,
    pub seq: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Invitation {
    pub id: String,
    pub directory_id: String,
    pub invitee: String,
    pub status: &'static str,
    pub seq: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Directories {
    pub by_id: HashMap<String, Directory>,
    pub invitations: HashMap<String, Invitation>,
    pub pending_names: HashSet<(String, String)>,
    next_seq: u64,
}

impl Directories {
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub fn owned_mut(&mut self, id: &str, profile_id: &str) -> Option<&mut Directory> {
        self.by_id.get_mut(id).filter(|d| d.owner == profile_id)
    }

    /// The directory if `profile_id` owns it or is a member.
    pub fn visible(&self, id: &str, profile_id: &str) -> Option<&Directory> {
        self.by_id
            .get(id)
            .filter(|d| d.owner == profile_id || d.members.iter().any(|m| m == profile_id))
    }

    pub fn name_taken(&self, owner: &str, name: &str) -> bool {
        self.by_id
            .values()
            .any(|d| d.owner == owner && d.name == name)
            || self
                .pending_names
                .contains(&(owner.to_owned(), name.to_owned()))
    }

    pub fn sorted(mut list: Vec<&Directory>) -> Vec<&Directory> {
        list.sort_by_key(|d| d.seq);
        list
    }
}

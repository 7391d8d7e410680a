//! The status of every asynchronous command, for request-status.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::config::ReplyShape;

/// Most finished statuses kept however short the run; past this the oldest go first.
const MAX_FINISHED: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CommandState {
    Pending,
    Completed,
    Failed(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Command {
    pub state: CommandState,
    pub shape: ReplyShape,
}

#[derive(Debug, Default)]
pub(crate) struct Commands {
    map: HashMap<String, Command>,
    /// Finished commands in the order they finished, for retention.
    finished: VecDeque<(Instant, String)>,
}

impl Commands {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn insert(&mut self, id: String, shape: ReplyShape) {
        self.map.insert(
            id,
            Command {
                state: CommandState::Pending,
                shape,
            },
        );
    }

    pub fn get(&self, id: &str) -> Option<&Command> {
        self.map.get(id)
    }

    pub fn finish(&mut self, id: &str, state: CommandState, at: Instant) {
        if let Some(command) = self.map.get_mut(id) {
            command.state = state;
            self.finished.push_back((at, id.to_owned()));
        }
        while self.finished.len() > MAX_FINISHED {
            if let Some((_, old)) = self.finished.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    /// Forgets statuses finished longer than `retention` ago.
    pub fn sweep(&mut self, now: Instant, retention: Duration) {
        while let Some((at, _)) = self.finished.front() {
            if now.saturating_duration_since(*at) < retention {
                break;
            }
            if let Some((_, id)) = self.finished.pop_front() {
                self.map.remove(&id);
            }
        }
    }
}

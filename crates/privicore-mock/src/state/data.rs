//! Data tokens: reservations, single-use stream tokens, stored ciphertext and download links.
//!
//! The mock keeps the bytes the client sent exactly as sent (ciphertext, as far as it knows)
//! and never holds a key. Stored bytes are reference-counted [`Bytes`], so a download link
//! shares the buffer instead of copying it.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use chrono::{DateTime, Utc};

#[derive(Clone, Debug)]
pub(crate) struct Reservation {
    pub profile_id: String,
    pub meta: Option<String>,
    pub temp_token: String,
    /// The single-use stream token; `None` once used.
    pub stream_token: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub data: Option<Bytes>,
    /// A fill (an inline exchange or a stream upload) was accepted: a reservation is filled
    /// once, so a second fill is refused even before the first has landed.
    pub filling: bool,
}

/// What the payload wire format adds to the plaintext: a 12-byte IV in front and a 16-byte
/// tag at the end (docs/protocol.md, payload encryption). configure-file-meta's `size` is the
/// plaintext size, so it must be the stored length minus this.
pub(crate) const WIRE_OVERHEAD: usize = 12 + 16;

/// Whether a stream token can be used for an upload now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamToken {
    /// Unknown, used or expired.
    Invalid,
    /// Valid, but its reservation already has (or is receiving) its data.
    Filled,
    /// Valid and its reservation is empty.
    Open,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct FileMeta {
    pub file_name: String,
    pub extension: String,
    pub size: i64,
    pub path: String,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct RiskMeta {
    pub classification: Option<String>,
    pub label: Option<String>,
    pub handling: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct DataToken {
    pub token: String,
    pub profile_id: String,
    pub seq: u64,
    pub context: String,
    pub created_at: DateTime<Utc>,
    pub file: Option<FileMeta>,
    pub data_type: Option<String>,
    pub risk: Option<RiskMeta>,
    pub data: Bytes,
    /// The `x-request-id` of the configure-file-meta request that created it, if it had one.
    pub created_by: Option<String>,
}

/// One stored data token as [`MockServer::stored_data`](crate::MockServer::stored_data) lists
/// it: who owns it and how many bytes the mock holds for it (never the bytes themselves).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredData {
    /// The owning profile's id.
    pub profile_id: String,
    /// The permanent data token.
    pub token: String,
    /// The context it was configured with.
    pub context: String,
    /// Length of the stored (ciphertext) bytes.
    pub stored_len: usize,
    /// The plaintext size the client declared in configure-file-meta, if it did.
    pub declared_size: Option<i64>,
    /// The `x-request-id` header of the configure-file-meta request that created it, if it
    /// had one: ties a payload whose answer was lost (see
    /// [`FaultConfig::mangle_operations`](crate::FaultConfig::mangle_operations)) to the
    /// request, and so to the client call, that stored it.
    pub created_by_request: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct DownloadTicket {
    pub data: Bytes,
    pub expires_at: DateTime<Utc>,
}

/// Per-profile counters for transaction-count-statistics.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TxStats {
    pub stored: i64,
    pub retrieved: i64,
    pub deleted: i64,
}

#[derive(Debug, Default)]
pub(crate) struct DataStore {
    /// Keyed by the reserve command id.
    pub reservations: HashMap<String, Reservation>,
    by_temp: HashMap<String, String>,
    by_stream: HashMap<String, String>,
    tokens: HashMap<String, DataToken>,
    next_seq: u64,
    downloads: HashMap<String, DownloadTicket>,
    pub tx: HashMap<String, TxStats>,
}

impl DataStore {
    pub fn reservation_count(&self) -> usize {
        self.reservations.len()
    }

    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// Every stored data token, oldest first.
    pub fn stored(&self) -> Vec<StoredData> {
        let mut tokens: Vec<&DataToken> = self.tokens.values().collect();
        tokens.sort_by_key(|t| t.seq);
        tokens
            .into_iter()
            .map(|t| StoredData {
                profile_id: t.profile_id.clone(),
                token: t.token.clone(),
                context: t.context.clone(),
                stored_len: t.data.len(),
                declared_size: t.file.as_ref().map(|f| f.size),
                created_by_request: t.created_by.clone(),
            })
            .collect()
    }

    pub fn download_count(&self) -> usize {
        self.downloads.len()
    }

    pub fn insert_reservation(&mut self, id: String, reservation: Reservation) {
        self.by_temp
            .insert(reservation.temp_token.clone(), id.clone());
        if let Some(stream) = &reservation.stream_token {
            self.by_stream.insert(stream.clone(), id.clone());
        }
        self.reservations.insert(id, reservation);
    }

    /// The reservation id behind a temporary token.
    pub fn reservation_by_temp(&self, temp: &str, now: DateTime<Utc>) -> Option<&str> {
        let id = self.by_temp.get(temp)?;
        self.reservations
            .get(id)
            .filter(|r| r.expires_at > now)
            .map(|_| id.as_str())
    }

    /// Whether a stream token can be used now (without using it up).
    pub fn stream_token(&self, stream: &str, now: DateTime<Utc>) -> StreamToken {
        match self
            .by_stream
            .get(stream)
            .and_then(|id| self.reservations.get(id))
            .filter(|r| r.expires_at > now)
        {
            None => StreamToken::Invalid,
            Some(r) if r.filling || r.data.is_some() => StreamToken::Filled,
            Some(_) => StreamToken::Open,
        }
    }

    /// Uses up a stream token and claims its reservation's fill, returning the reservation id;
    /// `Err` with the token's state when it cannot be used.
    pub fn take_stream_token(
        &mut self,
        stream: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StreamToken> {
        match self.stream_token(stream, now) {
            StreamToken::Open => {}
            refused => return Err(refused),
        }
        let id = self.by_stream.remove(stream).ok_or(StreamToken::Invalid)?;
        let reservation = self.reservations.get_mut(&id).ok_or(StreamToken::Invalid)?;
        reservation.stream_token = None;
        reservation.filling = true;
        Ok(id)
    }

    /// Gives a reservation's fill back (the fill failed), so that it can be filled again.
    pub fn release_fill(&mut self, id: &str) {
        if let Some(r) = self.reservations.get_mut(id).filter(|r| r.data.is_none()) {
            r.filling = false;
        }
    }

    /// Removes a reservation and its indexes.
    pub fn remove_reservation(&mut self, id: &str) -> Option<Reservation> {
        let reservation = self.reservations.remove(id)?;
        self.by_temp.remove(&reservation.temp_token);
        if let Some(stream) = &reservation.stream_token {
            self.by_stream.remove(stream);
        }
        Some(reservation)
    }

    pub fn insert_token(&mut self, mut token: DataToken) {
        token.seq = self.next_seq;
        self.next_seq += 1;
        self.tx.entry(token.profile_id.clone()).or_default().stored += 1;
        self.tokens.insert(token.token.clone(), token);
    }

    /// The profile's data token (another profile's token is as good as unknown).
    pub fn token(&self, token: &str, profile_id: &str) -> Option<&DataToken> {
        self.tokens
            .get(token)
            .filter(|t| t.profile_id == profile_id)
    }

    pub fn token_mut(&mut self, token: &str, profile_id: &str) -> Option<&mut DataToken> {
        self.tokens
            .get_mut(token)
            .filter(|t| t.profile_id == profile_id)
    }

    pub fn remove_token(&mut self, token: &str, profile_id: &str) -> Option<DataToken> {
        self.token(token, profile_id)?;
        let removed = self.tokens.remove(token)?;
        self.tx.entry(profile_id.to_owned()).or_default().deleted += 1;
        Some(removed)
    }

    /// The profile's tokens matching every filter, oldest first.
    pub fn list(&self, profile_id: &str, filters: &BTreeMap<String, String>) -> Vec<&DataToken> {
        let mut items: Vec<&DataToken> = self
            .tokens
            .values()
            .filter(|t| t.profile_id == profile_id)
            .filter(|t| filters.iter().all(|(key, want)| matches(t, key, want)))
            .collect();
        items.sort_by_key(|t| t.seq);
        items
    }

    pub fn issue_download(&mut self, ticket: String, data: Bytes, expires_at: DateTime<Utc>) {
        self.downloads
            .insert(ticket, DownloadTicket { data, expires_at });
    }

    /// Uses up a download link.
    pub fn take_download(&mut self, ticket: &str, now: DateTime<Utc>) -> Option<Bytes> {
        let t = self.downloads.remove(ticket)?;
        (t.expires_at > now).then_some(t.data)
    }

    /// Drops expired reservations and download links.
    pub fn sweep(&mut self, now: DateTime<Utc>) {
        let expired: Vec<String> = self
            .reservations
            .iter()
            .filter(|(_, r)| r.expires_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.remove_reservation(&id);
        }
        self.downloads.retain(|_, t| t.expires_at > now);
    }
}

/// Whether a token matches one `filters[...]` key of list-data-tokens (exact match).
fn matches(t: &DataToken, key: &str, want: &str) -> bool {
    let have = match key {
        "context" => Some(t.context.as_str()),
        "token" => Some(t.token.as_str()),
        "meta.file.fileName" => t.file.as_ref().map(|f| f.file_name.as_str()),
        "meta.file.extension" => t.file.as_ref().map(|f| f.extension.as_str()),
        "meta.data.type" => t.data_type.as_deref(),
        _ => None,
    };
    have == Some(want)
}

/// The filter keys list-data-tokens accepts, inside `filters[...]`.
pub(crate) const FILTER_KEYS: &[&str] = &[
    "meta.file.fileName",
    "meta.file.extension",
    "meta.data.type",
    "context",
    "token",
];

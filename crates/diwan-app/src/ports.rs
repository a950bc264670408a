//! What the use cases need from the outside world. `diwan-db` implements `Store` and
//! `BlobStore`; the server provides the `Clock`.

use std::fmt::Debug;

use chrono::{DateTime, Utc};
use diwan_domain::{Role, Sha256Digest};

use crate::model::{
    Administration, Agent, Annulment, Correspondence, CorrespondenceSummary, Grant, ListFilter,
    NewCorrespondence, Registered, Registry, Token, Unit,
};

/// Why the store failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (the text says which).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached or is overloaded; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The current time. Injected so tests control it.
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Persistent state. Every method is one transaction.
pub trait Store: Send + Sync {
    /// Checks the database answers.
    fn ping(&self) -> StoreResult<()>;

    // --- organisation (idempotent upserts keyed by code) ---
    fn upsert_administration(&self, a: &Administration) -> StoreResult<Administration>;
    fn upsert_unit(&self, u: &Unit) -> StoreResult<Unit>;
    fn upsert_registry(&self, r: &Registry) -> StoreResult<Registry>;
    fn administrations(&self) -> StoreResult<Vec<Administration>>;
    fn units(&self) -> StoreResult<Vec<Unit>>;
    fn registries(&self) -> StoreResult<Vec<Registry>>;
    fn registry_by_code(&self, code: &str) -> StoreResult<Option<Registry>>;

    // --- agents and grants ---
    /// Inserts an agent; `Conflict` if the e-mail is taken.
    fn insert_agent(&self, agent: &Agent) -> StoreResult<()>;
    fn agent(&self, id: &str) -> StoreResult<Option<Agent>>;
    fn agent_by_email(&self, email: &str) -> StoreResult<Option<Agent>>;
    fn agents(&self) -> StoreResult<Vec<Agent>>;
    /// Adds a grant; adding an existing one changes nothing.
    fn grant(&self, agent_id: &str, unit_id: Option<&str>, role: Role) -> StoreResult<()>;
    /// Removes a grant; `false` when there was none.
    fn revoke_grant(&self, agent_id: &str, unit_id: Option<&str>, role: Role) -> StoreResult<bool>;
    fn grants(&self, agent_id: &str) -> StoreResult<Vec<Grant>>;

    // --- bearer tokens ---
    fn insert_token(&self, token: &Token) -> StoreResult<()>;
    fn token_by_hash(&self, secret_hash: &str) -> StoreResult<Option<Token>>;
    fn tokens_of(&self, agent_id: &str) -> StoreResult<Vec<Token>>;
    /// Revokes a token of `agent_id`; `false` when there is no such live token.
    fn revoke_token(&self, agent_id: &str, token_id: &str, at: DateTime<Utc>) -> StoreResult<bool>;

    // --- correspondences ---
    /// Stores a correspondence, its files and its first history line, allocating its number in
    /// the same transaction; its files were promoted (made durable) before. Returns only once
    /// everything is durable. On failure, removes the files it brought that nothing refers to.
    fn register(&self, new: NewCorrespondence) -> StoreResult<Registered>;
    fn correspondence(&self, id: &str) -> StoreResult<Option<Correspondence>>;
    fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CorrespondenceSummary>>;
    /// Annuls a correspondence and appends the history line; `false` if it was already annulled.
    fn annul(&self, id: &str, annulment: &Annulment) -> StoreResult<bool>;
}

/// Content-addressed file storage.
pub trait BlobStore: Send + Sync {
    /// Starts writing a new file to a staging area.
    fn stage(&self) -> std::io::Result<Box<dyn BlobSink>>;
    /// Reads a stored file whole, by digest; `None` if it is missing.
    fn read(&self, digest: &Sha256Digest) -> std::io::Result<Option<Vec<u8>>>;
}

/// A file being written. Dropping it without `finish` removes what was written.
pub trait BlobSink: Send {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()>;
    /// Bytes written so far.
    fn written(&self) -> u64;
    /// Flushes and syncs the staged file. `declared_type` is what the client said the file is,
    /// used when the content itself tells nothing.
    fn finish(self: Box<Self>, declared_type: Option<&str>)
    -> std::io::Result<Box<dyn StagedBlob>>;
}

/// A complete, synced file in the staging area. Dropping it before `promote` removes it.
pub trait StagedBlob: Send + Debug {
    fn sha256(&self) -> &Sha256Digest;
    fn size(&self) -> u64;
    fn media_type(&self) -> &str;
    /// The content, when it is small enough to be held in memory. The store then writes it
    /// itself, inside the registration's transaction, instead of moving a file.
    fn bytes(&self) -> Option<&[u8]>;
    /// For content staged as a file: moves it to its content address and syncs the directory.
    /// After this, dropping the value removes nothing. Does nothing for in-memory content.
    fn promote(&mut self) -> std::io::Result<()>;
}

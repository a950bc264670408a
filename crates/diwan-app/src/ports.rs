//! What the use cases need from the outside world. `diwan-db` implements `Store` and
//! `BlobStore`; the server provides the `Clock`.

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diwan_domain::merkle::Frontier;
use diwan_domain::{Role, Sha256Digest};

use crate::log::{LogEntry, LogLeaf, SignedHead};
use crate::model::{
    Administration, Agent, Annulment, Correspondence, CorrespondenceSummary, Grant, ListFilter,
    NewCorrespondence, Registered, Registry, Token, Unit,
};
use crate::model::{
    AuditLeftovers, EmailChallenge, InboxItem, IssuedReceipt, OutboxMail, PkiObject, ReceiptKind,
    StoredReceipt,
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
    /// The `notary` is called inside the transaction, once the numbers are known, to log the
    /// registrations and issue their receipts, which are stored in the same transaction.
    fn register(
        &self,
        new: NewCorrespondence,
        notary: Arc<dyn Notary>,
    ) -> StoreResult<(Registered, Option<IssuedReceipt>)>;
    fn correspondence(&self, id: &str) -> StoreResult<Option<Correspondence>>;
    /// The correspondence and its files only (no concerned units, no history): for checks
    /// that need no more, such as receipt verification.
    fn correspondence_with_files(&self, id: &str) -> StoreResult<Option<Correspondence>>;
    fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CorrespondenceSummary>>;
    /// Annuls a correspondence and appends the history line; `false` if it was already annulled.
    /// Logged and notarised like a registration; `None` if it was already annulled.
    fn annul(
        &self,
        id: &str,
        annulment: &Annulment,
        notary: Arc<dyn Notary>,
    ) -> StoreResult<Option<IssuedReceipt>>;

    // --- PKI ---
    fn pki_objects(&self) -> StoreResult<Vec<PkiObject>>;
    /// Inserts an object; `false` (and nothing written) if its slot is taken.
    fn insert_pki_object(&self, object: &PkiObject) -> StoreResult<bool>;
    /// Moves the object in `slot` to `retired:<serial>` and puts `object` in its place.
    fn replace_pki_object(&self, slot: &str, object: &PkiObject) -> StoreResult<()>;

    // --- register log ---
    fn latest_head(&self) -> StoreResult<Option<SignedHead>>;
    fn head(&self, tree_size: u64) -> StoreResult<Option<SignedHead>>;
    /// Leaf hashes `[from, to)` in log order.
    fn leaf_hashes(&self, from: u64, to: u64) -> StoreResult<Vec<diwan_domain::merkle::Hash>>;
    /// Visits every leaf in log order with the entry rebuilt from today's rows (`None` when
    /// the rows it covers are gone), then returns the history lines no leaf covers.
    fn audit_scan(
        &self,
        visit: &mut dyn FnMut(LogLeaf, Option<LogEntry>) -> bool,
    ) -> StoreResult<AuditLeftovers>;

    // --- receipts ---
    fn receipt(
        &self,
        correspondence_id: &str,
        kind: ReceiptKind,
    ) -> StoreResult<Option<StoredReceipt>>;
    fn set_receipt_pdf(
        &self,
        correspondence_id: &str,
        kind: ReceiptKind,
        pdf: &Sha256Digest,
    ) -> StoreResult<()>;
    /// Receipts whose PDF is not made yet, oldest first.
    fn receipts_without_pdf(&self, limit: usize) -> StoreResult<Vec<(String, ReceiptKind)>>;
    /// The correspondence a tracking code belongs to.
    fn correspondence_by_tracking_hash(&self, tracking_hash: &str) -> StoreResult<Option<String>>;

    // --- e-mail outbox ---
    /// Leases up to `limit` pending e-mails due at `now` until `lease_until`.
    fn lease_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMail>>;
    fn mail_sent(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records a failed attempt: retried at `retry_at`, or given up when `None`.
    fn mail_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;

    /// The live (not annulled) correspondences where one of `unit_ids` is the recipient or the
    /// registering unit, newest first.
    fn inbox(&self, unit_ids: &[String], limit: usize) -> StoreResult<Vec<InboxItem>>;

    // --- e-mail confirmation codes (citizen portal) ---
    fn insert_challenge(&self, challenge: &EmailChallenge) -> StoreResult<()>;
    fn challenge(&self, id: &str) -> StoreResult<Option<EmailChallenge>>;
    /// Counts a wrong code. False when the challenge is unknown, used, or had already used up
    /// its `max` attempts.
    fn challenge_failed_attempt(&self, id: &str, max: u32) -> StoreResult<bool>;
    /// Marks the challenge used, once: false when it already was, or its attempts are used up.
    fn consume_challenge(&self, id: &str, at: DateTime<Utc>, max: u32) -> StoreResult<bool>;
    /// When codes were sent to `email` since `since`, newest first.
    fn challenges_since(
        &self,
        email: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>>;
}

/// Logs entries and issues receipts inside the store's transactions.
pub trait Notary: Send + Sync {
    /// `log` is the log's edge before the batch; `batch` the entries in log order.
    fn notarize(&self, log: &Frontier, batch: &[Notarize<'_>]) -> Result<Notarized, StoreError>;
}

/// One entry to log, with what its receipt is about.
#[derive(Debug)]
pub struct Notarize<'a> {
    pub entry: LogEntry,
    pub subject: NotarySubject<'a>,
}

#[derive(Debug)]
pub enum NotarySubject<'a> {
    Registration {
        new: &'a NewCorrespondence,
        registered: &'a Registered,
    },
    Annulment {
        correspondence: &'a Correspondence,
        annulment: &'a Annulment,
    },
}

/// What the notary gives back for a batch.
#[derive(Debug)]
pub struct Notarized {
    pub frontier: Frontier,
    pub head: SignedHead,
    /// One per entry, in order.
    pub leaf_hashes: Vec<diwan_domain::merkle::Hash>,
    /// One per entry, in order.
    pub receipts: Vec<IssuedReceipt>,
    /// E-mails to queue: (correspondence id, receipt kind, recipient).
    pub mails: Vec<(String, ReceiptKind, String)>,
}

/// Content-addressed file storage.
pub trait BlobStore: Send + Sync {
    /// Starts writing a new file to a staging area.
    fn stage(&self) -> std::io::Result<Box<dyn BlobSink>>;
    /// Reads a stored file whole, by digest; `None` if it is missing.
    fn read(&self, digest: &Sha256Digest) -> std::io::Result<Option<Vec<u8>>>;
    /// Stores content made by Diwan itself (a receipt's PDF) durably, at its address.
    fn put(&self, bytes: &[u8]) -> std::io::Result<Sha256Digest>;
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
pub trait StagedBlob: Send + Sync + Debug {
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

//! What the use cases need from the outside world. `diwan-db` implements `Store` and
//! `BlobStore`; the server provides the `Clock`.

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diwan_domain::merkle::Frontier;
use diwan_domain::{Role, Sha256Digest};

use crate::error::AppError;
use crate::log::{LogEntry, LogLeaf, SignedHead};
use crate::model::{
    Administration, Agent, Annulment, Correspondence, CorrespondenceSummary, Grant, ListFilter,
    NewCorrespondence, Registered, Registry, Token, Unit,
};
use crate::model::{
    AssignmentLine, DocumentText, InboxFilter, MoveRecord, SearchResults, TextSource,
};
use crate::model::{
    AuditLeftovers, EmailChallenge, InboxItem, IssuedReceipt, OutboxMail, PkiObject, ReceiptKind,
    StoredDossier, StoredReceipt,
};
use diwan_domain::search::SearchQuery;

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
/// A parapheur document, its steps and its history.
pub type ParapheurRecord = (
    crate::model::ParapheurDocument,
    Vec<crate::model::CircuitStep>,
    Vec<crate::model::ParapheurEvent>,
);

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
    /// What verifying a receipt reads, in one lookup: the correspondence `id` with its files
    /// (as `correspondence_with_files`; `None` without an id) and the log's leaf hash at
    /// `leaf_index` (`None` when the log has no such entry).
    fn receipt_facts(
        &self,
        id: Option<&str>,
        leaf_index: u64,
    ) -> StoreResult<(Option<Correspondence>, Option<diwan_domain::merkle::Hash>)>;
    fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CorrespondenceSummary>>;
    /// Annuls a correspondence and appends the history line; `false` if it was already annulled.
    /// Logged and notarised like a registration; `None` if it was already annulled.
    fn annul(
        &self,
        id: &str,
        annulment: &Annulment,
        notary: Arc<dyn Notary>,
    ) -> StoreResult<Option<IssuedReceipt>>;

    /// Stores a move (status change, history line, assignments, log entry) in one
    /// transaction; `false`, and nothing written, when the status is no longer `m.from`.
    fn apply_move(&self, m: &MoveRecord, notary: Arc<dyn Notary>) -> StoreResult<bool>;
    /// Open assignments by due date (then id), for an inbox.
    fn assignment_inbox(&self, filter: &InboxFilter) -> StoreResult<Vec<AssignmentLine>>;

    /// The delegations given by this agent or to this agent, newest first.
    fn delegations_of(&self, agent_id: &str) -> StoreResult<Vec<crate::model::Delegation>>;
    fn insert_delegation(&self, d: &crate::model::Delegation) -> StoreResult<()>;
    /// Revokes a live delegation given by `agent_id`; `false` when there is none.
    fn revoke_delegation(&self, agent_id: &str, id: &str, at: DateTime<Utc>) -> StoreResult<bool>;

    /// Open lead assignments with a follow-up step due: a reminder when due on or before
    /// `remind_until`, an escalation when due before `overdue_before`; steps already taken are
    /// left out. Soonest due first, at most `limit`.
    fn due_follow_ups(
        &self,
        remind_until: chrono::NaiveDate,
        overdue_before: chrono::NaiveDate,
        limit: usize,
    ) -> StoreResult<Vec<crate::model::DueFollowUp>>;
    /// Records a step of an assignment's follow-up and queues its e-mails (recipient, kind),
    /// once: `false`, and nothing written, when the step was already recorded.
    fn record_follow_up(
        &self,
        due: &crate::model::DueFollowUp,
        at: DateTime<Utc>,
        mails: &[String],
    ) -> StoreResult<bool>;
    /// The active agents holding one of `roles` on the unit.
    fn agents_on(&self, unit_id: &str, roles: &[Role]) -> StoreResult<Vec<Agent>>;

    /// The routing rules of a registry, in the order they are tried.
    fn routing_rules(&self, registry_id: &str) -> StoreResult<Vec<crate::model::RoutingRule>>;
    /// Inserts or replaces a rule (by id).
    fn put_routing_rule(&self, rule: &crate::model::RoutingRule) -> StoreResult<()>;
    /// Deletes a rule of the registry; `false` when there is none.
    fn delete_routing_rule(&self, registry_id: &str, id: &str) -> StoreResult<bool>;

    // --- PKI ---
    fn pki_objects(&self) -> StoreResult<Vec<PkiObject>>;
    /// Inserts an object; `false` (and nothing written) if its slot is taken.
    fn insert_pki_object(&self, object: &PkiObject) -> StoreResult<bool>;
    /// Moves the object in `slot` to `retired:<serial>` and puts `object` in its place.
    fn replace_pki_object(&self, slot: &str, object: &PkiObject) -> StoreResult<()>;
    /// Marks the object in `slot` revoked at `at`; false if there is none or it already was.
    fn revoke_pki_object(&self, slot: &str, at: DateTime<Utc>) -> StoreResult<bool>;

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
    /// The correspondence with this registration number (case as stored).
    fn correspondence_id_by_number(&self, number: &str) -> StoreResult<Option<String>>;

    // --- dossiers ---
    fn dossier(&self, correspondence_id: &str) -> StoreResult<Option<StoredDossier>>;
    /// Records a dossier; `false` (and nothing written) when one is already recorded.
    fn insert_dossier(&self, dossier: &StoredDossier) -> StoreResult<bool>;
    /// Correspondences without a dossier yet, oldest first.
    fn without_dossier(&self, limit: usize) -> StoreResult<Vec<String>>;

    // --- e-mail outbox ---
    /// Leases up to `limit` pending e-mails due at `now` until `lease_until`.
    fn lease_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMail>>;
    fn mail_sent(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()>;

    // --- exchange between administrations ---
    /// Leases up to `limit` deliveries due at `now` (pending, or sent and due again) until
    /// `lease_until`, counting an attempt for each.
    fn lease_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<crate::model::Delivery>>;
    /// Records what an attempt came to, and releases the lease. An acknowledged or refused
    /// delivery is never changed again.
    fn update_delivery(&self, id: &str, update: &crate::model::DeliveryUpdate) -> StoreResult<()>;
    /// An outgoing letter's deliveries.
    fn deliveries_of(&self, correspondence_id: &str) -> StoreResult<Vec<crate::model::Delivery>>;
    /// The correspondence registered from the envelope `message_id` sent by `peer`.
    fn received_exchange(&self, peer: &str, message_id: &str) -> StoreResult<Option<String>>;

    // --- the parapheur's circuits ---
    fn insert_parapheur(
        &self,
        document: &crate::model::ParapheurDocument,
        steps: &[crate::model::CircuitStep],
        event: &crate::model::ParapheurEvent,
        notary: Arc<dyn Notary>,
    ) -> StoreResult<()>;
    /// A document with its steps (by stage and position) and history (oldest first).
    fn parapheur(&self, id: &str) -> StoreResult<Option<ParapheurRecord>>;
    /// Stores an action if the document is still at the version it read; false otherwise.
    /// Submissions and actions are logged by `notary` in their transaction.
    fn update_parapheur(
        &self,
        update: &crate::model::ParapheurUpdate,
        notary: Arc<dyn Notary>,
    ) -> StoreResult<bool>;
    /// Pending steps for `agent_id`, or for one of the (unit id, role) pairs, oldest first.
    fn parapheur_queue(
        &self,
        agent_id: &str,
        roles: &[(String, String)],
        limit: usize,
    ) -> StoreResult<Vec<(crate::model::ParapheurDocument, crate::model::CircuitStep)>>;
    /// Documents submitted by `agent_id`, newest first.
    fn parapheur_submitted(
        &self,
        agent_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<crate::model::ParapheurDocument>>;
    /// Records the outgoing correspondence registered for a document (once).
    fn link_parapheur_registration(&self, id: &str, correspondence_id: &str) -> StoreResult<bool>;
    /// Documents ended (completed or rejected) with a reserved number not registered yet.
    fn parapheur_unregistered(
        &self,
        limit: usize,
    ) -> StoreResult<Vec<crate::model::ParapheurDocument>>;
    /// Creates or replaces the template of (administration, document type).
    fn put_circuit_template(&self, template: &crate::model::CircuitTemplate) -> StoreResult<()>;
    fn circuit_templates(&self) -> StoreResult<Vec<crate::model::CircuitTemplate>>;

    // --- remote signing ---
    fn insert_signing_session(&self, session: &crate::model::SigningSession) -> StoreResult<()>;
    fn signing_session(&self, id: &str) -> StoreResult<Option<crate::model::SigningSession>>;
    fn delete_signing_session(&self, id: &str) -> StoreResult<bool>;
    /// Removes the sessions expired at `now`; answers their prepared files' digests.
    fn expire_signing_sessions(&self, now: DateTime<Utc>) -> StoreResult<Vec<String>>;

    // --- the text of registered files (search) ---
    /// Leases up to `limit` files whose text is not read yet, until `lease_until`, counting an
    /// attempt for each.
    fn lease_text_jobs(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<crate::document_text::TextJob>>;
    /// Records what became of these files' text, and releases their leases (one transaction).
    fn text_jobs_done(
        &self,
        outcomes: &[(String, crate::document_text::TextStatus)],
    ) -> StoreResult<()>;
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

    // --- full-text search ---
    /// A page of the register `filter` names: the correspondences `query` finds (every term, in
    /// subject, parties, sender's reference, registration number or document text) among those
    /// `filter` lets the caller see, newest first, keyset-paginated like [`Store::list`]; with
    /// how many match, counted with the same visibility up to a cap.
    fn search(&self, filter: &ListFilter, query: &SearchQuery) -> StoreResult<SearchResults>;
    /// Stores the text extracted from one file of a correspondence (kept up to 1 MiB, cut on a
    /// character boundary; NUL characters dropped) and refreshes the correspondence's index
    /// entry, in one transaction. Idempotent: a second call for the same file and source
    /// replaces the first. `not_found` if there is no such correspondence.
    fn put_document_text(
        &self,
        correspondence_id: &str,
        file_sha256: &str,
        source: TextSource,
        text: &str,
    ) -> Result<(), AppError>;
    /// The document texts of a correspondence, by file and source.
    fn document_texts(&self, correspondence_id: &str) -> Result<Vec<DocumentText>, AppError>;
    /// The first `max_chars` characters of every document text of these correspondences, as
    /// (correspondence id, text): what snippets are cut from.
    fn document_text_starts(
        &self,
        correspondence_ids: &[String],
        max_chars: usize,
    ) -> StoreResult<Vec<(String, String)>>;
    /// Indexes up to `limit` correspondences that have no index entry (registered before the
    /// index existed), taking ids in order after `after`; returns how many it indexed and the
    /// last id it looked at, to continue after (`None`: nothing is left).
    fn index_missing(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<(usize, Option<String>)>;

    // --- operator metrics (read when `GET /metrics` is scraped) ---
    /// The e-mail outbox's backlog: how many e-mails wait to be sent, and since when the
    /// oldest does.
    fn outbox_backlog(&self) -> StoreResult<crate::metrics::OutboxBacklog>;
    /// The connection pool's size and use.
    fn pool_state(&self) -> crate::metrics::PoolState;
    /// How the registration writer stored its batches.
    fn writer_state(&self) -> crate::metrics::WriterState;

    // --- indicators ---
    /// Per unit of `unit_ids` (units without any row are absent), what its indicators' rows
    /// give for the period `[from, to)`.
    fn indicator_counts(
        &self,
        unit_ids: &[String],
        from: &DateTime<Utc>,
        to: &DateTime<Utc>,
    ) -> StoreResult<std::collections::HashMap<String, crate::model::FactCounts>>;
    /// The incoming letters of `unit_ids` first answered in `[from, to)`.
    fn answered_between(
        &self,
        unit_ids: &[String],
        from: &DateTime<Utc>,
        to: &DateTime<Utc>,
    ) -> StoreResult<Vec<crate::model::AnsweredFact>>;
    /// Incoming letters of `unit_ids` registered in `[from, to)`, counted by
    /// (unit, channel, category).
    fn received_between(
        &self,
        unit_ids: &[String],
        from: &DateTime<Utc>,
        to: &DateTime<Utc>,
    ) -> StoreResult<Vec<crate::model::ReceivedCount>>;
    /// When the first incoming letter still counted was registered.
    fn first_received(&self) -> StoreResult<Option<DateTime<Utc>>>;

    // --- open data ---
    /// The months (`YYYY-MM`) already published, in order.
    fn open_data_months(&self) -> StoreResult<Vec<String>>;
    /// Publishes a month's cells, all or nothing; false (nothing written) when the month was
    /// already published, by this node or another.
    fn publish_open_data(
        &self,
        month: &str,
        at: &DateTime<Utc>,
        cells: &[crate::model::OpenDataCell],
    ) -> StoreResult<bool>;
    /// The published cells of the months `first..=last` (`YYYY-MM`).
    fn open_data_cells(
        &self,
        first: &str,
        last: &str,
    ) -> StoreResult<Vec<crate::model::OpenDataCell>>;
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
    /// A workflow move: logged, no receipt.
    Movement,
    /// A parapheur action: logged, no receipt.
    Parapheur,
}

impl NotarySubject<'_> {
    /// Whether the entry gets a signed receipt.
    pub fn issues_receipt(&self) -> bool {
        !matches!(self, Self::Movement | Self::Parapheur)
    }
}

/// What the notary gives back for a batch.
#[derive(Debug)]
pub struct Notarized {
    pub frontier: Frontier,
    pub head: SignedHead,
    /// One per entry, in order.
    pub leaf_hashes: Vec<diwan_domain::merkle::Hash>,
    /// One per entry that issues a receipt, in order.
    pub receipts: Vec<IssuedReceipt>,
    /// E-mails to queue: (correspondence id, receipt kind, recipient).
    pub mails: Vec<(String, crate::model::MailKind, String)>,
}

/// Random access to a file's content.
pub trait ReadSeek: std::io::Read + std::io::Seek + Send {}

impl<T: std::io::Read + std::io::Seek + Send> ReadSeek for T {}

/// Content-addressed file storage.
pub trait BlobStore: Send + Sync {
    /// Starts writing a new file to a staging area.
    fn stage(&self) -> std::io::Result<Box<dyn BlobSink>>;
    /// Reads a stored file whole, by digest; `None` if it is missing.
    fn read(&self, digest: &Sha256Digest) -> std::io::Result<Option<Vec<u8>>>;
    /// Stores content made by Diwan itself (a signed document) durably, at its address.
    fn put(&self, bytes: &[u8]) -> std::io::Result<Sha256Digest>;
    /// Stores content Diwan can make again from what is durable (a receipt's PDF, drawn from
    /// the stored signed receipt) at its address, without waiting for the disk: after a crash
    /// it may be missing or damaged, which [`Self::read`] reports (`None` or an error), and
    /// the caller makes it again.
    fn put_remakeable(&self, bytes: &[u8]) -> std::io::Result<Sha256Digest>;
    /// Opens a stored file for reading, after checking its content against its digest (read
    /// in chunks, never held whole unless small); `None` if it is missing.
    fn open(&self, digest: &Sha256Digest) -> std::io::Result<Option<Box<dyn ReadSeek>>>;
    /// A scratch file for a large document Diwan makes (a dossier); removed if dropped before
    /// [`ScratchFile::keep`].
    fn scratch(&self) -> std::io::Result<Box<dyn ScratchFile>>;
    /// Removes a document Diwan made that nothing refers to (one made twice at once).
    fn forget_made(&self, digest: &Sha256Digest) -> std::io::Result<()>;
}

/// A document being made: written, read back and patched in place, then kept.
pub trait ScratchFile: std::io::Read + std::io::Write + std::io::Seek + Send {
    /// Syncs the file and moves it to its content address (durably); returns its digest and
    /// size.
    fn keep(self: Box<Self>) -> std::io::Result<(Sha256Digest, u64)>;
    /// As [`Self::keep`], with the digest the caller computed over exactly the file's `len`
    /// bytes while making it: the file is not read again (its length is checked).
    fn keep_as(self: Box<Self>, digest: &Sha256Digest, len: u64) -> std::io::Result<()>;
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
    /// The media type recognised from the content's own signature, if any (never the
    /// client's declaration).
    fn detected_type(&self) -> Option<&str>;
    /// The content, when it is small enough to be held in memory. The store then writes it
    /// itself, inside the registration's transaction, instead of moving a file.
    fn bytes(&self) -> Option<&[u8]>;
    /// Reads the content from the start (from memory or from the staged file).
    fn reader(&self) -> std::io::Result<Box<dyn ReadSeek + '_>>;
    /// For content staged as a file: moves it to its content address and syncs the directory.
    /// After this, dropping the value removes nothing. Does nothing for in-memory content.
    fn promote(&mut self) -> std::io::Result<()>;
}

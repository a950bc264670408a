//! Every query, written once and implemented for both connection types by `impl_queries!`.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diwan_app::StoreError;
use diwan_app::document_text::{TextJob, TextStatus};
use diwan_app::log::{LogKind, LogLeaf, SignedHead, hex, unhex};
use diwan_app::model::{
    Administration, Agent, Annulment, AuditLeftovers, Correspondence, CorrespondenceSummary,
    EmailChallenge, Grant, IssuedReceipt, ListFilter, NewCorrespondence, OutboxMail, PkiObject,
    ReceiptKind, Registered, Registry, StoredReceipt, Token, Unit,
};
use diwan_app::model::{AssignmentLine, Ending, InboxFilter, MoveRecord};
use diwan_app::model::{DocumentText, SearchHit, SearchResults, TextSource};
use diwan_app::ports::{Notarize, Notarized, Notary, NotarySubject};
use diwan_domain::Role;
use diwan_domain::search::SearchQuery;

use crate::claim::{Claim, Take};
use crate::conn::store_error;
use crate::pack::PackWriter;
use crate::rows::*;
use crate::schema::*;
use crate::search::SearchSql;
use crate::store::RegistrationRows;
use crate::time::{from_text, to_text};
use crate::together::{Part, Together};

/// An error inside a write transaction: the database's, or the file store's while promoting.
#[derive(Debug)]
pub enum TxError {
    Db(diesel::result::Error),
    Io(std::io::Error),
    Store(StoreError),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl From<TxError> for StoreError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Db(e) => store_error(e),
            TxError::Io(e) => StoreError::Unavailable(format!("file store: {e}")),
            TxError::Store(e) => e,
        }
    }
}

type R<T> = Result<T, StoreError>;

/// A job of a batch stored: its place in the batch, its number, its rows.
type Done = (usize, Registered, RegistrationRows);

/// How a batch of registrations was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchPath {
    /// A batch of one.
    Alone,
    /// Several, with one statement per table.
    Together,
    /// Several, one after the other.
    OneByOne,
}

/// A registration stored, with the receipt issued in its transaction.
pub type Stored = (Registered, Option<IssuedReceipt>);

/// A correspondence from the rows of its join with its registry's code and its files (in
/// order), with what else the first row carries; `None` without rows (a registered
/// correspondence always has at least one file).
fn with_files<T>(
    mut rows: impl Iterator<Item = (CorrespondenceRow, String, FileRow, T)>,
) -> R<Option<(Correspondence, T)>> {
    let Some((row, registry_code, first, extra)) = rows.next() else {
        return Ok(None);
    };
    let mut files = vec![first];
    files.extend(rows.map(|(_, _, f, _)| f));
    let c = crate::store::assemble(row, &registry_code, files, Vec::new(), Vec::new())?;
    Ok(Some((c, extra)))
}

fn db<T>(r: QueryResult<T>) -> R<T> {
    r.map_err(store_error)
}

fn new_id() -> R<String> {
    diwan_app::ids::new_id().map_err(|e| StoreError::Other(e.to_string()))
}

pub trait Queries: Together {
    fn upsert_administration(&mut self, a: &Administration) -> R<Administration>;
    fn upsert_unit(&mut self, u: &Unit) -> R<Unit>;
    fn upsert_registry(&mut self, r: &Registry) -> R<Registry>;
    fn administrations(&mut self) -> R<Vec<Administration>>;
    fn units(&mut self) -> R<Vec<Unit>>;
    fn registries(&mut self) -> R<Vec<Registry>>;
    fn registry_by_code(&mut self, code: &str) -> R<Option<Registry>>;
    fn insert_agent(&mut self, a: &Agent) -> R<()>;
    fn agent(&mut self, id: &str) -> R<Option<Agent>>;
    fn agent_by_email(&mut self, email: &str) -> R<Option<Agent>>;
    fn agents(&mut self) -> R<Vec<Agent>>;
    fn grant(&mut self, agent_id: &str, unit_id: Option<&str>, role: Role) -> R<()>;
    fn revoke_grant(&mut self, agent_id: &str, unit_id: Option<&str>, role: Role) -> R<bool>;
    fn grants(&mut self, agent_id: &str) -> R<Vec<Grant>>;
    fn insert_token(&mut self, t: &Token) -> R<()>;
    fn token_by_hash(&mut self, hash: &str) -> R<Option<Token>>;
    fn tokens_of(&mut self, agent_id: &str) -> R<Vec<Token>>;
    fn revoke_token(&mut self, agent_id: &str, token_id: &str, at: &str) -> R<bool>;
    fn correspondence(&mut self, id: &str) -> R<Option<Correspondence>>;
    fn correspondence_with_files(&mut self, id: &str) -> R<Option<Correspondence>>;
    /// The correspondence with its files and the log's leaf hash at `leaf_index`, in one
    /// statement when the correspondence exists.
    fn receipt_facts(
        &mut self,
        id: Option<&str>,
        leaf_index: u64,
    ) -> R<(Option<Correspondence>, Option<[u8; 32]>)>;
    fn list(&mut self, f: &ListFilter) -> R<Vec<CorrespondenceSummary>>;
    fn annul(&mut self, id: &str, a: &Annulment, notary: &dyn Notary) -> R<Option<IssuedReceipt>>;
    fn apply_move(&mut self, m: &MoveRecord, notary: &dyn Notary) -> R<bool>;
    fn assignment_inbox(&mut self, f: &InboxFilter) -> R<Vec<AssignmentLine>>;
    fn file_referenced(&mut self, sha256: &str) -> R<bool>;
    fn packed_blobs(&mut self) -> R<Vec<(String, String, i64, i64)>>;
    fn blob_location(&mut self, sha256: &str) -> R<Option<(String, i64, i64)>>;
    /// Stores a batch of registrations in one transaction (retried without any job that fails).
    /// Returns one result per job (in the jobs' order), or the error of the whole transaction.
    fn register_batch(
        &mut self,
        jobs: &mut [NewCorrespondence],
        pack: &mut PackWriter,
        notary: &dyn Notary,
    ) -> Result<(Vec<R<Stored>>, BatchPath), StoreError>;
    /// Stores the jobs `active` and their log entries with one statement per table and one
    /// counter update per register (on PostgreSQL: one statement to claim the numbers and the
    /// log, one to write everything): the fast path. Any failure fails the whole call (the caller then falls back to
    /// job by job).
    fn insert_many(
        &mut self,
        jobs: &mut [NewCorrespondence],
        active: &[usize],
        pack: &mut PackWriter,
        notary: &dyn Notary,
    ) -> Result<(Vec<Done>, Notarized), TxError>;
    /// Allocates the next number of the job's register, stores its rows, packs its small files.
    fn insert_one(
        &mut self,
        job: &mut NewCorrespondence,
        pack: &mut PackWriter,
    ) -> Result<(Registered, RegistrationRows), TxError>;
    /// Inside a move's transaction: the indicators' row of the correspondence.
    fn update_facts(
        &mut self,
        m: &MoveRecord,
        row: &CorrespondenceRow,
        made: &[AssignmentRow],
    ) -> Result<(), TxError>;
    /// Inside a write transaction: adds the changes to the indicators' day totals.
    fn add_indicator_days(
        &mut self,
        deltas: &std::collections::BTreeMap<crate::indicator_days::DayKey, i32>,
    ) -> Result<(), TxError>;
    /// Inside a write transaction: appends the entries to the log (taking the log's row lock,
    /// which orders the batches of every process), and stores what the notary issues.
    fn notarize(
        &mut self,
        notary: &dyn Notary,
        batch: &[Notarize<'_>],
    ) -> Result<Notarized, TxError>;
    /// Inside a write transaction: queues e-mails (correspondence, kind, recipient) due at `at`.
    fn queue_mails(
        &mut self,
        at: &str,
        mails: &[(String, diwan_app::model::MailKind, String)],
    ) -> Result<(), TxError>;
    fn due_follow_ups(
        &mut self,
        remind_until: &str,
        overdue_before: &str,
        limit: usize,
    ) -> R<Vec<diwan_app::model::DueFollowUp>>;
    fn record_follow_up(
        &mut self,
        due: &diwan_app::model::DueFollowUp,
        at: &str,
        mails: &[String],
    ) -> R<bool>;
    fn agents_on(&mut self, unit_id: &str, roles: &[&str]) -> R<Vec<AgentRow>>;
    fn delegations_of(&mut self, agent_id: &str) -> R<Vec<DelegationRow>>;
    fn insert_delegation(&mut self, row: &DelegationRow) -> R<()>;
    fn revoke_delegation(&mut self, agent_id: &str, id: &str, at: &str) -> R<bool>;
    fn routing_rules(&mut self, registry_id: &str) -> R<Vec<RuleRow>>;
    fn put_routing_rule(&mut self, row: &RuleRow) -> R<()>;
    fn delete_routing_rule(&mut self, registry_id: &str, id: &str) -> R<bool>;
    fn pki_objects(&mut self) -> R<Vec<PkiObject>>;
    fn insert_pki_object(&mut self, o: &PkiObject) -> R<bool>;
    fn replace_pki_object(&mut self, slot: &str, o: &PkiObject) -> R<()>;
    fn revoke_pki_object(&mut self, slot: &str, at: &str) -> R<bool>;
    fn latest_head(&mut self) -> R<Option<SignedHead>>;
    fn head(&mut self, tree_size: u64) -> R<Option<SignedHead>>;
    fn leaf_hashes(&mut self, from: u64, to: u64) -> R<Vec<[u8; 32]>>;
    fn audit_scan(
        &mut self,
        visit: &mut dyn FnMut(LogLeaf, Option<diwan_app::log::LogEntry>) -> bool,
    ) -> R<AuditLeftovers>;
    fn receipt(&mut self, correspondence_id: &str, kind: ReceiptKind) -> R<Option<StoredReceipt>>;
    /// Records receipts' PDF addresses (correspondence, kind, digest) in one write transaction.
    fn set_receipt_pdf(&mut self, correspondence_id: &str, kind: ReceiptKind, pdf: &str) -> R<()>;
    fn receipts_without_pdf(&mut self, limit: usize) -> R<Vec<(String, ReceiptKind)>>;
    fn correspondence_by_tracking_hash(&mut self, hash: &str) -> R<Option<String>>;
    fn correspondence_id_by_number(&mut self, number: &str) -> R<Option<String>>;
    fn lease_mail(&mut self, now: &str, lease_until: &str, limit: usize) -> R<Vec<OutboxMail>>;
    fn mail_sent(&mut self, id: &str, at: &str) -> R<()>;
    fn mail_failed(&mut self, id: &str, error: &str, retry_at: Option<&str>) -> R<()>;
    fn inbox(
        &mut self,
        unit_ids: &[String],
        limit: usize,
    ) -> R<Vec<(CorrespondenceRow, String, String)>>;
    fn insert_challenge(&mut self, c: &EmailChallenge) -> R<()>;
    fn challenge(&mut self, id: &str) -> R<Option<EmailChallenge>>;
    fn challenge_failed_attempt(&mut self, id: &str, max: i32) -> R<bool>;
    fn consume_challenge(&mut self, id: &str, at: &str, max: i32) -> R<bool>;
    fn challenges_since(&mut self, email: &str, since: &str) -> R<Vec<String>>;
    fn search(&mut self, f: &ListFilter, q: &SearchQuery) -> R<SearchResults>;
    /// Upserts a document text and refreshes the index entry; `false` if there is no such
    /// correspondence.
    fn put_document_text(
        &mut self,
        id: &str,
        sha256: &str,
        source: TextSource,
        text: &str,
        at: &str,
    ) -> R<bool>;
    fn document_texts(&mut self, id: &str) -> R<Vec<DocumentText>>;
    fn document_text_starts(
        &mut self,
        ids: &[String],
        max_chars: usize,
    ) -> R<Vec<(String, String)>>;
    /// Rebuilds the index entries of these correspondences from their rows and texts.
    fn refresh_entries(&mut self, ids: &[String]) -> Result<(), TxError>;
    fn index_missing(&mut self, after: Option<&str>, limit: usize) -> R<(usize, Option<String>)>;
    fn lease_text_jobs(&mut self, now: &str, lease_until: &str, limit: usize) -> R<Vec<TextJob>>;
    fn text_jobs_done(&mut self, outcomes: &[(String, TextStatus)]) -> R<()>;
    fn lease_deliveries(
        &mut self,
        now: &str,
        lease_until: &str,
        limit: usize,
    ) -> R<Vec<ExchangeRow>>;
    fn update_delivery(&mut self, id: &str, u: &diwan_app::model::DeliveryUpdate) -> R<()>;
    fn deliveries_of(&mut self, correspondence_id: &str) -> R<Vec<ExchangeRow>>;
    fn insert_signing_session(&mut self, row: &SigningSessionRow) -> R<()>;
    fn insert_parapheur(
        &mut self,
        doc: &ParapheurRow,
        steps: &[StepRow],
        event: &ParapheurEventRow,
        notary: &dyn Notary,
    ) -> R<()>;
    fn parapheur(&mut self, id: &str) -> R<Option<ParapheurRows>>;
    fn update_parapheur(&mut self, change: &ParapheurChange, notary: &dyn Notary) -> R<bool>;
    fn parapheur_queue(
        &mut self,
        agent_id: &str,
        roles: &[(String, String)],
        limit: usize,
    ) -> R<Vec<(ParapheurRow, StepRow)>>;
    fn parapheur_submitted(&mut self, agent_id: &str, limit: usize) -> R<Vec<ParapheurRow>>;
    fn link_parapheur_registration(&mut self, id: &str, correspondence_id: &str) -> R<bool>;
    fn parapheur_unregistered(&mut self, limit: usize) -> R<Vec<ParapheurRow>>;
    fn put_circuit_template(&mut self, row: &TemplateRow) -> R<()>;
    fn circuit_templates(&mut self) -> R<Vec<TemplateRow>>;
    fn signing_session(&mut self, id: &str) -> R<Option<SigningSessionRow>>;
    fn delete_signing_session(&mut self, id: &str) -> R<bool>;
    fn expire_signing_sessions(&mut self, now: &str) -> R<Vec<String>>;
    fn received_exchange(&mut self, peer: &str, message_id: &str) -> R<Option<String>>;
    fn dossier(&mut self, correspondence_id: &str) -> R<Option<DossierRow>>;
    fn insert_dossier(&mut self, row: &DossierRow) -> R<bool>;
    fn without_dossier(&mut self, limit: usize) -> R<Vec<String>>;
    /// E-mails waiting in the outbox, and the oldest one's `created_at`.
    fn outbox_backlog(&mut self) -> R<(i64, Option<String>)>;
    fn indicator_tallies(&mut self, unit_ids: &[String], plan: &TallyPlan) -> R<FactTallies>;
    fn answered_between(
        &mut self,
        unit_ids: &[String],
        from: &str,
        to: &str,
    ) -> R<Vec<AnsweredRow>>;
    fn received_between(
        &mut self,
        unit_ids: &[String],
        from: &str,
        to: &str,
    ) -> R<Vec<ReceivedRow>>;
    fn first_received(&mut self) -> R<Option<String>>;
    fn open_data_months(&mut self) -> R<Vec<String>>;
    fn publish_open_data(&mut self, month: &str, at: &str, cells: &[OpenDataCellRow]) -> R<bool>;
    fn open_data_cells(&mut self, first: &str, last: &str) -> R<Vec<OpenDataCellRow>>;
}

/// How a period `[from, to)` is counted: its whole UTC days from the day totals, the rest
/// (at most a day at each edge) from the facts rows.
#[derive(Debug, Clone)]
pub struct TallyPlan {
    pub from: String,
    pub to: String,
    /// `[first, end)` whole days (`YYYY-MM-DD`), when there is one.
    pub days: Option<(String, String)>,
    /// The instants of the period outside those days.
    pub edges: Vec<(String, String)>,
    /// Counts before `to`: the days before `end_day`, then `[end_day's start, to)`.
    pub end_day: String,
    pub end_edge: (String, String),
}

/// What the indicators' queries count, per unit (see `Store::indicator_counts`).
#[derive(Debug, Default)]
pub struct FactTallies {
    /// (unit, channel, category, count) of incoming mail registered in the period.
    pub received: Vec<ReceivedRow>,
    /// (unit, count) of outgoing mail registered in the period.
    pub sent: Vec<(String, i64)>,
    /// (unit, measure, count) before the period's end of: `opened`, `closed`, `due`,
    /// `resolved` (a unit may appear several times for one measure: add them).
    pub before_end: Vec<(String, String, i64)>,
    /// Incoming mail first answered in the period: (unit, processing time as kept, answered
    /// before the deadline (1, 0, none: unknown), count).
    pub answered: Vec<(String, i64, Option<i32>, i64)>,
}

/// (unit, channel, category, count).
pub type ReceivedRow = (String, String, Option<String>, i64);

/// (unit, channel, category, registered at, answered at, legal due at).
pub type AnsweredRow = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
);

diesel::define_sql_function! {
    /// The sum of day totals (an `INTEGER` column: a `BIGINT` on both backends).
    #[aggregate]
    #[sql_name = "SUM"]
    fn total(x: diesel::sql_types::Integer) -> diesel::sql_types::BigInt;
}

diesel::define_sql_function! {
    /// The first characters of a text (1-based start, length in characters) on both backends.
    fn substr(text: diesel::sql_types::Text, start: diesel::sql_types::Integer, length: diesel::sql_types::Integer) -> diesel::sql_types::Text;
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("unreadable {what} in the database"))
}

fn index(i: i64) -> R<u64> {
    u64::try_from(i).map_err(|_| corrupt("log index"))
}

fn head_row(row: (i64, String, String, String)) -> R<SignedHead> {
    Ok(SignedHead {
        tree_size: index(row.0)?,
        root_hash: unhex(&row.1).ok_or_else(|| corrupt("tree head"))?,
        issued_at: from_text(&row.2).map_err(|_| corrupt("tree head time"))?,
        jws: row.3,
    })
}

type OutboxRow = (
    String,
    String,
    String,
    String,
    String,
    i32,
    Option<String>,
    Option<String>,
);

fn outbox_row(r: OutboxRow) -> R<OutboxMail> {
    Ok(OutboxMail {
        kind: diwan_app::model::MailKind::parse(&r.2).ok_or_else(|| corrupt("outbox kind"))?,
        id: r.0,
        correspondence_id: r.1,
        recipient: r.3,
        status: r.4,
        attempts: u32::try_from(r.5).unwrap_or(0),
        sent_at: r
            .6
            .as_deref()
            .map(from_text)
            .transpose()
            .map_err(|_| corrupt("outbox time"))?,
        last_error: r.7,
    })
}

fn pki_row(r: PkiRow) -> R<PkiObject> {
    Ok(PkiObject {
        created_at: from_text(&r.created_at).map_err(|_| corrupt("certificate time"))?,
        revoked_at: r
            .revoked_at
            .as_deref()
            .map(from_text)
            .transpose()
            .map_err(|_| corrupt("revocation time"))?,
        slot: r.slot,
        role: r.role,
        registry_id: r.registry_id,
        serial: r.serial,
        certificate: r.certificate,
        chain: r.chain,
        sealed_key: r.sealed_key,
    })
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = pki_objects)]
pub struct PkiRow {
    pub slot: String,
    pub role: String,
    pub registry_id: Option<String>,
    pub serial: String,
    pub certificate: String,
    pub chain: String,
    pub sealed_key: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl PkiRow {
    fn from_model(o: &PkiObject) -> Self {
        Self {
            slot: o.slot.clone(),
            role: o.role.clone(),
            registry_id: o.registry_id.clone(),
            serial: o.serial.clone(),
            certificate: o.certificate.clone(),
            chain: o.chain.clone(),
            sealed_key: o.sealed_key.clone(),
            created_at: to_text(&o.created_at),
            revoked_at: o.revoked_at.as_ref().map(to_text),
        }
    }
}

/// The log entry of each registration just stored.
fn registration_batch<'a>(jobs: &'a [NewCorrespondence], done: &'a [Done]) -> Vec<Notarize<'a>> {
    done.iter()
        .map(|(i, registered, rows)| Notarize {
            entry: crate::ledger::registration_entry(
                &rows.correspondence,
                &rows.files.iter().collect::<Vec<_>>(),
                &rows.concerns.iter().collect::<Vec<_>>(),
                &rows.event,
            ),
            subject: NotarySubject::Registration {
                new: &jobs[*i],
                registered,
            },
        })
        .collect()
}

/// Inside a write transaction that holds the log's lock: the notary's leaves, tree head and
/// receipts for the batch, appended to the log of `size` entries whose right edge is
/// `frontier` (its text form).
fn sign_batch(
    notary: &dyn Notary,
    size: i64,
    frontier: &str,
    batch: &[Notarize<'_>],
) -> Result<Notarized, TxError> {
    let size = index(size).map_err(TxError::Store)?;
    let frontier = diwan_app::log::frontier_from_text(size, frontier)
        .ok_or_else(|| TxError::Store(corrupt("log state")))?;
    let out = notary.notarize(&frontier, batch).map_err(TxError::Store)?;
    let with_receipts = batch.iter().filter(|b| b.subject.issues_receipt()).count();
    if out.leaf_hashes.len() != batch.len() || out.receipts.len() != with_receipts {
        return Err(TxError::Store(StoreError::Other(
            "the notary answered for another batch".into(),
        )));
    }
    Ok(out)
}

/// In `impl_queries!`: the statements that store what the notary issued for a batch
/// (`$out` for `$items`, appended to a log of `$size` entries): its leaves, tree head, receipts and
/// e-mails, and the log's new size and right edge.
macro_rules! log_statements {
    ($batch:ident, $conn:expr, $parts:expr, $size:expr, $items:expr, $out:expr) => {{
        let items: &[Notarize<'_>] = $items;
        let out: &Notarized = $out;
        let size: i64 = $size;
        let to_i64 = |n: u64| {
            i64::try_from(n).map_err(|_| TxError::Store(StoreError::Other("log too large".into())))
        };
        let first = u64::try_from(size).map_err(|_| TxError::Store(corrupt("log state")))?;
        let mut leaves = Vec::with_capacity(out.leaf_hashes.len());
        for (k, (item, hash)) in items.iter().zip(&out.leaf_hashes).enumerate() {
            let e = &item.entry;
            let (about_letter, about_document) = if e.kind.about_correspondence() {
                (Some((e.subject_id.clone(), e.event_id.clone())), None)
            } else {
                (None, Some((e.subject_id.clone(), e.event_id.clone())))
            };
            leaves.push((
                log_leaves::idx.eq(to_i64(first + k as u64)?),
                log_leaves::kind.eq(e.kind.as_str()),
                log_leaves::correspondence_id.eq(about_letter.as_ref().map(|s| s.0.clone())),
                log_leaves::event_id.eq(about_letter.map(|s| s.1)),
                log_leaves::document_id.eq(about_document.as_ref().map(|s| s.0.clone())),
                log_leaves::parapheur_event_id.eq(about_document.map(|s| s.1)),
                log_leaves::leaf_hash.eq(hex(hash)),
            ));
        }
        let mut receipts = Vec::with_capacity(out.receipts.len());
        for r in &out.receipts {
            receipts.push((
                receipts::correspondence_id.eq(r.correspondence_id.clone()),
                receipts::kind.eq(r.kind.as_str()),
                receipts::leaf_index.eq(to_i64(r.leaf_index)?),
                receipts::issued_at.eq(to_text(&r.issued_at)),
                receipts::jws.eq(r.jws.clone()),
            ));
        }
        let mails = mail_rows!(&to_text(&out.head.issued_at), &out.mails);
        for chunk in leaves.chunks(128) {
            batch_statement!(
                $batch,
                $conn,
                $parts,
                diesel::insert_into(log_leaves::table).values(chunk.to_vec())
            );
        }
        batch_statement!(
            $batch,
            $conn,
            $parts,
            diesel::insert_into(log_heads::table).values((
                log_heads::tree_size.eq(to_i64(out.head.tree_size)?),
                log_heads::root_hash.eq(hex(&out.head.root_hash)),
                log_heads::issued_at.eq(to_text(&out.head.issued_at)),
                log_heads::jws.eq(out.head.jws.clone()),
            ))
        );
        for chunk in receipts.chunks(64) {
            batch_statement!(
                $batch,
                $conn,
                $parts,
                diesel::insert_into(receipts::table).values(chunk.to_vec())
            );
        }
        for chunk in mails.chunks(64) {
            batch_statement!(
                $batch,
                $conn,
                $parts,
                diesel::insert_into(mail_outbox::table).values(chunk.to_vec())
            );
        }
        batch_statement!(
            $batch,
            $conn,
            $parts,
            diesel::update(log_state::table.find(1)).set((
                log_state::size.eq(to_i64(out.frontier.size)?),
                log_state::frontier.eq(diwan_app::log::frontier_to_text(&out.frontier)),
            ))
        );
    }};
}

/// In `impl_queries!`: a statement of a batch, run now (`each`: SQLite, where diesel runs
/// some inserts row by row, so they are not one fragment) or pushed to run with the others
/// (`together`: PostgreSQL, see `together`).
macro_rules! batch_statement {
    (each, $conn:expr, $parts:expr, $q:expr) => {{
        // The list stays empty (it is still run, for the statements added to it directly).
        let _: &mut Vec<_> = &mut $parts;
        $q.execute($conn)?
    }};
    (together, $conn:expr, $parts:expr, $q:expr) => {
        $parts.push(Box::new($q))
    };
}

/// The outbox rows of e-mails (correspondence, kind, recipient) due at `at`; inside a function
/// returning `Result<_, TxError>`.
macro_rules! mail_rows {
    ($at:expr, $mails:expr) => {{
        let at: &str = $at;
        let mut rows = Vec::with_capacity($mails.len());
        for (correspondence_id, kind, recipient) in $mails {
            rows.push((
                mail_outbox::id.eq(new_id().map_err(TxError::Store)?),
                mail_outbox::correspondence_id.eq(correspondence_id.clone()),
                mail_outbox::receipt_kind.eq(kind.as_str()),
                mail_outbox::recipient.eq(recipient.clone()),
                mail_outbox::created_at.eq(at.to_owned()),
                mail_outbox::status.eq("pending"),
                mail_outbox::attempts.eq(0),
                mail_outbox::next_attempt_at.eq(at.to_owned()),
            ));
        }
        rows
    }};
}

/// The rows of changes to the indicators' day totals, in the key's order.
macro_rules! day_rows {
    ($deltas:expr) => {
        $deltas
            .iter()
            .map(|((unit, measure, day, channel, category), n)| {
                (
                    indicator_days::unit_id.eq(unit),
                    indicator_days::measure.eq(*measure),
                    indicator_days::day.eq(day),
                    indicator_days::channel.eq(channel),
                    indicator_days::category.eq(category),
                    indicator_days::n.eq(*n),
                )
            })
            .collect::<Vec<_>>()
    };
}

/// The statement adding changes (`day_rows!`) to the indicators' day totals. Every
/// transaction takes the rows' locks in the key's order, so two writers never wait on each
/// other in a cycle.
macro_rules! add_to_days {
    ($chunk:expr) => {
        diesel::insert_into(indicator_days::table)
            .values($chunk)
            .on_conflict((
                indicator_days::unit_id,
                indicator_days::measure,
                indicator_days::day,
                indicator_days::channel,
                indicator_days::category,
            ))
            .do_update()
            .set(
                indicator_days::n
                    .eq(indicator_days::n + diesel::upsert::excluded(indicator_days::n)),
            )
    };
}

macro_rules! impl_queries {
    ($conn:ty, $write_tx:ident, $batch:ident) => {
        impl Queries for $conn {
            fn upsert_administration(&mut self, a: &Administration) -> R<Administration> {
                let row = AdministrationRow::from_model(a);
                db(self.$write_tx(|c| {
                    diesel::insert_into(administrations::table)
                        .values(&row)
                        .on_conflict(administrations::code)
                        .do_update()
                        .set((
                            administrations::name_ar.eq(&row.name_ar),
                            administrations::name_fr.eq(&row.name_fr),
                            administrations::name_en.eq(&row.name_en),
                        ))
                        .execute(c)?;
                    administrations::table
                        .filter(administrations::code.eq(&row.code))
                        .select(AdministrationRow::as_select())
                        .first(c)
                }))?
                .into_model()
            }

            fn upsert_unit(&mut self, u: &Unit) -> R<Unit> {
                let row = UnitRow::from_model(u);
                db(self.$write_tx(|c| {
                    diesel::insert_into(units::table)
                        .values(&row)
                        .on_conflict(units::code)
                        .do_update()
                        .set((
                            units::administration_id.eq(&row.administration_id),
                            units::parent_id.eq(&row.parent_id),
                            units::name_ar.eq(&row.name_ar),
                            units::name_fr.eq(&row.name_fr),
                            units::level.eq(&row.level),
                            units::territory_code.eq(&row.territory_code),
                            units::contact.eq(&row.contact),
                            units::name_en.eq(&row.name_en),
                        ))
                        .execute(c)?;
                    units::table.filter(units::code.eq(&row.code)).select(UnitRow::as_select()).first(c)
                }))?
                .into_model()
            }

            fn upsert_registry(&mut self, r: &Registry) -> R<Registry> {
                let row = RegistryRow::from_model(r);
                db(self.$write_tx(|c| {
                    diesel::insert_into(registries::table)
                        .values(&row)
                        .on_conflict(registries::code)
                        .do_update()
                        .set((
                            registries::unit_id.eq(&row.unit_id),
                            registries::name_ar.eq(&row.name_ar),
                            registries::name_fr.eq(&row.name_fr),
                            registries::numbering_format.eq(&row.numbering_format),
                        ))
                        .execute(c)?;
                    registries::table.filter(registries::code.eq(&row.code)).select(RegistryRow::as_select()).first(c)
                }))?
                .into_model()
            }

            fn administrations(&mut self) -> R<Vec<Administration>> {
                db(administrations::table.order(administrations::code).select(AdministrationRow::as_select()).load(self))?
                    .into_iter()
                    .map(AdministrationRow::into_model)
                    .collect()
            }

            fn units(&mut self) -> R<Vec<Unit>> {
                db(units::table.order(units::code).select(UnitRow::as_select()).load(self))?
                    .into_iter()
                    .map(UnitRow::into_model)
                    .collect()
            }

            fn registries(&mut self) -> R<Vec<Registry>> {
                db(registries::table.order(registries::code).select(RegistryRow::as_select()).load(self))?
                    .into_iter()
                    .map(RegistryRow::into_model)
                    .collect()
            }

            fn registry_by_code(&mut self, code: &str) -> R<Option<Registry>> {
                db(registries::table
                    .filter(registries::code.eq(code))
                    .select(RegistryRow::as_select())
                    .first(self)
                    .optional())?
                .map(RegistryRow::into_model)
                .transpose()
            }

            fn insert_agent(&mut self, a: &Agent) -> R<()> {
                db(diesel::insert_into(agents::table).values(AgentRow::from_model(a)).execute(self)).map(|_| ())
            }

            fn agent(&mut self, id: &str) -> R<Option<Agent>> {
                db(agents::table.find(id).select(AgentRow::as_select()).first(self).optional())?
                    .map(AgentRow::into_model)
                    .transpose()
            }

            fn agent_by_email(&mut self, email: &str) -> R<Option<Agent>> {
                db(agents::table.filter(agents::email.eq(email)).select(AgentRow::as_select()).first(self).optional())?
                    .map(AgentRow::into_model)
                    .transpose()
            }

            fn agents(&mut self) -> R<Vec<Agent>> {
                db(agents::table.order(agents::email).select(AgentRow::as_select()).load(self))?
                    .into_iter()
                    .map(AgentRow::into_model)
                    .collect()
            }

            fn grant(&mut self, agent_id: &str, unit_id: Option<&str>, role: Role) -> R<()> {
                db(diesel::insert_into(agent_grants::table)
                    .values(GrantRow::new(agent_id, unit_id, role))
                    .on_conflict(agent_grants::id)
                    .do_nothing()
                    .execute(self))
                .map(|_| ())
            }

            fn revoke_grant(&mut self, agent_id: &str, unit_id: Option<&str>, role: Role) -> R<bool> {
                let key = GrantRow::key(agent_id, unit_id, role);
                db(diesel::delete(agent_grants::table.find(key)).execute(self)).map(|n| n > 0)
            }

            fn grants(&mut self, agent_id: &str) -> R<Vec<Grant>> {
                db(agent_grants::table
                    .filter(agent_grants::agent_id.eq(agent_id))
                    .select(GrantRow::as_select())
                    .load(self))?
                .into_iter()
                .map(GrantRow::into_model)
                .collect()
            }

            fn insert_token(&mut self, t: &Token) -> R<()> {
                db(diesel::insert_into(tokens::table).values(TokenRow::from_model(t)).execute(self)).map(|_| ())
            }

            fn token_by_hash(&mut self, hash: &str) -> R<Option<Token>> {
                db(tokens::table.filter(tokens::secret_hash.eq(hash)).select(TokenRow::as_select()).first(self).optional())?
                    .map(TokenRow::into_model)
                    .transpose()
            }

            fn tokens_of(&mut self, agent_id: &str) -> R<Vec<Token>> {
                db(tokens::table
                    .filter(tokens::agent_id.eq(agent_id))
                    .order(tokens::created_at.desc())
                    .select(TokenRow::as_select())
                    .load(self))?
                .into_iter()
                .map(TokenRow::into_model)
                .collect()
            }

            fn revoke_token(&mut self, agent_id: &str, token_id: &str, at: &str) -> R<bool> {
                db(diesel::update(
                    tokens::table
                        .filter(tokens::id.eq(token_id))
                        .filter(tokens::agent_id.eq(agent_id))
                        .filter(tokens::revoked_at.is_null()),
                )
                .set(tokens::revoked_at.eq(at))
                .execute(self))
                .map(|n| n > 0)
            }

            fn correspondence(&mut self, id: &str) -> R<Option<Correspondence>> {
                let found = db(correspondences::table
                    .inner_join(registries::table)
                    .filter(correspondences::id.eq(id))
                    .select((CorrespondenceRow::as_select(), registries::code))
                    .first::<(CorrespondenceRow, String)>(self)
                    .optional())?;
                let Some((row, registry_code)) = found else { return Ok(None) };
                let files = db(correspondence_files::table
                    .filter(correspondence_files::correspondence_id.eq(id))
                    .order(correspondence_files::position)
                    .select(FileRow::as_select())
                    .load(self))?;
                let concerned = db(correspondence_units::table
                    .filter(correspondence_units::correspondence_id.eq(id))
                    .select(ConcernRow::as_select())
                    .load(self))?;
                let events = db(correspondence_events::table
                    .filter(correspondence_events::correspondence_id.eq(id))
                    .order((correspondence_events::at, correspondence_events::id))
                    .select(EventRow::as_select())
                    .load(self))?;
                let status: String = db(correspondences::table.find(id).select(correspondences::status).first(self))?;
                let assigned = db(assignments::table
                    .filter(assignments::correspondence_id.eq(id))
                    .order((assignments::assigned_at, assignments::id))
                    .select(AssignmentRow::as_select())
                    .load(self))?;
                let mut c = crate::store::assemble(row, &registry_code, files, concerned, events)?;
                c.status = diwan_domain::Status::parse(&status).ok_or_else(|| corrupt("status"))?;
                c.assignments = assigned.into_iter().map(AssignmentRow::into_model).collect::<R<_>>()?;
                Ok(Some(c))
            }

            fn correspondence_with_files(&mut self, id: &str) -> R<Option<Correspondence>> {
                // One query: a registered correspondence always has at least one file.
                let rows = db(correspondences::table
                    .inner_join(registries::table)
                    .inner_join(correspondence_files::table)
                    .filter(correspondences::id.eq(id))
                    .order(correspondence_files::position)
                    .select((CorrespondenceRow::as_select(), registries::code, FileRow::as_select()))
                    .load::<(CorrespondenceRow, String, FileRow)>(self))?;
                with_files(rows.into_iter().map(|(c, code, f)| (c, code, f, ())))
                    .map(|found| found.map(|(c, ())| c))
            }

            fn receipt_facts(&mut self, id: Option<&str>, leaf_index: u64) -> R<(Option<Correspondence>, Option<[u8; 32]>)> {
                // The leaf's hash as one more column: an uncorrelated subquery, computed once.
                let idx = i64::try_from(leaf_index).unwrap_or(i64::MAX);
                let leaf = log_leaves::table.filter(log_leaves::idx.eq(idx)).select(log_leaves::leaf_hash).single_value();
                let rows = match id {
                    Some(id) => db(correspondences::table
                        .inner_join(registries::table)
                        .inner_join(correspondence_files::table)
                        .filter(correspondences::id.eq(id))
                        .order(correspondence_files::position)
                        .select((CorrespondenceRow::as_select(), registries::code, FileRow::as_select(), leaf))
                        .load::<(CorrespondenceRow, String, FileRow, Option<String>)>(self))?,
                    None => Vec::new(),
                };
                let leaf_of = |hash: Option<String>| hash.map(|h| unhex(&h).ok_or_else(|| corrupt("leaf hash"))).transpose();
                // Without the correspondence, the leaf on its own.
                match with_files(rows.into_iter())? {
                    Some((c, leaf)) => Ok((Some(c), leaf_of(leaf)?)),
                    None => Ok((None, Queries::leaf_hashes(self, leaf_index, leaf_index.saturating_add(1))?.into_iter().next())),
                }
            }

            fn list(&mut self, f: &ListFilter) -> R<Vec<CorrespondenceSummary>> {
                use correspondences as c;
                let mut q = c::table
                    .filter(c::registry_id.eq(&f.registry_id))
                    .select(CorrespondenceRow::as_select())
                    .order((c::registered_at.desc(), c::id.desc()))
                    .limit(i64::try_from(f.limit).unwrap_or(i64::MAX))
                    .into_boxed();
                if let Some(d) = f.direction {
                    q = q.filter(c::direction.eq(d.as_str()));
                }
                if let Some(y) = f.year {
                    q = q.filter(c::year.eq(y));
                }
                if let Some((at, id)) = &f.before {
                    let at = to_text(at);
                    q = q.filter(c::registered_at.lt(at.clone()).or(c::registered_at.eq(at).and(c::id.lt(id.clone()))));
                }
                if let Some(units) = &f.restricted_visible_to {
                    let concerned = correspondence_units::table
                        .filter(correspondence_units::unit_id.eq_any(units.clone()))
                        .select(correspondence_units::correspondence_id);
                    q = q.filter(c::confidentiality.eq("normal").or(c::id.eq_any(concerned)));
                }
                db(q.load(self))?.into_iter().map(crate::store::summary).collect()
            }

            fn annul(&mut self, id: &str, a: &Annulment, notary: &dyn Notary) -> R<Option<IssuedReceipt>> {
                let at = to_text(&a.at);
                let event = EventRow {
                    id: new_id()?,
                    correspondence_id: id.to_owned(),
                    at: at.clone(),
                    kind: "annulled".into(),
                    actor_id: Some(a.by.clone()),
                    detail: serde_json::json!({ "reason": a.reason }).to_string(),
                };
                self.$write_tx::<_, TxError, _>(|c| {
                    let n = diesel::update(correspondences::table.find(id).filter(correspondences::annulled_at.is_null()))
                        .set((
                            correspondences::annulled_at.eq(&at),
                            correspondences::annulled_by.eq(&a.by),
                            correspondences::annul_reason.eq(&a.reason),
                            correspondences::status.eq(diwan_domain::Status::Annulled.as_str()),
                        ))
                        .execute(c)?;
                    if n == 0 {
                        return Ok(None);
                    }
                    diesel::insert_into(correspondence_events::table).values(&event).execute(c)?;
                    diesel::update(assignments::table.filter(assignments::correspondence_id.eq(id)).filter(assignments::ended_at.is_null()))
                        .set((assignments::ended_at.eq(&at), assignments::ended_event_id.eq(&event.id)))
                        .execute(c)?;
                    // An annulled registration is counted nowhere.
                    let fact: Option<FactRow> = correspondence_facts::table.find(id).select(FactRow::as_select()).first(c).optional()?;
                    if let Some(fact) = fact {
                        diesel::delete(correspondence_facts::table.find(id)).execute(c)?;
                        let mut deltas = std::collections::BTreeMap::new();
                        crate::indicator_days::change(&mut deltas, Some(&fact), None);
                        Queries::add_indicator_days(c, &deltas)?;
                    }
                    let row: CorrespondenceRow = correspondences::table.find(id).select(CorrespondenceRow::as_select()).first(c)?;
                    let correspondence = Queries::correspondence(c, id)
                        .map_err(TxError::Store)?
                        .ok_or_else(|| TxError::Store(StoreError::Other("annulled correspondence vanished".into())))?;
                    let batch = [Notarize {
                        entry: crate::ledger::annulment_entry(&row, &event),
                        subject: NotarySubject::Annulment { correspondence: &correspondence, annulment: a },
                    }];
                    let out = Queries::notarize(c, notary, &batch)?;
                    Ok(out.receipts.into_iter().next())
                })
                .map_err(StoreError::from)
            }

            fn apply_move(&mut self, m: &MoveRecord, notary: &dyn Notary) -> R<bool> {
                let at = to_text(&m.at);
                let mut detail = m.detail.clone();
                detail.insert("from".into(), m.from.as_str().into());
                detail.insert("to".into(), m.to.as_str().into());
                if !m.assignments.is_empty() {
                    detail.insert("assignments".into(), serde_json::to_value(&m.assignments).map_err(|e| StoreError::Other(e.to_string()))?);
                }
                let event = EventRow {
                    id: new_id()?,
                    correspondence_id: m.correspondence_id.clone(),
                    at: at.clone(),
                    kind: m.step.event_kind().into(),
                    actor_id: Some(m.actor_id.clone()),
                    detail: serde_json::Value::Object(detail).to_string(),
                };
                let rows: Vec<AssignmentRow> = m.assignments.iter().map(|a| AssignmentRow::new(m, a, &event.id)).collect();
                self.$write_tx::<_, TxError, _>(|c| {
                    let n = diesel::update(
                        correspondences::table
                            .find(&m.correspondence_id)
                            .filter(correspondences::status.eq(m.from.as_str()))
                            .filter(correspondences::annulled_at.is_null()),
                    )
                    .set(correspondences::status.eq(m.to.as_str()))
                    .execute(c)?;
                    if n == 0 {
                        return Ok(false);
                    }
                    diesel::insert_into(correspondence_events::table).values(&event).execute(c)?;
                    let open = assignments::table
                        .filter(assignments::correspondence_id.eq(&m.correspondence_id))
                        .filter(assignments::ended_at.is_null());
                    let ended = (assignments::ended_at.eq(&at), assignments::ended_event_id.eq(&event.id));
                    match m.ending {
                        Ending::None => 0,
                        Ending::Lead => diesel::update(open.filter(assignments::purpose.eq("action"))).set(ended).execute(c)?,
                        Ending::All => diesel::update(open).set(ended).execute(c)?,
                    };
                    if !rows.is_empty() {
                        diesel::insert_into(assignments::table).values(&rows).execute(c)?;
                    }
                    let row: CorrespondenceRow = correspondences::table.find(&m.correspondence_id).select(CorrespondenceRow::as_select()).first(c)?;
                    Queries::update_facts(c, m, &row, &rows)?;
                    let batch = [Notarize {
                        entry: crate::ledger::movement_entry(&row, &rows.iter().collect::<Vec<_>>(), &event),
                        subject: NotarySubject::Movement,
                    }];
                    Queries::notarize(c, notary, &batch)?;
                    let mails: Vec<_> = m.mails.iter().map(|(to, kind)| (m.correspondence_id.clone(), *kind, to.clone())).collect();
                    Queries::queue_mails(c, &at, &mails)?;
                    Ok(true)
                })
                .map_err(StoreError::from)
            }

            fn assignment_inbox(&mut self, f: &InboxFilter) -> R<Vec<AssignmentLine>> {
                use assignments as a;
                use correspondences as c;
                let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
                // One index range per unit (and one for the agent), each already in due-date
                // order: read at most `limit` from each, then merge.
                let mut found: Vec<(AssignmentRow, CorrespondenceRow, String)> = Vec::new();
                let mut ranges: Vec<(bool, &str)> = f.unit_ids.iter().map(|u| (true, u.as_str())).collect();
                if let Some(agent) = &f.agent_id {
                    ranges.push((false, agent.as_str()));
                }
                for (by_unit, key) in ranges {
                    let mut q = a::table
                        .inner_join(c::table.on(c::id.eq(a::correspondence_id)))
                        .filter(a::ended_at.is_null())
                        .select((AssignmentRow::as_select(), CorrespondenceRow::as_select(), c::status))
                        .order((a::due_date, a::id))
                        .limit(limit)
                        .into_boxed();
                    q = if by_unit {
                        q.filter(a::unit_id.eq(key))
                    } else {
                        q.filter(a::agent_id.eq(key))
                    };
                    if let Some((due, id)) = &f.after {
                        let due = due.to_string();
                        q = q.filter(a::due_date.gt(due.clone()).or(a::due_date.eq(due).and(a::id.gt(id.clone()))));
                    }
                    found.extend(db(q.load(self))?);
                }
                found.sort_by(|x, y| (&x.0.due_date, &x.0.id).cmp(&(&y.0.due_date, &y.0.id)));
                found.dedup_by(|x, y| x.0.id == y.0.id);
                found.truncate(f.limit);
                found
                    .into_iter()
                    .map(|(assignment, row, status)| {
                        let a = assignment.into_model()?;
                        Ok(AssignmentLine {
                            assignment_id: a.id,
                            unit_id: a.unit_id,
                            agent_id: a.agent_id,
                            purpose: a.purpose,
                            due_date: a.due_date,
                            assigned_at: a.assigned_at,
                            status: diwan_domain::Status::parse(&status).ok_or_else(|| corrupt("status"))?,
                            summary: crate::store::summary(row)?,
                        })
                    })
                    .collect()
            }

            fn file_referenced(&mut self, sha256: &str) -> R<bool> {
                db(diesel::select(diesel::dsl::exists(
                    correspondence_files::table.filter(correspondence_files::sha256.eq(sha256)),
                ))
                .get_result(self))
            }

            fn packed_blobs(&mut self) -> R<Vec<(String, String, i64, i64)>> {
                db(blob_packs::table
                    .select((blob_packs::sha256, blob_packs::segment, blob_packs::pack_offset, blob_packs::pack_length))
                    .load(self))
            }

            fn blob_location(&mut self, sha256: &str) -> R<Option<(String, i64, i64)>> {
                db(blob_packs::table
                    .find(sha256)
                    .select((blob_packs::segment, blob_packs::pack_offset, blob_packs::pack_length))
                    .first(self)
                    .optional())
            }

            fn register_batch(&mut self, jobs: &mut [NewCorrespondence], pack: &mut PackWriter, notary: &dyn Notary) -> Result<(Vec<R<Stored>>, BatchPath), StoreError> {
                let mut order: Vec<usize> = (0..jobs.len()).collect();
                // A fixed lock order on the counter rows: two processes' batches never deadlock.
                order.sort_by(|&a, &b| {
                    let key = |j: &NewCorrespondence| (j.registry.id.clone(), j.request.direction.as_str());
                    key(&jobs[a]).cmp(&key(&jobs[b]))
                });
                let mut results: Vec<Option<R<(Registered, Option<IssuedReceipt>)>>> = (0..jobs.len()).map(|_| None).collect();
                let mut path = if order.len() > 1 { BatchPath::OneByOne } else { BatchPath::Alone };
                if order.len() > 1 && jobs.iter().all(|j| j.reserved_seq.is_none()) {
                    pack.begin_batch();
                    let batch_mark = pack.mark();
                    let mut done = Vec::new();
                    let mut issued = Vec::new();
                    let fast = self.$write_tx::<_, TxError, _>(|c| {
                        let out;
                        (done, out) = Queries::insert_many(c, jobs, &order, pack, notary)?;
                        issued = out.receipts;
                        pack.sync().map_err(TxError::Io)
                    });
                    match fast {
                        Ok(()) => {
                            path = BatchPath::Together;
                            let mut issued = issued.into_iter();
                            for (i, r, _) in done {
                                results[i] = Some(Ok((r, issued.next())));
                            }
                        }
                        Err(e) => {
                            pack.rewind(&batch_mark);
                            tracing::debug!(error = ?e, "batch insert failed; storing job by job");
                        }
                    }
                }
                // No savepoint per job (two round trips each): if a job fails, the transaction is
                // rolled back, that job answered with its error, and the others tried again.
                loop {
                    let active: Vec<usize> = order.iter().copied().filter(|&i| results[i].is_none()).collect();
                    if active.is_empty() {
                        break;
                    }
                    pack.begin_batch();
                    let batch_mark = pack.mark();
                    let mut culprit: Option<(usize, TxError)> = None;
                    let mut done: Vec<Done> = Vec::with_capacity(active.len());
                    let mut issued = Vec::new();
                    let outcome = self.$write_tx::<_, TxError, _>(|c| {
                        for &i in &active {
                            match Queries::insert_one(c, &mut jobs[i], pack) {
                                Ok((r, rows)) => done.push((i, r, rows)),
                                Err(e) => {
                                    culprit = Some((i, e));
                                    return Err(TxError::Store(StoreError::Other("batch retried".into())));
                                }
                            }
                        }
                        issued = Queries::notarize(c, notary, &registration_batch(jobs, &done))?.receipts;
                        // The packed bytes are durable before the rows that point to them commit.
                        pack.sync().map_err(TxError::Io)
                    });
                    match (outcome, culprit) {
                        (Ok(()), _) => {
                            let mut issued = issued.into_iter();
                            for (i, r, _) in done {
                                results[i] = Some(Ok((r, issued.next())));
                            }
                        }
                        (Err(_), Some((i, e))) => {
                            pack.rewind(&batch_mark);
                            results[i] = Some(Err(StoreError::from(e)));
                        }
                        (Err(e), None) => {
                            pack.rewind(&batch_mark);
                            return Err(StoreError::from(e));
                        }
                    }
                }
                Ok((results
                    .into_iter()
                    .map(|r| r.unwrap_or_else(|| Err(StoreError::Other("job left out of its batch".into()))))
                    .collect(), path))
            }

            fn insert_many(&mut self, jobs: &mut [NewCorrespondence], active: &[usize], pack: &mut PackWriter, notary: &dyn Notary) -> Result<(Vec<Done>, Notarized), TxError> {
                // Small files: each new content once, appended in order; if any turns out to be
                // packed already (another process, meanwhile), fail so the caller goes job by job.
                let mut fresh: Vec<(String, &[u8])> = Vec::new();
                for &i in active {
                    for f in &jobs[i].files {
                        let Some(bytes) = f.blob.bytes() else { continue };
                        let sha = f.blob.sha256().as_str().to_owned();
                        if !fresh.iter().any(|(s, _)| *s == sha) && !pack.loose_exists(f.blob.sha256()) {
                            fresh.push((sha, bytes));
                        }
                    }
                }
                // Numbers: one counter update per register, taking as many numbers as it has jobs,
                // handed out in arrival order. `active` is sorted by register: a fixed lock order.
                let mut groups: Vec<((String, &'static str, i32), Vec<usize>)> = Vec::new();
                for &i in active {
                    let key = (jobs[i].registry.id.clone(), jobs[i].request.direction.as_str(), jobs[i].year);
                    match groups.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, members)) => members.push(i),
                        None => groups.push((key, vec![i])),
                    }
                }
                let takes: Vec<Take<'_>> = groups
                    .iter()
                    .map(|((registry_id, direction, year), members)| Take {
                        registry_id,
                        direction,
                        year: *year,
                        count: i64::try_from(members.len()).unwrap_or(i64::MAX),
                    })
                    .collect();
                let digests: Vec<&str> = fresh.iter().map(|(s, _)| s.as_str()).collect();
                // The numbers, the log's lock and edge, the contents packed already: one
                // statement on PostgreSQL (see `claim`).
                let claimed = self.claim(&takes, &digests)?;
                let mut index = Vec::with_capacity(fresh.len());
                for (sha, bytes) in fresh.iter().filter(|(s, _)| !claimed.packed.contains(s)) {
                    let (segment, offset) = pack.append(bytes).map_err(TxError::Io)?;
                    index.push((
                        blob_packs::sha256.eq(sha.clone()),
                        blob_packs::segment.eq(segment),
                        blob_packs::pack_offset.eq(i64::try_from(offset).unwrap_or(i64::MAX)),
                        blob_packs::pack_length.eq(i64::try_from(bytes.len()).unwrap_or(i64::MAX)),
                    ));
                }
                // The segment syncs while the rows are signed and written; the commit waits for it.
                pack.start_sync().map_err(TxError::Io)?;
                let mut done = Vec::with_capacity(active.len());
                for (((_, _, year), members), last) in groups.iter().zip(&claimed.last) {
                    let k = i64::try_from(members.len()).unwrap_or(i64::MAX);
                    for (n, &i) in members.iter().enumerate() {
                        let seq = last - k + 1 + i64::try_from(n).unwrap_or(0);
                        let job = &jobs[i];
                        let number = job.registry.numbering_format.render(&job.registry.code, job.request.direction, *year, seq);
                        let rows = crate::store::rows_for(job, *year, seq, &number).map_err(TxError::Store)?;
                        done.push((i, Registered { seq, year: *year, registration_number: number }, rows));
                    }
                }
                let items = registration_batch(jobs, &done);
                let out = sign_batch(notary, claimed.log_size, &claimed.frontier, &items)?;
                let correspondences: Vec<_> = done.iter().map(|(_, _, r)| &r.correspondence).collect();
                let files: Vec<_> = done.iter().flat_map(|(_, _, r)| &r.files).collect();
                let concerns: Vec<_> = done.iter().flat_map(|(_, _, r)| &r.concerns).collect();
                let events: Vec<_> = done.iter().map(|(_, _, r)| &r.event).collect();
                let exchanges: Vec<_> = done.iter().filter_map(|(_, _, r)| r.exchange.as_ref()).collect();
                let facts: Vec<_> = done.iter().map(|(_, _, r)| &r.fact).collect();
                let mut deltas = std::collections::BTreeMap::new();
                for fact in &facts {
                    crate::indicator_days::change(&mut deltas, None, Some(fact));
                }
                let day_rows = day_rows!(deltas);
                let entries: Vec<(String, String)> = done.iter().map(|(_, _, r)| crate::store::index_entry(r)).collect();
                // One statement on PostgreSQL (see `together`). A content packed meanwhile
                // breaks `blob_packs`' key: the batch then goes job by job, which keeps the
                // copy packed first.
                let mut parts: Vec<Part<'_, _>> = Vec::new();
                for chunk in correspondences.chunks(32) {
                    batch_statement!($batch, self, parts, diesel::insert_into(correspondences::table).values(chunk.to_vec()));
                }
                for chunk in files.chunks(128) {
                    batch_statement!($batch, self, parts, diesel::insert_into(correspondence_files::table).values(chunk.to_vec()));
                }
                for chunk in concerns.chunks(256) {
                    batch_statement!($batch, self, parts, diesel::insert_into(correspondence_units::table).values(chunk.to_vec()));
                }
                for chunk in events.chunks(128) {
                    batch_statement!($batch, self, parts, diesel::insert_into(correspondence_events::table).values(chunk.to_vec()));
                }
                for chunk in exchanges.chunks(32) {
                    batch_statement!($batch, self, parts, diesel::insert_into(exchanges::table).values(chunk.to_vec()));
                }
                for chunk in facts.chunks(64) {
                    batch_statement!($batch, self, parts, diesel::insert_into(correspondence_facts::table).values(chunk.to_vec()));
                }
                for chunk in day_rows.chunks(200) {
                    batch_statement!($batch, self, parts, add_to_days!(chunk));
                }
                parts.extend(<Self as SearchSql>::entry_statements(&entries));
                for chunk in index.chunks(128) {
                    batch_statement!($batch, self, parts, diesel::insert_into(blob_packs::table).values(chunk.to_vec()));
                }
                log_statements!($batch, self, parts, claimed.log_size, &items, &out);
                self.run_together(parts)?;
                drop(items);
                Ok((done, out))
            }

            fn insert_one(&mut self, job: &mut NewCorrespondence, pack: &mut PackWriter) -> Result<(Registered, RegistrationRows), TxError> {
                use register_counters as rc;
                let year = job.year;
                let direction = job.request.direction.as_str();
                // One statement: create the register's counter at 1, or take the next number —
                // unless the number was taken earlier (the parapheur's reservation).
                let seq: i64 = if let Some(seq) = job.reserved_seq { seq } else { diesel::insert_into(rc::table)
                    .values((
                        rc::registry_id.eq(&job.registry.id),
                        rc::direction.eq(direction),
                        rc::year.eq(year),
                        rc::last_seq.eq(1i64),
                    ))
                    .on_conflict((rc::registry_id, rc::direction, rc::year))
                    .do_update()
                    .set(rc::last_seq.eq(rc::last_seq + 1))
                    .returning(rc::last_seq)
                    .get_result(self)? };
                let number = job.registry.numbering_format.render(&job.registry.code, job.request.direction, year, seq);
                let rows = crate::store::rows_for(job, year, seq, &number).map_err(TxError::Store)?;
                diesel::insert_into(correspondences::table).values(&rows.correspondence).execute(self)?;
                // Row by row: single-row inserts are prepared once per connection and reused.
                for file in &rows.files {
                    diesel::insert_into(correspondence_files::table).values(file).execute(self)?;
                }
                for concern in &rows.concerns {
                    diesel::insert_into(correspondence_units::table).values(concern).execute(self)?;
                }
                diesel::insert_into(correspondence_events::table).values(&rows.event).execute(self)?;
                if let Some(row) = &rows.exchange {
                    diesel::insert_into(exchanges::table).values(row).execute(self)?;
                }
                diesel::insert_into(correspondence_facts::table).values(&rows.fact).execute(self)?;
                let mut deltas = std::collections::BTreeMap::new();
                crate::indicator_days::change(&mut deltas, None, Some(&rows.fact));
                Queries::add_indicator_days(self, &deltas)?;
                SearchSql::write_entries(self, &[crate::store::index_entry(&rows)])?;
                for f in &job.files {
                    let Some(bytes) = f.blob.bytes() else { continue };
                    let sha = f.blob.sha256().as_str();
                    if pack.loose_exists(f.blob.sha256()) {
                        continue;
                    }
                    let before = pack.mark();
                    let (segment, offset) = pack.append(bytes).map_err(TxError::Io)?;
                    let inserted = diesel::insert_into(blob_packs::table)
                        .values((
                            blob_packs::sha256.eq(sha),
                            blob_packs::segment.eq(segment),
                            blob_packs::pack_offset.eq(i64::try_from(offset).unwrap_or(i64::MAX)),
                            blob_packs::pack_length.eq(i64::try_from(bytes.len()).unwrap_or(i64::MAX)),
                        ))
                        .on_conflict(blob_packs::sha256)
                        .do_nothing()
                        .execute(self)?;
                    if inserted == 0 {
                        // Already packed (by an earlier registration, or another process
                        // meanwhile): keep that copy and cut this one off again.
                        pack.rewind(&before);
                    }
                }
                Ok((Registered { seq, year, registration_number: number }, rows))
            }

            // After a move: the unit in charge (the new lead's, or the registry's when it went
            // back there), the first reply, the end of its openness.
            fn update_facts(&mut self, m: &MoveRecord, row: &CorrespondenceRow, made: &[AssignmentRow]) -> Result<(), TxError> {
                use correspondence_facts as f;
                use diwan_domain::Status;
                let Some(old) = f::table.find(&row.id).select(FactRow::as_select()).first(self).optional()? else {
                    return Ok(());
                };
                let at = to_text(&m.at);
                let mut new = old.clone();
                match made.iter().find(|a| a.purpose == "action") {
                    Some(lead) => new.unit_id = lead.unit_id.clone(),
                    None if m.to == Status::Returned => {
                        new.unit_id = registries::table.find(&row.registry_id).select(registries::unit_id).first::<String>(self)?;
                    }
                    None => {}
                }
                if m.to == Status::Answered && new.answered_at.is_none() {
                    let registered = from_text(&old.registered_at).map_err(|e| TxError::Store(StoreError::Other(e)))?;
                    new.answered_at = Some(at.clone());
                    new.processing_seconds = Some(diwan_domain::indicators::processing_time((m.at - registered).num_seconds()));
                    new.on_time = new.legal_due_at.as_ref().map(|due| i32::from(at < *due));
                }
                if matches!(m.to, Status::Answered | Status::Closed) && new.closed_at.is_none() {
                    new.closed_at = Some(at);
                }
                new.resolved_at = match (&new.closed_at, &new.legal_due_at) {
                    (Some(c), Some(d)) => Some(c.max(d).clone()),
                    _ => None,
                };
                let mut deltas = std::collections::BTreeMap::new();
                crate::indicator_days::change(&mut deltas, Some(&old), Some(&new));
                diesel::update(f::table.find(&row.id))
                    .set((
                        f::unit_id.eq(&new.unit_id),
                        f::answered_at.eq(&new.answered_at),
                        f::closed_at.eq(&new.closed_at),
                        f::processing_seconds.eq(new.processing_seconds),
                        f::on_time.eq(new.on_time),
                        f::resolved_at.eq(&new.resolved_at),
                    ))
                    .execute(self)?;
                Queries::add_indicator_days(self, &deltas)
            }

            fn add_indicator_days(&mut self, deltas: &std::collections::BTreeMap<crate::indicator_days::DayKey, i32>) -> Result<(), TxError> {
                for chunk in day_rows!(deltas).chunks(200) {
                    add_to_days!(chunk).execute(self)?;
                }
                Ok(())
            }

            fn notarize(&mut self, notary: &dyn Notary, batch: &[Notarize<'_>]) -> Result<Notarized, TxError> {
                // Writing the log's row first takes its lock until commit (PostgreSQL; SQLite's
                // write transactions are exclusive anyway).
                let (size, frontier): (i64, String) = diesel::update(log_state::table.find(1))
                    .set(log_state::size.eq(log_state::size))
                    .returning((log_state::size, log_state::frontier))
                    .get_result(self)?;
                let out = sign_batch(notary, size, &frontier, batch)?;
                // One statement on PostgreSQL (see `together`).
                let mut parts: Vec<Part<'_, _>> = Vec::new();
                log_statements!($batch, self, parts, size, batch, &out);
                self.run_together(parts)?;
                Ok(out)
            }

            fn due_follow_ups(&mut self, remind_until: &str, overdue_before: &str, limit: usize) -> R<Vec<diwan_app::model::DueFollowUp>> {
                use assignments as a;
                use diwan_app::model::{DueFollowUp, FollowUp};
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let mut out = Vec::new();
                for (step, bound) in [(FollowUp::Escalation, overdue_before), (FollowUp::Reminder, remind_until)] {
                    let taken = reminders::table
                        .filter(reminders::step.eq(step.as_str()))
                        .select(reminders::assignment_id);
                    let mut q = a::table
                        .filter(a::ended_at.is_null())
                        .filter(a::purpose.eq("action"))
                        .filter(a::id.ne_all(taken))
                        .order((a::due_date, a::id))
                        .limit(limit)
                        .select(AssignmentRow::as_select())
                        .into_boxed();
                    q = match step {
                        FollowUp::Escalation => q.filter(a::due_date.lt(bound)),
                        FollowUp::Reminder => q.filter(a::due_date.le(bound)),
                    };
                    for row in db(q.load(self))? {
                        let correspondence_id = row.correspondence_id.clone();
                        out.push(DueFollowUp { step, assignment: row.into_model()?, correspondence_id });
                    }
                }
                Ok(out)
            }

            fn record_follow_up(&mut self, due: &diwan_app::model::DueFollowUp, at: &str, mails: &[String]) -> R<bool> {
                self.$write_tx::<_, TxError, _>(|c| {
                    let n = diesel::insert_into(reminders::table)
                        .values((
                            reminders::assignment_id.eq(&due.assignment.id),
                            reminders::step.eq(due.step.as_str()),
                            reminders::created_at.eq(at),
                        ))
                        .on_conflict_do_nothing()
                        .execute(c)?;
                    if n == 0 {
                        return Ok(false);
                    }
                    let rows: Vec<_> = mails
                        .iter()
                        .map(|to| (due.correspondence_id.clone(), due.step.mail(), to.clone()))
                        .collect();
                    Queries::queue_mails(c, at, &rows)?;
                    Ok(true)
                })
                .map_err(StoreError::from)
            }

            fn agents_on(&mut self, unit_id: &str, roles: &[&str]) -> R<Vec<AgentRow>> {
                db(agents::table
                    .inner_join(agent_grants::table.on(agent_grants::agent_id.eq(agents::id)))
                    .filter(agent_grants::unit_id.eq(unit_id))
                    .filter(agent_grants::role.eq_any(roles))
                    .filter(agents::active.eq(true))
                    .select(AgentRow::as_select())
                    .distinct()
                    .load(self))
            }

            fn delegations_of(&mut self, agent_id: &str) -> R<Vec<DelegationRow>> {
                db(delegations::table
                    .filter(delegations::agent_id.eq(agent_id).or(delegations::substitute_id.eq(agent_id)))
                    .order((delegations::starts_on.desc(), delegations::id))
                    .limit(500)
                    .select(DelegationRow::as_select())
                    .load(self))
            }

            fn insert_delegation(&mut self, row: &DelegationRow) -> R<()> {
                db(diesel::insert_into(delegations::table).values(row).execute(self)).map(|_| ())
            }

            fn revoke_delegation(&mut self, agent_id: &str, id: &str, at: &str) -> R<bool> {
                db(diesel::update(
                    delegations::table
                        .filter(delegations::id.eq(id))
                        .filter(delegations::agent_id.eq(agent_id))
                        .filter(delegations::revoked_at.is_null()),
                )
                .set(delegations::revoked_at.eq(at))
                .execute(self))
                .map(|n| n > 0)
            }

            fn routing_rules(&mut self, registry_id: &str) -> R<Vec<RuleRow>> {
                db(routing_rules::table
                    .filter(routing_rules::registry_id.eq(registry_id))
                    .order((routing_rules::position, routing_rules::created_at, routing_rules::id))
                    .select(RuleRow::as_select())
                    .load(self))
            }

            fn put_routing_rule(&mut self, row: &RuleRow) -> R<()> {
                db(self.$write_tx(|c| {
                    diesel::delete(routing_rules::table.find(&row.id)).execute(c)?;
                    diesel::insert_into(routing_rules::table).values(row).execute(c)
                }))
                .map(|_| ())
            }

            fn delete_routing_rule(&mut self, registry_id: &str, id: &str) -> R<bool> {
                db(diesel::delete(
                    routing_rules::table
                        .filter(routing_rules::id.eq(id))
                        .filter(routing_rules::registry_id.eq(registry_id)),
                )
                .execute(self))
                .map(|n| n > 0)
            }

            fn queue_mails(&mut self, at: &str, mails: &[(String, diwan_app::model::MailKind, String)]) -> Result<(), TxError> {
                let rows = mail_rows!(at, mails);
                for chunk in rows.chunks(64) {
                    diesel::insert_into(mail_outbox::table).values(chunk.to_vec()).execute(self)?;
                }
                Ok(())
            }

            fn pki_objects(&mut self) -> R<Vec<PkiObject>> {
                db(pki_objects::table.select(PkiRow::as_select()).order(pki_objects::created_at).load(self))?
                    .into_iter()
                    .map(pki_row)
                    .collect()
            }

            fn insert_pki_object(&mut self, o: &PkiObject) -> R<bool> {
                db(diesel::insert_into(pki_objects::table)
                    .values(PkiRow::from_model(o))
                    .on_conflict_do_nothing()
                    .execute(self))
                .map(|n| n == 1)
            }

            fn revoke_pki_object(&mut self, slot: &str, at: &str) -> R<bool> {
                db(diesel::update(pki_objects::table.find(slot).filter(pki_objects::revoked_at.is_null()))
                    .set(pki_objects::revoked_at.eq(at))
                    .execute(self))
                .map(|n| n == 1)
            }

            fn replace_pki_object(&mut self, slot: &str, o: &PkiObject) -> R<()> {
                let row = PkiRow::from_model(o);
                db(self.$write_tx(|c| {
                    let old: Option<String> = pki_objects::table.find(slot).select(pki_objects::serial).first(c).optional()?;
                    if let Some(serial) = old {
                        diesel::update(pki_objects::table.find(slot))
                            .set(pki_objects::slot.eq(format!("retired:{serial}")))
                            .execute(c)?;
                    }
                    diesel::insert_into(pki_objects::table).values(&row).execute(c)?;
                    Ok(())
                }))
            }

            fn latest_head(&mut self) -> R<Option<SignedHead>> {
                db(log_heads::table
                    .order(log_heads::tree_size.desc())
                    .select((log_heads::tree_size, log_heads::root_hash, log_heads::issued_at, log_heads::jws))
                    .first::<(i64, String, String, String)>(self)
                    .optional())?
                .map(head_row)
                .transpose()
            }

            fn head(&mut self, tree_size: u64) -> R<Option<SignedHead>> {
                let size = i64::try_from(tree_size).unwrap_or(i64::MAX);
                db(log_heads::table
                    .find(size)
                    .select((log_heads::tree_size, log_heads::root_hash, log_heads::issued_at, log_heads::jws))
                    .first::<(i64, String, String, String)>(self)
                    .optional())?
                .map(head_row)
                .transpose()
            }

            fn leaf_hashes(&mut self, from: u64, to: u64) -> R<Vec<[u8; 32]>> {
                let (from, to) = (i64::try_from(from).unwrap_or(i64::MAX), i64::try_from(to).unwrap_or(i64::MAX));
                let rows: Vec<(i64, String)> = db(log_leaves::table
                    .filter(log_leaves::idx.ge(from).and(log_leaves::idx.lt(to)))
                    .order(log_leaves::idx)
                    .select((log_leaves::idx, log_leaves::leaf_hash))
                    .load(self))?;
                let mut out = Vec::with_capacity(rows.len());
                for (k, (idx, hash)) in rows.into_iter().enumerate() {
                    if idx != from + k as i64 {
                        return Err(StoreError::Other(format!("the register log has no entry {}", from + k as i64)));
                    }
                    out.push(unhex(&hash).ok_or_else(|| corrupt("leaf hash"))?);
                }
                Ok(out)
            }

            fn audit_scan(&mut self, visit: &mut dyn FnMut(LogLeaf, Option<diwan_app::log::LogEntry>) -> bool) -> R<AuditLeftovers> {
                const CHUNK: i64 = 500;
                let mut from = 0i64;
                loop {
                    type Leaf = (i64, String, Option<String>, Option<String>, Option<String>, Option<String>, String);
                    let stored: Vec<Leaf> = db(log_leaves::table
                        .filter(log_leaves::idx.ge(from))
                        .order(log_leaves::idx)
                        .limit(CHUNK)
                        .select((
                            log_leaves::idx,
                            log_leaves::kind,
                            log_leaves::correspondence_id,
                            log_leaves::event_id,
                            log_leaves::document_id,
                            log_leaves::parapheur_event_id,
                            log_leaves::leaf_hash,
                        ))
                        .load(self))?;
                    let Some(last) = stored.last().map(|l| l.0) else { break };
                    // (index, kind, subject, history line, hash): the check constraint keeps
                    // exactly one pair of columns set.
                    let leaves: Vec<(i64, String, String, String, String)> = stored
                        .into_iter()
                        .map(|(idx, kind, cid, eid, did, pid, hash)| (idx, kind, cid.or(did).unwrap_or_default(), eid.or(pid).unwrap_or_default(), hash))
                        .collect();
                    let ids: Vec<&str> = leaves.iter().map(|l| l.2.as_str()).collect();
                    let events: Vec<&str> = leaves.iter().map(|l| l.3.as_str()).collect();
                    let docs: Vec<ParapheurRow> = db(parapheur_documents::table.filter(parapheur_documents::id.eq_any(&ids)).select(ParapheurRow::as_select()).load(self))?;
                    let doc_events: Vec<ParapheurEventRow> = db(parapheur_events::table.filter(parapheur_events::id.eq_any(&events)).select(ParapheurEventRow::as_select()).load(self))?;
                    let corrs: Vec<CorrespondenceRow> = db(correspondences::table.filter(correspondences::id.eq_any(&ids)).select(CorrespondenceRow::as_select()).load(self))?;
                    let files: Vec<FileRow> = db(correspondence_files::table.filter(correspondence_files::correspondence_id.eq_any(&ids)).select(FileRow::as_select()).load(self))?;
                    let units: Vec<ConcernRow> = db(correspondence_units::table.filter(correspondence_units::correspondence_id.eq_any(&ids)).select(ConcernRow::as_select()).load(self))?;
                    let evs: Vec<EventRow> = db(correspondence_events::table.filter(correspondence_events::id.eq_any(&events)).select(EventRow::as_select()).load(self))?;
                    let made: Vec<AssignmentRow> = db(assignments::table.filter(assignments::event_id.eq_any(&events)).select(AssignmentRow::as_select()).load(self))?;
                    for (idx, kind, cid, eid, hash) in leaves {
                        let kind = LogKind::parse(&kind).ok_or_else(|| corrupt("log entry kind"))?;
                        let leaf = LogLeaf {
                            index: index(idx)?,
                            kind,
                            leaf_hash: unhex(&hash).unwrap_or([0; 32]),
                            subject_id: cid.clone(),
                            event_id: eid.clone(),
                        };
                        if kind == LogKind::Parapheur {
                            let doc = docs.iter().find(|d| d.id == cid);
                            let event = doc_events.iter().find(|e| e.id == eid && e.document_id == cid);
                            let entry = doc.zip(event).map(|(d, e)| crate::ledger::parapheur_entry(d, e));
                            if !visit(leaf, entry) {
                                return Ok(AuditLeftovers::default());
                            }
                            continue;
                        }
                        let row = corrs.iter().find(|c| c.id == cid);
                        let event = evs.iter().find(|e| e.id == eid);
                        let entry = match (row, event, kind) {
                            (Some(c), Some(e), LogKind::Registration) => Some(crate::ledger::registration_entry(
                                c,
                                &files.iter().filter(|f| f.correspondence_id == cid).collect::<Vec<_>>(),
                                &units.iter().filter(|u| u.correspondence_id == cid).collect::<Vec<_>>(),
                                e,
                            )),
                            (Some(c), Some(e), LogKind::Annulment) => Some(crate::ledger::annulment_entry(c, e)),
                            (Some(c), Some(e), LogKind::Movement) => Some(crate::ledger::movement_entry(
                                c,
                                &made.iter().filter(|a| a.event_id == eid).collect::<Vec<_>>(),
                                e,
                            )),
                            _ => None,
                        };
                        if !visit(leaf, entry) {
                            return Ok(AuditLeftovers::default());
                        }
                    }
                    from = last + 1;
                }
                let logged_events = log_leaves::table.filter(log_leaves::event_id.is_not_null()).select(log_leaves::event_id.assume_not_null());
                let unlogged_events: Vec<(String, String, String)> = db(correspondence_events::table
                    .filter(correspondence_events::id.ne_all(logged_events))
                    .select((correspondence_events::correspondence_id, correspondence_events::id, correspondence_events::kind))
                    .load(self))?;
                let registered = log_leaves::table.filter(log_leaves::kind.eq("registration")).filter(log_leaves::correspondence_id.is_not_null()).select(log_leaves::correspondence_id.assume_not_null());
                let unlogged_correspondences: Vec<String> = db(correspondences::table
                    .filter(correspondences::id.ne_all(registered))
                    .select(correspondences::id)
                    .load(self))?;
                let logged_actions = log_leaves::table.filter(log_leaves::parapheur_event_id.is_not_null()).select(log_leaves::parapheur_event_id.assume_not_null());
                let unlogged_actions: Vec<(String, String, String)> = db(parapheur_events::table
                    .filter(parapheur_events::id.ne_all(logged_actions))
                    .select((parapheur_events::document_id, parapheur_events::id, parapheur_events::kind))
                    .load(self))?;
                Ok(AuditLeftovers { unlogged_events, unlogged_correspondences, unlogged_actions })
            }

            fn receipt(&mut self, correspondence_id: &str, kind: ReceiptKind) -> R<Option<StoredReceipt>> {
                let row: Option<(i64, String, String, Option<String>)> = db(receipts::table
                    .find((correspondence_id, kind.as_str()))
                    .select((receipts::leaf_index, receipts::issued_at, receipts::jws, receipts::pdf_sha256))
                    .first(self)
                    .optional())?;
                let Some((leaf_index, issued_at, jws, pdf)) = row else { return Ok(None) };
                Ok(Some(StoredReceipt {
                    receipt: IssuedReceipt {
                        correspondence_id: correspondence_id.to_owned(),
                        kind,
                        leaf_index: index(leaf_index)?,
                        issued_at: from_text(&issued_at).map_err(|_| corrupt("receipt time"))?,
                        jws,
                    },
                    pdf_sha256: pdf.as_deref().map(diwan_domain::Sha256Digest::parse).transpose().map_err(|_| corrupt("receipt pdf digest"))?,
                }))
            }

            fn set_receipt_pdf(&mut self, correspondence_id: &str, kind: ReceiptKind, pdf: &str) -> R<()> {
                db(diesel::update(receipts::table.find((correspondence_id, kind.as_str())))
                    .set(receipts::pdf_sha256.eq(pdf))
                    .execute(self))
                .map(|_| ())
            }

            fn receipts_without_pdf(&mut self, limit: usize) -> R<Vec<(String, ReceiptKind)>> {
                let rows: Vec<(String, String)> = db(receipts::table
                    .filter(receipts::pdf_sha256.is_null())
                    .order(receipts::issued_at)
                    .limit(i64::try_from(limit).unwrap_or(1000))
                    .select((receipts::correspondence_id, receipts::kind))
                    .load(self))?;
                rows.into_iter()
                    .map(|(id, k)| Ok((id, ReceiptKind::parse(&k).ok_or_else(|| corrupt("receipt kind"))?)))
                    .collect()
            }

            fn correspondence_id_by_number(&mut self, number: &str) -> R<Option<String>> {
                db(correspondences::table
                    .filter(correspondences::registration_number.eq(number))
                    .select(correspondences::id)
                    .first(self)
                    .optional())
            }

            fn correspondence_by_tracking_hash(&mut self, hash: &str) -> R<Option<String>> {
                db(correspondences::table
                    .filter(correspondences::tracking_hash.eq(hash))
                    .select(correspondences::id)
                    .first(self)
                    .optional())
            }

            fn lease_mail(&mut self, now: &str, lease_until: &str, limit: usize) -> R<Vec<OutboxMail>> {
                use mail_outbox as m;
                db(self.$write_tx(|c| {
                    let due: Vec<String> = m::table
                        .filter(m::status.eq("pending"))
                        .filter(m::next_attempt_at.le(now))
                        .filter(m::lease_until.is_null().or(m::lease_until.lt(now)))
                        .order(m::next_attempt_at)
                        .limit(i64::try_from(limit).unwrap_or(16))
                        .select(m::id)
                        .load(c)?;
                    let mut out = Vec::new();
                    for id in due {
                        // Taken only if nobody took it meanwhile.
                        let n = diesel::update(
                            m::table
                                .find(&id)
                                .filter(m::status.eq("pending"))
                                .filter(m::lease_until.is_null().or(m::lease_until.lt(now))),
                        )
                        .set((m::lease_until.eq(lease_until), m::attempts.eq(m::attempts + 1)))
                        .execute(c)?;
                        if n == 1 {
                            out.push(id);
                        }
                    }
                    m::table
                        .filter(m::id.eq_any(&out))
                        .select((m::id, m::correspondence_id, m::receipt_kind, m::recipient, m::status, m::attempts, m::sent_at, m::last_error))
                        .load::<OutboxRow>(c)
                }))?
                .into_iter()
                .map(outbox_row)
                .collect()
            }

            fn lease_deliveries(&mut self, now: &str, lease_until: &str, limit: usize) -> R<Vec<ExchangeRow>> {
                use exchanges as x;
                db(self.$write_tx(|c| {
                    let due: Vec<String> = x::table
                        .filter(x::way.eq("out"))
                        .filter(x::state.eq_any(["pending", "sent"]))
                        .filter(x::next_attempt_at.le(now))
                        .filter(x::lease_until.is_null().or(x::lease_until.lt(now)))
                        .order(x::next_attempt_at)
                        .limit(i64::try_from(limit).unwrap_or(16))
                        .select(x::id)
                        .load(c)?;
                    let mut out = Vec::new();
                    for id in due {
                        // Taken only if nobody took it meanwhile.
                        let n = diesel::update(
                            x::table
                                .find(&id)
                                .filter(x::state.eq_any(["pending", "sent"]))
                                .filter(x::lease_until.is_null().or(x::lease_until.lt(now))),
                        )
                        .set((x::lease_until.eq(lease_until), x::attempts.eq(x::attempts + 1)))
                        .execute(c)?;
                        if n == 1 {
                            out.push(id);
                        }
                    }
                    x::table.filter(x::id.eq_any(&out)).select(ExchangeRow::as_select()).load(c)
                }))
            }

            fn update_delivery(&mut self, id: &str, u: &diwan_app::model::DeliveryUpdate) -> R<()> {
                use exchanges as x;
                db(diesel::update(x::table.find(id).filter(x::state.eq_any(["pending", "sent", "delivered"])))
                    .set((
                        x::state.eq(u.state.as_str()),
                        x::next_attempt_at.eq(u.next_attempt_at.as_ref().map(to_text)),
                        x::lease_until.eq(None::<String>),
                        x::last_error.eq(u.last_error.as_deref()),
                        x::envelope.eq(u.envelope.as_deref()),
                        x::ack_jws.eq(u.ack_jws.as_deref()),
                        x::remote_number.eq(u.remote_number.as_deref()),
                        x::updated_at.eq(to_text(&u.at)),
                    ))
                    .execute(self))
                .map(|_| ())
            }

            fn insert_parapheur(&mut self, doc: &ParapheurRow, steps: &[StepRow], event: &ParapheurEventRow, notary: &dyn Notary) -> R<()> {
                self.$write_tx::<_, TxError, _>(|c| {
                    diesel::insert_into(parapheur_documents::table).values(doc).execute(c)?;
                    for step in steps {
                        diesel::insert_into(parapheur_steps::table).values(step).execute(c)?;
                    }
                    diesel::insert_into(parapheur_events::table).values(event).execute(c)?;
                    let batch = [Notarize { entry: crate::ledger::parapheur_entry(doc, event), subject: NotarySubject::Parapheur }];
                    Queries::notarize(c, notary, &batch)?;
                    Ok(())
                })
                .map_err(StoreError::from)
            }

            fn parapheur(&mut self, id: &str) -> R<Option<ParapheurRows>> {
                let Some(doc) = db(parapheur_documents::table.find(id).select(ParapheurRow::as_select()).first(self).optional())? else {
                    return Ok(None);
                };
                let steps = db(parapheur_steps::table
                    .filter(parapheur_steps::document_id.eq(id))
                    .order((parapheur_steps::stage, parapheur_steps::position))
                    .select(StepRow::as_select())
                    .load(self))?;
                let events = db(parapheur_events::table
                    .filter(parapheur_events::document_id.eq(id))
                    .order((parapheur_events::at, parapheur_events::id))
                    .select(ParapheurEventRow::as_select())
                    .load(self))?;
                Ok(Some((doc, steps, events)))
            }

            fn update_parapheur(&mut self, change: &ParapheurChange, notary: &dyn Notary) -> R<bool> {
                use parapheur_documents as d;
                use register_counters as rc;
                let ParapheurChange { id, expected, status, sha256, at, steps, event, reserve } = change;
                let expected = *expected;
                self.$write_tx::<_, TxError, _>(|c| {
                    let mut event = event.clone();
                    let n = diesel::update(d::table.find(id).filter(d::version.eq(expected)))
                        .set((d::status.eq(status), d::current_sha256.eq(sha256), d::version.eq(expected + 1), d::updated_at.eq(at)))
                        .execute(c)?;
                    if n != 1 {
                        return Ok(false);
                    }
                    if let Some((registry, year)) = reserve {
                        // The next number of the register, taken with the action that needs it.
                        let direction = diwan_domain::Direction::Outgoing;
                        let seq: i64 = diesel::insert_into(rc::table)
                            .values((rc::registry_id.eq(&registry.id), rc::direction.eq(direction.as_str()), rc::year.eq(*year), rc::last_seq.eq(1i64)))
                            .on_conflict((rc::registry_id, rc::direction, rc::year))
                            .do_update()
                            .set(rc::last_seq.eq(rc::last_seq + 1))
                            .returning(rc::last_seq)
                            .get_result(c)?;
                        let number = registry.numbering_format.render(&registry.code, direction, *year, seq);
                        // The history line (and so the log) says which action took the number.
                        let mut detail: serde_json::Value = serde_json::from_str(&event.detail).map_err(|_| TxError::Store(corrupt("parapheur event")))?;
                        detail["registration_number"] = serde_json::Value::from(number.as_str());
                        event.detail = detail.to_string();
                        diesel::update(d::table.find(id))
                            .set((
                                d::registry_id.eq(&registry.id),
                                d::reserved_year.eq(*year),
                                d::reserved_seq.eq(seq),
                                d::registration_number.eq(number.as_str()),
                            ))
                            .execute(c)?;
                    }
                    for step in steps {
                        diesel::update(parapheur_steps::table.find(&step.id)).set(step).execute(c)?;
                    }
                    diesel::insert_into(parapheur_events::table).values(&event).execute(c)?;
                    let doc: ParapheurRow = d::table.find(id).select(ParapheurRow::as_select()).first(c)?;
                    let batch = [Notarize { entry: crate::ledger::parapheur_entry(&doc, &event), subject: NotarySubject::Parapheur }];
                    Queries::notarize(c, notary, &batch)?;
                    Ok(true)
                })
                .map_err(StoreError::from)
            }

            fn parapheur_queue(&mut self, agent_id: &str, roles: &[(String, String)], limit: usize) -> R<Vec<(ParapheurRow, StepRow)>> {
                use parapheur_steps as st;
                let mut found: Vec<StepRow> = db(st::table
                    .filter(st::state.eq("pending"))
                    .filter(st::agent_id.eq(agent_id))
                    .select(StepRow::as_select())
                    .load(self))?;
                for (unit, role) in roles {
                    found.extend(db(st::table
                        .filter(st::state.eq("pending"))
                        .filter(st::agent_id.is_null())
                        .filter(st::unit_id.eq(unit))
                        .filter(st::role.eq(role))
                        .select(StepRow::as_select())
                        .load(self))?);
                }
                let ids: Vec<String> = found.iter().map(|s| s.document_id.clone()).collect();
                let docs: Vec<ParapheurRow> = db(parapheur_documents::table
                    .filter(parapheur_documents::id.eq_any(&ids))
                    .filter(parapheur_documents::status.eq("in_circuit"))
                    .select(ParapheurRow::as_select())
                    .load(self))?;
                let mut out: Vec<(ParapheurRow, StepRow)> = found
                    .into_iter()
                    .filter_map(|s| docs.iter().find(|d| d.id == s.document_id).map(|d| (d.clone(), s)))
                    .collect();
                out.sort_by(|a, b| (&a.0.updated_at, &a.0.id, &a.1.id).cmp(&(&b.0.updated_at, &b.0.id, &b.1.id)));
                out.dedup_by(|a, b| a.1.id == b.1.id);
                out.truncate(limit);
                Ok(out)
            }

            fn parapheur_submitted(&mut self, agent_id: &str, limit: usize) -> R<Vec<ParapheurRow>> {
                use parapheur_documents as d;
                db(d::table
                    .filter(d::submitted_by.eq(agent_id))
                    .order((d::submitted_at.desc(), d::id.desc()))
                    .limit(i64::try_from(limit).unwrap_or(100))
                    .select(ParapheurRow::as_select())
                    .load(self))
            }

            fn link_parapheur_registration(&mut self, id: &str, correspondence_id: &str) -> R<bool> {
                use parapheur_documents as d;
                db(diesel::update(d::table.find(id).filter(d::correspondence_id.is_null()))
                    .set(d::correspondence_id.eq(correspondence_id))
                    .execute(self))
                .map(|n| n == 1)
            }

            fn parapheur_unregistered(&mut self, limit: usize) -> R<Vec<ParapheurRow>> {
                use parapheur_documents as d;
                db(d::table
                    .filter(d::reserved_seq.is_not_null())
                    .filter(d::correspondence_id.is_null())
                    .filter(d::status.eq_any(["completed", "rejected"]))
                    .order(d::updated_at)
                    .limit(i64::try_from(limit).unwrap_or(100))
                    .select(ParapheurRow::as_select())
                    .load(self))
            }

            fn put_circuit_template(&mut self, row: &TemplateRow) -> R<()> {
                use circuit_templates as t;
                db(diesel::insert_into(t::table)
                    .values(row)
                    .on_conflict((t::administration_id, t::document_type))
                    .do_update()
                    .set((t::name.eq(&row.name), t::stages.eq(&row.stages), t::updated_at.eq(&row.updated_at)))
                    .execute(self))
                .map(|_| ())
            }

            fn circuit_templates(&mut self) -> R<Vec<TemplateRow>> {
                use circuit_templates as t;
                db(t::table.order((t::administration_id, t::document_type)).select(TemplateRow::as_select()).load(self))
            }

            fn insert_signing_session(&mut self, row: &SigningSessionRow) -> R<()> {
                db(diesel::insert_into(signing_sessions::table).values(row).execute(self)).map(|_| ())
            }

            fn signing_session(&mut self, id: &str) -> R<Option<SigningSessionRow>> {
                db(signing_sessions::table.find(id).select(SigningSessionRow::as_select()).first(self).optional())
            }

            fn delete_signing_session(&mut self, id: &str) -> R<bool> {
                db(diesel::delete(signing_sessions::table.find(id)).execute(self)).map(|n| n == 1)
            }

            fn expire_signing_sessions(&mut self, now: &str) -> R<Vec<String>> {
                use signing_sessions as x;
                db(self.$write_tx(|c| {
                    let gone: Vec<String> = x::table.filter(x::expires_at.lt(now)).select(x::prepared_sha256).load(c)?;
                    diesel::delete(x::table.filter(x::expires_at.lt(now))).execute(c)?;
                    Ok(gone)
                }))
            }

            fn deliveries_of(&mut self, correspondence_id: &str) -> R<Vec<ExchangeRow>> {
                use exchanges as x;
                db(x::table
                    .filter(x::correspondence_id.eq(correspondence_id))
                    .filter(x::way.eq("out"))
                    .order((x::created_at, x::id))
                    .select(ExchangeRow::as_select())
                    .load(self))
            }

            fn received_exchange(&mut self, peer: &str, message_id: &str) -> R<Option<String>> {
                use exchanges as x;
                db(x::table
                    .filter(x::way.eq("in"))
                    .filter(x::peer.eq(peer))
                    .filter(x::message_id.eq(message_id))
                    .select(x::correspondence_id)
                    .first(self)
                    .optional())
            }

            fn mail_sent(&mut self, id: &str, at: &str) -> R<()> {
                use mail_outbox as m;
                db(diesel::update(m::table.find(id))
                    .set((m::status.eq("sent"), m::sent_at.eq(at), m::lease_until.eq(None::<String>)))
                    .execute(self))
                .map(|_| ())
            }

            fn inbox(&mut self, unit_ids: &[String], limit: usize) -> R<Vec<(CorrespondenceRow, String, String)>> {
                use correspondences as c;
                use correspondence_units as u;
                db(c::table
                    .inner_join(u::table.on(u::correspondence_id.eq(c::id)))
                    .filter(u::unit_id.eq_any(unit_ids))
                    .filter(u::concern.eq_any(["recipient", "registry"]))
                    .filter(c::annulled_at.is_null())
                    .select((CorrespondenceRow::as_select(), u::unit_id, u::concern))
                    .order((c::registered_at.desc(), c::id.desc()))
                    .limit(i64::try_from(limit).unwrap_or(i64::MAX))
                    .load(self))
            }

            fn insert_challenge(&mut self, c: &EmailChallenge) -> R<()> {
                use email_challenges as e;
                db(diesel::insert_into(e::table)
                    .values((
                        e::id.eq(&c.id),
                        e::email.eq(&c.email),
                        e::code_hash.eq(&c.code_hash),
                        e::created_at.eq(to_text(&c.created_at)),
                        e::expires_at.eq(to_text(&c.expires_at)),
                        e::attempts.eq(i32::try_from(c.attempts).unwrap_or(i32::MAX)),
                        e::used_at.eq(c.used_at.as_ref().map(to_text)),
                    ))
                    .execute(self))
                .map(|_| ())
            }

            fn challenge(&mut self, id: &str) -> R<Option<EmailChallenge>> {
                use email_challenges as e;
                let row: Option<(String, String, String, String, String, i32, Option<String>)> = db(e::table
                    .find(id)
                    .select((e::id, e::email, e::code_hash, e::created_at, e::expires_at, e::attempts, e::used_at))
                    .first(self)
                    .optional())?;
                row.map(|(id, email, code_hash, created, expires, attempts, used)| {
                    let time = |t: &str| from_text(t).map_err(|_| corrupt("challenge time"));
                    Ok(EmailChallenge {
                        id,
                        email,
                        code_hash,
                        created_at: time(&created)?,
                        expires_at: time(&expires)?,
                        attempts: u32::try_from(attempts).map_err(|_| corrupt("challenge attempts"))?,
                        used_at: used.as_deref().map(time).transpose()?,
                    })
                })
                .transpose()
            }

            fn challenge_failed_attempt(&mut self, id: &str, max: i32) -> R<bool> {
                use email_challenges as e;
                db(diesel::update(
                    e::table
                        .filter(e::id.eq(id))
                        .filter(e::used_at.is_null())
                        .filter(e::attempts.lt(max)),
                )
                .set(e::attempts.eq(e::attempts + 1))
                .execute(self))
                .map(|n| n == 1)
            }

            fn consume_challenge(&mut self, id: &str, at: &str, max: i32) -> R<bool> {
                use email_challenges as e;
                db(diesel::update(
                    e::table
                        .filter(e::id.eq(id))
                        .filter(e::used_at.is_null())
                        .filter(e::attempts.lt(max)),
                )
                .set(e::used_at.eq(at))
                .execute(self))
                .map(|n| n == 1)
            }

            fn challenges_since(&mut self, email: &str, since: &str) -> R<Vec<String>> {
                use email_challenges as e;
                db(e::table
                    .filter(e::email.eq(email))
                    .filter(e::created_at.ge(since))
                    .order(e::created_at.desc())
                    .select(e::created_at)
                    .limit(100)
                    .load(self))
            }

            fn mail_failed(&mut self, id: &str, error: &str, retry_at: Option<&str>) -> R<()> {
                use mail_outbox as m;
                let status = if retry_at.is_some() { "pending" } else { "failed" };
                db(diesel::update(m::table.find(id))
                    .set((
                        m::status.eq(status),
                        m::last_error.eq(error),
                        m::lease_until.eq(None::<String>),
                        m::next_attempt_at.eq(retry_at.unwrap_or("9999-12-31T00:00:00.000000Z")),
                    ))
                    .execute(self))
                .map(|_| ())
            }

            fn search(&mut self, f: &ListFilter, q: &SearchQuery) -> R<SearchResults> {
                use correspondences as c;
                let (ids, total, total_capped) = db(crate::search::search(self, f, q))?;
                let rows: Vec<CorrespondenceRow> = db(c::table.filter(c::id.eq_any(&ids)).select(CorrespondenceRow::as_select()).load(self))?;
                let mut by_id: std::collections::HashMap<String, CorrespondenceRow> = rows.into_iter().map(|r| (r.id.clone(), r)).collect();
                let mut hits = Vec::with_capacity(ids.len());
                for id in &ids {
                    let Some(row) = by_id.remove(id) else { continue };
                    let d = row.decode()?;
                    let sender_reference = row.sender_reference.clone();
                    hits.push(SearchHit {
                        summary: crate::store::summary(row)?,
                        sender: d.sender,
                        recipient: d.recipient,
                        sender_reference,
                    });
                }
                Ok(SearchResults { hits, total, total_capped })
            }

            fn put_document_text(&mut self, id: &str, sha256: &str, source: TextSource, text: &str, at: &str) -> R<bool> {
                use document_texts as t;
                let body = crate::search::bounded_text(text);
                self.$write_tx::<_, TxError, _>(|c| {
                    let exists: bool = diesel::select(diesel::dsl::exists(correspondences::table.find(id))).get_result(c)?;
                    if !exists {
                        return Ok(false);
                    }
                    diesel::insert_into(t::table)
                        .values((t::correspondence_id.eq(id), t::file_sha256.eq(sha256), t::source.eq(source.as_str()), t::body.eq(&body), t::created_at.eq(at)))
                        .on_conflict((t::correspondence_id, t::file_sha256, t::source))
                        .do_update()
                        .set((t::body.eq(&body), t::created_at.eq(at)))
                        .execute(c)?;
                    Queries::refresh_entries(c, &[id.to_owned()])?;
                    Ok(true)
                })
                .map_err(StoreError::from)
            }

            fn document_texts(&mut self, id: &str) -> R<Vec<DocumentText>> {
                use document_texts as t;
                let rows: Vec<(String, String, String, String, String)> = db(t::table
                    .filter(t::correspondence_id.eq(id))
                    .order((t::file_sha256, t::source))
                    .select((t::correspondence_id, t::file_sha256, t::source, t::body, t::created_at))
                    .load(self))?;
                rows.into_iter()
                    .map(|(correspondence_id, file_sha256, source, body, created)| {
                        Ok(DocumentText {
                            correspondence_id,
                            file_sha256,
                            source: TextSource::parse(&source).ok_or_else(|| corrupt("text source"))?,
                            body,
                            created_at: from_text(&created).map_err(|_| corrupt("text time"))?,
                        })
                    })
                    .collect()
            }

            fn document_text_starts(&mut self, ids: &[String], max_chars: usize) -> R<Vec<(String, String)>> {
                use document_texts as t;
                let n = i32::try_from(max_chars).unwrap_or(i32::MAX);
                db(t::table
                    .filter(t::correspondence_id.eq_any(ids))
                    .order((t::correspondence_id, t::file_sha256, t::source))
                    .select((t::correspondence_id, substr(t::body, 1, n)))
                    .load(self))
            }

            fn refresh_entries(&mut self, ids: &[String]) -> Result<(), TxError> {
                use document_texts as t;
                let rows: Vec<CorrespondenceRow> = correspondences::table.filter(correspondences::id.eq_any(ids)).select(CorrespondenceRow::as_select()).load(self)?;
                let texts: Vec<(String, String, String)> = t::table
                    .filter(t::correspondence_id.eq_any(ids))
                    .order((t::correspondence_id, t::source, t::file_sha256))
                    .select((t::correspondence_id, t::file_sha256, t::source))
                    .load(self)?;
                let mut entries = Vec::with_capacity(rows.len());
                for row in &rows {
                    let mut doc = crate::search::document_for(row);
                    // One text at a time: at most one file's text is in memory.
                    for (_, sha, source) in texts.iter().filter(|(c, _, _)| *c == row.id) {
                        let body: String = t::table.find((&row.id, sha, source)).select(t::body).first(self)?;
                        if !doc.add_text(&body) {
                            break;
                        }
                    }
                    entries.push((row.id.clone(), doc.into_body()));
                }
                SearchSql::write_entries(self, &entries)?;
                Ok(())
            }

            fn index_missing(&mut self, after: Option<&str>, limit: usize) -> R<(usize, Option<String>)> {
                self.$write_tx::<_, TxError, _>(|c| {
                    let ids = SearchSql::unindexed(c, after.unwrap_or(""), limit)?;
                    Queries::refresh_entries(c, &ids)?;
                    let next = if ids.len() < limit { None } else { ids.last().cloned() };
                    Ok((ids.len(), next))
                })
                .map_err(StoreError::from)
            }

            fn lease_text_jobs(&mut self, now: &str, lease_until: &str, limit: usize) -> R<Vec<TextJob>> {
                use correspondence_files as f;
                db(self.$write_tx(|c| {
                    let due: Vec<String> = f::table
                        .filter(f::text_status.is_null())
                        .filter(f::text_lease_until.is_null().or(f::text_lease_until.lt(now)))
                        .order(f::id)
                        .limit(i64::try_from(limit).unwrap_or(8))
                        .select(f::id)
                        .load(c)?;
                    let mut taken = Vec::new();
                    for id in due {
                        // Taken only if nobody took it meanwhile.
                        let n = diesel::update(
                            f::table
                                .find(&id)
                                .filter(f::text_status.is_null())
                                .filter(f::text_lease_until.is_null().or(f::text_lease_until.lt(now))),
                        )
                        .set((f::text_lease_until.eq(lease_until), f::text_attempts.eq(f::text_attempts + 1)))
                        .execute(c)?;
                        if n == 1 {
                            taken.push(id);
                        }
                    }
                    f::table
                        .filter(f::id.eq_any(&taken))
                        .select((f::id, f::correspondence_id, f::sha256, f::media_type, f::size, f::text_attempts, f::pdf_problems))
                        .load::<(String, String, String, String, i64, i32, Option<String>)>(c)
                }))
                .map(|rows| {
                    rows.into_iter()
                        .map(|(file_id, correspondence_id, sha256, media_type, size, attempts, problems)| TextJob {
                            pdf_problems: problems.is_some_and(|p| !matches!(p.trim(), "" | "[]")),
                            file_id,
                            correspondence_id,
                            sha256,
                            media_type,
                            size: u64::try_from(size).unwrap_or(0),
                            attempts: u32::try_from(attempts).unwrap_or(0),
                        })
                        .collect()
                })
            }

            fn text_jobs_done(&mut self, outcomes: &[(String, TextStatus)]) -> R<()> {
                use correspondence_files as f;
                db(self.$write_tx(|c| {
                    for (file_id, status) in outcomes {
                        diesel::update(f::table.find(file_id))
                            .set((f::text_status.eq(status.as_str()), f::text_lease_until.eq(None::<String>)))
                            .execute(c)?;
                    }
                    Ok(())
                }))
            }

            fn dossier(&mut self, correspondence_id: &str) -> R<Option<DossierRow>> {
                db(dossiers::table.find(correspondence_id).select(DossierRow::as_select()).first(self).optional())
            }

            fn insert_dossier(&mut self, row: &DossierRow) -> R<bool> {
                db(diesel::insert_into(dossiers::table).values(row).on_conflict_do_nothing().execute(self)).map(|n| n == 1)
            }

            fn without_dossier(&mut self, limit: usize) -> R<Vec<String>> {
                db(correspondences::table
                    .left_join(dossiers::table)
                    .filter(dossiers::correspondence_id.nullable().is_null())
                    .order(correspondences::registered_at)
                    .limit(i64::try_from(limit).unwrap_or(1000))
                    .select(correspondences::id)
                    .load(self))
            }

            fn outbox_backlog(&mut self) -> R<(i64, Option<String>)> {
                use diesel::dsl::{count_star, min};
                use mail_outbox as m;
                db(m::table
                    .filter(m::status.eq("pending"))
                    .select((count_star(), min(m::created_at)))
                    .first(self))
            }

            fn indicator_tallies(&mut self, unit_ids: &[String], plan: &TallyPlan) -> R<FactTallies> {
                use correspondence_facts as f;
                use indicator_days as d;
                use diesel::dsl::count_star;
                let incoming = || f::direction.eq("incoming");
                let mine = || f::table.filter(f::unit_id.eq_any(unit_ids));
                let days = || d::table.filter(d::unit_id.eq_any(unit_ids));
                let mut t = FactTallies::default();
                if let Some((first, end)) = &plan.days {
                    let rows: Vec<(String, String, String, i64)> = db(days()
                        .filter(d::measure.eq("received"))
                        .filter(d::day.ge(first).and(d::day.lt(end)))
                        .group_by((d::unit_id, d::channel, d::category))
                        .select((d::unit_id, d::channel, d::category, total(d::n)))
                        .load(self))?;
                    t.received.extend(rows.into_iter().map(|(u, ch, cat, n)| (u, ch, (!cat.is_empty()).then_some(cat), n)));
                    t.sent.extend(db(days()
                        .filter(d::measure.eq("sent"))
                        .filter(d::day.ge(first).and(d::day.lt(end)))
                        .group_by(d::unit_id)
                        .select((d::unit_id, total(d::n)))
                        .load::<(String, i64)>(self))?);
                }
                for (a, b) in &plan.edges {
                    t.received.extend(db(mine()
                        .filter(incoming())
                        .filter(f::registered_at.ge(a).and(f::registered_at.lt(b)))
                        .group_by((f::unit_id, f::channel, f::category))
                        .select((f::unit_id, f::channel, f::category, count_star()))
                        .load::<ReceivedRow>(self))?);
                    t.sent.extend(db(mine()
                        .filter(f::direction.eq("outgoing"))
                        .filter(f::registered_at.ge(a).and(f::registered_at.lt(b)))
                        .group_by(f::unit_id)
                        .select((f::unit_id, count_star()))
                        .load::<(String, i64)>(self))?);
                }
                t.before_end = db(days()
                    .filter(d::measure.eq_any(["opened", "closed", "due", "resolved"]))
                    .filter(d::day.lt(&plan.end_day))
                    .group_by((d::unit_id, d::measure))
                    .select((d::unit_id, d::measure, total(d::n)))
                    .load(self))?;
                let (a, b) = &plan.end_edge;
                let mut edge = |measure: &str, rows: Vec<(String, i64)>| {
                    t.before_end.extend(rows.into_iter().map(|(u, n)| (u, measure.to_owned(), n)));
                };
                edge("opened", db(mine().filter(incoming()).filter(f::registered_at.ge(a).and(f::registered_at.lt(b)))
                    .group_by(f::unit_id).select((f::unit_id, count_star())).load(self))?);
                edge("closed", db(mine().filter(incoming()).filter(f::closed_at.ge(a).and(f::closed_at.lt(b)))
                    .group_by(f::unit_id).select((f::unit_id, count_star())).load(self))?);
                edge("due", db(mine().filter(incoming()).filter(f::legal_due_at.ge(a).and(f::legal_due_at.lt(b)))
                    .group_by(f::unit_id).select((f::unit_id, count_star())).load(self))?);
                edge("resolved", db(mine().filter(incoming()).filter(f::resolved_at.ge(a).and(f::resolved_at.lt(b)))
                    .group_by(f::unit_id).select((f::unit_id, count_star())).load(self))?);
                t.answered = db(mine()
                    .filter(incoming())
                    .filter(f::answered_at.ge(&plan.from).and(f::answered_at.lt(&plan.to)))
                    .filter(f::processing_seconds.is_not_null())
                    .group_by((f::unit_id, f::processing_seconds, f::on_time))
                    .select((f::unit_id, f::processing_seconds.assume_not_null(), f::on_time, count_star()))
                    .load(self))?;
                Ok(t)
            }

            fn answered_between(&mut self, unit_ids: &[String], from: &str, to: &str) -> R<Vec<AnsweredRow>> {
                use correspondence_facts as f;
                db(f::table
                    .filter(f::unit_id.eq_any(unit_ids))
                    .filter(f::direction.eq("incoming"))
                    .filter(f::answered_at.ge(from).and(f::answered_at.lt(to)))
                    .select((f::unit_id, f::channel, f::category, f::registered_at, f::answered_at.assume_not_null(), f::legal_due_at))
                    .load(self))
            }

            fn received_between(&mut self, unit_ids: &[String], from: &str, to: &str) -> R<Vec<ReceivedRow>> {
                use correspondence_facts as f;
                use diesel::dsl::count_star;
                db(f::table
                    .filter(f::unit_id.eq_any(unit_ids))
                    .filter(f::direction.eq("incoming"))
                    .filter(f::registered_at.ge(from).and(f::registered_at.lt(to)))
                    .group_by((f::unit_id, f::channel, f::category))
                    .select((f::unit_id, f::channel, f::category, count_star()))
                    .load(self))
            }

            fn first_received(&mut self) -> R<Option<String>> {
                use correspondence_facts as f;
                db(f::table
                    .filter(f::direction.eq("incoming"))
                    .select(diesel::dsl::min(f::registered_at))
                    .first(self))
            }

            fn open_data_months(&mut self) -> R<Vec<String>> {
                db(open_data_months::table
                    .order(open_data_months::month)
                    .select(open_data_months::month)
                    .load(self))
            }

            fn publish_open_data(&mut self, month: &str, at: &str, cells: &[OpenDataCellRow]) -> R<bool> {
                db(self.$write_tx(|c| {
                    // The month's row first: a second publisher waits on it, then finds it.
                    let fresh = diesel::insert_into(open_data_months::table)
                        .values((open_data_months::month.eq(month), open_data_months::published_at.eq(at)))
                        .on_conflict_do_nothing()
                        .execute(c)?;
                    if fresh == 0 {
                        return Ok(false);
                    }
                    for chunk in cells.chunks(500) {
                        diesel::insert_into(open_data_cells::table).values(chunk).execute(c)?;
                    }
                    Ok(true)
                }))
            }

            fn open_data_cells(&mut self, first: &str, last: &str) -> R<Vec<OpenDataCellRow>> {
                use open_data_cells as o;
                db(o::table
                    .filter(o::month.ge(first).and(o::month.le(last)))
                    .order((o::month, o::administration_id, o::category, o::channel))
                    .select(OpenDataCellRow::as_select())
                    .load(self))
            }
        }
    };
}

impl_queries!(SqliteConnection, immediate_transaction, each);
impl_queries!(PgConnection, transaction, together);

//! `diwan_app::Store` over a [`Database`]: reads and small writes through the pool,
//! registrations through the group-commit [`Writer`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diwan_app::log::{LogEntry, LogLeaf, SignedHead};
use diwan_app::model::{
    Administration, Agent, Annulment, AuditLeftovers, Correspondence, CorrespondenceSummary,
    EmailChallenge, Grant, InboxItem, IssuedReceipt, ListFilter, NewCorrespondence, OutboxMail,
    PkiObject, ReceiptKind, Registered, Registry, StoredDossier, StoredReceipt, Token, Unit,
};
use diwan_app::model::{
    AssignmentLine, DocumentText, InboxFilter, MoveRecord, SearchResults, TextSource,
};
use diwan_app::ports::Notary;
use diwan_app::ports::StoreResult;
use diwan_app::{AppError, Store, StoreError};
use diwan_domain::search::SearchQuery;
use diwan_domain::{RegistrationNumber, Role, Sha256Digest};

use crate::blobs::FsBlobStore;
use crate::conn::{Conn, Database, with_conn};
use crate::queries::Queries;
use crate::rows::*;
use crate::time::{from_text, to_text};
use crate::writer::Writer;

/// The store. Cheap to clone; clones share the pool and the writer.
#[derive(Clone)]
pub struct DbStore {
    db: Database,
    writer: Arc<Writer>,
}

impl std::fmt::Debug for DbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbStore")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl DbStore {
    /// Starts the group-commit writer on its own connection.
    pub fn new(db: Database, blobs: Arc<FsBlobStore>) -> Result<Self, crate::DbError> {
        let writer = Writer::start(db.clone(), blobs)?;
        Ok(Self {
            db,
            writer: Arc::new(writer),
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }
}

/// Runs `$body` on a pooled connection.
macro_rules! pooled {
    ($self:ident, |$c:ident| $body:expr) => {{
        let mut pooled = $self.db.conn()?;
        let result = with_conn!(&mut pooled.conn, |$c| $body);
        pooled.noting(result)
    }};
}

/// A read on a pooled connection. In debug builds (the tests) it checks on SQLite that
/// `$body` changed no row: a write must go through [`change!`] and take its turn.
macro_rules! read {
    ($self:ident, |$c:ident| $body:expr) => {{
        let mut pooled = $self.db.conn()?;
        #[cfg(debug_assertions)]
        let before = crate::conn::rows_changed(&mut pooled.conn);
        let result = with_conn!(&mut pooled.conn, |$c| $body);
        #[cfg(debug_assertions)]
        if let (Some(before), Some(after)) = (before, crate::conn::rows_changed(&mut pooled.conn)) {
            assert_eq!(before, after, "a write without its turn: use change!");
        }
        pooled.noting(result)
    }};
}

/// A write on a pooled connection: on SQLite it first waits for its turn at the write lock
/// (see `conn::WriteTurns`), before taking a connection, so no one holds a connection while
/// waiting in line.
macro_rules! change {
    ($self:ident, |$c:ident| $body:expr) => {{
        let _turn = $self.db.write_turn();
        pooled!($self, |$c| $body)
    }};
}

impl Store for DbStore {
    fn ping(&self) -> StoreResult<()> {
        read!(self, |c| {
            use diesel::connection::SimpleConnection as _;
            c.batch_execute("SELECT 1")
                .map_err(crate::conn::store_error)
        })
    }

    fn upsert_administration(&self, a: &Administration) -> StoreResult<Administration> {
        change!(self, |c| c.upsert_administration(a))
    }
    fn upsert_unit(&self, u: &Unit) -> StoreResult<Unit> {
        change!(self, |c| c.upsert_unit(u))
    }
    fn upsert_registry(&self, r: &Registry) -> StoreResult<Registry> {
        change!(self, |c| c.upsert_registry(r))
    }
    fn administrations(&self) -> StoreResult<Vec<Administration>> {
        read!(self, |c| Queries::administrations(c))
    }
    fn units(&self) -> StoreResult<Vec<Unit>> {
        read!(self, |c| Queries::units(c))
    }
    fn registries(&self) -> StoreResult<Vec<Registry>> {
        read!(self, |c| Queries::registries(c))
    }
    fn registry_by_code(&self, code: &str) -> StoreResult<Option<Registry>> {
        read!(self, |c| c.registry_by_code(code))
    }
    fn insert_agent(&self, agent: &Agent) -> StoreResult<()> {
        change!(self, |c| c.insert_agent(agent))
    }
    fn agent(&self, id: &str) -> StoreResult<Option<Agent>> {
        read!(self, |c| Queries::agent(c, id))
    }
    fn agent_by_email(&self, email: &str) -> StoreResult<Option<Agent>> {
        read!(self, |c| c.agent_by_email(email))
    }
    fn agents(&self) -> StoreResult<Vec<Agent>> {
        read!(self, |c| Queries::agents(c))
    }
    fn grant(&self, agent_id: &str, unit_id: Option<&str>, role: Role) -> StoreResult<()> {
        change!(self, |c| c.grant(agent_id, unit_id, role))
    }
    fn revoke_grant(&self, agent_id: &str, unit_id: Option<&str>, role: Role) -> StoreResult<bool> {
        change!(self, |c| c.revoke_grant(agent_id, unit_id, role))
    }
    fn grants(&self, agent_id: &str) -> StoreResult<Vec<Grant>> {
        read!(self, |c| Queries::grants(c, agent_id))
    }
    fn insert_token(&self, token: &Token) -> StoreResult<()> {
        change!(self, |c| c.insert_token(token))
    }
    fn token_by_hash(&self, secret_hash: &str) -> StoreResult<Option<Token>> {
        read!(self, |c| c.token_by_hash(secret_hash))
    }
    fn tokens_of(&self, agent_id: &str) -> StoreResult<Vec<Token>> {
        read!(self, |c| c.tokens_of(agent_id))
    }
    fn revoke_token(&self, agent_id: &str, token_id: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let at = to_text(&at);
        change!(self, |c| c.revoke_token(agent_id, token_id, &at))
    }
    fn register(
        &self,
        new: NewCorrespondence,
        notary: Arc<dyn Notary>,
    ) -> StoreResult<(Registered, Option<IssuedReceipt>)> {
        self.writer.register(new, notary)
    }
    fn correspondence(&self, id: &str) -> StoreResult<Option<Correspondence>> {
        read!(self, |c| Queries::correspondence(c, id))
    }
    fn correspondence_with_files(&self, id: &str) -> StoreResult<Option<Correspondence>> {
        read!(self, |c| Queries::correspondence_with_files(c, id))
    }
    fn receipt_facts(
        &self,
        id: Option<&str>,
        leaf_index: u64,
    ) -> StoreResult<(Option<Correspondence>, Option<diwan_domain::merkle::Hash>)> {
        read!(self, |c| Queries::receipt_facts(c, id, leaf_index))
    }
    fn list(&self, filter: &ListFilter) -> StoreResult<Vec<CorrespondenceSummary>> {
        read!(self, |c| Queries::list(c, filter))
    }
    fn annul(
        &self,
        id: &str,
        annulment: &Annulment,
        notary: Arc<dyn Notary>,
    ) -> StoreResult<Option<IssuedReceipt>> {
        change!(self, |c| Queries::annul(c, id, annulment, notary.as_ref()))
    }
    fn apply_move(&self, m: &MoveRecord, notary: Arc<dyn Notary>) -> StoreResult<bool> {
        change!(self, |c| Queries::apply_move(c, m, notary.as_ref()))
    }
    fn assignment_inbox(&self, filter: &InboxFilter) -> StoreResult<Vec<AssignmentLine>> {
        read!(self, |c| Queries::assignment_inbox(c, filter))
    }
    fn delegations_of(&self, agent_id: &str) -> StoreResult<Vec<diwan_app::model::Delegation>> {
        read!(self, |c| Queries::delegations_of(c, agent_id))?
            .into_iter()
            .map(crate::rows::DelegationRow::into_model)
            .collect()
    }
    fn insert_delegation(&self, d: &diwan_app::model::Delegation) -> StoreResult<()> {
        let row = crate::rows::DelegationRow::from_model(d);
        change!(self, |c| Queries::insert_delegation(c, &row))
    }
    fn revoke_delegation(&self, agent_id: &str, id: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let at = to_text(&at);
        change!(self, |c| Queries::revoke_delegation(c, agent_id, id, &at))
    }
    fn due_follow_ups(
        &self,
        remind_until: chrono::NaiveDate,
        overdue_before: chrono::NaiveDate,
        limit: usize,
    ) -> StoreResult<Vec<diwan_app::model::DueFollowUp>> {
        let (until, before) = (remind_until.to_string(), overdue_before.to_string());
        read!(self, |c| Queries::due_follow_ups(c, &until, &before, limit))
    }
    fn record_follow_up(
        &self,
        due: &diwan_app::model::DueFollowUp,
        at: DateTime<Utc>,
        mails: &[String],
    ) -> StoreResult<bool> {
        let at = to_text(&at);
        change!(self, |c| Queries::record_follow_up(c, due, &at, mails))
    }
    fn agents_on(&self, unit_id: &str, roles: &[Role]) -> StoreResult<Vec<Agent>> {
        let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        read!(self, |c| Queries::agents_on(c, unit_id, &roles))?
            .into_iter()
            .map(AgentRow::into_model)
            .collect()
    }
    fn routing_rules(&self, registry_id: &str) -> StoreResult<Vec<diwan_app::model::RoutingRule>> {
        read!(self, |c| Queries::routing_rules(c, registry_id))?
            .into_iter()
            .map(crate::rows::RuleRow::into_model)
            .collect()
    }
    fn put_routing_rule(&self, rule: &diwan_app::model::RoutingRule) -> StoreResult<()> {
        let row = crate::rows::RuleRow::from_model(rule)?;
        change!(self, |c| Queries::put_routing_rule(c, &row))
    }
    fn delete_routing_rule(&self, registry_id: &str, id: &str) -> StoreResult<bool> {
        change!(self, |c| Queries::delete_routing_rule(c, registry_id, id))
    }
    fn pki_objects(&self) -> StoreResult<Vec<PkiObject>> {
        read!(self, |c| Queries::pki_objects(c))
    }
    fn insert_pki_object(&self, object: &PkiObject) -> StoreResult<bool> {
        change!(self, |c| c.insert_pki_object(object))
    }
    fn revoke_pki_object(&self, slot: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let at = to_text(&at);
        change!(self, |c| c.revoke_pki_object(slot, &at))
    }
    fn replace_pki_object(&self, slot: &str, object: &PkiObject) -> StoreResult<()> {
        change!(self, |c| c.replace_pki_object(slot, object))
    }
    fn latest_head(&self) -> StoreResult<Option<SignedHead>> {
        read!(self, |c| Queries::latest_head(c))
    }
    fn head(&self, tree_size: u64) -> StoreResult<Option<SignedHead>> {
        read!(self, |c| Queries::head(c, tree_size))
    }
    fn leaf_hashes(&self, from: u64, to: u64) -> StoreResult<Vec<diwan_domain::merkle::Hash>> {
        read!(self, |c| Queries::leaf_hashes(c, from, to))
    }
    fn audit_scan(
        &self,
        visit: &mut dyn FnMut(LogLeaf, Option<LogEntry>) -> bool,
    ) -> StoreResult<AuditLeftovers> {
        read!(self, |c| Queries::audit_scan(c, visit))
    }
    fn receipt(
        &self,
        correspondence_id: &str,
        kind: ReceiptKind,
    ) -> StoreResult<Option<StoredReceipt>> {
        read!(self, |c| Queries::receipt(c, correspondence_id, kind))
    }
    fn set_receipt_pdf(
        &self,
        correspondence_id: &str,
        kind: ReceiptKind,
        pdf: &Sha256Digest,
    ) -> StoreResult<()> {
        // The PDF is drawn again from the signed receipt when missing, so its address is
        // written without waiting for the disk: a crash may lose it, never half-write it.
        let _turn = self.db.write_turn();
        let mut pooled = self.db.conn()?;
        match pooled.conn {
            Conn::Sqlite(_) => {
                pooled.sqlite_unsynced(|c| c.set_receipt_pdf(correspondence_id, kind, pdf.as_str()))
            }
            // One statement, one round trip: the setting lasts for the statement's own
            // transaction, whose commit then does not wait for the WAL to reach the disk.
            Conn::Pg(ref mut c) => {
                use diesel::RunQueryDsl as _;
                use diesel::sql_types::Text;
                let set = diesel::sql_query(
                    "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)) \
                     UPDATE receipts SET pdf_sha256 = $3 FROM relaxed \
                     WHERE correspondence_id = $1 AND kind = $2",
                )
                .bind::<Text, _>(correspondence_id)
                .bind::<Text, _>(kind.as_str())
                .bind::<Text, _>(pdf.as_str())
                .execute(c)
                .map(|_| ())
                .map_err(crate::conn::store_error);
                pooled.noting(set)
            }
        }
    }
    fn receipts_without_pdf(&self, limit: usize) -> StoreResult<Vec<(String, ReceiptKind)>> {
        read!(self, |c| Queries::receipts_without_pdf(c, limit))
    }
    fn dossier(&self, correspondence_id: &str) -> StoreResult<Option<StoredDossier>> {
        read!(self, |c| Queries::dossier(c, correspondence_id))?
            .map(DossierRow::into_model)
            .transpose()
    }
    fn insert_dossier(&self, d: &StoredDossier) -> StoreResult<bool> {
        let row = DossierRow::from_model(d)?;
        change!(self, |c| Queries::insert_dossier(c, &row))
    }
    fn without_dossier(&self, limit: usize) -> StoreResult<Vec<String>> {
        read!(self, |c| Queries::without_dossier(c, limit))
    }
    fn correspondence_id_by_number(&self, number: &str) -> StoreResult<Option<String>> {
        read!(self, |c| Queries::correspondence_id_by_number(c, number))
    }
    fn correspondence_by_tracking_hash(&self, tracking_hash: &str) -> StoreResult<Option<String>> {
        read!(self, |c| c.correspondence_by_tracking_hash(tracking_hash))
    }
    fn lease_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMail>> {
        let (now, until) = (to_text(&now), to_text(&lease_until));
        change!(self, |c| c.lease_mail(&now, &until, limit))
    }
    fn lease_text_jobs(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<diwan_app::document_text::TextJob>> {
        let (now, until) = (to_text(&now), to_text(&lease_until));
        change!(self, |c| c.lease_text_jobs(&now, &until, limit))
    }
    fn text_jobs_done(
        &self,
        outcomes: &[(String, diwan_app::document_text::TextStatus)],
    ) -> StoreResult<()> {
        change!(self, |c| c.text_jobs_done(outcomes))
    }
    fn lease_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<diwan_app::model::Delivery>> {
        let (now, until) = (to_text(&now), to_text(&lease_until));
        change!(self, |c| c.lease_deliveries(&now, &until, limit))?
            .into_iter()
            .map(ExchangeRow::into_delivery)
            .collect()
    }
    fn update_delivery(
        &self,
        id: &str,
        update: &diwan_app::model::DeliveryUpdate,
    ) -> StoreResult<()> {
        change!(self, |c| c.update_delivery(id, update))
    }
    fn insert_parapheur(
        &self,
        document: &diwan_app::model::ParapheurDocument,
        steps: &[diwan_app::model::CircuitStep],
        event: &diwan_app::model::ParapheurEvent,
        notary: Arc<dyn Notary>,
    ) -> StoreResult<()> {
        let doc = ParapheurRow::from_model(document);
        let steps: Vec<StepRow> = steps.iter().map(StepRow::from_model).collect();
        let event = ParapheurEventRow::from_model(event);
        change!(self, |c| c.insert_parapheur(
            &doc,
            &steps,
            &event,
            notary.as_ref()
        ))
    }
    fn parapheur(&self, id: &str) -> StoreResult<Option<diwan_app::ports::ParapheurRecord>> {
        let Some((doc, steps, events)) = read!(self, |c| Queries::parapheur(c, id))? else {
            return Ok(None);
        };
        Ok(Some((
            doc.into_model()?,
            steps
                .into_iter()
                .map(StepRow::into_model)
                .collect::<StoreResult<_>>()?,
            events
                .into_iter()
                .map(ParapheurEventRow::into_model)
                .collect::<StoreResult<_>>()?,
        )))
    }
    fn update_parapheur(
        &self,
        u: &diwan_app::model::ParapheurUpdate,
        notary: Arc<dyn Notary>,
    ) -> StoreResult<bool> {
        let change = ParapheurChange {
            id: u.document_id.clone(),
            expected: u.expected_version,
            status: u.status.as_str().to_owned(),
            sha256: u.current_sha256.as_str().to_owned(),
            at: to_text(&u.event.at),
            steps: u.steps.iter().map(StepRow::from_model).collect(),
            event: ParapheurEventRow::from_model(&u.event),
            reserve: u.reserve.as_ref().map(|r| (r.registry.clone(), r.year)),
        };
        change!(self, |c| c.update_parapheur(&change, notary.as_ref()))
    }
    fn parapheur_queue(
        &self,
        agent_id: &str,
        roles: &[(String, String)],
        limit: usize,
    ) -> StoreResult<
        Vec<(
            diwan_app::model::ParapheurDocument,
            diwan_app::model::CircuitStep,
        )>,
    > {
        read!(self, |c| c.parapheur_queue(agent_id, roles, limit))?
            .into_iter()
            .map(|(d, s)| Ok((d.into_model()?, s.into_model()?)))
            .collect()
    }
    fn parapheur_submitted(
        &self,
        agent_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<diwan_app::model::ParapheurDocument>> {
        read!(self, |c| c.parapheur_submitted(agent_id, limit))?
            .into_iter()
            .map(ParapheurRow::into_model)
            .collect()
    }
    fn link_parapheur_registration(&self, id: &str, correspondence_id: &str) -> StoreResult<bool> {
        change!(self, |c| c
            .link_parapheur_registration(id, correspondence_id))
    }
    fn parapheur_unregistered(
        &self,
        limit: usize,
    ) -> StoreResult<Vec<diwan_app::model::ParapheurDocument>> {
        read!(self, |c| c.parapheur_unregistered(limit))?
            .into_iter()
            .map(ParapheurRow::into_model)
            .collect()
    }
    fn put_circuit_template(
        &self,
        template: &diwan_app::model::CircuitTemplate,
    ) -> StoreResult<()> {
        let row = TemplateRow::from_model(template)?;
        change!(self, |c| c.put_circuit_template(&row))
    }
    fn circuit_templates(&self) -> StoreResult<Vec<diwan_app::model::CircuitTemplate>> {
        read!(self, |c| c.circuit_templates())?
            .into_iter()
            .map(TemplateRow::into_model)
            .collect()
    }
    fn insert_signing_session(
        &self,
        session: &diwan_app::model::SigningSession,
    ) -> StoreResult<()> {
        let row = SigningSessionRow::from_model(session);
        change!(self, |c| c.insert_signing_session(&row))
    }
    fn signing_session(&self, id: &str) -> StoreResult<Option<diwan_app::model::SigningSession>> {
        read!(self, |c| c.signing_session(id))?
            .map(SigningSessionRow::into_model)
            .transpose()
    }
    fn delete_signing_session(&self, id: &str) -> StoreResult<bool> {
        change!(self, |c| c.delete_signing_session(id))
    }
    fn expire_signing_sessions(&self, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
        let now = to_text(&now);
        change!(self, |c| c.expire_signing_sessions(&now))
    }
    fn deliveries_of(
        &self,
        correspondence_id: &str,
    ) -> StoreResult<Vec<diwan_app::model::Delivery>> {
        read!(self, |c| Queries::deliveries_of(c, correspondence_id))?
            .into_iter()
            .map(ExchangeRow::into_delivery)
            .collect()
    }
    fn received_exchange(&self, peer: &str, message_id: &str) -> StoreResult<Option<String>> {
        read!(self, |c| Queries::received_exchange(c, peer, message_id))
    }
    fn mail_sent(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let at = to_text(&at);
        change!(self, |c| c.mail_sent(id, &at))
    }
    fn mail_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let retry = retry_at.as_ref().map(to_text);
        change!(self, |c| c.mail_failed(id, error, retry.as_deref()))
    }
    fn inbox(&self, unit_ids: &[String], limit: usize) -> StoreResult<Vec<InboxItem>> {
        let rows = read!(self, |c| c.inbox(unit_ids, limit))?;
        let mut out: Vec<InboxItem> = Vec::with_capacity(rows.len());
        for (row, unit_id, concern) in rows {
            if out.iter().any(|i| i.summary.id == row.id) {
                continue;
            }
            let received_at = crate::time::from_text(&row.received_at)
                .map_err(|_| StoreError::Other("unreadable received_at".into()))?;
            let category = row.category.clone();
            out.push(InboxItem {
                summary: summary(row)?,
                received_at,
                category,
                unit_id,
                concern: diwan_app::model::Concern::parse(&concern)
                    .ok_or_else(|| StoreError::Other("unreadable concern".into()))?,
            });
        }
        Ok(out)
    }
    fn insert_challenge(&self, challenge: &EmailChallenge) -> StoreResult<()> {
        change!(self, |c| c.insert_challenge(challenge))
    }
    fn challenge(&self, id: &str) -> StoreResult<Option<EmailChallenge>> {
        read!(self, |c| c.challenge(id))
    }
    fn challenge_failed_attempt(&self, id: &str, max: u32) -> StoreResult<bool> {
        let max = i32::try_from(max).unwrap_or(i32::MAX);
        change!(self, |c| c.challenge_failed_attempt(id, max))
    }
    fn consume_challenge(&self, id: &str, at: DateTime<Utc>, max: u32) -> StoreResult<bool> {
        let (at, max) = (to_text(&at), i32::try_from(max).unwrap_or(i32::MAX));
        change!(self, |c| c.consume_challenge(id, &at, max))
    }
    fn challenges_since(
        &self,
        email: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        let since = to_text(&since);
        let rows = read!(self, |c| c.challenges_since(email, &since))?;
        rows.iter()
            .map(|t| {
                crate::time::from_text(t)
                    .map_err(|_| StoreError::Other("unreadable challenge time".into()))
            })
            .collect()
    }
    fn search(&self, filter: &ListFilter, query: &SearchQuery) -> StoreResult<SearchResults> {
        read!(self, |c| Queries::search(c, filter, query))
    }
    fn put_document_text(
        &self,
        correspondence_id: &str,
        file_sha256: &str,
        source: TextSource,
        text: &str,
    ) -> Result<(), AppError> {
        if !crate::search::valid_digest(file_sha256) {
            return Err(AppError::unprocessable(
                "invalid_input",
                "file_sha256 is not a SHA-256 digest in hex",
            ));
        }
        let at = to_text(&Utc::now());
        let found = change!(self, |c| c.put_document_text(
            correspondence_id,
            file_sha256,
            source,
            text,
            &at
        ))?;
        if found {
            Ok(())
        } else {
            Err(AppError::not_found("correspondence"))
        }
    }
    fn document_texts(&self, correspondence_id: &str) -> Result<Vec<DocumentText>, AppError> {
        Ok(read!(self, |c| Queries::document_texts(
            c,
            correspondence_id
        ))?)
    }
    fn document_text_starts(
        &self,
        correspondence_ids: &[String],
        max_chars: usize,
    ) -> StoreResult<Vec<(String, String)>> {
        read!(self, |c| c
            .document_text_starts(correspondence_ids, max_chars))
    }
    fn index_missing(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<(usize, Option<String>)> {
        change!(self, |c| c.index_missing(after, limit))
    }
    fn outbox_backlog(&self) -> StoreResult<diwan_app::metrics::OutboxBacklog> {
        let (pending, oldest) = read!(self, |c| c.outbox_backlog())?;
        Ok(diwan_app::metrics::OutboxBacklog {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest: oldest
                .as_deref()
                .map(crate::time::from_text)
                .transpose()
                .map_err(StoreError::Other)?,
        })
    }
    fn pool_state(&self) -> diwan_app::metrics::PoolState {
        self.db.pool_state()
    }
    fn writer_state(&self) -> diwan_app::metrics::WriterState {
        self.writer.state()
    }
    fn indicator_counts(
        &self,
        unit_ids: &[String],
        from: &DateTime<Utc>,
        to: &DateTime<Utc>,
    ) -> StoreResult<std::collections::HashMap<String, diwan_app::model::FactCounts>> {
        let plan = tally_plan(from, to);
        let t = read!(self, |c| Queries::indicator_tallies(c, unit_ids, &plan))?;
        let mut out: std::collections::HashMap<String, diwan_app::model::FactCounts> =
            std::collections::HashMap::new();
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        for (unit, channel, category, count) in t.received {
            // A day total back at zero (its letters moved to another unit) is no line.
            if count == 0 {
                continue;
            }
            let received = &mut out.entry(unit).or_default().received;
            match received
                .iter_mut()
                .find(|(ch, cat, _)| *ch == channel && *cat == category)
            {
                Some(line) => line.2 += n(count),
                None => received.push((channel, category, n(count))),
            }
        }
        for (unit, count) in t.sent {
            out.entry(unit).or_default().sent += n(count);
        }
        // Overdue at the end: deadline passed before it, minus those closed before it too.
        let mut resolved: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        for (unit, measure, count) in t.before_end {
            let c = out.entry(unit.clone()).or_default();
            match measure.as_str() {
                "opened" => c.opened_before_end += n(count),
                "closed" => c.closed_before_end += n(count),
                "due" => c.overdue_at_end += n(count),
                _ => *resolved.entry(unit).or_default() += n(count),
            }
        }
        for (unit, r) in resolved {
            let c = out.entry(unit).or_default();
            c.overdue_at_end = c.overdue_at_end.saturating_sub(r);
        }
        for (unit, seconds, on_time, count) in t.answered {
            let c = out.entry(unit).or_default();
            c.answered.push((seconds, n(count)));
            if let Some(on_time) = on_time {
                c.answered_known += n(count);
                c.answered_on_time += if on_time == 1 { n(count) } else { 0 };
            }
        }
        Ok(out)
    }

    fn answered_between(
        &self,
        unit_ids: &[String],
        from: &DateTime<Utc>,
        to: &DateTime<Utc>,
    ) -> StoreResult<Vec<diwan_app::model::AnsweredFact>> {
        let (from, to) = (to_text(from), to_text(to));
        let rows = read!(self, |c| Queries::answered_between(c, unit_ids, &from, &to))?;
        let time = |s: &str| {
            from_text(s).map_err(|e| StoreError::Other(format!("unreadable indicator time: {e}")))
        };
        rows.into_iter()
            .map(|(unit_id, channel, category, registered, answered, due)| {
                Ok(diwan_app::model::AnsweredFact {
                    unit_id,
                    channel,
                    category,
                    registered_at: time(&registered)?,
                    answered_at: time(&answered)?,
                    legal_due_at: due.as_deref().map(time).transpose()?,
                })
            })
            .collect()
    }

    fn received_between(
        &self,
        unit_ids: &[String],
        from: &DateTime<Utc>,
        to: &DateTime<Utc>,
    ) -> StoreResult<Vec<diwan_app::model::ReceivedCount>> {
        let (from, to) = (to_text(from), to_text(to));
        let rows = read!(self, |c| Queries::received_between(c, unit_ids, &from, &to))?;
        Ok(rows
            .into_iter()
            .map(|(unit, channel, category, n)| {
                (unit, channel, category, u64::try_from(n).unwrap_or(0))
            })
            .collect())
    }
    fn first_received(&self) -> StoreResult<Option<DateTime<Utc>>> {
        read!(self, |c| Queries::first_received(c))?
            .as_deref()
            .map(from_text)
            .transpose()
            .map_err(|e| StoreError::Other(format!("unreadable registration time: {e}")))
    }
    fn open_data_months(&self) -> StoreResult<Vec<String>> {
        read!(self, |c| Queries::open_data_months(c))
    }
    fn publish_open_data(
        &self,
        month: &str,
        at: &DateTime<Utc>,
        cells: &[diwan_app::model::OpenDataCell],
    ) -> StoreResult<bool> {
        let rows: Vec<crate::rows::OpenDataCellRow> = cells
            .iter()
            .map(crate::rows::OpenDataCellRow::from_model)
            .collect();
        let at = to_text(at);
        change!(self, |c| Queries::publish_open_data(c, month, &at, &rows))
    }
    fn open_data_cells(
        &self,
        first: &str,
        last: &str,
    ) -> StoreResult<Vec<diwan_app::model::OpenDataCell>> {
        let rows = read!(self, |c| Queries::open_data_cells(c, first, last))?;
        Ok(rows
            .into_iter()
            .map(crate::rows::OpenDataCellRow::into_model)
            .collect())
    }
}

/// How `[from, to)` is counted: the whole UTC days inside it from the day totals, the rest
/// from the facts rows; and what lies before `to`.
fn tally_plan(from: &DateTime<Utc>, to: &DateTime<Utc>) -> crate::queries::TallyPlan {
    let midnight = |d: chrono::NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
    let first = if from.time() == chrono::NaiveTime::MIN {
        from.date_naive()
    } else {
        from.date_naive()
            .succ_opt()
            .unwrap_or(chrono::NaiveDate::MAX)
    };
    let end = to.date_naive();
    let (days, edges) = if first < end {
        (
            Some((first.to_string(), end.to_string())),
            vec![
                (to_text(from), to_text(&midnight(first))),
                (to_text(&midnight(end)), to_text(to)),
            ],
        )
    } else {
        (None, vec![(to_text(from), to_text(to))])
    };
    crate::queries::TallyPlan {
        from: to_text(from),
        to: to_text(to),
        days,
        edges: edges.into_iter().filter(|(a, b)| a < b).collect(),
        end_day: end.to_string(),
        end_edge: (to_text(&midnight(end)), to_text(to)),
    }
}

/// The rows one registration writes.
pub struct RegistrationRows {
    pub correspondence: CorrespondenceRow,
    pub files: Vec<FileRow>,
    pub concerns: Vec<ConcernRow>,
    pub event: EventRow,
    pub exchange: Option<ExchangeRow>,
    pub fact: crate::rows::FactRow,
}

pub(crate) fn rows_for(
    job: &NewCorrespondence,
    year: i32,
    seq: i64,
    number: &RegistrationNumber,
) -> StoreResult<RegistrationRows> {
    let r = &job.request;
    let json = |p: &diwan_domain::Party| {
        serde_json::to_string(p).map_err(|e| StoreError::Other(format!("party: {e}")))
    };
    let correspondence = CorrespondenceRow {
        id: job.id.clone(),
        registry_id: job.registry.id.clone(),
        direction: r.direction.as_str().to_owned(),
        year,
        seq,
        registration_number: number.as_str().to_owned(),
        channel: r.channel.as_str().to_owned(),
        subject: r.subject.clone(),
        sender: json(&r.sender)?,
        recipient: json(&r.recipient)?,
        sender_name: r.sender.name.clone(),
        recipient_name: r.recipient.name.clone(),
        confidentiality: r.confidentiality.as_str().to_owned(),
        priority: r.priority.as_str().to_owned(),
        category: r.category.clone(),
        sender_reference: r.sender_reference.clone(),
        sender_date: r.sender_date.map(|d| d.to_string()),
        received_at: to_text(&job.received_at),
        registered_at: to_text(&job.registered_at),
        registered_by: job.registered_by.clone(),
        tracking_hash: diwan_app::ids::secret_hash(&job.tracking_code),
        search_text: job.search_text.clone(),
        annulled_at: None,
        annulled_by: None,
        annul_reason: None,
        in_reply_to: job.in_reply_to.clone(),
    };
    let files = job
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            Ok(FileRow {
                id: f.id.clone(),
                correspondence_id: job.id.clone(),
                position: i32::try_from(i).map_err(|e| StoreError::Other(e.to_string()))?,
                name: f.name.clone(),
                media_type: f.blob.media_type().to_owned(),
                size: i64::try_from(f.blob.size()).map_err(|e| StoreError::Other(e.to_string()))?,
                sha256: f.blob.sha256().as_str().to_owned(),
                pdf_pages: f
                    .pdf
                    .as_ref()
                    .and_then(|p| p.pages)
                    .and_then(|n| i32::try_from(n).ok()),
                pdf_problems: f
                    .pdf
                    .as_ref()
                    .map(|p| serde_json::to_string(&p.problems))
                    .transpose()
                    .map_err(|e| StoreError::Other(format!("file problems: {e}")))?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let concerns = job
        .concerned_units
        .iter()
        .map(|cu| ConcernRow {
            correspondence_id: job.id.clone(),
            unit_id: cu.unit_id.clone(),
            concern: cu.concern.as_str().to_owned(),
        })
        .collect();
    let event = EventRow {
        id: diwan_app::ids::new_id().map_err(|e| StoreError::Other(e.to_string()))?,
        correspondence_id: job.id.clone(),
        at: to_text(&job.registered_at),
        kind: "registered".into(),
        actor_id: Some(job.registered_by.clone()),
        detail: serde_json::json!({ "registration_number": number.as_str() }).to_string(),
    };
    let exchange = job
        .exchange
        .as_ref()
        .map(|link| ExchangeRow::for_registration(&job.id, link, &to_text(&job.registered_at)));
    let fact = crate::rows::FactRow {
        correspondence_id: job.id.clone(),
        unit_id: job.registry.unit_id.clone(),
        direction: correspondence.direction.clone(),
        channel: correspondence.channel.clone(),
        category: correspondence.category.clone(),
        registered_at: correspondence.registered_at.clone(),
        legal_due_at: job.legal_due_at.as_ref().map(to_text),
        answered_at: None,
        closed_at: None,
        processing_seconds: None,
        on_time: None,
        resolved_at: None,
    };
    Ok(RegistrationRows {
        correspondence,
        files,
        concerns,
        event,
        exchange,
        fact,
    })
}

pub(crate) fn assemble(
    row: CorrespondenceRow,
    registry_code: &str,
    files: Vec<FileRow>,
    concerned: Vec<ConcernRow>,
    events: Vec<EventRow>,
) -> StoreResult<Correspondence> {
    let d = row.decode()?;
    Ok(Correspondence {
        registry_code: diwan_domain::Code::parse("registry", registry_code)
            .map_err(|e| StoreError::Other(e.to_string()))?,
        registration_number: d.number,
        direction: d.direction,
        channel: d.channel,
        sender: d.sender,
        recipient: d.recipient,
        confidentiality: d.confidentiality,
        priority: d.priority,
        sender_date: d.sender_date,
        received_at: d.received_at,
        registered_at: d.registered_at,
        status: if d.annulment.is_some() {
            diwan_domain::Status::Annulled
        } else {
            diwan_domain::Status::Registered
        },
        assignments: Vec::new(),
        in_reply_to: row.in_reply_to.clone(),
        annulment: d.annulment,
        files: files
            .into_iter()
            .map(FileRow::into_model)
            .collect::<StoreResult<_>>()?,
        concerned_units: concerned
            .into_iter()
            .map(ConcernRow::into_model)
            .collect::<StoreResult<_>>()?,
        history: events
            .into_iter()
            .map(EventRow::into_model)
            .collect::<StoreResult<_>>()?,
        id: row.id,
        registry_id: row.registry_id,
        year: row.year,
        seq: row.seq,
        subject: row.subject,
        category: row.category,
        sender_reference: row.sender_reference,
        registered_by: row.registered_by,
    })
}

pub(crate) fn summary(row: CorrespondenceRow) -> StoreResult<CorrespondenceSummary> {
    let d = row.decode()?;
    Ok(CorrespondenceSummary {
        id: row.id,
        registration_number: d.number,
        direction: d.direction,
        channel: d.channel,
        subject: row.subject,
        sender_name: row.sender_name,
        recipient_name: row.recipient_name,
        confidentiality: d.confidentiality,
        priority: d.priority,
        registered_at: d.registered_at,
        annulled: d.annulment.is_some(),
    })
}

/// The index entry of a registration being stored: (id, document).
pub(crate) fn index_entry(rows: &RegistrationRows) -> (String, String) {
    let doc = crate::search::document_for(&rows.correspondence);
    (rows.correspondence.id.clone(), doc.into_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store on a new SQLite database of one pooled connection, in a directory of its own.
    fn sqlite_store() -> (std::path::PathBuf, Database, DbStore) {
        let dir =
            std::env::temp_dir().join(format!("diwan-store-{}", diwan_app::ids::new_id().unwrap()));
        let db = Database::open(&format!("sqlite://{}", dir.join("t.db").display()), 1).unwrap();
        db.migrate().unwrap();
        let blobs = Arc::new(FsBlobStore::open(&dir, db.clone()).unwrap());
        let store = DbStore::new(db.clone(), blobs).unwrap();
        (dir, db, store)
    }

    /// On SQLite a receipt PDF's address is written without waiting for the disk, and the
    /// pool's connections are left at `synchronous = FULL` (2), also when recording failed.
    #[test]
    fn a_receipt_pdf_address_leaves_the_connection_durable() {
        let (dir, db, store) = sqlite_store();
        let digest = Sha256Digest::parse(&"ab".repeat(32)).unwrap();
        let synchronous = || crate::conn::sqlite_synchronous(&mut db.conn().unwrap().conn);
        assert_eq!(synchronous(), 2);
        store
            .set_receipt_pdf("no-such-letter", ReceiptKind::Receipt, &digest)
            .unwrap();
        assert_eq!(synchronous(), 2);
        db.execute_batch("DROP TABLE receipts").unwrap();
        assert!(
            store
                .set_receipt_pdf("no-such-letter", ReceiptKind::Receipt, &digest)
                .is_err()
        );
        assert_eq!(synchronous(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Verification's lookup finds a log leaf also when the correspondence the receipt names
    /// is not in the register, and says when the log has no such entry.
    #[test]
    fn receipt_facts_read_the_leaf_without_a_correspondence() {
        let (dir, db, store) = sqlite_store();
        let hash = "ab".repeat(32);
        // A leaf about a document no row holds: the pool's only connection checks no keys.
        db.execute_batch(&format!(
            "PRAGMA foreign_keys = OFF; INSERT INTO log_leaves \
             (idx, kind, document_id, parapheur_event_id, leaf_hash) \
             VALUES (0, 'parapheur', 'd', 'e', '{hash}'), (1, 'parapheur', 'd', 'f', 'zz')"
        ))
        .unwrap();
        let (found, leaf) = store.receipt_facts(Some("no-such-letter"), 0).unwrap();
        assert!(found.is_none());
        assert_eq!(leaf, Some([0xab; 32]));
        let (found, leaf) = store.receipt_facts(None, 0).unwrap();
        assert!(found.is_none());
        assert_eq!(leaf, Some([0xab; 32]), "without an id, the leaf alone");
        assert!(
            store.receipt_facts(Some("no-such-letter"), 1).is_err(),
            "bad hex"
        );
        assert_eq!(
            store.receipt_facts(Some("no-such-letter"), 2).unwrap().1,
            None
        );
        assert_eq!(
            store
                .receipt_facts(Some("no-such-letter"), u64::MAX)
                .unwrap()
                .1,
            None
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

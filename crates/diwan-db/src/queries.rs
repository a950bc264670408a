//! Every query, written once and implemented for both connection types by `impl_queries!`.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diwan_app::StoreError;
use diwan_app::model::{
    Administration, Agent, Annulment, Correspondence, CorrespondenceSummary, Grant, ListFilter,
    NewCorrespondence, Registered, Registry, Token, Unit,
};
use diwan_domain::Role;

use crate::conn::store_error;
use crate::pack::PackWriter;
use crate::rows::*;
use crate::schema::*;
use crate::time::to_text;

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

fn db<T>(r: QueryResult<T>) -> R<T> {
    r.map_err(store_error)
}

fn new_id() -> R<String> {
    diwan_app::ids::new_id().map_err(|e| StoreError::Other(e.to_string()))
}

pub trait Queries {
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
    fn list(&mut self, f: &ListFilter) -> R<Vec<CorrespondenceSummary>>;
    fn annul(&mut self, id: &str, a: &Annulment) -> R<bool>;
    fn file_referenced(&mut self, sha256: &str) -> R<bool>;
    fn packed_blobs(&mut self) -> R<Vec<(String, String, i64, i64)>>;
    fn blob_location(&mut self, sha256: &str) -> R<Option<(String, i64, i64)>>;
    /// Stores a batch of registrations in one transaction (retried without any job that fails).
    /// Returns one result per job (in the jobs' order), or the error of the whole transaction.
    fn register_batch(
        &mut self,
        jobs: &mut [NewCorrespondence],
        pack: &mut PackWriter,
    ) -> Result<Vec<R<Registered>>, StoreError>;
    /// Stores the jobs `active` with one statement per table and one counter update per
    /// register: the fast path. Any failure fails the whole call (the caller then falls back to
    /// job by job).
    fn insert_many(
        &mut self,
        jobs: &mut [NewCorrespondence],
        active: &[usize],
        pack: &mut PackWriter,
    ) -> Result<Vec<(usize, Registered)>, TxError>;
    /// Allocates the next number of the job's register, stores its rows, packs its small files.
    fn insert_one(
        &mut self,
        job: &mut NewCorrespondence,
        pack: &mut PackWriter,
    ) -> Result<Registered, TxError>;
}

macro_rules! impl_queries {
    ($conn:ty, $write_tx:ident) => {
        impl Queries for $conn {
            fn upsert_administration(&mut self, a: &Administration) -> R<Administration> {
                let row = AdministrationRow::from_model(a);
                db(self.$write_tx(|c| {
                    diesel::insert_into(administrations::table)
                        .values(&row)
                        .on_conflict(administrations::code)
                        .do_update()
                        .set((administrations::name_ar.eq(&row.name_ar), administrations::name_fr.eq(&row.name_fr)))
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
                crate::store::assemble(row, &registry_code, files, concerned, events).map(Some)
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
                if let Some(t) = &f.text {
                    q = q.filter(c::search_text.like(crate::store::like_pattern(t)).escape('\\'));
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

            fn annul(&mut self, id: &str, a: &Annulment) -> R<bool> {
                let at = to_text(&a.at);
                let event = EventRow {
                    id: new_id()?,
                    correspondence_id: id.to_owned(),
                    at: at.clone(),
                    kind: "annulled".into(),
                    actor_id: Some(a.by.clone()),
                    detail: serde_json::json!({ "reason": a.reason }).to_string(),
                };
                db(self.$write_tx(|c| {
                    let n = diesel::update(correspondences::table.find(id).filter(correspondences::annulled_at.is_null()))
                        .set((
                            correspondences::annulled_at.eq(&at),
                            correspondences::annulled_by.eq(&a.by),
                            correspondences::annul_reason.eq(&a.reason),
                        ))
                        .execute(c)?;
                    if n > 0 {
                        diesel::insert_into(correspondence_events::table).values(&event).execute(c)?;
                    }
                    Ok(n > 0)
                }))
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

            fn register_batch(&mut self, jobs: &mut [NewCorrespondence], pack: &mut PackWriter) -> Result<Vec<R<Registered>>, StoreError> {
                let mut order: Vec<usize> = (0..jobs.len()).collect();
                // A fixed lock order on the counter rows: two processes' batches never deadlock.
                order.sort_by(|&a, &b| {
                    let key = |j: &NewCorrespondence| (j.registry.id.clone(), j.request.direction.as_str());
                    key(&jobs[a]).cmp(&key(&jobs[b]))
                });
                let mut results: Vec<Option<R<Registered>>> = (0..jobs.len()).map(|_| None).collect();
                if order.len() > 1 {
                    pack.begin_batch();
                    let batch_mark = pack.mark();
                    let mut done = Vec::new();
                    let fast = self.$write_tx::<_, TxError, _>(|c| {
                        done = Queries::insert_many(c, jobs, &order, pack)?;
                        pack.sync().map_err(TxError::Io)
                    });
                    match fast {
                        Ok(()) => {
                            for (i, r) in done {
                                results[i] = Some(Ok(r));
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
                    let mut done: Vec<(usize, Registered)> = Vec::with_capacity(active.len());
                    let outcome = self.$write_tx::<_, TxError, _>(|c| {
                        for &i in &active {
                            match Queries::insert_one(c, &mut jobs[i], pack) {
                                Ok(r) => done.push((i, r)),
                                Err(e) => {
                                    culprit = Some((i, e));
                                    return Err(TxError::Store(StoreError::Other("batch retried".into())));
                                }
                            }
                        }
                        // The packed bytes are durable before the rows that point to them commit.
                        pack.sync().map_err(TxError::Io)
                    });
                    match (outcome, culprit) {
                        (Ok(()), _) => {
                            for (i, r) in done {
                                results[i] = Some(Ok(r));
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
                Ok(results
                    .into_iter()
                    .map(|r| r.unwrap_or_else(|| Err(StoreError::Other("job left out of its batch".into()))))
                    .collect())
            }

            fn insert_many(&mut self, jobs: &mut [NewCorrespondence], active: &[usize], pack: &mut PackWriter) -> Result<Vec<(usize, Registered)>, TxError> {
                use register_counters as rc;
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
                let digests: Vec<&str> = fresh.iter().map(|(s, _)| s.as_str()).collect();
                let known: Vec<String> = blob_packs::table.filter(blob_packs::sha256.eq_any(&digests)).select(blob_packs::sha256).load(self)?;
                let mut index = Vec::with_capacity(fresh.len());
                for (sha, bytes) in fresh.iter().filter(|(s, _)| !known.contains(s)) {
                    let (segment, offset) = pack.append(bytes).map_err(TxError::Io)?;
                    index.push((
                        blob_packs::sha256.eq(sha.clone()),
                        blob_packs::segment.eq(segment),
                        blob_packs::pack_offset.eq(i64::try_from(offset).unwrap_or(i64::MAX)),
                        blob_packs::pack_length.eq(i64::try_from(bytes.len()).unwrap_or(i64::MAX)),
                    ));
                }
                // The segment syncs while the rows are written; the commit waits for it.
                pack.start_sync().map_err(TxError::Io)?;
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
                let mut out = Vec::with_capacity(active.len());
                let mut rows = Vec::with_capacity(active.len());
                for ((registry_id, direction, year), members) in &groups {
                    let k = i64::try_from(members.len()).unwrap_or(i64::MAX);
                    let last: i64 = diesel::insert_into(rc::table)
                        .values((rc::registry_id.eq(registry_id), rc::direction.eq(*direction), rc::year.eq(*year), rc::last_seq.eq(k)))
                        .on_conflict((rc::registry_id, rc::direction, rc::year))
                        .do_update()
                        .set(rc::last_seq.eq(rc::last_seq + k))
                        .returning(rc::last_seq)
                        .get_result(self)?;
                    for (n, &i) in members.iter().enumerate() {
                        let seq = last - k + 1 + i64::try_from(n).unwrap_or(0);
                        let job = &jobs[i];
                        let number = job.registry.numbering_format.render(&job.registry.code, job.request.direction, *year, seq);
                        rows.push(crate::store::rows_for(job, *year, seq, &number).map_err(TxError::Store)?);
                        out.push((i, Registered { seq, year: *year, registration_number: number }));
                    }
                }
                let correspondences: Vec<_> = rows.iter().map(|r| &r.correspondence).collect();
                let files: Vec<_> = rows.iter().flat_map(|r| &r.files).collect();
                let concerns: Vec<_> = rows.iter().flat_map(|r| &r.concerns).collect();
                let events: Vec<_> = rows.iter().map(|r| &r.event).collect();
                for chunk in correspondences.chunks(32) {
                    diesel::insert_into(correspondences::table).values(chunk.iter().copied().collect::<Vec<_>>()).execute(self)?;
                }
                for chunk in files.chunks(128) {
                    diesel::insert_into(correspondence_files::table).values(chunk.iter().copied().collect::<Vec<_>>()).execute(self)?;
                }
                for chunk in concerns.chunks(256) {
                    diesel::insert_into(correspondence_units::table).values(chunk.iter().copied().collect::<Vec<_>>()).execute(self)?;
                }
                for chunk in events.chunks(128) {
                    diesel::insert_into(correspondence_events::table).values(chunk.iter().copied().collect::<Vec<_>>()).execute(self)?;
                }
                for chunk in index.chunks(128) {
                    let inserted = diesel::insert_into(blob_packs::table).values(chunk.to_vec()).on_conflict(blob_packs::sha256).do_nothing().execute(self)?;
                    if inserted != chunk.len() {
                        return Err(TxError::Store(StoreError::Conflict("content packed meanwhile".into())));
                    }
                }
                Ok(out)
            }

            fn insert_one(&mut self, job: &mut NewCorrespondence, pack: &mut PackWriter) -> Result<Registered, TxError> {
                use register_counters as rc;
                let year = job.year;
                let direction = job.request.direction.as_str();
                // One statement: create the register's counter at 1, or take the next number.
                let seq: i64 = diesel::insert_into(rc::table)
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
                    .get_result(self)?;
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
                Ok(Registered { seq, year, registration_number: number })
            }
        }
    };
}

impl_queries!(SqliteConnection, immediate_transaction);
impl_queries!(PgConnection, transaction);

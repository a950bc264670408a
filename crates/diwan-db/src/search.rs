//! Full-text search in the database: the index entries and the search itself.
//!
//! An entry is the document [`diwan_domain::search::IndexDocument`] builds for a correspondence:
//! its markers (register year; UTC year and month of registration) and the normalised words of
//! its subject, parties, sender's reference, registration number and document texts, each
//! followed by its prefix tokens. SQLite keeps it in an FTS5 table (tokenizer `ascii`: it splits
//! on the spaces and keeps every word whole), PostgreSQL as a `tsvector` made with
//! `array_to_tsvector` (the words as they are) under a GIN index. A query is the same list of
//! words on both, each quoted, so nothing typed can reach either query syntax.
//!
//! The index is asked for the query's words only (a prefix term of up to
//! [`diwan_domain::search::MAX_PREFIX_TOKEN_CHARS`] characters as its prefix token: one list,
//! not a merge of every word it begins), and the year's marker when a year is asked. Registry,
//! direction, visibility and the cursor are tested on the joined register rows: a marker that
//! every letter of a register carries would make the index read a list as long as the
//! register for every query. (The year is the exception: the index gives its matches in
//! storage order, oldest first, so a year tested on the rows would be reached only after every
//! match of the years before it.)
//!
//! The search never sorts more than a bounded number of rows, however common the words:
//!
//! 1. count the matches the caller may see, stopping at [`COUNT_CAP`] + 1 (this is the total;
//!    on PostgreSQL with a year asked, month by month as in 3, unless the first months show
//!    the words are not common, when the rest of the year is counted at once);
//! 2. if there are at most [`COUNT_CAP`], sort them all and take the page;
//! 3. otherwise walk back in time one UTC month at a time (newest first, within the span the
//!    filters and the cursor allow), asking the index for the words and the month's marker,
//!    until the page is full. A query that matched more than [`COUNT_CAP`] letters is common
//!    enough that a few months fill a page; a month holds what a month holds, not what the
//!    register holds; and months never overlap, so pages come out exactly newest first.

use diesel::connection::SimpleConnection;
use diesel::pg::Pg;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diwan_app::model::ListFilter;
use diwan_domain::search::{IndexDocument, Marker, SearchQuery};
use diwan_domain::{Party, Sha256Digest};

use crate::rows::CorrespondenceRow;
use crate::time::to_text;
use crate::together::{Part, Together};

/// Matches are counted up to this many; fewer are sorted at once.
pub const COUNT_CAP: usize = 1000;
/// A document text is kept up to this many bytes.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

// --- entries ---------------------------------------------------------------------------------

/// The index document of a correspondence from its row and the units it concerns; the caller
/// adds document texts to it.
pub(crate) fn document_for(row: &CorrespondenceRow) -> IndexDocument {
    let mut doc = IndexDocument::new();
    doc.mark(Marker::Year(row.year));
    if let Some((year, month)) = year_month(&row.registered_at) {
        doc.mark(Marker::Month(year, month));
    }
    doc.add_text(&row.subject);
    for (json, name) in [
        (&row.sender, &row.sender_name),
        (&row.recipient, &row.recipient_name),
    ] {
        match serde_json::from_str::<Party>(json) {
            Ok(p) => {
                for text in diwan_domain::search::party_texts(&p) {
                    doc.add_text(text);
                }
            }
            Err(_) => {
                doc.add_text(name);
            }
        }
    }
    if let Some(reference) = &row.sender_reference {
        doc.add_text(reference);
    }
    doc.add_text(&row.registration_number);
    doc
}

/// Year and month of a stored time (`YYYY-MM-…`, UTC).
fn year_month(stored: &str) -> Option<(i32, u32)> {
    let year = stored.get(0..4)?.parse().ok()?;
    let month = stored.get(5..7)?.parse().ok()?;
    (1..=12).contains(&month).then_some((year, month))
}

/// A document text as stored: at most [`MAX_TEXT_BYTES`], cut on a character boundary, without
/// NUL characters (which PostgreSQL's text type cannot hold).
pub(crate) fn bounded_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT_BYTES));
    for c in text.chars().filter(|&c| c != '\0') {
        if out.len() + c.len_utf8() > MAX_TEXT_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

pub(crate) fn valid_digest(d: &str) -> bool {
    Sha256Digest::parse(d).is_ok()
}

// --- queries ---------------------------------------------------------------------------------

/// What one step asks the index: every word of `all` (each a prefix or exact).
#[derive(Debug, Clone, Default)]
pub(crate) struct IndexQuery {
    all: Vec<(String, bool)>,
}

impl IndexQuery {
    fn with(&self, marker: Marker) -> Self {
        let mut q = self.clone();
        q.all.push((marker.token(), false));
        q
    }

    /// FTS5 query syntax: each word a quoted string (a `"` doubled), `*` after a prefix.
    pub(crate) fn fts5(&self) -> String {
        let word = |w: &str, prefix: bool| {
            format!(
                "\"{}\"{}",
                w.replace('"', "\"\""),
                if prefix { "*" } else { "" }
            )
        };
        let parts: Vec<String> = self.all.iter().map(|(w, p)| word(w, *p)).collect();
        parts.join(" AND ")
    }

    /// `tsquery` input syntax: each word a quoted lexeme (`'` and `\` doubled), `:*` after a
    /// prefix.
    pub(crate) fn tsquery(&self) -> String {
        let word = |w: &str, prefix: bool| {
            format!(
                "'{}'{}",
                w.replace('\\', "\\\\").replace('\'', "''"),
                if prefix { ":*" } else { "" }
            )
        };
        let parts: Vec<String> = self.all.iter().map(|(w, p)| word(w, *p)).collect();
        parts.join(" & ")
    }
}

/// One step of a search: the index query and the row conditions that go with it.
#[derive(Debug)]
pub(crate) struct Step<'a> {
    pub index: IndexQuery,
    pub registry_id: &'a str,
    pub direction: Option<&'a str>,
    pub year: Option<i32>,
    /// Restricted rows visible only where one of these units is concerned.
    pub units: Option<&'a [String]>,
    /// Keyset: rows strictly before (registered_at, id).
    pub before: Option<(String, String)>,
    /// Registered at or after / before (a time partition).
    pub from: Option<String>,
    pub until: Option<String>,
}

/// The backend-specific statements of a search.
pub(crate) trait SearchSql: Together {
    /// Whether a search with a year counts its matches month by month (each month's words
    /// and marker, newest first, until the cap) rather than with the year's marker. On
    /// PostgreSQL intersecting a common word's list with the year's costs more than the few
    /// months that reach the cap; FTS5 reads a month marker's whole list at each step, so
    /// SQLite keeps the one statement.
    const COUNTS_BY_MONTH: bool;
    /// Writes the entries (correspondence id, document body), replacing existing ones.
    fn write_entries(&mut self, entries: &[(String, String)]) -> QueryResult<()> {
        self.run_together(Self::entry_statements(entries))
    }
    /// The statements that write the entries, to run with others (none without entries).
    fn entry_statements(entries: &[(String, String)]) -> Vec<Part<'static, Self::Backend>>;
    /// Rows matching the step, counted up to `cap`.
    fn count_step(&mut self, step: &Step<'_>, cap: usize) -> QueryResult<usize>;
    /// Ids of rows matching the step, newest first, at most `limit`.
    fn page_step(&mut self, step: &Step<'_>, limit: usize) -> QueryResult<Vec<String>>;
    /// Rows matching a month's step found by reading the month's rows newest first (after
    /// the step's keyset) and testing each one's entry, at most `limit` of them within the
    /// first `window` rows read, with their registration times; `None` where the backend does
    /// not walk. Where the words are in many of a month's letters, this reads a few hundred
    /// rows instead of joining and sorting the thousands the index finds.
    fn walk_step(
        &mut self,
        _step: &Step<'_>,
        _limit: usize,
        _window: usize,
    ) -> QueryResult<Option<Vec<(String, String)>>> {
        Ok(None)
    }
    /// The first and last registration times of a registry.
    fn registry_span(&mut self, registry_id: &str) -> QueryResult<Option<(String, String)>>;
    /// Correspondences without an index entry, in id order after `after` (a keyset: each call
    /// starts where the last one stopped instead of skipping what is already indexed).
    fn unindexed(&mut self, after: &str, limit: usize) -> QueryResult<Vec<String>>;
    /// Runs `f` in a read transaction tuned for the search's statements.
    fn search_tx<T>(&mut self, f: impl FnOnce(&mut Self) -> QueryResult<T>) -> QueryResult<T>;
}

/// Ids of the page (newest first, at most `filter.limit`), the total, and whether it is capped.
pub(crate) fn search<C: SearchSql>(
    c: &mut C,
    filter: &ListFilter,
    query: &SearchQuery,
) -> QueryResult<(Vec<String>, usize, bool)> {
    if query.is_empty() || filter.limit == 0 {
        return Ok((Vec::new(), 0, false));
    }
    let words = IndexQuery {
        all: query.terms().iter().map(|t| t.index_word()).collect(),
    };
    let mut index = words.clone();
    if let Some(y) = filter.year {
        index.all.push((Marker::Year(y).token(), false));
    }
    let before = filter
        .before
        .as_ref()
        .map(|(at, id)| (to_text(at), id.clone()));
    let whole = Step {
        index,
        registry_id: &filter.registry_id,
        direction: filter.direction.map(|d| d.as_str()),
        year: filter.year,
        units: filter.restricted_visible_to.as_deref(),
        before: None,
        from: None,
        until: None,
    };
    c.search_tx(|c| {
        let started = std::time::Instant::now();
        let counted = if C::COUNTS_BY_MONTH && whole.year.is_some() {
            count_by_period(c, &whole, &words, COUNT_CAP + 1)?
        } else {
            c.count_step(&whole, COUNT_CAP + 1)?
        };
        let counted_in = started.elapsed();
        let (total, capped) = (counted.min(COUNT_CAP), counted > COUNT_CAP);
        if counted == 0 {
            return Ok((Vec::new(), 0, false));
        }
        let step = Step { before, ..whole };
        let ids = if capped {
            by_period(c, &step, &words, filter.limit)?
        } else {
            c.page_step(&step, filter.limit)?
        };
        tracing::debug!(
            counted,
            count_us = counted_in.as_micros(),
            page_us = (started.elapsed() - counted_in).as_micros(),
            "search"
        );
        Ok((ids, total, capped))
    })
}

/// Many matches: month by month, newest first, from the newest month the cursor, the year
/// filter and the register allow down to the oldest they allow.
///
/// A month of the asked year is asked for by the query's words and its marker only: the year,
/// when filtered on, is tested on the month's rows (a month's matches are few; the year's list
/// is long). The months just outside the asked year add the year's marker.
///
/// Where the backend walks ([`SearchSql::walk_step`]), a month of the asked year is first
/// walked, [`WALK_WINDOW_PAGES`] pages' worth of rows at most; when that window holds too few
/// matches the rest of the month is asked of the index from the last match found (the rows in
/// between did not match), and the following months are asked of the index alone.
fn by_period<C: SearchSql>(
    c: &mut C,
    step: &Step<'_>,
    words: &IndexQuery,
    limit: usize,
) -> QueryResult<Vec<String>> {
    let mut ids: Vec<String> = Vec::new();
    let mut walking = true;
    each_month(c, step, words, |c, monthly, (year, _)| {
        let wanted = limit - ids.len();
        let mut walked = false;
        let mut rest = None;
        if walking && step.year.is_none_or(|asked| asked == year) {
            let window = wanted.saturating_mul(WALK_WINDOW_PAGES);
            if let Some(found) = c.walk_step(monthly, wanted, window)? {
                walked = true;
                if let Some((id, at)) = found.last() {
                    rest = Some(Step {
                        before: Some((at.clone(), id.clone())),
                        index: monthly.index.clone(),
                        from: monthly.from.clone(),
                        until: monthly.until.clone(),
                        ..*monthly
                    });
                }
                ids.extend(found.into_iter().map(|(id, _)| id));
                if ids.len() == limit {
                    return Ok(false);
                }
            }
        }
        let before = ids.len();
        ids.extend(c.page_step(rest.as_ref().unwrap_or(monthly), limit - ids.len())?);
        if walked && ids.len() > before {
            // The window ended before a page of matches and the month had more: the words
            // are too rare in this register for walking to pay.
            walking = false;
        }
        Ok(ids.len() < limit)
    })?;
    Ok(ids)
}

/// How many pages' worth of rows a month's walk reads at most, looking for one page of
/// matches: the walk pays where at least one row in this many matches.
const WALK_WINDOW_PAGES: usize = 16;

/// The matches of a step with a year, counted up to `cap` month by month, newest first (see
/// [`SearchSql::COUNTS_BY_MONTH`]). When the first months of the year say the year holds
/// fewer than `cap` (the words are not common), the rest of it is not walked month by month:
/// each month's statement reads the words' whole lists again, so the year is counted at once.
fn count_by_period<C: SearchSql>(
    c: &mut C,
    step: &Step<'_>,
    words: &IndexQuery,
    cap: usize,
) -> QueryResult<usize> {
    let mut counted = 0;
    let mut months_in_year = 0;
    let mut sparse = false;
    each_month(c, step, words, |c, monthly, (year, _)| {
        counted += c.count_step(monthly, cap - counted)?;
        if step.year == Some(year) {
            months_in_year += 1;
        }
        if counted < cap && months_in_year == PROBED_MONTHS {
            sparse = counted * 12 / PROBED_MONTHS < cap;
            return Ok(!sparse);
        }
        Ok(counted < cap)
    })?;
    if sparse {
        return c.count_step(step, cap);
    }
    Ok(counted)
}

/// Months of the asked year counted one by one before deciding how to count the rest.
const PROBED_MONTHS: usize = 2;

/// Calls `f` with each month's step and the month itself (UTC year, month), newest first,
/// from the newest month the cursor, the year filter and the register allow down to the
/// oldest they allow, while it answers `true`.
fn each_month<C: SearchSql>(
    c: &mut C,
    step: &Step<'_>,
    words: &IndexQuery,
    mut f: impl FnMut(&mut C, &Step<'_>, (i32, u32)) -> QueryResult<bool>,
) -> QueryResult<()> {
    let Some((first, last)) = c.registry_span(step.registry_id)? else {
        return Ok(());
    };
    let newest = step
        .before
        .as_ref()
        .map_or(last.as_str(), |(at, _)| at.as_str().min(last.as_str()));
    let (Some(mut newest), Some(mut oldest)) = (year_month(newest), year_month(&first)) else {
        return Ok(());
    };
    if let Some(year) = step.year {
        // A register year follows the installation's time zone: its letters lie within the
        // UTC months from the December before to the January after.
        newest = newest.min((year + 1, 1));
        oldest = oldest.max((year - 1, 12));
    }
    let mut month = newest;
    while month >= oldest {
        let (year, m) = month;
        let next = if m == 12 {
            (year + 1, 1)
        } else {
            (year, m + 1)
        };
        let mut index = words.with(Marker::Month(year, m));
        if let Some(asked) = step.year.filter(|asked| *asked != year) {
            // A month outside the asked year (its letters registered in the first or last
            // hours of that year in the local time): few of its matches are in the year, and
            // the year's marker lets the index leave the others out.
            index = index.with(Marker::Year(asked));
        }
        let monthly = Step {
            index,
            from: Some(period_start(year, m)),
            until: Some(period_start(next.0, next.1)),
            before: step.before.clone(),
            ..*step
        };
        if !f(c, &monthly, (year, m))? {
            break;
        }
        month = if m == 1 {
            (year - 1, 12)
        } else {
            (year, m - 1)
        };
    }
    Ok(())
}

/// The stored-time text of the first instant of a month (UTC).
fn period_start(year: i32, month: u32) -> String {
    format!("{year:04}-{month:02}-01T00:00:00.000000Z")
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct IdAt {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    at: String,
}

#[derive(QueryableByName)]
struct Span {
    #[diesel(sql_type = Nullable<Text>)]
    first: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    last: Option<String>,
}

fn span(rows: Vec<Span>) -> Option<(String, String)> {
    let row = rows.into_iter().next()?;
    Some((row.first?, row.last?))
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The conditions a step puts on correspondence rows `c`, with numbered placeholders
/// (`mark` 1 is the index query; 2 to 9 as bound by `bind_step!`).
fn row_conditions(ph: fn(usize) -> String, visible_units: &str) -> String {
    let p = ph;
    format!(
        "c.registry_id = {p2} \
         AND ({p3} IS NULL OR c.direction = {p3}) \
         AND ({p4} IS NULL OR c.year = {p4}) \
         AND ({p5} IS NULL OR c.confidentiality = 'normal' OR EXISTS (SELECT 1 FROM correspondence_units u \
              WHERE u.correspondence_id = c.id AND {visible_units})) \
         AND ({p6} IS NULL OR (c.registered_at, c.id) < ({p6}, {p7})) \
         AND ({p8} IS NULL OR c.registered_at >= {p8}) \
         AND ({p9} IS NULL OR c.registered_at < {p9})",
        p2 = p(2),
        p3 = p(3),
        p4 = p(4),
        p5 = p(5),
        p6 = p(6),
        p7 = p(7),
        p8 = p(8),
        p9 = p(9),
    )
}

/// Binds a step's values in the order of [`row_conditions`]: index query, registry, direction,
/// year, units (as `$units`), keyset time and id, partition start and end; then the limit.
macro_rules! bind_step {
    ($sql:expr, $step:expr, $index:expr, $units:expr, $units_type:ty, $limit:expr) => {{
        let (before_at, before_id) = match &$step.before {
            Some((at, id)) => (Some(at.clone()), Some(id.clone())),
            None => (None, None),
        };
        diesel::sql_query($sql)
            .bind::<Text, _>($index)
            .bind::<Text, _>($step.registry_id)
            .bind::<Nullable<Text>, _>($step.direction)
            .bind::<Nullable<Integer>, _>($step.year)
            .bind::<Nullable<$units_type>, _>($units)
            .bind::<Nullable<Text>, _>(before_at)
            .bind::<Nullable<Text>, _>(before_id)
            .bind::<Nullable<Text>, _>($step.from.clone())
            .bind::<Nullable<Text>, _>($step.until.clone())
            .bind::<BigInt, _>(limit($limit))
    }};
}

fn sqlite_ph(i: usize) -> String {
    format!("?{i}")
}

fn pg_ph(i: usize) -> String {
    // Typed, so that `$n IS NULL` needs no inference.
    let ty = match i {
        4 => "::int4",
        5 => "::text[]",
        _ => "::text",
    };
    format!("${i}{ty}")
}

const SQLITE_FROM: &str = "search_fts CROSS JOIN search_docs d CROSS JOIN correspondences c \
    WHERE search_fts MATCH ?1 AND d.doc = search_fts.rowid AND c.id = d.correspondence_id";
const SQLITE_UNITS: &str = "u.unit_id IN (SELECT value FROM json_each(?5))";

impl SearchSql for SqliteConnection {
    const COUNTS_BY_MONTH: bool = false;

    fn entry_statements(entries: &[(String, String)]) -> Vec<Part<'static, Sqlite>> {
        if entries.is_empty() {
            return Vec::new();
        }
        let json = serde_json::Value::from(
            entries
                .iter()
                .map(|(id, body)| serde_json::json!([id, body]))
                .collect::<Vec<_>>(),
        )
        .to_string();
        vec![
            Box::new(
                diesel::sql_query(
                    "INSERT INTO search_docs (correspondence_id) SELECT value ->> 0 \
                     FROM json_each(?1) WHERE true ON CONFLICT (correspondence_id) DO NOTHING",
                )
                .bind::<Text, _>(json.clone()),
            ),
            Box::new(
                diesel::sql_query(
                    "INSERT OR REPLACE INTO search_fts (rowid, words) \
                     SELECT d.doc, e.value ->> 1 FROM json_each(?1) e \
                     JOIN search_docs d ON d.correspondence_id = e.value ->> 0",
                )
                .bind::<Text, _>(json),
            ),
        ]
    }

    fn count_step(&mut self, step: &Step<'_>, cap: usize) -> QueryResult<usize> {
        let sql = format!(
            "SELECT count(*) AS n FROM (SELECT 1 FROM {SQLITE_FROM} AND {} LIMIT ?10)",
            row_conditions(sqlite_ph, SQLITE_UNITS)
        );
        let units = step
            .units
            .map(|u| serde_json::Value::from(u.to_vec()).to_string());
        let rows: Vec<Count> =
            bind_step!(sql, step, step.index.fts5(), units, Text, cap).load(self)?;
        Ok(rows
            .first()
            .map_or(0, |r| usize::try_from(r.n).unwrap_or(0)))
    }

    fn page_step(&mut self, step: &Step<'_>, limit: usize) -> QueryResult<Vec<String>> {
        let sql = format!(
            "SELECT c.id AS id FROM {SQLITE_FROM} AND {} \
             ORDER BY c.registered_at DESC, c.id DESC LIMIT ?10",
            row_conditions(sqlite_ph, SQLITE_UNITS)
        );
        let units = step
            .units
            .map(|u| serde_json::Value::from(u.to_vec()).to_string());
        let rows: Vec<Id> =
            bind_step!(sql, step, step.index.fts5(), units, Text, limit).load(self)?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    fn registry_span(&mut self, registry_id: &str) -> QueryResult<Option<(String, String)>> {
        let rows: Vec<Span> = diesel::sql_query(
            "SELECT (SELECT min(registered_at) FROM correspondences WHERE registry_id = ?1) AS first, \
                    (SELECT max(registered_at) FROM correspondences WHERE registry_id = ?1) AS last",
        )
        .bind::<Text, _>(registry_id)
        .load(self)?;
        Ok(span(rows))
    }

    fn unindexed(&mut self, after: &str, limit: usize) -> QueryResult<Vec<String>> {
        let rows: Vec<Id> = diesel::sql_query(
            "SELECT c.id AS id FROM correspondences c WHERE c.id > ?1 \
             AND NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.correspondence_id = c.id) \
             ORDER BY c.id LIMIT ?2",
        )
        .bind::<Text, _>(after)
        .bind::<BigInt, _>(self::limit(limit))
        .load(self)?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    fn search_tx<T>(&mut self, f: impl FnOnce(&mut Self) -> QueryResult<T>) -> QueryResult<T> {
        self.transaction(f)
    }
}

const PG_FROM: &str = "search_docs s JOIN correspondences c ON c.id = s.correspondence_id \
    WHERE s.words @@ CAST($1::text AS tsquery)";
const PG_UNITS: &str = "u.unit_id = ANY($5::text[])";

/// PostgreSQL's index entries, written by one statement whose binds diesel numbers, so that
/// it can be a part of a longer statement (`together`).
struct PgEntries {
    ids: Vec<String>,
    bodies: Vec<String>,
}

impl QueryFragment<Pg> for PgEntries {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql(
            "INSERT INTO search_docs (correspondence_id, words) \
             SELECT e.id, array_to_tsvector(array_remove(string_to_array(e.body, ' '), '')) \
             FROM unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.ids)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Text>, _>(&self.bodies)?;
        out.push_sql(
            "::text[]) AS e (id, body) \
             ON CONFLICT (correspondence_id) DO UPDATE SET words = EXCLUDED.words",
        );
        Ok(())
    }
}

impl SearchSql for PgConnection {
    const COUNTS_BY_MONTH: bool = true;

    fn entry_statements(entries: &[(String, String)]) -> Vec<Part<'static, Pg>> {
        if entries.is_empty() {
            return Vec::new();
        }
        let (ids, bodies) = entries.iter().cloned().unzip();
        vec![Box::new(PgEntries { ids, bodies })]
    }

    fn count_step(&mut self, step: &Step<'_>, cap: usize) -> QueryResult<usize> {
        let sql = format!(
            "SELECT count(*) AS n FROM (SELECT 1 FROM {PG_FROM} AND {} LIMIT $10) m",
            row_conditions(pg_ph, PG_UNITS)
        );
        let units = step.units.map(<[String]>::to_vec);
        let rows: Vec<Count> =
            bind_step!(sql, step, step.index.tsquery(), units, Array<Text>, cap).load(self)?;
        Ok(rows
            .first()
            .map_or(0, |r| usize::try_from(r.n).unwrap_or(0)))
    }

    fn page_step(&mut self, step: &Step<'_>, limit: usize) -> QueryResult<Vec<String>> {
        let sql = format!(
            "SELECT c.id AS id FROM {PG_FROM} AND {} \
             ORDER BY c.registered_at DESC, c.id DESC LIMIT $10",
            row_conditions(pg_ph, PG_UNITS)
        );
        let units = step.units.map(<[String]>::to_vec);
        let rows: Vec<Id> =
            bind_step!(sql, step, step.index.tsquery(), units, Array<Text>, limit).load(self)?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    fn walk_step(
        &mut self,
        step: &Step<'_>,
        limit: usize,
        window: usize,
    ) -> QueryResult<Option<Vec<(String, String)>>> {
        // The window is read from the `correspondences_page` index backwards (the month's
        // bounds and the keyset are conditions on it), each row's entry found by its key.
        let sql = format!(
            "SELECT w.id AS id, w.registered_at AS at FROM \
             (SELECT c.id, c.registered_at FROM correspondences c WHERE {} \
              ORDER BY c.registered_at DESC, c.id DESC LIMIT $11) w \
             WHERE EXISTS (SELECT 1 FROM search_docs s WHERE s.correspondence_id = w.id \
                           AND s.words @@ CAST($1::text AS tsquery)) \
             ORDER BY w.registered_at DESC, w.id DESC LIMIT $10",
            row_conditions(pg_ph, PG_UNITS)
        );
        let units = step.units.map(<[String]>::to_vec);
        let rows: Vec<IdAt> =
            bind_step!(sql, step, step.index.tsquery(), units, Array<Text>, limit)
                .bind::<BigInt, _>(self::limit(window))
                .load(self)?;
        Ok(Some(rows.into_iter().map(|r| (r.id, r.at)).collect()))
    }

    fn registry_span(&mut self, registry_id: &str) -> QueryResult<Option<(String, String)>> {
        let rows: Vec<Span> = diesel::sql_query(
            "SELECT (SELECT min(registered_at) FROM correspondences WHERE registry_id = $1) AS first, \
                    (SELECT max(registered_at) FROM correspondences WHERE registry_id = $1) AS last",
        )
        .bind::<Text, _>(registry_id)
        .load(self)?;
        Ok(span(rows))
    }

    fn unindexed(&mut self, after: &str, limit: usize) -> QueryResult<Vec<String>> {
        let rows: Vec<Id> = diesel::sql_query(
            "SELECT c.id AS id FROM correspondences c WHERE c.id > $1 \
             AND NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.correspondence_id = c.id) \
             ORDER BY c.id LIMIT $2",
        )
        .bind::<Text, _>(after)
        .bind::<BigInt, _>(self::limit(limit))
        .load(self)?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    fn search_tx<T>(&mut self, f: impl FnOnce(&mut Self) -> QueryResult<T>) -> QueryResult<T> {
        self.build_transaction().read_only().run(|c| {
            // The index decides: a sequential scan of the entries would read every document,
            // and a merge or hash join with the register (chosen for a `LIMIT` the planner
            // hopes to reach early) walks hundreds of thousands of rows in id order; the
            // entries the index finds are joined to their rows one by one. No parallel
            // workers: starting them costs 20–40 ms per statement on a small machine, for
            // index lookups that take a few milliseconds alone. No JIT compilation, which
            // pays only for long scans. Every statement is planned for its values: a generic
            // plan cannot drop the `$n IS NULL OR …` conditions of the filters not asked for,
            // nor bound an index scan by a month.
            c.batch_execute(
                "SET LOCAL enable_seqscan = off; SET LOCAL enable_mergejoin = off; \
                 SET LOCAL enable_hashjoin = off; SET LOCAL max_parallel_workers_per_gather = 0; \
                 SET LOCAL jit = off; SET LOCAL plan_cache_mode = force_custom_plan",
            )?;
            f(c)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(words: &[(&str, bool)]) -> IndexQuery {
        IndexQuery {
            all: words.iter().map(|(w, p)| ((*w).to_owned(), *p)).collect(),
        }
    }

    #[test]
    fn every_word_is_quoted() {
        let q = query(&[("احمد", true), ("ab", false)]);
        assert_eq!(q.fts5(), "\"احمد\"* AND \"ab\"");
        assert_eq!(q.tsquery(), "'احمد':* & 'ab'");
        // Words never hold these (normalisation removes them), but quoting would still hold.
        let nasty = query(&[("a\"b'c\\", false)]);
        assert_eq!(nasty.fts5(), "\"a\"\"b'c\\\"");
        assert_eq!(nasty.tsquery(), "'a\"b''c\\\\'");
    }

    #[test]
    fn texts_are_bounded_on_a_character_boundary() {
        let arabic = "م".repeat(MAX_TEXT_BYTES);
        let kept = bounded_text(&arabic);
        assert!(kept.len() <= MAX_TEXT_BYTES && kept.len() > MAX_TEXT_BYTES - 2);
        assert_eq!(bounded_text("a\0b"), "ab");
    }

    #[test]
    fn stored_times_give_their_partition() {
        assert_eq!(year_month("2026-11-21T10:00:00.000000Z"), Some((2026, 11)));
        assert_eq!(year_month("junk"), None);
        assert_eq!(period_start(2026, 3), "2026-03-01T00:00:00.000000Z");
    }
}

//! What a batch of registrations takes before it writes its rows: the numbers of each register
//! it writes in, the log's lock and right edge, and which of its small files are packed
//! already. On PostgreSQL that is one statement (one round trip instead of three or more); on
//! SQLite the same statements run one after the other.
//!
//! Locks are taken in a fixed order: the counter rows in the order given (sorted by register
//! by the caller), then the log's row. Every batch of every process takes them so, which
//! keeps two processes' batches from deadlocking.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};
use diesel::sqlite::SqliteConnection;

use crate::schema::{blob_packs, log_state, register_counters};

/// A register and how many numbers the batch takes from it.
pub(crate) struct Take<'a> {
    pub registry_id: &'a str,
    pub direction: &'a str,
    pub year: i32,
    pub count: i64,
}

pub(crate) struct Claimed {
    /// For each [`Take`], in order: the last number taken (the batch's are the `count` before
    /// it, and it).
    pub last: Vec<i64>,
    /// The log's size and right edge (its text form), locked until commit.
    pub log_size: i64,
    pub frontier: String,
    /// The digests asked about that are packed already.
    pub packed: Vec<String>,
}

pub(crate) trait Claim {
    fn claim(&mut self, takes: &[Take<'_>], digests: &[&str]) -> QueryResult<Claimed>;
}

impl Claim for SqliteConnection {
    fn claim(&mut self, takes: &[Take<'_>], digests: &[&str]) -> QueryResult<Claimed> {
        use register_counters as rc;
        let mut last = Vec::with_capacity(takes.len());
        for t in takes {
            last.push(
                diesel::insert_into(rc::table)
                    .values((
                        rc::registry_id.eq(t.registry_id),
                        rc::direction.eq(t.direction),
                        rc::year.eq(t.year),
                        rc::last_seq.eq(t.count),
                    ))
                    .on_conflict((rc::registry_id, rc::direction, rc::year))
                    .do_update()
                    .set(rc::last_seq.eq(rc::last_seq + t.count))
                    .returning(rc::last_seq)
                    .get_result(self)?,
            );
        }
        let (log_size, frontier) = diesel::update(log_state::table.find(1))
            .set(log_state::size.eq(log_state::size))
            .returning((log_state::size, log_state::frontier))
            .get_result(self)?;
        let packed = if digests.is_empty() {
            Vec::new()
        } else {
            blob_packs::table
                .filter(blob_packs::sha256.eq_any(digests))
                .select(blob_packs::sha256)
                .load(self)?
        };
        Ok(Claimed {
            last,
            log_size,
            frontier,
            packed,
        })
    }
}

/// One row of the PostgreSQL statement's answer: `part` says which of its three queries it
/// comes from.
#[derive(QueryableByName)]
struct ClaimRow {
    #[diesel(sql_type = Integer)]
    part: i32,
    #[diesel(sql_type = Nullable<Text>)]
    a: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    b: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    y: Option<i32>,
    #[diesel(sql_type = Nullable<BigInt>)]
    n: Option<i64>,
}

/// `UNION ALL` runs its branches in order: the counters are locked (in the order of the
/// arrays), then the log's row; the packed digests are read last.
const PG_CLAIM: &str = concat!(
    "WITH c AS (",
    " INSERT INTO register_counters AS rc (registry_id, direction, year, last_seq)",
    " SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::int8[])",
    " ON CONFLICT (registry_id, direction, year)",
    " DO UPDATE SET last_seq = rc.last_seq + excluded.last_seq",
    " RETURNING rc.registry_id, rc.direction, rc.year, rc.last_seq",
    "), l AS (",
    " UPDATE log_state SET size = size WHERE id = 1 RETURNING size, frontier",
    ")",
    " SELECT 0 AS part, registry_id AS a, direction AS b, year AS y, last_seq AS n FROM c",
    " UNION ALL SELECT 1, frontier, NULL, NULL, size FROM l",
    " UNION ALL SELECT 2, sha256, NULL, NULL, NULL FROM blob_packs WHERE sha256 = ANY($5::text[])",
);

impl Claim for PgConnection {
    fn claim(&mut self, takes: &[Take<'_>], digests: &[&str]) -> QueryResult<Claimed> {
        let rows: Vec<ClaimRow> = diesel::sql_query(PG_CLAIM)
            .bind::<Array<Text>, _>(takes.iter().map(|t| t.registry_id).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(takes.iter().map(|t| t.direction).collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(takes.iter().map(|t| t.year).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(takes.iter().map(|t| t.count).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(digests)
            .load(self)?;
        let mut last: Vec<Option<i64>> = vec![None; takes.len()];
        let mut log = None;
        let mut packed = Vec::new();
        for row in rows {
            match (row.part, row.a, row.n) {
                (0, Some(registry_id), Some(n)) => {
                    let k = takes.iter().position(|t| {
                        t.registry_id == registry_id
                            && Some(t.direction) == row.b.as_deref()
                            && Some(t.year) == row.y
                    });
                    if let Some(k) = k {
                        last[k] = Some(n);
                    }
                }
                (1, Some(frontier), Some(size)) => log = Some((size, frontier)),
                (2, Some(sha256), None) => packed.push(sha256),
                _ => return Err(unexpected("a row of another shape")),
            }
        }
        let last = last
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected("a register's counter missing"))?;
        let (log_size, frontier) = log.ok_or_else(|| unexpected("the log's state missing"))?;
        Ok(Claimed {
            last,
            log_size,
            frontier,
            packed,
        })
    }
}

fn unexpected(what: &str) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("the batch's claim returned {what}").into())
}

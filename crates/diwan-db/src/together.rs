//! Statements run together, when their results are not wanted: on PostgreSQL as one statement
//! (each one a data-modifying `WITH` part, so a batch of registrations costs one round trip
//! and one parse instead of one per table), on SQLite one after the other (no round trips to
//! save, and SQLite has no data-modifying `WITH`).
//!
//! The parts are diesel's own statements, so their SQL and binds are those the rest of the
//! code writes. Foreign keys hold across parts: PostgreSQL checks them at the end of the
//! statement, when every part has run.

use diesel::backend::Backend;
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sqlite::SqliteConnection;
use diesel::{QueryResult, RunQueryDsl};

/// One statement, boxed so that different ones go in one list.
pub(crate) type Part<'a, DB> = Box<dyn QueryFragment<DB> + 'a>;

/// Most parts in one PostgreSQL statement: parts hold at most a few thousand binds each,
/// which keeps a statement well under PostgreSQL's 65,535.
const PARTS_PER_STATEMENT: usize = 12;

pub(crate) trait Together: diesel::Connection {
    /// Runs the statements, in order on SQLite; stops at the first error.
    fn run_together(&mut self, parts: Vec<Part<'_, Self::Backend>>) -> QueryResult<()>;
}

impl Together for SqliteConnection {
    fn run_together(&mut self, parts: Vec<Part<'_, Self::Backend>>) -> QueryResult<()> {
        for part in &parts {
            Single(part.as_ref()).execute(self)?;
        }
        Ok(())
    }
}

impl Together for PgConnection {
    fn run_together(&mut self, parts: Vec<Part<'_, Self::Backend>>) -> QueryResult<()> {
        for group in parts.chunks(PARTS_PER_STATEMENT) {
            match group {
                [one] => Single(one.as_ref()).execute(self)?,
                _ => Chain(group).execute(self)?,
            };
        }
        Ok(())
    }
}

/// A part run on its own.
struct Single<'s, 'a, DB>(&'s (dyn QueryFragment<DB> + 'a));

impl<DB: Backend> QueryFragment<DB> for Single<'_, '_, DB> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

impl<DB> QueryId for Single<'_, '_, DB> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB, Conn> RunQueryDsl<Conn> for Single<'_, '_, DB> {}

/// `WITH p0 AS (…), p1 AS (…) SELECT 1`: every part runs, in one statement.
struct Chain<'s, 'a>(&'s [Part<'a, Pg>]);

impl QueryFragment<Pg> for Chain<'_, '_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for (k, part) in self.0.iter().enumerate() {
            out.push_sql(if k == 0 { "WITH " } else { ", " });
            out.push_sql(&format!("p{k} AS ("));
            part.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        out.push_sql(" SELECT 1");
        Ok(())
    }
}

impl QueryId for Chain<'_, '_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Conn> RunQueryDsl<Conn> for Chain<'_, '_> {}

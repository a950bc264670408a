//! Connections to either backend, the pool, and migrations.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use diwan_app::StoreError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// A key for PostgreSQL's advisory lock that serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x0D1A_4A11;

/// Which database the URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite://") || url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else {
            Err(DbError::Config(
                "the database URL starts with sqlite:// or postgres://".into(),
            ))
        }
    }
}

/// Errors opening or migrating the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database configuration: {0}")]
    Config(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database pool: {0}")]
    Pool(String),
}

/// One connection, to whichever backend is configured.
pub enum Conn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// Runs the same diesel code on whichever connection this is; the body is compiled once per
/// backend, so one source serves both.
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::conn::Conn::Sqlite($c) => $body,
            $crate::conn::Conn::Pg($c) => $body,
        }
    };
}
pub(crate) use with_conn;

impl Conn {
    pub fn open(url: &str) -> Result<Self, DbError> {
        match Backend::of_url(url)? {
            Backend::Postgres => PgConnection::establish(url)
                .map(Conn::Pg)
                .map_err(|e| DbError::Connect(e.to_string())),
            Backend::Sqlite => {
                let path = sqlite_path(url);
                let mut c = SqliteConnection::establish(path)
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                c.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA temp_store = MEMORY;",
                )
                .map_err(|e| DbError::Connect(e.to_string()))?;
                Ok(Conn::Sqlite(c))
            }
        }
    }

    fn migrate(&mut self) -> Result<(), DbError> {
        let fail = |e: &dyn std::fmt::Display| DbError::Migration(e.to_string());
        match self {
            Conn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| fail(&e)),
            Conn::Pg(c) => {
                diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                    .execute(c)
                    .map_err(|e| fail(&e))?;
                let result = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|_| ())
                    .map_err(|e| fail(&e));
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                    .execute(c)
                    .map_err(|e| fail(&e))?;
                result
            }
        }
    }
}

/// `sqlite://data/diwan.db` → `data/diwan.db`; `sqlite:///abs/path` → `/abs/path`.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// The r2d2 manager for [`Conn`].
#[derive(Debug)]
pub struct Manager {
    url: String,
}

/// A connection of the pool, with what the pool knows of its health.
pub struct Pooled {
    pub conn: Conn,
    /// When the connection last answered or was handed out without an error.
    healthy_at: Instant,
    /// A statement on it failed: it is checked before it is handed out again.
    suspect: bool,
    /// It failed its check: the pool closes it.
    broken: bool,
}

impl Pooled {
    /// Passes a statement's result through; when it failed, marks the connection for a check
    /// before its next use (maybe the server closed it).
    pub(crate) fn noting<T, E>(&mut self, result: Result<T, E>) -> Result<T, E> {
        if result.is_err() {
            self.suspect = true;
        }
        result
    }

    /// Runs `write` on SQLite with `synchronous = NORMAL`: in WAL mode its commit then does not
    /// wait for the disk (a crash may lose it, never tear it). The connection is back to
    /// `FULL` afterwards, or else closed by the pool, so no later write is left less durable.
    pub(crate) fn sqlite_unsynced<T>(
        &mut self,
        write: impl FnOnce(&mut SqliteConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let Conn::Sqlite(c) = &mut self.conn else {
            return Err(StoreError::Other("not a SQLite connection".into()));
        };
        let done = c
            .batch_execute("PRAGMA synchronous = NORMAL")
            .map_err(store_error)
            .and_then(|()| write(c));
        if let Err(e) = c.batch_execute("PRAGMA synchronous = FULL") {
            tracing::warn!(error = %e, "closing a connection left without durable commits");
            self.broken = true;
            return Err(store_error(e));
        }
        self.noting(done)
    }

    fn check(&mut self) -> Result<(), diesel::result::Error> {
        with_conn!(&mut self.conn, |c| c.batch_execute("SELECT 1"))
    }
}

/// A connection used without an error this recently is handed out without a check.
const TRUSTED_FOR: Duration = Duration::from_secs(5);

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = DbError;

    fn connect(&self) -> Result<Pooled, DbError> {
        Ok(Pooled {
            conn: Conn::open(&self.url)?,
            healthy_at: Instant::now(),
            suspect: false,
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), DbError> {
        conn.check().map_err(|e| DbError::Connect(e.to_string()))
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        if !conn.suspect && !conn.broken {
            conn.healthy_at = Instant::now();
        }
        conn.broken
    }
}

/// Turns at SQLite's one write lock, first come first served.
///
/// SQLite lets one connection write at a time; one that finds the lock taken sleeps in its
/// busy handler (up to 100 ms a try) and tries again. Under sustained registration load the
/// writer holds the lock nearly all the time, and a pooled write that only retries would
/// seldom land in the short gap between two of its batches. So within this process every
/// write transaction on SQLite (the writer's batches and the pooled writes) first takes a
/// turn here: it waits in line and is woken when the one before it is done. Other processes
/// (the command line) still meet the busy handler.
#[derive(Debug, Default)]
pub(crate) struct WriteTurns {
    line: Mutex<Line>,
    moved: Condvar,
}

#[derive(Debug, Default)]
struct Line {
    /// The ticket the next one to come gets.
    next: u64,
    /// The ticket whose turn it is.
    serving: u64,
}

/// A turn at the write lock, held until dropped.
#[must_use = "the turn ends when this is dropped"]
pub(crate) struct Turn<'t>(&'t WriteTurns);

impl WriteTurns {
    /// Waits for this caller's turn; callers get it in the order they asked.
    pub(crate) fn take(&self) -> Turn<'_> {
        let mut line = self.line.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = line.next;
        line.next += 1;
        while line.serving != ticket {
            line = self
                .moved
                .wait(line)
                .unwrap_or_else(PoisonError::into_inner);
        }
        Turn(self)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut line = self.0.line.lock().unwrap_or_else(PoisonError::into_inner);
        line.serving += 1;
        drop(line);
        self.0.moved.notify_all();
    }
}

/// The database: a pool for reads and ordinary writes, and the URL for the group-commit writer.
#[derive(Clone)]
pub struct Database {
    pub(crate) pool: r2d2::Pool<Manager>,
    pub(crate) url: String,
    backend: Backend,
    /// Shared by every clone, so by the writer and the pool's users.
    turns: Arc<WriteTurns>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens the database, creating the SQLite file's folder if needed.
    pub fn open(url: &str, pool_size: u32) -> Result<Self, DbError> {
        let backend = Backend::of_url(url)?;
        let sqlite_dir = (backend == Backend::Sqlite)
            .then(|| std::path::Path::new(sqlite_path(url)).parent())
            .flatten()
            .filter(|dir| !dir.as_os_str().is_empty());
        if let Some(dir) = sqlite_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError::Config(format!("{}: {e}", dir.display())))?;
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .connection_timeout(Duration::from_secs(10))
            // Checked by `conn` only when idle a while or after an error: a check on every
            // checkout is one more round trip to PostgreSQL for each statement.
            .test_on_check_out(false)
            .build(Manager {
                url: url.to_owned(),
            })
            .map_err(|e| DbError::Pool(e.to_string()))?;
        Ok(Self {
            pool,
            url: url.to_owned(),
            backend,
            turns: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// On SQLite, waits for a turn at the write lock (see [`WriteTurns`]); to be held from
    /// before a write transaction begins until it has committed. PostgreSQL locks rows, not
    /// the database: no turn is needed there.
    pub(crate) fn write_turn(&self) -> Option<Turn<'_>> {
        (self.backend == Backend::Sqlite).then(|| self.turns.take())
    }

    /// Applies pending migrations (safe to call from several processes at once).
    pub fn migrate(&self) -> Result<(), DbError> {
        let mut conn = self.pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
        conn.conn.migrate()
    }

    /// Runs SQL statements as they are (operators' maintenance and tests' fault injection).
    pub fn execute_batch(&self, sql: &str) -> Result<(), StoreError> {
        let _turn = self.write_turn();
        let mut conn = self.conn()?;
        let done = with_conn!(&mut conn.conn, |c| c.batch_execute(sql));
        conn.noting(done).map_err(store_error)
    }

    /// Creates a PostgreSQL database `name` on the server of `server_url` (whose own database
    /// is used to connect, e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
    pub fn create_postgres_database(server_url: &str, name: &str) -> Result<(), DbError> {
        on_server(server_url, name, &format!("CREATE DATABASE {name}"))
    }

    /// Drops a PostgreSQL database created by [`Self::create_postgres_database`].
    pub fn drop_postgres_database(server_url: &str, name: &str) -> Result<(), DbError> {
        on_server(
            server_url,
            name,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
    }

    /// The pool's size, and how many of its connections are open and idle.
    pub fn pool_state(&self) -> diwan_app::metrics::PoolState {
        let state = self.pool.state();
        diwan_app::metrics::PoolState {
            max: self.pool.max_size(),
            open: state.connections,
            idle: state.idle_connections,
        }
    }

    /// A connection from the pool. One idle for a while, or on which a statement failed, is
    /// checked first; one that fails its check is closed and another one taken.
    pub(crate) fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            StoreError::Unavailable(format!("no database connection: {e}"))
        };
        // Every connection of the pool may have been closed at once (a server restart).
        for _ in 0..=self.pool.max_size() {
            let mut pooled = self.pool.get().map_err(|e| unavailable(&e))?;
            if !pooled.suspect && pooled.healthy_at.elapsed() < TRUSTED_FOR {
                return Ok(pooled);
            }
            match pooled.check() {
                Ok(()) => {
                    pooled.suspect = false;
                    pooled.healthy_at = Instant::now();
                    return Ok(pooled);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "closing a database connection that failed its check");
                    pooled.broken = true;
                }
            }
        }
        Err(unavailable(&"every connection failed its check"))
    }
}

/// Runs a statement about database `name` (checked to be a plain identifier) on a server.
fn on_server(server_url: &str, name: &str, sql: &str) -> Result<(), DbError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(DbError::Config(format!("unsafe database name {name:?}")));
    }
    let mut c = PgConnection::establish(server_url).map_err(|e| DbError::Connect(e.to_string()))?;
    c.batch_execute(sql)
        .map_err(|e| DbError::Connect(e.to_string()))
}

/// Maps a diesel error to the store's error kinds.
pub(crate) fn store_error(e: diesel::result::Error) -> StoreError {
    use diesel::result::{DatabaseErrorKind as K, Error as E};
    match e {
        E::DatabaseError(K::UniqueViolation, info) => {
            StoreError::Conflict(info.message().to_owned())
        }
        E::DatabaseError(K::ClosedConnection | K::SerializationFailure, info) => {
            StoreError::Unavailable(info.message().to_owned())
        }
        E::DatabaseError(_, info)
            if info.message().contains("locked") || info.message().contains("busy") =>
        {
            StoreError::Unavailable(info.message().to_owned())
        }
        other => StoreError::Other(other.to_string()),
    }
}

/// The number one SQLite query gives in its column `n` (`None` on PostgreSQL, or on an
/// error), for the checks of debug builds and tests.
#[cfg(any(test, debug_assertions))]
fn sqlite_number(conn: &mut Conn, sql: &str) -> Option<i64> {
    #[derive(diesel::QueryableByName)]
    struct Number {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    match conn {
        Conn::Sqlite(c) => diesel::sql_query(sql)
            .get_result::<Number>(c)
            .ok()
            .map(|r| r.n),
        Conn::Pg(_) => None,
    }
}

/// Rows this SQLite connection has inserted, updated or deleted since it opened (`None` on
/// PostgreSQL, or when it cannot tell): debug builds check that a read changed none.
#[cfg(debug_assertions)]
pub(crate) fn rows_changed(conn: &mut Conn) -> Option<i64> {
    sqlite_number(conn, "SELECT total_changes() AS n")
}

/// `PRAGMA synchronous` of a SQLite connection (2 is FULL; -1 when it cannot tell), for the
/// tests that check a relaxed write left it durable.
#[cfg(test)]
pub(crate) fn sqlite_synchronous(conn: &mut Conn) -> i32 {
    sqlite_number(conn, "SELECT synchronous AS n FROM pragma_synchronous")
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits until `n` callers have asked for a turn.
    fn asked(turns: &WriteTurns, n: u64) {
        while turns.line.lock().unwrap().next < n {
            std::thread::yield_now();
        }
    }

    #[test]
    fn write_turns_come_in_the_order_asked_and_survive_a_panic() {
        let turns = Arc::new(WriteTurns::default());
        let first = turns.take();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for n in 0..5_u64 {
            let (turns_, order) = (Arc::clone(&turns), Arc::clone(&order));
            waiting.push(std::thread::spawn(move || {
                let _turn = turns_.take();
                order.lock().unwrap().push(n);
                assert_ne!(n, 2, "a panic while holding a turn");
            }));
            // The next one asks only once this one is in line.
            asked(&turns, n + 2);
        }
        assert!(
            order.lock().unwrap().is_empty(),
            "nobody goes before the holder"
        );
        drop(first);
        let panicked: Vec<bool> = waiting.into_iter().map(|t| t.join().is_err()).collect();
        assert_eq!(panicked, [false, false, true, false, false]);
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
        // Everyone is done: the next caller gets a turn at once.
        drop(turns.take());
    }
}

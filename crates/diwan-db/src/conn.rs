//! Connections to either backend, the pool, and migrations.

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
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
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

/// The database: a pool for reads and ordinary writes, and the URL for the group-commit writer.
#[derive(Clone)]
pub struct Database {
    pub(crate) pool: r2d2::Pool<Manager>,
    pub(crate) url: String,
    backend: Backend,
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
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations (safe to call from several processes at once).
    pub fn migrate(&self) -> Result<(), DbError> {
        let mut conn = self.pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
        conn.conn.migrate()
    }

    /// Runs SQL statements as they are (operators' maintenance and tests' fault injection).
    pub fn execute_batch(&self, sql: &str) -> Result<(), StoreError> {
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

/// `PRAGMA synchronous` of a SQLite connection (2 is FULL), for the tests that check a relaxed
/// write left it durable.
#[cfg(test)]
pub(crate) fn sqlite_synchronous(conn: &mut Conn) -> i32 {
    #[derive(diesel::QueryableByName)]
    struct Synchronous {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        synchronous: i32,
    }
    match conn {
        Conn::Sqlite(c) => diesel::sql_query("PRAGMA synchronous")
            .get_result::<Synchronous>(c)
            .map_or(-1, |r| r.synchronous),
        Conn::Pg(_) => -1,
    }
}

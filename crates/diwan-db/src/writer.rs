//! Group commit: one thread, one connection, one transaction per batch of registrations.
//!
//! Requests queue on a channel. The writer takes the first one, then everything else already
//! waiting (up to [`MAX_BATCH`]), stores them all in one transaction (when one of them is
//! refused, the batch is stored again job by job without it), commits once, and answers each
//! caller.
//! A caller is answered only after the commit: a number returned is a number durable. The
//! answers are sent by a thread of their own, so that waking the callers (which, on a busy
//! machine, may hand them the writer's core) does not delay the next batch.
//!
//! On SQLite each batch first takes its turn at the write lock (`conn::WriteTurns`), in line
//! with the pooled writes, so that under load these get the lock between two batches instead
//! of waiting for a gap in SQLite's busy handler. The writer's commits do not checkpoint the
//! write-ahead log: a thread of its own does, between commits (see [`Checkpointer`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sqlite::SqliteConnection;

use diwan_app::StoreError;
use diwan_app::metrics::WriterState;
use diwan_app::model::{IssuedReceipt, NewCorrespondence, Registered};
use diwan_app::ports::Notary;
use diwan_domain::Sha256Digest;

use crate::blobs::FsBlobStore;
use crate::conn::{Conn, Database, DbError, with_conn};
use crate::pack::PackWriter;
use crate::queries::{BatchPath, Queries};

/// Most registrations committed together.
const MAX_BATCH: usize = 128;

type Outcome = Result<(Registered, Option<IssuedReceipt>), StoreError>;
type Reply = mpsc::SyncSender<Outcome>;

struct Job {
    new: NewCorrespondence,
    notary: Arc<dyn Notary>,
    reply: Reply,
}

pub struct Writer {
    queue: mpsc::Sender<Job>,
    batches: Arc<Batches>,
}

/// Where the writer's results go.
struct Outlet {
    /// The answers of a batch, to send to their callers.
    answers: mpsc::Sender<Vec<(Reply, Outcome)>>,
    batches: Arc<Batches>,
}

impl Outlet {
    fn answer(&self, answers: Vec<(Reply, Outcome)>) {
        if let Err(mpsc::SendError(answers)) = self.answers.send(answers) {
            // The answering thread is gone: answer from here.
            for (reply, outcome) in answers {
                let _ = reply.send(outcome);
            }
        }
    }
}

/// Starts the thread that answers the callers; it ends with the writer, which holds the
/// sending side.
fn answerer() -> Result<mpsc::Sender<Vec<(Reply, Outcome)>>, DbError> {
    let (answers, batches) = mpsc::channel::<Vec<(Reply, Outcome)>>();
    thread::Builder::new()
        .name("diwan-answers".into())
        .spawn(move || {
            while let Ok(batch) = batches.recv() {
                for (reply, outcome) in batch {
                    let _ = reply.send(outcome);
                }
            }
        })
        .map_err(|e| DbError::Connect(format!("cannot start the answering thread: {e}")))?;
    Ok(answers)
}

/// Batches stored, by [`BatchPath`].
#[derive(Default)]
struct Batches {
    alone: AtomicU64,
    together: AtomicU64,
    one_by_one: AtomicU64,
}

impl Batches {
    fn count(&self, path: BatchPath) {
        let n = match path {
            BatchPath::Alone => &self.alone,
            BatchPath::Together => &self.together,
            BatchPath::OneByOne => &self.one_by_one,
        };
        n.fetch_add(1, Ordering::Relaxed);
    }
}

impl Writer {
    pub fn start(db: Database, blobs: Arc<FsBlobStore>) -> Result<Self, DbError> {
        let conn = open(&db.url)?;
        let checkpointer = match &conn {
            Conn::Sqlite(_) => Some(Checkpointer::start(db.url.clone())?),
            Conn::Pg(_) => None,
        };
        let (queue, jobs) = mpsc::channel::<Job>();
        let batches = Arc::new(Batches::default());
        let outlet = Outlet {
            answers: answerer()?,
            batches: Arc::clone(&batches),
        };
        thread::Builder::new()
            .name("diwan-writer".into())
            .spawn(move || {
                let mut pack = PackWriter::new(blobs.blobs_dir());
                run(
                    &db,
                    Some(conn),
                    &jobs,
                    &blobs,
                    &mut pack,
                    checkpointer.as_ref(),
                    &outlet,
                );
            })
            .map_err(|e| DbError::Connect(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { queue, batches })
    }

    /// The batches stored since the writer started.
    pub fn state(&self) -> WriterState {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WriterState {
            alone: n(&self.batches.alone),
            together: n(&self.batches.together),
            one_by_one: n(&self.batches.one_by_one),
        }
    }

    /// Queues a registration and waits until it is committed (or refused).
    pub fn register(&self, new: NewCorrespondence, notary: Arc<dyn Notary>) -> Outcome {
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || StoreError::Unavailable("the registration writer has stopped".into());
        self.queue
            .send(Job { new, notary, reply })
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

/// The writer's connection: on SQLite, one whose commits leave checkpoints to the
/// [`Checkpointer`].
fn open(url: &str) -> Result<Conn, DbError> {
    let mut conn = Conn::open(url)?;
    if let Conn::Sqlite(c) = &mut conn {
        c.batch_execute("PRAGMA wal_autocheckpoint = 0")
            .map_err(|e| DbError::Connect(e.to_string()))?;
    }
    Ok(conn)
}

fn run(
    db: &Database,
    mut conn: Option<Conn>,
    jobs: &mpsc::Receiver<Job>,
    blobs: &FsBlobStore,
    pack: &mut PackWriter,
    checkpointer: Option<&Checkpointer>,
    outlet: &Outlet,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        batch.extend(jobs.try_iter().take(MAX_BATCH - 1));
        if conn.is_none() {
            conn = open(&db.url)
                .map_err(|e| tracing::error!(error = %e, "writer cannot reconnect"))
                .ok();
        }
        let Some(c) = conn.as_mut() else {
            for job in batch {
                let _ = job
                    .reply
                    .send(Err(StoreError::Unavailable("database unreachable".into())));
            }
            continue;
        };
        let turn = db.write_turn();
        if let (Some(checkpointer), Conn::Sqlite(c)) = (checkpointer, &mut *c) {
            checkpointer.catch_up(c);
        }
        let healthy = commit_batch(c, batch, blobs, pack, outlet);
        drop(turn);
        if let Some(checkpointer) = checkpointer {
            checkpointer.committed();
        }
        if !healthy {
            // The connection may be broken; open a fresh one for the next batch.
            conn = None;
        }
    }
}

/// Commits one batch and answers its callers. Returns `false` when the whole transaction failed.
fn commit_batch(
    conn: &mut Conn,
    batch: Vec<Job>,
    blobs: &FsBlobStore,
    pack: &mut PackWriter,
    outlet: &Outlet,
) -> bool {
    // Every job carries the same notary (the application's); the first one's serves the batch.
    let Some(notary) = batch.first().map(|j| Arc::clone(&j.notary)) else {
        return true;
    };
    let (mut news, replies): (Vec<NewCorrespondence>, Vec<Reply>) =
        batch.into_iter().map(|j| (j.new, j.reply)).unzip();
    let outcome = with_conn!(&mut *conn, |c| c.register_batch(
        &mut news,
        pack,
        notary.as_ref()
    ));
    let results = match outcome {
        Ok((results, path)) => {
            outlet.batches.count(path);
            results
        }
        Err(e) => {
            tracing::error!(error = %e, size = news.len(), "registration batch failed");
            news.iter().map(|_| Err(e.clone())).collect()
        }
    };
    let whole_failed = results.iter().all(Result::is_err) && !results.is_empty();
    let orphans: Vec<Sha256Digest> = news
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_err())
        .flat_map(|(n, _)| {
            n.files
                .iter()
                .filter(|f| f.blob.bytes().is_none())
                .map(|f| f.blob.sha256().clone())
        })
        .collect();
    // Dropping the jobs unpins their files, so the clean-up below may remove them.
    drop(news);
    outlet.answer(replies.into_iter().zip(results).collect());
    forget_files(conn, &orphans, blobs);
    !whole_failed
}

/// After registrations failed, removes the files they brought that nothing committed refers to
/// (and that no registration in flight in this process holds).
fn forget_files(conn: &mut Conn, digests: &[Sha256Digest], blobs: &FsBlobStore) {
    for digest in digests {
        let referenced = with_conn!(&mut *conn, |c| c.file_referenced(digest.as_str()));
        match referenced {
            Ok(false) => blobs.remove(digest),
            Ok(true) => {}
            Err(e) => tracing::warn!(error = %e, %digest, "cannot check a file's references; kept"),
        }
    }
}

/// Write-ahead log pages past which the writer checkpoints itself before its next batch (about
/// 64 MiB with 4 KiB pages): the log restarts from its beginning only when a transaction
/// begins after a checkpoint has copied every page, which under a steady load the checkpoint
/// thread alone may never see.
const LOG_PAGES_MAX: i64 = 16_384;

/// Shortest pause between two checkpoints of the checkpoint thread.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(200);

/// SQLite: copies the write-ahead log's pages into the database file (a passive checkpoint,
/// which takes no write lock) on its own thread and connection, after the writer's commits.
/// Done inside a commit, the copy and the database file's `fsync` took about a tenth of the
/// writer's time, the critical path of every registration.
struct Checkpointer {
    /// A commit happened (at most one waits: the thread checkpoints everything at once).
    tick: mpsc::SyncSender<()>,
    /// The log has grown past [`LOG_PAGES_MAX`]: the writer checkpoints before its next batch.
    behind: Arc<AtomicBool>,
}

impl Checkpointer {
    fn start(url: String) -> Result<Self, DbError> {
        let (tick, ticks) = mpsc::sync_channel::<()>(1);
        let behind = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&behind);
        thread::Builder::new()
            .name("diwan-checkpoint".into())
            .spawn(move || {
                let mut conn = None;
                // Ends with the writer, which holds the sending side.
                while ticks.recv().is_ok() {
                    if conn.is_none() {
                        conn = Conn::open(&url)
                            .map_err(
                                |e| tracing::warn!(error = %e, "checkpoint thread cannot connect"),
                            )
                            .ok();
                    }
                    if let Some(Conn::Sqlite(c)) = conn.as_mut() {
                        match checkpoint(c) {
                            Ok(pages) => flag.store(pages > LOG_PAGES_MAX, Ordering::Relaxed),
                            Err(e) => {
                                tracing::warn!(error = %e, "write-ahead log checkpoint failed");
                                conn = None;
                            }
                        }
                    }
                    thread::sleep(CHECKPOINT_PAUSE);
                }
            })
            .map_err(|e| DbError::Connect(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Self { tick, behind })
    }

    fn committed(&self) {
        // Full means a checkpoint is already asked for.
        let _ = self.tick.try_send(());
    }

    /// Before a batch, with the write turn: when the log has grown too long, checkpoints it
    /// on the writer's connection, so that the batch's transaction starts it over.
    fn catch_up(&self, c: &mut SqliteConnection) {
        if self.behind.swap(false, Ordering::Relaxed)
            && let Err(e) = checkpoint(c)
        {
            tracing::warn!(error = %e, "write-ahead log checkpoint failed");
        }
    }
}

/// A passive checkpoint; the length of the log (in pages) after it.
fn checkpoint(c: &mut SqliteConnection) -> diesel::QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Outcome {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        log: i64,
    }
    let o: Outcome = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(c)?;
    Ok(o.log)
}

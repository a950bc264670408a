//! Group commit: one thread, one connection, one transaction per batch of registrations.
//!
//! Requests queue on a channel. The writer takes the first one, then everything else already
//! waiting (up to [`MAX_BATCH`]), stores them all in one transaction (when one of them is
//! refused, the batch is stored again job by job without it), commits once, and answers each
//! caller.
//! A caller is answered only after the commit: a number returned is a number durable.
//!
//! On SQLite each batch first takes its turn at the write lock (`conn::WriteTurns`), in line
//! with the pooled writes, so that under load these get the lock between two batches instead
//! of waiting for a gap in SQLite's busy handler.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use diwan_app::StoreError;
use diwan_app::model::{IssuedReceipt, NewCorrespondence, Registered};
use diwan_app::ports::Notary;
use diwan_domain::Sha256Digest;

use crate::blobs::FsBlobStore;
use crate::conn::{Conn, Database, DbError, with_conn};
use crate::pack::PackWriter;
use crate::queries::Queries;

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
}

impl Writer {
    pub fn start(db: Database, blobs: Arc<FsBlobStore>) -> Result<Self, DbError> {
        let conn = Conn::open(&db.url)?;
        let (queue, jobs) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("diwan-writer".into())
            .spawn(move || {
                let mut pack = PackWriter::new(blobs.blobs_dir());
                run(&db, Some(conn), &jobs, &blobs, &mut pack);
            })
            .map_err(|e| DbError::Connect(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { queue })
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

fn run(
    db: &Database,
    mut conn: Option<Conn>,
    jobs: &mpsc::Receiver<Job>,
    blobs: &FsBlobStore,
    pack: &mut PackWriter,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        batch.extend(jobs.try_iter().take(MAX_BATCH - 1));
        if conn.is_none() {
            conn = Conn::open(&db.url)
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
        let healthy = commit_batch(c, batch, blobs, pack);
        drop(turn);
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
        Ok(results) => results,
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
    for (reply, result) in replies.into_iter().zip(results) {
        let _ = reply.send(result);
    }
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

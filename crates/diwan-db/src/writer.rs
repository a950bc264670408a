//! Group commit: one thread, one connection, one transaction per batch of registrations.
//!
//! Requests queue on a channel. The writer takes the first one, then everything else already
//! waiting (up to [`MAX_BATCH`]), stores them all in one transaction (when one of them is
//! refused, the batch is stored again job by job without it), commits once, and answers each
//! caller.
//! A caller is answered only after the commit: a number returned is a number durable.
//!
//! On SQLite the writer also records receipts' PDF addresses (after the batch, in a small
//! transaction that does not wait for the disk): it holds the database's one write lock nearly
//! all the time under load, and a pooled connection asking for it would sleep in SQLite's busy
//! handler until it happened on a gap between two batches.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use diwan_app::StoreError;
use diwan_app::model::{IssuedReceipt, NewCorrespondence, ReceiptKind, Registered};
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

/// A receipt's PDF address to record: (correspondence, kind, digest).
struct PdfNote {
    receipt: (String, ReceiptKind, String),
    reply: mpsc::SyncSender<Result<(), StoreError>>,
}

enum Work {
    Register(Box<Job>),
    ReceiptPdf(PdfNote),
}

pub struct Writer {
    queue: mpsc::Sender<Work>,
}

impl Writer {
    pub fn start(db: Database, blobs: Arc<FsBlobStore>) -> Result<Self, DbError> {
        let conn = Conn::open(&db.url)?;
        let (queue, jobs) = mpsc::channel::<Work>();
        thread::Builder::new()
            .name("diwan-writer".into())
            .spawn(move || {
                let mut pack = PackWriter::new(blobs.blobs_dir());
                run(&db.url, Some(conn), &jobs, &blobs, &mut pack);
            })
            .map_err(|e| DbError::Connect(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { queue })
    }

    /// Queues a registration and waits until it is committed (or refused).
    pub fn register(&self, new: NewCorrespondence, notary: Arc<dyn Notary>) -> Outcome {
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || StoreError::Unavailable("the registration writer has stopped".into());
        self.queue
            .send(Work::Register(Box::new(Job { new, notary, reply })))
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }

    /// Records a receipt's PDF address, after the batch being written, without waiting for the
    /// disk (the PDF can be made again from the signed receipt).
    pub fn record_receipt_pdf(
        &self,
        correspondence_id: &str,
        kind: ReceiptKind,
        pdf: &str,
    ) -> Result<(), StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || StoreError::Unavailable("the registration writer has stopped".into());
        let note = PdfNote {
            receipt: (correspondence_id.to_owned(), kind, pdf.to_owned()),
            reply,
        };
        self.queue
            .send(Work::ReceiptPdf(note))
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

fn run(
    url: &str,
    mut conn: Option<Conn>,
    jobs: &mpsc::Receiver<Work>,
    blobs: &FsBlobStore,
    pack: &mut PackWriter,
) {
    while let Ok(first) = jobs.recv() {
        let (mut batch, mut notes) = (Vec::new(), Vec::new());
        let mut take = |work| match work {
            Work::Register(job) => batch.push(*job),
            Work::ReceiptPdf(note) => notes.push(note),
        };
        take(first);
        for _ in 1..MAX_BATCH {
            match jobs.try_recv() {
                Ok(work) => take(work),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            conn = Conn::open(url)
                .map_err(|e| tracing::error!(error = %e, "writer cannot reconnect"))
                .ok();
        }
        let Some(c) = conn.as_mut() else {
            let unreachable = || StoreError::Unavailable("database unreachable".into());
            for job in batch {
                let _ = job.reply.send(Err(unreachable()));
            }
            for note in notes {
                let _ = note.reply.send(Err(unreachable()));
            }
            continue;
        };
        let mut healthy = batch.is_empty() || commit_batch(c, batch, blobs, pack);
        if !notes.is_empty() {
            healthy &= record_pdfs(c, notes);
        }
        if !healthy {
            // The connection may be broken; open a fresh one for the next batch.
            conn = None;
        }
    }
}

/// Records receipts' PDF addresses in one transaction whose commit does not wait for the disk,
/// and answers their callers. Returns `false` when it failed.
fn record_pdfs(conn: &mut Conn, notes: Vec<PdfNote>) -> bool {
    use diesel::connection::SimpleConnection as _;
    let (receipts, replies): (Vec<_>, Vec<_>) =
        notes.into_iter().map(|n| (n.receipt, n.reply)).unzip();
    let outcome = match conn {
        Conn::Sqlite(c) => {
            let relax = |c: &mut diesel::SqliteConnection, sql| {
                c.batch_execute(sql).map_err(crate::conn::store_error)
            };
            relax(c, "PRAGMA synchronous = NORMAL").and_then(|()| {
                let set = c.set_receipt_pdfs(&receipts);
                // Back to durable commits for the registrations, whatever happened.
                relax(c, "PRAGMA synchronous = FULL").and(set)
            })
        }
        Conn::Pg(c) => c.set_receipt_pdfs(&receipts),
    };
    if let Err(e) = &outcome {
        tracing::error!(error = %e, size = receipts.len(), "receipt PDF addresses not recorded");
    }
    for reply in replies {
        let _ = reply.send(outcome.clone());
    }
    outcome.is_ok()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::sqlite_synchronous as synchronous;

    fn note(id: &str) -> (PdfNote, mpsc::Receiver<Result<(), StoreError>>) {
        let (reply, answer) = mpsc::sync_channel(1);
        let receipt = (id.to_owned(), ReceiptKind::Receipt, "ab".repeat(32));
        (PdfNote { receipt, reply }, answer)
    }

    /// The writer records PDF addresses without waiting for the disk, then its connection is
    /// back to `synchronous = FULL` (2) for the registrations, also when recording failed.
    #[test]
    fn pdf_addresses_leave_the_writer_durable() {
        let dir = std::env::temp_dir().join(format!(
            "diwan-writer-{}",
            diwan_app::ids::new_id().unwrap()
        ));
        let url = format!("sqlite://{}", dir.join("t.db").display());
        let db = Database::open(&url, 1).unwrap();
        db.migrate().unwrap();
        let mut conn = Conn::open(&url).unwrap();
        assert_eq!(synchronous(&mut conn), 2);
        let (a, answer_a) = note("no-such-letter");
        let (b, answer_b) = note("nor-this-one");
        assert!(record_pdfs(&mut conn, vec![a, b]));
        assert!(answer_a.recv().unwrap().is_ok() && answer_b.recv().unwrap().is_ok());
        assert_eq!(synchronous(&mut conn), 2);
        db.execute_batch("DROP TABLE receipts").unwrap();
        let (c, answer_c) = note("no-such-letter");
        assert!(!record_pdfs(&mut conn, vec![c]));
        assert!(answer_c.recv().unwrap().is_err());
        assert_eq!(synchronous(&mut conn), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Dossiers: the sealed PDF/A assembling a registration's files behind its arrival stamp.
//! Made by a small worker pool just after commit, or when first asked for; one per
//! registration, stored as a blob with a row pointing to it.

mod make;

use std::collections::HashSet;
use std::sync::{Condvar, LazyLock, Mutex, PoisonError, mpsc};

pub use make::make;

use crate::Services;
use crate::access::Actor;
use crate::error::AppError;
use crate::model::StoredDossier;
use crate::ports::ReadSeek;

/// Correspondences whose dossier a thread of this process is making: a second caller waits
/// for the first instead of making it again. Keyed by correspondence id, so process-wide.
static MAKING: LazyLock<(Mutex<HashSet<String>>, Condvar)> = LazyLock::new(Default::default);

struct Making<'a>(&'a str);

impl<'a> Making<'a> {
    fn claim(id: &'a str) -> Self {
        let (set, cv) = &*MAKING;
        let mut held = set.lock().unwrap_or_else(PoisonError::into_inner);
        while held.contains(id) {
            held = cv.wait(held).unwrap_or_else(PoisonError::into_inner);
        }
        held.insert(id.to_owned());
        Self(id)
    }
}

impl Drop for Making<'_> {
    fn drop(&mut self) {
        let (set, cv) = &*MAKING;
        set.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(self.0);
        cv.notify_all();
    }
}

/// The recorded dossier of `id`, made (and recorded) first if needed.
pub fn ensure(s: &Services, id: &str) -> Result<StoredDossier, AppError> {
    if let Some(d) = s.store.dossier(id)? {
        return Ok(d);
    }
    let _making = Making::claim(id);
    if let Some(d) = s.store.dossier(id)? {
        return Ok(d);
    }
    let made = make(s, id)?;
    if s.store.insert_dossier(&made)? {
        return Ok(made);
    }
    // Another process recorded one meanwhile: keep it, drop ours.
    let recorded = s
        .store
        .dossier(id)?
        .ok_or_else(|| AppError::internal("a dossier vanished"))?;
    if recorded.sha256 != made.sha256 {
        s.blobs.forget_made(&made.sha256)?;
    }
    Ok(recorded)
}

/// A dossier to send.
pub struct DossierFile {
    pub dossier: StoredDossier,
    pub registration_number: String,
    pub content: Box<dyn ReadSeek>,
}

impl std::fmt::Debug for DossierFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DossierFile")
            .field("dossier", &self.dossier)
            .finish_non_exhaustive()
    }
}

/// The dossier of a correspondence the actor may see (else not found), made now if needed.
pub fn download(s: &Services, actor: &Actor, id: &str) -> Result<DossierFile, AppError> {
    let c = crate::correspondence::get(s, actor, id)?;
    let dossier = ensure(s, &c.id)?;
    let content = s.blobs.open(&dossier.sha256)?.ok_or_else(|| {
        AppError::internal(format!(
            "the dossier of {id} is missing from the file store"
        ))
    })?;
    Ok(DossierFile {
        dossier,
        registration_number: c.registration_number.as_str().to_owned(),
        content,
    })
}

/// Queue of correspondences whose dossier is to be made.
#[derive(Debug, Clone)]
pub struct DossierQueue(mpsc::SyncSender<String>);

impl DossierQueue {
    /// Asks for a dossier; if the queue is full it is made on demand or at the next start.
    pub fn push(&self, id: &str) {
        let _ = self.0.try_send(id.to_owned());
    }
}

/// Starts `threads` workers making dossiers, and queues the registrations left without one.
pub fn start_workers(s: &Services, threads: usize) -> Result<DossierQueue, AppError> {
    let (tx, rx) = mpsc::sync_channel::<String>(16_384);
    let rx = std::sync::Arc::new(Mutex::new(rx));
    for n in 0..threads.max(1) {
        let s = s.clone();
        let rx = std::sync::Arc::clone(&rx);
        let builder = std::thread::Builder::new().name(format!("diwan-dossier-{n}"));
        let workers = std::sync::Arc::clone(&s.workers);
        workers
            .spawn(builder, move || {
                // The PKI is set up once the workers are started: wait for it.
                while s.runtime.get().is_none() {
                    if !s.workers.pause(std::time::Duration::from_millis(20)) {
                        return;
                    }
                }
                loop {
                    let job = {
                        let guard = rx.lock().unwrap_or_else(PoisonError::into_inner);
                        s.workers.wait(&guard, std::time::Duration::MAX)
                    };
                    let crate::workers::Wait::Got(id) = job else {
                        break;
                    };
                    if let Err(e) = ensure(&s, &id) {
                        tracing::error!(correspondence = %id, error = %e, "cannot make a dossier");
                    }
                }
            })
            .map_err(|e| AppError::internal(format!("cannot start a dossier worker: {e}")))?;
    }
    let queue = DossierQueue(tx);
    for id in s.store.without_dossier(10_000)? {
        queue.push(&id);
    }
    Ok(queue)
}

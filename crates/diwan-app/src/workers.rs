//! The background threads of a process (PDF, dossier, e-mail, text, exchange workers, the
//! follow-up scheduler) and the signal that stops them: a server that stops, or a test that
//! ends, lets each finish the job in hand, then waits for them, so that none writes into a
//! data directory or a database that is going away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest a waiting worker takes to see the stop signal.
const CHECK_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
pub struct Workers {
    stopping: AtomicBool,
    /// Rung on stop: cuts short the pauses of [`Workers::pause`].
    bell: (Mutex<()>, Condvar),
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// What a worker's wait on its channel gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Wait<T> {
    Got(T),
    /// The time asked for passed.
    Elapsed,
    /// The process stops, or the channel's senders are gone.
    Stop,
}

impl Workers {
    /// Starts a worker thread, remembered for [`Workers::stop`].
    pub fn spawn(
        &self,
        builder: std::thread::Builder,
        work: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<()> {
        let handle = builder.spawn(work)?;
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(handle);
        Ok(())
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Sleeps for `d`, or less when the process stops; `false` if it stops.
    pub fn pause(&self, d: Duration) -> bool {
        let (lock, bell) = &self.bell;
        let deadline = Deadline::after(d);
        let mut guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while !self.stopping() {
            let left = deadline.left();
            if left.is_zero() {
                return true;
            }
            guard = bell
                .wait_timeout(guard, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        false
    }

    /// Waits up to `d` (`Duration::MAX`: no limit) for a message on `rx`, looking at the stop
    /// signal meanwhile.
    pub fn wait<T>(&self, rx: &mpsc::Receiver<T>, d: Duration) -> Wait<T> {
        let deadline = Deadline::after(d);
        loop {
            if self.stopping() {
                return Wait::Stop;
            }
            let left = deadline.left();
            if left.is_zero() {
                return Wait::Elapsed;
            }
            match rx.recv_timeout(left.min(CHECK_EVERY)) {
                Ok(v) => return Wait::Got(v),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Wait::Stop,
            }
        }
    }

    /// Tells every worker to stop and waits until each has finished the job in hand.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        {
            let _guard = self.bell.0.lock().unwrap_or_else(PoisonError::into_inner);
            self.bell.1.notify_all();
        }
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for t in threads {
            if t.join().is_err() {
                tracing::error!("a worker thread panicked");
            }
        }
    }
}

/// An instant `d` from now, or none (waits without a limit) past what `Instant` can hold.
struct Deadline(Option<Instant>);

impl Deadline {
    fn after(d: Duration) -> Self {
        Self(Instant::now().checked_add(d))
    }

    /// Time left (a day at a time without a limit).
    fn left(&self) -> Duration {
        self.0.map_or(Duration::from_secs(86_400), |at| {
            at.saturating_duration_since(Instant::now())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn stop_ends_pauses_and_waits_and_joins_every_worker() {
        let workers = Arc::new(Workers::default());
        let (tx, rx) = mpsc::channel::<u32>();
        let done = Arc::new(Mutex::new(Vec::new()));
        let (w, d) = (Arc::clone(&workers), Arc::clone(&done));
        workers
            .spawn(std::thread::Builder::new(), move || {
                while w.pause(Duration::MAX) {}
                d.lock().unwrap().push("paused");
            })
            .unwrap();
        let (w, d) = (Arc::clone(&workers), Arc::clone(&done));
        let (ready, waiting) = mpsc::channel::<()>();
        workers
            .spawn(std::thread::Builder::new(), move || {
                assert_eq!(w.wait(&rx, Duration::MAX), Wait::Got(7));
                assert_eq!(w.wait(&rx, Duration::from_millis(1)), Wait::Elapsed);
                ready.send(()).unwrap();
                assert_eq!(w.wait(&rx, Duration::from_secs(3600)), Wait::Stop);
                d.lock().unwrap().push("waited");
            })
            .unwrap();
        tx.send(7).unwrap();
        waiting.recv().unwrap();
        let started = Instant::now();
        workers.stop();
        assert!(started.elapsed() < Duration::from_secs(60));
        let mut done = done.lock().unwrap().clone();
        done.sort_unstable();
        assert_eq!(done, ["paused", "waited"]);
        assert!(workers.stopping());
        assert!(!workers.pause(Duration::from_secs(3600)));
    }
}

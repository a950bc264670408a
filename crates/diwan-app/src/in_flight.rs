//! One maker at a time per key, within this process.
//!
//! A receipt's PDF can be asked for at the same moment by the PDF worker, the e-mail sender
//! and a citizen's download. Each copy would be valid, but sealed at another instant: the
//! citizen could download a PDF other than the one e-mailed. [`InFlight::hold`] lets the
//! first caller make it while the others wait, then read what it stored.

use std::collections::HashSet;
use std::sync::{Condvar, Mutex, PoisonError};

/// Keys being worked on, and a signal for those waiting on one of them.
#[derive(Debug, Default)]
pub struct InFlight {
    held: Mutex<HashSet<String>>,
    released: Condvar,
}

/// A key held by this caller until dropped (on every path out, an error or a panic included).
#[derive(Debug)]
pub struct Held<'a> {
    owner: &'a InFlight,
    key: String,
}

impl InFlight {
    /// Waits until no one else holds `key`, then holds it.
    pub fn hold(&self, key: &str) -> Held<'_> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        while held.contains(key) {
            held = self
                .released
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
        held.insert(key.to_owned());
        Held {
            owner: self,
            key: key.to_owned(),
        }
    }

    /// How many keys are held now.
    pub fn len(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.owner
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
        self.owner.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn one_holder_per_key_and_other_keys_are_free() {
        let flight = Arc::new(InFlight::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (flight, inside, most) = (flight.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let _held = flight.hold("receipt-1");
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        // Another key is not blocked by this one.
                        drop(flight.hold("receipt-2"));
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            1,
            "two holders of one key at once"
        );
        assert!(flight.is_empty());
    }

    #[test]
    fn a_panicking_holder_releases_its_key() {
        let flight = Arc::new(InFlight::default());
        let f = flight.clone();
        let r = std::thread::spawn(move || {
            let _held = f.hold("k");
            panic!("maker failed");
        })
        .join();
        assert!(r.is_err());
        assert!(flight.is_empty());
        drop(flight.hold("k"));
    }
}

//! Short-lived in-memory copies of what nearly every request reads: the organisation (units and
//! registries) and authenticated tokens.
//!
//! Entries live at most [`TTL`]. A change made through this process clears the affected cache at
//! once; a change made by another process sharing the database is seen within [`TTL`]. So a token
//! revoked on one node stops working on the others within that time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};

use crate::access::{Actor, OrgTree};
use crate::model::{Administration, Registry, Unit};

/// How long a cached entry is trusted.
pub const TTL: chrono::Duration = chrono::Duration::seconds(2);
/// Most tokens kept; past that the cache is emptied (a crude but bounded policy).
const MAX_TOKENS: usize = 10_000;

/// The organisation as read at one moment.
#[derive(Debug)]
pub struct OrgSnapshot {
    pub administrations: Vec<Administration>,
    pub units: Vec<Unit>,
    pub registries: Vec<Registry>,
    pub tree: OrgTree,
}

impl OrgSnapshot {
    pub fn new(
        administrations: Vec<Administration>,
        units: Vec<Unit>,
        registries: Vec<Registry>,
    ) -> Self {
        Self {
            tree: OrgTree::new(&units),
            administrations,
            units,
            registries,
        }
    }

    pub fn registry_by_code(&self, code: &str) -> Option<&Registry> {
        self.registries.iter().find(|r| r.code.as_str() == code)
    }

    pub fn registry(&self, id: &str) -> Option<&Registry> {
        self.registries.iter().find(|r| r.id == id)
    }

    /// The unit with this code (case and surrounding spaces ignored).
    pub fn unit_by_code(&self, code: &str) -> Option<&Unit> {
        let code = code.trim();
        self.units
            .iter()
            .find(|u| u.code.as_str().eq_ignore_ascii_case(code))
    }

    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.id == id)
    }

    pub fn administration(&self, id: &str) -> Option<&Administration> {
        self.administrations.iter().find(|a| a.id == id)
    }

    /// The registry of `unit`, or of its nearest parent that has one.
    pub fn registry_for_unit(&self, unit: &Unit) -> Option<&Registry> {
        self.tree
            .lineage(&unit.id)
            .find_map(|id| self.registries.iter().find(|r| r.unit_id == id))
    }
}

/// A cached token: when it was read, when it expires, whose it is.
#[derive(Debug)]
struct CachedActor {
    read_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    actor: Actor,
}

/// Failed logins allowed per e-mail address within [`LOGIN_WINDOW`].
pub const LOGIN_FAILURES: u32 = 10;
/// The window over which failed logins are counted.
pub const LOGIN_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

#[derive(Debug, Default)]
pub struct Caches {
    /// Failed logins per lower-cased e-mail: (first failure of the window, count).
    login_failures: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
    org: Mutex<Option<(DateTime<Utc>, Arc<OrgSnapshot>)>>,
    tokens: Mutex<HashMap<String, CachedActor>>,
    /// Root hashes of signed tree heads by tree size (heads never change once written).
    heads: Mutex<HashMap<u64, [u8; 32]>>,
    /// The active routing rules of each registry, in order.
    rules: Mutex<HashMap<String, (DateTime<Utc>, Rules)>>,
}

/// A registry's active routing rules, in order.
pub type Rules = Arc<Vec<crate::model::RoutingRule>>;

/// Most tree heads remembered.
const HEADS_MAX: usize = 16_384;

impl Caches {
    pub fn head_root(&self, size: u64) -> Option<[u8; 32]> {
        self.heads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&size)
            .copied()
    }

    pub fn put_head_root(&self, size: u64, root: [u8; 32]) {
        let mut heads = self.heads.lock().unwrap_or_else(PoisonError::into_inner);
        if heads.len() >= HEADS_MAX {
            heads.clear();
        }
        heads.insert(size, root);
    }

    pub fn org(&self, now: DateTime<Utc>) -> Option<Arc<OrgSnapshot>> {
        let guard = self.org.lock().unwrap_or_else(PoisonError::into_inner);
        guard
            .as_ref()
            .filter(|(at, _)| now - *at < TTL)
            .map(|(_, s)| s.clone())
    }

    pub fn put_org(&self, now: DateTime<Utc>, snapshot: Arc<OrgSnapshot>) {
        *self.org.lock().unwrap_or_else(PoisonError::into_inner) = Some((now, snapshot));
    }

    /// A registry's active routing rules, if cached and fresh.
    pub fn rules(&self, registry_id: &str, now: DateTime<Utc>) -> Option<Rules> {
        let guard = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        guard
            .get(registry_id)
            .filter(|(at, _)| now - *at < TTL)
            .map(|(_, r)| r.clone())
    }

    pub fn put_rules(&self, registry_id: &str, now: DateTime<Utc>, rules: Rules) {
        let mut guard = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.len() >= 10_000 {
            guard.clear();
        }
        guard.insert(registry_id.to_owned(), (now, rules));
    }

    pub fn clear_rules(&self) {
        self.rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub fn clear_org(&self) {
        *self.org.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The actor of a token hash, if cached, fresh and not expired.
    pub fn actor(&self, hash: &str, now: DateTime<Utc>) -> Option<Actor> {
        let guard = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        guard
            .get(hash)
            .filter(|c| now - c.read_at < TTL && c.expires_at > now)
            .map(|c| c.actor.clone())
    }

    pub fn put_actor(
        &self,
        hash: String,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
        actor: Actor,
    ) {
        let mut guard = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.len() >= MAX_TOKENS {
            guard.clear();
        }
        guard.insert(
            hash,
            CachedActor {
                read_at: now,
                expires_at: expires,
                actor,
            },
        );
    }

    /// Whether logins for this e-mail are refused for now (too many recent failures).
    pub fn login_blocked(&self, email: &str, now: DateTime<Utc>) -> bool {
        let guard = self
            .login_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        guard
            .get(email)
            .is_some_and(|(since, n)| now - *since < LOGIN_WINDOW && *n >= LOGIN_FAILURES)
    }

    /// Counts a failed login; a success clears the count.
    pub fn login_result(&self, email: &str, now: DateTime<Utc>, success: bool) {
        let mut guard = self
            .login_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if success {
            guard.remove(email);
            return;
        }
        if guard.len() >= MAX_TOKENS {
            guard.retain(|_, (since, _)| now - *since < LOGIN_WINDOW);
        }
        let entry = guard.entry(email.to_owned()).or_insert((now, 0));
        if now - entry.0 >= LOGIN_WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    /// Forgets every cached token (after a revocation or a change of grants).
    pub fn clear_tokens(&self) {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

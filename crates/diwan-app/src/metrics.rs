//! Operator metrics (`GET /metrics`): the recorder an installation counts into, who may read
//! it, and the gauges read from the store when it is read.
//!
//! Counting goes through the `metrics` facade's macros, aimed at the installation's own
//! recorder by [`Metrics::record`], never at a process-wide one (tests run several
//! installations in one process). The exporter that renders the text is given by the server.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diwan_domain::{Channel, Direction};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use crate::Services;
use crate::error::{AppError, Rejection};

/// Registrations stored by this process, by direction and channel.
pub const REGISTRATIONS: &str = "diwan_registrations_total";
/// E-mails waiting in the outbox (retries included).
pub const OUTBOX_PENDING: &str = "diwan_outbox_pending";
/// Age of the oldest e-mail waiting in the outbox, in seconds (0 when none waits).
pub const OUTBOX_OLDEST_AGE: &str = "diwan_outbox_oldest_pending_age_seconds";
/// The database pool's size, open connections and idle connections.
pub const POOL_MAX: &str = "diwan_db_pool_max_connections";
pub const POOL_OPEN: &str = "diwan_db_pool_connections";
pub const POOL_IDLE: &str = "diwan_db_pool_idle_connections";
/// Batches of registrations this process's writer stored, by how they were stored.
pub const BATCHES: &str = "diwan_registration_batches_total";
/// Threads this process started for each background job.
pub const WORKERS: &str = "diwan_background_workers";

/// A recorder that can also render what it holds (the Prometheus exporter, in `diwan-api`).
pub trait Exporter: metrics::Recorder + Send + Sync {
    /// The exposition text of everything recorded.
    fn render(&self) -> String;
}

/// Which clients may read the metrics (`metrics.allow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// Only a client connected from a loopback address and not through a proxy.
    Loopback,
    /// Any client.
    Any,
}

/// Who may read the metrics.
#[derive(Debug, Clone)]
pub struct Access {
    pub exposure: Exposure,
    /// When set, `Authorization: Bearer <token>` is required as well.
    pub token: Option<SecretString>,
}

/// What the HTTP layer knows of whoever asks for the metrics.
#[derive(Debug)]
pub struct Scraper {
    /// The TCP peer is a loopback address.
    pub loopback: bool,
    /// The request names a client behind a proxy (`Forwarded`, `X-Forwarded-For`, `X-Real-IP`).
    pub forwarded: bool,
    /// The bearer token sent, if any.
    pub bearer: Option<SecretString>,
}

/// The e-mail outbox's backlog: e-mails waiting to be sent (retries included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub pending: u64,
    /// When the oldest of them was queued.
    pub oldest: Option<DateTime<Utc>>,
}

/// The database pool (the registration writer's own connection is not part of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolState {
    pub max: u32,
    pub open: u32,
    pub idle: u32,
}

/// The batches of registrations the writer stored since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterState {
    /// Batches of one registration.
    pub alone: u64,
    /// Batches of several stored together (one statement per table).
    pub together: u64,
    /// Batches of several stored one after the other: storing them together failed (a refused
    /// registration, content packed meanwhile by another process, a fault), or one of them
    /// had its number taken earlier.
    pub one_by_one: u64,
}

struct On {
    exporter: Box<dyn Exporter>,
    access: Access,
}

/// The installation's metrics: off (nothing is counted, `GET /metrics` is not found), or an
/// exporter and who may read it. Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<On>>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("access", &self.0.as_ref().map(|on| &on.access))
            .finish()
    }
}

impl Metrics {
    /// Nothing counted, nothing served.
    pub fn off() -> Self {
        Self(None)
    }

    pub fn new(exporter: impl Exporter + 'static, access: Access) -> Self {
        let metrics = Self(Some(Arc::new(On {
            exporter: Box::new(exporter),
            access,
        })));
        metrics.record(describe);
        metrics
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Runs `count` with this installation's recorder as the target of the `metrics` macros;
    /// does nothing when metrics are off.
    pub fn record(&self, count: impl FnOnce()) {
        if let Some(on) = &self.0 {
            metrics::with_local_recorder(on.exporter.as_ref(), count);
        }
    }

    /// Says how many threads run background job `job` in this process (0: it does not run
    /// here).
    pub fn workers(&self, job: &'static str, threads: usize) {
        self.record(|| metrics::gauge!(WORKERS, "job" => job).set(threads as f64));
    }
}

/// Counts a registration stored by this process.
pub(crate) fn registered(s: &Services, direction: Direction, channel: Channel) {
    s.metrics.record(|| {
        metrics::counter!(REGISTRATIONS,
            "direction" => direction.as_str(), "channel" => channel.as_str())
        .increment(1);
    });
}

/// The exposition text, for a scraper the settings admit: the counters, and the gauges read
/// now from the store. 404 when metrics are off, 403 `metrics_forbidden` for a client the
/// exposure does not admit, 401 without the configured token.
pub fn scrape(s: &Services, who: &Scraper) -> Result<String, AppError> {
    let Some(on) = &s.metrics.0 else {
        return Err(AppError::not_found("resource"));
    };
    admit(&on.access, who)?;
    // Before the query below takes a connection of its own.
    let pool = s.store.pool_state();
    let writer = s.store.writer_state();
    let outbox = s.store.outbox_backlog()?;
    let age = outbox.oldest.map_or(0.0, |t| {
        (s.clock.now() - t).num_milliseconds().max(0) as f64 / 1000.0
    });
    s.metrics.record(|| {
        metrics::gauge!(OUTBOX_PENDING).set(outbox.pending as f64);
        metrics::gauge!(OUTBOX_OLDEST_AGE).set(age);
        metrics::gauge!(POOL_MAX).set(pool.max);
        metrics::gauge!(POOL_OPEN).set(pool.open);
        metrics::gauge!(POOL_IDLE).set(pool.idle);
        for (stored, n) in [
            ("alone", writer.alone),
            ("together", writer.together),
            ("one_by_one", writer.one_by_one),
        ] {
            metrics::counter!(BATCHES, "stored" => stored).absolute(n);
        }
    });
    Ok(on.exporter.render())
}

fn admit(access: &Access, who: &Scraper) -> Result<(), AppError> {
    if access.exposure == Exposure::Loopback && (!who.loopback || who.forwarded) {
        return Err(AppError::rejected(
            Rejection::Forbidden,
            "metrics_forbidden",
            "the metrics are served only to clients on this machine, not through a proxy (metrics.allow)",
        ));
    }
    if let Some(token) = &access.token {
        let given = who.bearer.as_ref().ok_or_else(AppError::unauthenticated)?;
        // Digests compared, so the time taken says nothing of the token.
        let digest = |s: &SecretString| {
            ring::digest::digest(&ring::digest::SHA256, s.expose_secret().as_bytes())
        };
        if digest(token).as_ref() != digest(given).as_ref() {
            return Err(AppError::unauthenticated());
        }
    }
    Ok(())
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge};
    describe_counter!(
        REGISTRATIONS,
        "Registrations stored by this process, by direction and channel."
    );
    describe_gauge!(
        OUTBOX_PENDING,
        "E-mails waiting in the outbox (retries included)."
    );
    describe_gauge!(
        OUTBOX_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest e-mail waiting in the outbox (0 when none waits)."
    );
    describe_gauge!(POOL_MAX, "Most connections the database pool opens.");
    describe_gauge!(POOL_OPEN, "Connections the database pool holds open.");
    describe_gauge!(POOL_IDLE, "Open connections of the pool not in use.");
    describe_counter!(
        BATCHES,
        "Batches of registrations stored by this process's writer: alone (one registration), \
         together (several, one statement per table), one_by_one (several, one after the other: \
         storing them together failed, or one had its number taken earlier)."
    );
    describe_gauge!(
        WORKERS,
        "Threads this process started for each background job (0: not run here)."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scraper(loopback: bool, forwarded: bool, bearer: Option<&str>) -> Scraper {
        Scraper {
            loopback,
            forwarded,
            bearer: bearer.map(|b| SecretString::from(b.to_owned())),
        }
    }

    fn code(r: Result<(), AppError>) -> Option<&'static str> {
        match r {
            Ok(()) => None,
            Err(AppError::Rejected { code, .. }) => Some(code),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn loopback_admits_only_local_clients_not_behind_a_proxy() {
        let access = Access {
            exposure: Exposure::Loopback,
            token: None,
        };
        assert_eq!(code(admit(&access, &scraper(true, false, None))), None);
        let refused = Some("metrics_forbidden");
        assert_eq!(code(admit(&access, &scraper(true, true, None))), refused);
        assert_eq!(code(admit(&access, &scraper(false, false, None))), refused);
        let any = Access {
            exposure: Exposure::Any,
            token: None,
        };
        assert_eq!(code(admit(&any, &scraper(false, true, None))), None);
    }

    #[test]
    fn a_token_is_required_when_set() {
        let access = Access {
            exposure: Exposure::Any,
            token: Some(SecretString::from("s3cret".to_owned())),
        };
        let refused = Some("unauthenticated");
        assert_eq!(code(admit(&access, &scraper(true, false, None))), refused);
        assert_eq!(
            code(admit(&access, &scraper(true, false, Some("s3cre")))),
            refused
        );
        assert_eq!(
            code(admit(&access, &scraper(true, false, Some("s3cret")))),
            None
        );
    }
}

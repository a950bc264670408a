#![doc = include_str!("../README.md")]

pub mod access;
pub mod agents;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod correspondence;
pub mod document_text;
pub mod dossiers;
pub mod error;
pub mod exchange;
pub mod ids;
pub mod in_flight;
pub mod indicators;
pub mod log;
pub mod merkle;
pub mod metrics;
pub mod model;
pub mod open_data;
pub mod org;
pub mod parapheur;
pub mod pki;
pub mod portal;
pub mod ports;
pub mod receipts;
pub mod throttle;
pub mod transparency;
pub mod workers;
pub mod workflow;

pub use error::{AppError, Rejection};
pub use ports::{BlobSink, BlobStore, Clock, ScratchFile, StagedBlob, Store, StoreError};

/// What every use case reaches the outside world through.
#[derive(Clone)]
pub struct Services {
    pub store: std::sync::Arc<dyn Store>,
    pub blobs: std::sync::Arc<dyn BlobStore>,
    pub clock: std::sync::Arc<dyn Clock>,
    pub settings: std::sync::Arc<Settings>,
    pub caches: std::sync::Arc<cache::Caches>,
    /// Per-client rate limits of the public forms.
    pub throttle: std::sync::Arc<throttle::RateLimits>,
    /// What the server starts once the store is open: the PKI and the workers.
    pub runtime: std::sync::Arc<std::sync::OnceLock<Runtime>>,
    /// What this installation counts for `GET /metrics` (off unless the server turns it on).
    pub metrics: crate::metrics::Metrics,
    /// Receipt PDFs being made now, one maker each (see [`receipts::pdf::ensure_pdf`]).
    pub pdfs_in_making: std::sync::Arc<in_flight::InFlight>,
    /// The background threads, and the signal that stops them.
    pub workers: std::sync::Arc<workers::Workers>,
}

/// The parts of the application that need the store to exist first.
pub struct Runtime {
    pub pki: std::sync::Arc<pki::Pki>,
    pub pdf_queue: Option<receipts::pdf::PdfQueue>,
    /// Dossiers to make after commit.
    pub dossier_queue: Option<dossiers::DossierQueue>,
    pub mail_wake: Option<receipts::mail::MailWake>,
    /// Sends e-mails that cannot wait for the outbox (confirmation codes).
    pub mailer: Option<std::sync::Arc<dyn receipts::mail::MailSender>>,
    /// Wakes the workers that read registered files' text (PDF text, OCR).
    pub text_wake: Option<document_text::TextWake>,
    /// Wakes the exchange worker (absent when this process does not deliver).
    pub exchange_wake: Option<exchange::ExchangeWake>,
    /// The external time-stamping authority signatures are stamped by (`pki.tsa_url`);
    /// without one, this installation's own unit stamps them.
    pub external_tsa: Option<std::sync::Arc<dyn parapheur::tsa::TimeStampAuthority>>,
}

impl Services {
    pub fn new(
        store: std::sync::Arc<dyn Store>,
        blobs: std::sync::Arc<dyn BlobStore>,
        clock: std::sync::Arc<dyn Clock>,
        settings: Settings,
    ) -> Self {
        Self {
            store,
            blobs,
            clock,
            settings: std::sync::Arc::new(settings),
            caches: std::sync::Arc::default(),
            throttle: std::sync::Arc::default(),
            runtime: std::sync::Arc::default(),
            metrics: crate::metrics::Metrics::off(),
            pdfs_in_making: std::sync::Arc::default(),
            workers: std::sync::Arc::default(),
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("pki", &self.pki)
            .field("pdf_queue", &self.pdf_queue)
            .field("dossier_queue", &self.dossier_queue)
            .field("mail_wake", &self.mail_wake)
            .field("mailer", &self.mailer.is_some())
            .field("text_wake", &self.text_wake)
            .finish()
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The settings the use cases need (a slice of the server's configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a login session lasts.
    pub session_ttl: chrono::Duration,
    /// The longest lifetime an API token may ask for.
    pub api_token_max_ttl: chrono::Duration,
    /// Largest single file, in bytes.
    pub max_file_bytes: u64,
    /// Largest registration request (all parts together), in bytes.
    pub max_request_bytes: u64,
    /// Most files in one registration.
    pub max_files: usize,
    /// The installation's time zone: registers follow its calendar years.
    pub time_zone: chrono_tz::Tz,
    /// The public base URL (verification links, CRL locations).
    pub public_url: String,
    /// Working days, for legal deadlines.
    pub calendar: diwan_domain::calendar::WorkingCalendar,
    pub deadlines: receipts::Deadlines,
    /// Inspection of deposited PDFs and assembly of dossiers.
    pub documents: DocumentSettings,
    /// Follow-up of assignments.
    pub workflow: WorkflowSettings,
    /// Exchange with other administrations and trusted peer installations.
    pub exchange: exchange::ExchangeSettings,
    /// The public aggregates.
    pub open_data: open_data::OpenDataSettings,
}

/// How assignments are followed up.
#[derive(Debug, Clone)]
pub struct WorkflowSettings {
    /// A reminder is sent this many days before the due date (0: on the day).
    pub reminder_days: u32,
}

impl Default for WorkflowSettings {
    fn default() -> Self {
        Self { reminder_days: 2 }
    }
}

/// How deposited documents are inspected and assembled into dossiers.
#[derive(Debug, Clone)]
pub struct DocumentSettings {
    /// The longest a PDF's inspection may take at registration (past it: `too_slow`).
    pub inspect_time: std::time::Duration,
    /// The longest the assembly of one dossier may take.
    pub dossier_time: std::time::Duration,
    /// The resolution assumed for an image that gives none (dots per inch).
    pub default_dpi: u32,
}

impl Default for DocumentSettings {
    fn default() -> Self {
        Self {
            inspect_time: std::time::Duration::from_secs(5),
            dossier_time: std::time::Duration::from_secs(300),
            default_dpi: 200,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session_ttl: chrono::Duration::hours(12),
            api_token_max_ttl: chrono::Duration::days(366),
            max_file_bytes: 50 * 1024 * 1024,
            max_request_bytes: 200 * 1024 * 1024,
            max_files: 100,
            time_zone: chrono_tz::Tz::UTC,
            public_url: "http://localhost:8080".into(),
            calendar: diwan_domain::calendar::WorkingCalendar::saturday_sunday(),
            deadlines: receipts::Deadlines::default(),
            documents: DocumentSettings::default(),
            workflow: WorkflowSettings::default(),
            exchange: exchange::ExchangeSettings::default(),
            open_data: open_data::OpenDataSettings::default(),
        }
    }
}

#![doc = include_str!("../README.md")]

pub mod cli;
pub mod config;
pub mod demo;
pub mod exchange;
pub mod mail;
pub mod ocr;
pub mod pki;
pub mod tsa;

use std::sync::Arc;

use anyhow::Context as _;
use diwan_app::Services;
use diwan_app::ports::SystemClock;
use diwan_db::{Database, DbStore, FsBlobStore};

pub use config::Settings;

/// The storage and use-case services of one installation, opened and migrated.
#[derive(Debug)]
pub struct Installation {
    pub services: Services,
    pub database: Database,
    pub blobs: Arc<FsBlobStore>,
    pub pki: Arc<diwan_app::pki::Pki>,
}

impl Installation {
    /// Opens the database (applying migrations) and the file store.
    pub fn open(settings: &Settings) -> anyhow::Result<Self> {
        let url = settings.database_url();
        let database =
            Database::open(&url, settings.database.pool_size).context("opening the database")?;
        database.migrate()?;
        let blobs = Arc::new(
            FsBlobStore::open(&settings.storage.data_dir, database.clone()).with_context(|| {
                format!(
                    "opening the file store in {}",
                    settings.storage.data_dir.display()
                )
            })?,
        );
        let store = DbStore::new(database.clone(), blobs.clone())?;
        let mut services = Services::new(
            Arc::new(store),
            blobs.clone(),
            Arc::new(SystemClock),
            settings.app_settings(),
        );
        if settings.metrics.enabled {
            services.metrics = diwan_app::metrics::Metrics::new(
                diwan_api::metrics::Prometheus::new(),
                metrics_access(&settings.metrics),
            );
        }
        let master = pki::master_key(settings)?;
        let pki = Arc::new(
            diwan_app::pki::Pki::open(
                services.store.as_ref(),
                master,
                diwan_app::pki::PkiSettings {
                    organization: settings.pki.organization.clone(),
                    country: settings.pki.country.clone(),
                    public_url: settings.public_url(),
                    tsa_policy: settings.pki.tsa_policy.clone(),
                    trusted_roots: settings.trusted_roots()?,
                    tsa_public: settings.pki.tsa_public,
                },
                services.clock.now(),
            )
            .context("opening the PKI")?,
        );
        Ok(Self {
            services,
            database,
            blobs,
            pki,
        })
    }

    /// Makes the installation ready for use: seals for every registry, and — for a server —
    /// the PDF and e-mail workers. Call once, after any change of clock (tests).
    pub fn start(&self, settings: &Settings, workers: bool) -> anyhow::Result<()> {
        diwan_app::org::ensure_seals(&self.services, &self.pki)?;
        let mailer: Option<Arc<dyn diwan_app::receipts::mail::MailSender>> = if workers {
            Some(Arc::new(mail::Sender::new(settings)?))
        } else {
            None
        };
        let dossier_queue = if workers && settings.documents.dossier_workers > 0 {
            Some(diwan_app::dossiers::start_workers(
                &self.services,
                settings.documents.dossier_workers,
            )?)
        } else {
            None
        };
        let (pdf_queue, mail_wake) = if workers {
            let queue = (settings.receipts.pdf_workers > 0)
                .then(|| {
                    diwan_app::receipts::pdf::start_workers(
                        &self.services,
                        settings.receipts.pdf_workers,
                    )
                })
                .transpose()?;
            let wake = match (&mailer, settings.mail.send) {
                (Some(sender), true) => Some(diwan_app::receipts::mail::start_worker(
                    &self.services,
                    Arc::clone(sender),
                    std::time::Duration::from_secs(settings.mail.poll_seconds.max(1)),
                )?),
                _ => None,
            };
            (queue, wake)
        } else {
            (None, None)
        };
        if workers {
            index_backlog(&self.services)?;
        }
        if workers && settings.workflow.scheduler {
            diwan_app::workflow::start_scheduler(
                &self.services,
                std::time::Duration::from_secs(settings.workflow.scheduler_seconds.max(1)),
            )?;
        }
        let text_wake = if workers && settings.text.workers > 0 {
            let ocr = ocr::Tesseract::detect(
                &settings.text.tesseract,
                &settings.text.ocr_languages,
                std::time::Duration::from_secs(settings.text.ocr_timeout_seconds.max(1)),
                &settings.storage.data_dir.join("tmp"),
            );
            let ocr: Option<Arc<dyn diwan_app::document_text::Ocr>> = match ocr {
                Ok(engine) => Some(Arc::new(engine)),
                Err(why) => {
                    tracing::warn!(%why, "OCR is off: scanned pages will not be searchable");
                    None
                }
            };
            Some(diwan_app::document_text::start_workers(
                &self.services,
                ocr,
                settings.text.workers,
                std::time::Duration::from_secs(30),
            )?)
        } else {
            None
        };
        let exchange_wake = if workers && settings.exchange.deliver {
            let transport: Arc<dyn diwan_app::exchange::Transport> =
                Arc::new(exchange::HttpTransport::new(
                    std::time::Duration::from_secs(settings.exchange.timeout_seconds.max(1)),
                ));
            Some(diwan_app::exchange::start_worker(
                &self.services,
                Some(transport),
                std::time::Duration::from_secs(settings.exchange.poll_seconds.max(1)),
            )?)
        } else {
            None
        };
        let runtime = diwan_app::Runtime {
            pki: Arc::clone(&self.pki),
            pdf_queue,
            dossier_queue,
            mail_wake,
            mailer,
            text_wake,
            exchange_wake,
            external_tsa: (!settings.pki.tsa_url.is_empty()).then(|| {
                Arc::new(tsa::HttpTsa::new(
                    &settings.pki.tsa_url,
                    std::time::Duration::from_secs(settings.pki.tsa_timeout_seconds),
                )) as Arc<dyn diwan_app::parapheur::tsa::TimeStampAuthority>
            }),
        };
        let scheduler = workers && settings.workflow.scheduler;
        for (job, threads) in workers_started(settings, &runtime, scheduler) {
            self.services.metrics.workers(job, threads);
        }
        let _ = self.services.runtime.set(runtime);
        Ok(())
    }
}

/// Who may read `GET /metrics`, from `[metrics]`.
fn metrics_access(m: &config::Metrics) -> diwan_app::metrics::Access {
    use secrecy::ExposeSecret as _;
    diwan_app::metrics::Access {
        exposure: m.allow,
        token: (!m.token.expose_secret().is_empty()).then(|| m.token.clone()),
    }
}

/// How many threads each background job got in this process (0: not run here).
fn workers_started(
    settings: &Settings,
    rt: &diwan_app::Runtime,
    scheduler: bool,
) -> [(&'static str, usize); 6] {
    let threads = |on: bool, n: usize| if on { n } else { 0 };
    [
        (
            "receipt_pdf",
            threads(rt.pdf_queue.is_some(), settings.receipts.pdf_workers),
        ),
        (
            "dossier",
            threads(
                rt.dossier_queue.is_some(),
                settings.documents.dossier_workers,
            ),
        ),
        ("mail", threads(rt.mail_wake.is_some(), 1)),
        (
            "document_text",
            threads(rt.text_wake.is_some(), settings.text.workers),
        ),
        ("exchange", threads(rt.exchange_wake.is_some(), 1)),
        ("follow_up", threads(scheduler, 1)),
    ]
}

/// Indexes for search, on a thread of its own, the correspondences registered before the
/// search index existed (new registrations are indexed in their own transaction).
fn index_backlog(services: &Services) -> anyhow::Result<()> {
    let store = Arc::clone(&services.store);
    let workers = Arc::clone(&services.workers);
    let stop = Arc::clone(&workers);
    workers
        .spawn(
            std::thread::Builder::new().name("diwan-index".into()),
            move || {
                let mut indexed = 0usize;
                let mut after: Option<String> = None;
                while !stop.stopping() {
                    match store.index_missing(after.as_deref(), 500) {
                        Ok((n, next)) => {
                            indexed += n;
                            match next {
                                Some(id) => after = Some(id),
                                None => break,
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "indexing older correspondences stopped");
                            break;
                        }
                    }
                }
                if indexed > 0 {
                    tracing::info!(indexed, "older correspondences indexed for search");
                }
            },
        )
        .context("starting the search indexer")?;
    Ok(())
}

/// How the HTTP server listens, from the settings.
pub fn listen(settings: &Settings) -> diwan_api::server::Listen {
    diwan_api::server::Listen {
        bind: settings.server.bind.clone(),
        workers: settings.server.workers,
    }
}

pub use diwan_api::server::Running as RunningServer;

/// Starts the HTTP server on a thread of its own (tests, benchmarks).
pub fn spawn(settings: &Settings, services: Services) -> anyhow::Result<RunningServer> {
    Ok(diwan_api::server::spawn(listen(settings), services)?)
}

/// Sets up logging once; later calls do nothing.
pub fn init_logging(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},actix_server=warn", settings.log.level)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log.format {
        config::LogFormat::Json => builder.json().try_init(),
        config::LogFormat::Text => builder.try_init(),
    };
}

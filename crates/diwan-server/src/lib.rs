#![doc = include_str!("../README.md")]

pub mod cli;
pub mod config;
pub mod demo;

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
        let services = Services::new(
            Arc::new(store),
            blobs.clone(),
            Arc::new(SystemClock),
            settings.app_settings(),
        );
        Ok(Self {
            services,
            database,
            blobs,
        })
    }
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

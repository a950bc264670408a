//! What the benchmarks share: their settings from the environment, the backends they run on,
//! the installation they start, percentiles.

use std::time::Duration;

use crate::{Backend, Sandbox, TestApp};

/// `name` from the environment, or `default` when unset or unreadable.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The backends named by `DIWAN_BENCH_BACKENDS` (default `sqlite,postgres`); PostgreSQL
/// (`DIWAN_TEST_PG_URL`) only when something answers on 127.0.0.1:5432, and says so otherwise.
///
/// By default the benchmarks reach PostgreSQL without TLS, as the docker-compose deployment
/// does (its server has no certificate): libpq would otherwise negotiate TLS with a server
/// that offers it, even on loopback, at about a fifth of an online verification's time.
pub fn backends() -> Vec<(&'static str, Backend)> {
    let only = std::env::var("DIWAN_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let mut out = Vec::new();
    if only.contains("sqlite") {
        out.push(("sqlite", Backend::Sqlite));
    }
    if only.contains("postgres") {
        let server = std::env::var("DIWAN_TEST_PG_URL").unwrap_or_else(|_| {
            "postgres://postgres@127.0.0.1:5432?gssencmode=disable&sslmode=disable".into()
        });
        let reachable = "127.0.0.1:5432".parse().is_ok_and(|addr| {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
        });
        if reachable {
            out.push(("postgres", Backend::Postgres { server }));
        } else {
            println!("postgres: not reachable, not measured");
        }
    }
    out
}

/// An installation for a benchmark: quiet logs, and no background work besides what is
/// measured (receipt PDFs, dossiers and texts made on demand only, no e-mail sent).
pub fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_on(
        Sandbox::on(backend),
        &[
            ("DIWAN__LOG__LEVEL", "warn"),
            ("DIWAN__RECEIPTS__PDF_WORKERS", "0"),
            ("DIWAN__DOCUMENTS__DOSSIER_WORKERS", "0"),
            ("DIWAN__TEXT__WORKERS", "0"),
            ("DIWAN__MAIL__SEND", "false"),
            ("DIWAN__WORKFLOW__SCHEDULER", "false"),
        ],
    )
}

/// The `p` quantile (0 to 1) of sorted durations, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

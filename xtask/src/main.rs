//! Project tasks.
//!
//! - `cargo xtask test`: the whole suite on SQLite, then the black-box suite on PostgreSQL.
//!   Without a reachable PostgreSQL it says plainly that this part did not run; in CI
//!   (`CI=true`) that is a failure.
//! - `cargo xtask deps`: the dependency-direction rules of `docs/ARCHITECTURE.md`.

use std::net::{TcpStream, ToSocketAddrs};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context as _, bail};

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("deps") => deps(),
        _ => {
            eprintln!("usage: cargo xtask test [cargo test args…] | cargo xtask deps");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(mut cmd: Command, what: &str) -> anyhow::Result<()> {
    eprintln!("xtask: {what}");
    let status = cmd.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn test(extra: &[String]) -> anyhow::Result<()> {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let mut sqlite = cargo();
    sqlite
        .args(["test", "--workspace", "--locked"])
        .args(extra)
        .env("DIWAN_TEST_BACKEND", "sqlite");
    run(sqlite, "the suite on SQLite")?;

    let pg = std::env::var("DIWAN_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG.into());
    if !reachable(&pg) {
        let msg = format!("PostgreSQL at {pg} is not reachable: the PostgreSQL suite did NOT run");
        if in_ci {
            bail!("{msg} (required in CI)");
        }
        eprintln!("xtask: WARNING: {msg}. Start PostgreSQL or set DIWAN_TEST_PG_URL to run it.");
        return Ok(());
    }
    let mut postgres = cargo();
    postgres
        .args(["test", "-p", "diwan-tests", "--locked"])
        .args(extra)
        .env("DIWAN_TEST_BACKEND", "postgres")
        .env("DIWAN_TEST_PG_URL", &pg)
        // libpq would otherwise try GSSAPI encryption on every connection; Kerberos then tears
        // its locks down at process exit while a pool thread may still be connecting, and the
        // test binary aborts after all its tests passed.
        .env("PGGSSENCMODE", "disable");
    run(postgres, "the black-box suite on PostgreSQL")?;
    eprintln!("xtask: the suite passed on SQLite and on PostgreSQL");
    Ok(())
}

/// Whether something listens at the URL's host and port.
fn reachable(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let host_port = rest
        .rsplit('@')
        .next()
        .unwrap_or(rest)
        .split('/')
        .next()
        .unwrap_or("");
    let target = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    target
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
}

/// Which crate may depend directly on which framework.
const OWNERS: &[(&str, &str)] = &[
    ("diesel", "diwan-db"),
    ("diesel_migrations", "diwan-db"),
    ("actix-web", "diwan-api"),
    ("actix-multipart", "diwan-api"),
    ("lettre", "diwan-mail"),
    ("krilla", "diwan-pdf"),
    ("lopdf", "diwan-pdf"),
    ("rcgen", "diwan-pki"),
    ("x509-parser", "diwan-pki"),
    ("cms", "diwan-pki"),
    ("rustls-webpki", "diwan-pki"),
];

/// Crates that must not reach these at all, even indirectly.
const PURE: &[(&str, &[&str])] = &[
    (
        "diwan-domain",
        &["diesel", "actix-web", "lettre", "ring", "tokio"],
    ),
    ("diwan-app", &["diesel", "actix-web", "lettre", "tokio"]),
    (
        "diwan-pki",
        &[
            "diesel",
            "actix-web",
            "lettre",
            "tokio",
            "diwan-app",
            "diwan-db",
        ],
    ),
    (
        "diwan-pdf",
        &[
            "diesel",
            "actix-web",
            "lettre",
            "tokio",
            "diwan-app",
            "diwan-db",
        ],
    ),
    (
        "diwan-mail",
        &["diesel", "actix-web", "tokio", "diwan-app", "diwan-db"],
    ),
];

fn deps() -> anyhow::Result<()> {
    let mut failures = Vec::new();
    for member in members()? {
        for dep in direct_deps(&member)? {
            let owner = OWNERS.iter().find(|(d, _)| *d == dep).map(|(_, o)| *o);
            if let Some(owner) = owner.filter(|o| *o != member) {
                failures.push(format!("{member} depends on {dep}; only {owner} may"));
            }
        }
    }
    for (krate, banned) in PURE {
        for dep in *banned {
            let out = cargo()
                .args(["tree", "-q", "-e", "normal", "-p", krate, "-i", dep])
                .output()
                .context("cargo tree")?;
            if !String::from_utf8_lossy(&out.stdout).trim().is_empty() {
                failures.push(format!("{krate} reaches {dep}"));
            }
        }
    }
    if failures.is_empty() {
        eprintln!("xtask: dependency directions respected");
        Ok(())
    } else {
        bail!(
            "dependency-direction rules broken:\n  {}",
            failures.join("\n  ")
        )
    }
}

fn members() -> anyhow::Result<Vec<String>> {
    let out = cargo()
        .args([
            "tree",
            "-q",
            "--workspace",
            "--depth",
            "0",
            "--prefix",
            "none",
            "-e",
            "normal",
        ])
        .output()?;
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        bail!("no workspace members found");
    }
    Ok(names)
}

fn direct_deps(member: &str) -> anyhow::Result<Vec<String>> {
    let out = cargo()
        .args([
            "tree", "-q", "-p", member, "--depth", "1", "--prefix", "depth", "-e", "normal",
        ])
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix('1'))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect())
}

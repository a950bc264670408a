//! The `diwan` command line: `diwan_server::cli::main`.

use std::io::BufRead as _;
use std::path::PathBuf;

use crate::{Installation, Settings, demo, init_logging, listen};
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use diwan_app::agents::{GrantSpec, NewAgentSpec, create_unchecked};
use diwan_domain::Role;

#[derive(Debug, Parser)]
#[command(
    name = "diwan",
    version,
    about = "Diwan: a digital registry office (bureau d'ordre numérique)"
)]
struct Cli {
    /// A configuration file layered over the built-in defaults (else config/$DIWAN_ENV.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the server.
    Serve {
        /// Loads the demo organisation and agents first (idempotent).
        #[arg(long)]
        demo: bool,
    },
    /// Applies pending database migrations and exits.
    Migrate,
    /// Organisation management.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Agent management.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Loads administrations, units and registries from a TOML or JSON file (idempotent).
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Creates an agent; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The unit the role is granted on (none: installation-wide, for admin and auditor).
        #[arg(long)]
        unit: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .ok_or_else(|| "one of admin, registrar, handler, head, signer, auditor".to_owned())
}

/// Parses the command line and runs the command.
pub fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("diwan: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    init_logging(&settings);
    match cli.command {
        Command::Serve { demo } => serve(&settings, demo),
        Command::Migrate => {
            Installation::open(&settings)?;
            println!("migrations applied");
            Ok(())
        }
        Command::Org {
            command: OrgCommand::Import { file },
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let spec: diwan_app::org::OrgSpec = if file.extension().is_some_and(|e| e == "json") {
                serde_json::from_str(&text)?
            } else {
                toml::from_str(&text)?
            };
            let inst = Installation::open(&settings)?;
            let report = diwan_app::org::import_unchecked(&inst.services, &spec)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    role,
                    unit,
                    name,
                },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password")?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            let inst = Installation::open(&settings)?;
            let spec = NewAgentSpec {
                display_name: name.unwrap_or_else(|| email.clone()),
                email,
                password: password.into(),
                grants: vec![GrantSpec { unit, role }],
            };
            let agent = create_unchecked(&inst.services, &spec, false)?;
            println!("{}", serde_json::to_string(&agent)?);
            Ok(())
        }
    }
}

fn serve(settings: &Settings, with_demo: bool) -> anyhow::Result<()> {
    let inst = Installation::open(settings)?;
    if with_demo {
        demo::load(&inst.services)?;
    }
    let backend = inst.database.backend();
    diwan_api::server::run(&listen(settings), inst.services.clone(), |r| {
        tracing::info!(addr = %r.addr, ?backend, "diwan listening");
    })
    .with_context(|| format!("serving on {}", settings.server.bind))
}

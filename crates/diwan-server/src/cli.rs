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
    /// The installation's PKI.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Verifies a receipt (PDF or JSON) or a signed PDF, offline; exit 0 only when valid.
    Verify {
        file: PathBuf,
        /// The trust anchor (PEM); without it, this installation's root (needs its database).
        #[arg(long)]
        trust: Option<PathBuf>,
        /// CRLs (DER) to check the certificates' status against.
        #[arg(long)]
        crl: Vec<PathBuf>,
    },
    /// The tamper-evident register log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The managers' indicators.
    Indicators {
        #[command(subcommand)]
        command: IndicatorsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum IndicatorsCommand {
    /// Recounts the indicators' day totals from the per-letter rows (after rows were loaded or
    /// repaired outside Diwan); writers wait meanwhile.
    Rebuild,
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Prints the trust anchor (root CA certificate, PEM).
    Root,
    /// Gives a registry a new seal key and certificate from the internal CA (before the
    /// current one expires, or after a suspected compromise); the old certificate is kept so
    /// that what it sealed still verifies. Restart the running nodes afterwards.
    RenewSeal {
        #[arg(long)]
        registry: String,
    },
    /// Replaces a registry's seal by an external certificate and key: a PKCS#12 file (password
    /// on standard input), or PEM files.
    ImportSeal {
        #[arg(long)]
        registry: String,
        #[arg(long, conflicts_with_all = ["cert", "key"])]
        p12: Option<PathBuf>,
        /// The certificate and the chain above it, PEM.
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// The private key, PEM (PKCS#8, SEC1 or PKCS#1).
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recomputes the log from the database; exit 0 only when nothing was altered.
    Verify,
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
            inst.start(&settings, false)?;
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
        Command::Pki {
            command: PkiCommand::Root,
        } => {
            let inst = Installation::open(&settings)?;
            print!("{}", inst.pki.root_pem());
            Ok(())
        }
        Command::Pki {
            command:
                PkiCommand::ImportSeal {
                    registry,
                    p12,
                    cert,
                    key,
                },
        } => import_seal(&settings, &registry, p12, cert, key),
        Command::Pki {
            command: PkiCommand::RenewSeal { registry },
        } => {
            let inst = Installation::open(&settings)?;
            inst.start(&settings, false)?;
            let certificate = diwan_app::org::renew_seal(&inst.services, &inst.pki, &registry)
                .with_context(|| format!("renewing the seal of registry {registry}"))?;
            println!(
                "the seal of registry {registry} is renewed: {} (serial {}, valid until {})",
                certificate.subject(),
                certificate.serial_hex(),
                certificate.not_after().to_rfc3339()
            );
            Ok(())
        }
        Command::Verify { file, trust, crl } => verify(&settings, &file, trust, &crl),
        Command::Indicators {
            command: IndicatorsCommand::Rebuild,
        } => {
            let inst = Installation::open(&settings)?;
            inst.database.rebuild_indicator_days()?;
            println!("indicator day totals recounted");
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let inst = Installation::open(&settings)?;
            inst.start(&settings, false)?;
            let report = diwan_app::audit::verify(&inst.services)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if report.ok {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "the register log does not match the database ({} findings)",
                    report.findings.len()
                ))
            }
        }
    }
}

fn import_seal(
    settings: &Settings,
    registry: &str,
    p12: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> anyhow::Result<()> {
    let (key, chain) = match (p12, cert, key) {
        (Some(p12), _, _) => {
            let der = std::fs::read(&p12).with_context(|| format!("reading {}", p12.display()))?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password")?;
            diwan_pki::import_pkcs12(&der, password.trim_end_matches(['\n', '\r']))?
        }
        (None, Some(cert), Some(key)) => diwan_pki::import_pem(
            &std::fs::read_to_string(&cert)
                .with_context(|| format!("reading {}", cert.display()))?,
            &std::fs::read_to_string(&key).with_context(|| format!("reading {}", key.display()))?,
        )?,
        _ => anyhow::bail!("give --p12 FILE, or --cert FILE and --key FILE"),
    };
    let inst = Installation::open(settings)?;
    inst.start(settings, false)?;
    let reg = inst
        .services
        .store
        .registry_by_code(registry)?
        .ok_or_else(|| anyhow::anyhow!("no registry has the code {registry}"))?;
    inst.pki.import_seal(
        inst.services.store.as_ref(),
        &reg.id,
        key,
        chain,
        inst.services.clock.now(),
    )?;
    println!("the seal of registry {registry} is replaced");
    Ok(())
}

fn verify(
    settings: &Settings,
    file: &std::path::Path,
    trust: Option<PathBuf>,
    crls: &[PathBuf],
) -> anyhow::Result<()> {
    let input = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let anchors = match trust {
        Some(path) => diwan_pki::Certificate::from_pem(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        )?,
        None => vec![Installation::open(settings)?.pki.root.clone()],
    };
    if anchors.is_empty() {
        anyhow::bail!("the trust file holds no certificate");
    }
    let crls = crls
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ctx = diwan_app::receipts::verify::Context {
        anchors: &anchors,
        crls: &crls,
        services: None,
        cache: None,
        revoked_serials: &[],
    };
    let report = diwan_app::receipts::verify::verify(&ctx, &input);
    println!("{}", serde_json::to_string_pretty(&report)?);
    if report.valid {
        Ok(())
    } else {
        Err(anyhow::anyhow!("not valid: {}", report.problems.join("; ")))
    }
}

fn serve(settings: &Settings, with_demo: bool) -> anyhow::Result<()> {
    let inst = Installation::open(settings)?;
    if with_demo {
        demo::load(&inst.services)?;
    }
    inst.start(settings, true)?;
    let backend = inst.database.backend();
    let served = diwan_api::server::run(&listen(settings), inst.services.clone(), |r| {
        tracing::info!(addr = %r.addr, ?backend, "diwan listening");
    })
    .with_context(|| format!("serving on {}", settings.server.bind));
    // The workers finish the job in hand before the process ends.
    inst.services.workers.stop();
    served
}

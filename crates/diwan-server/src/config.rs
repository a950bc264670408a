//! Layered, strict configuration: built-in defaults, then an optional file, then `DIWAN__…`
//! environment variables. Unknown keys are refused with their name.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Deserialize;
use toml::{Table, Value};

/// The built-in defaults (the repository's `config/default.toml`).
pub const DEFAULTS: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: Server,
    pub database: Database,
    pub storage: Storage,
    pub time: Time,
    pub limits: Limits,
    pub auth: Auth,
    pub log: Log,
    pub mail: Mail,
    pub pki: Pki,
    pub receipts: Receipts,
    pub text: Text,
    pub calendar: Calendar,
    pub deadlines: Deadlines,
    pub documents: Documents,
    pub workflow: Workflow,
    pub exchange: Exchange,
    pub metrics: Metrics,
    pub open_data: OpenData,
}

/// The public aggregates (`GET /api/v1/open-data`, `/open-data`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenData {
    pub threshold: u64,
    pub months: u32,
}

/// `GET /metrics`: whether it is served, to whom, and with which bearer token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub enabled: bool,
    pub allow: diwan_app::metrics::Exposure,
    /// Empty: no token required.
    pub token: secrecy::SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// Whether this node delivers outgoing letters to other administrations.
    pub deliver: bool,
    pub poll_seconds: u64,
    pub retry_seconds: u64,
    pub timeout_seconds: u64,
    pub peers: Vec<ExchangePeer>,
}

/// A trusted peer installation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangePeer {
    pub name: String,
    pub url: String,
    /// Its root certificate(s), PEM.
    pub root: PathBuf,
}

impl ExchangePeer {
    fn roots(&self) -> anyhow::Result<Vec<diwan_pki::Certificate>> {
        let pem = std::fs::read_to_string(&self.root).with_context(|| {
            format!(
                "exchange peer {:?}: reading its root {}",
                self.name,
                self.root.display()
            )
        })?;
        let roots = diwan_pki::Certificate::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("exchange peer {:?}: its root: {e}", self.name))?;
        if roots.is_empty() {
            bail!(
                "exchange peer {:?}: {} holds no certificate",
                self.name,
                self.root.display()
            );
        }
        Ok(roots)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// Whether this node runs the follow-up scheduler (several may: each step is sent once).
    pub scheduler: bool,
    pub scheduler_seconds: u64,
    pub reminder_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Documents {
    pub inspect_ms: u64,
    pub dossier_seconds: u64,
    pub dossier_workers: usize,
    pub default_dpi: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pki {
    pub master_secret: String,
    pub master_secret_file: String,
    pub organization: String,
    pub country: String,
    pub tsa_policy: String,
    /// PEM files of external certification authorities' roots to trust (imported signer keys).
    pub trusted_roots: Vec<PathBuf>,
    /// Whether `POST /api/v1/tsa` answers anyone (else only authenticated agents).
    pub tsa_public: bool,
    /// An external RFC 3161 time-stamping authority for the parapheur's signatures; empty:
    /// this installation's own unit.
    pub tsa_url: String,
    pub tsa_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipts {
    pub public_url: String,
    pub pdf_workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub workers: usize,
    pub tesseract: String,
    pub ocr_languages: String,
    pub ocr_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    pub weekend: Vec<String>,
    pub holidays: Vec<String>,
    pub dated_holidays: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    pub working_days: u32,
    pub silence: diwan_domain::calendar::Silence,
    pub sentence_ar: String,
    pub sentence_fr: String,
    #[serde(default)]
    pub categories: std::collections::BTreeMap<String, diwan_domain::calendar::DeadlineRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub bind: String,
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub url: String,
    pub pool_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Time {
    pub zone: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_request_bytes: u64,
    pub max_files: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    pub session_ttl_hours: u32,
    pub api_token_max_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mail {
    pub transport: MailTransport,
    pub smtp_url: String,
    pub outbox_dir: String,
    pub from: String,
    pub poll_seconds: u64,
    pub send: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MailTransport {
    File,
    Smtp,
}

impl Settings {
    /// Loads the layers: defaults, `file` (or `config/{DIWAN_ENV}.toml`), then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let env_file = std::env::var("DIWAN_ENV")
            .ok()
            .filter(|e| !e.is_empty())
            .map(|e| PathBuf::from(format!("config/{e}.toml")));
        Self::from_layers(file.map(Path::to_path_buf).or(env_file).as_deref(), &vars)
    }

    /// The same, with the environment given (for tests).
    pub fn from_layers(file: Option<&Path>, vars: &[(String, String)]) -> anyhow::Result<Self> {
        let mut merged: Table = DEFAULTS.parse().context("built-in configuration")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the configuration file {}", path.display())
            })?;
            let layer: Table = text
                .parse()
                .with_context(|| format!("configuration file {}", path.display()))?;
            merge(&mut merged, layer);
        }
        for (name, value) in vars {
            if let Some(path) = name.strip_prefix("DIWAN__") {
                set_path(&mut merged, path, value)?;
            }
        }
        let text = toml::to_string(&merged).context("configuration")?;
        let settings: Self = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {}", e.message()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.limits.max_file_bytes == 0
            || self.limits.max_request_bytes < self.limits.max_file_bytes
        {
            bail!(
                "invalid configuration: limits.max_request_bytes must be at least limits.max_file_bytes (> 0)"
            );
        }
        if self.time.zone.parse::<chrono_tz::Tz>().is_err() {
            bail!(
                "invalid configuration: time.zone {:?} is not an IANA time zone name",
                self.time.zone
            );
        }
        if self.auth.session_ttl_hours == 0 || self.auth.api_token_max_days == 0 {
            bail!("invalid configuration: auth lifetimes must be positive");
        }
        if self.mail.transport == MailTransport::Smtp && self.mail.smtp_url.is_empty() {
            bail!("invalid configuration: mail.transport = \"smtp\" needs mail.smtp_url");
        }
        if self.documents.inspect_ms == 0
            || self.documents.dossier_seconds == 0
            || !(50..=2400).contains(&self.documents.default_dpi)
        {
            bail!(
                "invalid configuration: documents.inspect_ms and documents.dossier_seconds must be positive, documents.default_dpi within 50..=2400"
            );
        }
        if !(2..=1000).contains(&self.open_data.threshold)
            || !(1..=240).contains(&self.open_data.months)
        {
            bail!(
                "invalid configuration: open_data.threshold must be between 2 and 1000, open_data.months between 1 and 240"
            );
        }
        if self.workflow.scheduler_seconds == 0 || self.workflow.reminder_days > 60 {
            bail!(
                "invalid configuration: workflow.scheduler_seconds must be positive, workflow.reminder_days at most 60"
            );
        }
        self.trusted_roots()?;
        let tsa_url = &self.pki.tsa_url;
        if !tsa_url.is_empty()
            && !tsa_url.starts_with("https://")
            && !tsa_url.starts_with("http://")
        {
            bail!("invalid configuration: pki.tsa_url must be an http(s) URL, or empty");
        }
        if !(1..=120).contains(&self.pki.tsa_timeout_seconds) {
            bail!("invalid configuration: pki.tsa_timeout_seconds must be within 1..=120");
        }
        if diwan_pki::tsp::parse_oid(&self.pki.tsa_policy).is_none() {
            bail!(
                "invalid configuration: pki.tsa_policy {:?} is not a dotted object identifier",
                self.pki.tsa_policy
            );
        }
        if self.exchange.poll_seconds == 0 || self.exchange.retry_seconds == 0 {
            bail!(
                "invalid configuration: exchange.poll_seconds and exchange.retry_seconds must be positive"
            );
        }
        for (i, peer) in self.exchange.peers.iter().enumerate() {
            let name_ok = !peer.name.is_empty()
                && peer.name.len() <= 64
                && peer
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !name_ok {
                bail!(
                    "invalid configuration: exchange.peers[{i}].name must be 1 to 64 letters, digits, dashes or underscores"
                );
            }
            if !(peer.url.starts_with("https://") || peer.url.starts_with("http://")) {
                bail!("invalid configuration: exchange.peers[{i}].url must be an http(s) URL");
            }
            if self.exchange.peers[..i].iter().any(|p| p.name == peer.name) {
                bail!(
                    "invalid configuration: exchange peer {:?} is named twice",
                    peer.name
                );
            }
            peer.roots()?;
        }
        self.working_calendar()?;
        let max = diwan_domain::calendar::MAX_DELAY_DAYS;
        if self.deadlines.working_days > max
            || self
                .deadlines
                .categories
                .values()
                .any(|r| r.working_days > max)
        {
            bail!("invalid configuration: a deadline is over {max} working days");
        }
        Ok(())
    }

    /// The external roots of `pki.trusted_roots`.
    pub fn trusted_roots(&self) -> anyhow::Result<Vec<diwan_pki::Certificate>> {
        let mut out = Vec::new();
        for path in &self.pki.trusted_roots {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("pki.trusted_roots: reading {}", path.display()))?;
            let certs = diwan_pki::Certificate::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("pki.trusted_roots: {}: {e}", path.display()))?;
            if certs.is_empty() || !certs.iter().all(diwan_pki::Certificate::is_ca) {
                bail!(
                    "invalid configuration: pki.trusted_roots: {} must hold CA certificates",
                    path.display()
                );
            }
            out.extend(certs);
        }
        Ok(out)
    }

    /// The working-day calendar from `[calendar]`.
    pub fn working_calendar(&self) -> anyhow::Result<diwan_domain::calendar::WorkingCalendar> {
        use chrono::Weekday;
        let weekend = self
            .calendar
            .weekend
            .iter()
            .map(|d| {
                d.parse::<Weekday>().map_err(|_| {
                    anyhow::anyhow!("invalid configuration: calendar.weekend: {d:?} is not a day")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let annual = self
            .calendar
            .holidays
            .iter()
            .map(|h| {
                let parsed = h
                    .split_once('-')
                    .and_then(|(m, d)| Some((m.parse::<u32>().ok()?, d.parse::<u32>().ok()?)));
                parsed.ok_or_else(|| {
                    anyhow::anyhow!("invalid configuration: calendar.holidays: {h:?} is not MM-DD")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let dated = self
            .calendar
            .dated_holidays
            .iter()
            .map(|d| {
                d.parse::<chrono::NaiveDate>().map_err(|_| {
                    anyhow::anyhow!(
                        "invalid configuration: calendar.dated_holidays: {d:?} is not YYYY-MM-DD"
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        diwan_domain::calendar::WorkingCalendar::new(weekend, annual, dated)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
    }

    /// The public base URL (receipts, certificates).
    pub fn public_url(&self) -> String {
        let url = self.receipts.public_url.trim_end_matches('/');
        if url.is_empty() {
            format!("http://{}", self.server.bind)
        } else {
            url.to_owned()
        }
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}",
                self.storage.data_dir.join("diwan.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    /// The slice of settings the use cases need.
    pub fn app_settings(&self) -> diwan_app::Settings {
        diwan_app::Settings {
            session_ttl: chrono_hours(self.auth.session_ttl_hours),
            api_token_max_ttl: chrono_hours(self.auth.api_token_max_days.saturating_mul(24)),
            max_file_bytes: self.limits.max_file_bytes,
            max_request_bytes: self.limits.max_request_bytes,
            max_files: self.limits.max_files,
            time_zone: self.time.zone.parse().unwrap_or(chrono_tz::Tz::UTC),
            public_url: self.public_url(),
            calendar: self
                .working_calendar()
                .unwrap_or_else(|_| diwan_domain::calendar::WorkingCalendar::saturday_sunday()),
            deadlines: diwan_app::receipts::Deadlines {
                default: diwan_domain::calendar::DeadlineRule {
                    working_days: self.deadlines.working_days,
                    silence: self.deadlines.silence,
                    sentence_ar: self.deadlines.sentence_ar.clone(),
                    sentence_fr: self.deadlines.sentence_fr.clone(),
                },
                categories: self.deadlines.categories.clone(),
            },
            documents: diwan_app::DocumentSettings {
                inspect_time: std::time::Duration::from_millis(self.documents.inspect_ms),
                dossier_time: std::time::Duration::from_secs(self.documents.dossier_seconds),
                default_dpi: self.documents.default_dpi,
            },
            workflow: diwan_app::WorkflowSettings {
                reminder_days: self.workflow.reminder_days,
            },
            open_data: diwan_app::open_data::OpenDataSettings {
                threshold: self.open_data.threshold,
                months: self.open_data.months,
            },
            exchange: diwan_app::exchange::ExchangeSettings {
                // Checked when the configuration was loaded.
                peers: self
                    .exchange
                    .peers
                    .iter()
                    .filter_map(|p| match p.roots() {
                        Ok(roots) => Some(diwan_app::exchange::Peer {
                            name: p.name.clone(),
                            url: p.url.trim_end_matches('/').to_owned(),
                            roots,
                        }),
                        Err(e) => {
                            tracing::error!(error = %e, "exchange peer left out");
                            None
                        }
                    })
                    .collect(),
                retry: chrono::Duration::seconds(
                    i64::try_from(self.exchange.retry_seconds).unwrap_or(3600),
                ),
            },
        }
    }
}

fn chrono_hours(h: u32) -> diwan_app::model::Hours {
    diwan_app::model::Hours::hours(i64::from(h))
}

fn merge(base: &mut Table, layer: Table) {
    for (k, v) in layer {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(l)) => merge(b, l),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// `SERVER__BIND=x` → `server.bind = x`. Values that read as TOML numbers or booleans are
/// taken as such; anything else is a string.
fn set_path(root: &mut Table, path: &str, raw: &str) -> anyhow::Result<()> {
    let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
    let Some((last, parents)) = keys.split_last() else {
        bail!("empty variable name")
    };
    let mut table = root;
    for key in parents {
        let entry = table
            .entry(key.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        table = match entry {
            Value::Table(t) => t,
            _ => bail!("invalid configuration: DIWAN__{path} names a value inside a value"),
        };
    }
    let value = match format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
    {
        Some(v @ (Value::Integer(_) | Value::Boolean(_) | Value::Float(_))) => v,
        // A TOML array (of values or inline tables), such as `exchange.peers`.
        Some(v @ Value::Array(_)) if raw.trim_start().starts_with('[') => v,
        _ => Value::String(raw.to_owned()),
    };
    table.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_load() {
        let s = Settings::from_layers(None, &[]).unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:8080");
        assert_eq!(s.database_url(), "sqlite://data/diwan.db");
    }

    #[test]
    fn environment_overrides() {
        let s = Settings::from_layers(
            None,
            &vars(&[
                ("DIWAN__SERVER__BIND", "127.0.0.1:18080"),
                ("DIWAN__DATABASE__POOL_SIZE", "3"),
                ("DIWAN__STORAGE__DATA_DIR", "/tmp/x"),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:18080");
        assert_eq!(s.database.pool_size, 3);
        assert_eq!(s.database_url(), "sqlite:///tmp/x/diwan.db");
    }

    #[test]
    fn exchange_peers_come_from_a_toml_array_and_are_checked() {
        let dir = std::env::temp_dir().join(format!("diwan-peers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let root = dir.join("root.pem");
        let key = diwan_pki::SigningKey::generate_p256().unwrap();
        let cert = diwan_pki::self_signed_root(
            &diwan_pki::Names::cn("Peer root"),
            &key,
            chrono::Utc::now(),
        )
        .unwrap();
        std::fs::write(&root, cert.to_pem()).unwrap();
        let peers = format!(
            "[{{ name = \"rabat\", url = \"https://diwan.example.ma/\", root = \"{}\" }}]",
            root.display()
        );
        let s = Settings::from_layers(None, &vars(&[("DIWAN__EXCHANGE__PEERS", &peers)])).unwrap();
        let app = s.app_settings();
        let peer = app.exchange.peer("rabat").unwrap();
        assert_eq!(peer.url, "https://diwan.example.ma");
        assert_eq!(peer.roots.len(), 1);
        let missing = peers.replace("root.pem", "none.pem");
        let e = Settings::from_layers(None, &vars(&[("DIWAN__EXCHANGE__PEERS", &missing)]))
            .unwrap_err();
        assert!(e.to_string().contains("rabat"), "{e}");
        let bad_name = peers.replace("rabat", "ra bat");
        assert!(
            Settings::from_layers(None, &vars(&[("DIWAN__EXCHANGE__PEERS", &bad_name)])).is_err()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn time_zones_are_checked() {
        let ok = Settings::from_layers(None, &vars(&[("DIWAN__TIME__ZONE", "Africa/Casablanca")]))
            .unwrap();
        assert_eq!(
            ok.app_settings().time_zone,
            chrono_tz::Tz::Africa__Casablanca
        );
        let e = Settings::from_layers(None, &vars(&[("DIWAN__TIME__ZONE", "Mars/Olympus")]))
            .unwrap_err();
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let e = Settings::from_layers(None, &vars(&[("DIWAN__SERVER__BINDD", "x")])).unwrap_err();
        assert!(e.to_string().contains("bindd"), "{e}");
        let e = Settings::from_layers(None, &vars(&[("DIWAN__NOPE__X", "1")])).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }

    #[test]
    fn a_file_layer_applies() {
        let path = std::env::temp_dir().join(format!("diwan-config-{}.toml", std::process::id()));
        std::fs::write(&path, "[log]\nformat = \"json\"\n").unwrap();
        let s = Settings::from_layers(Some(&path), &[]).unwrap();
        assert_eq!(s.log.format, LogFormat::Json);
        std::fs::write(&path, "[log]\nformat = \"xml\"\n").unwrap();
        assert!(Settings::from_layers(Some(&path), &[]).is_err());
        let _ = std::fs::remove_file(path);
    }
}

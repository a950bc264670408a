//! The master secret that seals the PKI's private keys at rest.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use diwan_pki::MasterKey;

use crate::Settings;

/// The master key: from `pki.master_secret`, else `pki.master_secret_file`, else a secret
/// generated once into `{data_dir}/master.key` (mode 0600), with a warning.
pub fn master_key(settings: &Settings) -> anyhow::Result<MasterKey> {
    let secret: Vec<u8> = if !settings.pki.master_secret.is_empty() {
        settings.pki.master_secret.as_bytes().to_vec()
    } else if !settings.pki.master_secret_file.is_empty() {
        let path = Path::new(&settings.pki.master_secret_file);
        read_secret(path)?
    } else {
        let path = settings.storage.data_dir.join("master.key");
        if !path.exists() {
            generate(&path)?;
            tracing::warn!(
                path = %path.display(),
                "no master secret configured: generated one; back it up with the database, or set DIWAN__PKI__MASTER_SECRET"
            );
        }
        read_secret(&path)?
    };
    if secret.len() < diwan_pki::MIN_SECRET_LEN {
        bail!(
            "invalid configuration: the PKI master secret must be at least {} bytes",
            diwan_pki::MIN_SECRET_LEN
        );
    }
    MasterKey::from_secret(&secret).map_err(|e| anyhow::anyhow!("PKI master secret: {e}"))
}

fn read_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read(path)
        .with_context(|| format!("reading the master secret {}", path.display()))?;
    Ok(text.trim_ascii().to_vec())
}

fn generate(path: &Path) -> anyhow::Result<()> {
    use base64::Engine as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("no random source"))?;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("creating the master secret {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

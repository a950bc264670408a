//! Signers' keys. On enrolment a signer gets a P-256 key and a signing certificate from the
//! installation's issuing CA (subject: the Latin name as CN, the Arabic name in `name`, the
//! function as OU). The private key is sealed twice: first under a key derived from the
//! signer's PIN (argon2id, per-key salt), then under the master key like every stored key. The
//! server can therefore not sign for anyone without that person's PIN, which it never stores;
//! the key is opened only for one signing operation, then dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use diwan_domain::Role;
use diwan_pki::{Certificate, MasterKey, Names, Profile, SigningKey};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::Services;
use crate::access::Actor;
use crate::error::{AppError, Rejection};
use crate::model::PkiObject;

/// Shortest PIN accepted.
pub const MIN_PIN_CHARS: usize = 6;
/// Longest PIN accepted (bounds the key-derivation work one request can cause).
pub const MAX_PIN_CHARS: usize = 64;
/// Wrong PINs allowed per signer in [`PIN_WINDOW`] (per node).
const MAX_WRONG_PINS: u32 = 5;
const PIN_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// Version byte of a PIN-sealed key.
const PIN_SEALED_V1: u8 = 1;
const SALT_LEN: usize = 16;

/// The stored role of a certificate whose key the signer's device holds.
const DEVICE_ROLE: &str = "signer-device";

/// The slot of an agent's signing key.
pub fn slot(agent_id: &str) -> String {
    format!("signer:{agent_id}")
}

/// What an enrolment asks for.
#[derive(Debug)]
pub struct Enrolment {
    /// Where the key lives.
    pub key: KeyHolder,
    /// The name in Latin letters (certificate CN, signature block).
    pub name_latin: String,
    /// The name in Arabic letters (certificate `name`, signature block).
    pub name_ar: Option<String>,
    /// The function, e.g. "Directeur régional" (certificate OU, signature block).
    pub function: Option<String>,
}

/// Who holds the private key.
#[derive(Debug)]
pub enum KeyHolder {
    /// The server makes the key and keeps it sealed under this PIN.
    Server { pin: SecretString },
    /// The signer's own device (smart card, token) holds it; the server certifies this public
    /// key (DER SubjectPublicKeyInfo, P-256 or RSA) and only ever signs remotely.
    Device { public_key: Vec<u8> },
}

/// A signer's certificate as shown to them and to administrators.
#[derive(Debug, Clone, Serialize)]
pub struct SignerCertificate {
    pub agent_id: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `server` (sealed under the PIN) or `device` (held by the signer: remote signing only).
    pub key_held_by: &'static str,
    pub name_latin: String,
    pub name_ar: Option<String>,
    pub function: Option<String>,
    /// PEM: the certificate and the CAs above it.
    pub chain_pem: String,
}

/// A signer's key, opened with the PIN for one operation.
pub struct UnlockedSigner {
    pub key: SigningKey,
    pub certificate: Certificate,
    /// The CAs above the certificate (root excluded).
    pub chain: Vec<Certificate>,
}

impl std::fmt::Debug for UnlockedSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnlockedSigner")
            .field("certificate", &self.certificate.subject())
            .finish_non_exhaustive()
    }
}

fn pki(s: &Services) -> Result<Arc<crate::pki::Pki>, AppError> {
    s.runtime
        .get()
        .map(|rt| Arc::clone(&rt.pki))
        .ok_or_else(|| AppError::unavailable("not started"))
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn check_pin(pin: &SecretString) -> Result<(), AppError> {
    let n = pin.expose_secret().chars().count();
    if (MIN_PIN_CHARS..=MAX_PIN_CHARS).contains(&n) {
        Ok(())
    } else {
        Err(AppError::unprocessable(
            "weak_pin",
            format!("a PIN has {MIN_PIN_CHARS} to {MAX_PIN_CHARS} characters"),
        ))
    }
}

/// The 32-byte key a PIN and a salt give (argon2id, 19 MiB, 2 passes).
fn pin_key(pin: &SecretString, salt: &[u8]) -> Result<MasterKey, AppError> {
    let params = Params::new(19 * 1024, 2, 1, Some(32))
        .map_err(|e| AppError::internal(format!("argon2 parameters: {e}")))?;
    let mut out = zeroizing([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pin.expose_secret().as_bytes(), salt, &mut out.0)
        .map_err(|e| AppError::internal(format!("argon2: {e}")))?;
    MasterKey::from_secret(&out.0).map_err(|e| AppError::internal(format!("PIN key: {e}")))
}

/// Bytes wiped when dropped.
struct Wiped([u8; 32]);

impl Drop for Wiped {
    fn drop(&mut self) {
        self.0 = [0u8; 32];
    }
}

fn zeroizing(b: [u8; 32]) -> Wiped {
    Wiped(b)
}

/// `version || salt || PIN-sealed PKCS#8`.
fn seal_with_pin(pin: &SecretString, pkcs8: &[u8], serial: &str) -> Result<Vec<u8>, AppError> {
    let mut salt = [0u8; SALT_LEN];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
        .map_err(|_| AppError::internal("random source failed"))?;
    let inner = pin_key(pin, &salt)?
        .seal(pkcs8, serial.as_bytes())
        .map_err(|e| AppError::internal(format!("sealing a key: {e}")))?;
    let mut out = Vec::with_capacity(1 + SALT_LEN + inner.len());
    out.push(PIN_SEALED_V1);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&inner);
    Ok(out)
}

/// Wrong PINs counted per agent, in memory.
fn wrong_pins() -> &'static Mutex<HashMap<String, (std::time::Instant, u32)>> {
    static WRONG: OnceLock<Mutex<HashMap<String, (std::time::Instant, u32)>>> = OnceLock::new();
    WRONG.get_or_init(Mutex::default)
}

fn pin_attempts_left(agent_id: &str) -> bool {
    let Ok(map) = wrong_pins().lock() else {
        return true;
    };
    map.get(agent_id)
        .is_none_or(|(since, n)| since.elapsed() >= PIN_WINDOW || *n < MAX_WRONG_PINS)
}

fn count_wrong_pin(agent_id: &str) {
    if let Ok(mut map) = wrong_pins().lock() {
        let entry = map
            .entry(agent_id.to_owned())
            .or_insert((std::time::Instant::now(), 0));
        if entry.0.elapsed() >= PIN_WINDOW {
            *entry = (std::time::Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

fn forget_wrong_pins(agent_id: &str) {
    if let Ok(mut map) = wrong_pins().lock() {
        map.remove(agent_id);
    }
}

/// Whether the actor may hold a signing key: a signer or a head somewhere.
fn may_sign(actor: &Actor) -> Result<(), AppError> {
    if actor
        .grants
        .iter()
        .any(|g| matches!(g.role, Role::Signer | Role::Head))
    {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

fn stored(s: &Services, agent_id: &str) -> Result<Option<PkiObject>, AppError> {
    let slot = slot(agent_id);
    Ok(s.store.pki_objects()?.into_iter().find(|o| o.slot == slot))
}

fn view(agent_id: &str, o: &PkiObject) -> Result<SignerCertificate, AppError> {
    let certs = Certificate::from_pem(&format!("{}{}", o.certificate, o.chain))
        .map_err(|e| AppError::internal(format!("a stored certificate: {e}")))?;
    let cert = certs
        .first()
        .ok_or_else(|| AppError::internal("a stored certificate is empty"))?;
    let names = cert.names();
    Ok(SignerCertificate {
        agent_id: agent_id.to_owned(),
        subject: cert.subject(),
        issuer: cert.issuer(),
        serial: o.serial.clone(),
        not_before: cert.not_before(),
        not_after: cert.not_after(),
        revoked_at: o.revoked_at,
        key_held_by: if o.role == DEVICE_ROLE {
            "device"
        } else {
            "server"
        },
        name_latin: names.common_name.clone(),
        name_ar: names.common_name_ar.clone(),
        function: names.organizational_unit.clone(),
        chain_pem: format!("{}{}", o.certificate, o.chain),
    })
}

/// The caller's signing certificate, if they have one.
pub fn mine(s: &Services, actor: &Actor) -> Result<Option<SignerCertificate>, AppError> {
    stored(s, &actor.agent_id)?
        .map(|o| view(&actor.agent_id, &o))
        .transpose()
}

fn text_field(field: &str, value: &str, max: usize) -> Result<String, AppError> {
    let v = value.trim();
    diwan_domain::text::line(field, v, max)?;
    Ok(v.to_owned())
}

/// Refuses a second live certificate (`409 already_enrolled`): revoke the first.
fn not_enrolled(s: &Services, agent_id: &str) -> Result<(), AppError> {
    match stored(s, agent_id)? {
        Some(o) if o.revoked_at.is_none() => Err(AppError::rejected(
            Rejection::Conflict,
            "already_enrolled",
            "you already hold a signing certificate; it must be revoked before a new one",
        )),
        _ => Ok(()),
    }
}

/// Gives the caller a signing key and certificate, the key sealed under their PIN. Refused
/// while they hold a certificate that is not revoked (`409 already_enrolled`).
pub fn enrol(
    s: &Services,
    actor: &Actor,
    enrolment: Enrolment,
) -> Result<SignerCertificate, AppError> {
    may_sign(actor)?;
    if let KeyHolder::Server { pin } = &enrolment.key {
        check_pin(pin)?;
    }
    let name_latin = text_field("name_latin", &enrolment.name_latin, 128)?;
    let name_ar = enrolment
        .name_ar
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map(|n| text_field("name_ar", n, 128))
        .transpose()?;
    let function = enrolment
        .function
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map(|n| text_field("function", n, 128))
        .transpose()?;
    not_enrolled(s, &actor.agent_id)?;
    let pki = pki(s)?;
    let now = s.clock.now();
    let names = Names {
        common_name: name_latin,
        common_name_ar: name_ar,
        organizational_unit: function,
        organization: Some(pki.organization().to_owned()),
        country: Some(pki.country().to_owned()),
    };
    let chain = std::slice::from_ref(&pki.issuing.certificate);
    let object = match &enrolment.key {
        KeyHolder::Server { pin } => {
            let key = SigningKey::generate_p256().map_err(|e| AppError::internal(e.to_string()))?;
            let certificate = pki.issue_signer(&names, &key.public_key_der(), now)?;
            let pin_sealed = seal_with_pin(pin, key.pkcs8_der(), &certificate.serial_hex())?;
            pki.sealed_blob(
                &slot(&actor.agent_id),
                "signer",
                &pin_sealed,
                &certificate,
                chain,
                now,
            )?
        }
        KeyHolder::Device { public_key } => {
            if public_key.len() > 2048 {
                return Err(AppError::unprocessable(
                    "invalid_public_key",
                    "the public key is too large",
                ));
            }
            let certificate = pki.issue_signer(&names, public_key, now)?;
            // Nothing to seal: the key never comes here.
            pki.sealed_blob(
                &slot(&actor.agent_id),
                DEVICE_ROLE,
                &[],
                &certificate,
                chain,
                now,
            )?
        }
    };
    let serial = object.serial.clone();
    s.store.replace_pki_object(&object.slot, &object)?;
    tracing::info!(agent = %actor.agent_id, serial = %serial, "signer enrolled");
    view(&actor.agent_id, &object)
}

/// Imports the caller's key and certificate from a PKCS#12 made by an external certification
/// authority. The chain must lead to an anchor this installation trusts (its own root, or a
/// root of `pki.trusted_roots`): a file cannot make its own authority trusted. The key is then
/// sealed under the PIN like an enrolled one.
pub fn import_pkcs12(
    s: &Services,
    actor: &Actor,
    p12: &[u8],
    password: &SecretString,
    pin: &SecretString,
) -> Result<SignerCertificate, AppError> {
    may_sign(actor)?;
    check_pin(pin)?;
    if p12.len() > 256 * 1024 {
        return Err(AppError::unprocessable(
            "invalid_pkcs12",
            "the file is too large",
        ));
    }
    not_enrolled(s, &actor.agent_id)?;
    let (key, chain) = diwan_pki::import_pkcs12(p12, password.expose_secret())
        .map_err(|e| AppError::unprocessable("invalid_pkcs12", e.to_string()))?;
    let (certificate, above) = chain
        .split_first()
        .ok_or_else(|| AppError::unprocessable("invalid_pkcs12", "no certificate in the file"))?;
    if !certificate.public_key_matches(&key) {
        return Err(AppError::unprocessable(
            "invalid_pkcs12",
            "the key does not belong to the certificate",
        ));
    }
    let pki = pki(s)?;
    let now = s.clock.now();
    diwan_pki::validate_chain(certificate, above, &pki.anchors(), now, &[]).map_err(|e| {
        AppError::unprocessable(
            "untrusted_chain",
            format!("the certificate does not lead to an authority this installation trusts: {e}"),
        )
    })?;
    // Kept: the CAs above the certificate, without self-signed roots (those are anchors).
    let chain: Vec<Certificate> = above
        .iter()
        .filter(|c| c.subject() != c.issuer())
        .cloned()
        .collect();
    let pin_sealed = seal_with_pin(pin, key.pkcs8_der(), &certificate.serial_hex())?;
    let object = pki.sealed_blob(
        &slot(&actor.agent_id),
        "signer",
        &pin_sealed,
        certificate,
        &chain,
        now,
    )?;
    s.store.replace_pki_object(&object.slot, &object)?;
    tracing::info!(agent = %actor.agent_id, issuer = %certificate.issuer(), "signer key imported");
    view(&actor.agent_id, &object)
}

/// Opens an agent's key with their PIN. A wrong PIN answers `403 wrong_pin`; after five in
/// fifteen minutes, `429 too_many_pins` even for the right one.
pub fn unlock(
    s: &Services,
    agent_id: &str,
    pin: &SecretString,
) -> Result<UnlockedSigner, AppError> {
    let object = stored(s, agent_id)?.ok_or_else(|| {
        AppError::rejected(
            Rejection::Unprocessable,
            "not_enrolled",
            "you have no signing certificate yet: enrol first",
        )
    })?;
    if object.revoked_at.is_some() {
        return Err(AppError::rejected(
            Rejection::Forbidden,
            "certificate_revoked",
            "your signing certificate is revoked: no new signature can be made with it",
        ));
    }
    if object.role == DEVICE_ROLE {
        return Err(AppError::unprocessable(
            "key_on_device",
            "your key is on your own device: sign remotely",
        ));
    }
    if !pin_attempts_left(agent_id) {
        return Err(AppError::rejected(
            Rejection::TooManyRequests,
            "too_many_pins",
            "too many wrong PINs: wait fifteen minutes",
        ));
    }
    let pki = pki(s)?;
    let outer = b64()
        .decode(&object.sealed_key)
        .map_err(|_| AppError::internal("a stored key is not base64"))?;
    let pin_sealed = pki.open_blob(&outer, &object.serial)?;
    let (version, rest) = pin_sealed
        .split_first()
        .ok_or_else(|| AppError::internal("a stored signer key is empty"))?;
    if *version != PIN_SEALED_V1 || rest.len() < SALT_LEN {
        return Err(AppError::internal(
            "a stored signer key has an unknown form",
        ));
    }
    let (salt, inner) = rest.split_at(SALT_LEN);
    let pkcs8 = match pin_key(pin, salt)?.open(inner, object.serial.as_bytes()) {
        Ok(p) => p,
        Err(_) => {
            count_wrong_pin(agent_id);
            return Err(AppError::rejected(
                Rejection::Forbidden,
                "wrong_pin",
                "this PIN does not open your signing key",
            ));
        }
    };
    forget_wrong_pins(agent_id);
    let key = SigningKey::from_pkcs8(&pkcs8).map_err(|e| AppError::internal(e.to_string()))?;
    let certificate = first_certificate(&object.certificate)?;
    let chain = if object.chain.trim().is_empty() {
        Vec::new()
    } else {
        Certificate::from_pem(&object.chain).map_err(|e| AppError::internal(e.to_string()))?
    };
    Ok(UnlockedSigner {
        key,
        certificate,
        chain,
    })
}

/// A signer's certificate, the CAs above it, and when it was revoked (if it was).
pub type CertifiedKey = (Certificate, Vec<Certificate>, Option<DateTime<Utc>>);

/// The certificate and chain of an agent's current key (no PIN needed), for remote signing.
pub fn certificate_of(s: &Services, agent_id: &str) -> Result<Option<CertifiedKey>, AppError> {
    let Some(o) = stored(s, agent_id)? else {
        return Ok(None);
    };
    let chain = if o.chain.trim().is_empty() {
        Vec::new()
    } else {
        Certificate::from_pem(&o.chain).map_err(|e| AppError::internal(e.to_string()))?
    };
    Ok(Some((
        first_certificate(&o.certificate)?,
        chain,
        o.revoked_at,
    )))
}

fn first_certificate(pem: &str) -> Result<Certificate, AppError> {
    Certificate::from_pem(pem)
        .map_err(|e| AppError::internal(e.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::internal("a stored certificate is empty"))
}

/// Revokes an agent's signing certificate (installation administrators, or the signer
/// themselves): it is listed in the next CRL; signatures made before stay valid when they
/// were time-stamped before the revocation.
pub fn revoke(s: &Services, actor: &Actor, agent_id: &str) -> Result<SignerCertificate, AppError> {
    if actor.agent_id != agent_id {
        crate::access::may_administer_installation(actor)?;
    }
    let slot = slot(agent_id);
    let now = s.clock.now();
    if !s.store.revoke_pki_object(&slot, now)? {
        return Err(AppError::not_found("signing certificate"));
    }
    let pki = pki(s)?;
    pki.reload(s.store.as_ref())?;
    pki.forget_crls();
    let object = stored(s, agent_id)?.ok_or_else(|| AppError::not_found("signing certificate"))?;
    tracing::info!(agent = %agent_id, serial = %object.serial, "signing certificate revoked");
    view(agent_id, &object)
}

impl crate::pki::Pki {
    /// Issues a signing certificate for `key` from the issuing CA.
    fn issue_signer(
        &self,
        names: &Names,
        public_key: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Certificate, AppError> {
        diwan_pki::issue(
            &Profile::Signer {
                crl_url: Some(self.issuing_crl_url()),
            },
            names,
            public_key,
            &self.issuing.certificate,
            &self.issuing.key,
            now,
        )
        .map_err(|e| {
            AppError::unprocessable(
                "invalid_input",
                format!("the certificate cannot be made: {e}"),
            )
        })
    }
}

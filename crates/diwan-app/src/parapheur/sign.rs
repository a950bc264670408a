//! Signing PDFs: PAdES baseline B-T. The document gets an incremental update with a visible
//! signature block on its last page (the signer's Arabic and Latin names, function, date and
//! time); the CMS (detached, ESS signing-certificate-v2) is made with the signer's key — opened
//! with their PIN here, or held by the signer alone (remote signing: the server hands out what
//! to sign and embeds what comes back after checking it against the signer's certificate) —
//! and gets a signature time-stamp from the installation's time-stamping unit. Earlier
//! signatures stay valid: each signature is a new revision.

use chrono::{DateTime, Utc};
use diwan_pki::Certificate;
use secrecy::SecretString;
use serde::Serialize;

use crate::Services;
use crate::access::Actor;
use crate::error::{AppError, Rejection};

use super::keys::{self, UnlockedSigner};

/// Bytes reserved for the CMS (signature, certificates, time-stamp token and its certificates).
const CONTENTS_RESERVED: usize = 32 * 1024;
/// Largest PDF signed.
pub const MAX_PDF: usize = 64 * 1024 * 1024;
/// Most documents signed with one PIN entry.
pub const MAX_BATCH: usize = 100;

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Whether the certificate may sign now: within its validity, not revoked, chained to this
/// installation's root (or the roots given with imported keys).
fn check_usable(
    s: &Services,
    certificate: &Certificate,
    chain: &[Certificate],
    revoked_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if revoked_at.is_some() {
        return Err(AppError::rejected(
            Rejection::Forbidden,
            "certificate_revoked",
            "your signing certificate is revoked: no new signature can be made with it",
        ));
    }
    let rt = s
        .runtime
        .get()
        .ok_or_else(|| AppError::unavailable("not started"))?;
    let crls = rt.pki.cached_crls(s.store.as_ref(), now)?;
    diwan_pki::validate_chain(certificate, chain, &rt.pki.anchors(), now, &crls).map_err(|e| {
        AppError::rejected(
            Rejection::Forbidden,
            "certificate_unusable",
            format!("your signing certificate cannot sign now: {e}"),
        )
    })?;
    Ok(())
}

fn appearance(
    s: &Services,
    certificate: &Certificate,
    now: DateTime<Utc>,
    number: Option<&str>,
) -> diwan_pdf::SignatureAppearance {
    let names = certificate.names();
    let local = now.with_timezone(&s.settings.time_zone);
    let mut when = format!(
        "Signé le {} ({})",
        local.format("%Y-%m-%d %H:%M"),
        s.settings.time_zone.name()
    );
    if let Some(n) = number {
        when = format!("N° {n} — {when}");
    }
    diwan_pdf::SignatureAppearance {
        name_ar: names.common_name_ar.clone(),
        name_latin: names.common_name.clone(),
        function: names.organizational_unit.clone(),
        signed_at_text: when,
    }
}

/// The incremental update with the signature block and an empty signature.
fn prepare(
    s: &Services,
    pdf: &[u8],
    certificate: &Certificate,
    reason: Option<&str>,
    now: DateTime<Utc>,
    number: Option<&str>,
) -> Result<diwan_pdf::Prepared, AppError> {
    if pdf.len() > MAX_PDF {
        return Err(AppError::rejected(
            Rejection::TooLarge,
            "document_too_large",
            format!("a document to sign is at most {MAX_PDF} bytes"),
        ));
    }
    if !pdf.starts_with(b"%PDF-") {
        return Err(AppError::unprocessable(
            "not_a_pdf",
            "only PDF documents are signed",
        ));
    }
    let request = diwan_pdf::SignRequest {
        info: diwan_pdf::SealInfo {
            name: certificate.names().common_name.clone(),
            reason: reason.map(str::to_owned),
            location: None,
            signing_time: now,
            extra_catalog_entries: Vec::new(),
        },
        appearance: Some(appearance(s, certificate, now, number)),
        contents_reserved: CONTENTS_RESERVED,
    };
    diwan_pdf::prepare(pdf, &request).map_err(|e| {
        AppError::unprocessable("unreadable_pdf", format!("this PDF cannot be signed: {e}"))
    })
}

/// Adds the signature time-stamp to a CMS and embeds it.
fn finish(s: &Services, prepared: diwan_pdf::Prepared, cms: Vec<u8>) -> Result<Vec<u8>, AppError> {
    let value = diwan_pki::cms::signature_value(&cms)
        .map_err(|e| AppError::internal(format!("reading the signature: {e}")))?;
    let token = super::tsa::stamp(s, &sha256(&value))?;
    let cms = diwan_pki::cms::with_signature_timestamp(&cms, &token)
        .map_err(|e| AppError::internal(format!("adding the time-stamp: {e}")))?;
    // The bytes were made here, or read back from the file store, which checks them against
    // their SHA-256: no second pass over them.
    diwan_pdf::embed_trusted(prepared, &cms)
        .map_err(|e| AppError::internal(format!("embedding the signature: {e}")))
}

fn sign_one(
    s: &Services,
    signer: &UnlockedSigner,
    pdf: &[u8],
    reason: Option<&str>,
    number: Option<&str>,
) -> Result<Vec<u8>, AppError> {
    let now = s.clock.now();
    let prepared = prepare(s, pdf, &signer.certificate, reason, now, number)?;
    let cms = diwan_pki::cms::sign_detached_digest(
        &prepared.digest,
        &signer.key,
        &signer.certificate,
        &signer.chain,
    )
    .map_err(|e| AppError::internal(format!("signing: {e}")))?;
    finish(s, prepared, cms)
}

/// Signs documents with the caller's key, opened once with their PIN (batch signing). Answers
/// the signed documents in the same order; nothing is signed if the PIN is wrong.
pub fn sign_with_pin(
    s: &Services,
    actor: &Actor,
    pin: &SecretString,
    documents: &[Vec<u8>],
    reason: Option<&str>,
) -> Result<Vec<Vec<u8>>, AppError> {
    if documents.is_empty() || documents.len() > MAX_BATCH {
        return Err(AppError::unprocessable(
            "invalid_batch",
            format!("sign 1 to {MAX_BATCH} documents at once"),
        ));
    }
    let signer = unlock_usable(s, actor, pin)?;
    documents
        .iter()
        .map(|pdf| sign_one(s, &signer, pdf, reason, None))
        .collect()
}

/// The caller's key opened with their PIN, if their certificate may sign now.
pub(crate) fn unlock_usable(
    s: &Services,
    actor: &Actor,
    pin: &SecretString,
) -> Result<UnlockedSigner, AppError> {
    let signer = keys::unlock(s, &actor.agent_id, pin)?;
    check_usable(s, &signer.certificate, &signer.chain, None, s.clock.now())?;
    Ok(signer)
}

/// Signs one document with a key already opened (see [`unlock_usable`]).
pub(crate) fn sign_unlocked(
    s: &Services,
    signer: &UnlockedSigner,
    pdf: &[u8],
    reason: Option<&str>,
    number: Option<&str>,
) -> Result<Vec<u8>, AppError> {
    sign_one(s, signer, pdf, reason, number)
}

/// What a remote signer signs: the DER signed attributes (their SHA-256 is `digest`).
#[derive(Debug, Clone, Serialize)]
pub struct RemoteRequest {
    pub id: String,
    /// Base64 of the DER `SET OF` signed attributes: sign these bytes (ECDSA P-256 with
    /// SHA-256, or RSA PKCS#1 v1.5 with SHA-256).
    pub to_be_signed: String,
    /// Hex SHA-256 of `to_be_signed` (for devices that sign a digest).
    pub digest: String,
    pub expires_at: DateTime<Utc>,
}

/// How long a prepared remote signature waits for its signature.
const REMOTE_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// Remote signing, first step: the document is prepared with the caller's certificate (which
/// must be usable) and kept for a quarter of an hour; the caller gets what to sign.
pub fn remote_prepare(
    s: &Services,
    actor: &Actor,
    pdf: &[u8],
    reason: Option<&str>,
) -> Result<RemoteRequest, AppError> {
    let (certificate, chain, revoked_at) =
        keys::certificate_of(s, &actor.agent_id)?.ok_or_else(|| {
            AppError::unprocessable("not_enrolled", "you have no signing certificate yet")
        })?;
    let now = s.clock.now();
    check_usable(s, &certificate, &chain, revoked_at, now)?;
    forget_expired(s, now);
    let prepared = prepare(s, pdf, &certificate, reason, now, None)?;
    let attributes = diwan_pki::cms::prepare_detached(&prepared.digest, &certificate)
        .map_err(|e| AppError::internal(format!("preparing: {e}")))?;
    let session = crate::model::SigningSession {
        id: crate::ids::new_id()?,
        agent_id: actor.agent_id.clone(),
        prepared_sha256: s.blobs.put(&prepared.bytes)?,
        byte_range: prepared.byte_range,
        content_digest: prepared.digest,
        serial: certificate.serial_hex(),
        created_at: now,
        expires_at: now + REMOTE_TTL,
    };
    s.store.insert_signing_session(&session)?;
    Ok(RemoteRequest {
        id: session.id,
        to_be_signed: base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            &attributes.to_be_signed,
        ),
        digest: crate::log::hex(&attributes.digest),
        expires_at: session.expires_at,
    })
}

/// Remote signing, second step: the signature over `to_be_signed` is checked against the
/// caller's certificate, time-stamped and embedded; answers the signed document.
pub fn remote_complete(
    s: &Services,
    actor: &Actor,
    id: &str,
    signature: &[u8],
) -> Result<Vec<u8>, AppError> {
    let session = s
        .store
        .signing_session(id)?
        .filter(|x| x.agent_id == actor.agent_id)
        .ok_or_else(|| AppError::not_found("signing request"))?;
    let now = s.clock.now();
    if now > session.expires_at {
        return Err(AppError::rejected(
            Rejection::Conflict,
            "signing_expired",
            "this signing request has expired: prepare the document again",
        ));
    }
    let (certificate, chain, revoked_at) = keys::certificate_of(s, &actor.agent_id)?
        .ok_or_else(|| AppError::not_found("signing certificate"))?;
    if certificate.serial_hex() != session.serial {
        return Err(AppError::rejected(
            Rejection::Conflict,
            "certificate_changed",
            "your signing certificate changed since the document was prepared",
        ));
    }
    check_usable(s, &certificate, &chain, revoked_at, now)?;
    let bytes = s
        .blobs
        .read(&session.prepared_sha256)?
        .ok_or_else(|| AppError::internal("a prepared document is missing"))?;
    let prepared = diwan_pdf::Prepared {
        bytes,
        byte_range: session.byte_range,
        digest: session.content_digest,
    };
    let attributes = diwan_pki::cms::prepare_detached(&prepared.digest, &certificate)
        .map_err(|e| AppError::internal(format!("preparing: {e}")))?;
    let cms = diwan_pki::cms::assemble_detached(&attributes, signature, &certificate, &chain)
        .map_err(|e| {
            AppError::unprocessable(
                "bad_signature",
                format!("the signature does not verify with your certificate: {e}"),
            )
        })?;
    let signed = finish(s, prepared, cms)?;
    if s.store.delete_signing_session(id)? {
        s.blobs.forget_made(&session.prepared_sha256)?;
    }
    Ok(signed)
}

/// Removes the prepared documents nobody signed in time.
fn forget_expired(s: &Services, now: DateTime<Utc>) {
    match s.store.expire_signing_sessions(now) {
        Ok(gone) => {
            for digest in gone {
                if let Ok(d) = diwan_domain::Sha256Digest::parse(&digest)
                    && let Err(e) = s.blobs.forget_made(&d)
                {
                    tracing::warn!(error = %e, "an expired prepared document stays on disk");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "expired signing requests not removed"),
    }
}

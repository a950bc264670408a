//! Validation of any signed PDF: for each signature, who signed, the time claimed in the PDF,
//! the signature time-stamp (checked, and its unit's chain), whether the signed bytes are
//! intact, the chain up to a trust anchor and the certificates' status (CRL) at the time the
//! signature is known to have existed — the time-stamp's time when there is a good one, else
//! now — and whether what was added after it is only later signatures. A signature
//! time-stamped before its certificate was revoked therefore stays valid.

use chrono::{DateTime, Utc};
use diwan_pki::{Certificate, PkiError};
use serde::Serialize;

use crate::Services;
use crate::error::AppError;

/// Largest document validated.
pub const MAX_PDF: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Default, Serialize)]
pub struct TimestampReport {
    /// The time the time-stamping unit certifies.
    pub time: Option<DateTime<Utc>>,
    pub authority: Option<String>,
    /// The token's signature and imprint verify (the imprint is the signature's digest).
    pub intact: bool,
    /// The unit's chain leads to a trust anchor.
    pub trusted: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ChainStatus {
    pub trusted: bool,
    pub anchor: Option<String>,
    pub path: Vec<String>,
    /// The time the chain and revocation were judged at.
    pub at: Option<DateTime<Utc>>,
    /// `good` (CRLs of every level consulted, not revoked), `revoked`, or `unknown`.
    pub revocation: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SignatureValidation {
    /// 1 for the first signature of the document.
    pub index: usize,
    pub signer: Option<String>,
    /// When the signature is known to exist: its time-stamp's time when it has a trusted one,
    /// else the time the signer claimed (`claimed_time`, as written in the PDF).
    pub signing_time: Option<String>,
    /// The signer's chain leads to a trust anchor and was not revoked at `signing_time`
    /// (the same as `chain.trusted`).
    pub trusted: bool,
    /// `/M` of the signature dictionary, as written (a claim of the signer).
    pub claimed_time: Option<String>,
    pub timestamp: Option<TimestampReport>,
    /// The CMS verifies over the bytes its byte range covers.
    pub intact: bool,
    pub chain: ChainStatus,
    /// `none`, `only_signatures`, or `other` (with what).
    pub changes_after: String,
    pub changes_detail: Option<String>,
    pub valid: bool,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ValidationReport {
    /// Every signature valid (and there is at least one).
    pub valid: bool,
    pub signatures: Vec<SignatureValidation>,
    pub problems: Vec<String>,
}

/// Validates every signature of `pdf` against this installation's anchors and CRLs.
pub fn validate(s: &Services, pdf: &[u8]) -> Result<ValidationReport, AppError> {
    let rt = s
        .runtime
        .get()
        .ok_or_else(|| AppError::unavailable("not started"))?;
    let now = s.clock.now();
    let anchors = rt.pki.anchors();
    let crls = rt.pki.cached_crls(s.store.as_ref(), now)?;
    Ok(validate_with(pdf, &anchors, &crls, now))
}

/// Validates every signature of `pdf` against `anchors` and `crls` (offline use too).
pub fn validate_with(
    pdf: &[u8],
    anchors: &[Certificate],
    crls: &[Vec<u8>],
    now: DateTime<Utc>,
) -> ValidationReport {
    let mut report = ValidationReport::default();
    if pdf.len() > MAX_PDF {
        report.problems.push("the document is too large".into());
        return report;
    }
    let mut signatures = match diwan_pdf::signatures(pdf) {
        Ok(found) => found,
        Err(e) => {
            report.problems.push(format!("not a readable PDF: {e}"));
            return report;
        }
    };
    signatures.sort_by_key(|sig| sig.revision_end);
    if signatures.is_empty() {
        report.problems.push("the document has no signature".into());
    }
    for (i, sig) in signatures.iter().enumerate() {
        report
            .signatures
            .push(one(pdf, i + 1, sig, anchors, crls, now));
    }
    report.valid = report.problems.is_empty() && report.signatures.iter().all(|v| v.valid);
    report
}

fn one(
    pdf: &[u8],
    index: usize,
    sig: &diwan_pdf::PdfSignature,
    anchors: &[Certificate],
    crls: &[Vec<u8>],
    now: DateTime<Utc>,
) -> SignatureValidation {
    let mut v = SignatureValidation {
        index,
        claimed_time: sig.signing_time.clone(),
        ..SignatureValidation::default()
    };
    match diwan_pdf::changes_after(pdf, sig) {
        Ok(diwan_pdf::ChangesAfter::None) => v.changes_after = "none".into(),
        Ok(diwan_pdf::ChangesAfter::OnlySignatures) => v.changes_after = "only_signatures".into(),
        Ok(diwan_pdf::ChangesAfter::Other(what)) => {
            v.changes_after = "other".into();
            v.problems.push(format!(
                "the document was changed after this signature: {what}"
            ));
            v.changes_detail = Some(what);
        }
        Err(e) => {
            v.changes_after = "other".into();
            v.problems
                .push(format!("what follows this signature cannot be read: {e}"));
        }
    }
    let verified = match diwan_pki::cms::verify_detached(&sig.contents, &sig.covered) {
        Ok(x) => x,
        Err(e) => {
            v.problems
                .push(format!("the signature does not match the document: {e}"));
            return v;
        }
    };
    v.intact = true;
    v.signer = Some(verified.signer.subject());
    let others: Vec<Certificate> = verified
        .certificates
        .iter()
        .filter(|c| **c != verified.signer)
        .cloned()
        .collect();
    // The time the signature is known to have existed.
    let mut at = now;
    match diwan_pki::cms::verify_signature_timestamp(&sig.contents, &others) {
        Ok(None) => {}
        Ok(Some(token)) => {
            let tsa_others: Vec<Certificate> = token
                .certificates
                .iter()
                .filter(|c| **c != token.signer)
                .cloned()
                .collect();
            let tsa_chain = diwan_pki::validate_chain(
                &token.signer,
                &tsa_others,
                anchors,
                token.gen_time,
                crls,
            );
            let trusted = tsa_chain.is_ok();
            if trusted {
                at = token.gen_time;
            } else {
                v.problems
                    .push("the time-stamping unit is not trusted".into());
            }
            v.timestamp = Some(TimestampReport {
                time: Some(token.gen_time),
                authority: Some(token.signer.subject()),
                intact: true,
                trusted,
                error: tsa_chain.err().map(|e| e.to_string()),
            });
        }
        Err(e) => {
            v.problems
                .push("the signature's time-stamp does not verify".into());
            v.timestamp = Some(TimestampReport {
                error: Some(e.to_string()),
                ..TimestampReport::default()
            });
        }
    }
    v.chain = chain(&verified.signer, &others, anchors, crls, at);
    v.trusted = v.chain.trusted;
    v.signing_time = match v
        .timestamp
        .as_ref()
        .filter(|t| t.trusted)
        .and_then(|t| t.time)
    {
        Some(t) => Some(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => v.claimed_time.clone(),
    };
    if !v.chain.trusted {
        v.problems.push(match v.chain.revocation.as_str() {
            "revoked" => {
                "the signer's certificate was revoked before the signature is known to exist".into()
            }
            _ => "the signer's certificate does not lead to a trusted anchor".into(),
        });
    }
    v.valid = v.intact && v.chain.trusted && v.changes_after != "other" && v.problems.is_empty();
    v
}

fn chain(
    leaf: &Certificate,
    others: &[Certificate],
    anchors: &[Certificate],
    crls: &[Vec<u8>],
    at: DateTime<Utc>,
) -> ChainStatus {
    let mut status = ChainStatus {
        at: Some(at),
        ..ChainStatus::default()
    };
    match diwan_pki::validate_chain(leaf, others, anchors, at, crls) {
        Ok(r) => {
            status.trusted = true;
            status.anchor = Some(r.anchor_subject);
            status.path = r.chain_subjects;
            status.revocation = if r.revocation_checked {
                "good"
            } else {
                "unknown"
            }
            .into();
        }
        Err(PkiError::Revoked { .. }) => {
            status.revocation = "revoked".into();
            status.error = Some("revoked at that time".into());
        }
        Err(e) => {
            status.revocation = "unknown".into();
            status.error = Some(e.to_string());
        }
    }
    status
}

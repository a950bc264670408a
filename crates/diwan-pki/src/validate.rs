//! Path validation at a chosen time (rustls-webpki) and CRL checking.
//!
//! webpki builds and verifies the path (signatures, validity at `at`, basic constraints,
//! path length, name constraints). Revocation is checked here rather than by webpki because
//! webpki treats any listed serial as revoked, whatever its revocation date, while a signature
//! made before a revocation must stay valid: a certificate counts as revoked only when the CRL
//! lists it with a revocation date at or before `at`. A CRL's `nextUpdate` is not enforced,
//! for the same reason (historical validation); only its signature and issuer are.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter};
use x509_parser::prelude::FromDer as _;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::cert::{asn1_time, serial_to_hex};
use crate::{Certificate, PkiError};

/// The outcome of a successful [`validate_chain`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Subject of the trust anchor the path ends at.
    pub anchor_subject: String,
    /// SHA-256 of the trust anchor's DER.
    pub anchor_sha256: [u8; 32],
    /// Subjects along the path: leaf first, anchor last.
    pub chain_subjects: Vec<String>,
    /// True when every certificate of the path below the anchor was covered by a CRL signed
    /// by its issuer. False when no CRL was given, or some certificate had none: the caller
    /// decides whether that is acceptable.
    pub revocation_checked: bool,
}

/// Validates `leaf` up to one of `anchors` at time `at`, using `intermediates` as needed and
/// the DER `crls` for revocation.
///
/// The leaf must carry a key usage with digitalSignature or nonRepudiation. Extended key
/// usage is not constrained.
pub fn validate_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: DateTime<Utc>,
    crls: &[Vec<u8>],
) -> Result<ChainReport, PkiError> {
    let usage_ok = leaf
        .key_usage()
        .is_some_and(|ku| ku.digital_signature || ku.non_repudiation);
    if !usage_ok {
        return Err(PkiError::Untrusted(format!(
            "{} has no digitalSignature or nonRepudiation key usage",
            leaf.subject()
        )));
    }
    let path = build_path(leaf, intermediates, anchors, at)?;
    let revocation_checked = check_revocation(&path, at, crls)?;
    let anchor = path.last().copied().unwrap_or(leaf);
    Ok(ChainReport {
        anchor_subject: anchor.subject(),
        anchor_sha256: anchor.sha256_fingerprint(),
        chain_subjects: path.iter().map(|c| c.subject()).collect(),
        revocation_checked,
    })
}

/// Returns the path leaf first, anchor last.
fn build_path<'c>(
    leaf: &'c Certificate,
    intermediates: &'c [Certificate],
    anchors: &'c [Certificate],
    at: DateTime<Utc>,
) -> Result<Vec<&'c Certificate>, PkiError> {
    let anchor_ders: Vec<CertificateDer<'_>> = anchors
        .iter()
        .map(|c| CertificateDer::from(c.der()))
        .collect();
    let trust_anchors = anchor_ders
        .iter()
        .map(|der| {
            webpki::anchor_from_trusted_cert(der)
                .map_err(|e| PkiError::BadCertificate(format!("trust anchor: {e}")))
        })
        .collect::<Result<Vec<TrustAnchor<'_>>, _>>()?;
    let inter_ders: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.der()))
        .collect();
    let leaf_der = CertificateDer::from(leaf.der());
    let ee = EndEntityCert::try_from(&leaf_der)
        .map_err(|e| PkiError::BadCertificate(format!("leaf: {e}")))?;
    let time = unix_time(at)?;
    let verified = ee
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &trust_anchors,
            &inter_ders,
            time,
            AnyUsage,
            None,
            None,
        )
        .map_err(|e| map_webpki_error(e, at))?;

    let mut path = vec![leaf];
    for used in verified.intermediate_certificates() {
        let der = used.der();
        if let Some(c) = intermediates.iter().find(|c| c.der() == der.as_ref()) {
            path.push(c);
        }
    }
    let anchor = verified.anchor();
    let anchor_cert = anchors
        .iter()
        .find(|c| {
            der_value(c.subject_raw()) == Some(anchor.subject.as_ref())
                && der_value(c.spki_der()) == Some(anchor.subject_public_key_info.as_ref())
        })
        .ok_or_else(|| PkiError::Untrusted("anchor not found after validation".to_owned()))?;
    path.push(anchor_cert);
    Ok(path)
}

struct AnyUsage;

impl ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, _: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

fn map_webpki_error(e: webpki::Error, at: DateTime<Utc>) -> PkiError {
    match e {
        webpki::Error::CertExpired { .. } => PkiError::Expired { at },
        webpki::Error::CertNotValidYet { .. } => PkiError::NotYetValid { at },
        webpki::Error::UnknownIssuer => {
            PkiError::Untrusted("no path to a trusted anchor".to_owned())
        }
        other => PkiError::Untrusted(other.to_string()),
    }
}

fn unix_time(at: DateTime<Utc>) -> Result<UnixTime, PkiError> {
    let secs = u64::try_from(at.timestamp())
        .map_err(|_| PkiError::Untrusted(format!("time {at} before 1970")))?;
    Ok(UnixTime::since_unix_epoch(Duration::from_secs(secs)))
}

/// The value of a DER TLV (definite lengths only).
fn der_value(tlv: &[u8]) -> Option<&[u8]> {
    let first_len = *tlv.get(1)?;
    let header = if first_len < 0x80 {
        2
    } else {
        2 + usize::from(first_len & 0x7f)
    };
    tlv.get(header..)
}

/// Checks each certificate below the anchor against the CRLs of its issuer.
fn check_revocation(
    path: &[&Certificate],
    at: DateTime<Utc>,
    crls: &[Vec<u8>],
) -> Result<bool, PkiError> {
    if crls.is_empty() {
        return Ok(false);
    }
    let parsed = crls
        .iter()
        .map(|der| match CertificateRevocationList::from_der(der) {
            Ok((&[], crl)) => Ok(crl),
            Ok(_) => Err(PkiError::BadCrl("trailing bytes after the CRL".to_owned())),
            Err(e) => Err(PkiError::BadCrl(e.to_string())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut all_covered = true;
    for pair in path.windows(2) {
        let [cert, issuer] = pair else { continue };
        let mut covered = false;
        for crl in parsed
            .iter()
            .filter(|crl| crl.issuer().as_raw() == issuer.subject_raw())
        {
            if !crl_signed_by(crl, issuer)? {
                continue;
            }
            covered = true;
            if let Some(revoked_on) = revocation_date(crl, cert)?
                && revoked_on <= at
            {
                return Err(PkiError::Revoked {
                    serial: cert.serial_hex(),
                    revoked_on,
                    at,
                });
            }
        }
        all_covered &= covered;
    }
    Ok(all_covered)
}

/// Whether `issuer` signed `crl`. A CRL under the same name but another key (a renewed CA,
/// or a forgery) does not count; an issuer without cRLSign is an error.
fn crl_signed_by(
    crl: &CertificateRevocationList<'_>,
    issuer: &Certificate,
) -> Result<bool, PkiError> {
    if issuer.key_usage().is_some_and(|ku| !ku.crl_sign) {
        return Err(PkiError::BadCrl(format!(
            "{} may not sign CRLs",
            issuer.subject()
        )));
    }
    let (_, spki) = SubjectPublicKeyInfo::from_der(issuer.spki_der())
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    Ok(crl.verify_signature(&spki).is_ok())
}

fn revocation_date(
    crl: &CertificateRevocationList<'_>,
    cert: &Certificate,
) -> Result<Option<DateTime<Utc>>, PkiError> {
    let serial = cert.serial_hex();
    for entry in crl.iter_revoked_certificates() {
        if serial_to_hex(entry.raw_serial()) == serial {
            return asn1_time(entry.revocation_date).map(Some);
        }
    }
    Ok(None)
}

//! Certificate and CRL issuance with rcgen.
//!
//! Validity: root 20 years, issuing CA 10 years, end-entity certificates (seal, log signer,
//! time-stamping unit, personal signer) 3 years, each starting ten minutes before `now` (clock
//! skew) and never outliving the issuer.
//!
//! The time-stamping profile carries its extended key usage as a custom extension because
//! RFC 3161 (and OpenSSL's `ts -verify`) wants it critical, which rcgen's own extended key
//! usage support does not mark.

use chrono::{DateTime, Months, TimeDelta, Utc};
use pki_types::CertificateDer;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    CustomExtension, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, RevokedCertParams, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;

use crate::{Certificate, Names, PkiError, SigningKey};

const BACKDATE: TimeDelta = TimeDelta::minutes(10);

/// id-ce-extKeyUsage (2.5.29.37).
const EXT_KEY_USAGE: [u64; 4] = [2, 5, 29, 37];

/// DER `ExtKeyUsageSyntax` holding id-kp-timeStamping (1.3.6.1.5.5.7.3.8) alone:
/// `SEQUENCE { OBJECT IDENTIFIER }`.
const EKU_TIME_STAMPING_ONLY: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
];

/// What a certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// Self-signed root CA: keyCertSign + cRLSign, 20 years. Only through [`self_signed_root`].
    Root,
    /// Issuing CA under the root: path length 0, keyCertSign + cRLSign, 10 years.
    IssuingCa {
        /// CRL distribution point of the root's CRL.
        crl_url: Option<String>,
    },
    /// The registry's e-seal (receipts, PAdES): digitalSignature + nonRepudiation, 3 years.
    Seal {
        /// CRL distribution point of the issuing CA's CRL.
        crl_url: Option<String>,
    },
    /// The audit-log signer: digitalSignature + nonRepudiation, 3 years.
    LogSigner {
        /// CRL distribution point of the issuing CA's CRL.
        crl_url: Option<String>,
    },
    /// An RFC 3161 time-stamping unit: digitalSignature only, and a critical extended key
    /// usage holding id-kp-timeStamping alone, 3 years.
    TimeStamping {
        /// CRL distribution point of the issuing CA's CRL.
        crl_url: Option<String>,
    },
    /// A person's signing certificate (PAdES): digitalSignature + nonRepudiation, 3 years.
    Signer {
        /// CRL distribution point of the issuing CA's CRL.
        crl_url: Option<String>,
    },
}

impl Profile {
    fn years(&self) -> u32 {
        match self {
            Self::Root => 20,
            Self::IssuingCa { .. } => 10,
            Self::Seal { .. }
            | Self::LogSigner { .. }
            | Self::TimeStamping { .. }
            | Self::Signer { .. } => 3,
        }
    }

    fn apply(&self, params: &mut CertificateParams) {
        let crl_url = match self {
            Self::Root => {
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
                None
            }
            Self::IssuingCa { crl_url } => {
                params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
                params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
                crl_url.as_ref()
            }
            Self::Seal { crl_url } | Self::LogSigner { crl_url } | Self::Signer { crl_url } => {
                params.is_ca = IsCa::ExplicitNoCa;
                params.key_usages = vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::ContentCommitment,
                ];
                crl_url.as_ref()
            }
            Self::TimeStamping { crl_url } => {
                params.is_ca = IsCa::ExplicitNoCa;
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                let mut eku = CustomExtension::from_oid_content(
                    &EXT_KEY_USAGE,
                    EKU_TIME_STAMPING_ONLY.to_vec(),
                );
                eku.set_criticality(true);
                params.custom_extensions.push(eku);
                crl_url.as_ref()
            }
        };
        if let Some(url) = crl_url {
            params.crl_distribution_points = vec![CrlDistributionPoint {
                uris: vec![url.clone()],
            }];
        }
    }
}

/// Makes the self-signed root CA certificate for `key`.
pub fn self_signed_root(
    names: &Names,
    key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<Certificate, PkiError> {
    let params = base_params(&Profile::Root, names, now, None)?;
    let cert = params.self_signed(key).map_err(rcgen_error)?;
    Certificate::from_der(cert.der().to_vec())
}

/// Issues a certificate for the public key `subject_spki` (DER `SubjectPublicKeyInfo`, e.g.
/// [`SigningKey::public_key_der`]) signed by `issuer` / `issuer_key`.
pub fn issue(
    profile: &Profile,
    names: &Names,
    subject_spki: &[u8],
    issuer: &Certificate,
    issuer_key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<Certificate, PkiError> {
    if *profile == Profile::Root {
        return Err(PkiError::BadCertificate(
            "a root is made with self_signed_root".to_owned(),
        ));
    }
    let rc_issuer = ca_issuer(issuer, issuer_key, |ku| ku.key_cert_sign)?;
    let mut params = base_params(profile, names, now, Some(issuer.not_after()))?;
    params.use_authority_key_identifier_extension = true;
    let subject = rcgen::SubjectPublicKeyInfo::from_der(subject_spki)
        .map_err(|e| PkiError::BadKey(format!("subject public key: {e}")))?;
    let cert = params
        .signed_by(&subject, &rc_issuer)
        .map_err(rcgen_error)?;
    Certificate::from_der(cert.der().to_vec())
}

/// Makes a DER CRL. `revoked` holds serials as [`Certificate::serial_hex`] with their
/// revocation times.
pub fn crl(
    issuer: &Certificate,
    issuer_key: &SigningKey,
    number: u64,
    revoked: &[(String, DateTime<Utc>)],
    this_update: DateTime<Utc>,
    next_update: DateTime<Utc>,
) -> Result<Vec<u8>, PkiError> {
    let rc_issuer = ca_issuer(issuer, issuer_key, |ku| ku.crl_sign)?;
    let revoked_certs = revoked
        .iter()
        .map(|(serial, at)| {
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&parse_serial_hex(serial)?),
                revocation_time: to_offset(*at)?,
                reason_code: None,
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, PkiError>>()?;
    let params = CertificateRevocationListParams {
        this_update: to_offset(this_update)?,
        next_update: to_offset(next_update)?,
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: match issuer.subject_key_id() {
            Some(id) => KeyIdMethod::PreSpecified(id.to_vec()),
            None => KeyIdMethod::Sha256,
        },
    };
    let crl = params
        .signed_by(&rc_issuer)
        .map_err(|e| PkiError::BadCrl(e.to_string()))?;
    Ok(crl.der().to_vec())
}

fn ca_issuer<'k>(
    issuer: &Certificate,
    issuer_key: &'k SigningKey,
    usage_ok: impl Fn(&crate::KeyUsageBits) -> bool,
) -> Result<Issuer<'static, &'k SigningKey>, PkiError> {
    if !issuer.public_key_matches(issuer_key) {
        return Err(PkiError::BadKey(
            "the issuer key does not match the issuer certificate".to_owned(),
        ));
    }
    if !issuer.is_ca() || !issuer.key_usage().as_ref().is_none_or(usage_ok) {
        return Err(PkiError::BadCertificate(format!(
            "{} is not a CA allowed to sign this",
            issuer.subject()
        )));
    }
    Issuer::from_ca_cert_der(&CertificateDer::from(issuer.der()), issuer_key).map_err(rcgen_error)
}

fn base_params(
    profile: &Profile,
    names: &Names,
    now: DateTime<Utc>,
    issuer_not_after: Option<DateTime<Utc>>,
) -> Result<CertificateParams, PkiError> {
    let not_before = now - BACKDATE;
    let mut not_after = now
        .checked_add_months(Months::new(12 * profile.years()))
        .ok_or_else(|| PkiError::BadCertificate("validity out of range".to_owned()))?;
    if let Some(limit) = issuer_not_after {
        not_after = not_after.min(limit);
    }
    let mut params = CertificateParams::default();
    params.not_before = to_offset(not_before)?;
    params.not_after = to_offset(not_after)?;
    params.serial_number = Some(random_serial()?);
    params.distinguished_name = names.to_distinguished_name()?;
    profile.apply(&mut params);
    Ok(params)
}

/// 128 bits: first byte in 0x01..=0x7f so the INTEGER stays positive and 16 bytes long.
fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Crypto)?;
    bytes[0] = (bytes[0] & 0x7f).max(1);
    Ok(SerialNumber::from_slice(&bytes))
}

pub(crate) fn parse_serial_hex(hex: &str) -> Result<Vec<u8>, PkiError> {
    let hex = hex.trim();
    let padded = if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex.to_owned()
    };
    let bad = || PkiError::BadCrl(format!("serial {hex:?} is not hex"));
    if padded.is_empty() || !padded.is_ascii() {
        return Err(bad());
    }
    (0..padded.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&padded[i..i + 2], 16).map_err(|_| bad()))
        .collect()
}

fn to_offset(t: DateTime<Utc>) -> Result<OffsetDateTime, PkiError> {
    OffsetDateTime::from_unix_timestamp(t.timestamp())
        .map_err(|_| PkiError::BadCertificate(format!("time {t} out of range")))
}

fn rcgen_error(e: rcgen::Error) -> PkiError {
    PkiError::BadCertificate(e.to_string())
}

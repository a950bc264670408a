//! X.509 certificates: owned DER with the fields this crate needs parsed once.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use pki_types::CertificateDer;
use pki_types::pem::PemObject as _;
use x509_parser::extensions::{ExtendedKeyUsage, ParsedExtension};
use x509_parser::prelude::{FromDer as _, X509Certificate};
use x509_parser::time::ASN1Time;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::{KeyAlgorithm, Names, PkiError, SigningKey};

/// Key usage bits that matter here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyUsageBits {
    /// `digitalSignature`.
    pub digital_signature: bool,
    /// `nonRepudiation` / `contentCommitment`.
    pub non_repudiation: bool,
    /// `keyCertSign`.
    pub key_cert_sign: bool,
    /// `cRLSign`.
    pub crl_sign: bool,
}

/// A certificate: its DER plus fields parsed once at construction.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    serial_hex: String,
    subject: String,
    issuer: String,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    names: Names,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    fingerprint: [u8; 32],
    spki_der: Vec<u8>,
    public_key_raw: Vec<u8>,
    is_ca: bool,
    key_usage: Option<KeyUsageBits>,
    subject_key_id: Option<Vec<u8>>,
    key_algorithm: Option<KeyAlgorithm>,
    time_stamping: bool,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("serial", &self.serial_hex)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl Certificate {
    /// Parses one DER certificate; trailing bytes are refused.
    pub fn from_der(der: Vec<u8>) -> Result<Self, PkiError> {
        let (rest, x509) =
            X509Certificate::from_der(&der).map_err(|e| PkiError::BadCertificate(e.to_string()))?;
        if !rest.is_empty() {
            return Err(PkiError::BadCertificate(
                "trailing bytes after the certificate".to_owned(),
            ));
        }
        let key_usage = x509
            .key_usage()
            .map_err(|e| PkiError::BadCertificate(e.to_string()))?
            .map(|ku| KeyUsageBits {
                digital_signature: ku.value.digital_signature(),
                non_repudiation: ku.value.non_repudiation(),
                key_cert_sign: ku.value.key_cert_sign(),
                crl_sign: ku.value.crl_sign(),
            });
        let subject_key_id = x509
            .iter_extensions()
            .find_map(|ext| match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
                _ => None,
            });
        let time_stamping = x509
            .extended_key_usage()
            .ok()
            .flatten()
            .is_some_and(|eku| eku.critical && only_time_stamping(eku.value));
        let validity = x509.validity();
        let parsed = Self {
            serial_hex: serial_to_hex(x509.raw_serial()),
            subject: x509.subject().to_string(),
            issuer: x509.issuer().to_string(),
            subject_raw: x509.subject().as_raw().to_vec(),
            issuer_raw: x509.issuer().as_raw().to_vec(),
            names: Names::from_x509(x509.subject()),
            not_before: asn1_time(validity.not_before)?,
            not_after: asn1_time(validity.not_after)?,
            fingerprint: sha256(&der),
            spki_der: x509.public_key().raw.to_vec(),
            public_key_raw: x509.public_key().subject_public_key.data.to_vec(),
            is_ca: x509.is_ca(),
            key_usage,
            subject_key_id,
            key_algorithm: key_algorithm(x509.public_key()),
            time_stamping,
            der: Vec::new(),
        };
        Ok(Self { der, ..parsed })
    }

    /// Parses every `CERTIFICATE` block of a PEM text, in order; other blocks are skipped.
    pub fn from_pem(pem: &str) -> Result<Vec<Self>, PkiError> {
        CertificateDer::pem_slice_iter(pem.as_bytes())
            .map(|der| {
                let der = der.map_err(|e| PkiError::BadCertificate(format!("PEM: {e}")))?;
                Self::from_der(der.as_ref().to_vec())
            })
            .collect()
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM encoding (one `CERTIFICATE` block, LF line endings).
    pub fn to_pem(&self) -> String {
        to_pem("CERTIFICATE", &self.der)
    }

    /// The serial number in lower-case hex, big-endian, without leading zero bytes.
    pub fn serial_hex(&self) -> String {
        self.serial_hex.clone()
    }

    /// The subject as an RFC 4514-like string (`C=MA, O=…, CN=…`).
    pub fn subject(&self) -> String {
        self.subject.clone()
    }

    /// The issuer as an RFC 4514-like string.
    pub fn issuer(&self) -> String {
        self.issuer.clone()
    }

    /// The subject read back into [`Names`] (unknown attributes ignored).
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Start of validity.
    pub fn not_before(&self) -> DateTime<Utc> {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// SHA-256 of the DER.
    pub fn sha256_fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Whether basic constraints say this is a CA.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// The key usage extension, when present.
    pub fn key_usage(&self) -> Option<KeyUsageBits> {
        self.key_usage
    }

    /// Whether this certificate certifies the public half of `key`.
    pub fn public_key_matches(&self, key: &SigningKey) -> bool {
        self.public_key_raw == key.public_key_raw()
    }

    /// The subject key identifier extension, when present.
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.subject_key_id.as_deref()
    }

    /// The family of the certified key, when it is one this crate signs with.
    pub fn key_algorithm(&self) -> Option<KeyAlgorithm> {
        self.key_algorithm
    }

    /// Whether this is a time-stamping unit certificate as RFC 3161 wants it: an extended key
    /// usage extension marked critical that holds id-kp-timeStamping and nothing else.
    pub fn is_time_stamping(&self) -> bool {
        self.time_stamping
    }

    pub(crate) fn public_key_raw(&self) -> &[u8] {
        &self.public_key_raw
    }

    pub(crate) fn subject_raw(&self) -> &[u8] {
        &self.subject_raw
    }

    pub(crate) fn issuer_raw(&self) -> &[u8] {
        &self.issuer_raw
    }
}

fn only_time_stamping(eku: &ExtendedKeyUsage<'_>) -> bool {
    eku.time_stamping
        && !(eku.any
            || eku.server_auth
            || eku.client_auth
            || eku.code_signing
            || eku.email_protection
            || eku.ocsp_signing)
        && eku.other.is_empty()
}

fn key_algorithm(spki: &SubjectPublicKeyInfo<'_>) -> Option<KeyAlgorithm> {
    match spki.algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.1" => Some(KeyAlgorithm::Rsa),
        "1.2.840.10045.2.1" => {
            let curve = spki.algorithm.parameters.as_ref()?.as_oid().ok()?;
            (curve.to_id_string() == "1.2.840.10045.3.1.7").then_some(KeyAlgorithm::EcdsaP256)
        }
        _ => None,
    }
}

pub(crate) fn serial_to_hex(raw: &[u8]) -> String {
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    let mut hex = String::with_capacity(2 * (raw.len() - start));
    for b in &raw[start..] {
        hex.push_str(&format!("{b:02x}"));
    }
    if hex.is_empty() {
        hex.push_str("00");
    }
    hex
}

pub(crate) fn asn1_time(t: ASN1Time) -> Result<DateTime<Utc>, PkiError> {
    DateTime::from_timestamp(t.timestamp(), 0)
        .ok_or_else(|| PkiError::BadCertificate("time out of range".to_owned()))
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// PEM armour around `der` with the given label.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_hex_drops_leading_zeros() {
        assert_eq!(serial_to_hex(&[0, 0x80, 1]), "8001");
        assert_eq!(serial_to_hex(&[0]), "00");
    }

    #[test]
    fn garbage_is_a_bad_certificate() {
        assert!(matches!(
            Certificate::from_der(vec![0x30, 0x03, 1, 2, 3]),
            Err(PkiError::BadCertificate(_))
        ));
        assert!(Certificate::from_pem("no pem here").unwrap().is_empty());
    }
}

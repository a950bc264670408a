//! Detached CMS SignedData (RFC 5652) for PAdES baseline B-B.
//!
//! One SignerInfo, version 1, identified by issuer and serial number. Signed attributes:
//! content-type (id-data), message-digest (SHA-256 of the content) and ESS
//! signing-certificate-v2 (RFC 5035: SHA-256 of the signer certificate, with issuer and
//! serial). No signing-time: PAdES puts the time in the PDF signature dictionary.
//! `certificates` holds the signer certificate followed by the given chain (the caller
//! decides whether the root is in it; verifiers that are given the root do not need it).
//!
//! Verification re-encodes the signed attributes as a DER `SET OF` (tag 0x31), which is
//! what was signed when the signer produced DER, as this crate and OpenSSL do.

use ::cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use ::cms::content_info::{CmsVersion, ContentInfo};
use ::cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos,
};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey, VerificationAlgorithm,
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::cert::{serial_to_hex, sha256};
use crate::{Certificate, KeyAlgorithm, PkiError, SigningKey};

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies … OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// `ESSCertIDv2`; `hashAlgorithm` defaults to SHA-256 and is then omitted.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// A detached signature whose digest and signature verified.
#[derive(Debug, Clone)]
pub struct CmsVerified {
    /// The certificate the SignerInfo designates.
    pub signer: Certificate,
    /// Every certificate of the `certificates` field (signer included), not validated.
    pub certificates: Vec<Certificate>,
    /// The message digest matched the content (always true on `Ok`: a mismatch is an error).
    pub digest_ok: bool,
}

/// Signs `content` (detached) with `key`, whose certificate is `cert`.
pub fn sign_detached(
    content: &[u8],
    key: &SigningKey,
    cert: &Certificate,
    chain: &[Certificate],
) -> Result<Vec<u8>, PkiError> {
    sign_detached_digest(&sha256(content), key, cert, chain)
}

/// The same, from the content's SHA-256 (computed by the caller, e.g. while streaming a large
/// file).
pub fn sign_detached_digest(
    content_sha256: &[u8; 32],
    key: &SigningKey,
    cert: &Certificate,
    chain: &[Certificate],
) -> Result<Vec<u8>, PkiError> {
    if !cert.public_key_matches(key) {
        return Err(PkiError::BadKey(
            "the signer certificate does not certify the key".to_owned(),
        ));
    }
    let x509 = x509_cert::Certificate::from_der(cert.der()).map_err(bad)?;
    let issuer = x509.tbs_certificate.issuer.clone();
    let serial = x509.tbs_certificate.serial_number.clone();

    let signing_certificate = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(cert.sha256_fingerprint().to_vec()).map_err(bad)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(issuer.clone())],
                serial_number: serial.clone(),
            }),
        }],
    };
    let digest = OctetString::new(content_sha256.to_vec()).map_err(bad)?;
    let signed_attrs: SignedAttributes = SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA).map_err(bad)?)?,
        attribute(ID_MESSAGE_DIGEST, Any::encode_from(&digest).map_err(bad)?)?,
        attribute(
            ID_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&signing_certificate).map_err(bad)?,
        )?,
    ])
    .map_err(bad)?;
    let signature = key.sign_der(&signed_attrs.to_der().map_err(bad)?)?;

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number: serial,
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: signature_alg(key.algorithm()),
        signature: OctetString::new(signature).map_err(bad)?,
        unsigned_attrs: None,
    };
    let mut certificates = vec![CertificateChoices::Certificate(x509)];
    for c in chain.iter().filter(|c| c.der() != cert.der()) {
        let parsed = x509_cert::Certificate::from_der(c.der()).map_err(bad)?;
        certificates.push(CertificateChoices::Certificate(parsed));
    }
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha256_alg()]).map_err(bad)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet::try_from(certificates).map_err(bad)?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info]).map_err(bad)?,
    };
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}

/// Verifies a detached signature over `content` with the signer certificate it carries.
///
/// Checks the content-type attribute (id-data), the message digest, the ESS signing
/// certificate hash when present, and the signature over the signed attributes. The signer
/// certificate is not validated here: pass `signer` and `certificates` to
/// [`crate::validate_chain`].
pub fn verify_detached(cms_der: &[u8], content: &[u8]) -> Result<CmsVerified, PkiError> {
    let info = ContentInfo::from_der(cms_der).map_err(bad)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(msg("not a SignedData"));
    }
    let signed_data: SignedData = info.content.decode_as().map_err(bad)?;
    if signed_data.encap_content_info.econtent.is_some() {
        return Err(msg("content is attached, expected a detached signature"));
    }
    let certificates = signed_data
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|choice| match choice {
                    CertificateChoices::Certificate(c) => Some(c),
                    CertificateChoices::Other(_) => None,
                })
                .map(|c| Certificate::from_der(c.to_der().map_err(bad)?))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let mut signer_infos = signed_data.signer_infos.0.iter();
    let (Some(signer_info), None) = (signer_infos.next(), signer_infos.next()) else {
        return Err(msg("expected exactly one SignerInfo"));
    };
    let signer = find_signer(&signer_info.sid, &certificates)?.clone();
    let attrs = signer_info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| msg("signed attributes missing"))?;
    check_attributes(attrs, content, &signer)?;
    if signer_info.digest_alg.oid != ID_SHA256 {
        return Err(msg("digest algorithm is not SHA-256"));
    }
    let algorithm = verification_alg(&signer_info.signature_algorithm, &signer)?;
    UnparsedPublicKey::new(algorithm, signer.public_key_raw())
        .verify(
            &attrs.to_der().map_err(bad)?,
            signer_info.signature.as_bytes(),
        )
        .map_err(|_| msg("signature does not verify"))?;
    Ok(CmsVerified {
        signer,
        certificates,
        digest_ok: true,
    })
}

fn check_attributes(
    attrs: &SignedAttributes,
    content: &[u8],
    signer: &Certificate,
) -> Result<(), PkiError> {
    let content_type: ObjectIdentifier = single_value(attrs, ID_CONTENT_TYPE)?
        .ok_or_else(|| msg("content-type attribute missing"))?
        .decode_as()
        .map_err(bad)?;
    if content_type != ID_DATA {
        return Err(msg("content-type is not id-data"));
    }
    let digest: OctetString = single_value(attrs, ID_MESSAGE_DIGEST)?
        .ok_or_else(|| msg("message-digest attribute missing"))?
        .decode_as()
        .map_err(bad)?;
    if digest.as_bytes() != sha256(content) {
        return Err(msg("message digest does not match the content"));
    }
    if let Some(value) = single_value(attrs, ID_SIGNING_CERTIFICATE_V2)? {
        let signing_cert: SigningCertificateV2 = value.decode_as().map_err(bad)?;
        let first = signing_cert
            .certs
            .first()
            .ok_or_else(|| msg("signing-certificate-v2 is empty"))?;
        let hash_ok = first
            .hash_algorithm
            .as_ref()
            .is_none_or(|alg| alg.oid == ID_SHA256);
        if !hash_ok || first.cert_hash.as_bytes() != signer.sha256_fingerprint() {
            return Err(msg("signing-certificate-v2 does not match the signer"));
        }
    }
    Ok(())
}

fn single_value(attrs: &SignedAttributes, oid: ObjectIdentifier) -> Result<Option<&Any>, PkiError> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some(attr), None) if attr.values.len() == 1 => Ok(attr.values.iter().next()),
        _ => Err(msg(&format!(
            "attribute {oid} must appear once with one value"
        ))),
    }
}

fn find_signer<'c>(
    sid: &SignerIdentifier,
    certificates: &'c [Certificate],
) -> Result<&'c Certificate, PkiError> {
    let found = match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            let issuer = ias.issuer.to_der().map_err(bad)?;
            let serial = serial_to_hex(ias.serial_number.as_bytes());
            certificates
                .iter()
                .find(|c| c.issuer_raw() == issuer.as_slice() && c.serial_hex() == serial)
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => certificates
            .iter()
            .find(|c| c.subject_key_id() == Some(ski.0.as_bytes())),
    };
    found.ok_or_else(|| msg("signer certificate not among the certificates"))
}

fn verification_alg(
    alg: &AlgorithmIdentifierOwned,
    signer: &Certificate,
) -> Result<&'static dyn VerificationAlgorithm, PkiError> {
    match (alg.oid, signer.key_algorithm()) {
        (ECDSA_WITH_SHA256, Some(KeyAlgorithm::EcdsaP256)) => Ok(&ECDSA_P256_SHA256_ASN1),
        (SHA256_WITH_RSA | RSA_ENCRYPTION, Some(KeyAlgorithm::Rsa)) => {
            Ok(&RSA_PKCS1_2048_8192_SHA256)
        }
        (oid, _) => Err(msg(&format!(
            "signature algorithm {oid} unsupported for the signer's key"
        ))),
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, PkiError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(bad)?,
    })
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    }
}

fn signature_alg(alg: KeyAlgorithm) -> AlgorithmIdentifierOwned {
    match alg {
        KeyAlgorithm::EcdsaP256 => AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA256,
            parameters: None,
        },
        KeyAlgorithm::Rsa => AlgorithmIdentifierOwned {
            oid: SHA256_WITH_RSA,
            parameters: Some(Any::null()),
        },
    }
}

fn bad(e: der::Error) -> PkiError {
    PkiError::BadCms(e.to_string())
}

fn msg(text: &str) -> PkiError {
    PkiError::BadCms(text.to_owned())
}

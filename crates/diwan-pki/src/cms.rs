//! Detached CMS SignedData (RFC 5652) for PAdES baselines B-B and B-T.
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
//!
//! **Remote signing** splits [`sign_detached_digest`] in two: [`prepare_detached`] returns the
//! DER signed attributes (the exact bytes a remote device or a browser signs) and
//! [`assemble_detached`] checks the returned signature against the certificate before
//! building the same SignedData.
//!
//! **B-T** adds an RFC 3161 time-stamp token over the signature value ([`signature_value`]):
//! [`with_signature_timestamp`] stores it as the unsigned attribute
//! id-aa-signatureTimeStampToken (1.2.840.113549.1.9.16.2.14). It splices bytes rather than
//! re-encoding the structure, so the signed attributes, the signature and the certificates
//! stay byte-identical.
//!
//! The same SignedData machinery signs and verifies the encapsulated `TSTInfo` of
//! [`crate::tsp`] tokens (SignedData version 3, content carried inside).

use ::cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use ::cms::content_info::{CmsVersion, ContentInfo};
use ::cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos,
};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec, Uint};
use der::{Decode, Encode, Sequence};
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA384_ASN1,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512,
    UnparsedPublicKey, VerificationAlgorithm,
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::cert::{serial_to_hex, sha256};
use crate::tlv;
use crate::tsp::{self, HashAlgorithm, VerifiedToken};
use crate::{Certificate, KeyAlgorithm, PkiError, SigningKey};

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const ID_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies … OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
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

/// `SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies … OPTIONAL }`
/// (RFC 2634, SHA-1), still used by older time-stamp authorities; read only.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV1 {
    certs: Vec<EssCertIdV1>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

/// `ESSCertID ::= SEQUENCE { certHash OCTET STRING (SHA-1), issuerSerial OPTIONAL }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV1 {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EcdsaSigValue {
    r: Uint,
    s: Uint,
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

/// The first half of a remote signature: what the signer's device must sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedSignature {
    /// DER of the signed attributes as a `SET OF` (tag 0x31): the exact bytes to sign (with
    /// ECDSA P-256 / SHA-256 or RSA PKCS#1 v1.5 / SHA-256, as the certificate's key dictates).
    pub to_be_signed: Vec<u8>,
    /// SHA-256 of `to_be_signed`, for devices that sign a pre-computed hash.
    pub digest: [u8; 32],
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
    let signed_attrs = signed_attributes(ID_DATA, content_sha256, cert)?;
    let signature = key.sign_der(&signed_attrs.to_der().map_err(bad)?)?;
    encode_signed_data(&Signed {
        content_type: ID_DATA,
        econtent: None,
        signed_attrs,
        signature_algorithm: signature_alg(key.algorithm()),
        signature,
        signer: cert,
        chain: Some(chain),
    })
}

/// Prepares a detached signature made elsewhere (a smart card, a remote signing service, a
/// browser): the signed attributes are the ones [`sign_detached_digest`] uses, for the content
/// whose SHA-256 is `content_digest`.
pub fn prepare_detached(
    content_digest: &[u8; 32],
    signer_certificate: &Certificate,
) -> Result<PreparedSignature, PkiError> {
    let to_be_signed = signed_attributes(ID_DATA, content_digest, signer_certificate)?
        .to_der()
        .map_err(bad)?;
    Ok(PreparedSignature {
        digest: sha256(&to_be_signed),
        to_be_signed,
    })
}

/// Completes a remote signature: checks `signature` over `prepared.to_be_signed` with the
/// public key of `signer_certificate`, then builds the SignedData [`sign_detached_digest`]
/// would have built.
///
/// ECDSA signatures may come as DER `ECDSA-Sig-Value` or as the 64-byte `r || s` of WebCrypto
/// and JOSE; they are stored as DER. RSA signatures are PKCS#1 v1.5 with SHA-256. A signature
/// that does not verify, or signed attributes that are not for this certificate, are refused.
pub fn assemble_detached(
    prepared: &PreparedSignature,
    signature: &[u8],
    signer_certificate: &Certificate,
    chain: &[Certificate],
) -> Result<Vec<u8>, PkiError> {
    if sha256(&prepared.to_be_signed) != prepared.digest {
        return Err(msg(
            "prepared signature: digest does not match to_be_signed",
        ));
    }
    let signed_attrs = SignedAttributes::from_der(&prepared.to_be_signed).map_err(bad)?;
    if signed_attrs.to_der().map_err(bad)? != prepared.to_be_signed {
        return Err(msg("prepared signature: signed attributes are not DER"));
    }
    check_content_type(&signed_attrs, ID_DATA)?;
    let digest = message_digest(&signed_attrs)?;
    if digest.len() != 32 {
        return Err(msg("prepared signature: message digest is not SHA-256"));
    }
    check_signing_certificate(&signed_attrs, signer_certificate, true)?;
    let (signature_algorithm, signature) =
        checked_signature(signer_certificate, &prepared.to_be_signed, signature)?;
    encode_signed_data(&Signed {
        content_type: ID_DATA,
        econtent: None,
        signed_attrs,
        signature_algorithm,
        signature,
        signer: signer_certificate,
        chain: Some(chain),
    })
}

/// Verifies a detached signature over `content` with the signer certificate it carries.
///
/// Checks the content-type attribute (id-data), the message digest, the ESS signing
/// certificate hash when present, and the signature over the signed attributes. The signer
/// certificate is not validated here: pass `signer` and `certificates` to
/// [`crate::validate_chain`]. Unsigned attributes (a signature time-stamp) are ignored: see
/// [`verify_signature_timestamp`].
pub fn verify_detached(cms_der: &[u8], content: &[u8]) -> Result<CmsVerified, PkiError> {
    let signed_data = decode_signed_data(cms_der)?;
    if signed_data.encap_content_info.econtent.is_some() {
        return Err(msg("content is attached, expected a detached signature"));
    }
    let certificates = certificates_of(&signed_data)?;
    let signer_info = only_signer_info(&signed_data)?;
    let signer = find_signer(&signer_info.sid, &certificates)?.clone();
    let attrs = signer_info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| msg("signed attributes missing"))?;
    check_content_type(attrs, ID_DATA)?;
    if message_digest(attrs)? != sha256(content) {
        return Err(msg("message digest does not match the content"));
    }
    check_signing_certificate(attrs, &signer, false)?;
    if signer_info.digest_alg.oid != ID_SHA256 {
        return Err(msg("digest algorithm is not SHA-256"));
    }
    verify_signer_info(signer_info, &signer)?;
    Ok(CmsVerified {
        signer,
        certificates,
        digest_ok: true,
    })
}

/// The `signature` octets of the first SignerInfo: what a PAdES signature time-stamp covers
/// (ask the time-stamp authority for the SHA-256 of these bytes).
pub fn signature_value(cms_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    let signed_data = decode_signed_data(cms_der)?;
    Ok(first_signer_info(&signed_data)?
        .signature
        .as_bytes()
        .to_vec())
}

/// Returns `cms_der` with `token_der` (an RFC 3161 `TimeStampToken`, a ContentInfo) as the
/// id-aa-signatureTimeStampToken unsigned attribute of the first SignerInfo, replacing any
/// earlier one. Everything else is kept byte for byte.
///
/// The token is not checked against the signature here; [`verify_signature_timestamp`] does.
pub fn with_signature_timestamp(cms_der: &[u8], token_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    let original = decode_signed_data(cms_der)?;
    let original_signer = first_signer_info(&original)?;
    let token = ContentInfo::from_der(token_der).map_err(bad)?;
    if token.content_type != ID_SIGNED_DATA {
        return Err(msg("the time-stamp token is not a SignedData"));
    }
    let token_value = Any::from_der(token_der).map_err(bad)?;

    let spliced = splice_first_signer_info(cms_der, |existing| {
        let mut attrs: Vec<Attribute> = match existing {
            Some(value) => SignedAttributes::from_der(&tlv::encode(0x31, value))
                .map_err(bad)?
                .into_vec(),
            None => Vec::new(),
        };
        attrs.retain(|a| a.oid != ID_SIGNATURE_TIME_STAMP_TOKEN);
        attrs.push(attribute(ID_SIGNATURE_TIME_STAMP_TOKEN, token_value)?);
        let mut encoded = SetOfVec::try_from(attrs)
            .map_err(bad)?
            .to_der()
            .map_err(bad)?;
        // `[1] IMPLICIT SET OF`: same length, context-specific constructed tag 1.
        if let Some(tag) = encoded.first_mut() {
            *tag = 0xa1;
        }
        Ok(encoded)
    })?;

    let result = decode_signed_data(&spliced)?;
    let signer = first_signer_info(&result)?;
    if signer.signed_attrs != original_signer.signed_attrs
        || signer.signature != original_signer.signature
    {
        return Err(msg("adding the time-stamp changed the signature"));
    }
    Ok(spliced)
}

/// The DER `TimeStampToken` in the first SignerInfo's id-aa-signatureTimeStampToken unsigned
/// attribute, if there is one.
pub fn signature_timestamp(cms_der: &[u8]) -> Result<Option<Vec<u8>>, PkiError> {
    let signed_data = decode_signed_data(cms_der)?;
    let Some(attrs) = first_signer_info(&signed_data)?.unsigned_attrs.as_ref() else {
        return Ok(None);
    };
    single_value(attrs, ID_SIGNATURE_TIME_STAMP_TOKEN)?
        .map(|value| value.to_der().map_err(bad))
        .transpose()
}

/// Verifies the signature time-stamp of `cms_der`, if any: the token itself (see
/// [`tsp::verify_token`]; its signer is looked up in the token and in `extra_certificates`),
/// and that its message imprint is the hash, with the token's algorithm, of
/// [`signature_value`].
///
/// The CMS signature itself is checked by [`verify_detached`]; the time-stamp authority's
/// chain by [`crate::validate_chain`].
pub fn verify_signature_timestamp(
    cms_der: &[u8],
    extra_certificates: &[Certificate],
) -> Result<Option<VerifiedToken>, PkiError> {
    let Some(token) = signature_timestamp(cms_der)? else {
        return Ok(None);
    };
    let verified = tsp::verify_token(&token, extra_certificates)?;
    let signature = signature_value(cms_der)?;
    if verified.hash_algorithm.digest(&signature) != verified.hashed_message {
        return Err(msg("the time-stamp does not cover this signature value"));
    }
    Ok(Some(verified))
}

/// A SignedData about to be encoded.
pub(crate) struct Signed<'a> {
    /// The eContentType, also the value of the content-type attribute.
    pub content_type: ObjectIdentifier,
    /// The encapsulated content; `None` for a detached signature.
    pub econtent: Option<&'a [u8]>,
    pub signed_attrs: SignedAttributes,
    pub signature_algorithm: AlgorithmIdentifierOwned,
    pub signature: Vec<u8>,
    pub signer: &'a Certificate,
    /// Certificates after the signer's; `None` leaves out the `certificates` field altogether.
    pub chain: Option<&'a [Certificate]>,
}

/// The content that a verified encapsulating SignedData carried.
pub(crate) struct Encapsulated {
    pub content: Vec<u8>,
    pub signer: Certificate,
    pub certificates: Vec<Certificate>,
}

/// Signs `content` (encapsulated) as the type `content_type`: SignedData version 3 with the
/// usual signed attributes (content-type, message-digest, signing-certificate-v2).
pub(crate) fn sign_encapsulated(
    content_type: ObjectIdentifier,
    content: &[u8],
    key: &SigningKey,
    cert: &Certificate,
    chain: Option<&[Certificate]>,
) -> Result<Vec<u8>, PkiError> {
    if !cert.public_key_matches(key) {
        return Err(PkiError::BadKey(
            "the signer certificate does not certify the key".to_owned(),
        ));
    }
    let signed_attrs = signed_attributes(content_type, &sha256(content), cert)?;
    let signature = key.sign_der(&signed_attrs.to_der().map_err(bad)?)?;
    encode_signed_data(&Signed {
        content_type,
        econtent: Some(content),
        signed_attrs,
        signature_algorithm: signature_alg(key.algorithm()),
        signature,
        signer: cert,
        chain,
    })
}

/// Verifies an encapsulating SignedData of type `content_type` with exactly one SignerInfo,
/// whose signer is among its certificates or `extra_certificates`. Requires the ESS signing
/// certificate attribute (v1 or v2), as RFC 3161 does.
pub(crate) fn verify_encapsulated(
    der: &[u8],
    content_type: ObjectIdentifier,
    extra_certificates: &[Certificate],
) -> Result<Encapsulated, PkiError> {
    let signed_data = decode_signed_data(der)?;
    let encap = &signed_data.encap_content_info;
    if encap.econtent_type != content_type {
        return Err(msg(&format!(
            "encapsulated content is {}, expected {content_type}",
            encap.econtent_type
        )));
    }
    let content: OctetString = encap
        .econtent
        .as_ref()
        .ok_or_else(|| msg("encapsulated content missing"))?
        .decode_as()
        .map_err(bad)?;
    let certificates = certificates_of(&signed_data)?;
    let signer_info = only_signer_info(&signed_data)?;
    let candidates: Vec<Certificate> = certificates
        .iter()
        .chain(extra_certificates)
        .cloned()
        .collect();
    let signer = find_signer(&signer_info.sid, &candidates)?.clone();
    let attrs = signer_info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| msg("signed attributes missing"))?;
    check_content_type(attrs, content_type)?;
    let digest_alg = HashAlgorithm::from_object_id(signer_info.digest_alg.oid)
        .filter(|alg| *alg != HashAlgorithm::Sha1)
        .ok_or_else(|| msg("unsupported digest algorithm"))?;
    if message_digest(attrs)? != digest_alg.digest(content.as_bytes()) {
        return Err(msg("message digest does not match the content"));
    }
    check_signing_certificate(attrs, &signer, true)?;
    verify_signer_info(signer_info, &signer)?;
    Ok(Encapsulated {
        content: content.into_bytes(),
        signer,
        certificates,
    })
}

/// The usual signed attributes: content-type, message-digest, ESS signing-certificate-v2.
fn signed_attributes(
    content_type: ObjectIdentifier,
    digest: &[u8; 32],
    cert: &Certificate,
) -> Result<SignedAttributes, PkiError> {
    let (issuer, serial) = issuer_and_serial(cert)?;
    let signing_certificate = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(cert.sha256_fingerprint().to_vec()).map_err(bad)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(issuer)],
                serial_number: serial,
            }),
        }],
        policies: None,
    };
    let digest = OctetString::new(digest.to_vec()).map_err(bad)?;
    SetOfVec::try_from(vec![
        attribute(
            ID_CONTENT_TYPE,
            Any::encode_from(&content_type).map_err(bad)?,
        )?,
        attribute(ID_MESSAGE_DIGEST, Any::encode_from(&digest).map_err(bad)?)?,
        attribute(
            ID_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&signing_certificate).map_err(bad)?,
        )?,
    ])
    .map_err(bad)
}

fn issuer_and_serial(
    cert: &Certificate,
) -> Result<(x509_cert::name::Name, SerialNumber), PkiError> {
    let x509 = x509_cert::Certificate::from_der(cert.der()).map_err(bad)?;
    Ok((
        x509.tbs_certificate.issuer,
        x509.tbs_certificate.serial_number,
    ))
}

fn encode_signed_data(parts: &Signed<'_>) -> Result<Vec<u8>, PkiError> {
    let (issuer, serial_number) = issuer_and_serial(parts.signer)?;
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number,
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(parts.signed_attrs.clone()),
        signature_algorithm: parts.signature_algorithm.clone(),
        signature: OctetString::new(parts.signature.clone()).map_err(bad)?,
        unsigned_attrs: None,
    };
    let certificates = parts
        .chain
        .map(|chain| {
            let mut set = vec![parsed_choice(parts.signer)?];
            for c in chain.iter().filter(|c| c.der() != parts.signer.der()) {
                set.push(parsed_choice(c)?);
            }
            CertificateSet::try_from(set).map_err(bad)
        })
        .transpose()?;
    let econtent = parts
        .econtent
        .map(|bytes| Any::encode_from(&OctetString::new(bytes).map_err(bad)?).map_err(bad))
        .transpose()?;
    let signed_data = SignedData {
        // RFC 5652 §5.1: version 3 when the eContentType is not id-data.
        version: if parts.content_type == ID_DATA {
            CmsVersion::V1
        } else {
            CmsVersion::V3
        },
        digest_algorithms: SetOfVec::try_from(vec![sha256_alg()]).map_err(bad)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: parts.content_type,
            econtent,
        },
        certificates,
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

fn parsed_choice(cert: &Certificate) -> Result<CertificateChoices, PkiError> {
    x509_cert::Certificate::from_der(cert.der())
        .map(CertificateChoices::Certificate)
        .map_err(bad)
}

/// Checks a remote signature with the certificate's key; returns the algorithm identifier and
/// the signature in the form CMS stores (DER for ECDSA).
fn checked_signature(
    cert: &Certificate,
    message: &[u8],
    signature: &[u8],
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), PkiError> {
    let refused = || {
        msg(&format!(
            "the signature does not verify with the key of {}",
            cert.subject()
        ))
    };
    let key = cert.public_key_raw();
    match cert.key_algorithm() {
        Some(KeyAlgorithm::EcdsaP256) => {
            let der_ok = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, key)
                .verify(message, signature)
                .is_ok();
            if der_ok {
                return Ok((signature_alg(KeyAlgorithm::EcdsaP256), signature.to_vec()));
            }
            if signature.len() != 64
                || UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key)
                    .verify(message, signature)
                    .is_err()
            {
                return Err(refused());
            }
            let (r, s) = signature.split_at(32);
            let der = EcdsaSigValue {
                r: Uint::new(r).map_err(bad)?,
                s: Uint::new(s).map_err(bad)?,
            }
            .to_der()
            .map_err(bad)?;
            Ok((signature_alg(KeyAlgorithm::EcdsaP256), der))
        }
        Some(KeyAlgorithm::Rsa) => {
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
                .verify(message, signature)
                .map_err(|_| refused())?;
            Ok((signature_alg(KeyAlgorithm::Rsa), signature.to_vec()))
        }
        None => Err(msg(&format!(
            "the key of {} is neither P-256 nor RSA",
            cert.subject()
        ))),
    }
}

/// Rewrites the first SignerInfo of a DER ContentInfo/SignedData: `unsigned` receives the
/// value of its current `[1]` unsigned attributes (if any) and returns the complete new
/// `[1]` TLV. Everything else is copied byte for byte; only the enclosing lengths change.
fn splice_first_signer_info(
    cms_der: &[u8],
    unsigned: impl FnOnce(Option<&[u8]>) -> Result<Vec<u8>, PkiError>,
) -> Result<Vec<u8>, PkiError> {
    let layout = || msg("unexpected SignedData layout");
    let content_info = tlv::single(cms_der, 0x30).ok_or_else(layout)?;
    let info_items = tlv::items(content_info.value).ok_or_else(layout)?;
    let [content_type, explicit] = info_items.as_slice() else {
        return Err(layout());
    };
    if explicit.tag != 0xa0 {
        return Err(layout());
    }
    let signed_data = tlv::single(explicit.value, 0x30).ok_or_else(layout)?;
    let data_items = tlv::items(signed_data.value).ok_or_else(layout)?;
    let Some((signer_infos, data_head)) = data_items.split_last() else {
        return Err(layout());
    };
    if signer_infos.tag != 0x31 {
        return Err(layout());
    }
    let infos = tlv::items(signer_infos.value).ok_or_else(layout)?;
    let Some((first, other_infos)) = infos.split_first() else {
        return Err(layout());
    };
    if first.tag != 0x30 {
        return Err(layout());
    }
    let fields = tlv::items(first.value).ok_or_else(layout)?;
    let (kept, existing) = match fields.split_last() {
        Some((last, head)) if last.tag == 0xa1 => (head, Some(last.value)),
        _ => (fields.as_slice(), None),
    };

    let mut info_content: Vec<u8> = kept.iter().flat_map(|f| f.raw.iter().copied()).collect();
    info_content.extend(unsigned(existing)?);
    let mut infos_content = tlv::encode(0x30, &info_content);
    for other in other_infos {
        infos_content.extend_from_slice(other.raw);
    }
    let mut data_content: Vec<u8> = data_head
        .iter()
        .flat_map(|f| f.raw.iter().copied())
        .collect();
    data_content.extend(tlv::encode(0x31, &infos_content));
    let explicit = tlv::encode(0xa0, &tlv::encode(0x30, &data_content));
    Ok(tlv::encode(0x30, &[content_type.raw, &explicit].concat()))
}

fn decode_signed_data(cms_der: &[u8]) -> Result<SignedData, PkiError> {
    let info = ContentInfo::from_der(cms_der).map_err(bad)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(msg("not a SignedData"));
    }
    info.content.decode_as().map_err(bad)
}

fn certificates_of(signed_data: &SignedData) -> Result<Vec<Certificate>, PkiError> {
    signed_data
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
        .transpose()
        .map(Option::unwrap_or_default)
}

fn first_signer_info(signed_data: &SignedData) -> Result<&SignerInfo, PkiError> {
    signed_data
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or_else(|| msg("no SignerInfo"))
}

fn only_signer_info(signed_data: &SignedData) -> Result<&SignerInfo, PkiError> {
    let mut signer_infos = signed_data.signer_infos.0.iter();
    let (Some(signer_info), None) = (signer_infos.next(), signer_infos.next()) else {
        return Err(msg("expected exactly one SignerInfo"));
    };
    Ok(signer_info)
}

fn check_content_type(
    attrs: &SignedAttributes,
    expected: ObjectIdentifier,
) -> Result<(), PkiError> {
    let content_type: ObjectIdentifier = single_value(attrs, ID_CONTENT_TYPE)?
        .ok_or_else(|| msg("content-type attribute missing"))?
        .decode_as()
        .map_err(bad)?;
    if content_type != expected {
        return Err(msg(&format!(
            "content-type attribute is {content_type}, expected {expected}"
        )));
    }
    Ok(())
}

fn message_digest(attrs: &SignedAttributes) -> Result<Vec<u8>, PkiError> {
    let digest: OctetString = single_value(attrs, ID_MESSAGE_DIGEST)?
        .ok_or_else(|| msg("message-digest attribute missing"))?
        .decode_as()
        .map_err(bad)?;
    Ok(digest.into_bytes())
}

/// Checks the ESS signing-certificate (v2, or v1 as older TSAs write) against the signer: the
/// first entry must hash the signer certificate. `required`: one of them must be present.
fn check_signing_certificate(
    attrs: &SignedAttributes,
    signer: &Certificate,
    required: bool,
) -> Result<(), PkiError> {
    let mismatch = || msg("signing-certificate attribute does not match the signer");
    if let Some(value) = single_value(attrs, ID_SIGNING_CERTIFICATE_V2)? {
        let signing_cert: SigningCertificateV2 = value.decode_as().map_err(bad)?;
        let first = signing_cert
            .certs
            .first()
            .ok_or_else(|| msg("signing-certificate-v2 is empty"))?;
        let alg = match &first.hash_algorithm {
            None => HashAlgorithm::Sha256,
            Some(alg) => HashAlgorithm::from_object_id(alg.oid).ok_or_else(mismatch)?,
        };
        if first.cert_hash.as_bytes() != alg.digest(signer.der()) {
            return Err(mismatch());
        }
        return Ok(());
    }
    if let Some(value) = single_value(attrs, ID_SIGNING_CERTIFICATE)? {
        let signing_cert: SigningCertificateV1 = value.decode_as().map_err(bad)?;
        let first = signing_cert
            .certs
            .first()
            .ok_or_else(|| msg("signing-certificate is empty"))?;
        if first.cert_hash.as_bytes() != HashAlgorithm::Sha1.digest(signer.der()) {
            return Err(mismatch());
        }
        return Ok(());
    }
    if required {
        return Err(msg("signing-certificate attribute missing"));
    }
    Ok(())
}

/// Verifies the SignerInfo's signature over its DER signed attributes.
fn verify_signer_info(signer_info: &SignerInfo, signer: &Certificate) -> Result<(), PkiError> {
    let attrs = signer_info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| msg("signed attributes missing"))?;
    let algorithm = verification_alg(
        &signer_info.signature_algorithm,
        signer_info.digest_alg.oid,
        signer,
    )?;
    UnparsedPublicKey::new(algorithm, signer.public_key_raw())
        .verify(
            &attrs.to_der().map_err(bad)?,
            signer_info.signature.as_bytes(),
        )
        .map_err(|_| msg("signature does not verify"))
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

/// The ring algorithm for a SignerInfo's signature algorithm (and, for `rsaEncryption`, its
/// digest algorithm) with the signer's key.
fn verification_alg(
    alg: &AlgorithmIdentifierOwned,
    digest: ObjectIdentifier,
    signer: &Certificate,
) -> Result<&'static dyn VerificationAlgorithm, PkiError> {
    let rsa_digest = HashAlgorithm::from_object_id(digest);
    match (alg.oid, signer.key_algorithm()) {
        (ECDSA_WITH_SHA256, Some(KeyAlgorithm::EcdsaP256)) => Ok(&ECDSA_P256_SHA256_ASN1),
        (ECDSA_WITH_SHA384, Some(KeyAlgorithm::EcdsaP256)) => Ok(&ECDSA_P256_SHA384_ASN1),
        (SHA256_WITH_RSA, Some(KeyAlgorithm::Rsa)) => Ok(&RSA_PKCS1_2048_8192_SHA256),
        (SHA384_WITH_RSA, Some(KeyAlgorithm::Rsa)) => Ok(&RSA_PKCS1_2048_8192_SHA384),
        (SHA512_WITH_RSA, Some(KeyAlgorithm::Rsa)) => Ok(&RSA_PKCS1_2048_8192_SHA512),
        (RSA_ENCRYPTION, Some(KeyAlgorithm::Rsa)) => match rsa_digest {
            Some(HashAlgorithm::Sha256) => Ok(&RSA_PKCS1_2048_8192_SHA256),
            Some(HashAlgorithm::Sha384) => Ok(&RSA_PKCS1_2048_8192_SHA384),
            Some(HashAlgorithm::Sha512) => Ok(&RSA_PKCS1_2048_8192_SHA512),
            _ => Err(msg(&format!(
                "digest algorithm {digest} unsupported with RSA"
            ))),
        },
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

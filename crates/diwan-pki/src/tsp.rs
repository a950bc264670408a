//! RFC 3161 time-stamp protocol: requests, responses and tokens (with RFC 5816's ESS
//! signing-certificate-v2).
//!
//! ```text
//! TimeStampReq  ::= SEQUENCE { version INTEGER (1), messageImprint MessageImprint,
//!                   reqPolicy OBJECT IDENTIFIER OPTIONAL, nonce INTEGER OPTIONAL,
//!                   certReq BOOLEAN DEFAULT FALSE, extensions [0] IMPLICIT Extensions OPTIONAL }
//! MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }
//! TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken ContentInfo OPTIONAL }
//! PKIStatusInfo ::= SEQUENCE { status INTEGER, statusString SEQUENCE OF UTF8String OPTIONAL,
//!                   failInfo BIT STRING OPTIONAL }
//! TSTInfo       ::= SEQUENCE { version INTEGER (1), policy OBJECT IDENTIFIER,
//!                   messageImprint MessageImprint, serialNumber INTEGER,
//!                   genTime GeneralizedTime, accuracy Accuracy OPTIONAL,
//!                   ordering BOOLEAN DEFAULT FALSE, nonce INTEGER OPTIONAL,
//!                   tsa [0] GeneralName OPTIONAL, extensions [1] IMPLICIT Extensions OPTIONAL }
//! ```
//!
//! The token is a CMS ContentInfo/SignedData (version 3) whose encapsulated content, of type
//! id-ct-TSTInfo (1.2.840.113549.1.9.16.1.4), is the DER `TSTInfo`. Tokens made here carry one
//! SignerInfo (issuer and serial, SHA-256) with the signed attributes content-type,
//! message-digest and ESS signing-certificate-v2, the TSA name as a directory name, and no
//! accuracy or ordering. `certificates` holds the TSA certificate and its chain only when the
//! request set `certReq`, as RFC 3161 says.
//!
//! `genTime` is written with the fraction of a second the given time has (trailing zeros
//! dropped, none for whole seconds) and read with or without one.
//!
//! Errors a TSA answers with a rejection come as [`PkiError::TimeStamp`] carrying the
//! [`FailureInfo`] to send: [`FailureInfo::for_error`] picks it. A TSA's refusal, read by
//! [`parse_response`], comes as [`PkiError::TimeStampRefused`].

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use der::asn1::{Any, BitString, Int, ObjectIdentifier, OctetString};
use der::{
    Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag,
    Tagged, Writer,
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;

use crate::cert::serial_to_hex;
use crate::{Certificate, PkiError, SigningKey, cms, tlv};

/// id-ct-TSTInfo.
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// Largest request [`parse_request`] reads.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;
/// Largest response or token [`parse_response`] and [`verify_token`] read.
pub const MAX_TOKEN_LEN: usize = 512 * 1024;
/// Longest serial number (RFC 5280's bound for certificates, kept for tokens).
const MAX_SERIAL_LEN: usize = 20;

/// PKIStatus values.
const STATUS_GRANTED: u32 = 0;
const STATUS_GRANTED_WITH_MODS: u32 = 1;
const STATUS_REJECTION: u8 = 2;

/// A hash algorithm of a message imprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-1 (1.3.14.3.2.26), 20 bytes; accepted in imprints for old clients only.
    Sha1,
    /// SHA-256 (2.16.840.1.101.3.4.2.1), 32 bytes.
    Sha256,
    /// SHA-384 (2.16.840.1.101.3.4.2.2), 48 bytes.
    Sha384,
    /// SHA-512 (2.16.840.1.101.3.4.2.3), 64 bytes.
    Sha512,
}

impl HashAlgorithm {
    /// The dotted object identifier.
    pub fn oid(self) -> &'static str {
        match self {
            Self::Sha1 => "1.3.14.3.2.26",
            Self::Sha256 => "2.16.840.1.101.3.4.2.1",
            Self::Sha384 => "2.16.840.1.101.3.4.2.2",
            Self::Sha512 => "2.16.840.1.101.3.4.2.3",
        }
    }

    /// The algorithm with this dotted object identifier, if supported.
    pub fn from_oid(oid: &str) -> Option<Self> {
        parse_oid(oid).and_then(Self::from_object_id)
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        self.ring().output_len()
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        ring::digest::digest(self.ring(), data).as_ref().to_vec()
    }

    pub(crate) fn object_id(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => ID_SHA1,
            Self::Sha256 => ID_SHA256,
            Self::Sha384 => ID_SHA384,
            Self::Sha512 => ID_SHA512,
        }
    }

    pub(crate) fn from_object_id(oid: ObjectIdentifier) -> Option<Self> {
        [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|alg| alg.object_id() == oid)
    }

    fn ring(self) -> &'static ring::digest::Algorithm {
        match self {
            Self::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &ring::digest::SHA256,
            Self::Sha384 => &ring::digest::SHA384,
            Self::Sha512 => &ring::digest::SHA512,
        }
    }
}

/// The PKIFailureInfo reasons RFC 3161 defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier (bit 0).
    BadAlg,
    /// Transaction not permitted or supported (bit 2).
    BadRequest,
    /// The data submitted has the wrong format (bit 5).
    BadDataFormat,
    /// The TSA's time source is not available (bit 14).
    TimeNotAvailable,
    /// The requested TSA policy is not supported by the TSA (bit 15).
    UnacceptedPolicy,
    /// The requested extension is not supported by the TSA (bit 16).
    UnacceptedExtension,
    /// The additional information requested could not be understood or is not available
    /// (bit 17).
    AddInfoNotAvailable,
    /// The request cannot be handled due to system failure (bit 25).
    SystemFailure,
}

impl FailureInfo {
    const ALL: [Self; 8] = [
        Self::BadAlg,
        Self::BadRequest,
        Self::BadDataFormat,
        Self::TimeNotAvailable,
        Self::UnacceptedPolicy,
        Self::UnacceptedExtension,
        Self::AddInfoNotAvailable,
        Self::SystemFailure,
    ];

    /// The bit number in the PKIFailureInfo BIT STRING.
    pub fn bit(self) -> u8 {
        match self {
            Self::BadAlg => 0,
            Self::BadRequest => 2,
            Self::BadDataFormat => 5,
            Self::TimeNotAvailable => 14,
            Self::UnacceptedPolicy => 15,
            Self::UnacceptedExtension => 16,
            Self::AddInfoNotAvailable => 17,
            Self::SystemFailure => 25,
        }
    }

    /// The reason with this bit number.
    pub fn from_bit(bit: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|f| usize::from(f.bit()) == bit)
    }

    /// What a TSA answers for an error of [`parse_request`] or [`grant`]: the failure the
    /// error carries, else `systemFailure`.
    pub fn for_error(error: &PkiError) -> Self {
        match error {
            PkiError::TimeStamp {
                failure: Some(failure),
                ..
            } => *failure,
            _ => Self::SystemFailure,
        }
    }
}

/// Whether `error` (from [`parse_request`]) is an unsupported hash algorithm, to be answered
/// with `badAlg`.
pub fn is_unknown_algorithm(error: &PkiError) -> bool {
    matches!(
        error,
        PkiError::TimeStamp {
            failure: Some(FailureInfo::BadAlg),
            ..
        }
    )
}

/// Whether `error` (from [`grant`] or [`token`]) is a request for a policy other than the
/// TSA's, to be answered with `unacceptedPolicy`.
pub fn is_unaccepted_policy(error: &PkiError) -> bool {
    matches!(
        error,
        PkiError::TimeStamp {
            failure: Some(FailureInfo::UnacceptedPolicy),
            ..
        }
    )
}

/// A parsed time-stamp request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStampRequest {
    /// The imprint's hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// The imprint's hash, of the algorithm's length.
    pub hashed_message: Vec<u8>,
    /// The requested TSA policy, dotted.
    pub policy: Option<String>,
    /// The nonce's INTEGER content octets, as encoded (minimal two's complement).
    pub nonce: Option<Vec<u8>>,
    /// Whether the TSA certificate must be included in the token.
    pub cert_req: bool,
}

/// A time-stamping unit: its key and certificate (which must carry the critical
/// timeStamping extended key usage, see [`crate::Profile::TimeStamping`]).
#[derive(Debug, Clone, Copy)]
pub struct TsaSigner<'a> {
    /// The signing key.
    pub key: &'a SigningKey,
    /// Its certificate.
    pub certificate: &'a Certificate,
    /// Certificates included after the TSA's when the request asks for them (issuing CA…;
    /// the root is not needed).
    pub chain: &'a [Certificate],
    /// The TSA policy, a dotted object identifier.
    pub policy: &'a str,
}

/// A time-stamp token whose signature verified.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The time of the stamp.
    pub gen_time: DateTime<Utc>,
    /// The token's serial number, lower-case hex without leading zero bytes.
    pub serial_hex: String,
    /// The TSA policy, dotted.
    pub policy: String,
    /// The imprint's hash algorithm.
    pub hash_algorithm: HashAlgorithm,
    /// The imprint's hash: compare it with the hash of what was stamped.
    pub hashed_message: Vec<u8>,
    /// The nonce's INTEGER content octets, when there is one.
    pub nonce: Option<Vec<u8>>,
    /// The TSA certificate that signed (not validated: see [`crate::validate_chain`]).
    pub signer: Certificate,
    /// The certificates the token carried (possibly none).
    pub certificates: Vec<Certificate>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampReq {
    version: Int,
    message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    cert_req: bool,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    extensions: Option<Vec<Extension>>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TstInfo {
    version: Int,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: GenTime,
    #[asn1(optional = "true")]
    accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<GeneralName>,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    extensions: Option<Vec<Extension>>,
}

/// `Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER OPTIONAL,
/// micros [1] INTEGER OPTIONAL }`; read, never written.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct Accuracy {
    #[asn1(optional = "true")]
    seconds: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    millis: Option<Int>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    micros: Option<Int>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampResp {
    status: PkiStatusInfo,
    #[asn1(optional = "true")]
    time_stamp_token: Option<Any>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PkiStatusInfo {
    status: u32,
    #[asn1(optional = "true")]
    status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    fail_info: Option<BitString>,
}

/// Parses a DER `TimeStampReq`.
///
/// Refused, with the [`FailureInfo`] to answer: more than [`MAX_REQUEST_LEN`] bytes or a
/// version other than 1 (`badRequest`); malformed DER, trailing bytes or a hash of the wrong
/// length (`badDataFormat`); an unknown hash algorithm (`badAlg`); any extension
/// (`unacceptedExtension`).
pub fn parse_request(der: &[u8]) -> Result<TimeStampRequest, PkiError> {
    if der.len() > MAX_REQUEST_LEN {
        return Err(refuse(FailureInfo::BadRequest, "request too large"));
    }
    let req = TimeStampReq::from_der(der).map_err(|e| {
        refuse(
            FailureInfo::BadDataFormat,
            &format!("malformed request: {e}"),
        )
    })?;
    if req.version.as_bytes() != [1] {
        return Err(refuse(FailureInfo::BadRequest, "request version is not 1"));
    }
    let imprint = &req.message_imprint;
    let hash_algorithm =
        imprint_algorithm(&imprint.hash_algorithm).map_err(|e| refuse(FailureInfo::BadAlg, &e))?;
    let hashed_message = imprint.hashed_message.as_bytes().to_vec();
    check_imprint(hash_algorithm, &hashed_message)?;
    if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
        return Err(refuse(
            FailureInfo::UnacceptedExtension,
            "request extensions are not supported",
        ));
    }
    Ok(TimeStampRequest {
        hash_algorithm,
        hashed_message,
        policy: req.req_policy.map(|oid| oid.to_string()),
        nonce: req.nonce.map(|n| n.as_bytes().to_vec()),
        cert_req: req.cert_req,
    })
}

/// Encodes a `TimeStampReq` for an external TSA (no policy, no extensions). `nonce` is INTEGER
/// content octets in minimal two's complement (e.g. 8 random bytes whose first is 0x01..=0x7f).
pub fn encode_request(
    hash_algorithm: HashAlgorithm,
    hashed_message: &[u8],
    nonce: Option<&[u8]>,
    cert_req: bool,
) -> Result<Vec<u8>, PkiError> {
    check_imprint(hash_algorithm, hashed_message)?;
    TimeStampReq {
        version: Int::new(&[1]).map_err(bad)?,
        message_imprint: imprint(hash_algorithm, hashed_message)?,
        req_policy: None,
        nonce: nonce.map(integer).transpose()?,
        cert_req,
        extensions: None,
    }
    .to_der()
    .map_err(bad)
}

/// Grants `request`: the DER `TimeStampResp` with status granted and the token of [`token`].
pub fn grant(
    request: &TimeStampRequest,
    tsa: &TsaSigner<'_>,
    serial: &[u8],
    gen_time: DateTime<Utc>,
) -> Result<Vec<u8>, PkiError> {
    let token = token(request, tsa, serial, gen_time)?;
    let status = tlv::encode(0x30, &tlv::encode(0x02, &[0]));
    Ok(tlv::encode(0x30, &[status, token].concat()))
}

/// The `TimeStampToken` (a DER ContentInfo) for `request`, as embedded in a signature.
///
/// `serial` is the token's serial number, big-endian, positive, at most 20 significant bytes:
/// the caller keeps it unique. `gen_time` is written with its fraction of a second, if any.
/// The policy is `tsa.policy`; a request for another one is refused (`unacceptedPolicy`).
pub fn token(
    request: &TimeStampRequest,
    tsa: &TsaSigner<'_>,
    serial: &[u8],
    gen_time: DateTime<Utc>,
) -> Result<Vec<u8>, PkiError> {
    let policy = parse_oid(tsa.policy).ok_or_else(|| {
        PkiError::BadCertificate(format!("TSA policy {:?} is not an OID", tsa.policy))
    })?;
    if let Some(asked) = &request.policy
        && parse_oid(asked) != Some(policy)
    {
        return Err(refuse(
            FailureInfo::UnacceptedPolicy,
            &format!("policy {asked} is not this TSA's ({policy})"),
        ));
    }
    check_imprint(request.hash_algorithm, &request.hashed_message)?;
    if !tsa.certificate.is_time_stamping() {
        return Err(PkiError::BadCertificate(format!(
            "{} has no critical timeStamping extended key usage",
            tsa.certificate.subject()
        )));
    }
    let x509 = x509_cert::Certificate::from_der(tsa.certificate.der())
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    let tst_info = TstInfo {
        version: Int::new(&[1]).map_err(bad)?,
        policy,
        message_imprint: imprint(request.hash_algorithm, &request.hashed_message)?,
        serial_number: serial_number(serial)?,
        gen_time: GenTime::new(gen_time)?,
        accuracy: None,
        ordering: false,
        nonce: request.nonce.as_deref().map(integer).transpose()?,
        tsa: Some(GeneralName::DirectoryName(x509.tbs_certificate.subject)),
        extensions: None,
    }
    .to_der()
    .map_err(bad)?;
    cms::sign_encapsulated(
        ID_CT_TST_INFO,
        &tst_info,
        tsa.key,
        tsa.certificate,
        request.cert_req.then_some(tsa.chain),
    )
}

/// A DER `TimeStampResp` with status rejection, the failure bit and, when given, `text` as
/// the status string.
pub fn rejection(failure: FailureInfo, text: Option<&str>) -> Vec<u8> {
    let bit = usize::from(failure.bit());
    let mut bits = vec![0u8; bit / 8 + 1];
    bits[bit / 8] = 0x80 >> (bit % 8);
    // DER named bit list: no trailing zero bits, so the unused bits are those after `bit`.
    let unused = 7 - (bit % 8) as u8;
    let mut content = tlv::encode(0x02, &[STATUS_REJECTION]);
    if let Some(text) = text {
        content.extend(tlv::encode(0x30, &tlv::encode(0x0c, text.as_bytes())));
    }
    content.extend(tlv::encode(0x03, &[&[unused][..], &bits].concat()));
    tlv::encode(0x30, &tlv::encode(0x30, &content))
}

/// Reads a DER `TimeStampResp`: for status granted or grantedWithMods, the token's DER;
/// otherwise [`PkiError::TimeStampRefused`] with the status, failure and text.
pub fn parse_response(der: &[u8]) -> Result<Vec<u8>, PkiError> {
    if der.len() > MAX_TOKEN_LEN {
        return Err(invalid("response too large"));
    }
    let resp =
        TimeStampResp::from_der(der).map_err(|e| invalid(&format!("malformed response: {e}")))?;
    let status = resp.status;
    if status.status != STATUS_GRANTED && status.status != STATUS_GRANTED_WITH_MODS {
        return Err(PkiError::TimeStampRefused {
            status: status.status,
            failure: status.fail_info.as_ref().and_then(|bits| {
                bits.bits()
                    .enumerate()
                    .filter(|(_, set)| *set)
                    .find_map(|(i, _)| FailureInfo::from_bit(i))
            }),
            text: status.status_string.map(|texts| texts.join("; ")),
        });
    }
    let token = resp
        .time_stamp_token
        .ok_or_else(|| invalid("granted without a token"))?
        .to_der()
        .map_err(bad)?;
    cms_content_info(&token)?;
    Ok(token)
}

/// Verifies a `TimeStampToken`: the SignedData's signature over its signed attributes, the
/// content-type attribute (id-ct-TSTInfo), the message digest over the `TSTInfo`, the ESS
/// signing certificate, and that the signer (found among the token's certificates or
/// `extra_certificates`) carries the critical timeStamping extended key usage and nothing
/// else. A TSA name given as a directory name must be the signer's subject.
///
/// The imprint is returned, not compared: the caller hashes what was stamped. The TSA's chain
/// is not validated here: pass `signer` to [`crate::validate_chain`] at `gen_time`.
/// CMS-level failures are [`PkiError::BadCms`], the rest [`PkiError::TimeStamp`].
pub fn verify_token(
    token_der: &[u8],
    extra_certificates: &[Certificate],
) -> Result<VerifiedToken, PkiError> {
    if token_der.len() > MAX_TOKEN_LEN {
        return Err(invalid("token too large"));
    }
    let signed = cms::verify_encapsulated(token_der, ID_CT_TST_INFO, extra_certificates)?;
    let tst = TstInfo::from_der(&signed.content)
        .map_err(|e| invalid(&format!("malformed TSTInfo: {e}")))?;
    if tst.version.as_bytes() != [1] {
        return Err(invalid("TSTInfo version is not 1"));
    }
    let hash_algorithm =
        imprint_algorithm(&tst.message_imprint.hash_algorithm).map_err(|e| invalid(&e))?;
    let hashed_message = tst.message_imprint.hashed_message.as_bytes().to_vec();
    if hashed_message.len() != hash_algorithm.digest_len() {
        return Err(invalid("imprint length does not match its algorithm"));
    }
    if !signed.signer.is_time_stamping() {
        return Err(invalid(&format!(
            "{} has no critical timeStamping extended key usage",
            signed.signer.subject()
        )));
    }
    if let Some(GeneralName::DirectoryName(name)) = &tst.tsa
        && name.to_der().map_err(bad)? != signed.signer.subject_raw()
    {
        return Err(invalid("the TSA name is not the signer's subject"));
    }
    Ok(VerifiedToken {
        gen_time: tst.gen_time.0,
        serial_hex: serial_to_hex(tst.serial_number.as_bytes()),
        policy: tst.policy.to_string(),
        hash_algorithm,
        hashed_message,
        nonce: tst.nonce.map(|n| n.as_bytes().to_vec()),
        signer: signed.signer,
        certificates: signed.certificates,
    })
}

fn cms_content_info(token: &[u8]) -> Result<(), PkiError> {
    ::cms::content_info::ContentInfo::from_der(token)
        .map(|_| ())
        .map_err(|e| invalid(&format!("token is not a ContentInfo: {e}")))
}

/// The imprint algorithm; parameters must be absent or NULL.
fn imprint_algorithm(alg: &AlgorithmIdentifierOwned) -> Result<HashAlgorithm, String> {
    let hash = HashAlgorithm::from_object_id(alg.oid)
        .ok_or_else(|| format!("hash algorithm {} is not supported", alg.oid))?;
    match &alg.parameters {
        Some(p) if p.tag() != Tag::Null || !p.value().is_empty() => {
            Err(format!("hash algorithm {} has parameters", alg.oid))
        }
        _ => Ok(hash),
    }
}

fn check_imprint(alg: HashAlgorithm, hashed_message: &[u8]) -> Result<(), PkiError> {
    if hashed_message.len() != alg.digest_len() {
        return Err(refuse(
            FailureInfo::BadDataFormat,
            &format!(
                "hashed message is {} bytes, {alg:?} gives {}",
                hashed_message.len(),
                alg.digest_len()
            ),
        ));
    }
    Ok(())
}

/// The imprint as written here: parameters NULL, as OpenSSL writes them.
fn imprint(alg: HashAlgorithm, hashed_message: &[u8]) -> Result<MessageImprint, PkiError> {
    Ok(MessageImprint {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: alg.object_id(),
            parameters: Some(Any::null()),
        },
        hashed_message: OctetString::new(hashed_message).map_err(bad)?,
    })
}

/// An INTEGER from content octets, which must already be minimal two's complement.
fn integer(content: &[u8]) -> Result<Int, PkiError> {
    let minimal = match content {
        [] => false,
        [0x00, next, ..] => next & 0x80 != 0,
        [0xff, next, ..] => next & 0x80 == 0,
        _ => true,
    };
    if !minimal {
        return Err(refuse(
            FailureInfo::BadDataFormat,
            "nonce is not a minimal INTEGER encoding",
        ));
    }
    Int::new(content).map_err(bad)
}

/// A positive serial number from big-endian magnitude bytes.
fn serial_number(serial: &[u8]) -> Result<Int, PkiError> {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    let magnitude = &serial[start..];
    if magnitude.is_empty() || magnitude.len() > MAX_SERIAL_LEN {
        return Err(PkiError::TimeStamp {
            failure: Some(FailureInfo::SystemFailure),
            message: "token serial must be positive and at most 20 bytes".to_owned(),
        });
    }
    let mut content = Vec::with_capacity(magnitude.len() + 1);
    if magnitude[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(magnitude);
    Int::new(&content).map_err(bad)
}

/// `GeneralizedTime` in UTC, `YYYYMMDDHHMMSS[.f…]Z`, with fractional seconds (which the `der`
/// crate's type refuses).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
struct GenTime(DateTime<Utc>);

/// Longest accepted encoding: 14 digits, a dot, 9 fraction digits, Z.
const GEN_TIME_MAX_LEN: usize = 25;

impl GenTime {
    fn new(at: DateTime<Utc>) -> Result<Self, PkiError> {
        if gen_time_text(at).is_none() {
            return Err(invalid(&format!("time {at} cannot be a GeneralizedTime")));
        }
        Ok(Self(at))
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let len = usize::try_from(header.length)?;
        if len > GEN_TIME_MAX_LEN {
            return Err(Self::TAG.value_error());
        }
        let mut buf = [0u8; GEN_TIME_MAX_LEN];
        let bytes = reader.read_into(&mut buf[..len])?;
        parse_gen_time(bytes)
            .map(Self)
            .ok_or_else(|| Self::TAG.value_error())
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        let text = gen_time_text(self.0).ok_or_else(|| Self::TAG.value_error())?;
        Length::try_from(text.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        let text = gen_time_text(self.0).ok_or_else(|| Self::TAG.value_error())?;
        writer.write(text.as_bytes())
    }
}

fn gen_time_text(at: DateTime<Utc>) -> Option<String> {
    if !(0..=9999).contains(&at.year()) {
        return None;
    }
    let mut text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let nanos = at.nanosecond().min(999_999_999);
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    Some(text)
}

fn parse_gen_time(bytes: &[u8]) -> Option<DateTime<Utc>> {
    let (b'Z', body) = bytes.split_last()? else {
        return None;
    };
    if body.len() < 14 {
        return None;
    }
    let (main, fraction) = body.split_at(14);
    if !main.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| {
        main[range]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let nanos = match fraction {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
            value * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let year = i32::try_from(num(0..4)).ok()?;
    NaiveDate::from_ymd_opt(year, num(4..6), num(6..8))?
        .and_hms_nano_opt(num(8..10), num(10..12), num(12..14), nanos)
        .map(|t| t.and_utc())
}

fn refuse(failure: FailureInfo, message: &str) -> PkiError {
    PkiError::TimeStamp {
        failure: Some(failure),
        message: message.to_owned(),
    }
}

fn invalid(message: &str) -> PkiError {
    PkiError::TimeStamp {
        failure: None,
        message: message.to_owned(),
    }
}

fn bad(e: der::Error) -> PkiError {
    invalid(&e.to_string())
}

/// A dotted object identifier, checked first so that no text can make the parser overflow:
/// at most 64 arcs, each a decimal number below 2^32 (what `const-oid` represents).
pub fn parse_oid(text: &str) -> Option<ObjectIdentifier> {
    let arcs: Vec<&str> = text.split('.').collect();
    let numbers: Option<Vec<u32>> = arcs
        .iter()
        .map(|a| {
            (!a.is_empty() && a.len() <= 10 && a.bytes().all(|b| b.is_ascii_digit()))
                .then(|| a.parse::<u32>().ok())
                .flatten()
        })
        .collect();
    // The first two arcs are encoded together as 40 × first + second.
    let fits = (2..=64).contains(&arcs.len())
        && numbers.is_some_and(|n| match (n[0], n[1]) {
            (0 | 1, second) => second < 40,
            (2, second) => second <= u32::MAX - 80,
            _ => false,
        });
    if fits {
        ObjectIdentifier::new(text).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_texts_never_overflow_the_parser() {
        assert!(parse_oid("2.25.195596901171759824287672816926329216930").is_none());
        assert!(parse_oid("2.4294967295").is_none());
        assert!(parse_oid("1.40").is_none());
        assert!(parse_oid("3.1").is_none());
        assert!(parse_oid("x.1").is_none());
        assert!(parse_oid("1").is_none());
        assert_eq!(
            parse_oid("0.4.0.2023.1.1").map(|o| o.to_string()),
            Some("0.4.0.2023.1.1".to_owned())
        );
    }
    use chrono::TimeZone as _;

    #[test]
    fn gen_time_round_trips_with_and_without_fraction() {
        let whole = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 5).unwrap();
        assert_eq!(gen_time_text(whole).unwrap(), "20250301090005Z");
        assert_eq!(parse_gen_time(b"20250301090005Z"), Some(whole));
        let frac = whole + chrono::TimeDelta::milliseconds(120);
        assert_eq!(gen_time_text(frac).unwrap(), "20250301090005.12Z");
        assert_eq!(parse_gen_time(b"20250301090005.12Z"), Some(frac));
        let der = GenTime::new(frac).unwrap().to_der().unwrap();
        assert_eq!(GenTime::from_der(&der).unwrap().0, frac);
        for bad in [
            &b"20250301090005"[..],
            b"20250301090005.Z",
            b"20251301090005Z",
            b"2025030109000aZ",
            b"20250301090005.1234567890Z",
            b"20250301090005+0100",
            b"",
        ] {
            assert_eq!(
                parse_gen_time(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn failure_bits_are_rfc_3161s() {
        assert_eq!(
            rejection(FailureInfo::BadAlg, None),
            [
                0x30, 0x09, 0x30, 0x07, 0x02, 0x01, 0x02, 0x03, 0x02, 0x07, 0x80
            ]
        );
        let der = rejection(FailureInfo::SystemFailure, None);
        assert_eq!(der[der.len() - 7..], [0x03, 0x05, 0x06, 0, 0, 0, 0x40]);
        for failure in FailureInfo::ALL {
            let err = parse_response(&rejection(failure, Some("non"))).unwrap_err();
            match err {
                PkiError::TimeStampRefused {
                    status: 2,
                    failure: Some(f),
                    text: Some(text),
                } => {
                    assert_eq!(f, failure);
                    assert_eq!(text, "non");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn tokens_signed_without_the_time_stamping_eku_are_refused() {
        let now = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap();
        let root_key = SigningKey::generate_p256().unwrap();
        let root = crate::self_signed_root(&crate::Names::cn("Root"), &root_key, now).unwrap();
        let seal_key = SigningKey::generate_p256().unwrap();
        let seal = crate::issue(
            &crate::Profile::Seal { crl_url: None },
            &crate::Names::cn("Seal"),
            &seal_key.public_key_der(),
            &root,
            &root_key,
            now,
        )
        .unwrap();
        let tst_info = TstInfo {
            version: Int::new(&[1]).unwrap(),
            policy: ObjectIdentifier::new_unwrap("1.2.3.4"),
            message_imprint: imprint(HashAlgorithm::Sha256, &[0; 32]).unwrap(),
            serial_number: serial_number(&[1]).unwrap(),
            gen_time: GenTime::new(now).unwrap(),
            accuracy: None,
            ordering: false,
            nonce: None,
            tsa: None,
            extensions: None,
        }
        .to_der()
        .unwrap();
        let token =
            cms::sign_encapsulated(ID_CT_TST_INFO, &tst_info, &seal_key, &seal, Some(&[])).unwrap();
        let err = verify_token(&token, &[]).unwrap_err();
        assert!(err.to_string().contains("timeStamping"), "{err}");
        // The same content under another content type is not a token.
        let other = cms::sign_encapsulated(
            ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1"),
            &tst_info,
            &seal_key,
            &seal,
            Some(&[]),
        )
        .unwrap();
        assert!(verify_token(&other, &[]).is_err());
    }

    #[test]
    fn serial_and_nonce_integers() {
        assert_eq!(serial_number(&[0, 0x80]).unwrap().as_bytes(), [0, 0x80]);
        assert_eq!(serial_number(&[0, 0, 5]).unwrap().as_bytes(), [5]);
        assert!(serial_number(&[0, 0]).is_err());
        assert!(serial_number(&[1; 21]).is_err());
        assert!(integer(&[0, 1]).is_err());
        assert!(integer(&[0xff, 0x80]).is_err());
        assert!(integer(&[]).is_err());
        assert!(integer(&[0, 0x80]).is_ok());
    }
}

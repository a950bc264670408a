//! The one error type of the crate.

use chrono::{DateTime, Utc};

use crate::tsp::FailureInfo;

/// Everything that can go wrong in this crate.
///
/// Messages never contain key material; they may contain certificate subjects and serials.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The private key is malformed, of an unsupported type, or the secret is too short.
    #[error("bad key: {0}")]
    BadKey(String),
    /// A certificate name is unusable (for example Arabic and Latin mixed in one attribute).
    #[error("bad name: {0}")]
    BadName(String),
    /// A certificate could not be parsed or built.
    #[error("bad certificate: {0}")]
    BadCertificate(String),
    /// A CRL could not be parsed or built, or its signature is wrong.
    #[error("bad CRL: {0}")]
    BadCrl(String),
    /// A cryptographic primitive failed (random source, signing).
    #[error("cryptographic operation failed")]
    Crypto,
    /// Sealed data could not be opened: wrong key, wrong associated data, or tampering.
    #[error("sealed data could not be opened")]
    Unseal,
    /// No valid path from the certificate to a trust anchor.
    #[error("untrusted certificate: {0}")]
    Untrusted(String),
    /// A certificate of the path was revoked at or before the validation time.
    #[error("certificate {serial} revoked on {revoked_on} (validation time {at})")]
    Revoked {
        /// Serial of the revoked certificate, as [`crate::Certificate::serial_hex`].
        serial: String,
        /// Revocation date from the CRL.
        revoked_on: DateTime<Utc>,
        /// The validation time.
        at: DateTime<Utc>,
    },
    /// A certificate of the path had expired at the validation time.
    #[error("certificate expired at {at}")]
    Expired {
        /// The validation time.
        at: DateTime<Utc>,
    },
    /// A certificate of the path was not yet valid at the validation time.
    #[error("certificate not yet valid at {at}")]
    NotYetValid {
        /// The validation time.
        at: DateTime<Utc>,
    },
    /// A JWS is malformed or its signature does not verify.
    #[error("bad JWS: {0}")]
    BadJws(String),
    /// A CMS structure is malformed or its signature does not verify.
    #[error("bad CMS: {0}")]
    BadCms(String),
    /// A PEM or PKCS#12 import failed.
    #[error("import failed: {0}")]
    Import(String),
    /// A time-stamp request cannot be served, or a time-stamp token is malformed or does not
    /// verify.
    #[error("time stamp: {message}")]
    TimeStamp {
        /// The RFC 3161 failure a time-stamp authority answers for this (see
        /// [`crate::tsp::rejection`]); `None` for problems found in a token or response.
        failure: Option<FailureInfo>,
        /// What went wrong.
        message: String,
    },
    /// A time-stamp authority did not grant a request.
    #[error("time-stamp authority answered status {status} (failure {failure:?}, text {text:?})")]
    TimeStampRefused {
        /// The PKIStatus (2 rejection, 3 waiting, …).
        status: u32,
        /// The first failure reason set, when the response named a known one.
        failure: Option<FailureInfo>,
        /// The status strings, joined with "; ".
        text: Option<String>,
    },
}

//! The one error type of the crate.

use chrono::{DateTime, Utc};

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
}

//! Compact JWS (RFC 7515) with the certificate chain in `x5c`.
//!
//! Protected header: `{"alg":"ES256","x5c":[leaf, intermediates…]}` (`RS256` for RSA keys),
//! `x5c` entries in standard base64 of the DER as RFC 7515 §4.1.6 requires. No `crit`.
//! [`verify_signature`] checks the signature with the leaf key only; validating the chain
//! (e.g. with [`crate::validate_chain`]) is the caller's next step.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey, VerificationAlgorithm,
};
use serde::{Deserialize, Serialize};

use crate::{Certificate, KeyAlgorithm, PkiError, SigningKey};

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    x5c: Vec<String>,
}

#[derive(Deserialize)]
struct HeaderIn {
    alg: String,
    #[serde(default)]
    x5c: Vec<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// A key with its protected header encoded once; use it for repeated signing.
pub struct Signer<K: AsRef<SigningKey> = SigningKey> {
    key: K,
    protected_b64: String,
}

impl<K: AsRef<SigningKey>> std::fmt::Debug for Signer<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("protected", &self.protected_b64)
            .finish_non_exhaustive()
    }
}

impl<K: AsRef<SigningKey>> Signer<K> {
    /// `chain` is leaf first (the certificate of `key`), then intermediates; the root may be
    /// left out. The leaf must certify `key`.
    pub fn new(key: K, chain: &[Certificate]) -> Result<Self, PkiError> {
        let leaf = chain
            .first()
            .ok_or_else(|| PkiError::BadJws("x5c needs at least the signer certificate".into()))?;
        if !leaf.public_key_matches(key.as_ref()) {
            return Err(PkiError::BadKey(
                "the first certificate of the chain does not certify the key".to_owned(),
            ));
        }
        let header = HeaderOut {
            alg: key.as_ref().algorithm().jose_alg(),
            x5c: chain.iter().map(|c| STANDARD.encode(c.der())).collect(),
        };
        let json = serde_json::to_vec(&header).map_err(|e| PkiError::BadJws(e.to_string()))?;
        Ok(Self {
            key,
            protected_b64: URL_SAFE_NO_PAD.encode(json),
        })
    }

    /// Signs `payload` into a compact JWS.
    pub fn sign(&self, payload: &[u8]) -> Result<String, PkiError> {
        let payload_len = payload.len().div_ceil(3) * 4;
        let mut out = String::with_capacity(self.protected_b64.len() + payload_len + 90);
        out.push_str(&self.protected_b64);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut out);
        let signature = self.key.as_ref().sign_jose(out.as_bytes())?;
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        Ok(out)
    }
}

impl AsRef<SigningKey> for SigningKey {
    fn as_ref(&self) -> &SigningKey {
        self
    }
}

/// Signs once; for many payloads build a [`Signer`].
pub fn sign(payload: &[u8], key: &SigningKey, chain: &[Certificate]) -> Result<String, PkiError> {
    Signer::new(key, chain)?.sign(payload)
}

/// A JWS whose signature verified with its `x5c` leaf.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The decoded payload.
    pub payload: Vec<u8>,
    /// The `x5c` chain, leaf first. Not validated yet.
    pub chain: Vec<Certificate>,
}

/// Checks a compact JWS's signature with the leaf certificate of its `x5c`.
pub fn verify_signature(jws: &str) -> Result<Verified, PkiError> {
    let mut parts = jws.split('.');
    let (Some(protected), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not three dot-separated parts"));
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(protected)
        .map_err(|_| bad("header is not base64url"))?;
    let header: HeaderIn =
        serde_json::from_slice(&header_json).map_err(|e| bad(&format!("header: {e}")))?;
    if header.crit.is_some() {
        return Err(bad("crit header parameters are not supported"));
    }
    let (expected, algorithm): (KeyAlgorithm, &dyn VerificationAlgorithm) =
        match header.alg.as_str() {
            "ES256" => (KeyAlgorithm::EcdsaP256, &ECDSA_P256_SHA256_FIXED),
            "RS256" => (KeyAlgorithm::Rsa, &RSA_PKCS1_2048_8192_SHA256),
            other => return Err(bad(&format!("alg {other:?} not accepted"))),
        };
    if header.x5c.is_empty() {
        return Err(bad("x5c missing"));
    }
    let chain = header
        .x5c
        .iter()
        .map(|b64| {
            let der = STANDARD
                .decode(b64)
                .map_err(|_| bad("x5c entry is not base64"))?;
            Certificate::from_der(der)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = chain.first().ok_or_else(|| bad("x5c missing"))?;
    if leaf.key_algorithm() != Some(expected) {
        return Err(bad("alg does not match the x5c leaf key"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| bad("signature is not base64url"))?;
    let signing_input_len = protected.len() + 1 + payload.len();
    UnparsedPublicKey::new(algorithm, leaf.public_key_raw())
        .verify(&jws.as_bytes()[..signing_input_len], &signature)
        .map_err(|_| bad("signature does not verify"))?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| bad("payload is not base64url"))?;
    Ok(Verified { payload, chain })
}

fn bad(msg: &str) -> PkiError {
    PkiError::BadJws(msg.to_owned())
}

//! Signing keys: P-256 generation, PKCS#8 import (P-256 or RSA), JOSE and DER signatures.

use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_SHA256, RsaKeyPair,
};
use zeroize::Zeroizing;

use crate::PkiError;

/// The algorithm family of a [`SigningKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 with SHA-256 (JOSE `ES256`).
    EcdsaP256,
    /// RSA PKCS#1 v1.5 with SHA-256 (JOSE `RS256`); import only.
    Rsa,
}

impl KeyAlgorithm {
    /// The JOSE `alg` value.
    pub fn jose_alg(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ES256",
            Self::Rsa => "RS256",
        }
    }
}

#[expect(
    clippy::large_enum_variant,
    reason = "one value per loaded key, kept in place"
)]
enum Inner {
    Ecdsa {
        fixed: EcdsaKeyPair,
        asn1: EcdsaKeyPair,
    },
    Rsa(RsaKeyPair),
}

/// A private key ready to sign: the PKCS#8 DER (wiped on drop) and the parsed ring key pair.
///
/// Parse once and keep it; signing does not re-parse anything.
pub struct SigningKey {
    pkcs8: Zeroizing<Vec<u8>>,
    inner: Inner,
    spki: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh P-256 key.
    pub fn generate_p256() -> Result<Self, PkiError> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| PkiError::Crypto)?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` holding a P-256 or an RSA (2048 bits or more) key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, PkiError> {
        let rng = SystemRandom::new();
        let inner = if let Ok(fixed) =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
        {
            let asn1 = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
                .map_err(|e| PkiError::BadKey(e.to_string()))?;
            Inner::Ecdsa { fixed, asn1 }
        } else {
            let rsa = RsaKeyPair::from_pkcs8(der).map_err(|e| {
                PkiError::BadKey(format!("neither a P-256 nor an RSA PKCS#8 key ({e})"))
            })?;
            Inner::Rsa(rsa)
        };
        let mut key = Self {
            pkcs8: Zeroizing::new(der.to_vec()),
            inner,
            spki: Vec::new(),
        };
        key.spki = rcgen::PublicKeyData::subject_public_key_info(&key);
        Ok(key)
    }

    /// The PKCS#8 DER this key was made from.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The algorithm family.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.inner {
            Inner::Ecdsa { .. } => KeyAlgorithm::EcdsaP256,
            Inner::Rsa(_) => KeyAlgorithm::Rsa,
        }
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    /// The public key as it sits in the SPKI bit string (EC point, or PKCS#1 `RSAPublicKey`).
    pub fn public_key_raw(&self) -> &[u8] {
        match &self.inner {
            Inner::Ecdsa { fixed, .. } => fixed.public_key().as_ref(),
            Inner::Rsa(rsa) => rsa.public_key().as_ref(),
        }
    }

    /// Signs for JOSE: ES256 as fixed-size `r || s`, or RS256.
    pub fn sign_jose(&self, msg: &[u8]) -> Result<Vec<u8>, PkiError> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Ecdsa { fixed, .. } => fixed
                .sign(&rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| PkiError::Crypto),
            Inner::Rsa(rsa) => sign_rsa(rsa, &rng, msg),
        }
    }

    /// Signs for X.509 and CMS: ECDSA as a DER `Ecdsa-Sig-Value`, or RSA PKCS#1 v1.5.
    pub fn sign_der(&self, msg: &[u8]) -> Result<Vec<u8>, PkiError> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Ecdsa { asn1, .. } => asn1
                .sign(&rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| PkiError::Crypto),
            Inner::Rsa(rsa) => sign_rsa(rsa, &rng, msg),
        }
    }
}

fn sign_rsa(rsa: &RsaKeyPair, rng: &SystemRandom, msg: &[u8]) -> Result<Vec<u8>, PkiError> {
    let mut sig = vec![0; rsa.public().modulus_len()];
    rsa.sign(&RSA_PKCS1_SHA256, rng, msg, &mut sig)
        .map_err(|_| PkiError::Crypto)?;
    Ok(sig)
}

impl rcgen::PublicKeyData for SigningKey {
    fn der_bytes(&self) -> &[u8] {
        self.public_key_raw()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        match self.inner {
            Inner::Ecdsa { .. } => &rcgen::PKCS_ECDSA_P256_SHA256,
            Inner::Rsa(_) => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

impl rcgen::SigningKey for SigningKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.sign_der(msg)
            .map_err(|_| rcgen::Error::RingUnspecified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    #[test]
    fn p256_round_trip_and_both_signature_forms_verify() {
        let key = SigningKey::generate_p256().unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256);
        let again = SigningKey::from_pkcs8(key.pkcs8_der()).unwrap();
        assert_eq!(again.public_key_der(), key.public_key_der());

        let jose = key.sign_jose(b"hello").unwrap();
        assert_eq!(jose.len(), 64);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key_raw())
            .verify(b"hello", &jose)
            .unwrap();
        let der = key.sign_der(b"hello").unwrap();
        assert_eq!(der[0], 0x30);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, key.public_key_raw())
            .verify(b"hello", &der)
            .unwrap();
    }

    #[test]
    fn spki_is_a_p256_subject_public_key_info() {
        let key = SigningKey::generate_p256().unwrap();
        let spki = key.public_key_der();
        let (rest, parsed) =
            <x509_parser::x509::SubjectPublicKeyInfo as x509_parser::prelude::FromDer<_>>::from_der(
                &spki,
            )
            .unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            parsed.subject_public_key.data.as_ref(),
            key.public_key_raw()
        );
    }

    #[test]
    fn garbage_is_a_bad_key() {
        assert!(matches!(
            SigningKey::from_pkcs8(b"not a key"),
            Err(PkiError::BadKey(_))
        ));
    }
}

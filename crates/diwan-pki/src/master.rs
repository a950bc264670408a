//! The master key that encrypts keys at rest.
//!
//! Sealed format, version 1: `0x01 || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16)`.
//! The key is HKDF-SHA256 of the secret (fixed salt, info `diwan-pki master v1 aes-256-gcm`).
//! Nonces are random: fine for the thousands of keys an installation stores, not for billions
//! of messages under one secret.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, Salt};
use ring::rand::{SecureRandom, SystemRandom};

use crate::PkiError;

const VERSION_1: u8 = 1;
const SALT: &[u8] = b"diwan-pki master key salt";
const INFO: &[u8] = b"diwan-pki master v1 aes-256-gcm";
const MAC_INFO: &[u8] = b"diwan web tokens v1 hmac-sha256";
/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// AES-256-GCM key derived from the installation secret.
pub struct MasterKey {
    key: LessSafeKey,
    /// HMAC-SHA256 key for short-lived tokens (web form tokens), derived from the same secret
    /// under its own label, so that it never equals the encryption key.
    mac: ring::hmac::Key,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([elided])")
    }
}

impl MasterKey {
    /// Derives the key from a secret of at least [`MIN_SECRET_LEN`] bytes.
    pub fn from_secret(secret: &[u8]) -> Result<Self, PkiError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(PkiError::BadKey(format!(
                "master secret must be at least {MIN_SECRET_LEN} bytes"
            )));
        }
        let prk = Salt::new(HKDF_SHA256, SALT).extract(secret);
        let okm = prk
            .expand(&[INFO], &AES_256_GCM)
            .map_err(|_| PkiError::Crypto)?;
        let mac = prk
            .expand(&[MAC_INFO], ring::hmac::HMAC_SHA256)
            .map_err(|_| PkiError::Crypto)?;
        Ok(Self {
            key: LessSafeKey::new(UnboundKey::from(okm)),
            mac: ring::hmac::Key::from(mac),
        })
    }

    /// An HMAC-SHA256 tag of `data` under the secret's MAC key.
    pub fn tag(&self, data: &[u8]) -> Vec<u8> {
        ring::hmac::sign(&self.mac, data).as_ref().to_vec()
    }

    /// Whether `tag` is the tag of `data` (compared in constant time).
    pub fn tag_is_valid(&self, data: &[u8], tag: &[u8]) -> bool {
        ring::hmac::verify(&self.mac, data, tag).is_ok()
    }

    /// Encrypts `plaintext`, binding it to `aad` (say, the key's id and purpose).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, PkiError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| PkiError::Crypto)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + 16);
        out.push(VERSION_1);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .map_err(|_| PkiError::Crypto)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decrypts what [`MasterKey::seal`] produced with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, PkiError> {
        let (version, rest) = sealed.split_first().ok_or(PkiError::Unseal)?;
        if *version != VERSION_1 || rest.len() < NONCE_LEN + 16 {
            return Err(PkiError::Unseal);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| PkiError::Unseal)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .map_err(|_| PkiError::Unseal)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn tags_depend_on_data_and_secret() {
        let key = MasterKey::from_secret(SECRET).unwrap();
        let other = MasterKey::from_secret(b"another secret of more than 32 bytes").unwrap();
        let tag = key.tag(b"csrf:abc");
        assert_eq!(tag.len(), 32);
        assert!(key.tag_is_valid(b"csrf:abc", &tag));
        assert!(!key.tag_is_valid(b"csrf:abd", &tag));
        assert!(!other.tag_is_valid(b"csrf:abc", &tag));
        assert!(!key.tag_is_valid(b"csrf:abc", &tag[..31]));
    }

    #[test]
    fn seal_then_open() {
        let key = MasterKey::from_secret(SECRET).unwrap();
        let sealed = key.seal(b"pkcs8 bytes", b"key:1").unwrap();
        assert_eq!(sealed[0], 1);
        assert_eq!(key.open(&sealed, b"key:1").unwrap(), b"pkcs8 bytes");
        assert_ne!(key.seal(b"pkcs8 bytes", b"key:1").unwrap(), sealed);
    }

    #[test]
    fn wrong_key_tampering_and_other_aad_fail() {
        let key = MasterKey::from_secret(SECRET).unwrap();
        let other = MasterKey::from_secret(b"another secret of more than 32 bytes").unwrap();
        let sealed = key.seal(b"pkcs8 bytes", b"key:1").unwrap();
        assert!(matches!(
            other.open(&sealed, b"key:1"),
            Err(PkiError::Unseal)
        ));
        assert!(matches!(key.open(&sealed, b"key:2"), Err(PkiError::Unseal)));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(key.open(&bad, b"key:1").is_err(), "byte {i}");
        }
        assert!(key.open(&sealed[..10], b"key:1").is_err());
    }

    #[test]
    fn short_secret_is_refused() {
        assert!(MasterKey::from_secret(&[7; 31]).is_err());
    }
}

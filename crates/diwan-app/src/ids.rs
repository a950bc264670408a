//! Identifiers and secrets drawn from the system's random source.

use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::AppError;

fn random<const N: usize>() -> Result<[u8; N], AppError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AppError::Internal("the system random source failed".into()))?;
    Ok(bytes)
}

/// A new random (version 4) UUID in its hyphenated text form.
pub fn new_id() -> Result<String, AppError> {
    let mut b: [u8; 16] = random()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// `digits` random decimal digits (a one-time code), uniformly drawn.
pub fn new_numeric_code(digits: usize) -> Result<String, AppError> {
    let mut out = String::with_capacity(digits);
    while out.len() < digits {
        let [b]: [u8; 1] = random()?;
        // 250 = 25 × 10: rejecting 250..=255 keeps every digit equally likely.
        if b < 250 {
            out.push(char::from(b'0' + b % 10));
        }
    }
    Ok(out)
}

/// Whether `value` looks like an id made by [`new_id`]; lets callers refuse garbage early.
pub fn is_id(value: &str) -> bool {
    value.len() == 36
        && value.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}

/// A bearer secret: 32 random bytes, URL-safe base64 with a readable prefix.
pub fn new_secret(prefix: &str) -> Result<String, AppError> {
    let bytes: [u8; 32] = random()?;
    Ok(format!(
        "{prefix}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// A tracking code a depositor can type: 12 characters from an alphabet without look-alikes.
pub fn new_tracking_code() -> Result<String, AppError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes: [u8; 12] = random()?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

/// SHA-256 of a secret, hex; what the store keeps instead of the secret.
pub fn secret_hash(secret: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    d.as_ref().iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids() {
        let a = new_id().unwrap();
        let b = new_id().unwrap();
        assert!(is_id(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(&a[14..15], "4");
        assert!(!is_id("../../etc/passwd"));
    }

    #[test]
    fn secrets_differ_and_hash() {
        let a = new_secret("dwn").unwrap();
        assert!(a.starts_with("dwn_"));
        assert_ne!(a, new_secret("dwn").unwrap());
        assert_eq!(secret_hash("abc").len(), 64);
        assert_eq!(new_tracking_code().unwrap().len(), 12);
    }
}

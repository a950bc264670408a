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

/// A new time-ordered (version 7) UUID in its hyphenated text form: the Unix time in
/// milliseconds, then 74 random bits.
///
/// Ids made one after the other sort one after the other, so the rows a registration adds go
/// to the right-hand end of every index keyed by id instead of to a random page of each: a
/// batch of registrations dirties a few pages per index, not one page per row. The random
/// part keeps ids unguessable; the time part reveals only when the row was made, which its
/// own columns say anyway.
pub fn new_id() -> Result<String, AppError> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Ok(uuid_v7(millis, random()?))
}

/// The version 7 UUID of `millis` (its low 48 bits) and random bytes, hyphenated.
fn uuid_v7(millis: u128, random: [u8; 10]) -> String {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&millis.to_be_bytes()[10..]);
    b[6..].copy_from_slice(&random);
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
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
        assert_eq!(&a[14..15], "7");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert!(!is_id("../../etc/passwd"));
    }

    #[test]
    fn ids_follow_the_clock() {
        // RFC 9562, appendix A.6: 2022-02-22 19:22:22 UTC is 0x017F22E279B0 ms.
        let id = uuid_v7(0x017F_22E2_79B0, [0xff; 10]);
        assert_eq!(id, "017f22e2-79b0-7fff-bfff-ffffffffffff");
        assert!(is_id(&id));
        let earlier = uuid_v7(0x017F_22E2_79AF, [0xff; 10]);
        let later = uuid_v7(0x017F_22E2_79B1, [0; 10]);
        assert!(earlier < id && id < later, "{earlier} {id} {later}");
        let (a, b) = (new_id().unwrap(), new_id().unwrap());
        assert!(a[..8] <= b[..8], "{a} then {b}");
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

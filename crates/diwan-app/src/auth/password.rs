//! Password hashing with argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::error::AppError;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (bounds the work an attacker can make us do).
pub const MAX_PASSWORD_CHARS: usize = 256;

fn argon2() -> Result<Argon2<'static>, AppError> {
    // OWASP's second recommended argon2id setting: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| AppError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a new password after checking its length.
pub fn hash_password(password: &SecretString) -> Result<String, AppError> {
    let chars = password.expose_secret().chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(AppError::unprocessable(
            "weak_password",
            format!("a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    let salt_bytes: [u8; 16] = {
        let mut b = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
            .map_err(|_| AppError::Internal("random source failed".into()))?;
        b
    };
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| AppError::Internal(format!("salt: {e}")))?;
    argon2()?
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

/// Checks a password against a stored hash. A malformed hash is an error, not a "no".
pub fn verify_password(password: &SecretString, hash: &str) -> Result<bool, AppError> {
    if password.expose_secret().chars().count() > MAX_PASSWORD_CHARS {
        return Ok(false);
    }
    let parsed =
        PasswordHash::new(hash).map_err(|e| AppError::Internal(format!("stored hash: {e}")))?;
    Ok(argon2()?
        .verify_password(password.expose_secret().as_bytes(), &parsed)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let pw = SecretString::from("correct horse battery");
        let h = hash_password(&pw).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&pw, &h).unwrap());
        assert!(!verify_password(&SecretString::from("wrong horse battery"), &h).unwrap());
    }

    #[test]
    fn refuses_short_passwords() {
        assert!(hash_password(&SecretString::from("short")).is_err());
    }
}

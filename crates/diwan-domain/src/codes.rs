//! Short identifiers chosen by people (registry, unit and administration codes) and digests.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::text::limits;

/// A code such as `CENTRAL` or `MEF-RABAT`: 1 to 32 characters among `A-Z`, `0-9`, `-` and `_`,
/// starting with a letter or digit. Codes appear inside registration numbers, so they never hold
/// a `/` or a space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Code(String);

impl Code {
    pub fn parse(field: &str, value: &str) -> Result<Self, DomainError> {
        let valid_char =
            |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_';
        if value.is_empty() {
            return Err(DomainError::Missing {
                field: field.into(),
            });
        }
        if value.len() > limits::CODE {
            return Err(DomainError::TooLong {
                field: field.into(),
                max: limits::CODE,
            });
        }
        if !value.chars().all(valid_char) || !value.starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            return Err(DomainError::invalid(
                field,
                "use upper-case letters A-Z, digits, '-' and '_', starting with a letter or digit",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse("code", &s).map_err(serde::de::Error::custom)
    }
}

/// A SHA-256 digest as 64 lower-case hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Sha256Digest(String);

impl Sha256Digest {
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        if value.len() == 64
            && value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            Ok(Self(value.to_owned()))
        } else {
            Err(DomainError::invalid(
                "sha256",
                "not 64 lower-case hex digits",
            ))
        }
    }

    /// From the 32 raw bytes of a digest.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        use fmt::Write as _;
        let mut s = String::with_capacity(64);
        for b in bytes {
            let _ = write!(s, "{b:02x}");
        }
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert!(Code::parse("c", "MEF-RABAT_2").is_ok());
        assert!(Code::parse("c", "mef").is_err());
        assert!(Code::parse("c", "A/B").is_err());
        assert!(Code::parse("c", "-A").is_err());
        assert!(Code::parse("c", "").is_err());
        assert!(Code::parse("c", &"A".repeat(33)).is_err());
    }

    #[test]
    fn digests() {
        let d = Sha256Digest::from_bytes(&[0xab; 32]);
        assert_eq!(d.as_str(), "ab".repeat(32));
        assert!(Sha256Digest::parse(d.as_str()).is_ok());
        assert!(Sha256Digest::parse("AB").is_err());
    }
}

//! Validation errors of domain values.

use std::fmt;

/// The name of an input field, as the client spelled it (`sender.name`, `subject`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field(pub String);

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Field {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// A value that breaks a domain rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{field} is required")]
    Missing { field: Field },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: Field, max: usize },
    #[error("{field} contains a control character")]
    ControlCharacter { field: Field },
    #[error("{field} is not valid: {reason}")]
    Invalid { field: Field, reason: String },
}

impl DomainError {
    /// The field the error is about.
    pub fn field(&self) -> &Field {
        match self {
            Self::Missing { field }
            | Self::TooLong { field, .. }
            | Self::ControlCharacter { field }
            | Self::Invalid { field, .. } => field,
        }
    }

    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

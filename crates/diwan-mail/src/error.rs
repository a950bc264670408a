//! What can go wrong when sending, sorted by what the caller should do next.

use std::error::Error as StdError;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address that does not parse, or that holds a line break: never retry.
    #[error("invalid address: {0}")]
    BadAddress(String),
    /// A subject, message id, attachment name or media type that cannot be a header: never retry.
    #[error("invalid header: {0}")]
    BadHeader(String),
    /// The transport cannot be built from its configuration (unknown URL scheme, bad URL).
    #[error("invalid mail transport configuration: {0}")]
    Config(String),
    /// The server refused for good (a 5xx reply): do not retry the same message.
    #[error("refused by the mail server: {0}")]
    Permanent(String),
    /// Worth a retry later: connection refused or lost, timeout, TLS failure, 4xx reply.
    #[error("mail not sent, try again later: {0}")]
    Transient(String),
    /// The file transport could not write.
    #[error("mail file i/o: {0}")]
    Io(String),
}

impl MailError {
    /// Whether sending the same message again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::Io(_))
    }
}

/// An SMTP failure: permanent for a 5xx reply, transient otherwise. Errors of the client itself
/// (STARTTLS not offered, no common authentication mechanism) count as transient: they come from
/// configuration on one side or the other, and a retry succeeds once that is fixed.
pub(crate) fn from_smtp(err: &lettre::transport::smtp::Error) -> MailError {
    let text = with_sources(err);
    if err.is_permanent() {
        MailError::Permanent(text)
    } else {
        MailError::Transient(text)
    }
}

/// The error and its chain of causes on one line.
pub(crate) fn with_sources(err: &dyn StdError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_of_causes_is_kept() {
        let err = Outer(std::io::Error::other("inner"));
        assert_eq!(with_sources(&err), "outer: inner");
    }

    #[test]
    fn only_transient_and_io_failures_are_retried() {
        assert!(MailError::Transient("x".into()).is_retryable());
        assert!(MailError::Io("x".into()).is_retryable());
        assert!(!MailError::Permanent("x".into()).is_retryable());
        assert!(!MailError::BadAddress("x".into()).is_retryable());
        assert!(!MailError::BadHeader("x".into()).is_retryable());
        assert!(!MailError::Config("x".into()).is_retryable());
    }
}

//! The one error type of the use cases. `diwan-api` maps it to HTTP in one place.

use diwan_domain::DomainError;

use crate::ports::StoreError;

/// Why a request was refused. Each kind maps to exactly one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// 400: the request is malformed.
    BadRequest,
    /// 401: no valid credentials.
    Unauthenticated,
    /// 403: authenticated, but not allowed.
    Forbidden,
    /// 404: nothing there, or nothing the caller may see.
    NotFound,
    /// 409: conflicts with the current state.
    Conflict,
    /// 413: over a size limit.
    TooLarge,
    /// 422: well-formed, but breaks a rule.
    Unprocessable,
    /// 429: too many attempts; try again later.
    TooManyRequests,
    /// 503: a service this one relies on (an external time-stamping authority) failed; the
    /// request changed nothing and may be tried again.
    Unavailable,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Refused, with a stable machine-readable `code` and a human `detail`.
    #[error("{detail}")]
    Rejected {
        kind: Rejection,
        code: &'static str,
        detail: String,
    },
    /// The database or the file store cannot be reached right now (503).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure (500). The text goes to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn rejected(kind: Rejection, code: &'static str, detail: impl Into<String>) -> Self {
        Self::Rejected {
            kind,
            code,
            detail: detail.into(),
        }
    }

    pub fn unauthenticated() -> Self {
        Self::rejected(
            Rejection::Unauthenticated,
            "unauthenticated",
            "a valid bearer token is required",
        )
    }

    pub fn forbidden() -> Self {
        Self::rejected(
            Rejection::Forbidden,
            "forbidden",
            "your roles do not allow this",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::rejected(Rejection::NotFound, "not_found", format!("no such {what}"))
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::rejected(Rejection::BadRequest, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::rejected(Rejection::Unprocessable, code, detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::Internal(detail.into())
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::Unavailable(detail.into())
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        Self::unprocessable("invalid_input", e.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::rejected(Rejection::Conflict, "conflict", what),
            StoreError::Unavailable(why) => Self::Unavailable(why),
            StoreError::Other(why) => Self::Internal(why),
        }
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        Self::Internal(format!("file store: {e}"))
    }
}

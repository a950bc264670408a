//! The one place where errors become HTTP responses (RFC 9457 problem details).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use diwan_app::{AppError, Rejection};
use serde::Serialize;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl ApiError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self(AppError::bad_request(code, detail))
    }

    pub fn too_large(code: &'static str, detail: impl Into<String>) -> Self {
        Self(AppError::rejected(Rejection::TooLarge, code, detail))
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The problem document (RFC 9457) with Diwan's stable `code`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:diwan:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable, machine-readable reason: `invalid_input`, `forbidden`, `file_too_large`, …
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For server errors only: quote it to the operator, who finds the detail in the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

pub(crate) fn status_of(kind: Rejection) -> StatusCode {
    match kind {
        Rejection::BadRequest => StatusCode::BAD_REQUEST,
        Rejection::Unauthenticated => StatusCode::UNAUTHORIZED,
        Rejection::Forbidden => StatusCode::FORBIDDEN,
        Rejection::NotFound => StatusCode::NOT_FOUND,
        Rejection::Conflict => StatusCode::CONFLICT,
        Rejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Rejection::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        Rejection::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Rejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            AppError::Rejected { kind, .. } => status_of(*kind),
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let title = status.canonical_reason().unwrap_or("Error").to_owned();
        let problem = match &self.0 {
            AppError::Rejected { code, detail, .. } => Problem {
                kind: format!("urn:diwan:problem:{code}"),
                title,
                status: status.as_u16(),
                code: (*code).to_owned(),
                detail: Some(detail.clone()),
                correlation_id: None,
            },
            AppError::Unavailable(detail) | AppError::Internal(detail) => {
                let code = if status == StatusCode::SERVICE_UNAVAILABLE {
                    "unavailable"
                } else {
                    "internal"
                };
                let id = diwan_app::ids::new_id().unwrap_or_else(|_| "none".into());
                tracing::error!(correlation_id = %id, %detail, "request failed");
                Problem {
                    kind: format!("urn:diwan:problem:{code}"),
                    title,
                    status: status.as_u16(),
                    code: code.to_owned(),
                    detail: None,
                    correlation_id: Some(id),
                }
            }
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(problem)
    }
}

/// Runs a use case on a blocking thread (diesel and argon2 block).
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
{
    actix_web::web::block(f)
        .await
        .map_err(|e| ApiError(AppError::Internal(format!("blocking task: {e}"))))?
        .map_err(ApiError)
}

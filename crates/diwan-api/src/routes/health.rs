//! Liveness and readiness probes.

use actix_web::{HttpResponse, web};
use diwan_app::Services;
use serde_json::json;

use crate::error::{ApiError, blocking};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "alive")))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "ready"), (status = 503, description = "database unreachable", body = crate::error::Problem)))]
pub async fn ready(s: web::Data<Services>) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    blocking(move || Ok(s.store.ping()?)).await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

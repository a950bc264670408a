#![doc = include_str!("../README.md")]

mod auth;
mod error;
pub mod metrics;
mod openapi;
mod pages;
mod routes;
pub mod server;
mod stream;

use actix_web::{HttpResponse, http::header, middleware, web};
use diwan_app::Services;

pub use error::ApiError;
pub use openapi::openapi_json;

/// Registers every route and the JSON/query error handlers on an actix `App`.
pub fn configure(services: Services) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(services))
            .app_data(
                web::JsonConfig::default()
                    .limit(1024 * 1024)
                    .error_handler(|e, _| {
                        ApiError::bad_request("invalid_json", e.to_string()).into()
                    }),
            )
            .app_data(
                web::QueryConfig::default().error_handler(|e, _| {
                    ApiError::bad_request("invalid_query", e.to_string()).into()
                }),
            )
            .app_data(
                web::PathConfig::default().error_handler(|e, _| {
                    ApiError::bad_request("invalid_path", e.to_string()).into()
                }),
            )
            .route("/healthz", web::get().to(routes::health::live))
            .route("/readyz", web::get().to(routes::health::ready))
            .route("/metrics", web::get().to(crate::metrics::scrape))
            .configure(crate::pages::configure)
            .service(
                web::scope("/api/v1")
                    .wrap(
                        middleware::DefaultHeaders::new()
                            .add((header::CACHE_CONTROL, "no-store"))
                            .add((
                                header::CONTENT_SECURITY_POLICY,
                                "default-src 'none'; sandbox",
                            ))
                            .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                            .add((header::REFERRER_POLICY, "no-referrer")),
                    )
                    .configure(routes::configure),
            )
            .default_service(web::to(not_found));
    }
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::from(diwan_app::AppError::not_found("resource")))
}

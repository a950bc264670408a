//! Routes under `/api/v1`, one module per resource.

pub mod agents;
pub mod auth;
pub mod correspondences;
pub mod health;
pub mod indicators;
pub mod open_data;
pub mod org;
pub mod parapheur;
pub mod receipts;
pub mod signatures;
pub mod workflow;

use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder, web};

use crate::error::ApiError;

/// Whether `?format=` asks for CSV (`json`, the default, or `csv`; anything else refused).
pub(crate) fn wants_csv(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "invalid_format",
            "format is json or csv",
        )),
    }
}

/// A CSV body as a download named `filename` (UTF-8).
pub(crate) fn csv_download(
    mut res: HttpResponseBuilder,
    filename: &str,
    body: String,
) -> HttpResponse {
    res.content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi))
        .route("/auth/login", web::post().to(auth::login))
        .route("/auth/logout", web::post().to(auth::logout))
        .route("/auth/me", web::get().to(auth::me))
        .route("/auth/tokens", web::get().to(auth::list_tokens))
        .route("/auth/tokens", web::post().to(auth::create_token))
        .route("/auth/tokens/{id}", web::delete().to(auth::revoke_token))
        .route("/registries", web::get().to(org::registries))
        .route("/indicators", web::get().to(indicators::get))
        .route("/open-data", web::get().to(open_data::get))
        .route("/org", web::get().to(org::overview))
        .route("/admin/org", web::put().to(org::import))
        .route("/admin/agents", web::get().to(agents::list))
        .route("/admin/agents", web::post().to(agents::create))
        .route("/admin/agents/{id}/grants", web::post().to(agents::grant))
        .route(
            "/admin/agents/{id}/grants",
            web::delete().to(agents::revoke),
        )
        .route(
            "/correspondences",
            web::post().to(correspondences::register),
        )
        .route("/correspondences", web::get().to(correspondences::list))
        .route(
            "/correspondences/{id}/deliveries",
            web::get().to(correspondences::deliveries),
        )
        .route(
            "/exchange/inbound",
            web::post().to(correspondences::exchange_inbound),
        )
        .route("/correspondences/{id}", web::get().to(correspondences::get))
        .route(
            "/correspondences/{id}/annul",
            web::post().to(correspondences::annul),
        )
        .route(
            "/correspondences/{id}/assign",
            web::post().to(workflow::assign),
        )
        .route(
            "/correspondences/{id}/reassign",
            web::post().to(workflow::reassign),
        )
        .route(
            "/correspondences/{id}/forward",
            web::post().to(workflow::forward),
        )
        .route(
            "/correspondences/{id}/start",
            web::post().to(workflow::start),
        )
        .route(
            "/correspondences/{id}/return",
            web::post().to(workflow::give_back),
        )
        .route(
            "/correspondences/{id}/decline",
            web::post().to(workflow::decline),
        )
        .route(
            "/correspondences/{id}/close",
            web::post().to(workflow::close),
        )
        .route("/inbox", web::get().to(workflow::inbox))
        .route("/delegations", web::get().to(workflow::delegations))
        .route("/delegations", web::post().to(workflow::delegate))
        .route(
            "/delegations/{id}",
            web::delete().to(workflow::revoke_delegation),
        )
        .route(
            "/registries/{code}/routing-rules",
            web::get().to(workflow::rules),
        )
        .route(
            "/registries/{code}/routing-rules",
            web::post().to(workflow::create_rule),
        )
        .route(
            "/registries/{code}/routing-rules/{id}",
            web::put().to(workflow::update_rule),
        )
        .route(
            "/registries/{code}/routing-rules/{id}",
            web::delete().to(workflow::delete_rule),
        )
        .route("/replies/{id}", web::get().to(workflow::reply))
        .route(
            "/replies/{id}/files/{file_id}",
            web::get().to(workflow::reply_file),
        )
        .route(
            "/correspondences/{id}/files/{file_id}",
            web::get().to(correspondences::file),
        )
        .route(
            "/correspondences/{id}/dossier",
            web::get().to(correspondences::dossier),
        )
        .route("/receipts/{id}", web::get().to(receipts::get))
        .route("/receipts/{id}/pdf", web::get().to(receipts::pdf))
        .service(
            web::resource("/verify")
                .app_data(web::PayloadConfig::new(
                    diwan_app::receipts::verify::MAX_INPUT,
                ))
                .route(web::post().to(receipts::verify)),
        )
        .service(
            web::resource("/parapheur/documents")
                .app_data(web::JsonConfig::default().limit(signatures::MAX_SIGNING_BODY))
                .route(web::post().to(parapheur::submit))
                .route(web::get().to(parapheur::submitted)),
        )
        .route("/parapheur/documents/{id}", web::get().to(parapheur::get))
        .route(
            "/parapheur/documents/{id}/pdf",
            web::get().to(parapheur::pdf),
        )
        .route(
            "/parapheur/documents/{id}/{action}",
            web::post().to(parapheur::act),
        )
        .route("/parapheur/queue", web::get().to(parapheur::queue))
        .route("/parapheur/sign", web::post().to(parapheur::sign_batch))
        .route("/parapheur/templates", web::get().to(parapheur::templates))
        .route(
            "/parapheur/templates/{administration}/{document_type}",
            web::put().to(parapheur::put_template),
        )
        .route("/signers/me", web::get().to(signatures::me))
        .route("/signers/me", web::post().to(signatures::enrol))
        .route("/signers/me/pkcs12", web::post().to(signatures::import))
        .route(
            "/signers/{agent_id}/revoke",
            web::post().to(signatures::revoke),
        )
        .service(
            web::resource("/signatures/sign")
                .app_data(web::JsonConfig::default().limit(signatures::MAX_SIGNING_BODY))
                .route(web::post().to(signatures::sign)),
        )
        .service(
            web::resource("/signatures/remote")
                .app_data(web::JsonConfig::default().limit(signatures::MAX_SIGNING_BODY))
                .route(web::post().to(signatures::remote_prepare)),
        )
        .route(
            "/signatures/remote/{id}",
            web::post().to(signatures::remote_complete),
        )
        .service(
            web::resource("/signatures/validate")
                .app_data(web::PayloadConfig::new(
                    diwan_app::parapheur::validate::MAX_PDF,
                ))
                .route(web::post().to(signatures::validate)),
        )
        .service(
            web::resource("/tsa")
                .app_data(web::PayloadConfig::new(
                    diwan_app::parapheur::tsa::MAX_REQUEST,
                ))
                .route(web::post().to(signatures::tsa)),
        )
        .route("/transparency/sth", web::get().to(receipts::sth))
        .route(
            "/transparency/consistency",
            web::get().to(receipts::consistency),
        )
        .route(
            "/transparency/inclusion",
            web::get().to(receipts::inclusion),
        )
        .route("/pki/root.pem", web::get().to(receipts::root_pem))
        .route("/pki/{name}", web::get().to(receipts::crl));
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi::openapi_json())
}

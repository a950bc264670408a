//! The parapheur's circuits: documents submitted for visas and signatures, each agent's queue,
//! the actions, and the circuit templates.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use base64::Engine as _;
use diwan_app::Services;
use diwan_app::model::StepSpec;
use diwan_app::parapheur::circuit::{ActRequest, Submission};
use diwan_domain::circuit::Action;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Authenticated;
use crate::error::{ApiError, blocking};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    title: String,
    #[serde(default)]
    document_type: Option<String>,
    /// Stages of steps; absent: the template of `document_type`.
    #[serde(default)]
    stages: Option<Vec<Vec<StepSpec>>>,
    #[serde(default)]
    file_name: Option<String>,
    /// The PDF, base64.
    document: String,
    /// The outgoing letter the signed document becomes: `{registry, recipient, category?,
    /// confidentiality?}`.
    #[serde(default)]
    outgoing: Option<diwan_app::model::OutgoingSpec>,
}

/// Submits a PDF to a circuit of visas and signatures.
#[utoipa::path(post, path = "/api/v1/parapheur/documents", tag = "parapheur", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{title, document_type?, stages?: [[{kind: visa|signature, agent?: e-mail, unit?: code, role?}]], file_name?, document: base64 PDF, outgoing?: {registry, recipient, category?, confidentiality?}}`"),
    responses((status = 201, description = "the document: `{id, title, status, version, …, steps, history, yours}`"),
              (status = 422, description = "`invalid_circuit`, `circuit_required`, `not_a_pdf`, `invalid_input`", body = crate::error::Problem)))]
pub async fn submit(
    s: web::Data<Services>,
    who: Authenticated,
    body: web::Json<SubmitBody>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let b = body.into_inner();
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(b.document.trim())
        .map_err(|_| ApiError::bad_request("invalid_base64", "document is not base64"))?;
    let submission = Submission {
        title: b.title,
        document_type: b.document_type,
        stages: b.stages,
        file_name: b.file_name.unwrap_or_else(|| "document.pdf".to_owned()),
        pdf,
        outgoing: b.outgoing,
    };
    let view =
        blocking(move || diwan_app::parapheur::circuit::submit(&s, &who.0, submission)).await?;
    Ok(HttpResponse::Created().json(view))
}

/// The documents the caller submitted, newest first.
#[utoipa::path(get, path = "/api/v1/parapheur/documents", tag = "parapheur", security(("bearer" = [])),
    responses((status = 200, description = "`{items: [document]}`")))]
pub async fn submitted(
    s: web::Data<Services>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let items = blocking(move || diwan_app::parapheur::circuit::submitted(&s, &who.0)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// A document, its circuit and its history (its submitter, its participants, administrators).
#[utoipa::path(get, path = "/api/v1/parapheur/documents/{id}", tag = "parapheur", security(("bearer" = [])),
    params(("id" = String, Path, description = "the document id")),
    responses((status = 200, description = "the document"),
              (status = 404, description = "no such document visible to you", body = crate::error::Problem)))]
pub async fn get(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let view = blocking(move || diwan_app::parapheur::circuit::get(&s, &who.0, &id)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The document as it is now, with the signatures made so far.
#[utoipa::path(get, path = "/api/v1/parapheur/documents/{id}/pdf", tag = "parapheur", security(("bearer" = [])),
    params(("id" = String, Path, description = "the document id")),
    responses((status = 200, description = "the PDF", content_type = "application/pdf"),
              (status = 404, description = "no such document visible to you", body = crate::error::Problem)))]
pub async fn pdf(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let (name, bytes) =
        blocking(move || diwan_app::parapheur::circuit::pdf(&s, &who.0, &id)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            super::correspondences::attachment(&name),
        ))
        .body(bytes))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActBody {
    #[serde(default)]
    pin: Option<SecretString>,
    #[serde(default)]
    comment: Option<String>,
    /// For `send-back`: the stage (0-based) to open again.
    #[serde(default)]
    to_stage: Option<usize>,
}

/// Acts on the caller's pending step: `approve` (visa), `sign` (with `pin`), `reject` (with a
/// `comment`: the reason), `send-back` (`to_stage`, an earlier stage).
#[utoipa::path(post, path = "/api/v1/parapheur/documents/{id}/{action}", tag = "parapheur", security(("bearer" = [])),
    params(("id" = String, Path, description = "the document id"),
           ("action" = String, Path, description = "`approve`, `sign`, `reject` or `send-back`")),
    request_body(content = serde_json::Value, description = "`{pin?, comment?, to_stage?}`"),
    responses((status = 200, description = "the document as it now is"),
              (status = 403, description = "`not_your_step`, `wrong_pin`, `certificate_revoked`", body = crate::error::Problem),
              (status = 404, description = "no such document visible to you", body = crate::error::Problem),
              (status = 409, description = "`invalid_transition`, `state_changed`", body = crate::error::Problem),
              (status = 422, description = "`invalid_action`, `reason_required`, `pin_required`", body = crate::error::Problem)))]
pub async fn act(
    s: web::Data<Services>,
    who: Authenticated,
    path: web::Path<(String, String)>,
    body: Option<web::Json<ActBody>>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let (id, action) = path.into_inner();
    let b = body.map(web::Json::into_inner).unwrap_or_default();
    let action = match action.as_str() {
        "approve" => Action::Approve,
        "sign" => Action::Sign,
        "reject" => Action::Reject,
        "send-back" => Action::SendBack {
            to: b.to_stage.ok_or_else(|| {
                ApiError::bad_request("to_stage_required", "say which stage to send it back to")
            })?,
        },
        _ => return Err(diwan_app::AppError::not_found("action").into()),
    };
    let request = ActRequest {
        action,
        pin: b.pin,
        comment: b.comment,
    };
    let view =
        blocking(move || diwan_app::parapheur::circuit::act(&s, &who.0, &id, request)).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// The documents (ids) whose pending signature step is the caller's.
    documents: Vec<String>,
    pin: SecretString,
}

/// Batch signing: the caller's pending signature steps of 1 to 100 documents, one PIN entry.
/// A wrong PIN signs nothing; a document that cannot be signed (someone acted meanwhile, not
/// the caller's step) is reported with its code and the others are signed.
#[utoipa::path(post, path = "/api/v1/parapheur/sign", tag = "parapheur", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{documents: [id], pin}`"),
    responses((status = 200, description = "`{results: [{id, signed, status?, code?, detail?}]}`, in the order asked"),
              (status = 403, description = "`wrong_pin`, `certificate_revoked`", body = crate::error::Problem),
              (status = 422, description = "`invalid_batch`, `not_enrolled`", body = crate::error::Problem),
              (status = 503, description = "`tsa_unavailable`: the external time-stamping authority failed", body = crate::error::Problem)))]
pub async fn sign_batch(
    s: web::Data<Services>,
    who: Authenticated,
    body: web::Json<BatchBody>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let b = body.into_inner();
    let results = blocking(move || {
        diwan_app::parapheur::circuit::sign_batch(&s, &who.0, &b.documents, &b.pin)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "results": results })))
}

/// What waits for the caller: pending steps for them or for a role they hold, oldest first.
#[utoipa::path(get, path = "/api/v1/parapheur/queue", tag = "parapheur", security(("bearer" = [])),
    responses((status = 200, description = "`{items: [{document, step}]}`")))]
pub async fn queue(s: web::Data<Services>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let items = blocking(move || diwan_app::parapheur::circuit::queue(&s, &who.0)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// The circuit templates of the caller's administrations.
#[utoipa::path(get, path = "/api/v1/parapheur/templates", tag = "parapheur", security(("bearer" = [])),
    responses((status = 200, description = "`{items: [{id, administration_id, document_type, name, stages, updated_at}]}`")))]
pub async fn templates(
    s: web::Data<Services>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let items = blocking(move || diwan_app::parapheur::circuit::templates(&s, &who.0)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    name: String,
    stages: Vec<Vec<StepSpec>>,
}

/// Creates or replaces the circuit of a type of document (administrators).
#[utoipa::path(put, path = "/api/v1/parapheur/templates/{administration}/{document_type}", tag = "parapheur", security(("bearer" = [])),
    params(("administration" = String, Path, description = "the administration's code"),
           ("document_type" = String, Path, description = "the type of document")),
    request_body(content = serde_json::Value, description = "`{name, stages}`"),
    responses((status = 200, description = "the template"),
              (status = 403, description = "not an administrator of it", body = crate::error::Problem),
              (status = 422, description = "`invalid_circuit`, `invalid_input`", body = crate::error::Problem)))]
pub async fn put_template(
    s: web::Data<Services>,
    who: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<TemplateBody>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let (administration, document_type) = path.into_inner();
    let b = body.into_inner();
    let template = blocking(move || {
        diwan_app::parapheur::circuit::put_template(
            &s,
            &who.0,
            &administration,
            &document_type,
            &b.name,
            b.stages,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(template))
}

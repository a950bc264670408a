//! Handling moves on a correspondence (assign, reassign, forward, start, return, decline,
//! close) and the inbox by due date.

use actix_web::{HttpResponse, web};
use diwan_app::Services;
use diwan_app::workflow::{
    AssignRequest, DeclineRequest, ForwardRequest, InboxQuery, NoteRequest, ReassignRequest,
};
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::error::{ApiError, blocking};

/// An optional `{comment}` body: empty, or JSON with no other field.
fn note(body: &[u8]) -> Result<NoteRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(NoteRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))
}

/// Runs one move on a blocking thread and answers with the correspondence as it now is.
async fn moved<B: Send + 'static>(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: B,
    run: fn(
        &Services,
        &diwan_app::access::Actor,
        &str,
        &B,
    ) -> Result<diwan_app::model::Correspondence, diwan_app::AppError>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let id = id.into_inner();
    let c = blocking(move || run(&s, &who.0, &id, &body)).await?;
    Ok(HttpResponse::Ok().json(c))
}

/// Assigns a registered (or returned) correspondence: one unit for action, others for
/// information or opinion. The registry's registrars and the heads above its unit may.
#[utoipa::path(post, path = "/api/v1/correspondences/{id}/assign", tag = "workflow", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{unit, agent?, also?: [{unit, purpose: information|opinion}], instructions?, due_date?: YYYY-MM-DD, comment?}` (unit: a unit code; agent: an e-mail; due date by default the category's legal deadline on the working-day calendar)"),
    responses((status = 200, description = "the correspondence, now `assigned`"),
              (status = 403, description = "not a registrar of its registry nor a head above it", body = crate::error::Problem),
              (status = 404, description = "none the caller may see", body = crate::error::Problem),
              (status = 409, description = "`invalid_transition` (its status does not allow it) or `state_changed`", body = crate::error::Problem),
              (status = 422, description = "unknown unit or agent, bad due date, duplicate unit", body = crate::error::Problem)))]
pub async fn assign(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    moved(s, who, id, body.into_inner(), diwan_app::workflow::assign).await
}

/// Hands the correspondence down: to a unit below the unit in charge, or to one of its agents.
/// The heads of the unit in charge (or above it) may.
#[utoipa::path(post, path = "/api/v1/correspondences/{id}/reassign", tag = "workflow", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{unit?, agent?, instructions?, due_date?, comment?}`"),
    responses((status = 200, description = "the correspondence, `assigned` to its new holder"),
              (status = 403, description = "not a head of the unit in charge", body = crate::error::Problem),
              (status = 409, description = "`invalid_transition` or `state_changed`", body = crate::error::Problem),
              (status = 422, description = "`not_below`, `unknown_agent`, `same_assignee`", body = crate::error::Problem)))]
pub async fn reassign(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<ReassignRequest>,
) -> Result<HttpResponse, ApiError> {
    moved(s, who, id, body.into_inner(), diwan_app::workflow::reassign).await
}

/// Forwards the correspondence to another unit of the same administration. The unit in
/// charge (its handlers and heads, or the agent holding it) may.
#[utoipa::path(post, path = "/api/v1/correspondences/{id}/forward", tag = "workflow", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{unit, instructions?, due_date?, comment?}`"),
    responses((status = 200, description = "the correspondence, `assigned` to the new unit"),
              (status = 403, description = "not of the unit in charge", body = crate::error::Problem),
              (status = 409, description = "`invalid_transition` or `state_changed`", body = crate::error::Problem),
              (status = 422, description = "`unknown_unit`, `same_unit`", body = crate::error::Problem)))]
pub async fn forward(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<ForwardRequest>,
) -> Result<HttpResponse, ApiError> {
    moved(s, who, id, body.into_inner(), diwan_app::workflow::forward).await
}

/// The unit in charge takes the correspondence up (`assigned` → `in_progress`).
#[utoipa::path(post, path = "/api/v1/correspondences/{id}/start", tag = "workflow", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{comment?}`"),
    responses((status = 200, description = "the correspondence, `in_progress`"),
              (status = 403, description = "not of the unit in charge", body = crate::error::Problem),
              (status = 409, description = "`invalid_transition` or `state_changed`", body = crate::error::Problem)))]
pub async fn start(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = note(&body)?;
    moved(s, who, id, body, diwan_app::workflow::start).await
}

/// The unit in charge returns the correspondence to the registry (→ `returned`).
#[utoipa::path(post, path = "/api/v1/correspondences/{id}/return", tag = "workflow", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{comment?}`"),
    responses((status = 200, description = "the correspondence, `returned`"),
              (status = 403, description = "not of the unit in charge", body = crate::error::Problem),
              (status = 409, description = "`invalid_transition` or `state_changed`", body = crate::error::Problem)))]
pub async fn give_back(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = note(&body)?;
    moved(s, who, id, body, diwan_app::workflow::return_to_registry).await
}

/// The unit in charge declines the assignment, with a reason (→ `returned`).
#[utoipa::path(post, path = "/api/v1/correspondences/{id}/decline", tag = "workflow", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{reason}`"),
    responses((status = 200, description = "the correspondence, `returned`"),
              (status = 403, description = "not of the unit in charge", body = crate::error::Problem),
              (status = 409, description = "`invalid_transition` (only before it is taken up) or `state_changed`", body = crate::error::Problem),
              (status = 422, description = "no reason", body = crate::error::Problem)))]
pub async fn decline(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<DeclineRequest>,
) -> Result<HttpResponse, ApiError> {
    moved(s, who, id, body.into_inner(), diwan_app::workflow::decline).await
}

/// The unit in charge closes the correspondence (from `in_progress` or `answered`).
#[utoipa::path(post, path = "/api/v1/correspondences/{id}/close", tag = "workflow", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{comment?}`"),
    responses((status = 200, description = "the correspondence, `closed`"),
              (status = 403, description = "not of the unit in charge", body = crate::error::Problem),
              (status = 409, description = "`invalid_transition` or `state_changed`", body = crate::error::Problem)))]
pub async fn close(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = note(&body)?;
    moved(s, who, id, body, diwan_app::workflow::close).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    pub unit: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// The open assignments of the units the caller works in (or of one of them), and those
/// handed to the caller, soonest due first; keyset-paginated.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "workflow", security(("bearer" = [])),
    params(("unit" = Option<String>, Query, description = "a unit code"), ("cursor" = Option<String>, Query, description = "`next_cursor` of the page before"), ("limit" = Option<usize>, Query, description = "1 to 50")),
    responses((status = 200, description = "`{items: [{assignment_id, unit_id, agent_id, purpose, due_date, assigned_at, status, summary}], next_cursor}`"),
              (status = 400, description = "bad cursor", body = crate::error::Problem),
              (status = 403, description = "not a unit the caller works in", body = crate::error::Problem)))]
pub async fn inbox(
    s: web::Data<Services>,
    who: Authenticated,
    params: web::Query<InboxParams>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let p = params.into_inner();
    let q = InboxQuery {
        unit: p.unit,
        cursor: p.cursor,
        limit: p.limit,
    };
    let page = blocking(move || diwan_app::workflow::inbox_by_due_date(&s, &who.0, &q)).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeParams {
    pub code: String,
}

/// The reply to a letter, for its depositor (with the letter's tracking code), when the reply
/// is addressed to them.
#[utoipa::path(get, path = "/api/v1/replies/{id}", tag = "workflow",
    params(("id" = String, Path, description = "the answered letter's id"), ("code" = String, Query, description = "its tracking code")),
    responses((status = 200, description = "`{id, registration_number, registered_at, subject, files}`"),
              (status = 404, description = "no reply for this letter and code", body = crate::error::Problem)))]
pub async fn reply(
    s: web::Data<Services>,
    id: web::Path<String>,
    q: web::Query<CodeParams>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let (id, code) = (id.into_inner(), q.into_inner().code);
    let r = blocking(move || diwan_app::workflow::depositor_reply(&s, &id, &code)).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// A file of that reply (always as an attachment).
#[utoipa::path(get, path = "/api/v1/replies/{id}/files/{file_id}", tag = "workflow",
    params(("id" = String, Path, description = "the answered letter's id"), ("file_id" = String, Path, description = "a file of the reply"), ("code" = String, Query, description = "the letter's tracking code")),
    responses((status = 200, description = "the file's bytes"),
              (status = 404, description = "no such reply or file for this code", body = crate::error::Problem)))]
pub async fn reply_file(
    s: web::Data<Services>,
    path: web::Path<(String, String)>,
    q: web::Query<CodeParams>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let ((id, file_id), code) = (path.into_inner(), q.into_inner().code);
    let d = blocking(move || diwan_app::workflow::depositor_reply_file(&s, &id, &code, &file_id))
        .await?;
    Ok(super::correspondences::file_response(&d.record, d.bytes))
}

/// The routing rules of a registry, in the order they are tried.
#[utoipa::path(get, path = "/api/v1/registries/{code}/routing-rules", tag = "workflow", security(("bearer" = [])),
    responses((status = 200, description = "`[{id, position, name, conditions: {category?, recipient_unit?, sender_territory?, keywords?}, target_unit_id, active}]`"),
              (status = 403, description = "not an admin of its administration, a head above it or its registrar", body = crate::error::Problem)))]
pub async fn rules(
    s: web::Data<Services>,
    who: Authenticated,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let code = code.into_inner();
    let r = blocking(move || diwan_app::workflow::rules(&s, &who.0, &code)).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Adds a routing rule. Conditions given must all hold; the first matching rule assigns.
#[utoipa::path(post, path = "/api/v1/registries/{code}/routing-rules", tag = "workflow", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{name, position?, category?, recipient_unit?, sender_territory?, keywords?: [..], target_unit?, active?}` (units by code; no target_unit: the unit whose territory is the sender's)"),
    responses((status = 201, description = "the rule"),
              (status = 403, description = "not an admin of its administration nor a head above it", body = crate::error::Problem),
              (status = 422, description = "bad field, unknown unit, too many rules", body = crate::error::Problem)))]
pub async fn create_rule(
    s: web::Data<Services>,
    who: Authenticated,
    code: web::Path<String>,
    body: web::Json<diwan_app::workflow::RuleRequest>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let (code, body) = (code.into_inner(), body.into_inner());
    let r = blocking(move || diwan_app::workflow::create_rule(&s, &who.0, &code, &body)).await?;
    Ok(HttpResponse::Created().json(r))
}

/// Replaces a routing rule.
#[utoipa::path(put, path = "/api/v1/registries/{code}/routing-rules/{id}", tag = "workflow", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "as for creating"),
    responses((status = 200, description = "the rule"), (status = 404, description = "no such rule", body = crate::error::Problem)))]
pub async fn update_rule(
    s: web::Data<Services>,
    who: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<diwan_app::workflow::RuleRequest>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let ((code, id), body) = (path.into_inner(), body.into_inner());
    let r =
        blocking(move || diwan_app::workflow::update_rule(&s, &who.0, &code, &id, &body)).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Deletes a routing rule.
#[utoipa::path(delete, path = "/api/v1/registries/{code}/routing-rules/{id}", tag = "workflow", security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such rule", body = crate::error::Problem)))]
pub async fn delete_rule(
    s: web::Data<Services>,
    who: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let (code, id) = path.into_inner();
    blocking(move || diwan_app::workflow::delete_rule(&s, &who.0, &code, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The delegations the caller gave or received.
#[utoipa::path(get, path = "/api/v1/delegations", tag = "workflow", security(("bearer" = [])),
    responses((status = 200, description = "`[{id, agent_id, substitute_id, starts_on, ends_on, created_at, revoked_at}]`")))]
pub async fn delegations(
    s: web::Data<Services>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let r = blocking(move || diwan_app::workflow::delegations(&s, &who.0)).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Names a substitute for a period: what is handed to the caller in person goes to them
/// meanwhile.
#[utoipa::path(post, path = "/api/v1/delegations", tag = "workflow", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{substitute: e-mail, starts_on, ends_on}` (dates inclusive, at most 366 days, from today)"),
    responses((status = 201, description = "the delegation"),
              (status = 409, description = "`overlapping_delegation`", body = crate::error::Problem),
              (status = 422, description = "`invalid_period`, `unknown_agent`, `invalid_substitute`", body = crate::error::Problem)))]
pub async fn delegate(
    s: web::Data<Services>,
    who: Authenticated,
    body: web::Json<diwan_app::workflow::DelegationRequest>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let body = body.into_inner();
    let r = blocking(move || diwan_app::workflow::delegate(&s, &who.0, &body)).await?;
    Ok(HttpResponse::Created().json(r))
}

/// Ends a delegation the caller gave.
#[utoipa::path(delete, path = "/api/v1/delegations/{id}", tag = "workflow", security(("bearer" = [])),
    responses((status = 204, description = "revoked"), (status = 404, description = "none of the caller's", body = crate::error::Problem)))]
pub async fn revoke_delegation(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let id = id.into_inner();
    blocking(move || diwan_app::workflow::revoke_delegation(&s, &who.0, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

//! Agent accounts (administrators).

use actix_web::{HttpResponse, web};
use diwan_app::Services;
use diwan_app::agents::{GrantSpec, NewAgentSpec};

use crate::auth::Authenticated;
use crate::error::{ApiError, blocking};

/// Lists agents (installation administrators).
#[utoipa::path(get, path = "/api/v1/admin/agents", tag = "agents", security(("bearer" = [])),
    responses((status = 200, description = "`[{id, email, display_name, active, grants}]`"), (status = 403, description = "not allowed", body = crate::error::Problem)))]
pub async fn list(s: web::Data<Services>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let agents = blocking(move || diwan_app::agents::list(&s, &who.0)).await?;
    Ok(HttpResponse::Ok().json(agents))
}

/// Creates an agent. The caller must administer every unit it grants a role on.
#[utoipa::path(post, path = "/api/v1/admin/agents", tag = "agents", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{email, display_name, password, grants: [{unit, role}]}`"),
    responses((status = 201, description = "the agent"), (status = 403, description = "not allowed", body = crate::error::Problem),
              (status = 409, description = "e-mail taken", body = crate::error::Problem)))]
pub async fn create(
    s: web::Data<Services>,
    who: Authenticated,
    body: web::Json<NewAgentSpec>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let spec = body.into_inner();
    let agent = blocking(move || diwan_app::agents::create(&s, &who.0, &spec)).await?;
    Ok(HttpResponse::Created().json(agent))
}

/// Grants a role on a unit.
#[utoipa::path(post, path = "/api/v1/admin/agents/{id}/grants", tag = "agents", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{unit, role}`"),
    responses((status = 200, description = "the agent"), (status = 403, description = "not allowed", body = crate::error::Problem)))]
pub async fn grant(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<GrantSpec>,
) -> Result<HttpResponse, ApiError> {
    set(s, who, id, body, true).await
}

/// Removes a role on a unit.
#[utoipa::path(delete, path = "/api/v1/admin/agents/{id}/grants", tag = "agents", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{unit, role}`"),
    responses((status = 200, description = "the agent"), (status = 403, description = "not allowed", body = crate::error::Problem)))]
pub async fn revoke(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<GrantSpec>,
) -> Result<HttpResponse, ApiError> {
    set(s, who, id, body, false).await
}

async fn set(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<GrantSpec>,
    present: bool,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let (id, g) = (id.into_inner(), body.into_inner());
    let agent =
        blocking(move || diwan_app::agents::set_grant(&s, &who.0, &id, &g, present)).await?;
    Ok(HttpResponse::Ok().json(agent))
}

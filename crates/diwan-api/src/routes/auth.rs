//! Login, logout and API tokens.

use actix_web::{HttpResponse, web};
use diwan_app::Services;
use secrecy_free::LoginBody;
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::error::{ApiError, blocking};

mod secrecy_free {
    /// Login credentials. The password is moved into a secret as soon as it is parsed.
    #[derive(serde::Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct LoginBody {
        pub email: String,
        pub password: String,
    }

    impl std::fmt::Debug for LoginBody {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("LoginBody")
                .field("email", &self.email)
                .finish_non_exhaustive()
        }
    }
}

/// Logs in with e-mail and password; returns a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, description = "`{id, token, expires_at}`"),
              (status = 401, description = "invalid credentials", body = crate::error::Problem)))]
pub async fn login(
    s: web::Data<Services>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let LoginBody { email, password } = body.into_inner();
    let password = diwan_app::auth::SecretString::from(password);
    let s = s.into_inner();
    let issued = blocking(move || diwan_app::auth::login(&s, &email, &password)).await?;
    Ok(HttpResponse::Ok().json(issued))
}

/// Revokes the token in use.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "revoked"), (status = 401, description = "no valid token", body = crate::error::Problem)))]
pub async fn logout(s: web::Data<Services>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    blocking(move || diwan_app::auth::revoke_token(&s, &who.0, None)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The calling agent and their grants.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "`{agent_id, email, grants}`"), (status = 401, description = "no valid token", body = crate::error::Problem)))]
pub async fn me(who: Authenticated) -> HttpResponse {
    let a = who.0;
    HttpResponse::Ok()
        .json(serde_json::json!({ "agent_id": a.agent_id, "email": a.email, "grants": a.grants }))
}

/// The caller's tokens (without their secrets).
#[utoipa::path(get, path = "/api/v1/auth/tokens", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "list of tokens"), (status = 401, description = "no valid token", body = crate::error::Problem)))]
pub async fn list_tokens(
    s: web::Data<Services>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let tokens = blocking(move || diwan_app::auth::list_tokens(&s, &who.0)).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    /// What the token is for (the system that uses it).
    pub name: String,
    /// Lifetime in days (1 to 366 by default).
    pub expires_in_days: u32,
}

/// Creates an API token acting as the caller, for a system; the secret is shown once.
#[utoipa::path(post, path = "/api/v1/auth/tokens", tag = "auth", security(("bearer" = [])), request_body = NewTokenBody,
    responses((status = 201, description = "`{id, token, expires_at}`"), (status = 422, description = "invalid", body = crate::error::Problem)))]
pub async fn create_token(
    s: web::Data<Services>,
    who: Authenticated,
    body: web::Json<NewTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let body = body.into_inner();
    let issued = blocking(move || {
        diwan_app::auth::create_api_token(&s, &who.0, &body.name, body.expires_in_days)
    })
    .await?;
    Ok(HttpResponse::Created().json(issued))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "revoked"), (status = 404, description = "no such live token", body = crate::error::Problem)))]
pub async fn revoke_token(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let id = id.into_inner();
    blocking(move || diwan_app::auth::revoke_token(&s, &who.0, Some(&id))).await?;
    Ok(HttpResponse::NoContent().finish())
}

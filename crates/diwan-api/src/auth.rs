//! The `Authenticated` extractor: a bearer token turned into an `Actor`, or 401.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use diwan_app::access::Actor;
use diwan_app::{AppError, Services};

use crate::error::{ApiError, blocking};

/// The authenticated agent of a request.
#[derive(Debug)]
pub struct Authenticated(pub Actor);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let services = req.app_data::<web::Data<Services>>().cloned();
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|v| v.trim().to_owned());
        Box::pin(async move {
            let services =
                services.ok_or_else(|| ApiError(AppError::Internal("no services".into())))?;
            let bearer = bearer.ok_or_else(|| ApiError(AppError::unauthenticated()))?;
            let actor = blocking(move || diwan_app::auth::authenticate(&services, &bearer)).await?;
            Ok(Self(actor))
        })
    }
}

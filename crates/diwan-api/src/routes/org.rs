//! The organisation and the registries.

use actix_web::{HttpResponse, web};
use diwan_app::Services;
use diwan_app::access::{may_administer_installation, may_list, may_register};
use diwan_app::org::OrgSpec;
use serde::Serialize;

use crate::auth::Authenticated;
use crate::error::{ApiError, blocking};

#[derive(Debug, Serialize)]
struct RegistryView {
    id: String,
    code: String,
    name_ar: String,
    name_fr: String,
    unit_id: String,
    numbering_format: String,
    /// The caller may register into it.
    may_register: bool,
    /// The caller may list its register.
    may_list: bool,
}

/// The registries the caller may use (register into or list).
#[utoipa::path(get, path = "/api/v1/registries", tag = "organisation", security(("bearer" = [])),
    responses((status = 200, description = "`[{id, code, name_ar, name_fr, unit_id, numbering_format, may_register, may_list}]`"),
              (status = 401, description = "no valid token", body = crate::error::Problem)))]
pub async fn registries(
    s: web::Data<Services>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let list = blocking(move || {
        let org = diwan_app::org::org_tree(&s)?;
        Ok(s.store
            .registries()?
            .into_iter()
            .filter_map(|r| {
                let listable = may_list(&who.0, &org, &r).is_ok();
                let registrable = may_register(&who.0, r.clone()).is_ok();
                (listable || registrable).then(|| RegistryView {
                    id: r.id,
                    code: r.code.to_string(),
                    name_ar: r.name_ar,
                    name_fr: r.name_fr,
                    unit_id: r.unit_id,
                    numbering_format: r.numbering_format.as_str().to_owned(),
                    may_register: registrable,
                    may_list: listable,
                })
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// The whole organisation: administrations, units, registries.
#[utoipa::path(get, path = "/api/v1/org", tag = "organisation", security(("bearer" = [])),
    responses((status = 200, description = "`{administrations, units, registries}`"), (status = 401, description = "no valid token", body = crate::error::Problem)))]
pub async fn overview(
    s: web::Data<Services>,
    _who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let view = blocking(move || diwan_app::org::overview(&s)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Loads administrations, units and registries (idempotent; keyed by code). Installation
/// administrators only.
#[utoipa::path(put, path = "/api/v1/admin/org", tag = "organisation", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{administrations: [{code, name_ar, name_fr, units: [{code, parent, level, territory_code, name_ar, name_fr, registries: [{code, name_ar, name_fr, numbering_format}]}]}]}`"),
    responses((status = 200, description = "`{administrations, units, registries}` counts"), (status = 403, description = "not an installation administrator", body = crate::error::Problem)))]
pub async fn import(
    s: web::Data<Services>,
    who: Authenticated,
    spec: web::Json<OrgSpec>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let spec = spec.into_inner();
    let report = blocking(move || {
        let permit = may_administer_installation(&who.0)?;
        diwan_app::org::import(&s, &permit, &spec)
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

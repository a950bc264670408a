//! Indicators for managers (`GET /api/v1/indicators`), as JSON or CSV.

use actix_web::{HttpResponse, web};
use diwan_app::Services;
use diwan_app::indicators::{IndicatorQuery, indicators, to_csv};
use diwan_domain::indicators::PeriodKind;
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::error::{ApiError, blocking};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorParams {
    pub administration: Option<String>,
    pub unit: Option<String>,
    pub subunits: Option<bool>,
    pub territory: Option<String>,
    pub period: Option<String>,
    pub date: Option<String>,
    pub format: Option<String>,
}

impl IndicatorParams {
    pub fn query(self) -> Result<(IndicatorQuery, bool), ApiError> {
        let period = self
            .period
            .as_deref()
            .map(|p| {
                PeriodKind::parse(p).ok_or_else(|| {
                    ApiError::bad_request("invalid_period", "period is day, week, month or year")
                })
            })
            .transpose()?;
        let date = self
            .date
            .as_deref()
            .map(|d| {
                d.parse()
                    .map_err(|_| ApiError::bad_request("invalid_date", "date is a day, YYYY-MM-DD"))
            })
            .transpose()?;
        let csv = super::wants_csv(self.format.as_deref())?;
        Ok((
            IndicatorQuery {
                administration: self.administration,
                unit: self.unit,
                subunits: self.subunits.unwrap_or(false),
                territory: self.territory,
                period,
                date,
            },
            csv,
        ))
    }
}

/// The indicators of an administration or a unit for a period, with the drill-down one level
/// below; the caller must be allowed to see every unit they cover.
#[utoipa::path(get, path = "/api/v1/indicators", tag = "indicators", security(("bearer" = [])),
    params(("administration" = Option<String>, Query, description = "an administration code (or `unit`)"),
           ("unit" = Option<String>, Query, description = "a unit code"),
           ("subunits" = Option<bool>, Query, description = "with the unit's sub-units"),
           ("territory" = Option<String>, Query, description = "only units of this territory (or below it)"),
           ("period" = Option<String>, Query, description = "`day`, `week`, `month` (default) or `year`"),
           ("date" = Option<String>, Query, description = "a day in the period, YYYY-MM-DD (default: today)"),
           ("format" = Option<String>, Query, description = "`json` (default) or `csv`")),
    responses((status = 200, description = "`{scope, subunits, territory?, period: {kind, first, last, from, to}, totals, lines: [{unit, own, has_subunits, received, sent, backlog, overdue, answered, median_seconds, p90_seconds, on_time_share, by_channel, by_category}]}`, or CSV"),
              (status = 403, description = "a unit the caller may not see", body = crate::error::Problem),
              (status = 404, description = "no such administration or unit", body = crate::error::Problem),
              (status = 422, description = "`invalid_query`", body = crate::error::Problem)))]
pub async fn get(
    s: web::Data<Services>,
    who: Authenticated,
    params: web::Query<IndicatorParams>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let (q, csv) = params.into_inner().query()?;
    let report = blocking(move || indicators(&s, &who.0, &q)).await?;
    if csv {
        return Ok(super::csv_download(
            HttpResponse::Ok(),
            "indicators.csv",
            to_csv(&report),
        ));
    }
    Ok(HttpResponse::Ok().json(report))
}

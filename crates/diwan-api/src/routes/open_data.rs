//! The public aggregates (`GET /api/v1/open-data`), as JSON or CSV.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use diwan_app::Services;
use diwan_app::open_data::{OpenDataQuery, publication, to_csv};
use serde::Deserialize;

use crate::error::{ApiError, blocking};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenDataParams {
    pub format: Option<String>,
    pub month: Option<String>,
    pub administration: Option<String>,
}

impl OpenDataParams {
    /// The query, and whether CSV is asked.
    pub fn query(self) -> Result<(OpenDataQuery, bool), ApiError> {
        let csv = super::wants_csv(self.format.as_deref())?;
        let bounded = |v: Option<String>, what: &str| match v {
            Some(v) if v.len() > 64 => Err(ApiError::bad_request(
                "invalid_query",
                format!("{what} is too long"),
            )),
            v => Ok(v.filter(|v| !v.trim().is_empty())),
        };
        Ok((
            OpenDataQuery {
                month: bounded(self.month, "month")?,
                administration: bounded(self.administration, "administration")?,
            },
            csv,
        ))
    }
}

/// Published aggregates of incoming mail per administration, month, category and channel:
/// letters received and answered, median processing time, share on time. Counts below the
/// threshold are withheld; a month is published once it has ended and never changes after.
#[utoipa::path(get, path = "/api/v1/open-data", tag = "open data",
    params(("format" = Option<String>, Query, description = "`json` (default) or `csv`"),
           ("month" = Option<String>, Query, description = "one month, YYYY-MM (default: every published month)"),
           ("administration" = Option<String>, Query, description = "one administration's code")),
    responses((status = 200, description = "`{generated_at, time_zone, threshold, months, cells: [{month, administration_code, administration_name_ar, administration_name_fr, category, channel, received, answered, median_delay_days, on_time_share, suppressed}], dictionary: [{name, type, description_ar, description_fr, description_en}]}`, or CSV with the same columns (without `suppressed`)"),
              (status = 400, description = "`invalid_format`, `invalid_query`", body = crate::error::Problem),
              (status = 404, description = "no such administration", body = crate::error::Problem),
              (status = 422, description = "`invalid_month`", body = crate::error::Problem)))]
pub async fn get(
    s: web::Data<Services>,
    params: web::Query<OpenDataParams>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let (q, csv) = params.into_inner().query()?;
    let p = blocking(move || publication(&s, &q)).await?;
    let mut res = HttpResponse::Ok();
    res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"));
    if csv {
        return Ok(super::csv_download(res, "diwan-open-data.csv", to_csv(&p)));
    }
    Ok(res.json(p))
}

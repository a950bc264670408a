//! The public open data page (`/open-data`): one published month of the aggregates of
//! incoming mail (`diwan_app::open_data`), chosen in a GET form by month and administration,
//! as a table; the downloads (`GET /api/v1/open-data`, CSV and JSON) of the whole publication
//! and of the selection; the data dictionary. No login, no script.
//!
//! A withheld figure (below the threshold) is an em dash with the word "withheld" for screen
//! readers; a figure that does not apply (no deadline known) is a dash with its own word. Each
//! figure also carries its raw value in `data-value`, written as the API's JSON writes it.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diwan_app::AppError;
use diwan_app::open_data::{OpenDataQuery, Publication, PublishedCell, publication};
use fluent_bundle::FluentValue;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Area, bdi};
use super::{Ctx, Lang, encode, error_message, pick, run, status_of};

/// The longest value of `month` or `administration` looked at.
const MAX_PARAM: usize = 64;

/// The query string (`lang` is the context's).
#[derive(Debug, Default, Deserialize)]
struct Params {
    month: Option<String>,
    administration: Option<String>,
}

fn given(v: Option<String>) -> Option<String> {
    v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The query asked, bounded.
fn query_of(req: &HttpRequest) -> Result<OpenDataQuery, AppError> {
    let bad_month = || AppError::unprocessable("invalid_month", "month is YYYY-MM");
    let p = web::Query::<Params>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| bad_month())?;
    let (month, administration) = (given(p.month), given(p.administration));
    if month.as_ref().is_some_and(|m| m.len() > MAX_PARAM) {
        return Err(bad_month());
    }
    if administration.as_ref().is_some_and(|a| a.len() > MAX_PARAM) {
        return Err(AppError::not_found("administration"));
    }
    Ok(OpenDataQuery {
        month,
        administration,
    })
}

/// What the page shows: the publication of the month asked (every month when none is), for
/// every administration, and the cells of the administration asked, if one is.
struct Loaded {
    all: Publication,
    chosen: Option<Vec<PublishedCell>>,
}

/// `GET /open-data`.
pub async fn page(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let s = ctx.services();
    let asked = query_of(&req);
    let loaded = run(move || {
        let mut q = asked?;
        // The latest month unless one is asked.
        if q.month.is_none() {
            q.month = diwan_app::open_data::months(&s)?.pop();
        }
        let all = publication(
            &s,
            &OpenDataQuery {
                month: q.month.clone(),
                administration: None,
            },
        )?;
        let chosen = match &q.administration {
            Some(_) => Some(publication(&s, &q)?.cells),
            None => None,
        };
        Ok((q, Loaded { all, chosen }))
    })
    .await;
    let title = ctx.t("open-data-title");
    match loaded {
        Ok((q, loaded)) => {
            let body = view(&ctx, &q, &loaded);
            ctx.html(
                StatusCode::OK,
                layout::page(&ctx, Area::Citizen, &title, None, body),
            )
        }
        Err(e) => {
            let message = match &e {
                AppError::Rejected {
                    code: "not_found", ..
                } => ctx.t("open-data-unknown-administration"),
                _ => error_message(&ctx, &e),
            };
            let body = html! {
                (layout::notice("error", &message))
                p { a id="open-data-latest" href="/open-data" { (ctx.t("open-data-latest")) } }
                (explanation(&ctx, None))
            };
            ctx.html(
                status_of(&e),
                layout::page(&ctx, Area::Citizen, &title, None, body),
            )
        }
    }
}

/// The selection: the month shown (the latest published when none is asked), a line of the
/// administration asked (for its code and name, as published), the month's lines shown.
struct Selection<'a> {
    month: Option<String>,
    administration: Option<&'a PublishedCell>,
    rows: Vec<&'a PublishedCell>,
    /// The administrations of the month: code and name in the page's language.
    options: Vec<(String, String)>,
}

fn select<'a>(ctx: &Ctx, q: &OpenDataQuery, loaded: &'a Loaded) -> Selection<'a> {
    let month = q
        .month
        .clone()
        .or_else(|| loaded.all.months.iter().max().cloned());
    let in_month = |c: &&PublishedCell| Some(&c.month) == month.as_ref();
    let mut options: BTreeMap<String, (String, String)> = BTreeMap::new();
    for c in loaded.all.cells.iter().filter(in_month) {
        let name = admin_name(ctx, c);
        options.insert(
            format!("{name}\u{0}{}", c.administration_code),
            (c.administration_code.clone(), name),
        );
    }
    let mut rows: Vec<&PublishedCell> = match &loaded.chosen {
        Some(cells) => cells.iter().filter(in_month).collect(),
        None => loaded.all.cells.iter().filter(in_month).collect(),
    };
    rows.sort_by_cached_key(|c| {
        (
            admin_name(ctx, c),
            c.administration_code.clone(),
            c.category.is_none(),
            c.category.clone(),
            channel_rank(&c.channel),
        )
    });
    // Any line of the administration asked names it, even of another month.
    let administration = loaded.chosen.as_ref().and_then(|c| c.first());
    Selection {
        month,
        administration,
        rows,
        options: options.into_values().collect(),
    }
}

fn view(ctx: &Ctx, q: &OpenDataQuery, loaded: &Loaded) -> Markup {
    let p = &loaded.all;
    let sel = select(ctx, q, loaded);
    let published = sel.month.as_ref().is_some_and(|m| p.months.contains(m));
    // The administration asked, as published (or as typed when it has no line this month).
    let code = sel
        .administration
        .map(|c| c.administration_code.clone())
        .or_else(|| q.administration.clone());
    html! {
        (explanation(ctx, Some(p)))
        @if p.months.is_empty() {
            p id="open-data-nothing" class="notice notice-info" role="status" { (ctx.t("open-data-nothing")) }
        } @else {
            (filters(ctx, p, &sel, code.as_deref()))
            @if let (Some(month), false) = (&sel.month, published) {
                p id="open-data-unpublished" class="notice notice-info" role="status" {
                    (ctx.ta("open-data-unpublished", &[("month", FluentValue::from(month_label(ctx, month)))]))
                }
            } @else {
                (table(ctx, p, &sel))
            }
        }
        (downloads(ctx, sel.month.as_deref().filter(|_| published), code.as_deref()))
        (dictionary(ctx, p))
    }
}

/// What is published and how, the threshold and the time zone (the default ones when the
/// publication could not be read).
fn explanation(ctx: &Ctx, p: Option<&Publication>) -> Markup {
    let settings = &ctx.services().settings;
    let threshold = p.map_or(settings.open_data.threshold, |p| p.threshold);
    let zone = p.map_or_else(
        || settings.time_zone.name().to_owned(),
        |p| p.time_zone.clone(),
    );
    html! {
        p class="lead" { (ctx.t("open-data-lead")) }
        ul id="open-data-rules" {
            li { (ctx.t("open-data-monthly")) }
            li id="open-data-threshold" {
                (ctx.ta("open-data-threshold", &[("n", FluentValue::from(threshold))]))
            }
            li { (ctx.t("open-data-no-totals")) }
            li id="open-data-zone" {
                (ctx.t("open-data-time-zone")) " " bdi dir="ltr" { code { (zone) } }
            }
        }
    }
}

/// The GET form: the month and the administration.
fn filters(ctx: &Ctx, p: &Publication, sel: &Selection<'_>, code: Option<&str>) -> Markup {
    let is_chosen = |c: &str| code.is_some_and(|code| code.eq_ignore_ascii_case(c));
    let missing = code
        .filter(|c| !sel.options.iter().any(|(o, _)| o.eq_ignore_ascii_case(c)))
        .map(|c| match sel.administration {
            Some(a) => format!("{} ({c})", admin_name(ctx, a)),
            None => c.to_owned(),
        });
    html! {
        form id="open-data-filters" method="get" action="/open-data" class="open-data-filters" {
            fieldset {
                legend { (ctx.t("open-data-filters")) }
                div class="fields" {
                    div class="field" {
                        label for="month" { (ctx.t("open-data-month")) }
                        select id="month" name="month" {
                            @for m in p.months.iter().rev() {
                                option value=(m) selected[sel.month.as_ref() == Some(m)] { (month_label(ctx, m)) }
                            }
                        }
                    }
                    div class="field" {
                        label for="administration" { (ctx.t("open-data-administration")) }
                        select id="administration" name="administration" {
                            option value="" selected[code.is_none()] { (ctx.t("open-data-all-administrations")) }
                            @for (value, name) in &sel.options {
                                option value=(value) selected[is_chosen(value)] { (name) " (" (value) ")" }
                            }
                            @if let (Some(c), Some(label)) = (code, &missing) {
                                option value=(c) selected { (label) }
                            }
                        }
                    }
                    button type="submit" class="primary" { (ctx.t("open-data-show")) }
                }
            }
        }
    }
}

/// The month's table, or why it has no line.
fn table(ctx: &Ctx, p: &Publication, sel: &Selection<'_>) -> Markup {
    let Some(month) = &sel.month else {
        return html! {};
    };
    let mut caption = ctx.ta(
        "open-data-caption",
        &[("month", FluentValue::from(month_label(ctx, month)))],
    );
    if let Some(a) = sel.administration {
        caption = format!("{caption} — {}", admin_name(ctx, a));
    }
    let heads = ["received", "answered", "median_delay_days", "on_time_share"];
    html! {
        section aria-labelledby="open-data-caption" {
            @if sel.rows.is_empty() {
                h2 id="open-data-caption" { (caption) }
                p id="open-data-empty" class="notice notice-info" role="status" { (ctx.t("open-data-empty")) }
            } @else {
                div class="table-wrap" role="region" tabindex="0" aria-labelledby="open-data-caption" {
                    table id="open-data-table" {
                        caption id="open-data-caption" { (caption) }
                        thead { tr {
                            th scope="col" { (ctx.t("open-data-col-administration")) }
                            th scope="col" { (ctx.t("open-data-col-category")) }
                            th scope="col" { (ctx.t("open-data-col-channel")) }
                            @for h in heads {
                                th scope="col" class="num" { (ctx.t(&format!("open-data-col-{}", h.replace('_', "-")))) }
                            }
                        } }
                        tbody {
                            @for c in &sel.rows {
                                tr data-administration=(c.administration_code)
                                    data-category=(c.category.as_deref().unwrap_or_default())
                                    data-channel=(c.channel) {
                                    th scope="row" { (bdi(&admin_name(ctx, c))) }
                                    td { (category(ctx, c)) }
                                    td { (channel_name(ctx, &c.channel)) }
                                    (figure(ctx, c, "received", c.received.map(|v| v.to_string()), c.received.map(|v| v.to_string())))
                                    (figure(ctx, c, "answered", c.answered.map(|v| v.to_string()), c.answered.map(|v| v.to_string())))
                                    (figure(ctx, c, "median_delay_days", c.median_delay_days.map(|v| format!("{v:?}")), c.median_delay_days.map(|v| decimal(ctx, v, 1))))
                                    (figure(ctx, c, "on_time_share", c.on_time_share.map(|v| format!("{v:?}")), c.on_time_share.map(|v| percent(ctx, v))))
                                }
                            }
                        }
                    }
                }
                p id="open-data-legend" class="hint" {
                    (ctx.ta("open-data-legend", &[("n", FluentValue::from(p.threshold))]))
                }
            }
        }
    }
}

/// One figure: its text, or a dash with why there is none (withheld, or not applicable).
fn figure(
    ctx: &Ctx,
    c: &PublishedCell,
    field: &str,
    raw: Option<String>,
    text: Option<String>,
) -> Markup {
    let withheld = c.suppressed.contains(&field);
    html! {
        td class=(if withheld { "num withheld" } else { "num" }) data-field=(field)
            data-value=[raw.as_deref()] data-withheld=[withheld.then_some("true")] {
            @match text {
                Some(t) => bdi dir="ltr" { (t) },
                None => {
                    span aria-hidden="true" { "—" }
                    span class="visually-hidden" {
                        (ctx.t(if withheld { "open-data-withheld" } else { "open-data-not-applicable" }))
                    }
                }
            }
        }
    }
}

/// The downloads: the whole publication, and the selection.
fn downloads(ctx: &Ctx, month: Option<&str>, administration: Option<&str>) -> Markup {
    let api = "/api/v1/open-data";
    let selection = month.map(|m| {
        let mut q = format!("month={}", encode(m));
        if let Some(a) = administration {
            q.push_str(&format!("&administration={}", encode(a)));
        }
        q
    });
    html! {
        section aria-labelledby="open-data-downloads" {
            h2 id="open-data-downloads" { (ctx.t("open-data-downloads")) }
            ul class="downloads" {
                li { a id="download-csv" href=(format!("{api}?format=csv")) type="text/csv" download { (ctx.t("open-data-csv-all")) } }
                li { a id="download-json" href=(format!("{api}?format=json")) type="application/json" { (ctx.t("open-data-json-all")) } }
                @if let Some(q) = &selection {
                    li { a id="download-selection-csv" href=(format!("{api}?format=csv&{q}")) type="text/csv" download { (ctx.t("open-data-csv-selection")) } }
                    li { a id="download-selection-json" href=(format!("{api}?format=json&{q}")) type="application/json" { (ctx.t("open-data-json-selection")) } }
                }
            }
            p class="hint" { (ctx.t("open-data-csv-hint")) }
        }
    }
}

/// The data dictionary, in the page's language.
fn dictionary(ctx: &Ctx, p: &Publication) -> Markup {
    html! {
        section aria-labelledby="open-data-dictionary" {
            h2 id="open-data-dictionary" { (ctx.t("open-data-dictionary")) }
            div class="table-wrap" role="region" tabindex="0" aria-labelledby="open-data-dictionary" {
                table id="open-data-fields" {
                    caption class="visually-hidden" { (ctx.t("open-data-dictionary")) }
                    thead { tr {
                        th scope="col" { (ctx.t("open-data-field")) }
                        th scope="col" { (ctx.t("open-data-type")) }
                        th scope="col" { (ctx.t("open-data-description")) }
                    } }
                    tbody {
                        @for f in p.dictionary {
                            tr {
                                th scope="row" { bdi dir="ltr" { code { (f.name) } } }
                                td { (field_type(ctx, f.name, f.kind)) }
                                td { (pick(ctx, f.description_ar, f.description_fr, Some(f.description_en))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

// --- words and numbers ------------------------------------------------------------------------

/// The administration's name in the page's language (French for English: there is no other).
fn admin_name(ctx: &Ctx, c: &PublishedCell) -> String {
    pick(
        ctx,
        &c.administration_name_ar,
        &c.administration_name_fr,
        None,
    )
}

fn category(ctx: &Ctx, c: &PublishedCell) -> Markup {
    match &c.category {
        Some(name) => html! { bdi dir="ltr" { code { (name) } } },
        None => html! { (ctx.t("open-data-category-none")) },
    }
}

fn channel_name(ctx: &Ctx, channel: &str) -> String {
    let id = format!("channel-{channel}");
    if super::i18n::has(ctx.lang, &id) {
        ctx.t(&id)
    } else {
        channel.to_owned()
    }
}

fn channel_rank(channel: &str) -> (usize, String) {
    let known = ["portal", "counter", "email", "exchange"];
    (
        known
            .iter()
            .position(|c| *c == channel)
            .unwrap_or(known.len()),
        channel.to_owned(),
    )
}

/// A type of the dictionary in the page's language; as published when it has no translation.
fn field_type(ctx: &Ctx, name: &str, kind: &str) -> String {
    let id = format!("open-data-type-{}", name.replace('_', "-"));
    if super::i18n::has(ctx.lang, &id) {
        ctx.t(&id)
    } else {
        kind.to_owned()
    }
}

/// `YYYY-MM` as the month's name and year.
fn month_label(ctx: &Ctx, month: &str) -> String {
    let Some((year, m)) = month.split_once('-') else {
        return month.to_owned();
    };
    match m.parse::<u8>() {
        Ok(m @ 1..=12) => ctx.ta(
            "open-data-month-label",
            &[
                (
                    "name",
                    FluentValue::from(ctx.t(&format!("open-data-month-{m}"))),
                ),
                ("year", FluentValue::from(year.to_owned())),
            ],
        ),
        _ => month.to_owned(),
    }
}

/// A decimal with `places` digits after the separator of the page's language.
fn decimal(ctx: &Ctx, v: f64, places: usize) -> String {
    let text = format!("{v:.places$}");
    match ctx.lang {
        Lang::En => text,
        Lang::Ar | Lang::Fr => text.replace('.', ","),
    }
}

/// A share as a percentage, with one decimal when it has one.
fn percent(ctx: &Ctx, share: f64) -> String {
    let p = share * 100.0;
    let places = if (p - p.round()).abs() < 1e-6 { 0 } else { 1 };
    ctx.ta(
        "open-data-percent",
        &[("n", FluentValue::from(decimal(ctx, p, places)))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_in_a_fixed_order() {
        let mut channels = vec!["exchange", "other", "portal", "email", "counter"];
        channels.sort_by_key(|c| channel_rank(c));
        assert_eq!(
            channels,
            ["portal", "counter", "email", "exchange", "other"]
        );
    }
}

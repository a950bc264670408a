//! The managers' dashboard (`/office/indicators`): a scope, a territory and a period chosen in
//! a GET form (the parameters of `GET /api/v1/indicators`), the headline figures, two bar
//! charts drawn here as inline SVG, each beside the table of its data, and the drill-down one
//! level below, with CSV exports (`/office/indicators.csv`, `table=channel` for the channels).
//!
//! The charts need no script and no style attribute (the CSP forbids both): colours come from
//! the stylesheet's classes. On Arabic pages they are laid out from the right.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diwan_app::AppError;
use diwan_app::access::Actor;
use diwan_app::cache::OrgSnapshot;
use diwan_app::indicators::{Figures, IndicatorQuery, IndicatorReport, Line, indicators, to_csv};
use diwan_domain::Role;
use diwan_domain::indicators::PeriodKind;
use fluent_bundle::FluentValue;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Area, bdi, page};
use super::office::{agent, error_page};
use super::{Ctx, Lang, encode, pick, run};

/// The query string: the API's parameters, and `scope` (`unit:CODE` or `administration:CODE`)
/// from the form's select, which wins over `unit` and `administration`.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    scope: Option<String>,
    administration: Option<String>,
    unit: Option<String>,
    subunits: Option<String>,
    territory: Option<String>,
    period: Option<String>,
    date: Option<String>,
    /// For the CSV: `channel` for the channels' table, the drill-down otherwise.
    table: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn invalid(detail: &str) -> AppError {
    AppError::unprocessable("invalid_query", detail.to_owned())
}

/// The query asked, or the agent's default scope (their first unit, with its sub-units for a
/// head or an auditor; an installation auditor's first administration); `None` without one.
fn query_of(
    p: &Params,
    actor: &Actor,
    org: &OrgSnapshot,
) -> Result<Option<IndicatorQuery>, AppError> {
    let period = match given(&p.period) {
        Some(k) => Some(
            PeriodKind::parse(&k).ok_or_else(|| invalid("period is day, week, month or year"))?,
        ),
        None => None,
    };
    let date = match given(&p.date) {
        Some(d) => Some(
            d.parse()
                .map_err(|_| invalid("date is a day, YYYY-MM-DD"))?,
        ),
        None => None,
    };
    let subunits = given(&p.subunits).is_some_and(|v| matches!(v.as_str(), "true" | "on" | "1"));
    let (administration, unit, subunits) =
        match given(&p.scope).as_deref().map(|s| s.split_once(':')) {
            Some(Some(("unit", code))) => (None, Some(code.to_owned()), subunits),
            Some(Some(("administration", code))) => (Some(code.to_owned()), None, true),
            Some(_) => return Err(invalid("scope is unit:CODE or administration:CODE")),
            None => match (given(&p.administration), given(&p.unit)) {
                (None, None) => match default_scope(actor, org) {
                    Some(d) => d,
                    None => return Ok(None),
                },
                (a, u) => (a, u, subunits),
            },
        };
    Ok(Some(IndicatorQuery {
        administration,
        unit,
        subunits,
        territory: given(&p.territory),
        period,
        date,
    }))
}

type Scope = (Option<String>, Option<String>, bool);

fn default_scope(actor: &Actor, org: &OrgSnapshot) -> Option<Scope> {
    let first = actor.grants.iter().find_map(|g| {
        let unit = org.unit(g.unit_id.as_deref()?)?;
        let wide = matches!(g.role, Role::Head | Role::Auditor);
        Some((None, Some(unit.code.to_string()), wide))
    });
    first.or_else(|| {
        let a = org
            .administrations
            .first()
            .filter(|_| diwan_app::indicators::sees_everything(actor))?;
        Some((Some(a.code.to_string()), None, true))
    })
}

/// The scopes the form offers: what the agent may see (the use case checks again).
fn scope_options(ctx: &Ctx, actor: &Actor, org: &OrgSnapshot) -> Vec<(String, String)> {
    let everything = diwan_app::indicators::sees_everything(actor);
    let mut out = Vec::new();
    if everything {
        for a in &org.administrations {
            let name = pick(ctx, &a.name_ar, &a.name_fr, a.name_en.as_deref());
            out.push((
                format!("administration:{}", a.code),
                format!("{name} ({})", a.code),
            ));
        }
    }
    let seen = diwan_app::indicators::visible(actor, org);
    for u in org.units.iter().filter(|u| seen.contains(&u.id)) {
        let name = pick(ctx, &u.name_ar, &u.name_fr, u.name_en.as_deref());
        out.push((format!("unit:{}", u.code), format!("{name} ({})", u.code)));
    }
    out
}

/// The dashboard's or the CSV's address for a query (`scope` given as `unit` or
/// `administration`), the period pinned to the report's.
fn address(path: &str, r: &IndicatorReport, unit: Option<&str>, extra: &str) -> String {
    let mut q = match unit {
        Some(code) => format!("unit={}&subunits=true", encode(code)),
        None if r.scope.kind == "administration" => {
            format!("administration={}", encode(&r.scope.code))
        }
        None => format!("unit={}&subunits={}", encode(&r.scope.code), r.subunits),
    };
    if let Some(t) = &r.territory {
        q.push_str(&format!("&territory={}", encode(t)));
    }
    q.push_str(&format!(
        "&period={}&date={}{extra}",
        r.period.kind.as_str(),
        r.period.first
    ));
    format!("{path}?{q}")
}

/// `GET /office/indicators`: the dashboard.
pub async fn dashboard(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let params = web::Query::<Params>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| invalid("unreadable query"));
    let s = ctx.services();
    let a2 = actor.clone();
    let loaded = run(move || {
        let org = diwan_app::org::snapshot(&s)?;
        let report = match query_of(&params?, &a2, &org)? {
            Some(q) => Some(indicators(&s, &a2, &q)?),
            None => None,
        };
        Ok((org, report))
    })
    .await;
    let (org, report) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    let options = scope_options(&ctx, &actor, &org);
    let body = html! {
        (filters(&ctx, &options, report.as_ref()))
        @match &report {
            Some(r) => (report_view(&ctx, r)),
            None => p id="indicators-no-scope" class="notice notice-info" role="status" { (ctx.t("indicators-no-scope")) },
        }
    };
    ctx.html(
        StatusCode::OK,
        page(
            &ctx,
            Area::Office,
            &ctx.t("indicators-heading"),
            Some(&actor.email),
            body,
        ),
    )
}

/// The GET form of filters, filled with the report's scope and period.
fn filters(ctx: &Ctx, options: &[(String, String)], r: Option<&IndicatorReport>) -> Markup {
    let chosen = r.map(|r| format!("{}:{}", r.scope.kind, r.scope.code));
    let kind = r.map_or(PeriodKind::Month, |r| r.period.kind);
    let territory = r.and_then(|r| r.territory.clone()).unwrap_or_default();
    html! {
        form id="indicators-filters" method="get" action="/office/indicators" class="indicator-filters" {
            fieldset {
                legend { (ctx.t("indicators-filters")) }
                div class="fields" {
                div class="field" {
                    label for="scope" { (ctx.t("indicators-scope")) }
                    select id="scope" name="scope" {
                        @for (value, label) in options {
                            option value=(value) selected[chosen.as_deref() == Some(value.as_str())] { (label) }
                        }
                    }
                }
                div class="field check" {
                    input id="subunits" type="checkbox" name="subunits" value="true" checked[r.is_some_and(|r| r.subunits)];
                    label for="subunits" { (ctx.t("indicators-subunits")) }
                }
                div class="field" {
                    label for="period" { (ctx.t("indicators-period")) }
                    select id="period" name="period" {
                        @for k in PeriodKind::ALL {
                            option value=(k.as_str()) selected[k == kind] { (ctx.t(&format!("indicators-period-{}", k.as_str()))) }
                        }
                    }
                }
                div class="field" {
                    label for="date" { (ctx.t("indicators-date")) }
                    input id="date" type="date" name="date" dir="ltr" value=[r.map(|r| r.period.first.to_string())];
                }
                div class="field" {
                    label for="territory" { (ctx.t("indicators-territory")) " " span class="optional" { (ctx.t("optional")) } }
                    p id="territory-hint" class="hint" { (ctx.t("indicators-territory-hint")) }
                    input id="territory" type="text" name="territory" dir="ltr" maxlength="32" value=(territory) aria-describedby="territory-hint";
                }
                }
                button type="submit" class="primary" { (ctx.t("indicators-show")) }
            }
        }
    }
}

fn report_view(ctx: &Ctx, r: &IndicatorReport) -> Markup {
    let scope = pick(
        ctx,
        &r.scope.name_ar,
        &r.scope.name_fr,
        r.scope.name_en.as_deref(),
    );
    let range = ctx.ta(
        "indicators-period-range",
        &[
            (
                "kind",
                FluentValue::from(ctx.t(&format!("indicators-period-{}", r.period.kind.as_str()))),
            ),
            ("first", FluentValue::from(r.period.first.to_string())),
            ("last", FluentValue::from(r.period.last.to_string())),
        ],
    );
    html! {
        p id="indicators-scope" class="lead" {
            (bdi(&scope)) " " span dir="ltr" { "(" (r.scope.code) ")" }
            @if r.subunits && r.scope.kind == "unit" { " — " (ctx.t("indicators-with-subunits")) }
            @if let Some(t) = &r.territory { " — " (ctx.t("indicators-territory")) " " bdi dir="ltr" { (t) } }
            br;
            span id="indicators-period" { (range) }
        }
        h2 { (ctx.t("indicators-headline")) }
        (headline(ctx, &r.totals))
        (lines_section(ctx, r))
        (channels_section(ctx, r))
        (drilldown(ctx, r))
    }
}

/// A count, isolated left to right.
fn num(n: u64) -> Markup {
    html! { bdi dir="ltr" { (n) } }
}

/// A processing time in days and hours, in words of the page's language.
fn duration(ctx: &Ctx, seconds: Option<i64>) -> String {
    let Some(seconds) = seconds else {
        return "—".to_owned();
    };
    let (days, hours) = (seconds.max(0) / 86_400, seconds.max(0) % 86_400 / 3_600);
    let days_text = ctx.ta("indicators-days", &[("n", FluentValue::from(days))]);
    let hours_text = ctx.ta("indicators-hours", &[("n", FluentValue::from(hours))]);
    match (days, hours) {
        (0, 0) => ctx.t("indicators-under-hour"),
        (0, _) => hours_text,
        (_, 0) => days_text,
        _ => ctx.ta(
            "indicators-days-hours",
            &[
                ("days", FluentValue::from(days_text)),
                ("hours", FluentValue::from(hours_text)),
            ],
        ),
    }
}

fn percent(ctx: &Ctx, share: Option<f64>) -> String {
    match share {
        Some(s) => ctx.ta(
            "indicators-percent",
            &[("n", FluentValue::from(format!("{:.0}", s * 100.0)))],
        ),
        None => "—".to_owned(),
    }
}

fn headline(ctx: &Ctx, f: &Figures) -> Markup {
    let counts = [
        ("received", f.received),
        ("sent", f.sent),
        ("backlog", f.backlog),
        ("overdue", f.overdue),
        ("answered", f.answered),
    ];
    html! {
        dl id="headline" class="figures" {
            @for (key, n) in counts {
                div class="figure" data-figure=(key) data-value=(n) {
                    dt { (ctx.t(&format!("indicators-{key}"))) }
                    dd { (num(n)) }
                }
            }
            div class="figure" data-figure="median" data-value=[f.median_seconds] {
                dt { (ctx.t("indicators-median")) }
                dd { (duration(ctx, f.median_seconds)) }
            }
            div class="figure" data-figure="p90" data-value=[f.p90_seconds] {
                dt { (ctx.t("indicators-p90")) }
                dd { (duration(ctx, f.p90_seconds)) }
            }
            div class="figure" data-figure="on-time" data-value=[f.on_time_share] {
                dt { (ctx.t("indicators-on-time")) }
                dd { bdi dir="ltr" { (percent(ctx, f.on_time_share)) } }
            }
        }
    }
}

/// A line's name in the page's language, `own` marked.
fn line_name(ctx: &Ctx, l: &Line) -> String {
    let name = pick(
        ctx,
        &l.unit.name_ar,
        &l.unit.name_fr,
        l.unit.name_en.as_deref(),
    );
    if l.own {
        format!("{name} — {}", ctx.t("indicators-own"))
    } else {
        name
    }
}

/// Received, backlog and overdue per drill-down line: the chart and its table.
fn lines_section(ctx: &Ctx, r: &IndicatorReport) -> Markup {
    if r.lines.is_empty() {
        return html! {};
    }
    let series = [
        ("bar-received", ctx.t("indicators-received")),
        ("bar-backlog", ctx.t("indicators-backlog")),
        ("bar-overdue", ctx.t("indicators-overdue")),
    ];
    let rows: Vec<(String, Vec<u64>)> = r
        .lines
        .iter()
        .map(|l| {
            let f = &l.figures;
            (line_name(ctx, l), vec![f.received, f.backlog, f.overdue])
        })
        .collect();
    let title = ctx.t("indicators-by-line");
    html! {
        section aria-labelledby="chart-lines-heading" {
            h2 id="chart-lines-heading" { (title) }
            div class="chart-pair" {
                (chart(ctx, "chart-lines", &title, &ctx.t("indicators-by-line-desc"), &series, &rows))
                div class="table-wrap" {
                    table id="lines-data" {
                        caption { (title) }
                        thead { tr {
                            th scope="col" { (ctx.t("indicators-unit")) }
                            @for (_, name) in &series { th scope="col" class="num" { (name) } }
                        } }
                        tbody {
                            @for (label, values) in &rows {
                                tr {
                                    th scope="row" { (bdi(label)) }
                                    @for v in values { td class="num" { (num(*v)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Received by channel: the chart, its table and the table's CSV.
fn channels_section(ctx: &Ctx, r: &IndicatorReport) -> Markup {
    let title = ctx.t("indicators-by-channel");
    let rows: Vec<(String, Vec<u64>)> = r
        .totals
        .by_channel
        .iter()
        .map(|(c, n)| (channel_name(ctx, c), vec![*n]))
        .collect();
    let series = [("bar-received", ctx.t("indicators-received"))];
    html! {
        section aria-labelledby="chart-channels-heading" {
            h2 id="chart-channels-heading" { (title) }
            @if rows.is_empty() {
                p id="indicators-no-channel" { (ctx.t("indicators-no-channel")) }
            } @else {
                div class="chart-pair" {
                    (chart(ctx, "chart-channels", &title, &ctx.t("indicators-by-channel-desc"), &series, &rows))
                    div class="table-wrap" {
                        table id="channels-data" {
                            caption { (title) }
                            thead { tr {
                                th scope="col" { (ctx.t("indicators-channel")) }
                                th scope="col" class="num" { (ctx.t("indicators-received")) }
                            } }
                            tbody {
                                @for (label, values) in &rows {
                                    tr { th scope="row" { (label) } td class="num" { (num(values[0])) } }
                                }
                            }
                        }
                        p { a id="csv-channels" href=(address("/office/indicators.csv", r, None, "&table=channel")) download { (ctx.t("indicators-csv-channels")) } }
                    }
                }
            }
        }
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

/// The drill-down table: one row per line, the totals last; a unit with sub-units links to
/// its own dashboard.
fn drilldown(ctx: &Ctx, r: &IndicatorReport) -> Markup {
    let cells = |f: &Figures| {
        html! {
            td class="num" { (num(f.received)) }
            td class="num" { (num(f.sent)) }
            td class="num" { (num(f.backlog)) }
            td class="num" { (num(f.overdue)) }
            td class="num" { (num(f.answered)) }
            td { (duration(ctx, f.median_seconds)) }
            td { (duration(ctx, f.p90_seconds)) }
            td class="num" { bdi dir="ltr" { (percent(ctx, f.on_time_share)) } }
        }
    };
    let heads = [
        "received", "sent", "backlog", "overdue", "answered", "median", "p90", "on-time",
    ];
    html! {
        section aria-labelledby="drilldown-heading" {
            h2 id="drilldown-heading" { (ctx.t("indicators-drilldown")) }
            @if r.lines.is_empty() {
                p id="indicators-no-lines" { (ctx.t("indicators-no-lines")) }
            }
            div class="table-wrap" {
                table id="drilldown" {
                    caption { (ctx.t("indicators-drilldown")) }
                    thead { tr {
                        th scope="col" { (ctx.t("indicators-unit")) }
                        @for h in heads {
                            th scope="col" class=[(!matches!(h, "median" | "p90")).then_some("num")] { (ctx.t(&format!("indicators-{h}"))) }
                        }
                    } }
                    tbody {
                        @for l in &r.lines {
                            tr data-unit=(l.unit.code) data-own=(l.own) {
                                th scope="row" {
                                    @if l.has_subunits && !l.own {
                                        a class="drill" href=(address("/office/indicators", r, Some(&l.unit.code), "")) { (bdi(&line_name(ctx, l))) }
                                    } @else {
                                        (bdi(&line_name(ctx, l)))
                                    }
                                }
                                (cells(&l.figures))
                            }
                        }
                    }
                    tfoot { tr {
                        th scope="row" { (ctx.t("indicators-total")) }
                        (cells(&r.totals))
                    } }
                }
            }
            p { a id="csv-lines" href=(address("/office/indicators.csv", r, None, "")) download { (ctx.t("indicators-csv")) } }
        }
    }
}

// --- charts -----------------------------------------------------------------------------------

const WIDTH: f64 = 720.0;
const LABELS: f64 = 250.0;
const NUMBERS: f64 = 48.0;
const BAR: f64 = 16.0;
const GAP: f64 = 14.0;

/// A horizontal bar chart, one group of bars (one per series) per row, drawn from the
/// inline start: on an Arabic page the labels are on the right and the bars grow leftwards.
/// The numbers are the table's beside it; this is `role="img"` with its title and description.
fn chart(
    ctx: &Ctx,
    id: &str,
    title: &str,
    desc: &str,
    series: &[(&str, String)],
    rows: &[(String, Vec<u64>)],
) -> Markup {
    let rtl = ctx.lang == Lang::Ar;
    let span = WIDTH - LABELS - NUMBERS - 8.0;
    let max = rows
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let group = series.len() as f64 * (BAR + 2.0) + GAP;
    let height = rows.len() as f64 * group + GAP;
    // `x` and a width measured from the inline start, as SVG's left-based coordinates.
    let at = |x: f64, w: f64| if rtl { WIDTH - x - w } else { x };
    html! {
        figure class="chart" {
            svg id=(id) xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {height}"))
                role="img" aria-labelledby=(format!("{id}-title {id}-desc")) direction=(ctx.lang.dir()) {
                title id=(format!("{id}-title")) { (title) }
                desc id=(format!("{id}-desc")) { (desc) }
                line class="axis" x1=(at(LABELS, 0.0)) x2=(at(LABELS, 0.0)) y1="0" y2=(height) {}
                @for (i, (label, values)) in rows.iter().enumerate() {
                    @let top = GAP / 2.0 + i as f64 * group;
                    text class="chart-label" x=(fmt(at(LABELS - 8.0, 0.0)))
                        y=(fmt(top + (group - GAP) / 2.0 + 4.0)) text-anchor="end" { (short(label)) }
                    @for (j, v) in values.iter().enumerate() {
                        @let y = top + j as f64 * (BAR + 2.0);
                        @let w = if *v == 0 { 0.0 } else { (*v as f64 / max * span).max(2.0) };
                        @let class = series.get(j).map_or("bar-received", |s| s.0);
                        rect class=(class) x=(fmt(at(LABELS, w))) y=(fmt(y)) width=(fmt(w)) height=(BAR) {}
                        text class="chart-value" x=(fmt(at(LABELS + w + 4.0, 0.0))) y=(fmt(y + BAR - 3.0)) text-anchor="start" { (v) }
                    }
                }
            }
            @if series.len() > 1 {
                figcaption {
                    ul class="chart-legend" {
                        @for (class, name) in series {
                            li { span class=(format!("swatch {class}")) aria-hidden="true" {} " " (name) }
                        }
                    }
                }
            }
        }
    }
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// A label short enough for the chart's label column (the table has it whole); what follows
/// a dash (the unit-alone mark) is kept.
fn short(label: &str) -> String {
    const MAX: usize = 38;
    if label.chars().count() <= MAX {
        return label.to_owned();
    }
    let (head, tail) = match label.rsplit_once(" — ") {
        Some((head, tail)) if tail.chars().count() < MAX / 2 => (head, format!(" — {tail}")),
        _ => (label, String::new()),
    };
    let room = MAX - 1 - tail.chars().count();
    let cut: String = head.chars().take(room).collect();
    format!("{}…{tail}", cut.trim_end())
}

// --- CSV --------------------------------------------------------------------------------------

/// `GET /office/indicators.csv`: the drill-down table as the API gives it, or (`table=channel`)
/// the received letters by channel.
pub async fn csv(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let params = web::Query::<Params>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| invalid("unreadable query"));
    let s = ctx.services();
    let a2 = actor.clone();
    let loaded = run(move || {
        let params = params?;
        let channels = match params.table.as_deref() {
            None | Some("" | "lines") => false,
            Some("channel") => true,
            Some(_) => return Err(invalid("table is lines or channel")),
        };
        let org = diwan_app::org::snapshot(&s)?;
        let q = query_of(&params, &a2, &org)?
            .ok_or_else(|| invalid("give either administration or unit"))?;
        Ok((indicators(&s, &a2, &q)?, channels))
    })
    .await;
    let (report, channels) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    let (body, name) = if channels {
        (diwan_app::indicators::channels_csv(&report), "channels")
    } else {
        (to_csv(&report), "indicators")
    };
    let code: String = report
        .scope
        .code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    crate::routes::csv_download(
        ctx.response(StatusCode::OK),
        &format!("{name}-{code}-{}.csv", report.period.first),
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_are_cut() {
        assert_eq!(short("court"), "court");
        let long = "المديرية الجهوية للرباط سلا القنيطرة والمناطق المجاورة لها";
        assert!(short(long).ends_with('…'));
        assert!(short(long).chars().count() <= 38);
        let own = format!("{long} — الوحدة وحدها");
        assert!(short(&own).ends_with("… — الوحدة وحدها"), "{}", short(&own));
        assert!(short(&own).chars().count() <= 38);
    }
}

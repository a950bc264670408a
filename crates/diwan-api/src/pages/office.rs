//! The back office: login, registers, a correspondence with its files and receipt, counter
//! registration, the unit's inbox, and the organisation with its agents.

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use diwan_app::AppError;
use diwan_app::access::Actor;
use diwan_app::correspondence::ListQuery;
use diwan_app::model::{Correspondence, ReceiptKind};
use diwan_app::receipts::ReceiptAccess;
use diwan_domain::text::{self, limits};
use diwan_domain::{
    Channel, Confidentiality, Direction, Move, Party, PartyKind, RegistrationMetadata,
};
use fluent_bundle::FluentValue;
use maud::{Markup, html};

use super::forms::{self, Posted};
use super::layout::{self, Area, Errors, Input, bdi, csrf, input, page};
use super::{Ctx, SESSION_COOKIE, cookie, encode, error_message, pick, run, status_of, when};
use diwan_app::throttle::Form;

/// The logged-in agent, or a redirect to the login page.
pub(super) async fn agent(ctx: &Ctx, req: &HttpRequest) -> Result<Actor, HttpResponse> {
    let Some(token) = cookie(req, SESSION_COOKIE) else {
        return Err(ctx.see_other("/office/login"));
    };
    let s = ctx.services();
    match run(move || diwan_app::auth::authenticate(&s, &token)).await {
        Ok(actor) => Ok(actor),
        Err(AppError::Rejected { .. }) => Err(ctx.see_other("/office/login")),
        Err(e) => Err(error_page(ctx, None, &e)),
    }
}

pub(super) fn error_page(ctx: &Ctx, actor: Option<&Actor>, e: &AppError) -> HttpResponse {
    super::app_refusal(ctx, Area::Office, actor.map(|a| a.email.as_str()), e)
}

pub async fn home(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    match agent(&ctx, &req).await {
        Ok(_) => ctx.see_other("/office/register"),
        Err(r) => r,
    }
}

// --- login ------------------------------------------------------------------------------------

fn login_page(ctx: &Ctx, email: &str, errors: &Errors) -> Markup {
    let body = html! {
        (errors.summary(ctx))
        form id="login-form" method="post" action="/office/login" novalidate {
            (csrf(ctx))
            (input(ctx, Input { kind: "email", required: true, autocomplete: Some("username"), dir: Some("ltr"),
                maxlength: Some(limits::EMAIL),
                ..Input::new("email", &ctx.t("field-email"), email) }, errors))
            (input(ctx, Input { kind: "password", required: true, autocomplete: Some("current-password"), dir: Some("ltr"),
                maxlength: Some(1024),
                ..Input::new("password", &ctx.t("field-password"), "") }, errors))
            button id="login-submit" type="submit" class="primary" { (ctx.t("login-submit")) }
        }
    };
    page(ctx, Area::OfficeLogin, &ctx.t("login-title"), None, body)
}

pub async fn login_form(ctx: Ctx) -> HttpResponse {
    ctx.html(StatusCode::OK, login_page(&ctx, "", &Errors::default()))
}

pub async fn login(ctx: Ctx, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let posted = match super::read_form(&ctx, Area::Office, &req, &body, None) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let email = posted.text("email");
    if !ctx
        .services()
        .throttle
        .allow(req.peer_addr().map(|a| a.ip()), Form::Login)
    {
        let mut errors = Errors::default();
        errors.add("", ctx.t("error-rate-limited"));
        return ctx.html(
            StatusCode::TOO_MANY_REQUESTS,
            login_page(&ctx, &email, &errors),
        );
    }
    let password = diwan_app::auth::SecretString::from(
        posted.fields.get("password").cloned().unwrap_or_default(),
    );
    let s = ctx.services();
    let address = email.clone();
    match run(move || diwan_app::auth::login(&s, &address, &password)).await {
        Ok(issued) => {
            let max_age = (issued.expires_at - chrono::Utc::now())
                .num_seconds()
                .max(0);
            ctx.response(StatusCode::SEE_OTHER)
                .insert_header((header::LOCATION, "/office/register"))
                .append_header((
                    header::SET_COOKIE,
                    ctx.session_cookie(Some(&issued.token), max_age),
                ))
                .finish()
        }
        Err(e) => {
            let mut errors = Errors::default();
            errors.add("", error_message(&ctx, &e));
            ctx.html(status_of(&e), login_page(&ctx, &email, &errors))
        }
    }
}

pub async fn logout(ctx: Ctx, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Err(refused) = super::read_form(&ctx, Area::Office, &req, &body, None) {
        return *refused;
    }
    if let Ok(actor) = agent(&ctx, &req).await {
        let s = ctx.services();
        let _ = run(move || diwan_app::auth::revoke_token(&s, &actor, None)).await;
    }
    ctx.response(StatusCode::SEE_OTHER)
        .insert_header((header::LOCATION, "/office/login"))
        .append_header((header::SET_COOKIE, ctx.session_cookie(None, 0)))
        .finish()
}

// --- registers --------------------------------------------------------------------------------

#[derive(Debug, serde::Deserialize)]
pub struct RegisterQuery {
    registry: Option<String>,
    direction: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
}

pub async fn register(
    ctx: Ctx,
    req: HttpRequest,
    query: web::Query<RegisterQuery>,
) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = ctx.services();
    let org = match run({
        let s = s.clone();
        move || diwan_app::org::snapshot(&s)
    })
    .await
    {
        Ok(o) => o,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    let mine: Vec<&diwan_app::model::Registry> = org
        .registries
        .iter()
        .filter(|r| diwan_app::access::may_list(&actor, &org.tree, r).is_ok())
        .collect();
    let registry = query
        .registry
        .clone()
        .filter(|c| !c.is_empty())
        .or_else(|| mine.first().map(|r| r.code.as_str().to_owned()));
    let direction = query.direction.clone().filter(|d| !d.is_empty());
    let q = query.q.clone().unwrap_or_default();
    let result = match registry.clone() {
        Some(code) => {
            let (s, actor2, direction, q2, cursor) = (
                s.clone(),
                actor.clone(),
                direction.clone(),
                q.clone(),
                query.cursor.clone(),
            );
            Some(
                run(move || {
                    diwan_app::correspondence::list(
                        &s,
                        &actor2,
                        ListQuery {
                            registry: Some(code),
                            direction,
                            year: None,
                            q: Some(q2).filter(|q| !q.trim().is_empty()),
                            cursor,
                            limit: Some(50),
                        },
                    )
                })
                .await,
            )
        }
        None => None,
    };
    let next = match &result {
        Some(Ok(page)) => page.next_cursor.as_ref().map(|c| {
            format!(
                "/office/register?registry={}&direction={}&q={}&cursor={}",
                encode(registry.as_deref().unwrap_or_default()),
                encode(direction.as_deref().unwrap_or_default()),
                encode(&q),
                encode(c)
            )
        }),
        _ => None,
    };
    let body = html! {
        form id="register-filters" class="filters" method="get" action="/office/register" role="search" {
            div class="field" {
                label for="registry" { (ctx.t("field-registry")) }
                select id="registry" name="registry" {
                    @for r in &mine {
                        option value=(r.code.as_str()) selected[Some(r.code.as_str()) == registry.as_deref()] {
                            (pick(&ctx, &r.name_ar, &r.name_fr, None)) " (" (r.code.as_str()) ")"
                        }
                    }
                }
            }
            div class="field" {
                label for="direction" { (ctx.t("field-direction")) }
                select id="direction" name="direction" {
                    option value="" { (ctx.t("direction-all")) }
                    @for d in ["incoming", "outgoing", "internal"] {
                        option value=(d) selected[direction.as_deref() == Some(d)] { (ctx.t(&format!("direction-{d}"))) }
                    }
                }
            }
            div class="field" {
                label for="q" { (ctx.t("field-search-subject")) }
                input id="q" name="q" type="search" value=(q) maxlength="200" dir="auto";
            }
            button type="submit" class="secondary" { (ctx.t("filter")) }
        }
        @match &result {
            None => { p { (ctx.t("register-none")) } }
            Some(Err(e)) => { (layout::notice("error", &error_message(&ctx, e))) }
            Some(Ok(list)) => {
                @if let Some(total) = list.total {
                    p id="search-total" role="status" {
                        @if list.total_capped == Some(true) {
                            (ctx.ta("search-found-more", &[("count", FluentValue::from(total))]))
                        } @else {
                            (ctx.ta("search-found", &[("count", FluentValue::from(total))]))
                        }
                    }
                }
                @if list.items.is_empty() {
                    p id="register-empty" { (ctx.t("register-empty")) }
                } @else {
                    div class="table-wrap" {
                        table id="register-table" {
                            caption { (ctx.t("nav-register")) " — " (registry.as_deref().unwrap_or_default()) }
                            thead { tr {
                                th scope="col" { (ctx.t("col-number")) }
                                th scope="col" { (ctx.t("col-date")) }
                                th scope="col" { (ctx.t("col-direction")) }
                                th scope="col" { (ctx.t("col-sender")) }
                                th scope="col" { (ctx.t("col-recipient")) }
                                th scope="col" { (ctx.t("col-subject")) }
                            } }
                            tbody {
                                @for line in &list.items {
                                    @let item = &line.summary;
                                    @let (greg, _) = when(&ctx, &item.registered_at);
                                    tr class=[item.annulled.then_some("annulled")] {
                                        td dir="ltr" { a class="number" href=(format!("/office/correspondences/{}", encode(&item.id))) { (item.registration_number.as_str()) } }
                                        td dir="ltr" { (greg) }
                                        td { (ctx.t(&format!("direction-{}", item.direction.as_str()))) }
                                        td { (bdi(&item.sender_name)) }
                                        td { (bdi(&item.recipient_name)) }
                                        td {
                                            @match &line.snippet {
                                                Some(snip) if snip.field == "subject" => { (snippet(snip)) }
                                                _ => { (bdi(&item.subject)) }
                                            }
                                            @if item.annulled { " " span class="badge" { (ctx.t("annulled")) } }
                                            @if let Some(snip) = line.snippet.as_ref().filter(|s| s.field != "subject") {
                                                br;
                                                span class="snippet" { span class="muted" { (ctx.t(&format!("snippet-{}", snip.field.replace('_', "-")))) " : " } (snippet(snip)) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(href) = &next {
                    p { a id="next-page" href=(href) rel="next" { (ctx.t("next-page")) } }
                }
            }
        }
    };
    ctx.html(
        StatusCode::OK,
        page(
            &ctx,
            Area::Office,
            &ctx.t("register-title"),
            Some(&actor.email),
            body,
        ),
    )
}

/// A search snippet: its text escaped, the words found in `<mark>`, isolated for direction.
fn snippet(snip: &diwan_app::correspondence::Snippet) -> Markup {
    html! {
        bdi class="snippet-text" {
            @for part in &snip.parts {
                @if part.hit { mark { (part.text) } } @else { (part.text) }
            }
        }
    }
}

// --- a correspondence -------------------------------------------------------------------------

fn party(ctx: &Ctx, p: &Party) -> Markup {
    html! {
        (bdi(&p.name))
        " " span class="muted" { "(" (ctx.t(&format!("party-{}", p.kind.as_str()))) ")" }
        @if let Some(id) = &p.national_id { br; span dir="ltr" { (id) } }
        @if let Some(e) = &p.email { br; span dir="ltr" { (e) } }
        @if let Some(ph) = &p.phone { br; span dir="ltr" { (ph) } }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct CorrespondenceQuery {
    registered: Option<String>,
    moved: Option<String>,
}

pub async fn correspondence(
    ctx: Ctx,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<CorrespondenceQuery>,
) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = ctx.services();
    let id = id.into_inner();
    let loaded = run({
        let (actor, id) = (actor.clone(), id.clone());
        move || {
            let c = diwan_app::correspondence::get(&s, &actor, &id)?;
            let receipt = diwan_app::receipts::get(
                &s,
                &ReceiptAccess::Agent(&actor),
                &id,
                ReceiptKind::Receipt,
            )
            .ok()
            .map(|d| d.payload);
            let moves = diwan_app::workflow::allowed_moves(&s, &actor, &c)?;
            let units = diwan_app::workflow::units_for(&s, &c)?;
            let reply_from = diwan_app::workflow::reply_registries(&s, &actor, &c)?;
            let deliveries = s.store.deliveries_of(&c.id)?;
            Ok((c, receipt, moves, units, reply_from, deliveries))
        }
    })
    .await;
    let (c, receipt, moves, units, reply_from, deliveries) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    let base = format!("/office/correspondences/{}", encode(&c.id));
    let (received, received_hijri) = when(&ctx, &c.received_at);
    let body = html! {
        @if query.registered.is_some() { (layout::notice("success", &ctx.t("counter-registered"))) }
        @if query.moved.is_some() { (layout::notice("success", &ctx.t("move-done"))) }
        @if let Some(a) = &c.annulment {
            (layout::notice("warning", &ctx.ta("correspondence-annulled", &[("reason", FluentValue::from(a.reason.clone()))])))
        }
        dl class="details" {
            dt { (ctx.t("receipt-number")) }
            dd id="correspondence-number" dir="ltr" { (c.registration_number.as_str()) }
            dt { (ctx.t("receipt-subject")) }
            dd id="correspondence-subject" { (bdi(&c.subject)) }
            dt { (ctx.t("col-sender")) }
            dd { (party(&ctx, &c.sender)) }
            dt { (ctx.t("col-recipient")) }
            dd { (party(&ctx, &c.recipient)) }
            dt { (ctx.t("receipt-received")) }
            dd { span dir="ltr" { (received) } " · " span class="hijri" { (received_hijri) } }
            dt { (ctx.t("col-direction")) }
            dd { (ctx.t(&format!("direction-{}", c.direction.as_str()))) " · " (ctx.t(&format!("channel-{}", c.channel.as_str()))) }
            dt { (ctx.t("field-confidentiality")) }
            dd { (ctx.t(&format!("confidentiality-{}", c.confidentiality.as_str()))) }
        }
        (handling(&ctx, &c, &moves, &units, &base))
        @if !deliveries.is_empty() { (deliveries_section(&ctx, &deliveries, &base)) }
        @if !reply_from.is_empty() { (reply_form(&ctx, &c, &reply_from, &base)) }
        h2 { (ctx.t("receipt-files")) }
        ul id="correspondence-files" class="files" {
            @for f in &c.files {
                @let href = format!("{base}/files/{}", encode(&f.id));
                li {
                    a href=(href) target="_blank" rel="noopener" { (bdi(&f.name)) }
                    " · " (layout::size_text(&ctx, f.size)) " · " span dir="ltr" class="digest" { code { (f.sha256.as_str()) } }
                    @if let Some(check) = &f.pdf {
                        (pdf_check(&ctx, check))
                    }
                    @if f.media_type == "application/pdf" && f.pdf.as_ref().is_none_or(|p| p.problems.is_empty()) {
                        iframe class="pdf-view" src=(href) title=(ctx.ta("file-view", &[("name", FluentValue::from(f.name.clone()))])) loading="lazy" {}
                    } @else if f.media_type.starts_with("image/") && f.media_type != "image/tiff" {
                        img class="image-view" src=(href) alt=(f.name);
                    }
                }
            }
        }
        h2 { (ctx.t("dossier-title")) }
        p class="hint" { (ctx.t("dossier-hint")) }
        p { a id="dossier-pdf" href=(format!("{base}/dossier.pdf")) target="_blank" rel="noopener" { (ctx.t("dossier-open")) } }
        iframe class="pdf-view" id="dossier-view" src=(format!("{base}/dossier.pdf")) title=(ctx.t("dossier-title")) loading="lazy" {}
        h2 { (ctx.t("history")) }
        ol id="history" class="timeline" {
            @for e in &c.history {
                @let (greg, hijri) = when(&ctx, &e.at);
                li {
                    strong { (ctx.t(&format!("event-{}", e.kind))) }
                    @if let Some((rule, _)) = diwan_app::workflow::fired_rule(&e.detail) {
                        " — " span class="rule" { (ctx.t("routed-by")) " « " (bdi(rule)) " »" }
                    }
                    @if let Some(note) = e.detail.get("comment").or_else(|| e.detail.get("reason")).and_then(|v| v.as_str()) {
                        br; span class="note" { (bdi(note)) }
                    }
                    br;
                    time datetime=(e.at.to_rfc3339()) dir="ltr" { (greg) } " · " span class="hijri" { (hijri) }
                }
            }
        }
        @if let Some(payload) = &receipt {
            h2 { (ctx.t("receipt-title")) }
            (super::citizen::receipt_details(&ctx, payload, &format!("{base}/receipt.pdf")))
        }
    };
    ctx.html(
        StatusCode::OK,
        page(
            &ctx,
            Area::Office,
            &ctx.ta(
                "correspondence-title",
                &[(
                    "number",
                    FluentValue::from(c.registration_number.as_str().to_owned()),
                )],
            ),
            Some(&actor.email),
            body,
        ),
    )
}

/// An outgoing letter's deliveries to other administrations: where each stands, the
/// recipient's number and its signed acknowledgement.
fn deliveries_section(ctx: &Ctx, deliveries: &[diwan_app::model::Delivery], base: &str) -> Markup {
    html! {
        h2 { (ctx.t("deliveries-title")) }
        table id="deliveries" {
            thead { tr {
                th { (ctx.t("delivery-to")) }
                th { (ctx.t("delivery-state")) }
                th { (ctx.t("delivery-number")) }
                th { (ctx.t("delivery-attempts")) }
            } }
            tbody {
                @for d in deliveries {
                    tr data-state=(d.state.as_str()) {
                        td {
                            span dir="ltr" { (d.unit_code) }
                            @if !d.peer.is_empty() { " · " (ctx.t("delivery-peer")) " " span dir="ltr" { (d.peer) } }
                        }
                        td {
                            strong { (ctx.t(&format!("delivery-{}", d.state.as_str()))) }
                            @if let Some(e) = &d.last_error { br; span class="note" { (bdi(e)) } }
                        }
                        td {
                            @if let Some(n) = &d.remote_number { span dir="ltr" { (n) } }
                            @if d.ack_jws.is_some() {
                                br;
                                a href=(format!("{base}/deliveries/{}/ack.jws", encode(&d.id))) download { (ctx.t("delivery-ack")) }
                            }
                        }
                        td dir="ltr" { (d.attempts) }
                    }
                }
            }
        }
    }
}

/// A delivery's signed acknowledgement, as a file for `diwan verify`.
pub async fn delivery_ack(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (id, delivery) = path.into_inner();
    let s = ctx.services();
    let a2 = actor.clone();
    let found = run(move || {
        let list = diwan_app::exchange::deliveries(&s, &a2, &id)?;
        list.into_iter()
            .find(|d| d.id == delivery)
            .and_then(|d| d.ack_jws.map(|ack| (ack, d.remote_number)))
            .ok_or_else(|| diwan_app::AppError::not_found("acknowledgement"))
    })
    .await;
    match found {
        Ok((ack, number)) => HttpResponse::Ok()
            .content_type("application/jose")
            .insert_header((
                actix_web::http::header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"ack-{}.jws\"",
                    encode(&number.unwrap_or_default().replace('/', "-"))
                ),
            ))
            .body(ack),
        Err(e) => error_page(&ctx, Some(&actor), &e),
    }
}

/// Where the letter stands, its assignments, and a form for each move the agent may make.
fn handling(
    ctx: &Ctx,
    c: &Correspondence,
    moves: &[Move],
    units: &[diwan_app::model::Unit],
    base: &str,
) -> Markup {
    let unit_name = |id: &str| {
        units
            .iter()
            .find(|u| u.id == id)
            .map(|u| pick(ctx, &u.name_ar, &u.name_fr, u.name_en.as_deref()))
            .unwrap_or_default()
    };
    let lead = c.lead();
    // Open ones first, the lead first among them; then the ended ones, newest first.
    let mut ordered: Vec<&diwan_app::model::Assignment> = c.assignments.iter().collect();
    ordered.sort_by_key(|a| {
        (
            !a.is_open(),
            a.purpose != diwan_domain::Purpose::Action,
            std::cmp::Reverse(a.assigned_at),
        )
    });
    let options = |skip: Option<&str>, with_none: bool| {
        html! {
            @if with_none { option value="" { (ctx.t("field-none")) } }
            @for u in units.iter().filter(|u| Some(u.id.as_str()) != skip) {
                option value=(u.code.as_str()) { (pick(ctx, &u.name_ar, &u.name_fr, u.name_en.as_deref())) }
            }
        }
    };
    let select = |form: &str, name: &str, label: &str, body: Markup| {
        let id = format!("{form}-{name}");
        html! {
            div class="field" {
                label for=(id) { (label) }
                select id=(id) name=(name) { (body) }
            }
        }
    };
    let text_field = |form: &str, name: &str, label: &str, required: bool| {
        let id = format!("{form}-{name}");
        html! {
            div class="field" {
                label for=(id) { (label) }
                textarea id=(id) name=(name) rows="2" maxlength="2000" required[required] {}
            }
        }
    };
    let form = |m: Move, fields: Markup| {
        let name = m.as_str();
        html! {
            details class="move" id=(format!("move-{name}")) {
                summary { (ctx.t(&format!("move-{name}"))) }
                form method="post" action=(format!("{base}/move/{name}")) {
                    (csrf(ctx))
                    (fields)
                    button type="submit" id=(format!("move-{name}-submit")) { (ctx.t(&format!("move-{name}"))) }
                }
            }
        }
    };
    html! {
        h2 { (ctx.t("handling-title")) }
        dl class="details" {
            dt { (ctx.t("handling-status")) }
            dd id="correspondence-status" data-status=(c.status.as_str()) { (ctx.t(&format!("status-{}", c.status.as_str()))) }
            @if let Some(l) = lead {
                dt { (ctx.t("handling-in-charge")) }
                dd id="correspondence-in-charge" { (bdi(&unit_name(&l.unit_id))) }
                dt { (ctx.t("handling-due")) }
                dd { span dir="ltr" { (l.due_date.to_string()) } }
            }
        }
        h3 { (ctx.t("handling-assignments")) }
        @if c.assignments.is_empty() {
            p class="muted" { (ctx.t("handling-none")) }
        } @else {
            ul id="assignments" class="assignments" {
                @for a in &ordered {
                    li class=(if a.is_open() { "open" } else { "ended" }) {
                        (bdi(&unit_name(&a.unit_id))) " · " (ctx.t(&format!("purpose-{}", a.purpose.as_str())))
                        " · " span dir="ltr" { (a.due_date.to_string()) }
                        @if a.agent_id.is_some() { " · " (ctx.t("assignment-agent")) }
                        @if !a.is_open() { " · " span class="muted" { (ctx.t("assignment-ended")) } }
                        @if let Some(i) = &a.instructions { br; span class="instructions" { (bdi(i)) } }
                    }
                }
            }
        }
        @for m in moves {
            @match m {
                Move::Assign => (form(*m, html! {
                    (select("assign", "unit", &ctx.t("field-lead-unit"), options(None, false)))
                    (select("assign", "information", &ctx.t("field-info-unit"), options(None, true)))
                    div class="field" {
                        label for="assign-due" { (ctx.t("field-due-date")) }
                        input type="date" id="assign-due" name="due_date";
                    }
                    (text_field("assign", "instructions", &ctx.t("field-instructions"), false))
                })),
                Move::Reassign => (form(*m, html! {
                    (select("reassign", "unit", &ctx.t("col-unit"), options(None, true)))
                    div class="field" {
                        label for="reassign-agent" { (ctx.t("field-agent-email")) }
                        input type="email" id="reassign-agent" name="agent" maxlength="254" dir="ltr";
                    }
                    (text_field("reassign", "comment", &ctx.t("field-comment"), false))
                })),
                Move::Forward => (form(*m, html! {
                    (select("forward", "unit", &ctx.t("col-unit"), options(lead.map(|l| l.unit_id.as_str()), false)))
                    (text_field("forward", "comment", &ctx.t("field-comment"), false))
                })),
                Move::Decline => (form(*m, text_field("decline", "reason", &ctx.t("field-reason"), true))),
                _ => (form(*m, text_field(m.as_str(), "comment", &ctx.t("field-comment"), false))),
            }
        }
    }
}

/// The form registering an outgoing reply to this letter, addressed to its sender.
fn reply_form(
    ctx: &Ctx,
    c: &Correspondence,
    registries: &[diwan_app::model::Registry],
    base: &str,
) -> Markup {
    let subject = format!("{} : {}", ctx.t("reply-subject-prefix"), c.subject);
    let subject: String = subject.chars().take(limits::SUBJECT).collect();
    html! {
        details class="move" id="reply" {
            summary { (ctx.t("reply-title")) }
            form id="reply-form" method="post" action=(format!("{base}/reply")) enctype="multipart/form-data" {
                (csrf(ctx))
                p class="hint" { (ctx.ta("reply-to", &[("name", FluentValue::from(c.sender.name.clone()))])) }
                div class="field" {
                    label for="reply-registry" { (ctx.t("field-registry")) }
                    select id="reply-registry" name="registry" {
                        @for r in registries {
                            option value=(r.code.as_str()) { (pick(ctx, &r.name_ar, &r.name_fr, None)) }
                        }
                    }
                }
                div class="field" {
                    label for="reply-subject" { (ctx.t("field-subject")) }
                    textarea id="reply-subject" name="subject" rows="2" maxlength="1000" required { (subject) }
                }
                (layout::files("file", &ctx.t("reply-files"), "application/pdf,image/jpeg,image/png,image/tiff", &layout::files_hint(ctx), &Errors::default()))
                button id="reply-submit" type="submit" { (ctx.t("reply-submit")) }
            }
        }
    }
}

/// Registers the reply posted from the correspondence page, then shows the letter again.
pub async fn reply(
    ctx: Ctx,
    req: HttpRequest,
    id: web::Path<String>,
    payload: Multipart,
) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = ctx.services();
    let posted = match forms::multipart(&s, payload, &["file"]).await {
        Ok(p) => p,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    if let Some(refused) = super::admit(&ctx, Area::Office, Some(&actor.email), &req, &posted, None)
    {
        return refused;
    }
    let id = id.into_inner();
    let (a2, id2) = (actor.clone(), id.clone());
    let done = run(move || {
        let registry = posted.text("registry");
        let subject = posted.text("subject");
        diwan_app::workflow::register_reply(&s, &a2, &id2, &registry, &subject, posted.files)
    })
    .await;
    let back = format!("/office/correspondences/{}?moved=answer", encode(&id));
    done_then(&ctx, &actor, done, &back)
}

/// A move posted from the correspondence page.
pub async fn move_correspondence(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let posted = match super::read_form(&ctx, Area::Office, &req, &body, None) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let (id, name) = path.into_inner();
    let Some(step) = Move::parse(&name) else {
        return error_page(&ctx, Some(&actor), &AppError::not_found("move"));
    };
    let s = ctx.services();
    let (a2, id2) = (actor.clone(), id.clone());
    let done = run(move || {
        use diwan_app::workflow as w;
        let date = |p: &Posted| -> Result<Option<chrono::NaiveDate>, AppError> {
            p.get("due_date")
                .map(|d| {
                    d.parse().map_err(|_| {
                        AppError::unprocessable("invalid_due_date", "due_date: YYYY-MM-DD")
                    })
                })
                .transpose()
        };
        let note = w::NoteRequest {
            comment: posted.get("comment"),
        };
        match step {
            Move::Assign => w::assign(
                &s,
                &a2,
                &id2,
                &w::AssignRequest {
                    unit: posted.text("unit"),
                    agent: None,
                    also: posted
                        .get("information")
                        .map(|unit| w::AlsoAssign {
                            unit,
                            purpose: diwan_domain::Purpose::Information,
                        })
                        .into_iter()
                        .collect(),
                    instructions: posted.get("instructions"),
                    due_date: date(&posted)?,
                    comment: None,
                },
            ),
            Move::Reassign => w::reassign(
                &s,
                &a2,
                &id2,
                &w::ReassignRequest {
                    unit: posted.get("unit"),
                    agent: posted.get("agent"),
                    instructions: None,
                    due_date: date(&posted)?,
                    comment: posted.get("comment"),
                },
            ),
            Move::Forward => w::forward(
                &s,
                &a2,
                &id2,
                &w::ForwardRequest {
                    unit: posted.text("unit"),
                    instructions: None,
                    due_date: None,
                    comment: posted.get("comment"),
                },
            ),
            Move::Start => w::start(&s, &a2, &id2, &note),
            Move::Return => w::return_to_registry(&s, &a2, &id2, &note),
            Move::Decline => w::decline(
                &s,
                &a2,
                &id2,
                &w::DeclineRequest {
                    reason: posted.text("reason"),
                },
            ),
            Move::Close => w::close(&s, &a2, &id2, &note),
            Move::Answer | Move::Annul => Err(AppError::not_found("move")),
        }
    })
    .await;
    let back = format!(
        "/office/correspondences/{}?moved={}",
        encode(&id),
        step.as_str()
    );
    done_then(&ctx, &actor, done, &back)
}

/// What the inspection of a PDF found: its pages, and each problem with its code.
fn pdf_check(ctx: &Ctx, check: &diwan_app::model::PdfCheck) -> maud::Markup {
    html! {
        @if let Some(n) = check.pages {
            " · " span class="pages" { (ctx.ta("file-pages", &[("count", FluentValue::from(n))])) }
        }
        @if !check.problems.is_empty() {
            div class="notice notice-warning file-problems" {
                p { (ctx.t("file-problems")) }
                ul {
                    @for p in &check.problems {
                        @let id = format!("problem-{}", p.code.replace('_', "-"));
                        li {
                            @if super::i18n::has(ctx.lang, &id) { (ctx.t(&id)) } @else { (ctx.t("problem-other")) }
                            " " code dir="ltr" { (p.code) }
                        }
                    }
                }
            }
        }
    }
}

/// A file of a correspondence: PDFs and images inline (framed by our own pages only), others
/// as downloads.
pub async fn file(ctx: Ctx, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (id, file_id) = path.into_inner();
    let s = ctx.services();
    let a2 = actor.clone();
    match run(move || diwan_app::correspondence::download(&s, &a2, &id, &file_id)).await {
        Ok(d) => {
            // A PDF with problems (active content, damage…) is only ever downloaded.
            let flagged = d
                .record
                .pdf
                .as_ref()
                .is_some_and(|p| !p.problems.is_empty());
            let inline = !flagged
                && matches!(
                    d.record.media_type.as_str(),
                    "application/pdf" | "image/jpeg" | "image/png"
                );
            let disposition = format!(
                "{}; filename*=UTF-8''{}",
                if inline { "inline" } else { "attachment" },
                encode(&d.record.name)
            );
            HttpResponse::Ok()
                .content_type(d.record.media_type.clone())
                .insert_header((header::CONTENT_DISPOSITION, disposition))
                .insert_header((header::CACHE_CONTROL, "private, no-store"))
                .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .insert_header((header::X_FRAME_OPTIONS, "SAMEORIGIN"))
                .insert_header((
                    header::CONTENT_SECURITY_POLICY,
                    "frame-ancestors 'self'; script-src 'none'",
                ))
                .insert_header((header::REFERRER_POLICY, "no-referrer"))
                .body(d.bytes)
        }
        Err(e) => error_page(&ctx, Some(&actor), &e),
    }
}

/// A PDF shown within our own pages: inline under `file_name` (already safe for the header),
/// never cached, never sniffed, framed by our pages only, no script.
fn inline_pdf(file_name: &str) -> actix_web::HttpResponseBuilder {
    let mut r = HttpResponse::Ok();
    r.content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{file_name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "frame-ancestors 'self'; script-src 'none'",
        ));
    r
}

/// The sealed PDF receipt, to print for a person at the counter.
pub async fn receipt_pdf(ctx: Ctx, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let id = id.into_inner();
    let s = ctx.services();
    let (a2, id2) = (actor.clone(), id.clone());
    match run(move || {
        diwan_app::receipts::get_pdf(&s, &ReceiptAccess::Agent(&a2), &id2, ReceiptKind::Receipt)
    })
    .await
    {
        Ok(bytes) => inline_pdf(&format!("receipt-{}.pdf", encode(&id))).body(bytes),
        Err(e) => error_page(&ctx, Some(&actor), &e),
    }
}

/// The sealed dossier, inline (framed by our own pages only), made now if needed.
pub async fn dossier_pdf(ctx: Ctx, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let id = id.into_inner();
    let s = ctx.services();
    let a2 = actor.clone();
    match run(move || diwan_app::dossiers::download(&s, &a2, &id)).await {
        Ok(file) => inline_pdf(&format!(
            "dossier-{}.pdf",
            encode(&file.registration_number.replace('/', "-"))
        ))
        .body(crate::stream::file_body(file.content, file.dossier.size)),
        Err(e) => error_page(&ctx, Some(&actor), &e),
    }
}

// --- counter registration ---------------------------------------------------------------------

#[derive(Debug, Default)]
struct CounterValues {
    registry: String,
    sender_kind: String,
    sender_name: String,
    sender_national_id: String,
    sender_email: String,
    sender_phone: String,
    unit: String,
    subject: String,
    category: String,
    sender_reference: String,
    confidentiality: String,
}

impl CounterValues {
    fn from(p: &Posted) -> Self {
        Self {
            registry: p.text("registry"),
            sender_kind: p.text("sender_kind"),
            sender_name: p.text("sender_name"),
            sender_national_id: p.text("sender_national_id"),
            sender_email: p.text("sender_email"),
            sender_phone: p.text("sender_phone"),
            unit: p.text("unit"),
            subject: p.text("subject"),
            category: p.text("category"),
            sender_reference: p.text("sender_reference"),
            confidentiality: p.text("confidentiality"),
        }
    }
}

async fn counter_page(
    ctx: &Ctx,
    actor: &Actor,
    v: &CounterValues,
    errors: &Errors,
    files_lost: bool,
) -> Markup {
    let s = ctx.services();
    let org = run({
        let s = s.clone();
        move || diwan_app::org::snapshot(&s)
    })
    .await
    .ok();
    let services = run(move || diwan_app::portal::services(&s, None))
        .await
        .unwrap_or_default();
    let registries: Vec<diwan_app::model::Registry> = org
        .as_ref()
        .map(|o| {
            o.registries
                .iter()
                .filter(|r| diwan_app::access::may_register(actor, (*r).clone()).is_ok())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let files_hint = layout::files_hint(ctx);
    let select_error = |name: &str| errors.of(name).map(str::to_owned);
    let body = html! {
        p { (ctx.t("counter-intro")) }
        @if files_lost { (layout::notice("warning", &ctx.t("files-choose-again"))) }
        (errors.summary(ctx))
        @if registries.is_empty() {
            (layout::notice("info", &ctx.t("counter-no-registry")))
        } @else {
            form id="counter-form" method="post" action="/office/counter" enctype="multipart/form-data" novalidate {
                (csrf(ctx))
                fieldset {
                    legend { (ctx.t("legend-registry")) }
                    div class="field" {
                        label for="registry" { (ctx.t("field-registry")) }
                        select id="registry" name="registry" required {
                            @for r in &registries {
                                option value=(r.code.as_str()) selected[r.code.as_str() == v.registry] {
                                    (pick(ctx, &r.name_ar, &r.name_fr, None)) " (" (r.code.as_str()) ")"
                                }
                            }
                        }
                    }
                    div class=(if select_error("unit").is_some() { "field has-error" } else { "field" }) {
                        label for="unit" { (ctx.t("field-service")) " " span class="required" aria-hidden="true" { "*" } }
                        @if let Some(e) = select_error("unit") { p id="unit-error" class="field-error" { (e) } }
                        select id="unit" name="unit" required aria-describedby=[select_error("unit").map(|_| "unit-error")] {
                            option value="" { (ctx.t("service-choose")) }
                            @for svc in &services {
                                option value=(svc.code) selected[svc.code == v.unit] {
                                    (format!("{}{}", "\u{2014} ".repeat(svc.depth), pick(ctx, &svc.name_ar, &svc.name_fr, svc.name_en.as_deref())))
                                }
                            }
                        }
                    }
                }
                fieldset {
                    legend { (ctx.t("legend-sender")) }
                    div class="field" {
                        label for="sender_kind" { (ctx.t("field-sender-kind")) }
                        select id="sender_kind" name="sender_kind" {
                            @for k in ["person", "company", "administration"] {
                                option value=(k) selected[v.sender_kind == k] { (ctx.t(&format!("party-{k}"))) }
                            }
                        }
                    }
                    (input(ctx, Input { required: true, maxlength: Some(limits::NAME),
                        ..Input::new("sender_name", &ctx.t("field-name"), &v.sender_name) }, errors))
                    (input(ctx, Input { dir: Some("ltr"), maxlength: Some(limits::IDENTIFIER),
                        ..Input::new("sender_national_id", &ctx.t("field-national-id"), &v.sender_national_id) }, errors))
                    (input(ctx, Input { kind: "email", dir: Some("ltr"), maxlength: Some(limits::EMAIL),
                        hint: Some(&ctx.t("counter-email-hint")),
                        ..Input::new("sender_email", &ctx.t("field-email"), &v.sender_email) }, errors))
                    (input(ctx, Input { kind: "tel", dir: Some("ltr"), maxlength: Some(limits::PHONE),
                        ..Input::new("sender_phone", &ctx.t("field-phone"), &v.sender_phone) }, errors))
                }
                fieldset {
                    legend { (ctx.t("legend-letter")) }
                    (input(ctx, Input { required: true, maxlength: Some(limits::SUBJECT),
                        ..Input::new("subject", &ctx.t("field-subject"), &v.subject) }, errors))
                    (input(ctx, Input { maxlength: Some(limits::REFERENCE), dir: Some("auto"),
                        ..Input::new("sender_reference", &ctx.t("field-reference"), &v.sender_reference) }, errors))
                    (input(ctx, Input { maxlength: Some(limits::CATEGORY),
                        ..Input::new("category", &ctx.t("field-category"), &v.category) }, errors))
                    div class="field" {
                        label for="confidentiality" { (ctx.t("field-confidentiality")) }
                        select id="confidentiality" name="confidentiality" {
                            @for k in ["normal", "confidential", "secret"] {
                                option value=(k) selected[v.confidentiality == k] { (ctx.t(&format!("confidentiality-{k}"))) }
                            }
                        }
                    }
                    (layout::files("file", &ctx.t("field-scans"), "application/pdf,image/jpeg,image/png,image/tiff", &files_hint, errors))
                }
                button id="counter-submit" type="submit" class="primary" { (ctx.t("counter-submit")) }
            }
        }
    };
    page(
        ctx,
        Area::Office,
        &ctx.t("counter-title"),
        Some(&actor.email),
        body,
    )
}

pub async fn counter_form(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let v = CounterValues {
        sender_kind: "person".into(),
        confidentiality: "normal".into(),
        ..CounterValues::default()
    };
    let markup = counter_page(&ctx, &actor, &v, &Errors::default(), false).await;
    ctx.html(StatusCode::OK, markup)
}

fn check_counter(ctx: &Ctx, v: &CounterValues, posted: &Posted) -> Errors {
    let mut errors = Errors::default();
    if v.unit.is_empty() {
        errors.add("unit", ctx.t("error-service-required"));
    }
    for (name, value, max) in [
        ("sender_name", &v.sender_name, limits::NAME),
        ("subject", &v.subject, limits::SUBJECT),
    ] {
        if value.is_empty() {
            errors.add(name, ctx.t("error-required"));
        } else if text::line(name, value, max).is_err() {
            errors.add(
                name,
                ctx.ta("error-too-long", &[("max", FluentValue::from(max))]),
            );
        }
    }
    if !v.sender_email.is_empty() && text::email("sender_email", &v.sender_email).is_err() {
        errors.add("sender_email", ctx.t("error-email-invalid"));
    }
    if !v.sender_phone.is_empty() && text::phone("sender_phone", &v.sender_phone).is_err() {
        errors.add("sender_phone", ctx.t("error-phone-invalid"));
    }
    if posted.files.is_empty() {
        errors.add("file", ctx.t("error-files-required"));
    }
    errors
}

pub async fn counter(ctx: Ctx, req: HttpRequest, payload: Multipart) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = ctx.services();
    let posted = match forms::multipart(&s, payload, &["file"]).await {
        Ok(p) => p,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    if let Some(refused) = super::admit(&ctx, Area::Office, Some(&actor.email), &req, &posted, None)
    {
        return refused;
    }
    let v = CounterValues::from(&posted);
    let mut errors = check_counter(&ctx, &v, &posted);
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        let opt = |x: &str| Some(x.to_owned()).filter(|x| !x.is_empty());
        let kind = PartyKind::parse(&v.sender_kind).unwrap_or(PartyKind::Person);
        let metadata = RegistrationMetadata {
            registry: v.registry.clone(),
            direction: Direction::Incoming,
            channel: Channel::Counter,
            subject: v.subject.clone(),
            sender: Party {
                kind,
                name: v.sender_name.clone(),
                national_id: opt(&v.sender_national_id).filter(|_| kind == PartyKind::Person),
                company_id: opt(&v.sender_national_id).filter(|_| kind == PartyKind::Company),
                unit: None,
                email: opt(&v.sender_email),
                phone: opt(&v.sender_phone),
                territory: None,
                peer: None,
            },
            recipient: Party {
                kind: PartyKind::Administration,
                name: v.unit.clone(),
                national_id: None,
                company_id: None,
                unit: diwan_domain::Code::parse("unit", &v.unit).ok(),
                email: None,
                phone: None,
                territory: None,
                peer: None,
            },
            confidentiality: Confidentiality::parse(&v.confidentiality),
            priority: None,
            category: opt(&v.category),
            sender_reference: opt(&v.sender_reference),
            sender_date: None,
            received_at: None,
            in_reply_to: None,
        };
        let (s2, a2, files) = (s.clone(), actor.clone(), posted.files);
        let metadata = with_unit_name(&s, metadata);
        match run(move || diwan_app::correspondence::register(&s2, &a2, metadata, files)).await {
            Ok(outcome) => {
                return ctx.see_other(&format!(
                    "/office/correspondences/{}?registered=1",
                    encode(&outcome.id)
                ));
            }
            Err(e) => {
                status = status_of(&e);
                let field = match &e {
                    AppError::Rejected { code, .. }
                        if code.starts_with("file")
                            || *code == "too_many_files"
                            || *code == "unsupported_media_type" =>
                    {
                        "file"
                    }
                    AppError::Rejected { code, .. } if *code == "unknown_unit" => "unit",
                    _ => "",
                };
                errors.add(field, error_message(&ctx, &e));
            }
        }
    }
    let markup = counter_page(&ctx, &actor, &v, &errors, true).await;
    ctx.html(status, markup)
}

/// The recipient's name is the service's French name (as the API's clients give it).
fn with_unit_name(s: &diwan_app::Services, mut m: RegistrationMetadata) -> RegistrationMetadata {
    if let Ok(org) = diwan_app::org::snapshot(s)
        && let Some(u) = m
            .recipient
            .unit
            .as_ref()
            .and_then(|code| org.units.iter().find(|u| u.code == *code))
    {
        m.recipient.name = u.name_fr.clone();
    }
    m
}

// --- inbox ------------------------------------------------------------------------------------

pub async fn inbox(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = ctx.services();
    let a2 = actor.clone();
    let lines = match run(move || {
        let assigned = diwan_app::workflow::inbox_by_due_date(&s, &a2, &Default::default())?.items;
        let lines = diwan_app::correspondence::inbox(&s, &a2)?;
        let org = diwan_app::org::snapshot(&s)?;
        Ok((assigned, lines, org))
    })
    .await
    {
        Ok(v) => v,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    let (assigned, lines, org) = lines;
    let today = chrono::Utc::now()
        .with_timezone(&ctx.services().settings.time_zone)
        .date_naive();
    let state_of = |d: chrono::NaiveDate| {
        if d < today {
            "overdue"
        } else if (d - today).num_days() <= 3 {
            "due-soon"
        } else {
            "on-time"
        }
    };
    let body = html! {
        h2 { (ctx.t("inbox-assigned-title")) }
        @if assigned.is_empty() {
            p id="inbox-assigned-empty" { (ctx.t("inbox-assigned-empty")) }
        } @else {
            div class="table-wrap" {
                table id="inbox-assigned" {
                    caption class="visually-hidden" { (ctx.t("inbox-assigned-title")) }
                    thead { tr {
                        th scope="col" { (ctx.t("col-number")) }
                        th scope="col" { (ctx.t("col-subject")) }
                        th scope="col" { (ctx.t("col-unit")) }
                        th scope="col" { (ctx.t("col-status")) }
                        th scope="col" { (ctx.t("col-due")) }
                    } }
                    tbody {
                        @for l in &assigned {
                            @let state = state_of(l.due_date);
                            tr class=(state) {
                                td dir="ltr" { a class="number" href=(format!("/office/correspondences/{}", encode(&l.summary.id))) { (l.summary.registration_number.as_str()) } }
                                td { (bdi(&l.summary.subject)) }
                                td {
                                    @if let Some(u) = org.unit(&l.unit_id) { (bdi(&pick(&ctx, &u.name_ar, &u.name_fr, u.name_en.as_deref()))) }
                                    " " span class="muted" { "(" (ctx.t(&format!("purpose-{}", l.purpose.as_str()))) ")" }
                                }
                                td { (ctx.t(&format!("status-{}", l.status.as_str()))) }
                                td {
                                    span dir="ltr" { (l.due_date.to_string()) } " "
                                    span class=(format!("badge {state}")) { (ctx.t(&format!("due-{state}"))) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("inbox-registry-title")) }
        p { (ctx.t("inbox-intro")) }
        @if lines.is_empty() {
            p id="inbox-empty" { (ctx.t("inbox-empty")) }
        } @else {
            div class="table-wrap" {
                table id="inbox-table" {
                    caption class="visually-hidden" { (ctx.t("nav-inbox")) }
                    thead { tr {
                        th scope="col" { (ctx.t("col-number")) }
                        th scope="col" { (ctx.t("col-subject")) }
                        th scope="col" { (ctx.t("col-unit")) }
                        th scope="col" { (ctx.t("col-due")) }
                    } }
                    tbody {
                        @for l in &lines {
                            @let state = match l.deadline {
                                Some(d) if d < today => "overdue",
                                Some(d) if (d - today).num_days() <= 3 => "due-soon",
                                _ => "on-time",
                            };
                            tr class=(state) {
                                td dir="ltr" { a class="number" href=(format!("/office/correspondences/{}", encode(&l.item.summary.id))) { (l.item.summary.registration_number.as_str()) } }
                                td { (bdi(&l.item.summary.subject)) }
                                td {
                                    @if let Some(u) = org.unit(&l.item.unit_id) { (bdi(&pick(&ctx, &u.name_ar, &u.name_fr, u.name_en.as_deref()))) }
                                    " " span class="muted" { "(" (ctx.t(&format!("concern-{}", l.item.concern.as_str()))) ")" }
                                }
                                td {
                                    @if let Some(d) = l.deadline {
                                        span dir="ltr" { (d.to_string()) } " "
                                        span class=(format!("badge {state}")) { (ctx.t(&format!("due-{state}"))) }
                                    } @else { "—" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    ctx.html(
        StatusCode::OK,
        page(
            &ctx,
            Area::Office,
            &ctx.t("inbox-title"),
            Some(&actor.email),
            body,
        ),
    )
}

// --- administration ---------------------------------------------------------------------------

pub async fn admin(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = ctx.services();
    let a2 = actor.clone();
    let (org, agents, ruled) = match run(move || {
        let org = diwan_app::org::snapshot(&s)?;
        let agents = diwan_app::agents::list(&s, &a2).ok();
        let ruled: Vec<diwan_app::model::Registry> = org
            .registries
            .iter()
            .filter(|r| diwan_app::workflow::may_manage_rules(&s, &a2, r))
            .cloned()
            .collect();
        Ok((org, agents, ruled))
    })
    .await
    {
        Ok(v) => v,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    let tree = render_tree(&ctx, &org);
    let body = html! {
        section aria-labelledby="org-title" {
            h2 id="org-title" { (ctx.t("admin-org")) }
            (tree)
        }
        @if !ruled.is_empty() {
            section aria-labelledby="rules-title" {
                h2 id="rules-title" { (ctx.t("rules-title")) }
                ul id="rules-registries" {
                    @for r in &ruled {
                        li { a href=(format!("/office/registries/{}/rules", encode(r.code.as_str()))) { (bdi(&pick(&ctx, &r.name_ar, &r.name_fr, None))) } }
                    }
                }
            }
        }
        section aria-labelledby="agents-title" {
            h2 id="agents-title" { (ctx.t("admin-agents")) }
            @match &agents {
                None => { p { (ctx.t("admin-agents-forbidden")) } }
                Some(list) => {
                    div class="table-wrap" {
                        table id="agents-table" {
                            caption class="visually-hidden" { (ctx.t("admin-agents")) }
                            thead { tr {
                                th scope="col" { (ctx.t("col-agent")) }
                                th scope="col" { (ctx.t("field-email")) }
                                th scope="col" { (ctx.t("col-roles")) }
                                th scope="col" { (ctx.t("col-status")) }
                            } }
                            tbody {
                                @for a in list {
                                    tr {
                                        td { (bdi(&a.display_name)) }
                                        td dir="ltr" { (a.email) }
                                        td {
                                            ul class="plain" {
                                                @for g in &a.grants {
                                                    li { (ctx.t(&format!("role-{}", g.role.as_str()))) " — " (g.unit.clone().unwrap_or_else(|| ctx.t("role-everywhere"))) }
                                                }
                                            }
                                        }
                                        td { (if a.active { ctx.t("agent-active") } else { ctx.t("agent-inactive") }) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    ctx.html(
        StatusCode::OK,
        page(
            &ctx,
            Area::Office,
            &ctx.t("admin-title"),
            Some(&actor.email),
            body,
        ),
    )
}

fn render_tree(ctx: &Ctx, org: &diwan_app::cache::OrgSnapshot) -> Markup {
    fn units(
        ctx: &Ctx,
        org: &diwan_app::cache::OrgSnapshot,
        parent: Option<&str>,
        admin: &str,
        depth: usize,
    ) -> Markup {
        let mut list: Vec<&diwan_app::model::Unit> = org
            .units
            .iter()
            .filter(|u| u.administration_id == admin && u.parent_id.as_deref() == parent)
            .collect();
        list.sort_by(|a, b| a.code.as_str().cmp(b.code.as_str()));
        if list.is_empty() || depth > 32 {
            return html! {};
        }
        html! {
            ul class="tree" {
                @for u in list {
                    li {
                        strong { (bdi(&pick(ctx, &u.name_ar, &u.name_fr, u.name_en.as_deref()))) }
                        " " span class="muted" dir="ltr" { (u.code.as_str()) }
                        " · " (ctx.t(&format!("level-{}", u.level.as_str())))
                        @for r in org.registries.iter().filter(|r| r.unit_id == u.id) {
                            br; span class="registry" { (ctx.t("registry")) ": " (bdi(&pick(ctx, &r.name_ar, &r.name_fr, None))) " " span dir="ltr" class="muted" { "(" (r.code.as_str()) ", " (r.numbering_format.as_str()) ")" } }
                        }
                        (units(ctx, org, Some(&u.id), admin, depth + 1))
                    }
                }
            }
        }
    }
    html! {
        div id="org-tree" {
            @for a in &org.administrations {
                h3 { (bdi(&pick(ctx, &a.name_ar, &a.name_fr, a.name_en.as_deref()))) }
                (units(ctx, org, None, &a.id, 0))
            }
        }
    }
}

// --- routing rules ----------------------------------------------------------------------------

#[derive(Debug, serde::Deserialize)]
pub struct RulesQuery {
    saved: Option<String>,
}

/// A registry's routing rules, in order, with a form to add one and a button to delete each.
pub async fn rules(
    ctx: Ctx,
    req: HttpRequest,
    code: web::Path<String>,
    query: web::Query<RulesQuery>,
) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = ctx.services();
    let code = code.into_inner();
    let (a2, c2) = (actor.clone(), code.clone());
    let loaded = run(move || {
        let rules = diwan_app::workflow::rules(&s, &a2, &c2)?;
        let org = diwan_app::org::snapshot(&s)?;
        let registry = org
            .registry_by_code(&c2)
            .cloned()
            .ok_or_else(|| AppError::not_found("registry"))?;
        let manage = diwan_app::workflow::may_manage_rules(&s, &a2, &registry);
        Ok((rules, org, registry, manage))
    })
    .await;
    let (rules, org, registry, manage) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    let admin = org
        .tree
        .administration_of(&registry.unit_id)
        .map(str::to_owned);
    let units: Vec<&diwan_app::model::Unit> = org
        .units
        .iter()
        .filter(|u| Some(&u.administration_id) == admin.as_ref())
        .collect();
    let unit_name = |id: &str| {
        org.unit(id)
            .map(|u| pick(&ctx, &u.name_ar, &u.name_fr, u.name_en.as_deref()))
            .unwrap_or_default()
    };
    let base = format!(
        "/office/registries/{}/rules",
        encode(registry.code.as_str())
    );
    let unit_options = |none: &str| {
        html! {
            option value="" { (none) }
            @for u in &units {
                option value=(u.code.as_str()) { (pick(&ctx, &u.name_ar, &u.name_fr, u.name_en.as_deref())) }
            }
        }
    };
    let body = html! {
        @if query.saved.is_some() { (layout::notice("success", &ctx.t("move-done"))) }
        p { (ctx.t("rules-intro")) }
        @if rules.is_empty() {
            p id="rules-empty" { (ctx.t("rules-empty")) }
        } @else {
            div class="table-wrap" {
                table id="rules-table" {
                    caption class="visually-hidden" { (ctx.t("rules-title")) }
                    thead { tr {
                        th scope="col" { (ctx.t("rule-position")) }
                        th scope="col" { (ctx.t("rule-name")) }
                        th scope="col" { (ctx.t("rule-conditions")) }
                        th scope="col" { (ctx.t("rule-target")) }
                        th scope="col" { (ctx.t("col-status")) }
                        @if manage { th scope="col" { span class="visually-hidden" { (ctx.t("rule-delete")) } } }
                    } }
                    tbody {
                        @for r in &rules {
                            tr class=(if r.active { "active" } else { "inactive" }) {
                                td dir="ltr" { (r.position) }
                                td { (bdi(&r.name)) }
                                td {
                                    ul class="plain" {
                                        @if let Some(c) = &r.conditions.category { li { (ctx.t("field-category")) " : " (bdi(c)) } }
                                        @if let Some(u) = &r.conditions.recipient_unit { li { (ctx.t("col-recipient")) " : " (bdi(&unit_name(u))) } }
                                        @if let Some(t) = &r.conditions.sender_territory { li { (ctx.t("rule-territory")) " : " span dir="ltr" { (t) } } }
                                        @if !r.conditions.keywords.is_empty() { li { (ctx.t("rule-keywords")) " : " (bdi(&r.conditions.keywords.join(if ctx.lang == super::i18n::Lang::Ar { "، " } else { ", " }))) } }
                                        @if r.conditions == diwan_domain::routing::Conditions::default() { li { (ctx.t("rule-always")) } }
                                    }
                                }
                                td {
                                    @match &r.target_unit_id {
                                        Some(u) => (bdi(&unit_name(u))),
                                        None => (ctx.t("rule-target-territory")),
                                    }
                                }
                                td { (if r.active { ctx.t("rule-active") } else { ctx.t("rule-inactive") }) }
                                @if manage {
                                    td {
                                        form method="post" action=(format!("{base}/{}/delete", encode(&r.id))) {
                                            (csrf(&ctx))
                                            button type="submit" class="secondary" aria-label=(format!("{} — {}", ctx.t("rule-delete"), r.name)) { (ctx.t("rule-delete")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if manage {
            h2 { (ctx.t("rule-add")) }
            form id="rule-form" method="post" action=(base) {
                (csrf(&ctx))
                div class="field" { label for="rule-name" { (ctx.t("rule-name")) } input id="rule-name" name="name" required maxlength="300"; }
                div class="field" { label for="rule-position" { (ctx.t("rule-position")) } input id="rule-position" name="position" type="number" min="0" max="100000" dir="ltr"; }
                div class="field" { label for="rule-category" { (ctx.t("field-category")) } input id="rule-category" name="category" maxlength="100"; }
                div class="field" { label for="rule-recipient" { (ctx.t("col-recipient")) } select id="rule-recipient" name="recipient_unit" { (unit_options(&ctx.t("field-none"))) } }
                div class="field" { label for="rule-territory" { (ctx.t("rule-territory")) } input id="rule-territory" name="sender_territory" maxlength="32" dir="ltr"; }
                div class="field" {
                    label for="rule-keywords" { (ctx.t("rule-keywords")) }
                    p id="rule-keywords-hint" class="hint" { (ctx.t("rule-keywords-hint")) }
                    input id="rule-keywords" name="keywords" maxlength="2000" aria-describedby="rule-keywords-hint";
                }
                div class="field" { label for="rule-target" { (ctx.t("rule-target")) } select id="rule-target" name="target_unit" { (unit_options(&ctx.t("rule-target-territory"))) } }
                div class="field" { label { input type="checkbox" name="active" value="1" checked; " " (ctx.t("rule-active")) } }
                button id="rule-submit" type="submit" class="primary" { (ctx.t("rule-add")) }
            }
        }
    };
    let title = format!(
        "{} — {}",
        ctx.t("rules-title"),
        pick(&ctx, &registry.name_ar, &registry.name_fr, None)
    );
    ctx.html(
        StatusCode::OK,
        page(&ctx, Area::Office, &title, Some(&actor.email), body),
    )
}

/// Adds a rule from the form.
pub async fn add_rule(
    ctx: Ctx,
    req: HttpRequest,
    code: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let posted = match super::read_form(&ctx, Area::Office, &req, &body, None) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let code = code.into_inner();
    let s = ctx.services();
    let (a2, c2) = (actor.clone(), code.clone());
    let done = run(move || {
        let position = posted
            .get("position")
            .map(|p| {
                p.parse::<i32>().map_err(|_| {
                    AppError::unprocessable("invalid_input", "position: a whole number")
                })
            })
            .transpose()?;
        let keywords = posted
            .text("keywords")
            .split([',', '،', ';', '\n'])
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        let rule = diwan_app::workflow::RuleRequest {
            name: posted.text("name"),
            position,
            category: posted.get("category"),
            recipient_unit: posted.get("recipient_unit"),
            sender_territory: posted.get("sender_territory"),
            keywords,
            target_unit: posted.get("target_unit"),
            active: posted.get("active").is_some(),
        };
        diwan_app::workflow::create_rule(&s, &a2, &c2, &rule)
    })
    .await;
    rule_saved(&ctx, &actor, &code, done.map(|_| ()))
}

/// Deletes a rule from its button.
pub async fn delete_rule(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Err(refused) = super::read_form(&ctx, Area::Office, &req, &body, None) {
        return *refused;
    }
    let (code, id) = path.into_inner();
    let s = ctx.services();
    let (a2, c2) = (actor.clone(), code.clone());
    let done = run(move || diwan_app::workflow::delete_rule(&s, &a2, &c2, &id)).await;
    rule_saved(&ctx, &actor, &code, done)
}

fn rule_saved(ctx: &Ctx, actor: &Actor, code: &str, done: Result<(), AppError>) -> HttpResponse {
    let back = format!("/office/registries/{}/rules?saved=1", encode(code));
    done_then(ctx, actor, done, &back)
}

/// After a posted action: back to `location` (303) when it was done, else the refusal page.
pub(super) fn done_then<T>(
    ctx: &Ctx,
    actor: &Actor,
    done: Result<T, AppError>,
    location: &str,
) -> HttpResponse {
    match done {
        Ok(_) => ctx.see_other(location),
        Err(e) => error_page(ctx, Some(actor), &e),
    }
}

//! The citizen portal: deposit (e-mail code, then the letter), receipt, tracking, verification.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diwan_app::AppError;
use diwan_app::model::ReceiptKind;
use diwan_app::portal::{self, Deposit};
use diwan_app::receipts::ReceiptAccess;
use diwan_domain::text::{self, limits};
use fluent_bundle::FluentValue;
use maud::{Markup, html};
use serde_json::Value;

use super::forms::{self, Posted};
use super::layout::{self, Area, Errors, Input, bdi, csrf, input, page};
use super::{Ctx, encode, error_message, run, status_of};
use diwan_app::throttle::Form;

/// What the deposit form accepts (the bytes are checked too).
const ACCEPT: &str =
    "application/pdf,image/jpeg,image/png,image/tiff,.pdf,.jpg,.jpeg,.png,.tif,.tiff";

pub async fn home(ctx: Ctx) -> HttpResponse {
    let body = html! {
        p class="lead" { (ctx.t("home-lead")) }
        ul class="cards" {
            li class="card" {
                h2 { a href="/deposit" { (ctx.t("nav-deposit")) } }
                p { (ctx.t("home-deposit")) }
            }
            li class="card" {
                h2 { a href="/track" { (ctx.t("nav-track")) } }
                p { (ctx.t("home-track")) }
            }
            li class="card" {
                h2 { a href="/verify" { (ctx.t("nav-verify")) } }
                p { (ctx.t("home-verify")) }
            }
        }
        p { (ctx.t("home-counter")) }
    };
    ctx.html(
        StatusCode::OK,
        page(&ctx, Area::Citizen, &ctx.t("home-title"), None, body),
    )
}

// --- deposit, step 1: the e-mail address ------------------------------------------------------

fn code_page(ctx: &Ctx, email: &str, errors: &Errors) -> Markup {
    let body = html! {
        ol class="steps" aria-label=(ctx.t("steps")) {
            li aria-current="step" { (ctx.t("step-email")) }
            li { (ctx.t("step-letter")) }
            li { (ctx.t("step-receipt")) }
        }
        p { (ctx.t("deposit-intro")) }
        (errors.summary(ctx))
        form id="code-form" method="post" action="/deposit/code" novalidate {
            (csrf(ctx))
            (input(ctx, Input { kind: "email", required: true, autocomplete: Some("email"),
                dir: Some("ltr"), inputmode: Some("email"), maxlength: Some(limits::EMAIL),
                hint: Some(&ctx.t("email-hint")),
                ..Input::new("email", &ctx.t("field-email"), email) }, errors))
            button id="send-code" type="submit" class="primary" { (ctx.t("send-code")) }
        }
    };
    page(ctx, Area::Citizen, &ctx.t("deposit-title"), None, body)
}

pub async fn deposit_start(ctx: Ctx) -> HttpResponse {
    ctx.html(StatusCode::OK, code_page(&ctx, "", &Errors::default()))
}

pub async fn send_code(ctx: Ctx, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let posted = match super::read_form(&ctx, Area::Citizen, &req, &body, Some(Form::Code)) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let email = posted.text("email");
    let mut errors = Errors::default();
    if email.is_empty() {
        errors.add("email", ctx.t("error-email-required"));
    } else if text::email("email", &email).is_err() {
        errors.add("email", ctx.t("error-email-invalid"));
    }
    if !errors.is_empty() {
        return ctx.html(
            StatusCode::UNPROCESSABLE_ENTITY,
            code_page(&ctx, &email, &errors),
        );
    }
    let s = ctx.services();
    let lang = ctx.lang.portal();
    let address = email.clone();
    match run(move || portal::send_code(&s, &address, lang)).await {
        Ok(sent) => ctx.see_other(&format!(
            "/deposit/letter?challenge={}",
            encode(&sent.challenge_id)
        )),
        Err(e) => {
            let mut errors = Errors::default();
            errors.add("email", error_message(&ctx, &e));
            ctx.html(status_of(&e), code_page(&ctx, &email, &errors))
        }
    }
}

// --- deposit, step 2: the letter and the code --------------------------------------------------

#[derive(Debug, Default)]
struct LetterValues {
    unit: String,
    name: String,
    national_id: String,
    phone: String,
    territory: String,
    subject: String,
    message: String,
}

impl LetterValues {
    fn from(p: &Posted) -> Self {
        Self {
            unit: p.text("unit"),
            name: p.text("name"),
            national_id: p.text("national_id"),
            phone: p.text("phone"),
            territory: p.text("territory"),
            subject: p.text("subject"),
            message: p.fields.get("message").cloned().unwrap_or_default(),
        }
    }
}

fn service_name(ctx: &Ctx, s: &portal::Service) -> (String, String) {
    (
        super::pick(ctx, &s.name_ar, &s.name_fr, s.name_en.as_deref()),
        super::pick(
            ctx,
            &s.administration_ar,
            &s.administration_fr,
            s.administration_en.as_deref(),
        ),
    )
}

struct LetterPage<'a> {
    challenge: &'a str,
    email: &'a str,
    query: &'a str,
    services: &'a [portal::Service],
    territories: &'a [portal::Territory],
    values: &'a LetterValues,
    errors: &'a Errors,
    files_lost: bool,
}

fn letter_page(ctx: &Ctx, p: &LetterPage<'_>) -> Markup {
    let files_hint = layout::files_hint(ctx);
    let mut administrations: Vec<(String, Vec<&portal::Service>)> = Vec::new();
    for svc in p.services {
        let (_, admin) = service_name(ctx, svc);
        match administrations.last_mut() {
            Some((a, list)) if *a == admin => list.push(svc),
            _ => administrations.push((admin, vec![svc])),
        }
    }
    let unit_error = p.errors.of("unit");
    let body = html! {
        ol class="steps" aria-label=(ctx.t("steps")) {
            li { (ctx.t("step-email")) }
            li aria-current="step" { (ctx.t("step-letter")) }
            li { (ctx.t("step-receipt")) }
        }
        (layout::notice("info", &ctx.ta("code-sent", &[("email", FluentValue::from(p.email.to_owned()))])))
        @if p.files_lost { (layout::notice("warning", &ctx.t("files-choose-again"))) }
        (p.errors.summary(ctx))
        form id="service-search" class="inline-form" method="get" action="/deposit/letter" role="search" {
            input type="hidden" name="challenge" value=(p.challenge);
            label for="q" { (ctx.t("service-search")) }
            input id="q" name="q" type="search" value=(p.query) maxlength="100" data-filter="unit";
            button type="submit" class="secondary" { (ctx.t("search")) }
        }
        form id="deposit-form" method="post" action="/deposit" enctype="multipart/form-data" novalidate {
            (csrf(ctx))
            input type="hidden" name="challenge" value=(p.challenge);
            fieldset {
                legend { (ctx.t("legend-service")) }
                div class=(if unit_error.is_some() { "field has-error" } else { "field" }) {
                    label for="unit" { (ctx.t("field-service")) " " span class="required" aria-hidden="true" { "*" } }
                    @if let Some(e) = unit_error { p id="unit-error" class="field-error" { (e) } }
                    @if p.services.is_empty() {
                        p class="hint" { (ctx.t("service-none")) }
                    }
                    select id="unit" name="unit" required aria-invalid=[unit_error.map(|_| "true")]
                        aria-describedby=[unit_error.map(|_| "unit-error")] {
                        option value="" { (ctx.t("service-choose")) }
                        @for (admin, list) in &administrations {
                            optgroup label=(admin) {
                                @for svc in list {
                                    @let (name, _) = service_name(ctx, svc);
                                    option value=(svc.code) selected[svc.code == p.values.unit]
                                        data-search=(diwan_domain::text::normalise_for_search(&format!("{} {} {} {}", svc.name_ar, svc.name_fr, svc.name_en.as_deref().unwrap_or_default(), svc.code))) {
                                        (format!("{}{}", "\u{2014} ".repeat(svc.depth), name))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            fieldset {
                legend { (ctx.t("legend-identity")) }
                (input(ctx, Input { required: true, autocomplete: Some("name"), maxlength: Some(limits::NAME),
                    ..Input::new("name", &ctx.t("field-name"), &p.values.name) }, p.errors))
                (input(ctx, Input { maxlength: Some(limits::IDENTIFIER), dir: Some("ltr"),
                    hint: Some(&ctx.t("national-id-hint")),
                    ..Input::new("national_id", &ctx.t("field-national-id"), &p.values.national_id) }, p.errors))
                div class="field" {
                    label for="email-shown" { (ctx.t("field-email")) }
                    input id="email-shown" type="email" value=(p.email) readonly dir="ltr";
                }
                (input(ctx, Input { kind: "tel", autocomplete: Some("tel"), dir: Some("ltr"), inputmode: Some("tel"),
                    maxlength: Some(limits::PHONE),
                    ..Input::new("phone", &ctx.t("field-phone"), &p.values.phone) }, p.errors))
                @if !p.territories.is_empty() {
                    @let territory_error = p.errors.of("territory");
                    div class=(if territory_error.is_some() { "field has-error" } else { "field" }) {
                        label for="territory" { (ctx.t("field-territory")) }
                        p class="hint" id="territory-hint" { (ctx.t("territory-hint")) }
                        select id="territory" name="territory" aria-describedby="territory-hint"
                            aria-invalid=[territory_error.map(|_| "true")] {
                            option value="" { (ctx.t("territory-none")) }
                            @for t in p.territories {
                                option value=(t.code) selected[t.code == p.values.territory] {
                                    (super::pick(ctx, &t.name_ar, &t.name_fr, t.name_en.as_deref()))
                                }
                            }
                        }
                        @if let Some(e) = territory_error { p class="field-error" id="territory-error" { (e) } }
                    }
                }
            }
            fieldset {
                legend { (ctx.t("legend-letter")) }
                (input(ctx, Input { required: true, maxlength: Some(limits::SUBJECT),
                    ..Input::new("subject", &ctx.t("field-subject"), &p.values.subject) }, p.errors))
                (layout::textarea(ctx, Input { maxlength: Some(portal::MAX_MESSAGE_CHARS),
                    hint: Some(&ctx.t("message-hint")),
                    ..Input::new("message", &ctx.t("field-message"), &p.values.message) }, p.errors))
                (layout::files("file", &ctx.t("field-files"), ACCEPT, &files_hint, p.errors))
            }
            fieldset {
                legend { (ctx.t("legend-confirm")) }
                (input(ctx, Input { required: true, autocomplete: Some("one-time-code"), dir: Some("ltr"),
                    inputmode: Some("numeric"), maxlength: Some(6), hint: Some(&ctx.t("code-hint")),
                    ..Input::new("code", &ctx.t("field-code"), "") }, p.errors))
            }
            button id="submit-deposit" type="submit" class="primary" { (ctx.t("submit-deposit")) }
        }
        p { a href="/deposit" { (ctx.t("code-new")) } }
    };
    page(ctx, Area::Citizen, &ctx.t("deposit-title"), None, body)
}

#[derive(Debug, serde::Deserialize)]
pub struct LetterQuery {
    challenge: Option<String>,
    q: Option<String>,
}

/// The challenge's e-mail, if the challenge can still be answered.
async fn challenge_email(ctx: &Ctx, id: &str) -> Result<String, AppError> {
    let s = ctx.services();
    let id = id.to_owned();
    run(move || {
        let c = if diwan_app::ids::is_id(&id) {
            s.store.challenge(&id)?
        } else {
            None
        };
        match c {
            Some(c) if c.used_at.is_none() && c.expires_at > s.clock.now() => Ok(c.email),
            Some(c) if c.used_at.is_some() => Err(AppError::unprocessable("code_used", "used")),
            Some(_) => Err(AppError::unprocessable("code_expired", "expired")),
            None => Err(AppError::unprocessable("code_invalid", "unknown")),
        }
    })
    .await
}

/// The services matching `query`, and the territories a depositor may choose.
async fn services(
    ctx: &Ctx,
    query: &str,
) -> Result<(Vec<portal::Service>, Vec<portal::Territory>), AppError> {
    let s = ctx.services();
    let q = query.chars().take(100).collect::<String>();
    run(move || Ok((portal::services(&s, Some(&q))?, portal::territories(&s)?))).await
}

fn restart_page(ctx: &Ctx, e: &AppError) -> HttpResponse {
    ctx.html(
        status_of(e),
        page(
            ctx,
            Area::Citizen,
            &ctx.t("deposit-title"),
            None,
            html! {
                (layout::notice("error", &error_message(ctx, e)))
                p { a href="/deposit" class="button primary" { (ctx.t("code-new")) } }
            },
        ),
    )
}

pub async fn letter_form(ctx: Ctx, query: web::Query<LetterQuery>) -> HttpResponse {
    let challenge = query.challenge.clone().unwrap_or_default();
    let email = match challenge_email(&ctx, &challenge).await {
        Ok(e) => e,
        Err(e) => return restart_page(&ctx, &e),
    };
    let q = query.q.clone().unwrap_or_default();
    let (list, territories) = match services(&ctx, &q).await {
        Ok(l) => l,
        Err(e) => return restart_page(&ctx, &e),
    };
    let values = LetterValues::default();
    ctx.html(
        StatusCode::OK,
        letter_page(
            &ctx,
            &LetterPage {
                challenge: &challenge,
                email: &email,
                query: &q,
                services: &list,
                territories: &territories,
                values: &values,
                errors: &Errors::default(),
                files_lost: false,
            },
        ),
    )
}

/// Field checks done here so that each error is tied to its field.
fn check_letter(ctx: &Ctx, v: &LetterValues, posted: &Posted, code: &str) -> Errors {
    let mut errors = Errors::default();
    if v.unit.is_empty() {
        errors.add("unit", ctx.t("error-service-required"));
    }
    let required = |errors: &mut Errors, name: &str, value: &str, max: usize| {
        if value.is_empty() {
            errors.add(name, ctx.t("error-required"));
        } else if text::line(name, value, max).is_err() {
            errors.add(
                name,
                ctx.ta("error-too-long", &[("max", FluentValue::from(max))]),
            );
        }
    };
    required(&mut errors, "name", &v.name, limits::NAME);
    if !v.national_id.is_empty()
        && text::line("national_id", &v.national_id, limits::IDENTIFIER).is_err()
    {
        errors.add("national_id", ctx.t("error-invalid"));
    }
    if !v.phone.is_empty() && text::phone("phone", &v.phone).is_err() {
        errors.add("phone", ctx.t("error-phone-invalid"));
    }
    required(&mut errors, "subject", &v.subject, limits::SUBJECT);
    if text::multiline("message", &v.message, portal::MAX_MESSAGE_CHARS).is_err()
        && !v.message.is_empty()
    {
        errors.add(
            "message",
            ctx.ta(
                "error-too-long",
                &[("max", FluentValue::from(portal::MAX_MESSAGE_CHARS))],
            ),
        );
    }
    if posted.files.is_empty() {
        errors.add("file", ctx.t("error-files-required"));
    }
    for f in &posted.files {
        if !diwan_app::correspondence::accepted(f.blob.as_ref()) {
            errors.add(
                "file",
                ctx.ta(
                    "error-file-type",
                    &[("name", FluentValue::from(f.name.clone()))],
                ),
            );
        }
    }
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        errors.add("code", ctx.t("error-code-format"));
    }
    errors
}

/// The field an application error belongs to.
fn field_of(e: &AppError) -> &'static str {
    match e {
        AppError::Rejected { code, .. } => match *code {
            "code_invalid" | "code_expired" | "code_used" | "too_many_attempts" => "code",
            "unknown_service" => "unit",
            "unknown_territory" => "territory",
            "unsupported_media_type"
            | "file_too_large"
            | "too_many_files"
            | "file_required"
            | "request_too_large" => "file",
            _ => "",
        },
        _ => "",
    }
}

pub async fn deposit(ctx: Ctx, req: HttpRequest, payload: Multipart) -> HttpResponse {
    let s = ctx.services();
    let posted = match forms::multipart(&s, payload, &["file"]).await {
        Ok(p) => p,
        Err(e) => return super::app_refusal(&ctx, Area::Citizen, None, &e),
    };
    if let Some(refused) = super::admit(
        &ctx,
        Area::Citizen,
        None,
        &req,
        &posted,
        Some(Form::Deposit),
    ) {
        return refused;
    }
    let challenge = posted.text("challenge");
    let email = match challenge_email(&ctx, &challenge).await {
        Ok(e) => e,
        Err(e) => return restart_page(&ctx, &e),
    };
    let values = LetterValues::from(&posted);
    let code = posted.text("code");
    let mut errors = check_letter(&ctx, &values, &posted, &code);
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        let d = Deposit {
            unit: values.unit.clone(),
            name: values.name.clone(),
            national_id: Some(values.national_id.clone()),
            phone: Some(values.phone.clone()),
            territory: Some(values.territory.clone()),
            subject: values.subject.clone(),
            message: Some(values.message.clone()),
        };
        let (s2, ch, files) = (s.clone(), challenge.clone(), posted.files);
        match run(move || portal::deposit(&s2, &ch, &code, d, files)).await {
            Ok(outcome) => {
                return ctx.see_other(&format!(
                    "/receipt/{}?code={}",
                    encode(&outcome.id),
                    encode(&outcome.tracking_code)
                ));
            }
            Err(e) => {
                status = status_of(&e);
                errors.add(field_of(&e), error_message(&ctx, &e));
            }
        }
    }
    let (list, territories) = services(&ctx, "").await.unwrap_or_default();
    ctx.html(
        status,
        letter_page(
            &ctx,
            &LetterPage {
                challenge: &challenge,
                email: &email,
                query: "",
                services: &list,
                territories: &territories,
                values: &values,
                errors: &errors,
                files_lost: true,
            },
        ),
    )
}

// --- the receipt ------------------------------------------------------------------------------

fn t(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The localised name in a receipt's `{name_ar, name_fr}` object.
fn name_in(ctx: &Ctx, v: &Value) -> String {
    super::pick(ctx, t(&v["name_ar"]), t(&v["name_fr"]), None)
}

/// The details of a signed receipt, as a definition list (shared with the back office).
pub fn receipt_details(ctx: &Ctx, payload: &Value, pdf_href: &str) -> Markup {
    let received = &payload["received_at"];
    let hijri = if ctx.lang == super::Lang::Ar {
        t(&received["hijri"]["text_ar"])
    } else {
        t(&received["hijri"]["text_fr"])
    };
    let deadline = &payload["deadline"];
    let deadline_hijri = if ctx.lang == super::Lang::Ar {
        t(&deadline["hijri"]["text_ar"])
    } else {
        t(&deadline["hijri"]["text_fr"])
    };
    let silence = match t(&deadline["silence"]) {
        "acceptance" => ctx.t("silence-acceptance"),
        "rejection" => ctx.t("silence-rejection"),
        _ => ctx.t("silence-none"),
    };
    let sentence = match ctx.lang {
        super::Lang::Ar => t(&deadline["sentence_ar"]),
        _ => t(&deadline["sentence_fr"]),
    };
    let local = t(&received["local"]).replace('T', " ");
    let url = t(&payload["verification_url"]);
    html! {
        div class="receipt" {
            dl class="details" {
                dt { (ctx.t("receipt-number")) }
                dd id="receipt-number" dir="ltr" { (t(&payload["registration_number"])) }
                dt { (ctx.t("receipt-received")) }
                dd id="received-at" {
                    span dir="ltr" { (local) } " (" (t(&received["time_zone"])) ")"
                    br;
                    span class="hijri" { (hijri) }
                }
                dt { (ctx.t("receipt-administration")) }
                dd { (bdi(&name_in(ctx, &payload["administration"]))) }
                dt { (ctx.t("receipt-registry")) }
                dd { (bdi(&name_in(ctx, &payload["registry"]))) }
                dt { (ctx.t("receipt-unit")) }
                dd id="unit-in-charge" {
                    (bdi(&name_in(ctx, &payload["unit"])))
                    @if let Some(contact) = payload["unit"]["contact"].as_str() {
                        br; span class="contact" dir="auto" { (contact) }
                    }
                }
                dt { (ctx.t("receipt-depositor")) }
                dd id="depositor" { (bdi(t(&payload["depositor"]["name"]))) }
                dt { (ctx.t("receipt-subject")) }
                dd id="subject" { (bdi(t(&payload["subject"]))) }
                @if !deadline.is_null() {
                    dt { (ctx.t("receipt-deadline")) }
                    dd id="deadline" {
                        span dir="ltr" { (t(&deadline["date"])) }
                        @if !deadline_hijri.is_empty() { " — " span class="hijri" { (deadline_hijri) } }
                        br;
                        span id="silence" { (silence) }
                        @if !sentence.is_empty() { br; span class="sentence" { (sentence) } }
                    }
                }
                @if let Some(code) = payload["tracking_code"].as_str() {
                    dt { (ctx.t("receipt-tracking-code")) }
                    dd id="tracking-code" dir="ltr" class="code" { (code) }
                }
            }
            h2 { (ctx.t("receipt-files")) }
            div class="table-wrap" {
                table id="files" {
                    caption class="visually-hidden" { (ctx.t("receipt-files")) }
                    thead { tr {
                        th scope="col" { (ctx.t("file-name")) }
                        th scope="col" { (ctx.t("file-size")) }
                        th scope="col" { (ctx.t("file-digest")) }
                    } }
                    tbody {
                        @for f in payload["files"].as_array().into_iter().flatten() {
                            tr {
                                td { (bdi(t(&f["name"]))) }
                                td { (layout::size_text(ctx, f["size"].as_u64().unwrap_or(0))) }
                                td dir="ltr" class="digest" { code { (t(&f["sha256"])) } }
                            }
                        }
                    }
                }
            }
            div class="receipt-actions" {
                a id="receipt-pdf" class="button primary" href=(pdf_href) download { (ctx.t("receipt-download-pdf")) }
                a id="verify-link" class="button secondary" href=(url) { (ctx.t("receipt-verify-link")) }
            }
            figure class="qr" {
                (layout::qr_svg(url, &ctx.t("receipt-qr-label")))
                figcaption { (ctx.t("receipt-qr-caption")) br; span dir="ltr" class="url" { (url) } }
            }
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct CodeQuery {
    code: Option<String>,
}

pub async fn receipt(
    ctx: Ctx,
    id: web::Path<String>,
    query: web::Query<CodeQuery>,
) -> HttpResponse {
    let id: String = id.into_inner().chars().take(64).collect();
    let code: String = query
        .code
        .clone()
        .unwrap_or_default()
        .chars()
        .take(64)
        .collect();
    let s = ctx.services();
    let (id2, code2) = (id.clone(), code.clone());
    let doc = run(move || {
        diwan_app::receipts::get(
            &s,
            &ReceiptAccess::TrackingCode(&code2),
            &id2,
            ReceiptKind::Receipt,
        )
    })
    .await;
    match doc {
        Ok(doc) => {
            let pdf = format!(
                "/api/v1/receipts/{}/pdf?code={}",
                encode(&id),
                encode(&code)
            );
            let body = html! {
                (layout::notice("success", &ctx.t("receipt-registered")))
                (receipt_details(&ctx, &doc.payload, &pdf))
                p { (ctx.t("receipt-keep")) }
            };
            ctx.html(
                StatusCode::OK,
                page(&ctx, Area::Citizen, &ctx.t("receipt-title"), None, body),
            )
        }
        Err(e) => super::refusal(
            &ctx,
            Area::Citizen,
            None,
            status_of(&e),
            &ctx.t("error-receipt-not-found"),
        ),
    }
}

// --- tracking ---------------------------------------------------------------------------------

fn track_page(
    ctx: &Ctx,
    number: &str,
    errors: &Errors,
    result: Option<(&portal::PublicStatus, &str)>,
) -> Markup {
    let unit = result
        .map(|(st, _)| super::pick(ctx, &st.unit_ar, &st.unit_fr, st.unit_en.as_deref()))
        .unwrap_or_default();
    // Where it was registered (the unit in charge may have changed since).
    let registry = result
        .map(|(st, _)| super::pick(ctx, &st.registry_ar, &st.registry_fr, None))
        .unwrap_or_default();
    let body = html! {
        p { (ctx.t("track-intro")) }
        (errors.summary(ctx))
        form id="track-form" method="post" action="/track" novalidate {
            (csrf(ctx))
            (input(ctx, Input { required: true, dir: Some("ltr"), maxlength: Some(64),
                hint: Some(&ctx.t("track-number-hint")),
                ..Input::new("number", &ctx.t("field-number"), number) }, errors))
            (input(ctx, Input { required: true, dir: Some("ltr"), maxlength: Some(64), autocomplete: Some("off"),
                ..Input::new("code", &ctx.t("field-tracking-code"), "") }, errors))
            button id="track-submit" type="submit" class="primary" { (ctx.t("track-submit")) }
        }
        @if let Some((st, code)) = result {
            section id="track-result" aria-labelledby="track-result-title" {
                h2 id="track-result-title" { (ctx.t("track-result")) }
                dl class="details" {
                    dt { (ctx.t("receipt-number")) }
                    dd dir="ltr" { (st.registration_number) }
                    dt { (ctx.t("receipt-subject")) }
                    dd { (bdi(&st.subject)) }
                    dt { (ctx.t("receipt-unit")) }
                    dd { (bdi(&unit)) }
                    dt { (ctx.t("handling-status")) }
                    dd id="track-status" data-status=(st.status.as_str()) { (ctx.t(&format!("status-{}", st.status.as_str()))) }
                }
                @if let Some(reply) = &st.reply {
                    h3 { (ctx.t("track-reply")) }
                    p { span dir="ltr" { (reply.registration_number) } " — " (bdi(&reply.subject)) }
                    ul id="track-reply-files" class="files" {
                        @for f in &reply.files {
                            li {
                                a href=(format!("/api/v1/replies/{}/files/{}?code={}", super::encode(&st.id), super::encode(&f.id), super::encode(code))) {
                                    (bdi(&f.name))
                                }
                                " · " (super::layout::size_text(ctx, f.size))
                            }
                        }
                    }
                }
                h3 { (ctx.t("track-history")) }
                ol id="status-history" class="timeline" {
                    @for ev in &st.events {
                        @let (greg, hijri) = super::when(ctx, &ev.at);
                        li {
                            strong { (ctx.t(&format!("event-{}", ev.kind))) }
                            @if ev.kind == "registered" {
                                " — " (bdi(&registry))
                            }
                            br;
                            time datetime=(ev.at.to_rfc3339()) dir="ltr" { (greg) }
                            " · " span class="hijri" { (hijri) }
                        }
                    }
                }
            }
        }
    };
    page(ctx, Area::Citizen, &ctx.t("track-title"), None, body)
}

pub async fn track_form(ctx: Ctx) -> HttpResponse {
    ctx.html(
        StatusCode::OK,
        track_page(&ctx, "", &Errors::default(), None),
    )
}

pub async fn track(ctx: Ctx, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let posted = match super::read_form(&ctx, Area::Citizen, &req, &body, Some(Form::Track)) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let (number, code) = (posted.text("number"), posted.text("code"));
    let mut errors = Errors::default();
    if number.is_empty() {
        errors.add("number", ctx.t("error-required"));
    }
    if code.is_empty() {
        errors.add("code", ctx.t("error-required"));
    }
    if !errors.is_empty() {
        return ctx.html(
            StatusCode::UNPROCESSABLE_ENTITY,
            track_page(&ctx, &number, &errors, None),
        );
    }
    let s = ctx.services();
    let (n, c) = (number.clone(), code.clone());
    match run(move || portal::track(&s, &n, &c)).await {
        Ok(status) => ctx.html(
            StatusCode::OK,
            track_page(&ctx, &number, &Errors::default(), Some((&status, &code))),
        ),
        Err(e) => {
            let mut errors = Errors::default();
            errors.add("code", error_message(&ctx, &e));
            ctx.html(status_of(&e), track_page(&ctx, &number, &errors, None))
        }
    }
}

// --- verification -----------------------------------------------------------------------------

fn report_view(
    ctx: &Ctx,
    report: &diwan_app::receipts::verify::Report,
    annulled: Option<&str>,
) -> Markup {
    let c = report.receipt.clone().unwrap_or_default();
    let (class, text) = if report.valid {
        ("ok", ctx.t("verify-valid"))
    } else {
        ("bad", ctx.t("verify-invalid"))
    };
    html! {
        div id="verify-result" class=(format!("status {class}")) role="status" data-valid=(report.valid) { (text) }
        @if let Some(at) = annulled {
            (layout::notice("warning", &ctx.ta("verify-annulled", &[("at", FluentValue::from(at.to_owned()))])))
        }
        @if !c.is_null() {
            dl class="details" {
                dt { (ctx.t("receipt-number")) }
                dd dir="ltr" { (t(&c["registration_number"])) }
                dt { (ctx.t("receipt-registry")) }
                dd { (bdi(&name_in(ctx, &c["registry"]))) }
                dt { (ctx.t("receipt-administration")) }
                dd { (bdi(&name_in(ctx, &c["administration"]))) }
                dt { (ctx.t("receipt-received")) }
                dd { span dir="ltr" { (t(&c["received_at"]["local"]).replace('T', " ")) } " (" (t(&c["received_at"]["time_zone"])) ")"
                     br; span class="hijri" { (if ctx.lang == super::Lang::Ar { t(&c["received_at"]["hijri"]["text_ar"]) } else { t(&c["received_at"]["hijri"]["text_fr"]) }) } }
                @if !c["deadline"].is_null() {
                    dt { (ctx.t("receipt-deadline")) }
                    dd dir="ltr" { (t(&c["deadline"]["date"])) }
                }
                @for f in c["files"].as_array().into_iter().flatten() {
                    dt { (ctx.t("file-digest")) }
                    dd dir="ltr" class="digest" { code { (t(&f["sha256"])) } }
                }
                dt { (ctx.t("verify-signer")) }
                dd dir="auto" { (report.signature.signer.clone().unwrap_or_default()) }
                dt { (ctx.t("verify-anchor")) }
                dd dir="auto" { (report.chain.anchor.clone().unwrap_or_else(|| "—".into())) }
                dt { (ctx.t("verify-log")) }
                dd dir="ltr" { (report.log.as_ref().and_then(|l| l.leaf_index.map(|i| format!("#{i} / {}", l.tree_size.unwrap_or(0)))).unwrap_or_default()) }
            }
        }
        @if !report.problems.is_empty() {
            h2 { (ctx.t("verify-problems")) }
            ul id="verify-problems" { @for p in &report.problems { li dir="ltr" { (p) } } }
        }
    }
}

fn verify_upload_form(ctx: &Ctx, errors: &Errors) -> Markup {
    html! {
        (errors.summary(ctx))
        form id="verify-form" method="post" action="/verify" enctype="multipart/form-data" novalidate {
            (csrf(ctx))
            div class=(if errors.of("receipt").is_some() { "field has-error" } else { "field" }) {
                label for="receipt" { (ctx.t("verify-file")) }
                p id="receipt-hint" class="hint" { (ctx.t("verify-file-hint")) }
                @if let Some(e) = errors.of("receipt") { p id="receipt-error" class="field-error" { (e) } }
                input id="receipt" name="receipt" type="file" accept="application/pdf,application/json,.pdf,.json,.jws"
                    required aria-describedby="receipt-hint";
            }
            button id="verify-submit" type="submit" class="primary" { (ctx.t("verify-submit")) }
        }
    }
}

pub async fn verify_form(ctx: Ctx) -> HttpResponse {
    let body =
        html! { p { (ctx.t("verify-intro")) } (verify_upload_form(&ctx, &Errors::default())) };
    ctx.html(
        StatusCode::OK,
        page(&ctx, Area::Citizen, &ctx.t("verify-title"), None, body),
    )
}

pub async fn verify_upload(ctx: Ctx, req: HttpRequest, payload: Multipart) -> HttpResponse {
    let s = ctx.services();
    let max = diwan_app::receipts::verify::MAX_INPUT;
    let (posted, file) = match forms::multipart_in_memory(payload, "receipt", max).await {
        Ok(p) => p,
        Err(e) => return super::app_refusal(&ctx, Area::Citizen, None, &e),
    };
    if let Some(refused) =
        super::admit(&ctx, Area::Citizen, None, &req, &posted, Some(Form::Verify))
    {
        return refused;
    }
    let Some(bytes) = file else {
        let mut errors = Errors::default();
        errors.add("receipt", ctx.t("error-verify-file-required"));
        let body = html! { (verify_upload_form(&ctx, &errors)) };
        return ctx.html(
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&ctx, Area::Citizen, &ctx.t("verify-title"), None, body),
        );
    };
    let report = run(move || diwan_app::receipts::verify(&s, &bytes)).await;
    match report {
        Ok(report) => {
            let body = html! { (report_view(&ctx, &report, None)) h2 { (ctx.t("verify-another")) } (verify_upload_form(&ctx, &Errors::default())) };
            ctx.html(
                StatusCode::OK,
                page(&ctx, Area::Citizen, &ctx.t("verify-title"), None, body),
            )
        }
        Err(e) => super::app_refusal(&ctx, Area::Citizen, None, &e),
    }
}

/// The QR code's target: what the register says about a receipt, without personal data.
pub async fn verify_id(ctx: Ctx, path: web::Path<String>) -> HttpResponse {
    let s = ctx.services();
    let id: String = path.into_inner().chars().take(64).collect();
    let found = run(move || {
        let Some(stored) = s.store.receipt(&id, ReceiptKind::Receipt)? else {
            return Ok(None);
        };
        let mut report = diwan_app::receipts::verify(&s, stored.receipt.jws.as_bytes())?;
        if let Some(c) = report.receipt.as_mut().and_then(Value::as_object_mut) {
            // Personal data stays off this public page.
            for key in ["depositor", "subject", "tracking_code"] {
                c.remove(key);
            }
            if let Some(files) = c.get_mut("files").and_then(Value::as_array_mut) {
                for f in files.iter_mut().filter_map(Value::as_object_mut) {
                    f.remove("name");
                }
            }
        }
        let annulled = s
            .store
            .receipt(&id, ReceiptKind::Annulment)?
            .map(|a| diwan_app::receipts::content::time_text(&a.receipt.issued_at));
        Ok(Some((report, annulled)))
    })
    .await;
    let body = match &found {
        Ok(Some((report, annulled))) => report_view(&ctx, report, annulled.as_deref()),
        Ok(None) | Err(_) => html! {
            div id="verify-result" class="status bad" role="status" data-valid="false" { (ctx.t("verify-not-found")) }
        },
    };
    let status = match found {
        Ok(Some(_)) => StatusCode::OK,
        _ => StatusCode::NOT_FOUND,
    };
    ctx.html(
        status,
        page(&ctx, Area::Citizen, &ctx.t("verify-title"), None, body),
    )
}

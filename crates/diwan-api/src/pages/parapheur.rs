//! The back office's parapheur: what waits for me, what I submitted, submitting a document to
//! its type's circuit, a document with its circuit, history and the forms of my step, and the
//! signer's enrolment.

use std::io::Read as _;

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use diwan_app::AppError;
use diwan_app::access::Actor;
use diwan_app::parapheur::circuit::{ActRequest, DocumentView, QueueItem, Submission};
use diwan_domain::circuit::{Action, StepKind, StepState};
use maud::{Markup, html};
use secrecy::SecretString;

use super::forms;
use super::layout::{self, Area, Errors, Input, bdi, csrf, input, page};
use super::office::{agent, done_then, error_page};
use super::{Ctx, encode, run, when};

/// The parapheur's home: my queue, my documents, and a form to submit one.
pub async fn home(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = ctx.services();
    let a2 = actor.clone();
    let loaded = run(move || {
        Ok((
            diwan_app::parapheur::circuit::queue(&s, &a2)?,
            diwan_app::parapheur::circuit::submitted(&s, &a2)?,
            diwan_app::parapheur::circuit::templates(&s, &a2)?,
            diwan_app::parapheur::keys::mine(&s, &a2)?,
        ))
    })
    .await;
    let (queue, mine, templates, certificate) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    let body = html! {
        p {
            @match &certificate {
                Some(c) if c.revoked_at.is_none() => {
                    (ctx.t("signer-enrolled")) " " span dir="ltr" { (c.subject) }
                }
                _ => { a id="signer-enrol" href="/office/signer" { (ctx.t("signer-enrol-link")) } }
            }
        }
        p { a id="validate-link" href="/office/signatures/validate" { (ctx.t("nav-validate")) } }
        h2 { (ctx.t("parapheur-queue")) }
        (queue_table(&ctx, &queue))
        h2 { (ctx.t("parapheur-submit")) }
        @if templates.is_empty() {
            p class="hint" id="parapheur-no-template" { (ctx.t("parapheur-no-template")) }
        } @else {
            form id="parapheur-submit" method="post" action="/office/parapheur" enctype="multipart/form-data" {
                (csrf(&ctx))
                (input(&ctx, Input { required: true, maxlength: Some(300),
                    ..Input::new("title", &ctx.t("parapheur-title"), "") }, &Errors::default()))
                div class="field" {
                    label for="document_type" { (ctx.t("parapheur-type")) }
                    select id="document_type" name="document_type" required {
                        @for t in &templates {
                            option value=(t.document_type) { (bdi(&t.name)) }
                        }
                    }
                }
                (layout::files("file", &ctx.t("parapheur-file"), "application/pdf,.pdf", &ctx.t("parapheur-file-hint"), &Errors::default()))
                button type="submit" class="primary" { (ctx.t("parapheur-submit-button")) }
            }
        }
        h2 { (ctx.t("parapheur-mine")) }
        @if mine.is_empty() {
            p id="parapheur-mine-empty" { (ctx.t("parapheur-mine-empty")) }
        } @else {
            ul id="parapheur-mine" {
                @for d in &mine {
                    li {
                        a href=(format!("/office/parapheur/{}", encode(&d.id))) { (bdi(&d.title)) }
                        " — " (ctx.t(&format!("circuit-{}", d.status.as_str())))
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
            &ctx.t("parapheur-heading"),
            Some(&actor.email),
            body,
        ),
    )
}

/// What waits for me; when signatures are among it, one form signs those I tick with one
/// PIN entry (batch signing).
fn queue_table(ctx: &Ctx, queue: &[QueueItem]) -> Markup {
    let signatures = queue
        .iter()
        .filter(|i| i.step.kind == StepKind::Signature)
        .count();
    let table = html! {
        div class="table-wrap" {
            table id="parapheur-queue" {
                caption class="visually-hidden" { (ctx.t("parapheur-queue")) }
                thead { tr {
                    @if signatures > 0 { th scope="col" { (ctx.t("parapheur-batch-select")) } }
                    th scope="col" { (ctx.t("parapheur-title")) }
                    th scope="col" { (ctx.t("parapheur-step")) }
                    th scope="col" { (ctx.t("parapheur-since")) }
                } }
                tbody {
                    @for item in queue {
                        @let (since, _) = when(ctx, &item.document.updated_at);
                        @let link = format!("queue-{}", item.document.id);
                        tr {
                            @if signatures > 0 {
                                td {
                                    @if item.step.kind == StepKind::Signature {
                                        input type="checkbox" name="document" value=(item.document.id)
                                            aria-labelledby=(link);
                                    }
                                }
                            }
                            td { a id=(link) href=(format!("/office/parapheur/{}", encode(&item.document.id))) { (bdi(&item.document.title)) } }
                            td { (ctx.t(&format!("step-kind-{}", item.step.kind.as_str()))) }
                            td dir="ltr" { (since) }
                        }
                    }
                }
            }
        }
    };
    html! {
        @if queue.is_empty() {
            p id="parapheur-queue-empty" { (ctx.t("parapheur-queue-empty")) }
        } @else if signatures == 0 {
            (table)
        } @else {
            form id="parapheur-batch" method="post" action="/office/parapheur/sign" {
                (csrf(ctx))
                (table)
                (input(ctx, Input { kind: "password", required: true, autocomplete: Some("off"), dir: Some("ltr"),
                    inputmode: Some("numeric"), maxlength: Some(64), hint: Some(&ctx.t("parapheur-batch-hint")),
                    ..Input::new("pin", &ctx.t("parapheur-pin"), "") }, &Errors::default()))
                button type="submit" class="primary" { (ctx.t("parapheur-batch-sign")) }
            }
        }
    }
}

/// Signs the ticked documents of the queue with one PIN entry, then says what became of each.
pub async fn sign_batch(ctx: Ctx, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let posted = match super::read_form(&ctx, Area::Office, &req, &body, None) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let ids = posted.all("document");
    let pin = SecretString::from(posted.text("pin"));
    let s = ctx.services();
    let a2 = actor.clone();
    let done = run(move || {
        // The titles, as the queue showed them, before the signatures move the documents on.
        let queue = diwan_app::parapheur::circuit::queue(&s, &a2)?;
        let results = diwan_app::parapheur::circuit::sign_batch(&s, &a2, &ids, &pin)?;
        Ok((queue, results))
    })
    .await;
    let (queue, results) = match done {
        Ok(v) => v,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    let signed = results.iter().filter(|r| r.signed).count();
    let body = html! {
        p id="parapheur-batch-count" role="status" {
            (ctx.t("parapheur-batch-signed-count")) " " bdi { (signed) " / " (results.len()) }
        }
        ul id="parapheur-batch-results" {
            @for r in &results {
                @let title = queue.iter().find(|i| i.document.id == r.id).map(|i| i.document.title.clone()).unwrap_or_else(|| r.id.clone());
                li {
                    a href=(format!("/office/parapheur/{}", encode(&r.id))) { (bdi(&title)) }
                    " — "
                    @if r.signed {
                        span class="ok" { (ctx.t("parapheur-batch-ok")) }
                    } @else {
                        span class="error" { (ctx.t("parapheur-batch-failed")) " " bdi { (r.detail.clone().unwrap_or_default()) } }
                    }
                }
            }
        }
        p { a href="/office/parapheur" { (ctx.t("parapheur-back")) } }
    };
    ctx.html(
        StatusCode::OK,
        page(
            &ctx,
            Area::Office,
            &ctx.t("parapheur-batch-heading"),
            Some(&actor.email),
            body,
        ),
    )
}

/// Reads an uploaded PDF whole (bounded by the parapheur's limit).
fn read_pdf(upload: &diwan_app::correspondence::Upload) -> Result<Vec<u8>, AppError> {
    let limit = diwan_app::parapheur::circuit::MAX_PDF as u64;
    if upload.blob.size() > limit {
        return Err(AppError::rejected(
            diwan_app::error::Rejection::TooLarge,
            "document_too_large",
            format!("a document is at most {limit} bytes"),
        ));
    }
    let mut bytes = Vec::new();
    upload.blob.reader()?.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Submits a document to its type's circuit.
pub async fn submit(ctx: Ctx, req: HttpRequest, payload: Multipart) -> HttpResponse {
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
    let a2 = actor.clone();
    let done = run(move || {
        let upload = posted
            .files
            .first()
            .ok_or_else(|| AppError::unprocessable("file_required", "choose the PDF to submit"))?;
        let submission = Submission {
            title: posted.text("title"),
            document_type: posted.get("document_type"),
            stages: None,
            file_name: upload.name.clone(),
            pdf: read_pdf(upload)?,
            outgoing: None,
        };
        diwan_app::parapheur::circuit::submit(&s, &a2, submission)
    })
    .await;
    match done {
        Ok(view) => ctx.see_other(&format!("/office/parapheur/{}", encode(&view.document.id))),
        Err(e) => error_page(&ctx, Some(&actor), &e),
    }
}

/// A document: its circuit, its history, the document itself, and the forms of my step.
pub async fn document(ctx: Ctx, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = ctx.services();
    let a2 = actor.clone();
    let id = id.into_inner();
    let loaded = run(move || {
        let view = diwan_app::parapheur::circuit::get(&s, &a2, &id)?;
        let names = view
            .steps
            .iter()
            .flat_map(|st| [st.agent_id.clone(), st.acted_by.clone()])
            .chain(view.history.iter().map(|e| Some(e.actor_id.clone())))
            .flatten()
            .filter_map(|agent_id| {
                s.store
                    .agent(&agent_id)
                    .ok()
                    .flatten()
                    .map(|a| (agent_id, a.display_name))
            })
            .collect::<std::collections::HashMap<_, _>>();
        let org = diwan_app::org::snapshot(&s)?;
        Ok((view, names, org))
    })
    .await;
    let (view, names, org) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    let base = format!("/office/parapheur/{}", encode(&view.document.id));
    let who = |step: &diwan_app::model::CircuitStep| -> String {
        match (&step.agent_id, &step.unit_id, step.role) {
            (Some(a), _, _) => names.get(a).cloned().unwrap_or_else(|| a.clone()),
            (None, Some(u), Some(role)) => format!(
                "{} — {}",
                org.unit(u)
                    .map(|u| super::pick(&ctx, &u.name_ar, &u.name_fr, u.name_en.as_deref()))
                    .unwrap_or_default(),
                ctx.t(&format!("role-{}", role.as_str()))
            ),
            _ => String::new(),
        }
    };
    let body = html! {
        @if req.query_string().contains("done=") { (layout::notice("success", &ctx.t("parapheur-done"))) }
        dl class="details" {
            dt { (ctx.t("parapheur-title")) }
            dd id="parapheur-document-title" { (bdi(&view.document.title)) }
            dt { (ctx.t("parapheur-status")) }
            dd id="parapheur-status" data-status=(view.document.status.as_str()) { (ctx.t(&format!("circuit-{}", view.document.status.as_str()))) }
        }
        (action_forms(&ctx, &view, &base))
        h2 { (ctx.t("parapheur-circuit")) }
        div class="table-wrap" {
            table id="parapheur-steps" {
                caption class="visually-hidden" { (ctx.t("parapheur-circuit")) }
                thead { tr {
                    th scope="col" { (ctx.t("parapheur-stage")) }
                    th scope="col" { (ctx.t("parapheur-step")) }
                    th scope="col" { (ctx.t("parapheur-who")) }
                    th scope="col" { (ctx.t("parapheur-state")) }
                } }
                tbody {
                    @for st in &view.steps {
                        tr data-state=(st.state.as_str()) {
                            td dir="ltr" { (st.stage + 1) }
                            td { (ctx.t(&format!("step-kind-{}", st.kind.as_str()))) }
                            td { (bdi(&who(st))) }
                            td {
                                (ctx.t(&format!("step-state-{}", st.state.as_str())))
                                @if let Some(c) = &st.comment { br; span class="note" { (bdi(c)) } }
                            }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("parapheur-document")) }
        p { a id="parapheur-pdf" href=(format!("{base}/document.pdf")) target="_blank" rel="noopener" { (ctx.t("parapheur-open")) } }
        iframe class="pdf-view" src=(format!("{base}/document.pdf")) title=(ctx.t("parapheur-document")) loading="lazy" {}
        h2 { (ctx.t("history")) }
        ol id="parapheur-history" class="timeline" {
            @for e in &view.history {
                @let (greg, hijri) = when(&ctx, &e.at);
                li {
                    strong { (ctx.t(&format!("parapheur-event-{}", e.kind))) }
                    " — " (bdi(names.get(&e.actor_id).map_or("", String::as_str)))
                    @if let Some(c) = e.detail.get("comment").and_then(|v| v.as_str()) {
                        br; span class="note" { (bdi(c)) }
                    }
                    br;
                    time datetime=(e.at.to_rfc3339()) dir="ltr" { (greg) } " · " span class="hijri" { (hijri) }
                }
            }
        }
    };
    ctx.html(
        StatusCode::OK,
        page(
            &ctx,
            Area::Office,
            &view.document.title,
            Some(&actor.email),
            body,
        ),
    )
}

/// The forms of the viewer's pending step, if any.
fn action_forms(ctx: &Ctx, view: &DocumentView, base: &str) -> Markup {
    let Some(step) = view
        .steps
        .iter()
        .find(|st| view.yours.contains(&st.id) && st.state == StepState::Pending)
    else {
        return html! {};
    };
    let earlier: Vec<usize> = (0..step.stage).collect();
    html! {
        section id="parapheur-actions" aria-labelledby="parapheur-actions-title" {
            h2 id="parapheur-actions-title" { (ctx.t("parapheur-your-step")) }
            @match step.kind {
                StepKind::Visa => {
                    form method="post" action=(format!("{base}/approve")) id="form-approve" {
                        (csrf(ctx))
                        (layout::textarea(ctx, Input { maxlength: Some(2000), ..Input::new("comment", &ctx.t("parapheur-comment"), "") }, &Errors::default()))
                        button type="submit" class="primary" { (ctx.t("parapheur-approve")) }
                    }
                }
                StepKind::Signature => {
                    form method="post" action=(format!("{base}/sign")) id="form-sign" {
                        (csrf(ctx))
                        (input(ctx, Input { kind: "password", required: true, autocomplete: Some("off"), dir: Some("ltr"),
                            inputmode: Some("numeric"), maxlength: Some(64), hint: Some(&ctx.t("parapheur-pin-hint")),
                            ..Input::new("pin", &ctx.t("parapheur-pin"), "") }, &Errors::default()))
                        button type="submit" class="primary" { (ctx.t("parapheur-sign")) }
                    }
                }
            }
            form method="post" action=(format!("{base}/reject")) id="form-reject" {
                (csrf(ctx))
                (layout::textarea(ctx, Input { required: true, maxlength: Some(2000), ..Input::new("reason", &ctx.t("parapheur-reason"), "") }, &Errors::default()))
                button type="submit" { (ctx.t("parapheur-reject")) }
            }
            @if !earlier.is_empty() {
                form method="post" action=(format!("{base}/send-back")) id="form-send-back" {
                    (csrf(ctx))
                    div class="field" {
                        label for="to_stage" { (ctx.t("parapheur-back-to")) }
                        select id="to_stage" name="to_stage" {
                            @for k in &earlier { option value=(k) { (k + 1) } }
                        }
                    }
                    button type="submit" { (ctx.t("parapheur-send-back")) }
                }
            }
        }
    }
}

/// An action posted from the document page.
pub async fn act(
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
    let (id, action) = path.into_inner();
    let action = match action.as_str() {
        "approve" => Action::Approve,
        "sign" => Action::Sign,
        "reject" => Action::Reject,
        "send-back" => match posted.get("to_stage").and_then(|t| t.parse().ok()) {
            Some(to) => Action::SendBack { to },
            None => {
                return error_page(
                    &ctx,
                    Some(&actor),
                    &AppError::unprocessable("invalid_action", "choose a stage"),
                );
            }
        },
        _ => return error_page(&ctx, Some(&actor), &AppError::not_found("action")),
    };
    let request = ActRequest {
        action,
        pin: posted.get("pin").map(SecretString::from),
        comment: posted.get("reason").or_else(|| posted.get("comment")),
    };
    let s = ctx.services();
    let (a2, id2) = (actor.clone(), id.clone());
    let done = run(move || diwan_app::parapheur::circuit::act(&s, &a2, &id2, request)).await;
    done_then(
        &ctx,
        &actor,
        done,
        &format!("/office/parapheur/{}?done=1", encode(&id)),
    )
}

/// The document as it is now, inline.
pub async fn pdf(ctx: Ctx, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = ctx.services();
    let a2 = actor.clone();
    let id = id.into_inner();
    match run(move || diwan_app::parapheur::circuit::pdf(&s, &a2, &id)).await {
        Ok((name, bytes)) => HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}\"", encode(&name)),
            ))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .body(bytes),
        Err(e) => error_page(&ctx, Some(&actor), &e),
    }
}

/// The signer's enrolment form (or their certificate).
pub async fn signer(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let s = ctx.services();
    let a2 = actor.clone();
    let mine = match run(move || diwan_app::parapheur::keys::mine(&s, &a2)).await {
        Ok(m) => m,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    ctx.html(
        StatusCode::OK,
        signer_page(&ctx, &actor, mine.as_ref(), &Errors::default()),
    )
}

fn signer_page(
    ctx: &Ctx,
    actor: &Actor,
    mine: Option<&diwan_app::parapheur::SignerCertificate>,
    errors: &Errors,
) -> Markup {
    let body = html! {
        @if let Some(c) = mine.filter(|c| c.revoked_at.is_none()) {
            dl class="details" id="signer-certificate" {
                dt { (ctx.t("signer-subject")) } dd dir="ltr" { (c.subject) }
                dt { (ctx.t("signer-valid-until")) } dd dir="ltr" { (c.not_after.format("%Y-%m-%d").to_string()) }
            }
        } @else {
            (errors.summary(ctx))
            form id="signer-form" method="post" action="/office/signer" {
                (csrf(ctx))
                (input(ctx, Input { required: true, maxlength: Some(128), autocomplete: Some("name"),
                    ..Input::new("name_latin", &ctx.t("signer-name-latin"), "") }, errors))
                (input(ctx, Input { maxlength: Some(128), ..Input::new("name_ar", &ctx.t("signer-name-ar"), "") }, errors))
                (input(ctx, Input { maxlength: Some(128), ..Input::new("function", &ctx.t("signer-function"), "") }, errors))
                (input(ctx, Input { kind: "password", required: true, autocomplete: Some("new-password"), dir: Some("ltr"),
                    maxlength: Some(64), hint: Some(&ctx.t("signer-pin-hint")),
                    ..Input::new("pin", &ctx.t("parapheur-pin"), "") }, errors))
                button type="submit" class="primary" { (ctx.t("signer-enrol")) }
            }
        }
    };
    page(
        ctx,
        Area::Office,
        &ctx.t("signer-heading"),
        Some(&actor.email),
        body,
    )
}

/// Enrols the signer.
pub async fn enrol(ctx: Ctx, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let posted = match super::read_form(&ctx, Area::Office, &req, &body, None) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let enrolment = diwan_app::parapheur::Enrolment {
        key: diwan_app::parapheur::KeyHolder::Server {
            pin: SecretString::from(posted.text("pin")),
        },
        name_latin: posted.text("name_latin"),
        name_ar: posted.get("name_ar"),
        function: posted.get("function"),
    };
    let s = ctx.services();
    let a2 = actor.clone();
    match run(move || diwan_app::parapheur::keys::enrol(&s, &a2, enrolment)).await {
        Ok(_) => ctx.see_other("/office/parapheur"),
        Err(AppError::Rejected { code, detail, .. })
            if matches!(code, "weak_pin" | "invalid_input") =>
        {
            let mut errors = Errors::default();
            let field = if code == "weak_pin" {
                "pin"
            } else {
                "name_latin"
            };
            errors.add(field, detail);
            ctx.html(
                StatusCode::UNPROCESSABLE_ENTITY,
                signer_page(&ctx, &actor, None, &errors),
            )
        }
        Err(e) => error_page(&ctx, Some(&actor), &e),
    }
}

/// The form that validates any signed PDF.
fn validation_form(ctx: &Ctx, errors: &Errors) -> Markup {
    html! {
        form id="validate-form" method="post" action="/office/signatures/validate" enctype="multipart/form-data" {
            (csrf(ctx))
            (layout::files("document", &ctx.t("validate-file"), "application/pdf,.pdf", &ctx.t("validate-file-hint"), errors))
            button type="submit" class="primary" { (ctx.t("validate-button")) }
        }
    }
}

/// The validation page.
pub async fn validation(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let body = html! {
        p class="hint" { (ctx.t("validate-intro")) }
        (validation_form(&ctx, &Errors::default()))
    };
    ctx.html(
        StatusCode::OK,
        page(
            &ctx,
            Area::Office,
            &ctx.t("validate-heading"),
            Some(&actor.email),
            body,
        ),
    )
}

/// Validates the uploaded PDF and shows the report, one row per signature.
pub async fn validate(ctx: Ctx, req: HttpRequest, payload: Multipart) -> HttpResponse {
    let actor = match agent(&ctx, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let max = diwan_app::parapheur::validate::MAX_PDF;
    let (posted, file) = match forms::multipart_in_memory(payload, "document", max).await {
        Ok(p) => p,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    if let Some(refused) = super::admit(&ctx, Area::Office, Some(&actor.email), &req, &posted, None)
    {
        return refused;
    }
    let Some(bytes) = file else {
        let mut errors = Errors::default();
        errors.add("document", ctx.t("validate-file-required"));
        let body = html! { (validation_form(&ctx, &errors)) };
        return ctx.html(
            StatusCode::UNPROCESSABLE_ENTITY,
            page(
                &ctx,
                Area::Office,
                &ctx.t("validate-heading"),
                Some(&actor.email),
                body,
            ),
        );
    };
    let s = ctx.services();
    let report = match run(move || diwan_app::parapheur::validate(&s, &bytes)).await {
        Ok(r) => r,
        Err(e) => return error_page(&ctx, Some(&actor), &e),
    };
    let yes_no = |b: bool| {
        if b {
            ctx.t("validate-yes")
        } else {
            ctx.t("validate-no")
        }
    };
    let body = html! {
        div id="validate-verdict" data-valid=(report.valid) class=(if report.valid { "notice notice-success" } else { "notice notice-error" }) role="status" {
            (if report.valid { ctx.t("validate-valid") } else { ctx.t("validate-invalid") })
        }
        @for p in &report.problems { p class="note" { (bdi(p)) } }
        @if !report.signatures.is_empty() {
            div class="table-wrap" {
                table id="validate-signatures" {
                    caption class="visually-hidden" { (ctx.t("validate-heading")) }
                    thead { tr {
                        th scope="col" { "#" }
                        th scope="col" { (ctx.t("validate-signer")) }
                        th scope="col" { (ctx.t("validate-time")) }
                        th scope="col" { (ctx.t("validate-intact")) }
                        th scope="col" { (ctx.t("validate-trusted")) }
                        th scope="col" { (ctx.t("validate-revocation")) }
                        th scope="col" { (ctx.t("validate-after")) }
                    } }
                    tbody {
                        @for v in &report.signatures {
                            tr data-valid=(v.valid) {
                                td dir="ltr" { (v.index) }
                                td dir="ltr" { (v.signer.as_deref().unwrap_or("-")) }
                                td dir="ltr" {
                                    @match v.timestamp.as_ref().and_then(|t| t.time) {
                                        Some(t) => { (t.format("%Y-%m-%d %H:%M:%S UTC").to_string()) " (" (ctx.t("validate-timestamped")) ")" }
                                        None => { (v.claimed_time.as_deref().unwrap_or("-")) }
                                    }
                                }
                                td { (yes_no(v.intact)) }
                                td {
                                    (yes_no(v.chain.trusted))
                                    @if let Some(a) = &v.chain.anchor { br; span dir="ltr" class="muted" { (a) } }
                                }
                                td { (ctx.t(&format!("validate-revocation-{}", if v.chain.revocation.is_empty() { "unknown" } else { v.chain.revocation.as_str() }))) }
                                td { (ctx.t(&format!("validate-after-{}", v.changes_after))) }
                            }
                        }
                    }
                }
            }
        }
        h2 { (ctx.t("validate-another")) }
        (validation_form(&ctx, &Errors::default()))
    };
    ctx.html(
        StatusCode::OK,
        page(
            &ctx,
            Area::Office,
            &ctx.t("validate-heading"),
            Some(&actor.email),
            body,
        ),
    )
}

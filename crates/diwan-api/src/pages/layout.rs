//! The frame of every page and the pieces forms are made of. maud escapes every value it
//! is given; nothing here writes raw HTML from data.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{Ctx, Lang, with_lang};

/// Which navigation a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Citizen,
    /// The back office, for a logged-in agent (their e-mail shown).
    Office,
    /// The back office's login page.
    OfficeLogin,
}

/// A whole page.
pub fn page(ctx: &Ctx, area: Area, title: &str, agent: Option<&str>, body: Markup) -> Markup {
    let brand = ctx.t("brand");
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) dir=(ctx.lang.dir()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " — " (brand) }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                a class="skip-link" href="#main" { (ctx.t("skip-to-content")) }
                header class="site-header" {
                    a class="brand" href=(if area == Area::Citizen { "/" } else { "/office" }) {
                        span class="brand-mark" aria-hidden="true" { "ديوان" }
                        " "
                        span { (brand) }
                    }
                    nav id="site-nav" aria-label=(ctx.t("nav-main")) {
                        ul {
                            @match area {
                                Area::Citizen => {
                                    li { a href="/deposit" aria-current=[current(ctx, "/deposit")] { (ctx.t("nav-deposit")) } }
                                    li { a href="/track" aria-current=[current(ctx, "/track")] { (ctx.t("nav-track")) } }
                                    li { a href="/verify" aria-current=[current(ctx, "/verify")] { (ctx.t("nav-verify")) } }
                                    li { a href="/office" { (ctx.t("nav-office")) } }
                                }
                                Area::Office => {
                                    li { a href="/office/register" aria-current=[current(ctx, "/office/register")] { (ctx.t("nav-register")) } }
                                    li { a href="/office/counter" aria-current=[current(ctx, "/office/counter")] { (ctx.t("nav-counter")) } }
                                    li { a href="/office/inbox" aria-current=[current(ctx, "/office/inbox")] { (ctx.t("nav-inbox")) } }
                                    li { a href="/office/parapheur" aria-current=[current(ctx, "/office/parapheur")] { (ctx.t("nav-parapheur")) } }
                                    li { a href="/office/indicators" aria-current=[current(ctx, "/office/indicators")] { (ctx.t("nav-indicators")) } }
                                    li { a href="/office/admin" aria-current=[current(ctx, "/office/admin")] { (ctx.t("nav-admin")) } }
                                }
                                Area::OfficeLogin => {
                                    li { a href="/" { (ctx.t("nav-portal")) } }
                                }
                            }
                        }
                    }
                    div class="header-tools" {
                        @if let Some(email) = agent {
                            form class="logout" method="post" action="/office/logout" {
                                input type="hidden" name="csrf" value=(ctx.csrf());
                                span class="agent" dir="ltr" { (email) }
                                " "
                                button type="submit" class="link-button" { (ctx.t("nav-logout")) }
                            }
                        }
                        nav id="lang-switch" aria-label=(ctx.t("nav-language")) {
                            ul {
                                @for lang in Lang::ALL {
                                    li {
                                        @if lang == ctx.lang {
                                            span lang=(lang.code()) aria-current="true" { (lang.native_name()) }
                                        } @else {
                                            a href=(with_lang(&ctx.path, lang)) lang=(lang.code()) hreflang=(lang.code()) { (lang.native_name()) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
                footer class="site-footer" {
                    p { (ctx.t("footer-text")) }
                    @if area == Area::Citizen {
                        p { a id="footer-open-data" href="/open-data" aria-current=[current(ctx, "/open-data")] { (ctx.t("nav-open-data")) } }
                    }
                }
            }
        }
    }
}

fn current(ctx: &Ctx, prefix: &str) -> Option<&'static str> {
    ctx.path.starts_with(prefix).then_some("page")
}

/// Errors of a form: one per field (by field name), or for the whole form (`""`).
#[derive(Debug, Default, Clone)]
pub struct Errors(pub Vec<(String, String)>);

impl Errors {
    pub fn add(&mut self, field: &str, message: String) {
        self.0.push((field.to_owned(), message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// The summary at the top of a form: a live region listing every error, each linked to
    /// its field.
    pub fn summary(&self, ctx: &Ctx) -> Markup {
        if self.0.is_empty() {
            return html! {};
        }
        html! {
            div id="error-summary" class="error-summary" role="alert" tabindex="-1" {
                h2 { (ctx.t("form-has-errors")) }
                ul {
                    @for (field, message) in &self.0 {
                        li {
                            @if field.is_empty() {
                                (message)
                            } @else {
                                a href=(format!("#{field}")) { (message) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What an input is.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub value: &'a str,
    pub kind: &'a str,
    pub required: bool,
    pub autocomplete: Option<&'a str>,
    pub hint: Option<&'a str>,
    /// `ltr` for e-mails, codes and numbers on Arabic pages.
    pub dir: Option<&'a str>,
    pub inputmode: Option<&'a str>,
    pub maxlength: Option<usize>,
}

impl<'a> Input<'a> {
    pub fn new(name: &'a str, label: &'a str, value: &'a str) -> Self {
        Self {
            name,
            label,
            value,
            kind: "text",
            required: false,
            autocomplete: None,
            hint: None,
            dir: None,
            inputmode: None,
            maxlength: None,
        }
    }
}

fn described_by(name: &str, hint: bool, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{name}-hint"));
    }
    if error {
        ids.push(format!("{name}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// A field's frame: the label (with its required or optional mark), the hint and the error,
/// both tied to the control by `aria-describedby`, then the control.
fn field(ctx: &Ctx, i: &Input<'_>, error: Option<&str>, control: Markup) -> Markup {
    html! {
        div class=(if error.is_some() { "field has-error" } else { "field" }) {
            label for=(i.name) {
                (i.label)
                @if i.required { " " span class="required" aria-hidden="true" { "*" } }
                @else { " " span class="optional" { (ctx.t("optional")) } }
            }
            @if let Some(h) = i.hint { p id=(format!("{}-hint", i.name)) class="hint" { (h) } }
            @if let Some(e) = error { p id=(format!("{}-error", i.name)) class="field-error" { (e) } }
            (control)
        }
    }
}

/// A labelled input with its hint and its error tied to it.
pub fn input(ctx: &Ctx, i: Input<'_>, errors: &Errors) -> Markup {
    let error = errors.of(i.name);
    let control = html! {
        input id=(i.name) name=(i.name) type=(i.kind) value=(i.value)
            required[i.required] autocomplete=[i.autocomplete] dir=[i.dir]
            inputmode=[i.inputmode] maxlength=[i.maxlength]
            aria-invalid=[error.map(|_| "true")]
            aria-describedby=[described_by(i.name, i.hint.is_some(), error.is_some())];
    };
    field(ctx, &i, error, control)
}

/// A labelled textarea.
pub fn textarea(ctx: &Ctx, i: Input<'_>, errors: &Errors) -> Markup {
    let error = errors.of(i.name);
    let control = html! {
        textarea id=(i.name) name=(i.name) rows="6" required[i.required] dir="auto"
            maxlength=[i.maxlength]
            aria-invalid=[error.map(|_| "true")]
            aria-describedby=[described_by(i.name, i.hint.is_some(), error.is_some())] { (i.value) }
    };
    field(ctx, &i, error, control)
}

/// A labelled file input (several files), with the accepted types and limits in its hint;
/// the script lists the chosen files and their sizes before sending.
pub fn files(name: &str, label: &str, accept: &str, hint: &str, errors: &Errors) -> Markup {
    let error = errors.of(name);
    html! {
        div class=(if error.is_some() { "field has-error" } else { "field" }) {
            label for=(name) { (label) " " span class="required" aria-hidden="true" { "*" } }
            p id=(format!("{name}-hint")) class="hint" { (hint) }
            @if let Some(e) = error { p id=(format!("{name}-error")) class="field-error" { (e) } }
            input id=(name) name=(name) type="file" multiple accept=(accept) required
                data-size-list=(format!("{name}-chosen"))
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=(described_by(name, true, error.is_some()).unwrap_or_default());
            ul id=(format!("{name}-chosen")) class="chosen-files" aria-live="polite" {}
        }
    }
}

/// The hint of a file input: accepted types and the configured limits.
pub fn files_hint(ctx: &Ctx) -> String {
    let settings = &ctx.services().settings;
    ctx.ta(
        "files-hint",
        &[
            (
                "max_file",
                fluent_bundle::FluentValue::from(size_text(ctx, settings.max_file_bytes)),
            ),
            (
                "max_total",
                fluent_bundle::FluentValue::from(size_text(ctx, settings.max_request_bytes)),
            ),
            (
                "max_files",
                fluent_bundle::FluentValue::from(settings.max_files),
            ),
        ],
    )
}

/// The hidden CSRF field.
pub fn csrf(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf()); }
}

/// A notice (success or problem) shown above a page's content.
pub fn notice(kind: &str, text: &str) -> Markup {
    html! {
        div class=(format!("notice notice-{kind}")) role=(if kind == "error" { "alert" } else { "status" }) { (text) }
    }
}

/// A byte count for people (in the page's language's units).
pub fn size_text(ctx: &Ctx, bytes: u64) -> String {
    let (value, unit) = if bytes >= 1024 * 1024 {
        (
            format!("{:.1}", bytes as f64 / (1024.0 * 1024.0)),
            "unit-mib",
        )
    } else if bytes >= 1024 {
        (format!("{:.0}", (bytes as f64 / 1024.0).ceil()), "unit-kib")
    } else {
        (bytes.to_string(), "unit-bytes")
    };
    format!("{value} {}", ctx.t(unit))
}

/// A value that may be in another script than the page (names, subjects): isolated, so that
/// Arabic in a French page (or Latin in an Arabic one) does not reorder what surrounds it.
pub fn bdi(text: &str) -> Markup {
    html! { bdi { (text) } }
}

/// A QR code as inline SVG (no script, no external request).
pub fn qr_svg(data: &str, label: &str) -> Markup {
    let Ok(code) = qrcode::QrCode::new(data.as_bytes()) else {
        return html! {};
    };
    let width = code.width();
    let colors = code.to_colors();
    let mut path = String::new();
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i % width + 4, i / width + 4);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    let size = width + 8;
    // The path holds only digits and the letters M h v z: nothing from the data itself.
    html! {
        svg id="receipt-qr" xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {size} {size}"))
            width="184" height="184" role="img" aria-label=(label) shape-rendering="crispEdges" {
            rect width=(size) height=(size) fill="#fff" {}
            path d=(PreEscaped(path)) fill="#000" {}
        }
    }
}

//! The web pages: the citizen portal (`/`, `/deposit`, `/receipt`, `/track`, `/verify`) and the
//! back office (`/office`). Server-rendered HTML (maud, every value escaped), messages from
//! Fluent files in Arabic, French and English, no inline script or style (the CSP forbids
//! them), and every journey works without JavaScript.
//!
//! Forms carry a CSRF token: an HMAC, under a key derived from the installation's master
//! secret, of a random value kept in an HttpOnly, SameSite=Strict cookie (`diwan_csrf`).
//! Agents are logged in with a session token in an HttpOnly, SameSite=Strict cookie
//! (`diwan_session`), the same tokens the API's `POST /auth/login` hands out.

mod citizen;
mod forms;
pub mod i18n;
mod indicators;
mod layout;
mod office;
mod open_data;
mod parapheur;

use std::future::{Ready, ready};

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use base64::Engine as _;
use diwan_app::{AppError, Services};

pub use i18n::Lang;

const CSRF_COOKIE: &str = "diwan_csrf";
const SESSION_COOKIE: &str = "diwan_session";
const LANG_COOKIE: &str = "diwan_lang";

/// The CSP of every page: our own stylesheet and script only, nothing inline, no framing.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(citizen::home))
        .route("/static/app.css", web::get().to(static_css))
        .route("/static/app.js", web::get().to(static_js))
        .route("/deposit", web::get().to(citizen::deposit_start))
        .route("/deposit/code", web::post().to(citizen::send_code))
        .route("/deposit/letter", web::get().to(citizen::letter_form))
        .route("/deposit", web::post().to(citizen::deposit))
        .route("/receipt/{id}", web::get().to(citizen::receipt))
        .route("/track", web::get().to(citizen::track_form))
        .route("/track", web::post().to(citizen::track))
        .route("/verify", web::get().to(citizen::verify_form))
        .route("/verify", web::post().to(citizen::verify_upload))
        .route("/verify/{id}", web::get().to(citizen::verify_id))
        .route("/open-data", web::get().to(open_data::page))
        .route("/office", web::get().to(office::home))
        .route("/office/login", web::get().to(office::login_form))
        .route("/office/login", web::post().to(office::login))
        .route("/office/logout", web::post().to(office::logout))
        .route("/office/register", web::get().to(office::register))
        .route("/office/inbox", web::get().to(office::inbox))
        .route("/office/counter", web::get().to(office::counter_form))
        .route("/office/counter", web::post().to(office::counter))
        .route("/office/indicators", web::get().to(indicators::dashboard))
        .route("/office/indicators.csv", web::get().to(indicators::csv))
        .route(
            "/office/correspondences/{id}",
            web::get().to(office::correspondence),
        )
        .route("/office/parapheur", web::get().to(parapheur::home))
        .route("/office/parapheur", web::post().to(parapheur::submit))
        .route(
            "/office/parapheur/sign",
            web::post().to(parapheur::sign_batch),
        )
        .route("/office/parapheur/{id}", web::get().to(parapheur::document))
        .route(
            "/office/parapheur/{id}/document.pdf",
            web::get().to(parapheur::pdf),
        )
        .route(
            "/office/parapheur/{id}/{action}",
            web::post().to(parapheur::act),
        )
        .route(
            "/office/signatures/validate",
            web::get().to(parapheur::validation),
        )
        .route(
            "/office/signatures/validate",
            web::post().to(parapheur::validate),
        )
        .route("/office/signer", web::get().to(parapheur::signer))
        .route("/office/signer", web::post().to(parapheur::enrol))
        .route(
            "/office/registries/{code}/rules",
            web::get().to(office::rules),
        )
        .route(
            "/office/registries/{code}/rules",
            web::post().to(office::add_rule),
        )
        .route(
            "/office/registries/{code}/rules/{id}/delete",
            web::post().to(office::delete_rule),
        )
        .route(
            "/office/correspondences/{id}/reply",
            web::post().to(office::reply),
        )
        .route(
            "/office/correspondences/{id}/move/{name}",
            web::post().to(office::move_correspondence),
        )
        .route(
            "/office/correspondences/{id}/files/{file}",
            web::get().to(office::file),
        )
        .route(
            "/office/correspondences/{id}/deliveries/{delivery}/ack.jws",
            web::get().to(office::delivery_ack),
        )
        .route(
            "/office/correspondences/{id}/receipt.pdf",
            web::get().to(office::receipt_pdf),
        )
        .route(
            "/office/correspondences/{id}/dossier.pdf",
            web::get().to(office::dossier_pdf),
        )
        .route("/office/admin", web::get().to(office::admin));
}

async fn static_css() -> HttpResponse {
    static_file(
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    )
}

async fn static_js() -> HttpResponse {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    )
}

fn static_file(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

/// What every page handler starts from: the language, the CSRF value, cookies to set.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    /// The current path and query without `lang`, for the language switcher.
    pub path: String,
    csrf_seed: String,
    new_csrf_seed: bool,
    set_lang_cookie: bool,
    secure: bool,
    services: web::Data<Services>,
}

impl FromRequest for Ctx {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ctx::of(req).ok_or_else(|| {
            actix_web::error::ErrorInternalServerError("the services are not configured")
        }))
    }
}

impl Ctx {
    fn of(req: &HttpRequest) -> Option<Self> {
        let services = req.app_data::<web::Data<Services>>()?.clone();
        let query_lang = query_param(req.query_string(), "lang").and_then(|l| Lang::parse(&l));
        let lang = query_lang
            .or_else(|| cookie(req, LANG_COOKIE).and_then(|l| Lang::parse(&l)))
            .or_else(|| {
                req.headers()
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::from_accept_language)
            })
            .unwrap_or(Lang::Ar);
        let existing = cookie(req, CSRF_COOKIE).filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        let (csrf_seed, new_csrf_seed) = match existing {
            Some(v) => (v, false),
            None => (random_token()?, true),
        };
        let secure = req.connection_info().scheme() == "https"
            || services.settings.public_url.starts_with("https://");
        Some(Self {
            lang,
            path: path_without_lang(req),
            csrf_seed,
            new_csrf_seed,
            set_lang_cookie: query_lang.is_some(),
            secure,
            services,
        })
    }

    pub fn services(&self) -> std::sync::Arc<Services> {
        self.services.clone().into_inner()
    }

    /// The message `id` in the page's language.
    pub fn t(&self, id: &str) -> String {
        i18n::message(self.lang, id, None)
    }

    /// The message `id` with arguments.
    pub fn ta(&self, id: &str, args: &[(&str, fluent_bundle::FluentValue<'_>)]) -> String {
        i18n::message(self.lang, id, Some(&i18n::args(args)))
    }

    /// The CSRF token to put in this page's forms.
    pub fn csrf(&self) -> String {
        match diwan_app::receipts::pki(&self.services) {
            Ok(pki) => base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(pki.tag(format!("csrf:{}", self.csrf_seed).as_bytes())),
            Err(_) => String::new(),
        }
    }

    /// Whether a posted token is this browser's. A new browser (no cookie yet) never passes.
    pub fn csrf_ok(&self, token: Option<&str>) -> bool {
        let Some(token) = token else { return false };
        if self.new_csrf_seed || token.len() > 64 {
            return false;
        }
        let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        diwan_app::receipts::pki(&self.services)
            .is_ok_and(|pki| pki.tag_is_valid(format!("csrf:{}", self.csrf_seed).as_bytes(), &tag))
    }

    fn cookie_attrs(&self) -> &'static str {
        if self.secure {
            "; Path=/; HttpOnly; SameSite=Strict; Secure"
        } else {
            "; Path=/; HttpOnly; SameSite=Strict"
        }
    }

    /// A response builder with this page's cookies and headers.
    pub fn response(&self, status: StatusCode) -> actix_web::HttpResponseBuilder {
        let mut r = HttpResponse::build(status);
        r.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header((header::VARY, "Accept-Language, Cookie"))
            .insert_header((
                "Permissions-Policy",
                "camera=(), microphone=(), geolocation=()",
            ));
        if self.secure {
            r.insert_header((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"));
        }
        if self.new_csrf_seed {
            r.append_header((
                header::SET_COOKIE,
                format!("{CSRF_COOKIE}={}{}", self.csrf_seed, self.cookie_attrs()),
            ));
        }
        if self.set_lang_cookie {
            r.append_header((
                header::SET_COOKIE,
                format!(
                    "{LANG_COOKIE}={}; Max-Age=31536000{}",
                    self.lang.code(),
                    self.cookie_attrs()
                ),
            ));
        }
        r
    }

    /// An HTML page.
    pub fn html(&self, status: StatusCode, markup: maud::Markup) -> HttpResponse {
        self.response(status)
            .content_type("text/html; charset=utf-8")
            .body(markup.into_string())
    }

    /// A redirect after a POST (303), or to a login page.
    pub fn see_other(&self, location: &str) -> HttpResponse {
        self.response(StatusCode::SEE_OTHER)
            .insert_header((header::LOCATION, location.to_owned()))
            .finish()
    }

    /// The session cookie for a freshly issued token, or one that clears it.
    fn session_cookie(&self, token: Option<&str>, max_age: i64) -> String {
        match token {
            Some(t) => format!(
                "{SESSION_COOKIE}={t}; Max-Age={max_age}{}",
                self.cookie_attrs()
            ),
            None => format!("{SESSION_COOKIE}=; Max-Age=0{}", self.cookie_attrs()),
        }
    }
}

/// A URL-safe random value of 32 bytes (43 characters).
fn random_token() -> Option<String> {
    let secret = diwan_app::ids::new_secret("").ok()?;
    secret.strip_prefix('_').map(str::to_owned)
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// A query parameter, percent-decoded.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    web::Query::<std::collections::HashMap<String, String>>::from_query(query)
        .ok()
        .and_then(|q| q.get(name).cloned())
}

/// The request's path and query without `lang=`.
fn path_without_lang(req: &HttpRequest) -> String {
    let kept: Vec<&str> = req
        .query_string()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang="))
        .collect();
    if kept.is_empty() {
        req.path().to_owned()
    } else {
        format!("{}?{}", req.path(), kept.join("&"))
    }
}

/// `path` with `lang=` added, for the language switcher.
pub fn with_lang(path: &str, lang: Lang) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}lang={}", lang.code())
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The HTTP status of an application error, for a page.
pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Rejected { kind, .. } => crate::error::status_of(*kind),
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The message id for an application error: `error-<code>` when the files have it.
pub fn error_message(ctx: &Ctx, e: &AppError) -> String {
    match e {
        AppError::Rejected { code, detail, .. } => {
            let id = format!("error-{}", code.replace('_', "-"));
            if i18n::has(ctx.lang, &id) {
                ctx.t(&id)
            } else {
                format!("{} ({detail})", ctx.t("error-generic"))
            }
        }
        AppError::Unavailable(_) => ctx.t("error-unavailable"),
        AppError::Internal(detail) => {
            tracing::error!(%detail, "page failed");
            ctx.t("error-internal")
        }
    }
}

/// A page that only says why a request was refused, in the page's language.
pub fn refusal(
    ctx: &Ctx,
    area: layout::Area,
    agent: Option<&str>,
    status: StatusCode,
    text: &str,
) -> HttpResponse {
    let home = if area == layout::Area::Citizen {
        "/"
    } else {
        "/office"
    };
    let body = maud::html! {
        (layout::notice("error", text))
        p { a href=(home) { (ctx.t("back-home")) } }
    };
    ctx.html(
        status,
        layout::page(ctx, area, &ctx.t("error-title"), agent, body),
    )
}

/// The refusal page of an application error.
pub fn app_refusal(
    ctx: &Ctx,
    area: layout::Area,
    agent: Option<&str>,
    e: &AppError,
) -> HttpResponse {
    refusal(ctx, area, agent, status_of(e), &error_message(ctx, e))
}

/// Checks a posted form before anything is done with it: its CSRF token, then, for the
/// public forms, the client's rate limit. Returns the refusal, if any.
pub fn admit(
    ctx: &Ctx,
    area: layout::Area,
    agent: Option<&str>,
    req: &HttpRequest,
    posted: &forms::Posted,
    limit: Option<diwan_app::throttle::Form>,
) -> Option<HttpResponse> {
    if !ctx.csrf_ok(posted.get("csrf").as_deref()) {
        return Some(refusal(
            ctx,
            area,
            agent,
            StatusCode::FORBIDDEN,
            &ctx.t("error-csrf"),
        ));
    }
    if let Some(form) = limit
        && !ctx
            .services()
            .throttle
            .allow(req.peer_addr().map(|a| a.ip()), form)
    {
        return Some(refusal(
            ctx,
            area,
            agent,
            StatusCode::TOO_MANY_REQUESTS,
            &ctx.t("error-rate-limited"),
        ));
    }
    None
}

/// Reads a URL-encoded form and admits it (see [`admit`]).
pub fn read_form(
    ctx: &Ctx,
    area: layout::Area,
    req: &HttpRequest,
    body: &[u8],
    limit: Option<diwan_app::throttle::Form>,
) -> Result<forms::Posted, Box<HttpResponse>> {
    let posted = forms::urlencoded(body).map_err(|e| Box::new(app_refusal(ctx, area, None, &e)))?;
    match admit(ctx, area, None, req, &posted, limit) {
        Some(refused) => Err(Box::new(refused)),
        None => Ok(posted),
    }
}

/// A name in the page's language: English falls back to French where it has none.
pub fn pick(ctx: &Ctx, ar: &str, fr: &str, en: Option<&str>) -> String {
    match ctx.lang {
        Lang::Ar => ar.to_owned(),
        Lang::Fr => fr.to_owned(),
        Lang::En => en.unwrap_or(fr).to_owned(),
    }
}

/// Runs a use case on the blocking pool.
pub async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    crate::error::blocking(f).await.map_err(|e| e.0)
}

/// Formats a time for people: local date and time in the installation's zone, and the Hijri
/// date (Umm al-Qura).
pub fn when(ctx: &Ctx, at: &chrono::DateTime<chrono::Utc>) -> (String, String) {
    let s = ctx.services();
    let local = at.with_timezone(&s.settings.time_zone);
    let greg = local.format("%Y-%m-%d %H:%M").to_string();
    (greg, hijri_text(ctx.lang, local.date_naive()))
}

/// The Hijri date of a day, in the page's language (Arabic names for Arabic, French otherwise).
pub fn hijri_text(lang: Lang, date: chrono::NaiveDate) -> String {
    match diwan_domain::hijri::umm_al_qura(date) {
        Some(h) if lang == Lang::Ar => h.format_ar(),
        Some(h) => h.format_fr(),
        None => String::new(),
    }
}

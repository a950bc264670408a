//! The parapheur's signatures: signers' certificates, signing with a PIN or remotely, the
//! time-stamping unit (RFC 3161 over HTTP) and the validation of any signed PDF.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use base64::Engine as _;
use diwan_app::Services;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Authenticated;
use crate::error::{ApiError, blocking};

/// Largest JSON body of the signing routes (documents travel in base64).
pub const MAX_SIGNING_BODY: usize = 96 * 1024 * 1024;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn decode(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    b64()
        .decode(text.trim())
        .map_err(|_| ApiError::bad_request("invalid_base64", format!("{field} is not base64")))
}

/// The caller's signing certificate.
#[utoipa::path(get, path = "/api/v1/signers/me", tag = "signatures", security(("bearer" = [])),
    responses((status = 200, description = "`{agent_id, subject, issuer, serial, not_before, not_after, revoked_at, name_latin, name_ar, function, chain_pem}`"),
              (status = 404, description = "not enrolled", body = crate::error::Problem)))]
pub async fn me(s: web::Data<Services>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let found = blocking(move || {
        diwan_app::parapheur::keys::mine(&s, &who.0)?
            .ok_or_else(|| diwan_app::AppError::not_found("signing certificate"))
    })
    .await?;
    Ok(HttpResponse::Ok().json(found))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    /// A PIN: the server makes the key and keeps it sealed under it.
    #[serde(default)]
    pin: Option<SecretString>,
    /// Or a public key (base64 DER SubjectPublicKeyInfo) whose private key stays on the
    /// signer's device: remote signing only.
    #[serde(default)]
    public_key: Option<String>,
    name_latin: String,
    #[serde(default)]
    name_ar: Option<String>,
    #[serde(default)]
    function: Option<String>,
}

/// Enrolment: a signing key and certificate for the caller (a signer or a head), the key
/// sealed under the PIN given here (never stored).
#[utoipa::path(post, path = "/api/v1/signers/me", tag = "signatures", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{pin | public_key, name_latin, name_ar?, function?}`; PIN: 6 to 64 characters; `public_key`: base64 DER SubjectPublicKeyInfo of a key held by the signer's device"),
    responses((status = 201, description = "the certificate"),
              (status = 403, description = "neither a signer nor a head", body = crate::error::Problem),
              (status = 409, description = "`already_enrolled`", body = crate::error::Problem),
              (status = 422, description = "`weak_pin`, `invalid_input`", body = crate::error::Problem)))]
pub async fn enrol(
    s: web::Data<Services>,
    who: Authenticated,
    body: web::Json<EnrolBody>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let b = body.into_inner();
    let key = match (b.pin, b.public_key) {
        (Some(pin), None) => diwan_app::parapheur::KeyHolder::Server { pin },
        (None, Some(k)) => diwan_app::parapheur::KeyHolder::Device {
            public_key: decode("public_key", &k)?,
        },
        _ => {
            return Err(ApiError::bad_request(
                "invalid_enrolment",
                "give either `pin` or `public_key`",
            ));
        }
    };
    let enrolment = diwan_app::parapheur::Enrolment {
        key,
        name_latin: b.name_latin,
        name_ar: b.name_ar,
        function: b.function,
    };
    let cert = blocking(move || diwan_app::parapheur::keys::enrol(&s, &who.0, enrolment)).await?;
    Ok(HttpResponse::Created().json(cert))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    /// The PKCS#12 file, base64.
    pkcs12: String,
    password: SecretString,
    pin: SecretString,
}

/// Imports the caller's key and certificate from a PKCS#12 of an external authority whose
/// root this installation trusts (`pki.trusted_roots`).
#[utoipa::path(post, path = "/api/v1/signers/me/pkcs12", tag = "signatures", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{pkcs12: base64, password, pin}`"),
    responses((status = 201, description = "the certificate"),
              (status = 409, description = "`already_enrolled`", body = crate::error::Problem),
              (status = 422, description = "`invalid_pkcs12`, `untrusted_chain`, `weak_pin`", body = crate::error::Problem)))]
pub async fn import(
    s: web::Data<Services>,
    who: Authenticated,
    body: web::Json<ImportBody>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let b = body.into_inner();
    let p12 = decode("pkcs12", &b.pkcs12)?;
    let cert = blocking(move || {
        diwan_app::parapheur::keys::import_pkcs12(&s, &who.0, &p12, &b.password, &b.pin)
    })
    .await?;
    Ok(HttpResponse::Created().json(cert))
}

/// Revokes an agent's signing certificate (the agent, or an installation administrator).
#[utoipa::path(post, path = "/api/v1/signers/{agent_id}/revoke", tag = "signatures", security(("bearer" = [])),
    params(("agent_id" = String, Path, description = "the agent's id")),
    responses((status = 200, description = "the certificate, with `revoked_at`"),
              (status = 403, description = "not allowed", body = crate::error::Problem),
              (status = 404, description = "no certificate, or already revoked", body = crate::error::Problem)))]
pub async fn revoke(
    s: web::Data<Services>,
    who: Authenticated,
    agent: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let cert = blocking(move || diwan_app::parapheur::keys::revoke(&s, &who.0, &agent)).await?;
    Ok(HttpResponse::Ok().json(cert))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignBody {
    pin: SecretString,
    /// The PDFs, base64.
    documents: Vec<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// Signs PDFs with the caller's key, opened once with the PIN (PAdES B-T, visible block on
/// the last page, time-stamped by the installation's unit).
#[utoipa::path(post, path = "/api/v1/signatures/sign", tag = "signatures", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{pin, documents: [base64 PDF], reason?}` (1 to 100 documents)"),
    responses((status = 200, description = "`{documents: [base64 signed PDF]}`, in the same order"),
              (status = 403, description = "`wrong_pin`, `certificate_revoked`, `certificate_unusable`", body = crate::error::Problem),
              (status = 422, description = "`not_enrolled`, `not_a_pdf`, `unreadable_pdf`, `invalid_batch`", body = crate::error::Problem),
              (status = 429, description = "`too_many_pins`", body = crate::error::Problem)))]
pub async fn sign(
    s: web::Data<Services>,
    who: Authenticated,
    body: web::Json<SignBody>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let b = body.into_inner();
    let documents = b
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| decode(&format!("documents[{i}]"), d))
        .collect::<Result<Vec<_>, _>>()?;
    let signed = blocking(move || {
        diwan_app::parapheur::sign_with_pin(&s, &who.0, &b.pin, &documents, b.reason.as_deref())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "documents": signed.iter().map(|d| b64().encode(d)).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteBody {
    /// The PDF, base64.
    document: String,
    #[serde(default)]
    reason: Option<String>,
}

/// Remote signing, step 1: prepares the document with the caller's certificate and answers
/// what their own device must sign.
#[utoipa::path(post, path = "/api/v1/signatures/remote", tag = "signatures", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "`{document: base64 PDF, reason?}`"),
    responses((status = 201, description = "`{id, to_be_signed: base64 DER signed attributes, digest: hex SHA-256 of them, expires_at}`"),
              (status = 422, description = "`not_enrolled`, `not_a_pdf`", body = crate::error::Problem)))]
pub async fn remote_prepare(
    s: web::Data<Services>,
    who: Authenticated,
    body: web::Json<RemoteBody>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let b = body.into_inner();
    let pdf = decode("document", &b.document)?;
    let request = blocking(move || {
        diwan_app::parapheur::remote_prepare(&s, &who.0, &pdf, b.reason.as_deref())
    })
    .await?;
    Ok(HttpResponse::Created().json(request))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteSignature {
    /// The signature of `to_be_signed`, base64 (ECDSA: DER or r‖s; RSA: PKCS#1 v1.5).
    signature: String,
}

/// Remote signing, step 2: checks the signature against the caller's certificate, adds the
/// time-stamp and answers the signed PDF.
#[utoipa::path(post, path = "/api/v1/signatures/remote/{id}", tag = "signatures", security(("bearer" = [])),
    params(("id" = String, Path, description = "the id step 1 answered")),
    request_body(content = serde_json::Value, description = "`{signature: base64}`"),
    responses((status = 200, description = "the signed PDF", content_type = "application/pdf"),
              (status = 404, description = "no such request of yours", body = crate::error::Problem),
              (status = 409, description = "`signing_expired`, `certificate_changed`", body = crate::error::Problem),
              (status = 422, description = "`bad_signature`", body = crate::error::Problem)))]
pub async fn remote_complete(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<RemoteSignature>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let signature = decode("signature", &body.signature)?;
    let pdf = blocking(move || diwan_app::parapheur::remote_complete(&s, &who.0, &id, &signature))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            super::correspondences::attachment("signed.pdf"),
        ))
        .body(pdf))
}

/// Validates every signature of a PDF (no account needed).
#[utoipa::path(post, path = "/api/v1/signatures/validate", tag = "signatures",
    request_body(content = String, description = "the PDF, as the request body", content_type = "application/pdf"),
    responses((status = 200, description = "`{valid, signatures: [{index, signer, signing_time, trusted, claimed_time, timestamp: {time, authority, intact, trusted}, intact, chain: {trusted, anchor, path, at, revocation}, changes_after: none|only_signatures|other, valid, problems}], problems}`"),
              (status = 413, description = "too large", body = crate::error::Problem)))]
pub async fn validate(s: web::Data<Services>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let report = blocking(move || diwan_app::parapheur::validate(&s, &body)).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The time-stamping unit: a DER RFC 3161 request in, a DER response out.
#[utoipa::path(post, path = "/api/v1/tsa", tag = "signatures",
    request_body(content = String, description = "a DER TimeStampReq", content_type = "application/timestamp-query"),
    responses((status = 200, description = "a DER TimeStampResp (granted, or a rejection with its reason)", content_type = "application/timestamp-reply"),
              (status = 401, description = "`pki.tsa_public = false` and no bearer token", body = crate::error::Problem)))]
pub async fn tsa(
    s: web::Data<Services>,
    who: Option<Authenticated>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    if who.is_none() && !diwan_app::parapheur::tsa::open_to_anyone(&s) {
        return Err(diwan_app::AppError::unauthenticated().into());
    }
    let reply = blocking(move || diwan_app::parapheur::tsa::respond(&s, &body)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/timestamp-reply")
        .body(reply))
}

//! Receipts (signed JSON and sealed PDF), public verification, the register log's signed tree
//! heads and proofs, and the trust anchor with its CRLs.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use diwan_app::Services;
use diwan_app::model::ReceiptKind;
use diwan_app::receipts::ReceiptAccess;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Authenticated;
use crate::error::{ApiError, blocking};

#[derive(Debug, Deserialize)]
pub struct ReceiptQuery {
    /// The tracking code given to the depositor (instead of a bearer token).
    code: Option<String>,
    /// `receipt` (default) or `annulment` (the signed notice of an annulment).
    kind: Option<String>,
}

impl ReceiptQuery {
    fn kind(&self) -> Result<ReceiptKind, ApiError> {
        match self.kind.as_deref() {
            None => Ok(ReceiptKind::Receipt),
            Some(k) => ReceiptKind::parse(k).ok_or_else(|| {
                ApiError::bad_request("invalid_query", "kind is receipt or annulment")
            }),
        }
    }
}

fn access<'a>(
    who: &'a Option<Authenticated>,
    q: &'a ReceiptQuery,
) -> Result<ReceiptAccess<'a>, ApiError> {
    match (who, q.code.as_deref()) {
        (Some(a), _) => Ok(ReceiptAccess::Agent(&a.0)),
        (None, Some(code)) if !code.is_empty() && code.len() <= 64 => {
            Ok(ReceiptAccess::TrackingCode(code))
        }
        _ => Err(diwan_app::AppError::unauthenticated().into()),
    }
}

/// The signed JSON receipt of a correspondence (or its annulment notice).
#[utoipa::path(get, path = "/api/v1/receipts/{id}", tag = "receipts",
    params(("id" = String, Path, description = "the correspondence id"),
           ("code" = Option<String>, Query, description = "the tracking code, for the depositor"),
           ("kind" = Option<String>, Query, description = "`receipt` (default) or `annulment`")),
    responses((status = 200, description = "`{id, kind, jws, content, issued_at, leaf_index, pdf_url}`"),
              (status = 401, description = "neither a token nor a tracking code", body = crate::error::Problem),
              (status = 404, description = "no such receipt, or not yours", body = crate::error::Problem)))]
pub async fn get(
    s: web::Data<Services>,
    who: Option<Authenticated>,
    path: web::Path<String>,
    q: web::Query<ReceiptQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let id = path.into_inner();
    let q = q.into_inner();
    let kind = q.kind()?;
    let doc = blocking(move || {
        let access = access(&who, &q).map_err(|e| e.0)?;
        diwan_app::receipts::get(&s, &access, &id, kind)
    })
    .await?;
    let r = &doc.stored.receipt;
    Ok(HttpResponse::Ok().json(json!({
        "id": r.correspondence_id,
        "kind": r.kind,
        "jws": r.jws,
        "content": doc.payload,
        "issued_at": diwan_app::receipts::content::time_text(&r.issued_at),
        "leaf_index": r.leaf_index,
        "pdf_url": format!("/api/v1/receipts/{}/pdf", r.correspondence_id),
    })))
}

/// The sealed PDF receipt (PAdES-B-B, PDF/A-2b, Arabic and French).
#[utoipa::path(get, path = "/api/v1/receipts/{id}/pdf", tag = "receipts",
    params(("id" = String, Path, description = "the correspondence id"),
           ("code" = Option<String>, Query, description = "the tracking code, for the depositor"),
           ("kind" = Option<String>, Query, description = "`receipt` (default) or `annulment`")),
    responses((status = 200, description = "the sealed PDF", content_type = "application/pdf"),
              (status = 401, description = "neither a token nor a tracking code", body = crate::error::Problem),
              (status = 404, description = "no such receipt, or not yours", body = crate::error::Problem)))]
pub async fn pdf(
    s: web::Data<Services>,
    who: Option<Authenticated>,
    path: web::Path<String>,
    q: web::Query<ReceiptQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let id = path.into_inner();
    let q = q.into_inner();
    let kind = q.kind()?;
    let name = format!("{}-{id}.pdf", kind.as_str());
    let bytes = blocking(move || {
        let access = access(&who, &q).map_err(|e| e.0)?;
        diwan_app::receipts::get_pdf(&s, &access, &id, kind)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            super::correspondences::attachment(&name),
        ))
        .body(bytes))
}

/// Verifies a receipt (PDF, or signed JSON: the JWS, `{jws}` or a registration response), or
/// any PDF sealed by this installation.
#[utoipa::path(post, path = "/api/v1/verify", tag = "receipts",
    request_body(content = String, description = "the document, as the request body", content_type = "application/octet-stream"),
    responses((status = 200, description = "a report with a top-level boolean `valid`"),
              (status = 413, description = "too large", body = crate::error::Problem)))]
pub async fn verify(s: web::Data<Services>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let report = blocking(move || diwan_app::receipts::verify(&s, &body)).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The latest signed tree head of the register log.
#[utoipa::path(get, path = "/api/v1/transparency/sth", tag = "transparency",
    responses((status = 200, description = "`{tree_size, root_hash, timestamp, jws}`"),
              (status = 404, description = "the log is empty", body = crate::error::Problem)))]
pub async fn sth(s: web::Data<Services>) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let head = blocking(move || diwan_app::transparency::latest(&s)).await?;
    Ok(HttpResponse::Ok().json(head))
}

#[derive(Debug, Deserialize)]
pub struct ConsistencyQuery {
    first: u64,
    second: u64,
}

/// A consistency proof between two tree sizes (RFC 9162 §2.1.4).
#[utoipa::path(get, path = "/api/v1/transparency/consistency", tag = "transparency",
    params(("first" = u64, Query, description = "the older tree size"), ("second" = u64, Query, description = "the newer tree size")),
    responses((status = 200, description = "`{first, second, proof: [hex]}`"),
              (status = 422, description = "sizes out of range", body = crate::error::Problem)))]
pub async fn consistency(
    s: web::Data<Services>,
    q: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let q = q.into_inner();
    let proof =
        blocking(move || diwan_app::transparency::consistency(&s, q.first, q.second)).await?;
    Ok(HttpResponse::Ok().json(proof))
}

#[derive(Debug, Deserialize)]
pub struct InclusionQuery {
    leaf_index: u64,
    tree_size: u64,
}

/// An inclusion proof of an entry in a tree of a given size (RFC 9162 §2.1.3).
#[utoipa::path(get, path = "/api/v1/transparency/inclusion", tag = "transparency",
    params(("leaf_index" = u64, Query, description = "the entry"), ("tree_size" = u64, Query, description = "the tree size")),
    responses((status = 200, description = "`{leaf_index, tree_size, leaf_hash, proof: [hex]}`"),
              (status = 422, description = "out of range", body = crate::error::Problem)))]
pub async fn inclusion(
    s: web::Data<Services>,
    q: web::Query<InclusionQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let q = q.into_inner();
    let proof =
        blocking(move || diwan_app::transparency::inclusion(&s, q.leaf_index, q.tree_size)).await?;
    Ok(HttpResponse::Ok().json(proof))
}

/// The installation's trust anchor (root CA certificate), PEM.
#[utoipa::path(get, path = "/api/v1/pki/root.pem", tag = "pki",
    responses((status = 200, description = "the root certificate", content_type = "application/x-pem-file")))]
pub async fn root_pem(s: web::Data<Services>) -> Result<HttpResponse, ApiError> {
    let pki = diwan_app::receipts::pki(&s)?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-pem-file")
        .body(pki.root_pem()))
}

/// The CRL of the root (`root.crl`) or of the issuing CA (`issuing.crl`), DER.
#[utoipa::path(get, path = "/api/v1/pki/{name}", tag = "pki",
    params(("name" = String, Path, description = "`root.crl` or `issuing.crl`")),
    responses((status = 200, description = "the CRL", content_type = "application/pkix-crl"),
              (status = 404, description = "no such CRL", body = crate::error::Problem)))]
pub async fn crl(
    s: web::Data<Services>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let which = match path.into_inner().as_str() {
        "root.crl" => 0,
        "issuing.crl" => 1,
        _ => return Err(diwan_app::AppError::not_found("CRL").into()),
    };
    let s = s.into_inner();
    let der = blocking(move || {
        let pki = diwan_app::receipts::pki(&s)?;
        let crls = pki.cached_crls(s.store.as_ref(), s.clock.now())?;
        crls.get(which)
            .cloned()
            .ok_or_else(|| diwan_app::AppError::internal("a CRL is missing"))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pkix-crl")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(der))
}

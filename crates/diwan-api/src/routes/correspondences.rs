//! Registration (multipart upload), reading, listing, annulment and file download.

use actix_multipart::{Field, Multipart};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use diwan_app::Services;
use diwan_app::correspondence::{ListQuery, Upload};
use diwan_app::ports::BlobSink;
use diwan_domain::RegistrationMetadata;
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Authenticated;
use crate::error::{ApiError, blocking};

/// Largest `metadata` part.
const MAX_METADATA_BYTES: usize = 64 * 1024;

/// Registers a correspondence: multipart with one `metadata` part (JSON) and one or more
/// `file` parts. Answers once the entry, its number and its files are durable.
#[utoipa::path(post, path = "/api/v1/correspondences", tag = "correspondences", security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "part `metadata`: JSON `{registry, direction, channel, subject, sender, recipient, confidentiality?, priority?, category?, sender_reference?, sender_date?, received_at?}`; parts `file`: the documents"),
    responses((status = 201, description = "`{id, registration_number, receipt}`"),
              (status = 400, description = "malformed request", body = crate::error::Problem),
              (status = 403, description = "not a registrar of this registry", body = crate::error::Problem),
              (status = 413, description = "over a size limit", body = crate::error::Problem),
              (status = 422, description = "breaks a rule", body = crate::error::Problem)))]
pub async fn register(
    s: web::Data<Services>,
    who: Authenticated,
    req: HttpRequest,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let limits = Limits::of(&s);
    if declared_length(&req).is_some_and(|n| n > limits.request + 64 * 1024) {
        return Err(ApiError::too_large(
            "request_too_large",
            limits.request_detail(),
        ));
    }
    let (metadata, uploads) = read_parts(&s, payload, &limits, "metadata", None).await?;
    let metadata = metadata.ok_or_else(|| {
        ApiError::bad_request("metadata_required", "the part `metadata` is missing")
    })?;
    let metadata: RegistrationMetadata = serde_json::from_slice(&metadata)
        .map_err(|e| ApiError::bad_request("invalid_metadata", format!("metadata: {e}")))?;
    let outcome =
        blocking(move || diwan_app::correspondence::register(&s, &who.0, metadata, uploads))
            .await?;
    Ok(HttpResponse::Created().json(json!({
        "id": outcome.id,
        "registration_number": outcome.registration_number,
        "receipt": outcome,
    })))
}

/// Receives a letter from another installation: multipart with one `envelope` part (the
/// compact JWS sealed by the sending registry) and the `file` parts it lists, in its order.
/// No account: the envelope's seal must chain to a trusted peer's root.
#[utoipa::path(post, path = "/api/v1/exchange/inbound", tag = "exchange",
    request_body(content_type = "multipart/form-data", description = "part `envelope`: compact JWS (`diwan-exchange/1`); parts `file`: the documents it lists"),
    responses((status = 201, description = "registered: `{registration_number, ack, duplicate: false}`; `ack` is the signed receipt"),
              (status = 200, description = "received before: `{registration_number, ack, duplicate: true}`"),
              (status = 403, description = "`untrusted_peer`", body = crate::error::Problem),
              (status = 413, description = "over a size limit", body = crate::error::Problem),
              (status = 422, description = "`invalid_envelope`, `files_mismatch`, `unknown_unit`, `no_registry`", body = crate::error::Problem)))]
pub async fn exchange_inbound(
    s: web::Data<Services>,
    req: HttpRequest,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let limits = Limits::of(&s);
    if declared_length(&req).is_some_and(|n| n > limits.request + 64 * 1024) {
        return Err(ApiError::too_large(
            "request_too_large",
            limits.request_detail(),
        ));
    }
    // The seal is checked as soon as the envelope is read, before any file is taken in.
    let check = |bytes: &[u8]| -> Result<(), ApiError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ApiError::bad_request("invalid_envelope", "the envelope is not text"))?;
        diwan_app::exchange::sealed_by(&s, diwan_app::exchange::Source::Remote, text)?;
        Ok(())
    };
    let (envelope, uploads) = read_parts(&s, payload, &limits, "envelope", Some(&check)).await?;
    let envelope = envelope.ok_or_else(|| {
        ApiError::bad_request("envelope_required", "the part `envelope` is missing")
    })?;
    let envelope = String::from_utf8(envelope)
        .map_err(|_| ApiError::bad_request("invalid_envelope", "the envelope is not text"))?;
    let received = blocking(move || {
        diwan_app::exchange::receive(&s, diwan_app::exchange::Source::Remote, &envelope, uploads)
    })
    .await?;
    Ok(if received.duplicate {
        HttpResponse::Ok().json(received)
    } else {
        HttpResponse::Created().json(received)
    })
}

/// An outgoing letter's deliveries to other administrations: state, attempts, last error, the
/// recipient's number and its signed acknowledgement.
#[utoipa::path(get, path = "/api/v1/correspondences/{id}/deliveries", tag = "exchange", security(("bearer" = [])),
    params(("id" = String, Path, description = "the correspondence id")),
    responses((status = 200, description = "`{deliveries: [{id, message_id, peer, unit_code, state, attempts, next_attempt_at, last_error, envelope, ack_jws, remote_number, created_at, updated_at}]}`; `state`: pending, sent, delivered, acknowledged, refused"),
              (status = 404, description = "no such correspondence visible to you", body = crate::error::Problem)))]
pub async fn deliveries(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let list = blocking(move || diwan_app::exchange::deliveries(&s, &who.0, &id)).await?;
    Ok(HttpResponse::Ok().json(json!({ "deliveries": list })))
}

struct Limits {
    file: u64,
    request: u64,
}

impl Limits {
    fn of(s: &Services) -> Self {
        Self {
            file: s.settings.max_file_bytes,
            request: s.settings.max_request_bytes,
        }
    }

    fn request_detail(&self) -> String {
        format!("a registration request is at most {} bytes", self.request)
    }
}

fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// A check of the first part, run before any file is taken in.
type PartCheck<'a> = dyn Fn(&[u8]) -> Result<(), ApiError> + 'a;

/// Reads every part, streaming files into the blob store's staging area as they arrive.
async fn read_parts(
    s: &Services,
    mut payload: Multipart,
    limits: &Limits,
    metadata_part: &str,
    check_first: Option<&PartCheck<'_>>,
) -> Result<(Option<Vec<u8>>, Vec<Upload>), ApiError> {
    let mut metadata = None;
    let mut uploads = Vec::new();
    let mut total = 0u64;
    while let Some(field) = payload.next().await {
        let field = field.map_err(|e| ApiError::bad_request("invalid_multipart", e.to_string()))?;
        match field.name() {
            Some(name) if name == metadata_part && metadata.is_none() => {
                let bytes = read_metadata(field, &mut total, limits).await?;
                if let Some(check) = check_first {
                    check(&bytes)?;
                }
                metadata = Some(bytes);
            }
            Some(name) if name == metadata_part => {
                return Err(ApiError::bad_request(
                    "invalid_multipart",
                    format!("more than one `{metadata_part}` part"),
                ));
            }
            Some("file") if check_first.is_some() && metadata.is_none() => {
                return Err(ApiError::bad_request(
                    "invalid_multipart",
                    format!("the `{metadata_part}` part comes before the files"),
                ));
            }
            Some("file") => {
                if uploads.len() >= s.settings.max_files {
                    return Err(ApiError::too_large(
                        "too_many_files",
                        format!("at most {} files per registration", s.settings.max_files),
                    ));
                }
                uploads.push(read_file(s, field, &mut total, limits).await?);
            }
            other => {
                let name = other.unwrap_or("").chars().take(64).collect::<String>();
                return Err(ApiError::bad_request(
                    "unexpected_part",
                    format!("unexpected part {name:?}"),
                ));
            }
        }
    }
    Ok((metadata, uploads))
}

async fn read_metadata(
    mut field: Field,
    total: &mut u64,
    limits: &Limits,
) -> Result<Vec<u8>, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("invalid_multipart", e.to_string()))?;
        *total += chunk.len() as u64;
        if buf.len() + chunk.len() > MAX_METADATA_BYTES {
            return Err(ApiError::too_large(
                "metadata_too_large",
                format!("metadata is at most {MAX_METADATA_BYTES} bytes"),
            ));
        }
        if *total > limits.request {
            return Err(ApiError::too_large(
                "request_too_large",
                limits.request_detail(),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

async fn read_file(
    s: &Services,
    mut field: Field,
    total: &mut u64,
    limits: &Limits,
) -> Result<Upload, ApiError> {
    let name = field
        .content_disposition()
        .and_then(|cd| cd.get_filename().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "document".to_owned());
    let declared = field.content_type().map(ToString::to_string);
    let mut sink: Box<dyn BlobSink> = s.blobs.stage().map_err(|e| ApiError(e.into()))?;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("invalid_multipart", e.to_string()))?;
        *total += chunk.len() as u64;
        if sink.written() + chunk.len() as u64 > limits.file {
            return Err(ApiError::too_large(
                "file_too_large",
                format!("a file is at most {} bytes", limits.file),
            ));
        }
        if *total > limits.request {
            return Err(ApiError::too_large(
                "request_too_large",
                limits.request_detail(),
            ));
        }
        sink.write(&chunk).map_err(|e| ApiError(e.into()))?;
    }
    let blob = blocking(move || Ok(sink.finish(declared.as_deref())?)).await?;
    Ok(Upload { name, blob })
}

/// A correspondence with its files and history.
#[utoipa::path(get, path = "/api/v1/correspondences/{id}", tag = "correspondences", security(("bearer" = [])),
    responses((status = 200, description = "the correspondence"), (status = 404, description = "none the caller may see", body = crate::error::Problem)))]
pub async fn get(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let id = id.into_inner();
    let c = blocking(move || diwan_app::correspondence::get(&s, &who.0, &id)).await?;
    Ok(HttpResponse::Ok().json(c))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// The registry's code (required).
    registry: Option<String>,
    /// `incoming`, `outgoing` or `internal`.
    direction: Option<String>,
    year: Option<i32>,
    /// Text to look for in subjects, parties and references.
    q: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<usize>,
}

/// A page of a register, newest first.
#[utoipa::path(get, path = "/api/v1/correspondences", tag = "correspondences", security(("bearer" = [])), params(ListParams),
    responses((status = 200, description = "`{items, next_cursor}`"), (status = 403, description = "may not list this register", body = crate::error::Problem)))]
pub async fn list(
    s: web::Data<Services>,
    who: Authenticated,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let p = params.into_inner();
    let query = ListQuery {
        registry: p.registry,
        direction: p.direction,
        year: p.year,
        q: p.q,
        cursor: p.cursor,
        limit: p.limit,
    };
    let page = blocking(move || diwan_app::correspondence::list(&s, &who.0, query)).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnulBody {
    pub reason: String,
}

/// Annuls a correspondence: its number stays, marked annulled, never reused.
#[utoipa::path(post, path = "/api/v1/correspondences/{id}/annul", tag = "correspondences", security(("bearer" = [])), request_body = AnnulBody,
    responses((status = 200, description = "the annulled correspondence"), (status = 403, description = "not a registrar of its registry", body = crate::error::Problem),
              (status = 409, description = "already annulled", body = crate::error::Problem)))]
pub async fn annul(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<AnnulBody>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let id = id.into_inner();
    let reason = body.into_inner().reason;
    let c = blocking(move || diwan_app::correspondence::annul(&s, &who.0, &id, &reason)).await?;
    Ok(HttpResponse::Ok().json(c))
}

/// Downloads a file of a correspondence (always as an attachment).
#[utoipa::path(get, path = "/api/v1/correspondences/{id}/files/{file_id}", tag = "correspondences", security(("bearer" = [])),
    responses((status = 200, description = "the file's bytes"), (status = 404, description = "none the caller may see", body = crate::error::Problem)))]
pub async fn file(
    s: web::Data<Services>,
    who: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let (id, file_id) = path.into_inner();
    let download = blocking(move || {
        let d = diwan_app::correspondence::download(&s, &who.0, &id, &file_id)?;
        Ok((d.record, d.bytes))
    })
    .await?;
    let (record, bytes) = download;
    Ok(file_response(&record, bytes))
}

/// A stored file as a response: its media type, always as an attachment, with its digest.
pub(crate) fn file_response(record: &diwan_app::model::FileRecord, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(record.media_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, attachment(&record.name)))
        .insert_header(("Digest", format!("sha-256={}", record.sha256)))
        .body(bytes)
}

/// The sealed PDF/A dossier: the arrival stamp, then every file in order (or a page saying it
/// could not be converted). Made now if it was not made yet.
#[utoipa::path(get, path = "/api/v1/correspondences/{id}/dossier", tag = "correspondences", security(("bearer" = [])),
    responses((status = 200, description = "the dossier (`application/pdf`, PDF/A-2b, PAdES-B-B seal)"),
              (status = 404, description = "none the caller may see", body = crate::error::Problem)))]
pub async fn dossier(
    s: web::Data<Services>,
    who: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = s.into_inner();
    let id = id.into_inner();
    let file = blocking(move || diwan_app::dossiers::download(&s, &who.0, &id)).await?;
    let name = format!(
        "dossier-{}.pdf",
        file.registration_number.replace(['/', '\\'], "-")
    );
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, attachment(&name)))
        .insert_header(("Digest", format!("sha-256={}", file.dossier.sha256)))
        .insert_header(("X-Dossier-Pages", file.dossier.pages.to_string()))
        .body(crate::stream::file_body(file.content, file.dossier.size)))
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266).
pub(crate) fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn attachment_names_are_safe() {
        let h = super::attachment("رسالة \"x\".pdf");
        assert!(
            h.starts_with("attachment; filename=\"_____ _x_.pdf\""),
            "{h}"
        );
        assert!(h.contains("filename*=UTF-8''%D8%B1"));
        assert!(!h.contains('\n'));
    }
}

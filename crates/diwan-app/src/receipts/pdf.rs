//! The sealed PDF receipt: drawn from the signed JSON payload, sealed (PAdES-B-B) by the
//! registry's seal, stored as a blob. Made by a small worker pool just after commit, or on
//! demand when asked for before the worker got to it.

use crate::workers::Wait;
use std::sync::mpsc;

use chrono::{DateTime, Utc};
use diwan_pdf::{AnnulmentLines, FileLine, ReceiptView, SealInfo};
use serde_json::Value;

use crate::Services;
use crate::error::AppError;
use crate::model::{ReceiptKind, StoredReceipt};

/// The catalog entry of a sealed receipt PDF that holds its signed JSON receipt.
pub const CATALOG_KEY: &str = "DiwanReceipt";

fn text(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn human_size(bytes: u64) -> String {
    const K: u64 = 1024;
    match bytes {
        b if b < K => format!("{b} B"),
        b if b < K * K => format!("{:.1} KiB", b as f64 / K as f64),
        b => format!("{:.1} MiB", b as f64 / (K * K) as f64),
    }
}

fn local_text(v: &Value) -> String {
    let local = text(v, &["received_at", "local"]);
    let shown = DateTime::parse_from_rfc3339(&local)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or(local);
    format!("{shown} ({})", text(v, &["received_at", "time_zone"]))
}

/// What the PDF shows, from the receipt's payload.
pub fn view(payload: &Value, issued_at: DateTime<Utc>) -> ReceiptView {
    let files = payload["files"]
        .as_array()
        .map(|files| {
            files
                .iter()
                .map(|f| FileLine {
                    name: text(f, &["name"]),
                    size: human_size(f["size"].as_u64().unwrap_or(0)),
                    media_type: text(f, &["media_type"]),
                    sha256_hex: text(f, &["sha256"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let annulled = payload.get("annulment").map(|a| AnnulmentLines {
        reason: text(a, &["reason"]),
        at: text(a, &["at"]),
    });
    let utc = text(payload, &["received_at", "utc"]);
    ReceiptView {
        registration_number: text(payload, &["registration_number"]),
        registry_ar: text(payload, &["registry", "name_ar"]),
        registry_fr: text(payload, &["registry", "name_fr"]),
        administration_ar: text(payload, &["administration", "name_ar"]),
        administration_fr: text(payload, &["administration", "name_fr"]),
        unit_ar: text(payload, &["unit", "name_ar"]),
        unit_fr: text(payload, &["unit", "name_fr"]),
        unit_contact: payload["unit"]["contact"].as_str().map(str::to_owned),
        received_utc: DateTime::parse_from_rfc3339(&utc)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or(utc),
        received_local: local_text(payload),
        received_hijri_ar: text(payload, &["received_at", "hijri", "text_ar"]),
        received_hijri_fr: text(payload, &["received_at", "hijri", "text_fr"]),
        depositor: text(payload, &["depositor", "name"]),
        subject: text(payload, &["subject"]),
        files,
        deadline_date: text(payload, &["deadline", "date"]),
        deadline_hijri_ar: text(payload, &["deadline", "hijri", "text_ar"]),
        silence_ar: text(payload, &["deadline", "sentence_ar"]),
        silence_fr: text(payload, &["deadline", "sentence_fr"]),
        tracking_code: text(payload, &["tracking_code"]),
        verification_url: text(payload, &["verification_url"]),
        issued_at,
        annulled,
    }
}

/// Draws and seals the PDF of a stored receipt (does not store it).
pub fn make_pdf(s: &Services, id: &str, kind: ReceiptKind) -> Result<Vec<u8>, AppError> {
    draw_and_seal(s, &receipt(s, id, kind)?, kind)
}

fn draw_and_seal(
    s: &Services,
    stored: &StoredReceipt,
    kind: ReceiptKind,
) -> Result<Vec<u8>, AppError> {
    let payload = super::payload_of(&stored.receipt.jws)?;
    let org = crate::org::snapshot(s)?;
    let code = text(&payload, &["registry", "code"]);
    let registry = org
        .registry_by_code(&code)
        .ok_or_else(|| AppError::internal(format!("receipt of unknown registry {code}")))?;
    let pki = super::pki(s)?;
    let seal = pki
        .seal(&registry.id)
        .ok_or_else(|| AppError::unavailable("the registry has no seal"))?;
    let drawn = diwan_pdf::render_receipt(&view(&payload, stored.receipt.issued_at))
        .map_err(|e| AppError::internal(format!("drawing a receipt: {e}")))?;
    let info = SealInfo {
        name: seal.certificate.subject(),
        reason: Some(match kind {
            ReceiptKind::Receipt => "Accusé de réception / وصل الإيداع".to_owned(),
            ReceiptKind::Annulment => "Avis d'annulation / إشعار الإلغاء".to_owned(),
        }),
        location: None,
        signing_time: s.clock.now(),
        extra_catalog_entries: vec![(CATALOG_KEY.to_owned(), stored.receipt.jws.clone())],
    };
    diwan_pdf::seal(&drawn, &info, |covered| {
        diwan_pki::cms::sign_detached(covered, &seal.key, &seal.certificate, &seal.chain)
            .map_err(|e| e.to_string())
    })
    .map_err(|e| AppError::internal(format!("sealing a receipt: {e}")))
}

/// The stored PDF, made and stored first if needed.
///
/// One caller of this process makes a given receipt's PDF; the others (the PDF worker, the
/// e-mail sender, a download) wait for it and read the copy it stored, so that every one of
/// them hands out the same sealed file.
pub fn ensure_pdf(s: &Services, id: &str, kind: ReceiptKind) -> Result<Vec<u8>, AppError> {
    // Held before the row is read: a caller that waited finds the copy the maker stored.
    let _held = s.pdfs_in_making.hold(&format!("{}/{id}", kind.as_str()));
    let stored = receipt(s, id, kind)?;
    if let Some(digest) = &stored.pdf_sha256 {
        // Stored without waiting for the disk (it can be made again from the signed receipt):
        // after a crash it may be missing, or torn and then refused by its digest.
        match s.blobs.read(digest) {
            Ok(Some(bytes)) => return Ok(bytes),
            Ok(None) => tracing::warn!(receipt = id, "a receipt's PDF is missing; making it again"),
            Err(e) => {
                tracing::warn!(receipt = id, error = %e, "a receipt's PDF is unreadable; making it again");
                if let Err(e) = s.blobs.forget_made(digest) {
                    tracing::warn!(receipt = id, error = %e, "cannot remove a damaged receipt PDF");
                }
            }
        }
    }
    let pdf = draw_and_seal(s, &stored, kind)?;
    let digest = s.blobs.put_remakeable(&pdf)?;
    s.store.set_receipt_pdf(id, kind, &digest)?;
    Ok(pdf)
}

fn receipt(s: &Services, id: &str, kind: ReceiptKind) -> Result<StoredReceipt, AppError> {
    s.store
        .receipt(id, kind)?
        .ok_or_else(|| AppError::not_found("receipt"))
}

/// Queue of receipts whose PDF is to be made.
#[derive(Debug, Clone)]
pub struct PdfQueue(mpsc::SyncSender<(String, ReceiptKind)>);

impl PdfQueue {
    /// Asks for a PDF; if the queue is full the PDF is made on demand or at the next start.
    pub fn push(&self, id: &str, kind: ReceiptKind) {
        let _ = self.0.try_send((id.to_owned(), kind));
    }
}

/// Starts `threads` workers making PDFs, and queues the receipts left without one.
pub fn start_workers(s: &Services, threads: usize) -> Result<PdfQueue, AppError> {
    let (tx, rx) = mpsc::sync_channel::<(String, ReceiptKind)>(16_384);
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    for n in 0..threads.max(1) {
        let s = s.clone();
        let rx = std::sync::Arc::clone(&rx);
        let builder = std::thread::Builder::new().name(format!("diwan-pdf-{n}"));
        let workers = std::sync::Arc::clone(&s.workers);
        workers
            .spawn(builder, move || {
                loop {
                    let job = {
                        let guard = rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        s.workers.wait(&guard, std::time::Duration::MAX)
                    };
                    let Wait::Got((id, kind)) = job else { break };
                    if let Err(e) = ensure_pdf(&s, &id, kind) {
                        tracing::error!(receipt = %id, error = %e, "cannot make a receipt's PDF");
                    }
                }
            })
            .map_err(|e| AppError::internal(format!("cannot start a PDF worker: {e}")))?;
    }
    let queue = PdfQueue(tx);
    for (id, kind) in s.store.receipts_without_pdf(10_000)? {
        queue.push(&id, kind);
    }
    Ok(queue)
}

//! Making a registration's dossier: the stamp from its signed receipt, every file in order,
//! sealed with the registry's seal, written to a scratch file and kept as a blob.

use std::io::{Read, Seek, SeekFrom};
use std::time::Instant;

use diwan_domain::Sha256Digest;
use diwan_pdf::dossier::{
    DossierOptions, Part, PartContent, Reason, SealText, StampView, build_dossier,
};
use serde_json::Value;

use crate::Services;
use crate::error::AppError;
use crate::model::{Correspondence, FileRecord, ReceiptKind, StoredDossier};

/// Longest typed message drawn (the portal accepts 20,000 characters).
const MAX_MESSAGE_BYTES: u64 = 256 * 1024;

fn text(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().map(str::to_owned).unwrap_or_default()
}

/// The stamp's words, from the receipt's payload.
fn stamp(payload: &Value, c: &Correspondence, s: &Services) -> StampView {
    let (title_ar, title_fr) = match c.direction.as_str() {
        "outgoing" => ("ختم الصدور", "Cachet de départ"),
        "internal" => ("ختم التسجيل الداخلي", "Cachet d'enregistrement interne"),
        _ => ("ختم الورود", "Cachet d'arrivée"),
    };
    let local = text(payload, &["received_at", "local"]);
    let shown = chrono::DateTime::parse_from_rfc3339(&local)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or(local);
    StampView {
        registration_number: c.registration_number.as_str().to_owned(),
        title_ar: title_ar.to_owned(),
        title_fr: title_fr.to_owned(),
        registry_ar: text(payload, &["registry", "name_ar"]),
        registry_fr: text(payload, &["registry", "name_fr"]),
        administration_ar: text(payload, &["administration", "name_ar"]),
        administration_fr: text(payload, &["administration", "name_fr"]),
        unit_ar: text(payload, &["unit", "name_ar"]),
        unit_fr: text(payload, &["unit", "name_fr"]),
        received_local: format!("{shown} ({})", text(payload, &["received_at", "time_zone"])),
        received_hijri_ar: text(payload, &["received_at", "hijri", "text_ar"]),
        received_hijri_fr: text(payload, &["received_at", "hijri", "text_fr"]),
        subject: c.subject.clone(),
        verification_url: text(payload, &["verification_url"]),
        issued_at: s.clock.now(),
    }
}

fn part(s: &Services, c: &Correspondence, f: &FileRecord) -> Result<Part, AppError> {
    let message = f.media_type == "text/plain"
        && c.channel == diwan_domain::Channel::Portal
        && f.size <= MAX_MESSAGE_BYTES;
    let content = if message {
        let bytes = s
            .blobs
            .read(&f.sha256)?
            .ok_or_else(|| AppError::internal(format!("file {} is missing", f.id)))?;
        PartContent::Text(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        match &f.pdf {
            Some(check) if !check.problems.is_empty() => PartContent::Refused(
                check
                    .problems
                    .iter()
                    .map(|p| Reason {
                        code: p.code.clone(),
                        detail: p.detail.clone(),
                    })
                    .collect(),
            ),
            _ => PartContent::File,
        }
    };
    Ok(Part {
        name: f.name.clone(),
        media_type: f.media_type.clone(),
        size: f.size,
        sha256_hex: f.sha256.as_str().to_owned(),
        content,
    })
}

/// Builds, seals and stores the dossier of correspondence `id` (does not record it).
pub fn make(s: &Services, id: &str) -> Result<StoredDossier, AppError> {
    let started = Instant::now();
    let c = s
        .store
        .correspondence_with_files(id)?
        .ok_or_else(|| AppError::not_found("correspondence"))?;
    let receipt = s
        .store
        .receipt(id, ReceiptKind::Receipt)?
        .ok_or_else(|| AppError::internal("a registration without its receipt"))?;
    let payload = crate::receipts::payload_of(&receipt.receipt.jws)?;
    let view = stamp(&payload, &c, s);
    let parts = c
        .files
        .iter()
        .map(|f| part(s, &c, f))
        .collect::<Result<Vec<_>, _>>()?;
    let seal = crate::receipts::pki(s)?
        .seal(&c.registry_id)
        .ok_or_else(|| AppError::unavailable("the registry has no seal"))?;
    let options = DossierOptions {
        default_dpi: s.settings.documents.default_dpi,
        deadline: Some(started + s.settings.documents.dossier_time),
        seal: SealText {
            name: seal.certificate.subject(),
            reason: Some("Dossier numérisé / ملف رقمي".to_owned()),
            location: None,
            signing_time: s.clock.now(),
        },
    };
    let mut out = s.blobs.scratch()?;
    let files = &c.files;
    let mut open = |i: usize| -> std::io::Result<Box<dyn diwan_pdf::dossier::ReadSeek>> {
        let f = files
            .get(i)
            .ok_or_else(|| std::io::Error::other("no such file"))?;
        let reader = s.blobs.open(&f.sha256)?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("file {} is missing", f.id),
            )
        })?;
        Ok(Box::new(reader))
    };
    // One pass over the file gives both digests: the signed one (the file without the
    // signature's gap) and, from the state at the gap, the file's own (its content address),
    // finished below over the gap and what follows it once the signature is in.
    let mut at_gap: Option<(u64, ring::digest::Context)> = None;
    let built = build_dossier(
        &view,
        &parts,
        &mut open,
        &mut out,
        &options,
        |covered, gap| {
            let (digest, before_gap) = sha256_split(covered, gap).map_err(|e| e.to_string())?;
            at_gap = Some((gap, before_gap));
            diwan_pki::cms::sign_detached_digest(&digest, &seal.key, &seal.certificate, &seal.chain)
                .map_err(|e| e.to_string())
        },
    )
    .map_err(|e| AppError::internal(format!("making the dossier of {id}: {e}")))?;
    let (gap, mut whole) =
        at_gap.ok_or_else(|| AppError::internal("the dossier was not signed"))?;
    out.seek(SeekFrom::Start(gap))?;
    let size = hash_rest(&mut out, &mut whole)? + gap;
    let sha256 = Sha256Digest::from_bytes(
        &<[u8; 32]>::try_from(whole.finish().as_ref())
            .map_err(|_| AppError::internal("digest length"))?,
    );
    out.keep_as(&sha256, size)?;
    tracing::info!(
        correspondence = id,
        pages = built.pages,
        refused = built.refused,
        bytes = size,
        took_ms = started.elapsed().as_millis(),
        "dossier made"
    );
    Ok(StoredDossier {
        correspondence_id: id.to_owned(),
        sha256,
        size,
        pages: u32::try_from(built.pages).unwrap_or(u32::MAX),
        made_at: s.clock.now(),
    })
}

/// SHA-256 of everything `r` gives, and the hash state after its first `split` bytes.
fn sha256_split(
    r: &mut dyn Read,
    split: u64,
) -> std::io::Result<([u8; 32], ring::digest::Context)> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut at_split = None;
    let mut pos = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        let end = pos + n as u64;
        if at_split.is_none() && end >= split {
            let k = usize::try_from(split - pos).unwrap_or(n).min(n);
            ctx.update(&chunk[..k]);
            at_split = Some(ctx.clone());
            ctx.update(&chunk[k..]);
        } else {
            ctx.update(chunk);
        }
        pos = end;
    }
    let at_split = at_split
        .ok_or_else(|| std::io::Error::other("the signature's gap is beyond the covered bytes"))?;
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Ok((out, at_split))
}

/// Feeds the rest of `r` into `ctx`; returns how many bytes that was.
fn hash_rest(r: &mut dyn Read, ctx: &mut ring::digest::Context) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        ctx.update(&buf[..n]);
        total += n as u64;
    }
}

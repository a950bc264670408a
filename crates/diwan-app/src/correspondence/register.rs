//! Registration: the metadata and files of a letter become an entry of a register, with a
//! gapless number, in one transaction.

use chrono::{DateTime, Datelike as _, SubsecRound as _, Utc};
use diwan_domain::text::{self, limits};
use diwan_domain::{
    Direction, PartyKind, RegistrationMetadata, RegistrationNumber, RegistrationRequest,
};
use serde::Serialize;

use crate::Services;
use crate::access::{Actor, exchange_permit, may_register, portal_permit};
use crate::error::AppError;
use crate::ids;
use crate::model::{
    Concern, ConcernedUnit, FileProblem, FileRecord, NewCorrespondence, NewFile, PdfCheck, Unit,
};
use crate::ports::StagedBlob;

/// A file received with the registration request, already staged on disk.
#[derive(Debug)]
pub struct Upload {
    pub name: String,
    pub blob: Box<dyn StagedBlob>,
}

/// What the registrar gets back.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrationOutcome {
    pub id: String,
    pub registration_number: RegistrationNumber,
    pub registry: String,
    pub direction: Direction,
    pub year: i32,
    pub seq: i64,
    pub received_at: DateTime<Utc>,
    pub registered_at: DateTime<Utc>,
    pub files: Vec<FileRecord>,
    pub tracking_code: String,
    /// The signed JSON receipt (compact JWS); its payload is also served, decoded, by
    /// `GET /api/v1/receipts/{id}`.
    #[serde(rename = "jws")]
    pub receipt_jws: Option<String>,
}

/// How far in the future a declared reception time may be (clock skew between machines).
const FUTURE_TOLERANCE: chrono::Duration = chrono::Duration::minutes(5);

/// Who registers: an agent (registrar), or the citizen portal for a deposit whose e-mail was
/// confirmed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Registrant<'a> {
    Agent(&'a Actor),
    Portal,
    /// A letter received by exchange from another administration.
    Exchange(&'a crate::model::ExchangeLink),
    /// The outgoing letter a parapheur document became, under the number reserved for it
    /// (year, seq).
    Parapheur((i32, i64)),
}

pub fn register(
    s: &Services,
    actor: &Actor,
    metadata: RegistrationMetadata,
    uploads: Vec<Upload>,
) -> Result<RegistrationOutcome, AppError> {
    check_media_types(&uploads)?;
    register_by(s, Registrant::Agent(actor), metadata, uploads)
}

/// What may be registered, recognised from the content itself (never from the file's name
/// or the type the client declared).
pub const ACCEPTED_MEDIA_TYPES: [&str; 4] =
    ["application/pdf", "image/jpeg", "image/png", "image/tiff"];

/// Whether a staged file is of an accepted type, judged on its content.
pub fn accepted(blob: &dyn StagedBlob) -> bool {
    blob.detected_type()
        .is_some_and(|t| ACCEPTED_MEDIA_TYPES.contains(&t))
}

/// Refuses the first file whose content is not PDF, JPEG, PNG or TIFF.
pub(crate) fn check_media_types(uploads: &[Upload]) -> Result<(), AppError> {
    match uploads.iter().find(|u| !accepted(u.blob.as_ref())) {
        None => Ok(()),
        Some(u) => Err(AppError::unprocessable(
            "unsupported_media_type",
            format!(
                "{:?} is {}; accepted: PDF (application/pdf), JPEG (image/jpeg), PNG (image/png), TIFF (image/tiff), recognised from the content",
                u.name.chars().take(100).collect::<String>(),
                u.blob.detected_type().unwrap_or("of no recognised type"),
            ),
        )),
    }
}

/// Checks a registration's metadata and files without registering anything, so that a caller
/// can refuse bad input before spending something (a one-time code).
pub(crate) fn check(
    s: &Services,
    metadata: &RegistrationMetadata,
    uploads: &[Upload],
) -> Result<(), AppError> {
    RegistrationRequest::parse(metadata.clone())?;
    check_uploads(s, uploads)
}

pub(crate) fn register_by(
    s: &Services,
    registrant: Registrant<'_>,
    metadata: RegistrationMetadata,
    uploads: Vec<Upload>,
) -> Result<RegistrationOutcome, AppError> {
    let request = RegistrationRequest::parse(metadata)?;
    check_uploads(s, &uploads)?;
    let mut org = crate::org::snapshot(s)?;
    if org.registry_by_code(request.registry.as_str()).is_none() || !knows_units(&org, &request) {
        org = crate::org::fresh_snapshot(s)?;
    }
    let registry = org
        .registry_by_code(request.registry.as_str())
        .cloned()
        .ok_or_else(|| {
            AppError::unprocessable(
                "unknown_registry",
                format!("no registry has the code {}", request.registry),
            )
        })?;
    let (permit, registered_by) = match registrant {
        Registrant::Agent(actor) => (may_register(actor, registry)?, actor.agent_id.clone()),
        Registrant::Portal => (
            portal_permit(registry, &request)?,
            crate::portal::PORTAL_AGENT_ID.to_owned(),
        ),
        Registrant::Exchange(_) => (
            exchange_permit(registry, &request)?,
            crate::exchange::EXCHANGE_AGENT_ID.to_owned(),
        ),
        Registrant::Parapheur(_) => (
            crate::access::parapheur_permit(registry, &request)?,
            crate::parapheur::circuit::PARAPHEUR_AGENT_ID.to_owned(),
        ),
    };
    let exchange = match registrant {
        Registrant::Exchange(link) => Some(link.clone()),
        _ => crate::exchange::delivery_for(s, &org, &permit.registry().unit_id, &request)?,
    };
    // A reply: the letter it answers must be one the registrar sees, incoming, answerable.
    let answers = match (&request.in_reply_to, &registrant) {
        (Some(reference), Registrant::Agent(actor)) => {
            Some(crate::workflow::reply_target(s, actor, reference)?.id)
        }
        (Some(_), Registrant::Portal | Registrant::Exchange(_) | Registrant::Parapheur(_)) => {
            return Err(AppError::forbidden());
        }
        (None, _) => None,
    };
    let now = s.clock.now().trunc_subsecs(6);
    let received_at = request.received_at.unwrap_or(now);
    if received_at > now + FUTURE_TOLERANCE {
        return Err(AppError::unprocessable(
            "invalid_input",
            "received_at is in the future",
        ));
    }
    let concerned_units = concerned_units(&org.units, &permit.registry().unit_id, &request)?;
    let files: Vec<NewFile> = uploads
        .into_iter()
        .map(|u| {
            Ok(NewFile {
                id: ids::new_id()?,
                pdf: inspect(s, &u)?,
                name: u.name,
                blob: u.blob,
            })
        })
        .collect::<Result<_, AppError>>()?;
    let file_records: Vec<FileRecord> = files
        .iter()
        .map(|f| FileRecord {
            id: f.id.clone(),
            name: f.name.clone(),
            media_type: f.blob.media_type().to_owned(),
            size: f.blob.size(),
            sha256: f.blob.sha256().clone(),
            pdf: f.pdf.clone(),
        })
        .collect();
    let mut new = NewCorrespondence {
        id: ids::new_id()?,
        year: now.with_timezone(&s.settings.time_zone).year(),
        registry: permit.registry().clone(),
        search_text: search_text(&request),
        request,
        received_at,
        registered_at: now,
        registered_by,
        tracking_code: ids::new_tracking_code()?,
        files,
        concerned_units,
        in_reply_to: answers.clone(),
        exchange,
        reserved_seq: None,
        legal_due_at: None,
    };
    new.legal_due_at = legal_due_at(&s.settings, &new);
    if let Registrant::Parapheur((year, seq)) = registrant {
        new.year = year;
        new.reserved_seq = Some(seq);
    }
    let delivers = matches!(new.exchange, Some(crate::model::ExchangeLink::Send { .. }));
    let (id, tracking_code, direction) = (
        new.id.clone(),
        new.tracking_code.clone(),
        new.request.direction,
    );
    let channel = new.request.channel;
    // Routing rules apply to incoming letters; what they need is kept before the job is handed
    // to the store (nothing is read back after).
    let routable = if direction == diwan_domain::Direction::Incoming {
        let rules = crate::workflow::active_rules(s, &new.registry.id)?;
        (!rules.is_empty()).then(|| {
            let r = &new.request;
            (
                rules.clone(),
                crate::workflow::Routable {
                    id: new.id.clone(),
                    registry_id: new.registry.id.clone(),
                    received_at: new.received_at,
                    category: r.category.clone(),
                    recipient_unit: r.recipient.unit.clone(),
                    sender_territory: r.sender.territory.clone(),
                    subject: r.subject.clone(),
                    actor_id: new.registered_by.clone(),
                },
            )
        })
    } else {
        None
    };
    let notary = crate::receipts::notary_with(s, org)?;
    promote(&mut new)?;
    let (registered, issued) = s.store.register(new, notary)?;
    crate::metrics::registered(s, direction, channel);
    if let Some(rt) = s.runtime.get() {
        if let Some(q) = &rt.pdf_queue {
            q.push(&id, crate::model::ReceiptKind::Receipt);
        }
        if let Some(q) = &rt.dossier_queue {
            q.push(&id);
        }
        if let Some(w) = &rt.mail_wake {
            w.wake();
        }
        if let Some(w) = &rt.text_wake {
            w.wake();
        }
        if let (true, Some(w)) = (delivers, &rt.exchange_wake) {
            w.wake();
        }
    }
    if let Some((rules, letter)) = &routable {
        // The registration is durable: a rule that cannot be applied leaves the letter
        // registered, for the registry to assign by hand.
        if let Err(e) = crate::workflow::route(s, rules, letter) {
            tracing::warn!(correspondence = %id, error = %e, "routing rules not applied");
        }
    }
    if let (Some(incoming), Registrant::Agent(actor)) = (&answers, &registrant) {
        crate::workflow::mark_answered(
            s,
            actor,
            incoming,
            &id,
            registered.registration_number.as_str(),
        )?;
    }
    tracing::info!(correspondence = %id, number = %registered.registration_number, "registered");
    Ok(RegistrationOutcome {
        id,
        registration_number: registered.registration_number,
        registry: permit.registry().code.as_str().to_owned(),
        direction,
        year: registered.year,
        seq: registered.seq,
        received_at,
        registered_at: now,
        files: file_records,
        tracking_code,
        receipt_jws: issued.map(|r| r.jws),
    })
}

/// A PDF's inspection, within the configured time. A file with problems is still registered
/// and kept as it is; the problems are recorded with it.
fn inspect(s: &Services, u: &Upload) -> Result<Option<PdfCheck>, AppError> {
    if u.blob.detected_type() != Some("application/pdf") {
        return Ok(None);
    }
    let limits = diwan_pdf::reader::Limits {
        deadline: Some(std::time::Instant::now() + s.settings.documents.inspect_time),
        ..diwan_pdf::reader::Limits::default()
    };
    let found = diwan_pdf::inspect(u.blob.reader()?, limits)?;
    if !found.problems.is_empty() {
        let codes: Vec<&str> = found.problems.iter().map(|p| p.code).collect();
        tracing::info!(file = %u.blob.sha256(), ?codes, "a deposited PDF has problems");
    }
    Ok(Some(pdf_check(found)))
}

pub(crate) fn pdf_check(found: diwan_pdf::Inspection) -> PdfCheck {
    PdfCheck {
        pages: found.pages,
        problems: found
            .problems
            .into_iter()
            .map(|p| FileProblem {
                code: p.code.to_owned(),
                detail: p.detail,
            })
            .collect(),
    }
}

/// Moves the files to their content address, durably, before the registration is committed.
/// Done here, on the caller's thread, so that many registrations do it in parallel; if the
/// registration then fails, the store removes what nothing refers to.
fn promote(new: &mut NewCorrespondence) -> Result<(), AppError> {
    for f in &mut new.files {
        f.blob.promote()?;
    }
    Ok(())
}

fn check_uploads(s: &Services, uploads: &[Upload]) -> Result<(), AppError> {
    if uploads.is_empty() {
        return Err(AppError::unprocessable(
            "file_required",
            "a registration carries at least one file",
        ));
    }
    if uploads.len() > s.settings.max_files {
        return Err(AppError::rejected(
            crate::Rejection::TooLarge,
            "too_many_files",
            format!("at most {} files per registration", s.settings.max_files),
        ));
    }
    for u in uploads {
        text::line("file.name", &u.name, limits::FILE_NAME)?;
    }
    Ok(())
}

/// Whether every unit the parties name is in the snapshot.
fn knows_units(org: &crate::cache::OrgSnapshot, r: &RegistrationRequest) -> bool {
    [&r.sender, &r.recipient]
        .iter()
        .filter(|p| p.peer.is_none())
        .filter_map(|p| p.unit.as_ref())
        .all(|code| org.units.iter().any(|u| &u.code == code))
}

/// The registry's unit, and the units named as sender or recipient.
fn concerned_units(
    units: &[Unit],
    registry_unit: &str,
    r: &RegistrationRequest,
) -> Result<Vec<ConcernedUnit>, AppError> {
    let mut out = vec![ConcernedUnit {
        unit_id: registry_unit.to_owned(),
        concern: Concern::Registry,
    }];
    for (party, concern) in [
        (&r.sender, Concern::Sender),
        (&r.recipient, Concern::Recipient),
    ] {
        let Some(code) = party
            .unit
            .as_ref()
            .filter(|_| party.kind == PartyKind::Administration && party.peer.is_none())
        else {
            continue;
        };
        let unit = units.iter().find(|u| &u.code == code).ok_or_else(|| {
            AppError::unprocessable("unknown_unit", format!("no unit has the code {code}"))
        })?;
        if !out
            .iter()
            .any(|c| c.unit_id == unit.id && c.concern == concern)
        {
            out.push(ConcernedUnit {
                unit_id: unit.id.clone(),
                concern,
            });
        }
    }
    Ok(out)
}

/// The normalised text of subject, parties' names and sender's reference, kept on the row for
/// reading (the search itself uses the index, see `diwan_domain::search`).
fn search_text(r: &RegistrationRequest) -> String {
    let mut parts = vec![
        r.subject.as_str(),
        r.sender.name.as_str(),
        r.recipient.name.as_str(),
    ];
    parts.extend(r.sender_reference.as_deref());
    diwan_domain::text::normalise_for_search(&parts.join(" "))
}

/// The first instant after the legal deadline's day, in the installation's zone (the receipt
/// prints that day).
fn legal_due_at(settings: &crate::Settings, new: &NewCorrespondence) -> Option<DateTime<Utc>> {
    use chrono::TimeZone as _;
    if new.request.direction != diwan_domain::Direction::Incoming {
        return None;
    }
    let rule = settings.deadlines.rule(new.request.category.as_deref());
    let start = new
        .received_at
        .with_timezone(&settings.time_zone)
        .date_naive();
    let day = rule.deadline(&settings.calendar, start)?;
    let next = day.succ_opt()?.and_hms_opt(0, 0, 0)?;
    // A day that starts in a gap (a clock change at midnight) starts at the gap's end.
    settings
        .time_zone
        .from_local_datetime(&next)
        .earliest()
        .or_else(|| {
            settings
                .time_zone
                .from_local_datetime(&(next + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

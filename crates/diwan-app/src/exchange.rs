//! Exchange between administrations.
//!
//! An outgoing letter addressed to an administration of this installation (its recipient names
//! a unit of another administration) or of a trusted peer installation (`recipient.peer`) gets
//! a delivery row in its own registration transaction. A worker then makes the **envelope** — the
//! letter's metadata and its files' digests as canonical JSON, signed (JWS, `x5c`) by the sending
//! registry's seal — and delivers it with the files: into this installation directly, or by
//! `POST /api/v1/exchange/inbound` to the peer. The recipient checks the envelope against the
//! anchors it trusts, registers the letter in the incoming register of the addressed unit's
//! registry (its own number; `channel = exchange`, `sender_reference` = the sender's number) and
//! answers with that registration's **receipt**, signed by its own registry's seal and carrying
//! the envelope's message id: the acknowledgement. The sender keeps it once it verifies against
//! the peer's anchors. An envelope received twice is registered once (unique message id per
//! sending peer, in the registration's transaction); the second answer is the first receipt.
//! Deliveries not answered are tried again with a growing delay, until acknowledged or refused.

use std::io::Read;
use std::sync::mpsc;
use std::time::Duration;

use chrono::DateTime;
use diwan_domain::{
    Channel, Direction, Party, PartyKind, RegistrationMetadata, RegistrationRequest,
};
use diwan_pki::Certificate;
use serde::Serialize;
use serde_json::{Value, json};

use crate::Services;
use crate::access::Actor;
use crate::cache::OrgSnapshot;
use crate::correspondence::Upload;
use crate::error::{AppError, Rejection};
use crate::model::{Delivery, DeliveryState, DeliveryUpdate, ExchangeLink};

/// Registers letters received by exchange (created by a migration; cannot log in).
pub const EXCHANGE_AGENT_ID: &str = "00000000-0000-4000-8000-000000000002";
/// The envelope's payload type.
pub const ENVELOPE_TYPE: &str = "diwan-exchange/1";
/// How long a worker holds a delivery it is attempting.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// Longest message id accepted.
const MAX_MESSAGE_ID: usize = 100;

/// A trusted peer installation.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The name letters use in `recipient.peer`.
    pub name: String,
    /// Its base URL (`…/api/v1/exchange/inbound` is appended).
    pub url: String,
    /// Its trust anchors: envelopes and acknowledgements must chain to one of them.
    pub roots: Vec<Certificate>,
}

/// How exchange works on this installation.
#[derive(Debug, Clone)]
pub struct ExchangeSettings {
    pub peers: Vec<Peer>,
    /// The delay before the second attempt; it doubles at each attempt, up to one hour.
    pub retry: chrono::Duration,
}

impl Default for ExchangeSettings {
    fn default() -> Self {
        Self {
            peers: Vec::new(),
            retry: chrono::Duration::seconds(30),
        }
    }
}

impl ExchangeSettings {
    pub fn peer(&self, name: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.name == name)
    }
}

/// The delay before attempt `n + 1`: `retry`, twice that, … capped at one hour.
pub fn backoff(retry: chrono::Duration, attempts: u32) -> chrono::Duration {
    let factor = 1i32 << attempts.clamp(1, 12).saturating_sub(1);
    (retry * factor).min(chrono::Duration::hours(1))
}

/// A file sent with an envelope.
pub struct OutgoingFile {
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for OutgoingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingFile")
            .field("name", &self.name)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Why a delivery did not go through.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeliveryFailure {
    /// Worth trying again (unreachable, timed out, the peer failed).
    #[error("{0}")]
    Transient(String),
    /// The peer refused the envelope; trying again would not change its answer.
    #[error("{0}")]
    Refused(String),
}

/// Posts envelopes to peer installations (implemented over HTTP by the server).
pub trait Transport: Send + Sync {
    /// Posts `envelope` and `files` to `peer`; answers the acknowledgement (compact JWS).
    fn post(
        &self,
        peer: &Peer,
        envelope: &str,
        files: Vec<OutgoingFile>,
    ) -> Result<String, DeliveryFailure>;
}

// ---------------------------------------------------------------------------------------------
// At registration

/// The delivery an outgoing letter needs, if its recipient is another administration here or
/// at a trusted peer. Refuses a peer that is not configured, or a unit here without a registry.
pub(crate) fn delivery_for(
    s: &Services,
    org: &OrgSnapshot,
    registry_unit_id: &str,
    r: &RegistrationRequest,
) -> Result<Option<ExchangeLink>, AppError> {
    if r.direction != Direction::Outgoing || r.recipient.kind != PartyKind::Administration {
        return Ok(None);
    }
    let Some(code) = &r.recipient.unit else {
        return Ok(None);
    };
    let (peer, unit_code) = match &r.recipient.peer {
        Some(peer) => {
            if s.settings.exchange.peer(peer).is_none() {
                return Err(AppError::unprocessable(
                    "unknown_peer",
                    format!("no trusted peer installation is named {peer:?}"),
                ));
            }
            (peer.clone(), code.as_str().to_owned())
        }
        None => {
            let (Some(target), Some(own)) =
                (org.unit_by_code(code.as_str()), org.unit(registry_unit_id))
            else {
                return Ok(None);
            };
            if target.administration_id == own.administration_id {
                return Ok(None);
            }
            if org.registry_for_unit(target).is_none() {
                return Err(AppError::unprocessable(
                    "no_registry",
                    format!("no registry receives letters for the unit {code}"),
                ));
            }
            (String::new(), code.as_str().to_owned())
        }
    };
    Ok(Some(ExchangeLink::Send {
        id: crate::ids::new_id()?,
        message_id: crate::ids::new_id()?,
        peer,
        unit_code,
    }))
}

// ---------------------------------------------------------------------------------------------
// Sending

/// Attempts the deliveries that are due; returns how many were attempted.
pub fn deliver_due(s: &Services, transport: Option<&dyn Transport>) -> Result<usize, AppError> {
    let now = s.clock.now();
    let due = s.store.lease_deliveries(now, now + LEASE, 8)?;
    let n = due.len();
    for d in due {
        let update = attempt(s, transport, &d);
        match update.state {
            DeliveryState::Acknowledged => {
                tracing::info!(delivery = %d.id, number = ?update.remote_number, "delivered and acknowledged");
            }
            state => {
                tracing::warn!(delivery = %d.id, state = state.as_str(), error = ?update.last_error, "delivery not acknowledged");
            }
        }
        s.store.update_delivery(&d.id, &update)?;
    }
    Ok(n)
}

fn attempt(s: &Services, transport: Option<&dyn Transport>, d: &Delivery) -> DeliveryUpdate {
    let mut update = DeliveryUpdate {
        state: DeliveryState::Sent,
        next_attempt_at: None,
        last_error: None,
        envelope: d.envelope.clone(),
        ack_jws: None,
        remote_number: None,
        at: s.clock.now(),
    };
    let outcome = deliver(s, transport, d, &mut update.envelope);
    match outcome {
        Ok((ack, anchors)) => match check_ack(s, d, &anchors, &ack) {
            Ok(number) => {
                update.state = DeliveryState::Acknowledged;
                update.remote_number = Some(number);
                update.ack_jws = Some(ack);
            }
            Err(why) => {
                update.state = DeliveryState::Delivered;
                update.last_error = Some(format!("the acknowledgement does not verify: {why}"));
                update.ack_jws = Some(ack);
            }
        },
        Err(DeliveryFailure::Refused(why)) => {
            update.state = DeliveryState::Refused;
            update.last_error = Some(why);
        }
        Err(DeliveryFailure::Transient(why)) => {
            update.next_attempt_at =
                Some(s.clock.now() + backoff(s.settings.exchange.retry, d.attempts));
            update.last_error = Some(why);
        }
    }
    update
}

/// Makes the envelope (once) and delivers it; answers the acknowledgement and the anchors it
/// must chain to.
fn deliver(
    s: &Services,
    transport: Option<&dyn Transport>,
    d: &Delivery,
    envelope: &mut Option<String>,
) -> Result<(String, Vec<Certificate>), DeliveryFailure> {
    let transient = |e: AppError| DeliveryFailure::Transient(e.to_string());
    let letter = s
        .store
        .correspondence_with_files(&d.correspondence_id)
        .map_err(|e| transient(e.into()))?
        .ok_or_else(|| {
            DeliveryFailure::Refused("the letter is no longer in the register".into())
        })?;
    if letter.annulment.is_some() {
        return Err(DeliveryFailure::Refused(
            "the letter's registration was annulled".into(),
        ));
    }
    let jws = match envelope {
        Some(jws) => jws.clone(),
        None => {
            let made = make_envelope(s, d, &letter).map_err(transient)?;
            *envelope = Some(made.clone());
            made
        }
    };
    let mut files = Vec::with_capacity(letter.files.len());
    for f in &letter.files {
        let reader = s
            .blobs
            .open(&f.sha256)
            .map_err(|e| DeliveryFailure::Transient(format!("file store: {e}")))?
            .ok_or_else(|| DeliveryFailure::Transient(format!("file {} is missing", f.sha256)))?;
        files.push(OutgoingFile {
            name: f.name.clone(),
            media_type: f.media_type.clone(),
            size: f.size,
            reader: Box::new(reader),
        });
    }
    if d.peer.is_empty() {
        let rt = s
            .runtime
            .get()
            .ok_or_else(|| DeliveryFailure::Transient("not started".into()))?;
        let uploads = stage(s, files).map_err(transient)?;
        let received = receive(s, Source::Local, &jws, uploads).map_err(|e| match &e {
            // A conflict or a rate limit passes; anything else refused stays refused.
            AppError::Rejected { kind, code, .. }
                if !matches!(kind, Rejection::Conflict | Rejection::TooManyRequests) =>
            {
                DeliveryFailure::Refused(format!("{code}: {e}"))
            }
            _ => transient(e),
        })?;
        Ok((received.ack, rt.pki.anchors()))
    } else {
        let peer = s.settings.exchange.peer(&d.peer).ok_or_else(|| {
            DeliveryFailure::Transient(format!("the peer {:?} is not configured", d.peer))
        })?;
        let transport =
            transport.ok_or_else(|| DeliveryFailure::Transient("no transport".into()))?;
        let ack = transport.post(peer, &jws, files)?;
        Ok((ack, peer.roots.clone()))
    }
}

/// Copies files into the staging area, as if they had been uploaded.
fn stage(s: &Services, files: Vec<OutgoingFile>) -> Result<Vec<Upload>, AppError> {
    let mut out = Vec::with_capacity(files.len());
    for mut f in files {
        let mut sink = s.blobs.stage()?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            sink.write(&buf[..n])?;
        }
        out.push(Upload {
            name: f.name,
            blob: sink.finish(Some(&f.media_type))?,
        });
    }
    Ok(out)
}

fn make_envelope(
    s: &Services,
    d: &Delivery,
    letter: &crate::model::Correspondence,
) -> Result<String, AppError> {
    let rt = s
        .runtime
        .get()
        .ok_or_else(|| AppError::unavailable("not started"))?;
    let seal = rt
        .pki
        .seal(&letter.registry_id)
        .ok_or_else(|| AppError::unavailable("the registry has no seal yet"))?;
    let org = crate::org::snapshot(s)?;
    let registry = org.registry(&letter.registry_id);
    let admin = registry
        .and_then(|r| org.unit(&r.unit_id))
        .and_then(|u| org.administration(&u.administration_id));
    let names =
        |code: &str, ar: &str, fr: &str| json!({"code": code, "name_ar": ar, "name_fr": fr});
    let mut sender = letter.sender.clone();
    sender.peer = None;
    let payload = json!({
        "typ": ENVELOPE_TYPE,
        "message_id": d.message_id,
        "made_at": crate::receipts::content::time_text(&s.clock.now()),
        "from": {
            "registry": registry.map(|r| names(r.code.as_str(), &r.name_ar, &r.name_fr)),
            "administration": admin.map(|a| names(a.code.as_str(), &a.name_ar, &a.name_fr)),
            "registration_number": letter.registration_number.as_str(),
            "registered_at": crate::receipts::content::time_text(&letter.registered_at),
        },
        "to": { "unit": d.unit_code, "name": letter.recipient.name },
        "subject": letter.subject,
        "sender": sender,
        "confidentiality": letter.confidentiality.as_str(),
        "priority": letter.priority.as_str(),
        "category": letter.category,
        "files": letter.files.iter().map(|f| json!({
            "name": f.name, "media_type": f.media_type, "size": f.size, "sha256": f.sha256.as_str(),
        })).collect::<Vec<_>>(),
    });
    seal.signer
        .sign(&diwan_pki::canonical_json(&payload))
        .map_err(|e| AppError::internal(format!("sealing an envelope: {e}")))
}

/// Checks an acknowledgement: a receipt signed under `anchors`, for this envelope, listing the
/// files sent. Answers the letter's number in the recipient's register.
fn check_ack(
    s: &Services,
    d: &Delivery,
    anchors: &[Certificate],
    ack: &str,
) -> Result<String, String> {
    let ctx = crate::receipts::verify::Context {
        anchors,
        crls: &[],
        services: None,
        cache: None,
        revoked_serials: &[],
    };
    let report = crate::receipts::verify::verify(&ctx, ack.as_bytes());
    if !report.valid {
        return Err(report.problems.join("; "));
    }
    let payload = report.receipt.unwrap_or_default();
    if payload["exchange"]["message_id"].as_str() != Some(d.message_id.as_str()) {
        return Err("it is not the receipt of this envelope".into());
    }
    let letter = s
        .store
        .correspondence_with_files(&d.correspondence_id)
        .map_err(|e| e.to_string())?
        .ok_or("the letter is no longer in the register")?;
    let sent: Vec<&str> = letter.files.iter().map(|f| f.sha256.as_str()).collect();
    let received: Vec<&str> = payload["files"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["sha256"].as_str()).collect())
        .unwrap_or_default();
    if sent != received {
        return Err("it lists other files than those sent".into());
    }
    payload["registration_number"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "it has no registration number".into())
}

/// Wakes the exchange worker after a commit that queued deliveries.
#[derive(Debug, Clone)]
pub struct ExchangeWake(mpsc::SyncSender<()>);

impl ExchangeWake {
    pub fn wake(&self) {
        let _ = self.0.try_send(());
    }
}

/// Starts the exchange worker: it attempts what is due whenever woken, and every `poll` anyway.
pub fn start_worker(
    s: &Services,
    transport: Option<std::sync::Arc<dyn Transport>>,
    poll: Duration,
) -> Result<ExchangeWake, AppError> {
    let (tx, rx) = mpsc::sync_channel::<()>(1);
    let s = s.clone();
    let workers = std::sync::Arc::clone(&s.workers);
    workers
        .spawn(std::thread::Builder::new().name("diwan-exchange".into()), move || {
            // Started before the runtime is in place: wait for it.
            while s.runtime.get().is_none() {
                if !s.workers.pause(Duration::from_millis(50)) {
                    return;
                }
            }
            loop {
                while !s.workers.stopping() {
                    match deliver_due(&s, transport.as_deref()) {
                        Ok(n) if n > 0 => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::error!(error = %e, "the exchange worker cannot read its deliveries");
                            break;
                        }
                    }
                }
                if s.workers.wait(&rx, poll) == crate::workers::Wait::Stop {
                    break;
                }
            }
        })
        .map_err(|e| AppError::internal(format!("cannot start the exchange worker: {e}")))?;
    Ok(ExchangeWake(tx))
}

/// An outgoing letter's deliveries, for an agent who may see the letter.
pub fn deliveries(s: &Services, actor: &Actor, id: &str) -> Result<Vec<Delivery>, AppError> {
    let letter = crate::correspondence::get(s, actor, id)?;
    Ok(s.store.deliveries_of(&letter.id)?)
}

// ---------------------------------------------------------------------------------------------
// Receiving

/// Where an envelope comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A registry of this installation.
    Local,
    /// Another installation, through the exchange endpoint: it must be a trusted peer.
    Remote,
}

/// What the recipient answers.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    pub registration_number: String,
    /// The acknowledgement: the receipt of the registration, signed by the recipient registry.
    pub ack: String,
    /// The envelope had been received before; nothing new was registered.
    pub duplicate: bool,
}

fn refused(code: &'static str, detail: impl Into<String>) -> AppError {
    AppError::rejected(Rejection::Forbidden, code, detail)
}

fn invalid(detail: impl Into<String>) -> AppError {
    AppError::unprocessable("invalid_envelope", detail)
}

/// Checks an envelope's seal: answers the sending peer's name (empty for this installation)
/// and the verified JWS. Cheap enough to run before the files are read.
pub fn sealed_by(
    s: &Services,
    source: Source,
    envelope: &str,
) -> Result<(String, diwan_pki::jws::Verified), AppError> {
    let rt = s
        .runtime
        .get()
        .ok_or_else(|| AppError::unavailable("not started"))?;
    let verified = diwan_pki::jws::verify_signature(envelope.trim())
        .map_err(|e| invalid(format!("the envelope's signature is not valid: {e}")))?;
    let (leaf, others) = verified
        .chain
        .split_first()
        .ok_or_else(|| invalid("the envelope carries no certificate"))?;
    let now = s.clock.now();
    let trusted =
        |roots: &[Certificate]| diwan_pki::validate_chain(leaf, others, roots, now, &[]).is_ok();
    let peer = match source {
        Source::Local => {
            if !trusted(&rt.pki.anchors()) {
                return Err(refused(
                    "untrusted_peer",
                    "the envelope is not sealed by this installation",
                ));
            }
            String::new()
        }
        Source::Remote => s
            .settings
            .exchange
            .peers
            .iter()
            .find(|p| trusted(&p.roots))
            .map(|p| p.name.clone())
            .ok_or_else(|| {
                refused(
                    "untrusted_peer",
                    format!(
                        "the envelope is sealed by {:?}, whose chain leads to no trusted peer",
                        leaf.subject()
                    ),
                )
            })?,
    };
    Ok((peer, verified))
}

/// Receives an envelope and its files: checks it, registers the letter once, answers the
/// acknowledgement.
pub fn receive(
    s: &Services,
    source: Source,
    envelope: &str,
    uploads: Vec<Upload>,
) -> Result<Received, AppError> {
    let (peer, verified) = sealed_by(s, source, envelope)?;
    let payload: Value = serde_json::from_slice(&verified.payload)
        .map_err(|_| invalid("the envelope's content is not JSON"))?;
    let text = |v: &Value, what: &str| -> Result<String, AppError> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("the envelope has no {what}")))
    };
    if payload["typ"].as_str() != Some(ENVELOPE_TYPE) {
        return Err(invalid(format!(
            "the envelope is not of type {ENVELOPE_TYPE}"
        )));
    }
    let message_id = text(&payload["message_id"], "message_id")?;
    if message_id.is_empty()
        || message_id.len() > MAX_MESSAGE_ID
        || !message_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(invalid(
            "message_id: letters, digits and dashes, at most 100",
        ));
    }
    if let Some(existing) = s.store.received_exchange(&peer, &message_id)? {
        return answer_again(s, &existing);
    }
    let number = text(&payload["from"]["registration_number"], "sender's number")?;
    let unit_code = text(&payload["to"]["unit"], "recipient unit")?;
    let org = crate::org::snapshot(s)?;
    let unit = org.unit_by_code(&unit_code).ok_or_else(|| {
        AppError::unprocessable("unknown_unit", format!("no unit has the code {unit_code}"))
    })?;
    let registry = org.registry_for_unit(unit).ok_or_else(|| {
        AppError::unprocessable(
            "no_registry",
            format!("no registry receives letters for the unit {unit_code}"),
        )
    })?;
    check_files(&payload["files"], &uploads)?;
    let mut sender: Party = serde_json::from_value(payload["sender"].clone())
        .map_err(|e| invalid(format!("sender: {e}")))?;
    // Their units are not ours.
    sender.unit = None;
    sender.peer = None;
    sender.kind = PartyKind::Administration;
    if sender.name.trim().is_empty() {
        sender.name = payload["from"]["administration"]["name_fr"]
            .as_str()
            .unwrap_or("-")
            .to_owned();
    }
    let metadata = RegistrationMetadata {
        registry: registry.code.as_str().to_owned(),
        direction: Direction::Incoming,
        channel: Channel::Exchange,
        subject: text(&payload["subject"], "subject")?,
        sender,
        recipient: Party {
            kind: PartyKind::Administration,
            name: payload["to"]["name"]
                .as_str()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(&unit.name_fr)
                .to_owned(),
            national_id: None,
            company_id: None,
            unit: Some(unit.code.clone()),
            email: None,
            phone: None,
            territory: None,
            peer: None,
        },
        confidentiality: serde_json::from_value(payload["confidentiality"].clone()).ok(),
        priority: serde_json::from_value(payload["priority"].clone()).ok(),
        category: payload["category"].as_str().map(str::to_owned),
        sender_reference: Some(number.clone()),
        sender_date: payload["from"]["registered_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&s.settings.time_zone).date_naive()),
        received_at: None,
        in_reply_to: None,
    };
    let link = ExchangeLink::Received {
        id: crate::ids::new_id()?,
        message_id: message_id.clone(),
        peer: peer.clone(),
        unit_code,
        sender_number: number,
    };
    crate::correspondence::check_media_types(&uploads)?;
    match crate::correspondence::register_by(
        s,
        crate::correspondence::Registrant::Exchange(&link),
        metadata,
        uploads,
    ) {
        Ok(outcome) => {
            let ack = outcome
                .receipt_jws
                .ok_or_else(|| AppError::internal("no receipt was issued"))?;
            tracing::info!(peer = %peer, message = %message_id, number = %outcome.registration_number, "letter received by exchange");
            Ok(Received {
                registration_number: outcome.registration_number.as_str().to_owned(),
                ack,
                duplicate: false,
            })
        }
        Err(e) => match s.store.received_exchange(&peer, &message_id)? {
            // The same envelope, registered meanwhile by another request.
            Some(existing) => answer_again(s, &existing),
            None => Err(e),
        },
    }
}

fn answer_again(s: &Services, id: &str) -> Result<Received, AppError> {
    let stored = s
        .store
        .receipt(id, crate::model::ReceiptKind::Receipt)?
        .ok_or_else(|| AppError::internal("a received letter has no receipt"))?;
    let payload = crate::receipts::payload_of(&stored.receipt.jws)?;
    Ok(Received {
        registration_number: payload["registration_number"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        ack: stored.receipt.jws,
        duplicate: true,
    })
}

/// The files must be those the envelope lists, in its order.
fn check_files(listed: &Value, uploads: &[Upload]) -> Result<(), AppError> {
    let listed = listed
        .as_array()
        .ok_or_else(|| invalid("the envelope lists no files"))?;
    let mismatch = || {
        AppError::unprocessable(
            "files_mismatch",
            "the files sent are not those the envelope lists (count, order or SHA-256)",
        )
    };
    if listed.len() != uploads.len() {
        return Err(mismatch());
    }
    for (l, u) in listed.iter().zip(uploads) {
        if l["sha256"].as_str() != Some(u.blob.sha256().as_str()) {
            return Err(mismatch());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_from_the_configured_one_up_to_an_hour() {
        let base = chrono::Duration::seconds(30);
        let delays: Vec<i64> = (0..10).map(|n| backoff(base, n).num_seconds()).collect();
        assert_eq!(delays, [30, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(base, u32::MAX).num_seconds(), 3600);
    }
}

//! Replies: an outgoing correspondence registered as the answer to an incoming one. The reply
//! carries the link (`in_reply_to`, part of its logged registration); once it is registered the
//! incoming letter moves to `answered`, and its depositor is told by e-mail. A reply addressed to
//! the depositor can be fetched with the incoming letter's tracking code.

use diwan_domain::{Direction, Move, Party};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Services;
use crate::access::Actor;
use crate::error::{AppError, Rejection};
use crate::model::{Correspondence, Ending, FileRecord, MailKind, OutboxMail};
use crate::receipts::mail::OutgoingMail;

/// The incoming correspondence a reply is to answer, found by id or registration number among
/// those the actor may see, and checked: incoming, and in a status that can be answered.
pub(crate) fn reply_target(
    s: &Services,
    actor: &Actor,
    reference: &str,
) -> Result<Correspondence, AppError> {
    let unknown = || {
        AppError::unprocessable(
            "unknown_correspondence",
            "in_reply_to: no letter you may see has this id or number",
        )
    };
    let id = if crate::ids::is_id(reference) {
        reference.to_owned()
    } else {
        s.store
            .correspondence_id_by_number(reference)?
            .ok_or_else(unknown)?
    };
    let (c, _) = crate::correspondence::load_visible(s, actor, &id).map_err(|_| unknown())?;
    if c.direction != Direction::Incoming {
        return Err(AppError::unprocessable(
            "invalid_reply",
            "in_reply_to: only an incoming letter is answered",
        ));
    }
    if Move::Answer.from(c.status).is_none() {
        return Err(AppError::rejected(
            Rejection::Conflict,
            "invalid_transition",
            format!(
                "in_reply_to: a letter that is {} cannot be answered",
                c.status.as_str().replace('_', " ")
            ),
        ));
    }
    Ok(c)
}

/// After the reply is registered: the incoming letter moves to `answered` (history line, log
/// entry, e-mail to its depositor, in one transaction). If another move got there between the
/// check and now, the letter is read again and answered if it still can be.
pub(crate) fn mark_answered(
    s: &Services,
    actor: &Actor,
    incoming_id: &str,
    reply_id: &str,
    reply_number: &str,
) -> Result<(), AppError> {
    for _ in 0..3 {
        let Some(c) = s.store.correspondence(incoming_id)? else {
            return Err(AppError::internal("the answered letter vanished"));
        };
        let Some(to) = Move::Answer.from(c.status) else {
            tracing::warn!(incoming = %incoming_id, reply = %reply_id, status = c.status.as_str(),
                "a reply was registered but its letter can no longer be marked answered");
            return Ok(());
        };
        let mut detail = Map::new();
        detail.insert("reply_id".into(), Value::String(reply_id.to_owned()));
        detail.insert(
            "reply_number".into(),
            Value::String(reply_number.to_owned()),
        );
        let mails = c
            .sender
            .email
            .iter()
            .filter(|e| !e.trim().is_empty())
            .map(|e| (e.clone(), MailKind::Answered))
            .collect();
        let record = crate::model::MoveRecord {
            correspondence_id: c.id.clone(),
            step: Move::Answer,
            from: c.status,
            to,
            at: s.clock.now(),
            actor_id: actor.agent_id.clone(),
            detail,
            ending: Ending::None,
            assignments: Vec::new(),
            mails,
        };
        if s.store.apply_move(&record, crate::receipts::notary(s)?)? {
            if let Some(w) = s.runtime.get().and_then(|rt| rt.mail_wake.as_ref()) {
                w.wake();
            }
            return Ok(());
        }
    }
    Err(AppError::rejected(
        Rejection::Conflict,
        "state_changed",
        "the answered letter kept changing; the reply is registered and linked",
    ))
}

/// Whether the reply is addressed to the person or company who deposited the letter: the same
/// e-mail address, national id or company id.
pub fn addressed_to_depositor(reply: &Party, depositor: &Party) -> bool {
    let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => !a.trim().is_empty() && a.trim().eq_ignore_ascii_case(b.trim()),
        _ => false,
    };
    same(&reply.email, &depositor.email)
        || same(&reply.national_id, &depositor.national_id)
        || same(&reply.company_id, &depositor.company_id)
}

/// A reply as the depositor sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PublicReply {
    pub id: String,
    pub registration_number: String,
    pub registered_at: chrono::DateTime<chrono::Utc>,
    pub subject: String,
    pub files: Vec<FileRecord>,
}

/// The reply to the letter with this tracking code, when it is addressed to its depositor.
pub fn reply_for_depositor(
    s: &Services,
    incoming: &Correspondence,
) -> Result<Option<PublicReply>, AppError> {
    let Some(reply_id) = incoming
        .history
        .iter()
        .rev()
        .find(|e| e.kind == Move::Answer.event_kind())
        .and_then(|e| e.detail["reply_id"].as_str())
    else {
        return Ok(None);
    };
    let Some(reply) = s.store.correspondence(reply_id)? else {
        return Ok(None);
    };
    if reply.annulment.is_some()
        || reply.in_reply_to.as_deref() != Some(incoming.id.as_str())
        || !addressed_to_depositor(&reply.recipient, &incoming.sender)
    {
        return Ok(None);
    }
    Ok(Some(PublicReply {
        id: reply.id,
        registration_number: reply.registration_number.as_str().to_owned(),
        registered_at: reply.registered_at,
        subject: reply.subject,
        files: reply.files,
    }))
}

/// The e-mail telling a depositor that their letter was answered.
pub(crate) fn answered_mail(s: &Services, m: &OutboxMail) -> Result<OutgoingMail, AppError> {
    let c = s
        .store
        .correspondence(&m.correspondence_id)?
        .ok_or_else(|| AppError::internal("an e-mail's letter is missing"))?;
    let number = c.registration_number.as_str();
    let url = format!("{}/track", s.settings.public_url.trim_end_matches('/'));
    let reply = c
        .history
        .iter()
        .rev()
        .find(|e| e.kind == Move::Answer.event_kind())
        .and_then(|e| e.detail["reply_number"].as_str())
        .unwrap_or("-")
        .to_owned();
    Ok(OutgoingMail {
        to: m.recipient.clone(),
        subject: format!("تم الرد على مراسلتكم {number} / Réponse à votre courrier n° {number}"),
        text: format!(
            "تم الرد على مراسلتكم رقم {number} (الجواب رقم {reply}).\n\
             يمكنكم الاطلاع على الجواب بواسطة رقم التسجيل ورمز التتبع: {url}\n\n\
             Votre courrier n° {number} a reçu une réponse (n° {reply}).\n\
             Vous pouvez la consulter avec le numéro d'enregistrement et votre code de suivi : {url}\n"
        ),
        message_id: format!("<answered-{}@diwan.invalid>", m.id),
        attachments: Vec::new(),
    })
}

fn no_reply() -> AppError {
    AppError::not_found("reply")
}

/// The reply to the letter `incoming_id`, for whoever holds that letter's tracking code, when
/// it is addressed to the depositor. Anything else is "not found".
pub fn depositor_reply(
    s: &Services,
    incoming_id: &str,
    code: &str,
) -> Result<PublicReply, AppError> {
    let code = code.trim();
    if !crate::ids::is_id(incoming_id) || code.is_empty() || code.len() > 64 {
        return Err(no_reply());
    }
    let hash = crate::ids::secret_hash(code);
    if s.store.correspondence_by_tracking_hash(&hash)?.as_deref() != Some(incoming_id) {
        return Err(no_reply());
    }
    let c = s.store.correspondence(incoming_id)?.ok_or_else(no_reply)?;
    reply_for_depositor(s, &c)?.ok_or_else(no_reply)
}

/// A file of that reply.
pub fn depositor_reply_file(
    s: &Services,
    incoming_id: &str,
    code: &str,
    file_id: &str,
) -> Result<crate::correspondence::FileDownload, AppError> {
    let reply = depositor_reply(s, incoming_id, code)?;
    let record = reply
        .files
        .into_iter()
        .find(|f| f.id == file_id)
        .ok_or_else(no_reply)?;
    crate::correspondence::read_file(s, record)
}

/// The registries where the actor may register a reply to this letter: those they are
/// registrar of, in the letter's administration; none when the letter cannot be answered now.
pub fn reply_registries(
    s: &Services,
    actor: &Actor,
    c: &Correspondence,
) -> Result<Vec<crate::model::Registry>, AppError> {
    if c.direction != Direction::Incoming || Move::Answer.from(c.status).is_none() {
        return Ok(Vec::new());
    }
    let org = crate::org::snapshot(s)?;
    let admin = org
        .registry(&c.registry_id)
        .and_then(|r| org.tree.administration_of(&r.unit_id));
    Ok(org
        .registries
        .iter()
        .filter(|r| org.tree.administration_of(&r.unit_id) == admin)
        .filter(|r| crate::access::may_register(actor, (*r).clone()).is_ok())
        .cloned()
        .collect())
}

/// Registers an outgoing reply to `incoming_id` from `registry`, addressed to the letter's
/// sender, through the same channel; the letter becomes `answered`.
pub fn register_reply(
    s: &Services,
    actor: &Actor,
    incoming_id: &str,
    registry: &str,
    subject: &str,
    files: Vec<crate::correspondence::Upload>,
) -> Result<crate::correspondence::RegistrationOutcome, AppError> {
    let (c, _) = crate::correspondence::load_visible(s, actor, incoming_id)?;
    let org = crate::org::snapshot(s)?;
    let from = org
        .registry_by_code(registry.trim())
        .and_then(|r| org.unit(&r.unit_id))
        .ok_or_else(|| AppError::unprocessable("unknown_registry", "registry: unknown"))?;
    let metadata = diwan_domain::RegistrationMetadata {
        registry: registry.trim().to_owned(),
        direction: Direction::Outgoing,
        channel: c.channel,
        subject: subject.to_owned(),
        sender: Party {
            kind: diwan_domain::PartyKind::Administration,
            name: from.name_fr.clone(),
            national_id: None,
            company_id: None,
            unit: Some(from.code.clone()),
            email: None,
            phone: None,
            territory: None,
            peer: None,
        },
        recipient: c.sender.clone(),
        confidentiality: Some(c.confidentiality),
        priority: None,
        category: c.category.clone(),
        sender_reference: None,
        sender_date: None,
        received_at: None,
        in_reply_to: Some(c.id.clone()),
    };
    crate::correspondence::register(s, actor, metadata, files)
}

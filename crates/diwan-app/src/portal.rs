//! The citizen portal, without an account: finding a service, confirming an e-mail address with
//! a one-time code, depositing a letter, and following it with its number and tracking code.
//!
//! A deposit is registered by the portal's own agent (`PORTAL_AGENT_ID`, created by the
//! migrations, never able to log in), as an incoming letter on the `portal` channel, into the
//! registry of the chosen service or of its nearest parent that has one.

use chrono::{DateTime, Duration, Utc};
use diwan_domain::text;
use diwan_domain::text::normalise_for_search;
use diwan_domain::{Channel, Confidentiality, Direction, Party, PartyKind, RegistrationMetadata};
use serde::Serialize;

use crate::Services;
use crate::correspondence::{RegistrationOutcome, Upload};
use crate::error::{AppError, Rejection};
use crate::ids;
use crate::model::{EmailChallenge, Unit};
use crate::receipts::mail::{MailFailure, OutgoingMail};

/// The agent that registers portal deposits.
pub const PORTAL_AGENT_ID: &str = "00000000-0000-4000-8000-000000000001";
/// How long a code may be used.
pub const CODE_TTL: Duration = Duration::minutes(15);
/// Wrong codes allowed per code; then a new code must be asked for.
pub const MAX_CODE_ATTEMPTS: u32 = 5;
/// The wait before another code may be sent to the same address.
pub const RESEND_DELAY: Duration = Duration::seconds(60);
/// Codes sent to one address per hour at most.
pub const MAX_CODES_PER_HOUR: usize = 5;
/// What a citizen may attach (checked on the bytes, not the declared type): the same as for
/// every channel.
pub use crate::correspondence::ACCEPTED_MEDIA_TYPES;
/// Longest message typed in the deposit form.
pub const MAX_MESSAGE_CHARS: usize = 20_000;

/// A language of the portal; e-mails are written in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Ar,
    Fr,
    En,
}

/// A code was sent.
#[derive(Debug, Clone)]
pub struct CodeSent {
    pub challenge_id: String,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

/// Sends a six-digit code to `email`. Refused when one was sent less than a minute ago or too
/// many this hour.
pub fn send_code(s: &Services, email: &str, lang: Language) -> Result<CodeSent, AppError> {
    let email = email.trim().to_lowercase();
    text::email("email", &email)?;
    let now = s.clock.now();
    let recent = s.store.challenges_since(&email, now - Duration::hours(1))?;
    if recent
        .first()
        .is_some_and(|last| now - *last < RESEND_DELAY)
    {
        return Err(AppError::rejected(
            Rejection::TooManyRequests,
            "code_too_soon",
            "a code was sent to this address less than a minute ago",
        ));
    }
    if recent.len() >= MAX_CODES_PER_HOUR {
        return Err(AppError::rejected(
            Rejection::TooManyRequests,
            "too_many_codes",
            "too many codes were sent to this address this hour",
        ));
    }
    let mailer = s
        .runtime
        .get()
        .and_then(|r| r.mailer.clone())
        .ok_or_else(|| AppError::unavailable("e-mail is not configured on this server"))?;
    let code = ids::new_numeric_code(6)?;
    let id = ids::new_id()?;
    let challenge = EmailChallenge {
        code_hash: code_hash(&id, &code),
        id,
        email: email.clone(),
        created_at: now,
        expires_at: now + CODE_TTL,
        attempts: 0,
        used_at: None,
    };
    let (subject, body) = code_mail(lang, &code);
    let mail = OutgoingMail {
        to: email.clone(),
        subject,
        text: body,
        message_id: format!("<code-{}@diwan.invalid>", challenge.id),
        attachments: Vec::new(),
    };
    mailer.send(&mail).map_err(|e| match e {
        MailFailure::Permanent(_) => {
            AppError::unprocessable("email_refused", "the mail server refused this address")
        }
        MailFailure::Transient(why) => {
            tracing::warn!(error = %why, "a confirmation code could not be sent");
            AppError::unavailable("the code could not be sent; try again in a moment")
        }
    })?;
    // Stored once sent: a code that could not be sent does not count against the address.
    s.store.insert_challenge(&challenge)?;
    tracing::info!(challenge = %challenge.id, "confirmation code sent");
    Ok(CodeSent {
        challenge_id: challenge.id,
        email,
        expires_at: challenge.expires_at,
    })
}

fn code_hash(challenge_id: &str, code: &str) -> String {
    ids::secret_hash(&format!("{challenge_id}:{code}"))
}

fn code_mail(lang: Language, code: &str) -> (String, String) {
    let minutes = CODE_TTL.num_minutes();
    match lang {
        Language::Ar => (
            format!("رمز التأكيد: {code}"),
            format!(
                "رمز تأكيد بريدك الإلكتروني لإيداع مراسلتك هو:\n\n{code}\n\nهذا الرمز صالح لمدة {minutes} دقيقة. إذا لم تطلبه، تجاهل هذه الرسالة.\n"
            ),
        ),
        Language::Fr => (
            format!("Code de confirmation : {code}"),
            format!(
                "Le code qui confirme votre adresse pour déposer votre courrier est :\n\n{code}\n\nIl est valable {minutes} minutes. Si vous ne l'avez pas demandé, ignorez ce message.\n"
            ),
        ),
        Language::En => (
            format!("Confirmation code: {code}"),
            format!(
                "The code that confirms your address for your deposit is:\n\n{code}\n\nIt is valid for {minutes} minutes. If you did not ask for it, ignore this message.\n"
            ),
        ),
    }
}

/// What the depositor typed.
#[derive(Debug, Clone, Default)]
pub struct Deposit {
    /// The code of the chosen service (unit).
    pub unit: String,
    pub name: String,
    pub national_id: Option<String>,
    pub phone: Option<String>,
    /// Where the depositor lives: one of [`territories`] (routing rules may use it).
    pub territory: Option<String>,
    pub subject: String,
    /// Kept as a text file beside the attachments, so that its digest is on the receipt.
    pub message: Option<String>,
}

/// Registers a deposit once its code is right. Every other check comes first, so that a
/// mistake in the form does not spend the code; a wrong code registers nothing.
pub fn deposit(
    s: &Services,
    challenge_id: &str,
    code: &str,
    deposit: Deposit,
    mut uploads: Vec<Upload>,
) -> Result<RegistrationOutcome, AppError> {
    let challenge = live_challenge(s, challenge_id)?;
    crate::correspondence::check_media_types(&uploads)?;
    if let Some(message) = deposit.message.as_deref().filter(|m| !m.trim().is_empty()) {
        text::multiline("message", message, MAX_MESSAGE_CHARS)?;
        let mut sink = s.blobs.stage()?;
        sink.write(message.as_bytes())?;
        let blob = sink.finish(Some("text/plain; charset=utf-8"))?;
        uploads.insert(
            0,
            Upload {
                name: "message.txt".to_owned(),
                blob,
            },
        );
    }
    let org = crate::org::snapshot(s)?;
    let unit = org
        .units
        .iter()
        .find(|u| u.code.as_str() == deposit.unit)
        .ok_or_else(|| AppError::unprocessable("unknown_service", "choose a service"))?;
    let territory = deposit.territory.filter(|t| !t.trim().is_empty());
    if let Some(t) = &territory
        && !org
            .units
            .iter()
            .any(|u| u.territory_code.as_deref() == Some(t.as_str()))
    {
        return Err(AppError::unprocessable(
            "unknown_territory",
            "choose a province or region from the list",
        ));
    }
    let registry = org
        .registry_for_unit(unit)
        .map(|r| r.code.as_str())
        .ok_or_else(|| {
            AppError::unprocessable("unknown_service", "this service does not take letters yet")
        })?;
    let metadata = RegistrationMetadata {
        registry: registry.to_owned(),
        direction: Direction::Incoming,
        channel: Channel::Portal,
        subject: deposit.subject,
        sender: Party {
            kind: PartyKind::Person,
            name: deposit.name,
            national_id: deposit.national_id.filter(|v| !v.trim().is_empty()),
            company_id: None,
            unit: None,
            email: Some(challenge.email.clone()),
            phone: deposit.phone.filter(|v| !v.trim().is_empty()),
            territory,
            peer: None,
        },
        recipient: Party {
            kind: PartyKind::Administration,
            name: unit.name_fr.clone(),
            national_id: None,
            company_id: None,
            unit: Some(unit.code.clone()),
            email: None,
            phone: None,
            territory: None,
            peer: None,
        },
        confidentiality: Some(Confidentiality::Normal),
        priority: None,
        category: None,
        sender_reference: None,
        sender_date: None,
        received_at: None,
        in_reply_to: None,
    };
    crate::correspondence::check(s, &metadata, &uploads)?;
    check_code(s, &challenge, code)?;
    crate::correspondence::register_by(
        s,
        crate::correspondence::Registrant::Portal,
        metadata,
        uploads,
    )
}

/// The challenge, if it can still be answered.
fn live_challenge(s: &Services, id: &str) -> Result<EmailChallenge, AppError> {
    let invalid = || AppError::unprocessable("code_invalid", "this code is not valid");
    if !ids::is_id(id) {
        return Err(invalid());
    }
    let c = s.store.challenge(id)?.ok_or_else(invalid)?;
    if c.used_at.is_some() {
        return Err(AppError::unprocessable(
            "code_used",
            "this code was already used; ask for a new one",
        ));
    }
    if c.attempts >= MAX_CODE_ATTEMPTS {
        return Err(too_many_attempts());
    }
    if c.expires_at <= s.clock.now() {
        return Err(AppError::unprocessable(
            "code_expired",
            "this code has expired; ask for a new one",
        ));
    }
    Ok(c)
}

fn too_many_attempts() -> AppError {
    AppError::rejected(
        Rejection::TooManyRequests,
        "too_many_attempts",
        "too many wrong codes; ask for a new one",
    )
}

/// Compares the code (through its hash), counts a wrong one, and spends a
/// right one exactly once.
fn check_code(s: &Services, c: &EmailChallenge, code: &str) -> Result<(), AppError> {
    let code = code.trim();
    // Hashes are compared, not codes: how long the comparison takes tells nothing about the
    // code (the attempt counter bounds guessing).
    let right = code.len() == 6 && code_hash(&c.id, code) == c.code_hash;
    if !right {
        if !s.store.challenge_failed_attempt(&c.id, MAX_CODE_ATTEMPTS)? {
            return Err(too_many_attempts());
        }
        let left = MAX_CODE_ATTEMPTS.saturating_sub(c.attempts + 1);
        if left == 0 {
            return Err(too_many_attempts());
        }
        return Err(AppError::unprocessable(
            "code_invalid",
            format!("wrong code; {left} attempt(s) left"),
        ));
    }
    if s.store
        .consume_challenge(&c.id, s.clock.now(), MAX_CODE_ATTEMPTS)?
    {
        Ok(())
    } else {
        Err(AppError::unprocessable(
            "code_used",
            "this code was already used; ask for a new one",
        ))
    }
}

/// A territory a depositor may say they live in: a region or province of the organisation,
/// named after the unit that serves it.
#[derive(Debug, Clone, Serialize)]
pub struct Territory {
    pub code: String,
    pub name_ar: String,
    pub name_fr: String,
    pub name_en: Option<String>,
}

/// The territories of the organisation's units below the national level (codes with a
/// dash), in code order; each named after the first unit (by code) that serves it.
pub fn territories(s: &Services) -> Result<Vec<Territory>, AppError> {
    let org = crate::org::snapshot(s)?;
    let mut units: Vec<&Unit> = org
        .units
        .iter()
        .filter(|u| u.territory_code.as_deref().is_some_and(|t| t.contains('-')))
        .collect();
    units.sort_by(|a, b| {
        (&a.territory_code, a.code.as_str()).cmp(&(&b.territory_code, b.code.as_str()))
    });
    let mut out: Vec<Territory> = Vec::new();
    for u in units {
        let code = u.territory_code.clone().unwrap_or_default();
        if out.last().is_some_and(|t| t.code == code) {
            continue;
        }
        out.push(Territory {
            code,
            name_ar: u.name_ar.clone(),
            name_fr: u.name_fr.clone(),
            name_en: u.name_en.clone(),
        });
    }
    Ok(out)
}

/// A service a citizen may write to.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub code: String,
    pub name_ar: String,
    pub name_fr: String,
    pub name_en: Option<String>,
    pub administration_ar: String,
    pub administration_fr: String,
    pub administration_en: Option<String>,
    /// How deep in its administration's tree (0 for the root), for indenting lists.
    pub depth: usize,
}

/// The services that take letters, in tree order, filtered by `query` (any part of a name in
/// any language, or the code; case and Arabic diacritics ignored).
pub fn services(s: &Services, query: Option<&str>) -> Result<Vec<Service>, AppError> {
    let org = crate::org::snapshot(s)?;
    let needle = query.map(normalise_for_search).filter(|q| !q.is_empty());
    let mut out = Vec::new();
    for admin in &org.administrations {
        let mut roots: Vec<&Unit> = org
            .units
            .iter()
            .filter(|u| u.administration_id == admin.id && u.parent_id.is_none())
            .collect();
        roots.sort_by(|a, b| a.code.as_str().cmp(b.code.as_str()));
        let mut stack: Vec<(&Unit, usize)> = roots.into_iter().rev().map(|u| (u, 0)).collect();
        let mut guard = 0usize;
        while let Some((unit, depth)) = stack.pop() {
            guard += 1;
            if guard > org.units.len() {
                break;
            }
            let mut children: Vec<&Unit> = org
                .units
                .iter()
                .filter(|c| c.parent_id.as_deref() == Some(unit.id.as_str()))
                .collect();
            children.sort_by(|a, b| a.code.as_str().cmp(b.code.as_str()));
            stack.extend(children.into_iter().rev().map(|c| (c, depth + 1)));
            if org.registry_for_unit(unit).is_none() {
                continue;
            }
            let names = [
                unit.name_ar.as_str(),
                unit.name_fr.as_str(),
                unit.name_en.as_deref().unwrap_or_default(),
                unit.code.as_str(),
                admin.name_ar.as_str(),
                admin.name_fr.as_str(),
                admin.name_en.as_deref().unwrap_or_default(),
            ];
            if let Some(n) = &needle
                && !names
                    .iter()
                    .any(|name| normalise_for_search(name).contains(n.as_str()))
            {
                continue;
            }
            out.push(Service {
                code: unit.code.as_str().to_owned(),
                name_ar: unit.name_ar.clone(),
                name_fr: unit.name_fr.clone(),
                name_en: unit.name_en.clone(),
                administration_ar: admin.name_ar.clone(),
                administration_fr: admin.name_fr.clone(),
                administration_en: admin.name_en.clone(),
                depth,
            });
        }
    }
    Ok(out)
}

/// A line of the public history: what happened, never who did it or internal notes.
#[derive(Debug, Clone, Serialize)]
pub struct PublicEvent {
    pub at: DateTime<Utc>,
    /// `registered`, `annulled`; later `assigned`, `answered`, `closed`.
    pub kind: String,
}

/// What a depositor sees of their letter.
#[derive(Debug, Clone, Serialize)]
pub struct PublicStatus {
    pub id: String,
    pub registration_number: String,
    pub received_at: DateTime<Utc>,
    pub registered_at: DateTime<Utc>,
    pub subject: String,
    pub registry_ar: String,
    pub registry_fr: String,
    /// The service in charge.
    pub unit_ar: String,
    pub unit_fr: String,
    pub unit_en: Option<String>,
    pub annulled: bool,
    /// Where the letter stands.
    pub status: diwan_domain::Status,
    /// The reply, when one addressed to the depositor was registered.
    pub reply: Option<crate::workflow::PublicReply>,
    pub events: Vec<PublicEvent>,
}

/// The public status of a letter, given its number and its tracking code (both must match).
pub fn track(s: &Services, number: &str, code: &str) -> Result<PublicStatus, AppError> {
    let not_found = || {
        AppError::rejected(
            Rejection::NotFound,
            "tracking_not_found",
            "no letter has this number with this tracking code",
        )
    };
    let (number, code) = (number.trim(), code.trim());
    if number.is_empty() || code.is_empty() || number.len() > 64 || code.len() > 64 {
        return Err(not_found());
    }
    let id = s
        .store
        .correspondence_by_tracking_hash(&ids::secret_hash(code))?
        .ok_or_else(not_found)?;
    let c = s.store.correspondence(&id)?.ok_or_else(not_found)?;
    if !c.registration_number.as_str().eq_ignore_ascii_case(number) {
        return Err(not_found());
    }
    let org = crate::org::snapshot(s)?;
    let registry = org.registry(&c.registry_id);
    let in_charge = c
        .lead()
        .map(|a| a.unit_id.as_str())
        .or_else(|| {
            c.concerned_units
                .iter()
                .find(|u| u.concern == crate::model::Concern::Recipient)
                .map(|u| u.unit_id.as_str())
        })
        .or(registry.map(|r| r.unit_id.as_str()))
        .and_then(|id| org.unit(id));
    const PUBLIC: [&str; 6] = [
        "registered",
        "annulled",
        "assigned",
        "started",
        "answered",
        "closed",
    ];
    let status = c.status;
    let reply = crate::workflow::reply_for_depositor(s, &c)?;
    Ok(PublicStatus {
        id: c.id,
        registration_number: c.registration_number.as_str().to_owned(),
        received_at: c.received_at,
        registered_at: c.registered_at,
        subject: c.subject,
        registry_ar: registry.map(|r| r.name_ar.clone()).unwrap_or_default(),
        registry_fr: registry.map(|r| r.name_fr.clone()).unwrap_or_default(),
        unit_ar: in_charge.map(|u| u.name_ar.clone()).unwrap_or_default(),
        unit_fr: in_charge.map(|u| u.name_fr.clone()).unwrap_or_default(),
        unit_en: in_charge.and_then(|u| u.name_en.clone()),
        annulled: c.annulment.is_some(),
        status,
        reply,
        events: c
            .history
            .into_iter()
            .filter(|e| PUBLIC.contains(&e.kind.as_str()))
            .map(|e| PublicEvent {
                at: e.at,
                kind: e.kind,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_accents_and_diacritics() {
        let fold = normalise_for_search;
        assert_eq!(fold("Kénitra"), "kenitra");
        assert_eq!(fold("  DÉLÉGATION "), "delegation");
        assert_eq!(fold("الْقُنَيْطِرَة"), fold("القنيطره"));
        assert_eq!(fold("إدارة"), fold("اداره"));
    }

    #[test]
    fn code_mails_carry_the_code_in_every_language() {
        for lang in [Language::Ar, Language::Fr, Language::En] {
            let (subject, body) = code_mail(lang, "493021");
            assert!(subject.contains("493021") && body.contains("493021"));
        }
    }
}

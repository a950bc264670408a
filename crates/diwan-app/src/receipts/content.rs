//! What a receipt says: the JSON payload signed into the JWS. The PDF is drawn from the same
//! payload, so both always agree.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use diwan_domain::hijri;
use serde_json::{Value, json};

use crate::Settings;
use crate::cache::OrgSnapshot;
use crate::model::{
    Annulment, Concern, ConcernedUnit, Correspondence, NewCorrespondence, Registered, Unit,
};

/// Receipt payload types.
pub const RECEIPT_TYPE: &str = "diwan-receipt/1";
pub const ANNULMENT_TYPE: &str = "diwan-annulment/1";

pub fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn hijri_json(date: NaiveDate) -> Value {
    match hijri::umm_al_qura(date) {
        Some(h) => json!({
            "year": h.year, "month": h.month, "day": h.day,
            "text_ar": h.format_ar(), "text_fr": h.format_fr(),
        }),
        None => Value::Null,
    }
}

fn received_json(s: &Settings, at: &DateTime<Utc>) -> Value {
    let local = at.with_timezone(&s.time_zone);
    json!({
        "utc": time_text(at),
        "local": local.to_rfc3339_opts(SecondsFormat::Secs, false),
        "time_zone": s.time_zone.name(),
        "hijri": hijri_json(local.date_naive()),
    })
}

fn unit_json(u: Option<&Unit>) -> Value {
    match u {
        Some(u) => json!({
            "code": u.code.as_str(), "name_ar": u.name_ar, "name_fr": u.name_fr,
            "contact": u.contact,
        }),
        None => Value::Null,
    }
}

/// The registry, its administration and the unit in charge: the recipient unit when the
/// letter names one, else the registry's own unit.
fn org_json(
    org: &OrgSnapshot,
    registry_id: &str,
    concerned: &[ConcernedUnit],
) -> (Value, Value, Value) {
    let in_charge = concerned
        .iter()
        .find(|c| c.concern == Concern::Recipient)
        .map(|c| c.unit_id.as_str());
    let registry = org.registry(registry_id);
    let registry_unit = registry.and_then(|r| org.unit(&r.unit_id));
    let administration = registry_unit.and_then(|u| org.administration(&u.administration_id));
    let unit = in_charge.and_then(|id| org.unit(id)).or(registry_unit);
    (
        match registry {
            Some(r) => json!({"code": r.code.as_str(), "name_ar": r.name_ar, "name_fr": r.name_fr}),
            None => Value::Null,
        },
        match administration {
            Some(a) => json!({"code": a.code.as_str(), "name_ar": a.name_ar, "name_fr": a.name_fr}),
            None => Value::Null,
        },
        unit_json(unit),
    )
}

fn deadline_json(s: &Settings, category: Option<&str>, received: &DateTime<Utc>) -> Value {
    let rule = s.deadlines.rule(category);
    let start = received.with_timezone(&s.time_zone).date_naive();
    match rule.deadline(&s.calendar, start) {
        Some(date) => json!({
            "date": date.to_string(),
            "hijri": hijri_json(date),
            "working_days": rule.working_days,
            "silence": rule.silence,
            "sentence_ar": rule.sentence_ar,
            "sentence_fr": rule.sentence_fr,
        }),
        None => Value::Null,
    }
}

pub fn verification_url(s: &Settings, correspondence_id: &str) -> String {
    format!(
        "{}/verify/{correspondence_id}",
        s.public_url.trim_end_matches('/')
    )
}

pub fn registration_payload(
    s: &Settings,
    org: &OrgSnapshot,
    new: &NewCorrespondence,
    registered: &Registered,
    now: DateTime<Utc>,
    log: Value,
) -> Value {
    let r = &new.request;
    let (registry, administration, unit) = org_json(org, &new.registry.id, &new.concerned_units);
    let exchange = match &new.exchange {
        Some(crate::model::ExchangeLink::Received {
            message_id,
            sender_number,
            ..
        }) => json!({ "message_id": message_id, "sender_reference": sender_number }),
        _ => Value::Null,
    };
    let files: Vec<Value> = new
        .files
        .iter()
        .map(|f| {
            json!({
                "name": f.name, "size": f.blob.size(), "media_type": f.blob.media_type(),
                "sha256": f.blob.sha256().as_str(),
            })
        })
        .collect();
    let mut payload = json!({
        "typ": RECEIPT_TYPE,
        "id": new.id,
        "registration_number": registered.registration_number.as_str(),
        "year": registered.year,
        "direction": r.direction.as_str(),
        "channel": r.channel.as_str(),
        "registry": registry,
        "administration": administration,
        "unit": unit,
        "received_at": received_json(s, &new.received_at),
        "registered_at": time_text(&new.registered_at),
        "depositor": { "kind": r.sender.kind.as_str(), "name": r.sender.name },
        "subject": r.subject,
        "files": files,
        "deadline": deadline_json(s, r.category.as_deref(), &new.received_at),
        "tracking_code": new.tracking_code,
        "verification_url": verification_url(s, &new.id),
        "issued_at": time_text(&now),
        "log": log,
    });
    // Only on the receipt of a letter received by exchange: it is the acknowledgement the
    // sender keeps.
    if let (Some(map), false) = (payload.as_object_mut(), exchange.is_null()) {
        map.insert("exchange".into(), exchange);
    }
    payload
}

pub fn annulment_payload(
    s: &Settings,
    org: &OrgSnapshot,
    c: &Correspondence,
    a: &Annulment,
    now: DateTime<Utc>,
    log: Value,
) -> Value {
    let (registry, administration, unit) = org_json(org, &c.registry_id, &c.concerned_units);
    json!({
        "typ": ANNULMENT_TYPE,
        "id": c.id,
        "registration_number": c.registration_number.as_str(),
        "year": c.year,
        "direction": c.direction.as_str(),
        "channel": c.channel.as_str(),
        "registry": registry,
        "administration": administration,
        "unit": unit,
        "received_at": received_json(s, &c.received_at),
        "registered_at": time_text(&c.registered_at),
        "depositor": { "kind": c.sender.kind.as_str(), "name": c.sender.name },
        "subject": c.subject,
        "files": c.files.iter().map(|f| json!({
            "name": f.name, "size": f.size, "media_type": f.media_type, "sha256": f.sha256.as_str(),
        })).collect::<Vec<_>>(),
        "annulment": { "at": time_text(&a.at), "reason": a.reason },
        "verification_url": verification_url(s, &c.id),
        "issued_at": time_text(&now),
        "log": log,
    })
}

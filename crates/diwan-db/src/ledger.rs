//! The register log's entries, built from rows. The same functions serve when an entry is
//! written and when `diwan audit verify` rebuilds it, so both see the same bytes.

use diwan_app::log::{LogEntry, LogKind};

use crate::rows::{
    AssignmentRow, ConcernRow, CorrespondenceRow, EventRow, FileRow, ParapheurEventRow,
    ParapheurRow,
};

fn event_fields(e: &mut LogEntry, event: &EventRow) {
    e.field("event.id", Some(&event.id))
        .field("event.correspondence_id", Some(&event.correspondence_id))
        .field("event.at", Some(&event.at))
        .field("event.kind", Some(&event.kind))
        .field("event.actor_id", event.actor_id.as_deref())
        .field("event.detail", Some(&event.detail));
}

/// A registration: the correspondence as registered (every column but the derived search
/// text and the annulment), its files in order, its concerned units, its first history line.
pub fn registration_entry(
    c: &CorrespondenceRow,
    files: &[&FileRow],
    concerns: &[&ConcernRow],
    event: &EventRow,
) -> LogEntry {
    let mut e = LogEntry::new(LogKind::Registration, &c.id, &event.id);
    let year = c.year.to_string();
    let seq = c.seq.to_string();
    e.field("id", Some(&c.id))
        .field("registry_id", Some(&c.registry_id))
        .field("direction", Some(&c.direction))
        .field("year", Some(&year))
        .field("seq", Some(&seq))
        .field("registration_number", Some(&c.registration_number))
        .field("channel", Some(&c.channel))
        .field("subject", Some(&c.subject))
        .field("sender", Some(&c.sender))
        .field("recipient", Some(&c.recipient))
        .field("sender_name", Some(&c.sender_name))
        .field("recipient_name", Some(&c.recipient_name))
        .field("confidentiality", Some(&c.confidentiality))
        .field("priority", Some(&c.priority))
        .field("category", c.category.as_deref())
        .field("sender_reference", c.sender_reference.as_deref())
        .field("sender_date", c.sender_date.as_deref())
        .field("received_at", Some(&c.received_at))
        .field("registered_at", Some(&c.registered_at))
        .field("registered_by", Some(&c.registered_by))
        .field("tracking_hash", Some(&c.tracking_hash));
    // Only present on replies, so the entries of earlier registrations keep their bytes.
    if let Some(r) = &c.in_reply_to {
        e.field("in_reply_to", Some(r));
    }
    let mut files: Vec<&FileRow> = files.to_vec();
    files.sort_by_key(|f| f.position);
    let count = files.len().to_string();
    e.field("files", Some(&count));
    for f in files {
        let (position, size) = (f.position.to_string(), f.size.to_string());
        e.field("file.id", Some(&f.id))
            .field("file.correspondence_id", Some(&f.correspondence_id))
            .field("file.position", Some(&position))
            .field("file.name", Some(&f.name))
            .field("file.media_type", Some(&f.media_type))
            .field("file.size", Some(&size))
            .field("file.sha256", Some(&f.sha256));
    }
    let mut concerns: Vec<&ConcernRow> = concerns.to_vec();
    concerns.sort_by(|a, b| (&a.unit_id, &a.concern).cmp(&(&b.unit_id, &b.concern)));
    let count = concerns.len().to_string();
    e.field("units", Some(&count));
    for u in concerns {
        e.field("unit.correspondence_id", Some(&u.correspondence_id))
            .field("unit.id", Some(&u.unit_id))
            .field("unit.concern", Some(&u.concern));
    }
    event_fields(&mut e, event);
    e
}

/// An annulment: the annulment columns and the history line it added.
pub fn annulment_entry(c: &CorrespondenceRow, event: &EventRow) -> LogEntry {
    let mut e = LogEntry::new(LogKind::Annulment, &c.id, &event.id);
    e.field("id", Some(&c.id))
        .field("registration_number", Some(&c.registration_number))
        .field("annulled_at", c.annulled_at.as_deref())
        .field("annulled_by", c.annulled_by.as_deref())
        .field("annul_reason", c.annul_reason.as_deref());
    event_fields(&mut e, event);
    e
}

/// A workflow move: the history line it added (whose detail holds the statuses, the comment
/// and what fired it) and the assignments it made, without the columns that change when an
/// assignment ends.
pub fn movement_entry(
    c: &CorrespondenceRow,
    assignments: &[&AssignmentRow],
    event: &EventRow,
) -> LogEntry {
    let mut e = LogEntry::new(LogKind::Movement, &c.id, &event.id);
    e.field("id", Some(&c.id))
        .field("registration_number", Some(&c.registration_number));
    let mut assignments: Vec<&AssignmentRow> = assignments.to_vec();
    assignments.sort_by(|a, b| a.id.cmp(&b.id));
    let count = assignments.len().to_string();
    e.field("assignments", Some(&count));
    for a in assignments {
        e.field("assignment.id", Some(&a.id))
            .field("assignment.correspondence_id", Some(&a.correspondence_id))
            .field("assignment.unit_id", Some(&a.unit_id))
            .field("assignment.agent_id", a.agent_id.as_deref())
            .field("assignment.purpose", Some(&a.purpose))
            .field("assignment.instructions", a.instructions.as_deref())
            .field("assignment.due_date", Some(&a.due_date))
            .field("assignment.assigned_at", Some(&a.assigned_at))
            .field("assignment.assigned_by", Some(&a.assigned_by))
            .field("assignment.event_id", Some(&a.event_id));
    }
    event_fields(&mut e, event);
    e
}

/// A parapheur action (submission, visa, signature, rejection, sending back, numbering): the
/// document's columns that never change after submission and the history line, whose detail
/// names the step, the comment, the SHA-256 of the document the action produced and the
/// outgoing number when the action reserved it.
pub fn parapheur_entry(d: &ParapheurRow, event: &ParapheurEventRow) -> LogEntry {
    let mut e = LogEntry::new(LogKind::Parapheur, &d.id, &event.id);
    e.field("id", Some(&d.id))
        .field("title", Some(&d.title))
        .field("document_type", d.document_type.as_deref())
        .field("administration_id", Some(&d.administration_id))
        .field("submitted_by", Some(&d.submitted_by))
        .field("submitted_at", Some(&d.submitted_at))
        .field("file_name", Some(&d.file_name))
        .field("outgoing", d.outgoing.as_deref());
    e.field("event.id", Some(&event.id))
        .field("event.document_id", Some(&event.document_id))
        .field("event.at", Some(&event.at))
        .field("event.kind", Some(&event.kind))
        .field("event.actor_id", Some(&event.actor_id))
        .field("event.detail", Some(&event.detail));
    e
}

//! Deadlines followed up: a scheduler reminds whoever holds an assignment shortly before its
//! due date, and tells the head of the unit once it is overdue. Each step is recorded with its
//! e-mails in one transaction keyed by (assignment, step), so it is sent once, whatever the
//! number of schedulers running against the database and however often they restart.

use std::time::Duration;

use chrono::Days;
use diwan_domain::Role;

use crate::Services;
use crate::error::AppError;
use crate::model::{DueFollowUp, FollowUp, MailKind, OutboxMail};
use crate::receipts::mail::OutgoingMail;

/// Steps handled per round.
const BATCH: usize = 200;

/// Whom a step e-mails: a reminder goes to the agent holding the letter, or else to the unit's
/// handlers and heads; an escalation to the unit's heads, or else to the nearest heads above.
fn recipients(s: &Services, due: &DueFollowUp) -> Result<Vec<String>, AppError> {
    let a = &due.assignment;
    let mut emails: Vec<String> = match due.step {
        FollowUp::Reminder => match &a.agent_id {
            Some(id) => s
                .store
                .agent(id)?
                .filter(|x| x.active)
                .map(|x| x.email)
                .into_iter()
                .collect(),
            None => s
                .store
                .agents_on(&a.unit_id, &[Role::Handler, Role::Head])?
                .into_iter()
                .map(|x| x.email)
                .collect(),
        },
        FollowUp::Escalation => {
            let org = crate::org::snapshot(s)?;
            let mut found = Vec::new();
            for unit in org.tree.lineage(&a.unit_id) {
                found = s.store.agents_on(unit, &[Role::Head])?;
                if !found.is_empty() {
                    break;
                }
            }
            found.into_iter().map(|x| x.email).collect()
        }
    };
    emails.sort();
    emails.dedup();
    Ok(emails)
}

/// One round: every due step recorded and its e-mails queued. Returns how many steps this
/// scheduler took (a step another scheduler took first is not counted).
pub fn run_due(s: &Services) -> Result<usize, AppError> {
    let today = s
        .clock
        .now()
        .with_timezone(&s.settings.time_zone)
        .date_naive();
    let remind_until = today
        .checked_add_days(Days::new(u64::from(s.settings.workflow.reminder_days)))
        .unwrap_or(today);
    let mut taken = 0;
    for due in s.store.due_follow_ups(remind_until, today, BATCH)? {
        let mails = recipients(s, &due)?;
        if s.store.record_follow_up(&due, s.clock.now(), &mails)? {
            taken += 1;
            tracing::info!(assignment = %due.assignment.id, step = due.step.as_str(),
                recipients = mails.len(), "follow-up queued");
        }
    }
    if taken > 0
        && let Some(w) = s.runtime.get().and_then(|rt| rt.mail_wake.as_ref())
    {
        w.wake();
    }
    Ok(taken)
}

/// Runs `run_due` now and then every `every`, on a thread of its own.
pub fn start_scheduler(s: &Services, every: Duration) -> Result<(), AppError> {
    let s = s.clone();
    let workers = std::sync::Arc::clone(&s.workers);
    workers
        .spawn(
            std::thread::Builder::new().name("diwan-follow-up".into()),
            move || {
                loop {
                    if let Err(e) = run_due(&s) {
                        tracing::error!(error = %e, "the follow-up scheduler failed a round");
                    }
                    // Outgoing letters of parapheur documents left unregistered by a crash.
                    if s.runtime.get().is_some()
                        && let Err(e) = crate::parapheur::circuit::register_pending(&s)
                    {
                        tracing::error!(error = %e, "parapheur outcomes not registered");
                    }
                    // The open data of a month that has just ended.
                    if let Err(e) = crate::open_data::publish_due(&s) {
                        tracing::error!(error = %e, "open data not published");
                    }
                    if !s.workers.pause(every) {
                        break;
                    }
                }
            },
        )
        .map_err(|e| AppError::internal(format!("cannot start the follow-up scheduler: {e}")))?;
    Ok(())
}

/// The e-mail of a reminder or an escalation.
pub(crate) fn follow_up_mail(s: &Services, m: &OutboxMail) -> Result<OutgoingMail, AppError> {
    let c = s
        .store
        .correspondence(&m.correspondence_id)?
        .ok_or_else(|| AppError::internal("an e-mail's letter is missing"))?;
    let number = c.registration_number.as_str();
    let due = c
        .lead()
        .map_or_else(|| "-".to_owned(), |a| a.due_date.to_string());
    let url = format!(
        "{}/office/correspondences/{}",
        s.settings.public_url.trim_end_matches('/'),
        c.id
    );
    let (subject, text) = match m.kind {
        MailKind::Escalation => (
            format!("تجاوز أجل المعالجة: {number} / Délai dépassé : n° {number}"),
            format!(
                "تجاوزت المراسلة رقم {number} أجل معالجتها ({due}).\n{url}\n\n\
                 Le courrier n° {number} n'a pas été traité dans le délai ({due}).\n{url}\n"
            ),
        ),
        _ => (
            format!("تذكير: {number} / Rappel : n° {number}"),
            format!(
                "يحل أجل معالجة المراسلة رقم {number} في {due}.\n{url}\n\n\
                 Le courrier n° {number} est à traiter pour le {due}.\n{url}\n"
            ),
        ),
    };
    Ok(OutgoingMail {
        to: m.recipient.clone(),
        subject,
        text,
        message_id: format!("<{}-{}@diwan.invalid>", m.kind.as_str(), m.id),
        attachments: Vec::new(),
    })
}

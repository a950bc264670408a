//! Receipts by e-mail. The e-mail is an outbox row written in the registration's transaction;
//! a worker sends it after commit, retries with backoff, and marks it sent. A lease keeps two
//! workers (or two processes) from sending the same row at once.

use std::sync::mpsc;
use std::time::Duration;

use crate::Services;
use crate::error::AppError;
use crate::model::{MailKind, OutboxMail, ReceiptKind};

/// A file attached to an e-mail.
#[derive(Debug, Clone)]
pub struct MailAttachment {
    pub filename: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// An e-mail to send.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// Stable per outbox row, so a resend is recognisable.
    pub message_id: String,
    pub attachments: Vec<MailAttachment>,
}

/// Why sending failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MailFailure {
    /// Worth retrying (connection refused, 4xx).
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Not worth retrying (bad address, 5xx).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Sends e-mails (SMTP, or files in an outbox directory). Implemented by `diwan-mail`.
pub trait MailSender: Send + Sync {
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailFailure>;
}

/// Most attempts before an e-mail is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// How long a worker holds an e-mail it is sending.
const LEASE: chrono::Duration = chrono::Duration::minutes(2);

/// The delay before attempt `n + 1`: 10 s, 20 s, 40 s, … capped at one hour.
pub fn backoff(attempts: u32) -> chrono::Duration {
    let secs = 10i64.saturating_mul(1i64 << attempts.min(12).saturating_sub(1));
    chrono::Duration::seconds(secs.min(3600))
}

fn compose(s: &Services, m: &OutboxMail) -> Result<OutgoingMail, AppError> {
    let receipt_kind = match m.kind {
        MailKind::Answered => return crate::workflow::answered_mail(s, m),
        MailKind::Reminder | MailKind::Escalation => return crate::workflow::follow_up_mail(s, m),
        MailKind::Receipt => ReceiptKind::Receipt,
        MailKind::Annulment => ReceiptKind::Annulment,
    };
    let stored = s
        .store
        .receipt(&m.correspondence_id, receipt_kind)?
        .ok_or_else(|| AppError::internal("an e-mail's receipt is missing"))?;
    let payload = super::payload_of(&stored.receipt.jws)?;
    let number = payload["registration_number"].as_str().unwrap_or_default();
    let registry_ar = payload["registry"]["name_ar"].as_str().unwrap_or_default();
    let registry_fr = payload["registry"]["name_fr"].as_str().unwrap_or_default();
    let url = payload["verification_url"].as_str().unwrap_or_default();
    let pdf = super::pdf::ensure_pdf(s, &m.correspondence_id, receipt_kind)?;
    let (subject, text, filename) = match receipt_kind {
        ReceiptKind::Receipt => {
            let deadline = payload["deadline"]["date"].as_str().unwrap_or("-");
            let tracking = payload["tracking_code"].as_str().unwrap_or_default();
            (
                format!("وصل إيداع رقم {number} / Accusé de réception n° {number}"),
                format!(
                    "تم تسجيل مراسلتكم لدى {registry_ar} تحت رقم {number}.\n\
                     رمز التتبع: {tracking}\nالأجل القانوني للرد: {deadline}\n\
                     تجدون رفقته الوصل الرقمي المختوم. للتحقق منه: {url}\n\n\
                     Votre courrier a été enregistré par {registry_fr} sous le n° {number}.\n\
                     Code de suivi : {tracking}\nDélai légal de réponse : {deadline}\n\
                     Vous trouverez ci-joint l'accusé de réception scellé. Pour le vérifier : {url}\n"
                ),
                format!("receipt-{number}.pdf"),
            )
        }
        ReceiptKind::Annulment => (
            format!("إشعار إلغاء التسجيل {number} / Avis d'annulation n° {number}"),
            format!(
                "تم إلغاء تسجيل مراسلتكم رقم {number} لدى {registry_ar}. تجدون رفقته الإشعار المختوم.\n\
                 للتحقق منه: {url}\n\n\
                 L'enregistrement n° {number} de votre courrier par {registry_fr} a été annulé. \
                 Vous trouverez ci-joint l'avis scellé. Pour le vérifier : {url}\n"
            ),
            format!("annulment-{number}.pdf"),
        ),
    };
    Ok(OutgoingMail {
        to: m.recipient.clone(),
        subject,
        text,
        message_id: format!("<{}@diwan.invalid>", m.id),
        attachments: vec![MailAttachment {
            filename: filename.replace(['/', '\\'], "-"),
            media_type: "application/pdf".into(),
            bytes: pdf,
        }],
    })
}

/// Sends what is due now; returns how many e-mails were attempted.
pub fn send_due(s: &Services, sender: &dyn MailSender) -> Result<usize, AppError> {
    let now = s.clock.now();
    let due = s.store.lease_mail(now, now + LEASE, 16)?;
    let n = due.len();
    for m in due {
        let outcome = compose(s, &m).map_err(|e| MailFailure::Transient(e.to_string()));
        let outcome = outcome.and_then(|mail| sender.send(&mail));
        match outcome {
            Ok(()) => {
                s.store.mail_sent(&m.id, s.clock.now())?;
                tracing::info!(mail = %m.id, correspondence = %m.correspondence_id, "receipt e-mailed");
            }
            Err(MailFailure::Permanent(e)) => {
                tracing::warn!(mail = %m.id, error = %e, "receipt e-mail refused; giving up");
                s.store.mail_failed(&m.id, &e, None)?;
            }
            Err(MailFailure::Transient(e)) => {
                let retry =
                    (m.attempts < MAX_ATTEMPTS).then(|| s.clock.now() + backoff(m.attempts));
                tracing::warn!(mail = %m.id, error = %e, attempts = m.attempts, "receipt e-mail failed");
                s.store.mail_failed(&m.id, &e, retry)?;
            }
        }
    }
    Ok(n)
}

/// Wakes the mail worker after a commit that queued e-mails.
#[derive(Debug, Clone)]
pub struct MailWake(mpsc::SyncSender<()>);

impl MailWake {
    pub fn wake(&self) {
        let _ = self.0.try_send(());
    }
}

/// Starts the mail worker: it sends what is due whenever woken, and every `poll` anyway.
pub fn start_worker(
    s: &Services,
    sender: std::sync::Arc<dyn MailSender>,
    poll: Duration,
) -> Result<MailWake, AppError> {
    let (tx, rx) = mpsc::sync_channel::<()>(1);
    let s = s.clone();
    let workers = std::sync::Arc::clone(&s.workers);
    workers
        .spawn(std::thread::Builder::new().name("diwan-mail".into()), move || {
            loop {
                while !s.workers.stopping() {
                    match send_due(&s, sender.as_ref()) {
                        Ok(n) if n > 0 => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::error!(error = %e, "the mail worker cannot read the outbox");
                            break;
                        }
                    }
                }
                if s.workers.wait(&rx, poll) == crate::workers::Wait::Stop {
                    break;
                }
            }
        })
        .map_err(|e| AppError::internal(format!("cannot start the mail worker: {e}")))?;
    Ok(MailWake(tx))
}

//! The e-mail sender the application's outbox worker uses: `diwan-mail` behind the
//! application's `MailSender` port.

use std::time::Duration;

use diwan_app::receipts::mail::{MailFailure, MailSender, OutgoingMail};
use diwan_mail::{Attachment, Email, MailError, Mailer, Transport};

use crate::Settings;
use crate::config::MailTransport;

pub struct Sender {
    mailer: Mailer,
    from: String,
}

impl Sender {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let transport = match settings.mail.transport {
            MailTransport::Smtp => Transport::Smtp {
                url: settings.mail.smtp_url.clone(),
            },
            MailTransport::File => Transport::File {
                dir: if settings.mail.outbox_dir.is_empty() {
                    settings.storage.data_dir.join("outbox")
                } else {
                    settings.mail.outbox_dir.clone().into()
                },
            },
        };
        let mailer = Mailer::new(&transport, Duration::from_secs(30))
            .map_err(|e| anyhow::anyhow!("mail transport: {e}"))?;
        Ok(Self {
            mailer,
            from: settings.mail.from.clone(),
        })
    }
}

impl MailSender for Sender {
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailFailure> {
        let email = Email {
            from: self.from.clone(),
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            text: mail.text.clone(),
            message_id: mail.message_id.clone(),
            attachments: mail
                .attachments
                .iter()
                .map(|a| Attachment {
                    filename: a.filename.clone(),
                    media_type: a.media_type.clone(),
                    bytes: a.bytes.clone(),
                })
                .collect(),
        };
        self.mailer.send(&email).map_err(|e| match e {
            MailError::Transient(_) | MailError::Io(_) => MailFailure::Transient(e.to_string()),
            _ => MailFailure::Permanent(e.to_string()),
        })
    }
}

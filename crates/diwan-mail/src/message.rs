//! An [`Email`] as the application describes it, checked and turned into a MIME message.

use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

use crate::MailError;

/// A file sent with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// For example `application/pdf`.
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// `address@domain` or `Display Name <address@domain>`.
    pub from: String,
    pub to: String,
    /// Any language; encoded as RFC 2047 words when not ASCII.
    pub subject: String,
    /// The plain-text body (Arabic, then French, for receipts).
    pub text: String,
    /// `<left@right>`, chosen by the caller and stable for the same message, so that a resend
    /// carries the same identifier, for example `<receipt-ID@diwan.local>`.
    pub message_id: String,
    pub attachments: Vec<Attachment>,
}

/// Checks every field and builds the MIME message: `multipart/mixed` with the text first, then
/// each attachment in base64. `Date` is the time of the call.
pub(crate) fn build(email: &Email) -> Result<Message, MailError> {
    let from = mailbox("from", &email.from)?;
    let to = mailbox("to", &email.to)?;
    single_line("subject", &email.subject)?;
    check_message_id(&email.message_id)?;

    let mut body = MultiPart::mixed().singlepart(SinglePart::plain(email.text.clone()));
    for attachment in &email.attachments {
        body = body.singlepart(attachment_part(attachment)?);
    }
    Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(email.message_id.clone()))
        .multipart(body)
        .map_err(|e| MailError::BadAddress(e.to_string()))
}

fn mailbox(field: &str, value: &str) -> Result<Mailbox, MailError> {
    if value.chars().any(char::is_control) {
        return Err(MailError::BadAddress(format!(
            "{field} holds a line break or a control character"
        )));
    }
    value
        .parse()
        .map_err(|e| MailError::BadAddress(format!("{field}: {e}")))
}

fn single_line(field: &str, value: &str) -> Result<(), MailError> {
    if value.chars().any(char::is_control) {
        return Err(MailError::BadHeader(format!(
            "{field} holds a line break or a control character"
        )));
    }
    Ok(())
}

/// `<left@right>`: printable ASCII without spaces or angle brackets inside, one `@`, both sides
/// non-empty.
fn check_message_id(id: &str) -> Result<(), MailError> {
    let bad = || MailError::BadHeader(format!("message id {id:?} is not of the form <left@right>"));
    let inner = id
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
        .ok_or_else(bad)?;
    let printable = inner
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    match inner.split_once('@') {
        Some((left, right))
            if printable && !left.is_empty() && !right.is_empty() && !right.contains('@') =>
        {
            Ok(())
        }
        _ => Err(bad()),
    }
}

fn attachment_part(attachment: &Attachment) -> Result<SinglePart, MailError> {
    if attachment.filename.is_empty() {
        return Err(MailError::BadHeader(
            "an attachment has no file name".into(),
        ));
    }
    single_line("attachment file name", &attachment.filename)?;
    single_line("attachment media type", &attachment.media_type)?;
    let content_type = ContentType::parse(&attachment.media_type).map_err(|e| {
        MailError::BadHeader(format!("media type {:?}: {e}", attachment.media_type))
    })?;
    let body = Body::new_with_encoding(attachment.bytes.clone(), ContentTransferEncoding::Base64)
        .map_err(|_| MailError::BadHeader("attachment cannot be base64-encoded".into()))?;
    Ok(lettre::message::Attachment::new(attachment.filename.clone()).body(body, content_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::{MessageParser, MimeHeaders};

    fn email() -> Email {
        Email {
            from: "Diwan <no-reply@diwan.local>".into(),
            to: "citoyen@example.ma".into(),
            subject: "وصل الإيداع MEF-RABAT/A/2026/000123".into(),
            text: "تم تسجيل مراسلتكم.\n\nVotre courrier a été enregistré.\n".into(),
            message_id: "<receipt-42@diwan.local>".into(),
            attachments: vec![Attachment {
                filename: "recu.pdf".into(),
                media_type: "application/pdf".into(),
                bytes: b"%PDF-1.7\n\x00\x01\xff binary".to_vec(),
            }],
        }
    }

    /// Text parts travel with CRLF line ends.
    fn lf(text: &str) -> String {
        text.replace("\r\n", "\n")
    }

    #[test]
    fn builds_a_parseable_multipart_message() {
        let raw = build(&email()).unwrap().formatted();
        let head = String::from_utf8_lossy(&raw[..raw.len().min(2000)]).to_string();
        assert!(head.contains("Subject: =?utf-8?"), "{head}");
        assert!(head.contains("multipart/mixed"), "{head}");
        assert!(head.contains("Date: "), "{head}");

        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some("وصل الإيداع MEF-RABAT/A/2026/000123"));
        assert_eq!(parsed.message_id(), Some("receipt-42@diwan.local"));
        assert_eq!(lf(&parsed.body_text(0).unwrap()), email().text);
        let attachment = parsed.attachment(0).unwrap();
        assert_eq!(attachment.attachment_name(), Some("recu.pdf"));
        assert_eq!(
            attachment.contents(),
            email().attachments[0].bytes.as_slice()
        );
        let content_type = attachment.content_type().unwrap();
        assert_eq!(content_type.ctype(), "application");
        assert_eq!(content_type.subtype(), Some("pdf"));
    }

    #[test]
    fn attachments_are_base64_even_when_they_look_like_text() {
        let mut mail = email();
        mail.attachments[0] = Attachment {
            filename: "liste.csv".into(),
            media_type: "text/csv".into(),
            bytes: b"a,b\n1,2\n".to_vec(),
        };
        let raw = String::from_utf8(build(&mail).unwrap().formatted()).unwrap();
        let part = &raw[raw.find("liste.csv").unwrap()..];
        assert!(part.contains("Content-Transfer-Encoding: base64"), "{raw}");
    }

    #[test]
    fn line_breaks_in_headers_are_refused() {
        type Change = fn(&mut Email);
        let cases: [(&str, Change); 6] = [
            ("to", |m| m.to = "a@example.ma\r\nBcc: b@example.ma".into()),
            ("from", |m| {
                m.from = "a@example.ma\nBcc: b@example.ma".into()
            }),
            ("subject", |m| {
                m.subject = "reçu\r\nBcc: b@example.ma".into()
            }),
            ("subject", |m| m.subject = "reçu\nX: y".into()),
            ("message id", |m| m.message_id = "<a@b>\r\nBcc: c@d".into()),
            ("file name", |m| {
                m.attachments[0].filename = "a.pdf\r\nX: y".into()
            }),
        ];
        for (what, change) in cases {
            let mut mail = email();
            change(&mut mail);
            let err = build(&mail).unwrap_err();
            assert!(
                matches!(err, MailError::BadAddress(_) | MailError::BadHeader(_)),
                "{what}: {err:?}"
            );
        }
        let mut mail = email();
        mail.to = "a@example.ma\r\n".into();
        assert!(matches!(build(&mail), Err(MailError::BadAddress(_))));
        mail = email();
        mail.subject = "x\ry".into();
        assert!(matches!(build(&mail), Err(MailError::BadHeader(_))));
    }

    #[test]
    fn invalid_addresses_are_refused() {
        for bad in ["", "not an address", "a@", "@b", "a b@c.d"] {
            let mut mail = email();
            mail.to = bad.into();
            assert!(
                matches!(build(&mail), Err(MailError::BadAddress(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn message_ids_must_be_left_at_right_in_angle_brackets() {
        for good in ["<receipt-1@diwan.local>", "<a.b+c@d>"] {
            assert!(check_message_id(good).is_ok(), "{good}");
        }
        for bad in [
            "receipt-1@diwan.local",
            "<receipt-1>",
            "<@d>",
            "<a@>",
            "<a b@c>",
            "<a@b@c>",
            "<<a@b>>",
            "<é@b>",
        ] {
            assert!(check_message_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_media_type_is_refused() {
        let mut mail = email();
        mail.attachments[0].media_type = "pdf".into();
        assert!(matches!(build(&mail), Err(MailError::BadHeader(_))));
        mail.attachments[0].media_type = String::new();
        assert!(matches!(build(&mail), Err(MailError::BadHeader(_))));
    }

    #[test]
    fn a_message_without_attachments_still_has_its_text() {
        let mut mail = email();
        mail.attachments.clear();
        let raw = build(&mail).unwrap().formatted();
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(lf(&parsed.body_text(0).unwrap()), mail.text);
        assert_eq!(parsed.attachment_count(), 0);
    }
}

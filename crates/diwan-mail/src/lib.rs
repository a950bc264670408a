#![doc = include_str!("../README.md")]

mod error;
mod message;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lettre::Transport as _;
use lettre::{FileTransport, SmtpTransport};

pub use error::MailError;
pub use message::{Attachment, Email};

/// Where messages go.
#[derive(Clone, PartialEq, Eq)]
pub enum Transport {
    /// One `.eml` file per message in `dir`, created if missing.
    File { dir: PathBuf },
    /// `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS) or
    /// `smtps://user:password@host:port` (implicit TLS); user and password percent-encoded.
    Smtp { url: String },
}

/// The URL may hold a password: `Debug` shows the scheme and host only.
impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { dir } => f.debug_struct("File").field("dir", dir).finish(),
            Self::Smtp { url } => f.debug_struct("Smtp").field("url", &redacted(url)).finish(),
        }
    }
}

/// `scheme://host[:port]` without credentials, path or query.
fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("?", url));
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}")
}

/// Sends [`Email`]s through one [`Transport`]. Blocking: run it on a blocking thread.
pub struct Mailer {
    inner: Inner,
    description: String,
}

enum Inner {
    File(FileTransport),
    Smtp(SmtpTransport),
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Mailer").field(&self.description).finish()
    }
}

impl Mailer {
    /// Prepares the transport; no connection is opened before the first [`Mailer::send`].
    /// `timeout` bounds the SMTP connection and each read and write on it.
    pub fn new(transport: &Transport, timeout: Duration) -> Result<Self, MailError> {
        let description = format!("{transport:?}");
        let inner = match transport {
            Transport::File { dir } => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| MailError::Io(format!("creating {}: {e}", dir.display())))?;
                Inner::File(FileTransport::new(dir))
            }
            Transport::Smtp { url } => {
                let builder = SmtpTransport::from_url(url)
                    .map_err(|e| MailError::Config(error::with_sources(&e)))?;
                Inner::Smtp(builder.timeout(Some(timeout)).build())
            }
        };
        Ok(Self { inner, description })
    }

    /// Checks the message, then hands it to the transport. Sending the same [`Email`] twice
    /// sends two copies with the same `Message-ID`.
    pub fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = message::build(email)?;
        match &self.inner {
            Inner::File(transport) => transport
                .send(&message)
                .map(drop)
                .map_err(|e| MailError::Io(error::with_sources(&e))),
            Inner::Smtp(transport) => transport
                .send(&message)
                .map(drop)
                .map_err(|e| error::from_smtp(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let transport = Transport::Smtp {
            url: "smtps://user:s3cret@mail.example.ma:465/ehlo?x=1".into(),
        };
        let shown = format!("{transport:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("user"), "{shown}");
        assert!(shown.contains("smtps://mail.example.ma:465"), "{shown}");
        let mailer = Mailer::new(&transport, Duration::from_secs(1)).unwrap();
        assert!(!format!("{mailer:?}").contains("s3cret"));
    }

    #[test]
    fn unknown_schemes_are_a_configuration_error() {
        for url in [
            "http://localhost:25",
            "not a url",
            "smtp://localhost?tls=sometimes",
        ] {
            let err = Mailer::new(&Transport::Smtp { url: url.into() }, Duration::from_secs(1))
                .unwrap_err();
            assert!(matches!(err, MailError::Config(_)), "{url}: {err:?}");
        }
    }

    #[test]
    fn plain_starttls_and_implicit_tls_urls_are_accepted() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://relay.example.ma:587?tls=required",
            "smtps://user:p%40ss@relay.example.ma:465",
        ] {
            let result = Mailer::new(&Transport::Smtp { url: url.into() }, Duration::from_secs(1));
            assert!(result.is_ok(), "{url}: {result:?}");
        }
    }
}

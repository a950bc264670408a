//! Sends through real transports: a real SMTP server on loopback (Python's `aiosmtpd`, storing
//! what it receives in a maildir), small scripted SMTP servers for the refusal replies, and the
//! file transport. Tests that need `aiosmtpd` fail when it is missing, unless
//! `DIWAN_SKIP_EXTERNAL=1`.

#![expect(clippy::unwrap_used, reason = "test helpers: failing loudly is right")]

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use diwan_mail::{Attachment, Email, MailError, Mailer, Transport};
use mail_parser::{Address, MessageParser, MimeHeaders};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A fresh directory under cargo's scratch space for integration tests.
fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("diwan-mail-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

fn smtp(port: u16) -> Transport {
    Transport::Smtp {
        url: format!("smtp://127.0.0.1:{port}"),
    }
}

/// A PDF-looking attachment with every byte value in it.
fn pdf_bytes() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    bytes.extend((0..=255u8).cycle().take(3_000));
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

fn receipt(id: &str) -> Email {
    Email {
        from: "Diwan <no-reply@diwan.local>".into(),
        to: "citoyen@example.ma".into(),
        subject: "وصل الإيداع رقم MEF-RABAT/A/2026/000123".into(),
        text: "السلام عليكم،\nتم تسجيل مراسلتكم تحت الرقم MEF-RABAT/A/2026/000123.\n\n\
               Bonjour,\nvotre courrier a été enregistré sous le numéro MEF-RABAT/A/2026/000123.\n"
            .into(),
        message_id: format!("<receipt-{id}@diwan.local>"),
        attachments: vec![Attachment {
            filename: "accuse-de-reception.pdf".into(),
            media_type: "application/pdf".into(),
            bytes: pdf_bytes(),
        }],
    }
}

fn first_address(address: Option<&Address>) -> Option<String> {
    address
        .and_then(Address::first)
        .and_then(|a| a.address.as_ref())
        .map(ToString::to_string)
}

/// Parses a stored message and checks it carries `email` intact.
fn assert_carries(raw: &[u8], email: &Email) {
    let parsed = MessageParser::default().parse(raw).unwrap();
    assert_eq!(parsed.subject(), Some(email.subject.as_str()));
    assert_eq!(
        parsed.message_id().map(|id| format!("<{id}>")),
        Some(email.message_id.clone())
    );
    assert_eq!(
        first_address(parsed.from()).as_deref(),
        Some("no-reply@diwan.local")
    );
    assert_eq!(
        first_address(parsed.to()).as_deref(),
        Some("citoyen@example.ma")
    );
    assert!(parsed.date().is_some());
    let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
    assert_eq!(text, email.text);
    assert_eq!(parsed.attachment_count(), 1);
    let attachment = parsed.attachment(0).unwrap();
    assert_eq!(
        attachment.attachment_name(),
        Some("accuse-de-reception.pdf")
    );
    let content_type = attachment.content_type().unwrap();
    assert_eq!(
        (content_type.ctype(), content_type.subtype()),
        ("application", Some("pdf"))
    );
    assert_eq!(attachment.contents(), email.attachments[0].bytes.as_slice());
}

// ---------------------------------------------------------------------------------------------
// aiosmtpd

/// `python3 -m aiosmtpd` storing into a maildir; killed on drop.
struct Aiosmtpd {
    child: Child,
    port: u16,
    root: PathBuf,
    maildir: PathBuf,
}

impl Aiosmtpd {
    /// `None` when external tools are to be skipped; panics when aiosmtpd cannot start.
    fn start() -> Option<Self> {
        if std::env::var("DIWAN_SKIP_EXTERNAL").as_deref() == Ok("1") {
            eprintln!("DIWAN_SKIP_EXTERNAL=1: not running the aiosmtpd test");
            return None;
        }
        let root = scratch("aiosmtpd");
        std::fs::create_dir_all(&root).unwrap();
        let maildir = root.join("maildir");
        let log = root.join("aiosmtpd.log");
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(root.join("aiosmtpd.out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run python3 ({e}); install aiosmtpd or set DIWAN_SKIP_EXTERNAL=1")
            });
        let mut server = Self {
            child,
            port,
            root,
            maildir,
        };
        server.wait_until_listening(&log);
        Some(server)
    }

    fn wait_until_listening(&mut self, log: &Path) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "aiosmtpd exited ({status}); is it installed (pip install aiosmtpd)? \
                     Set DIWAN_SKIP_EXTERNAL=1 to skip. Its log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "aiosmtpd did not listen in 20 s");
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The messages delivered so far, oldest first by file name.
    fn messages(&self) -> Vec<Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

#[test]
fn smtp_delivers_an_arabic_receipt_with_its_pdf() {
    let Some(server) = Aiosmtpd::start() else {
        return;
    };
    let mailer = Mailer::new(&smtp(server.port), TIMEOUT).unwrap();
    let email = receipt("MEF-RABAT-A-2026-000123");
    mailer.send(&email).unwrap();
    mailer.send(&email).unwrap();

    let messages = server.messages();
    assert_eq!(messages.len(), 2, "one maildir file per delivery");
    for raw in &messages {
        assert_carries(raw, &email);
        let head = String::from_utf8_lossy(&raw[..raw.len().min(1_000)]);
        assert!(
            head.contains("Subject: =?utf-8?b?"),
            "RFC 2047 subject:\n{head}"
        );
        // aiosmtpd records the SMTP envelope in these headers.
        assert!(head.contains("X-MailFrom: no-reply@diwan.local"), "{head}");
        assert!(head.contains("X-RcptTo: citoyen@example.ma"), "{head}");
    }
}

// ---------------------------------------------------------------------------------------------
// file transport

#[test]
fn the_file_transport_writes_one_eml_per_message_into_a_new_directory() {
    let dir = scratch("files").join("nested").join("outbox");
    let mailer = Mailer::new(&Transport::File { dir: dir.clone() }, TIMEOUT).unwrap();
    assert!(dir.is_dir(), "the directory is created by Mailer::new");

    let email = receipt("file-1");
    mailer.send(&email).unwrap();
    mailer.send(&email).unwrap();

    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        assert_eq!(file.extension().and_then(|e| e.to_str()), Some("eml"));
        assert_carries(&std::fs::read(file).unwrap(), &email);
    }
    std::fs::remove_dir_all(dir.parent().unwrap().parent().unwrap()).unwrap();
}

#[test]
fn a_file_transport_whose_directory_cannot_be_created_is_an_io_error() {
    let blocker = scratch("blocker");
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"a file, not a directory").unwrap();
    let err = Mailer::new(
        &Transport::File {
            dir: blocker.join("outbox"),
        },
        TIMEOUT,
    )
    .unwrap_err();
    assert!(matches!(err, MailError::Io(_)), "{err:?}");
    std::fs::remove_file(&blocker).unwrap();
}

// ---------------------------------------------------------------------------------------------
// refusals and failures

/// Serves one SMTP session on loopback, answering `reply` to `MAIL FROM`; returns its port.
fn scripted_server(reply: &'static str) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut writer = stream.try_clone().unwrap();
        writer.write_all(b"220 scripted ESMTP\r\n").unwrap();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
            let answer = match verb.as_str() {
                "EHLO" | "HELO" => "250 scripted",
                "MAIL" => reply,
                "RSET" | "NOOP" => "250 OK",
                "QUIT" => "221 Bye",
                _ => "503 Bad sequence of commands",
            };
            if writer
                .write_all(format!("{answer}\r\n").as_bytes())
                .is_err()
                || verb == "QUIT"
            {
                break;
            }
        }
    });
    port
}

#[test]
fn a_5xx_reply_is_permanent() {
    let port = scripted_server("550 5.7.1 Sender rejected");
    let err = Mailer::new(&smtp(port), TIMEOUT)
        .unwrap()
        .send(&receipt("refused"))
        .unwrap_err();
    assert!(matches!(err, MailError::Permanent(_)), "{err:?}");
    assert!(!err.is_retryable());
}

#[test]
fn a_4xx_reply_is_transient() {
    let port = scripted_server("451 4.3.0 Try again later");
    let err = Mailer::new(&smtp(port), TIMEOUT)
        .unwrap()
        .send(&receipt("deferred"))
        .unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[test]
fn a_refused_connection_is_transient() {
    let port = free_port();
    let err = Mailer::new(&smtp(port), Duration::from_secs(2))
        .unwrap()
        .send(&receipt("nobody-listens"))
        .unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
}

#[test]
fn line_breaks_are_refused_before_anything_is_sent() {
    // Nobody listens on this port: a refusal here proves the check comes before connecting.
    let mailer = Mailer::new(&smtp(free_port()), Duration::from_secs(2)).unwrap();

    let mut email = receipt("injection");
    email.subject = "وصل\r\nBcc: victim@example.ma".into();
    assert!(matches!(mailer.send(&email), Err(MailError::BadHeader(_))));

    let mut email = receipt("injection");
    email.to = "citoyen@example.ma\r\nBcc: victim@example.ma".into();
    assert!(matches!(mailer.send(&email), Err(MailError::BadAddress(_))));

    let mut email = receipt("injection");
    email.from = "Diwan <no-reply@diwan.local>\nBcc: victim@example.ma".into();
    assert!(matches!(mailer.send(&email), Err(MailError::BadAddress(_))));

    let dir = scratch("injection");
    let files = Mailer::new(&Transport::File { dir: dir.clone() }, TIMEOUT).unwrap();
    let mut email = receipt("injection");
    email.subject = "reçu\nBcc: victim@example.ma".into();
    assert!(matches!(files.send(&email), Err(MailError::BadHeader(_))));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

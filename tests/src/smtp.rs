//! A real SMTP peer for tests: Python's aiosmtpd on loopback, writing what it receives into a
//! maildir (`.ci/run` installs it).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::free_port;

/// A running aiosmtpd writing what it receives into a maildir.
pub struct Smtp {
    child: std::process::Child,
    pub maildir: PathBuf,
    pub port: u16,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn smtp_server(dir: &Path) -> Smtp {
    let port = free_port();
    let maildir = dir.join("maildir");
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&maildir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 -m aiosmtpd (.ci/run installs it): {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Smtp {
        child,
        maildir,
        port,
    }
}

pub fn messages(maildir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = std::fs::read_dir(maildir.join(sub)) {
            for e in entries {
                out.push(std::fs::read(e.unwrap().path()).unwrap());
            }
        }
    }
    out
}

/// Waits up to `timeout` for a message whose raw text contains `needle`; returns it.
pub fn wait_for_message(maildir: &Path, needle: &str, timeout: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(m) = messages(maildir)
            .into_iter()
            .find(|m| String::from_utf8_lossy(m).contains(needle))
        {
            return Some(m);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

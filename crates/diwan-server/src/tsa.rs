//! The external time-stamping authority (`pki.tsa_url`) over HTTP: RFC 3161 §3.4, a
//! `application/timestamp-query` POST answered by `application/timestamp-reply`.

use std::io::Read;
use std::time::Duration;

use diwan_app::parapheur::tsa::TimeStampAuthority;

/// Largest answer read from the authority (a token with its chain is a few KiB).
const MAX_ANSWER: u64 = 256 * 1024;

#[derive(Debug)]
pub struct HttpTsa {
    url: String,
    agent: ureq::Agent,
}

impl HttpTsa {
    pub fn new(url: &str, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        Self {
            url: url.to_owned(),
            agent: config.into(),
        }
    }
}

impl TimeStampAuthority for HttpTsa {
    fn post(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        let mut response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/timestamp-query")
            .send(request)
            .map_err(|e| format!("unreachable: {e}"))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(format!("HTTP status {status}"));
        }
        let media = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !media.starts_with("application/timestamp-reply") {
            return Err(format!("answered {media:?}, not a time-stamp reply"));
        }
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(MAX_ANSWER + 1)
            .read_to_end(&mut body)
            .map_err(|e| format!("reading the answer: {e}"))?;
        if body.len() as u64 > MAX_ANSWER {
            return Err("the answer is too large".into());
        }
        Ok(body)
    }

    fn url(&self) -> &str {
        &self.url
    }
}

//! The exchange `Transport` over HTTP(S): an envelope and its files posted as
//! `multipart/form-data` to a peer's `/api/v1/exchange/inbound`, the files streamed from the
//! file store (never whole in memory).

use std::io::{Cursor, Read};
use std::time::Duration;

use diwan_app::exchange::{DeliveryFailure, OutgoingFile, Peer, Transport};

/// Largest answer read from a peer.
const MAX_ANSWER: u64 = 1024 * 1024;

#[derive(Debug)]
pub struct HttpTransport {
    agent: ureq::Agent,
}

impl HttpTransport {
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        Self {
            agent: config.into(),
        }
    }
}

/// A part name or file name inside a quoted header value: no quotes, backslashes or line breaks.
fn quoted(name: &str) -> String {
    name.chars()
        .map(|c| {
            if matches!(c, '"' | '\\' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// The multipart body: the `envelope` part, then one `file` part per file, streamed.
fn body(boundary: &str, envelope: &str, files: Vec<OutgoingFile>) -> Box<dyn Read + Send> {
    let mut body: Box<dyn Read + Send> = Box::new(Cursor::new(format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: application/jose\r\n\r\n{envelope}\r\n"
    )));
    for f in files {
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            quoted(&f.name),
            quoted(&f.media_type),
        );
        body = Box::new(
            body.chain(Cursor::new(head))
                .chain(f.reader.take(f.size))
                .chain(Cursor::new("\r\n")),
        );
    }
    Box::new(body.chain(Cursor::new(format!("--{boundary}--\r\n"))))
}

impl Transport for HttpTransport {
    fn post(
        &self,
        peer: &Peer,
        envelope: &str,
        files: Vec<OutgoingFile>,
    ) -> Result<String, DeliveryFailure> {
        let boundary = format!(
            "diwan-{}",
            diwan_app::ids::new_id().map_err(|e| DeliveryFailure::Transient(e.to_string()))?
        );
        let url = format!("{}/api/v1/exchange/inbound", peer.url);
        let response = self
            .agent
            .post(&url)
            .header(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .send(ureq::SendBody::from_owned_reader(body(
                &boundary, envelope, files,
            )));
        let mut response =
            response.map_err(|e| DeliveryFailure::Transient(format!("{}: {e}", peer.name)))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| {
                DeliveryFailure::Transient(format!("{}: reading the answer: {e}", peer.name))
            })?;
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        match status {
            200 | 201 => answer["ack"].as_str().map(str::to_owned).ok_or_else(|| {
                DeliveryFailure::Transient(format!(
                    "{}: an answer without acknowledgement",
                    peer.name
                ))
            }),
            // The peer's own refusal (problem+json with a code); not worth trying again.
            400..=499 if !matches!(status, 408 | 409 | 429) && answer["code"].is_string() => {
                Err(DeliveryFailure::Refused(format!(
                    "{} ({status}): {}",
                    answer["code"].as_str().unwrap_or("refused"),
                    answer["detail"]
                        .as_str()
                        .unwrap_or("no reason given")
                        .chars()
                        .take(500)
                        .collect::<String>()
                )))
            }
            // Busy, unavailable, failing, or not Diwan answering: tried again later.
            _ => Err(DeliveryFailure::Transient(format!(
                "{}: HTTP {status}",
                peer.name
            ))),
        }
    }
}

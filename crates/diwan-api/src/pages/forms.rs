//! Reading the pages' forms: URL-encoded fields, or multipart with files streamed into the
//! blob store's staging area (the same limits as the API's registration).

use std::collections::HashMap;

use actix_multipart::Multipart;
use diwan_app::correspondence::Upload;
use diwan_app::ports::BlobSink;
use diwan_app::{AppError, Rejection, Services};
use futures_util::StreamExt as _;

/// Largest text field.
const MAX_FIELD_BYTES: usize = 64 * 1024;
/// Most text fields in one form (a batch signature's checkboxes count one each); more is
/// refused, never cut short.
const MAX_FIELDS: usize = 160;

/// A posted form: its text fields (the first value of each name, and every value in order)
/// and its files.
#[derive(Debug, Default)]
pub struct Posted {
    pub fields: HashMap<String, String>,
    pub values: Vec<(String, String)>,
    pub files: Vec<Upload>,
}

impl Posted {
    /// A field, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        self.fields
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A field, trimmed, or an empty string.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default()
    }

    /// Every non-blank value of a repeated field (checkboxes), trimmed, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

fn too_large(code: &'static str, detail: String) -> AppError {
    AppError::rejected(Rejection::TooLarge, code, detail)
}

fn malformed(e: impl std::fmt::Display) -> AppError {
    AppError::bad_request("invalid_form", e.to_string())
}

/// Reads a multipart form. Parts named in `file_fields` are files (empty ones, as a browser
/// sends for an untouched file input, are skipped); others are text.
pub async fn multipart(
    s: &Services,
    mut payload: Multipart,
    file_fields: &[&str],
) -> Result<Posted, AppError> {
    let mut posted = Posted::default();
    let mut total = 0u64;
    let max_request = s.settings.max_request_bytes;
    let max_file = s.settings.max_file_bytes;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(malformed)?;
        let name = field.name().unwrap_or_default().to_owned();
        if file_fields.contains(&name.as_str()) {
            let filename = field
                .content_disposition()
                .and_then(|cd| cd.get_filename().map(str::to_owned))
                .unwrap_or_default();
            let declared = field.content_type().map(ToString::to_string);
            let mut sink: Box<dyn BlobSink> = s.blobs.stage()?;
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(malformed)?;
                total += chunk.len() as u64;
                if sink.written() + chunk.len() as u64 > max_file {
                    return Err(too_large(
                        "file_too_large",
                        format!("a file is at most {max_file} bytes"),
                    ));
                }
                if total > max_request {
                    return Err(too_large(
                        "request_too_large",
                        format!("a form is at most {max_request} bytes"),
                    ));
                }
                sink.write(&chunk)?;
            }
            if filename.is_empty() && sink.written() == 0 {
                continue;
            }
            if posted.files.len() >= s.settings.max_files {
                return Err(too_large(
                    "too_many_files",
                    format!("at most {} files", s.settings.max_files),
                ));
            }
            let blob =
                super::run(move || sink.finish(declared.as_deref()).map_err(Into::into)).await?;
            let name = if filename.is_empty() {
                "document".to_owned()
            } else {
                filename
            };
            posted.files.push(Upload { name, blob });
        } else {
            let mut buf = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(malformed)?;
                total += chunk.len() as u64;
                if buf.len() + chunk.len() > MAX_FIELD_BYTES || total > max_request {
                    return Err(too_large(
                        "field_too_large",
                        format!("a field is at most {MAX_FIELD_BYTES} bytes"),
                    ));
                }
                buf.extend_from_slice(&chunk);
            }
            if posted.fields.len() >= MAX_FIELDS {
                return Err(malformed("too many fields"));
            }
            let value = String::from_utf8(buf).map_err(|_| malformed("a field is not UTF-8"))?;
            posted.fields.entry(name).or_insert(value);
        }
    }
    Ok(posted)
}

/// Reads a multipart form whose one file (`file_field`, at most `max` bytes) is kept in memory.
pub async fn multipart_in_memory(
    mut payload: Multipart,
    file_field: &str,
    max: usize,
) -> Result<(Posted, Option<Vec<u8>>), AppError> {
    let mut posted = Posted::default();
    let mut file: Option<Vec<u8>> = None;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(malformed)?;
        let is_file = field.name() == Some(file_field) && file.is_none();
        let name = field.name().unwrap_or_default().to_owned();
        let limit = if is_file { max } else { MAX_FIELD_BYTES };
        let mut buf = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            if buf.len() + chunk.len() > limit {
                return Err(too_large(
                    "file_too_large",
                    format!("at most {limit} bytes"),
                ));
            }
            buf.extend_from_slice(&chunk);
        }
        if is_file {
            if !buf.is_empty() {
                file = Some(buf);
            }
        } else {
            if posted.fields.len() >= MAX_FIELDS {
                return Err(malformed("too many fields"));
            }
            let value = String::from_utf8(buf).map_err(|_| malformed("a field is not UTF-8"))?;
            posted.fields.entry(name).or_insert(value);
        }
    }
    Ok((posted, file))
}

/// Reads a URL-encoded form body.
pub fn urlencoded(body: &[u8]) -> Result<Posted, AppError> {
    if body.len() > MAX_FIELD_BYTES {
        return Err(too_large(
            "field_too_large",
            format!("a form is at most {MAX_FIELD_BYTES} bytes"),
        ));
    }
    let text = std::str::from_utf8(body).map_err(|_| malformed("the form is not UTF-8"))?;
    let mut pairs = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        pairs.push((decode(k)?, decode(v)?));
    }
    if pairs.len() > MAX_FIELDS {
        return Err(too_large(
            "too_many_fields",
            format!("a form has at most {MAX_FIELDS} fields"),
        ));
    }
    let mut posted = Posted::default();
    for (k, v) in pairs {
        posted.fields.entry(k.clone()).or_insert_with(|| v.clone());
        posted.values.push((k, v));
    }
    Ok(posted)
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
fn decode(s: &str) -> Result<String, AppError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| malformed("bad percent-encoding"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| malformed("the form is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms() {
        let p =
            urlencoded("name=%D9%85%D8%B1%D9%8A%D9%85+%3Cb%3E&x=1&name=second".as_bytes()).unwrap();
        assert_eq!(p.text("name"), "مريم <b>");
        assert_eq!(p.text("x"), "1");
        assert!(p.get("missing").is_none());
        assert!(urlencoded(b"a=%zz").is_err());
        assert!(urlencoded(b"a=%C3").is_err());
    }
}

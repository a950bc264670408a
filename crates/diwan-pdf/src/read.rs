//! Reading signatures and catalog entries back, defensively: the input may be hostile.

use lopdf::{Dictionary, Document, Object};

use crate::PdfError;
use crate::syntax::{decode_text_string, parse};

/// Largest `/Contents` accepted (DER bytes).
const MAX_CONTENTS: usize = 1024 * 1024;

/// One signature dictionary found in a PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfSignature {
    pub byte_range: [u64; 4],
    /// Where the revision this signature signed ends (`byte_range[2] + byte_range[3]`): the
    /// prefix `pdf[..revision_end]` is the document as it was signed (see
    /// [`crate::changes_after`]).
    pub revision_end: u64,
    /// The DER CMS, without the zero padding of the placeholder.
    pub contents: Vec<u8>,
    /// The bytes the byte range covers, concatenated (what was signed).
    pub covered: Vec<u8>,
    /// The byte range starts at 0, ends at the end of the file, and leaves out exactly the
    /// `/Contents` hex string.
    pub covers_whole_file: bool,
    /// `/M`, as written (a PDF date string).
    pub signing_time: Option<String>,
    pub sub_filter: Option<String>,
}

/// Every signature dictionary in `pdf` (any object with `/Type /Sig`, or with `/ByteRange` and
/// `/Contents`), in object-number order.
pub fn signatures(pdf: &[u8]) -> Result<Vec<PdfSignature>, PdfError> {
    let doc = parse(pdf)?;
    let mut found = Vec::new();
    for object in doc.objects.values() {
        if let Object::Dictionary(dict) = object
            && is_signature(dict)
        {
            found.push(read_signature(dict, pdf)?);
        }
    }
    Ok(found)
}

fn is_signature(dict: &Dictionary) -> bool {
    let typed =
        matches!(dict.get(b"Type"), Ok(Object::Name(n)) if n == b"Sig" || n == b"DocTimeStamp");
    let shaped = dict.has(b"ByteRange") && dict.has(b"Contents") && dict.has(b"Filter");
    typed || shaped
}

fn read_signature(dict: &Dictionary, pdf: &[u8]) -> Result<PdfSignature, PdfError> {
    let byte_range = byte_range(dict)?;
    let covered = covered_bytes(&byte_range, pdf)?;
    let raw = match dict.get(b"Contents") {
        Ok(Object::String(bytes, _)) => bytes.as_slice(),
        _ => return Err(malformed("signature /Contents is not a string")),
    };
    if raw.len() > MAX_CONTENTS {
        return Err(PdfError::TooLarge("signature /Contents"));
    }
    let contents = strip_padding(raw)?;
    Ok(PdfSignature {
        covers_whole_file: covers_whole_file(&byte_range, pdf),
        revision_end: byte_range[2].saturating_add(byte_range[3]),
        byte_range,
        contents,
        covered,
        signing_time: text(dict, b"M"),
        sub_filter: match dict.get(b"SubFilter") {
            Ok(Object::Name(n)) => Some(String::from_utf8_lossy(n).into_owned()),
            _ => None,
        },
    })
}

fn malformed(what: &str) -> PdfError {
    PdfError::Malformed(what.to_owned())
}

fn byte_range(dict: &Dictionary) -> Result<[u64; 4], PdfError> {
    let Ok(Object::Array(items)) = dict.get(b"ByteRange") else {
        return Err(malformed("signature has no /ByteRange array"));
    };
    if items.len() != 4 {
        return Err(malformed("/ByteRange must have four numbers"));
    }
    let mut out = [0u64; 4];
    for (slot, item) in out.iter_mut().zip(items) {
        let Object::Integer(n) = item else {
            return Err(malformed("/ByteRange holds a non-integer"));
        };
        *slot = u64::try_from(*n).map_err(|_| malformed("negative /ByteRange"))?;
    }
    Ok(out)
}

fn covered_bytes(range: &[u64; 4], pdf: &[u8]) -> Result<Vec<u8>, PdfError> {
    let len = pdf.len() as u64;
    let slice = |start: u64, count: u64| -> Result<&[u8], PdfError> {
        let end = start
            .checked_add(count)
            .filter(|&e| e <= len)
            .ok_or_else(|| malformed("/ByteRange outside the file"))?;
        let (start, end) = (usize::try_from(start), usize::try_from(end));
        match (start, end) {
            (Ok(s), Ok(e)) => Ok(&pdf[s..e]),
            _ => Err(malformed("/ByteRange outside the file")),
        }
    };
    let first = slice(range[0], range[1])?;
    let second = slice(range[2], range[3])?;
    if range[0].saturating_add(range[1]) > range[2] {
        return Err(malformed("/ByteRange ranges overlap"));
    }
    let mut covered = Vec::with_capacity(first.len() + second.len());
    covered.extend_from_slice(first);
    covered.extend_from_slice(second);
    Ok(covered)
}

fn covers_whole_file(range: &[u64; 4], pdf: &[u8]) -> bool {
    let len = pdf.len() as u64;
    let (gap_start, gap_end) = (range[1], range[2]);
    let gap_is_hex_string = usize::try_from(gap_start)
        .ok()
        .zip(usize::try_from(gap_end).ok())
        .and_then(|(s, e)| pdf.get(s..e))
        .is_some_and(|gap| {
            gap.len() >= 2
                && gap.first() == Some(&b'<')
                && gap.last() == Some(&b'>')
                && gap[1..gap.len() - 1]
                    .iter()
                    .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace())
        });
    range[0] == 0 && range[2].checked_add(range[3]) == Some(len) && gap_is_hex_string
}

/// The DER value at the start of `raw` (the placeholder is padded with zeros after it).
fn strip_padding(raw: &[u8]) -> Result<Vec<u8>, PdfError> {
    let len = der_length(raw).ok_or_else(|| malformed("/Contents is not DER"))?;
    Ok(raw[..len].to_vec())
}

/// Total length (header + content) of the DER element at the start of `bytes`, if it fits.
fn der_length(bytes: &[u8]) -> Option<usize> {
    let first = *bytes.get(1)?;
    let (header, content) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 {
            return None;
        }
        let len_bytes = bytes.get(2..2 + count)?;
        let content = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (2 + count, content)
    };
    let total = header.checked_add(content)?;
    (total <= bytes.len()).then_some(total)
}

fn text(dict: &Dictionary, key: &[u8]) -> Option<String> {
    match dict.get(key) {
        Ok(Object::String(bytes, _)) => Some(decode_text_string(bytes)),
        _ => None,
    }
}

/// A text entry of the document catalog (latest revision), e.g. one added by [`crate::seal`].
pub fn catalog_text(pdf: &[u8], key: &str) -> Result<Option<String>, PdfError> {
    let doc = parse(pdf)?;
    let catalog = catalog(&doc)?;
    match catalog.get(key.as_bytes()) {
        Ok(object) => match doc.dereference(object) {
            Ok((_, Object::String(bytes, _))) => Ok(Some(decode_text_string(bytes))),
            Ok(_) => Err(malformed("catalog entry is not a string")),
            Err(e) => Err(PdfError::Malformed(e.to_string())),
        },
        Err(_) => Ok(None),
    }
}

fn catalog(doc: &Document) -> Result<&Dictionary, PdfError> {
    doc.catalog()
        .map_err(|e| PdfError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_length_short_and_long_forms() {
        assert_eq!(der_length(&[0x30, 0x03, 1, 2, 3, 0, 0]), Some(5));
        let mut long = vec![0x30, 0x82, 0x01, 0x00];
        long.resize(4 + 256 + 10, 0);
        assert_eq!(der_length(&long), Some(260));
        assert_eq!(der_length(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(der_length(&[0x30, 0x10, 0]), None);
        assert_eq!(der_length(&[]), None);
    }

    #[test]
    fn byte_ranges_outside_the_file_are_errors() {
        let pdf = b"0123456789";
        assert!(covered_bytes(&[0, 2, 4, 6], pdf).is_ok());
        assert!(covered_bytes(&[0, 2, 4, 7], pdf).is_err());
        assert!(covered_bytes(&[0, u64::MAX, 4, 1], pdf).is_err());
        assert!(covered_bytes(&[0, 5, 3, 1], pdf).is_err());
    }
}

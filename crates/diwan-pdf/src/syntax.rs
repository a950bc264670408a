//! Small pieces of PDF syntax written by hand: objects copied from a parsed document into an
//! incremental update, text strings, dates, and hostile-input-safe parsing.

use chrono::{DateTime, Utc};
use lopdf::{Dictionary, Document, Object};

use crate::PdfError;
use crate::reader::{ObjRef, Object as RObject};

/// Largest PDF this crate parses.
pub(crate) const MAX_PDF_BYTES: usize = 64 * 1024 * 1024;
/// Deepest nesting written back out; deeper structures are refused.
const MAX_DEPTH: usize = 32;

/// Parse with lopdf, refusing oversized input and turning a panic inside the parser into an
/// error, since the bytes may come from anywhere.
pub(crate) fn parse(pdf: &[u8]) -> Result<Document, PdfError> {
    if pdf.len() > MAX_PDF_BYTES {
        return Err(PdfError::TooLarge("PDF"));
    }
    std::panic::catch_unwind(|| Document::load_mem(pdf))
        .map_err(|_| PdfError::Malformed("parser failure".to_owned()))?
        .map_err(|e| PdfError::Malformed(e.to_string()))
}

/// Append `object` in PDF syntax. Strings are written as hex, names with `#` escapes.
pub(crate) fn write_object(out: &mut Vec<u8>, object: &Object) -> Result<(), PdfError> {
    write_at(out, object, 0)
}

fn write_at(out: &mut Vec<u8>, object: &Object, depth: usize) -> Result<(), PdfError> {
    if depth > MAX_DEPTH {
        return Err(PdfError::Malformed("nesting too deep".to_owned()));
    }
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => out.extend_from_slice(real(*r).as_bytes()),
        Object::Name(n) => write_name(out, n),
        Object::String(s, _) => write_hex_string(out, s),
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_at(out, item, depth + 1)?;
            }
            out.push(b']');
        }
        Object::Dictionary(dict) => write_dict_at(out, dict, depth + 1)?,
        Object::Reference((id, generation)) => {
            out.extend_from_slice(format!("{id} {generation} R").as_bytes());
        }
        Object::Stream(_) => {
            return Err(PdfError::Malformed("unexpected direct stream".to_owned()));
        }
    }
    Ok(())
}

fn write_dict_at(out: &mut Vec<u8>, dict: &Dictionary, depth: usize) -> Result<(), PdfError> {
    out.extend_from_slice(b"<<");
    for (key, value) in dict.iter() {
        write_name(out, key);
        out.push(b' ');
        write_at(out, value, depth)?;
        out.push(b'\n');
    }
    out.extend_from_slice(b">>");
    Ok(())
}

/// The shortest text that reads back as the same `f32` (lopdf keeps reals as `f32`).
fn real(r: f32) -> String {
    if !r.is_finite() {
        return "0".to_owned();
    }
    let s = format!("{r}");
    if s == "-0" { "0".to_owned() } else { s }
}

/// Writes a value read by [`crate::reader`], each reference turned through `map` (`null` when
/// it gives none). Reals are written so that they read back as the same value. The depth is
/// bounded by the reader that parsed `o`.
pub(crate) fn write_value(out: &mut Vec<u8>, o: &RObject, map: &dyn Fn(ObjRef) -> Option<ObjRef>) {
    match o {
        RObject::Null => out.extend_from_slice(b"null"),
        RObject::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        RObject::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        RObject::Real(r) => out.extend_from_slice(real64(*r).as_bytes()),
        RObject::Name(n) => write_name(out, n),
        RObject::Str(s) => write_hex_string(out, s),
        RObject::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_value(out, item, map);
            }
            out.push(b']');
        }
        RObject::Dict(d) => {
            out.extend_from_slice(b"<<");
            for (key, value) in d.iter() {
                write_name(out, key);
                out.push(b' ');
                write_value(out, value, map);
                out.push(b'\n');
            }
            out.extend_from_slice(b">>");
        }
        RObject::Ref(r) => match map(*r) {
            Some(n) => out.extend_from_slice(format!("{} {} R", n.num, n.generation).as_bytes()),
            None => out.extend_from_slice(b"null"),
        },
    }
}

fn real64(r: f64) -> String {
    if !r.is_finite() {
        return "0".to_owned();
    }
    // The shortest text that reads back as the same value (never an exponent).
    let s = format!("{r}");
    if s == "-0" { "0".to_owned() } else { s }
}

pub(crate) fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    out.push(b'/');
    for &b in name {
        let regular = b.is_ascii_graphic() && !b"()<>[]{}/%#".contains(&b);
        if regular {
            out.push(b);
        } else {
            out.extend_from_slice(format!("#{b:02X}").as_bytes());
        }
    }
}

pub(crate) fn write_hex_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'<');
    out.extend_from_slice(hex(bytes).as_bytes());
    out.push(b'>');
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    s
}

/// A PDF text string: PDFDocEncoding-compatible ASCII as is, anything else as UTF-16BE with a
/// byte order mark.
pub(crate) fn text_string(text: &str) -> Vec<u8> {
    if text.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        text.as_bytes().to_vec()
    } else {
        let mut out = vec![0xFE, 0xFF];
        for unit in text.encode_utf16() {
            out.extend_from_slice(&unit.to_be_bytes());
        }
        out
    }
}

/// Decode a PDF text string (UTF-16BE with BOM, UTF-8 with BOM, else PDFDocEncoding read as
/// Latin-1, which agrees with it on the characters Diwan writes).
pub(crate) fn decode_text_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        bytes.iter().map(|&b| char::from(b)).collect()
    }
}

/// `D:YYYYMMDDHHmmSS+00'00'`.
pub(crate) fn pdf_date(at: DateTime<Utc>) -> String {
    at.format("D:%Y%m%d%H%M%S+00'00'").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_strings_round_trip() {
        for s in ["Diwan", "وصل", "Accusé", "a(b)c\\"] {
            assert_eq!(decode_text_string(&text_string(s)), s);
        }
        assert_eq!(text_string("abc"), b"abc");
        assert_eq!(&text_string("é")[..2], &[0xFE, 0xFF]);
    }

    #[test]
    fn names_are_escaped() {
        let mut out = Vec::new();
        write_name(&mut out, b"A B#");
        assert_eq!(out, b"/A#20B#23");
    }

    #[test]
    fn objects_serialize() {
        let mut dict = Dictionary::new();
        dict.set("Type", Object::Name(b"Catalog".to_vec()));
        dict.set(
            "Kids",
            Object::Array(vec![Object::Reference((3, 0)), Object::Real(1.5)]),
        );
        let mut out = Vec::new();
        write_object(&mut out, &Object::Dictionary(dict)).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("/Type /Catalog"));
        assert!(s.contains("/Kids [3 0 R 1.5]"));
    }
}

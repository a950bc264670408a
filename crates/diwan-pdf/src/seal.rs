//! PAdES-B-B sealing by an incremental update written by hand.
//!
//! The original bytes are kept as they are; appended after them: the catalog (with an
//! `/AcroForm` and the extra entries), page 1 (with the signature widget in `/Annots`), the
//! signature field/widget, its empty appearance stream, the `/Sig` dictionary with fixed-width
//! `/ByteRange` and `/Contents` placeholders, and a cross-reference section of the same kind
//! as the original's (table or stream) with `/Prev`.

use chrono::{DateTime, Utc};
use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::PdfError;
use crate::syntax::{
    hex, parse, pdf_date, text_string, write_dict, write_hex_string, write_name, write_object,
};

/// Bytes reserved for the DER-encoded CMS signature in `/Contents`.
pub const CONTENTS_RESERVED_BYTES: usize = 16 * 1024;

/// Width of one number in the `/ByteRange` placeholder.
const BYTE_RANGE_DIGITS: usize = 10;

/// What the signature dictionary says about the seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealInfo {
    pub name: String,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// Written as `/M`.
    pub signing_time: DateTime<Utc>,
    /// Text entries added to the catalog in the update, e.g. `("DiwanReceipt", json)`.
    pub extra_catalog_entries: Vec<(String, String)>,
}

/// Seal `pdf`: append an incremental update holding a signature field, compute the byte range,
/// call `sign` with the covered bytes (both ranges, concatenated) and embed the DER CMS it
/// returns.
pub fn seal(
    pdf: &[u8],
    info: &SealInfo,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, PdfError> {
    let doc = parse(pdf)?;
    let original = Original::read(&doc, pdf)?;
    let mut update = Update::start(pdf);
    let ids = NewIds::after(original.size);
    let field_name = original.free_field_name(&doc);

    let catalog = catalog_with_form(&doc, &original, info, ids.widget)?;
    update.object(original.catalog_id, |out| write_dict(out, &catalog))?;
    let page = page_with_widget(&doc, original.page_id, ids.widget)?;
    update.object(original.page_id, |out| write_dict(out, &page))?;
    update.object((ids.widget, 0), |out| {
        widget(out, &field_name, ids.sig, original.page_id, ids.appearance)
    })?;
    update.object((ids.appearance, 0), |out| {
        out.extend_from_slice(
            b"<</Type /XObject /Subtype /Form /BBox [0 0 0 0] /Resources <<>> /Length 0>>\nstream\n\nendstream",
        );
        Ok(())
    })?;
    let mut placeholders = Placeholders::default();
    update.object((ids.sig, 0), |out| {
        signature_dict(out, info, &mut placeholders);
        Ok(())
    })?;
    update.finish(&original, ids.next)?;
    update.sign(placeholders, sign)
}

/// What the update needs from the original file.
struct Original {
    catalog_id: ObjectId,
    page_id: ObjectId,
    size: u32,
    startxref: usize,
    xref_stream: bool,
    info: Option<Object>,
    id: Option<Object>,
}

impl Original {
    fn read(doc: &Document, pdf: &[u8]) -> Result<Self, PdfError> {
        let catalog_id = doc
            .trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| malformed("trailer has no /Root reference"))?;
        let page_id = *doc
            .get_pages()
            .get(&1)
            .ok_or_else(|| malformed("document has no page"))?;
        let declared = doc
            .trailer
            .get(b"Size")
            .and_then(Object::as_i64)
            .ok()
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0);
        let size = declared.max(doc.max_id.saturating_add(1));
        if size > 8_000_000 {
            return Err(PdfError::TooLarge("object count"));
        }
        let startxref = find_startxref(pdf)?;
        let at = pdf
            .get(startxref..)
            .ok_or_else(|| malformed("startxref beyond end of file"))?;
        let xref_stream = !at.starts_with(b"xref");
        Ok(Self {
            catalog_id,
            page_id,
            size,
            startxref,
            xref_stream,
            info: doc.trailer.get(b"Info").ok().cloned(),
            id: doc.trailer.get(b"ID").ok().cloned(),
        })
    }

    /// A field name not used by an existing form field.
    fn free_field_name(&self, doc: &Document) -> String {
        let used = existing_fields(doc, self.catalog_id);
        let names: Vec<Vec<u8>> = used
            .iter()
            .filter_map(|f| doc.dereference(f).ok())
            .filter_map(|(_, o)| o.as_dict().ok())
            .filter_map(|d| d.get(b"T").ok())
            .filter_map(|t| t.as_str().ok())
            .map(<[u8]>::to_vec)
            .collect();
        (1..)
            .map(|n| format!("DiwanSeal{n}"))
            .find(|n| !names.iter().any(|u| u == n.as_bytes()))
            .unwrap_or_else(|| "DiwanSeal".to_owned())
    }
}

fn malformed(what: &str) -> PdfError {
    PdfError::Malformed(what.to_owned())
}

/// The offset after the last `startxref` keyword.
pub(crate) fn find_startxref(pdf: &[u8]) -> Result<usize, PdfError> {
    let tail_start = pdf.len().saturating_sub(4096);
    let tail = &pdf[tail_start..];
    let pos = tail
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or_else(|| malformed("no startxref"))?;
    let digits: String = tail[pos + 9..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| char::from(b))
        .collect();
    digits
        .parse()
        .map_err(|_| malformed("startxref is not a number"))
}

struct NewIds {
    sig: u32,
    widget: u32,
    appearance: u32,
    /// The first id after the update's objects (the xref stream, if any, takes it).
    next: u32,
}

impl NewIds {
    fn after(size: u32) -> Self {
        Self {
            sig: size,
            widget: size + 1,
            appearance: size + 2,
            next: size + 3,
        }
    }
}

fn existing_fields(doc: &Document, catalog_id: ObjectId) -> Vec<Object> {
    let Ok(catalog) = doc.get_dictionary(catalog_id) else {
        return Vec::new();
    };
    let form = catalog
        .get(b"AcroForm")
        .ok()
        .and_then(|f| doc.dereference(f).ok())
        .and_then(|(_, f)| f.as_dict().ok());
    form.and_then(|f| f.get(b"Fields").ok())
        .and_then(|f| doc.dereference(f).ok())
        .and_then(|(_, f)| f.as_array().ok())
        .cloned()
        .unwrap_or_default()
}

fn catalog_with_form(
    doc: &Document,
    original: &Original,
    info: &SealInfo,
    widget: u32,
) -> Result<Dictionary, PdfError> {
    let mut catalog = doc
        .get_dictionary(original.catalog_id)
        .map_err(|_| malformed("catalog is not a dictionary"))?
        .clone();
    let mut form = catalog
        .get(b"AcroForm")
        .ok()
        .and_then(|f| doc.dereference(f).ok())
        .and_then(|(_, f)| f.as_dict().ok())
        .cloned()
        .unwrap_or_default();
    let mut fields = existing_fields(doc, original.catalog_id);
    fields.push(Object::Reference((widget, 0)));
    form.set("Fields", Object::Array(fields));
    form.set("SigFlags", Object::Integer(3));
    catalog.set("AcroForm", Object::Dictionary(form));
    for (key, value) in &info.extra_catalog_entries {
        if key.is_empty() || key.len() > 127 {
            return Err(malformed("bad catalog key"));
        }
        catalog.set(
            key.as_bytes().to_vec(),
            Object::string_literal(text_string(value)),
        );
    }
    Ok(catalog)
}

fn page_with_widget(
    doc: &Document,
    page_id: ObjectId,
    widget: u32,
) -> Result<Dictionary, PdfError> {
    let mut page = doc
        .get_dictionary(page_id)
        .map_err(|_| malformed("page is not a dictionary"))?
        .clone();
    let mut annots = page
        .get(b"Annots")
        .ok()
        .and_then(|a| doc.dereference(a).ok())
        .and_then(|(_, a)| a.as_array().ok())
        .cloned()
        .unwrap_or_default();
    annots.push(Object::Reference((widget, 0)));
    page.set("Annots", Object::Array(annots));
    Ok(page)
}

fn widget(
    out: &mut Vec<u8>,
    field_name: &str,
    sig: u32,
    page: ObjectId,
    appearance: u32,
) -> Result<(), PdfError> {
    out.extend_from_slice(b"<</Type /Annot /Subtype /Widget /FT /Sig /T ");
    write_hex_string(out, &text_string(field_name));
    // Print (4) + Locked (128): printable for PDF/A, not movable.
    out.extend_from_slice(
        format!(
            " /F 132 /Rect [0 0 0 0] /V {sig} 0 R /P {} {} R /AP <</N {appearance} 0 R>>>>",
            page.0, page.1
        )
        .as_bytes(),
    );
    Ok(())
}

/// Offsets of the placeholders inside the update buffer.
#[derive(Default)]
struct Placeholders {
    byte_range: usize,
    contents: usize,
}

fn byte_range_placeholder() -> String {
    let zero = "0".repeat(BYTE_RANGE_DIGITS);
    format!("[0 {zero} {zero} {zero}]")
}

fn signature_dict(out: &mut Vec<u8>, info: &SealInfo, placeholders: &mut Placeholders) {
    out.extend_from_slice(
        b"<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached\n/ByteRange ",
    );
    placeholders.byte_range = out.len();
    out.extend_from_slice(byte_range_placeholder().as_bytes());
    out.extend_from_slice(b"\n/Contents ");
    placeholders.contents = out.len();
    out.push(b'<');
    out.resize(out.len() + 2 * CONTENTS_RESERVED_BYTES, b'0');
    out.push(b'>');
    out.extend_from_slice(b"\n/M ");
    write_hex_string(out, pdf_date(info.signing_time).as_bytes());
    let mut text = |key: &[u8], value: &str| {
        out.push(b'\n');
        write_name(out, key);
        out.push(b' ');
        write_hex_string(out, &text_string(value));
    };
    text(b"Name", &info.name);
    if let Some(reason) = &info.reason {
        text(b"Reason", reason);
    }
    if let Some(location) = &info.location {
        text(b"Location", location);
    }
    out.extend_from_slice(b">>");
}

/// The growing output: original bytes followed by the update.
struct Update {
    out: Vec<u8>,
    offsets: Vec<(ObjectId, usize)>,
}

impl Update {
    fn start(pdf: &[u8]) -> Self {
        let mut out = Vec::with_capacity(pdf.len() + 2 * CONTENTS_RESERVED_BYTES + 4096);
        out.extend_from_slice(pdf);
        if !pdf.ends_with(b"\n") && !pdf.ends_with(b"\r") {
            out.push(b'\n');
        }
        Self {
            out,
            offsets: Vec::new(),
        }
    }

    fn object(
        &mut self,
        id: ObjectId,
        body: impl FnOnce(&mut Vec<u8>) -> Result<(), PdfError>,
    ) -> Result<(), PdfError> {
        self.offsets.push((id, self.out.len()));
        self.out
            .extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
        let start = self.out.len();
        let mut buf = std::mem::take(&mut self.out);
        let result = body(&mut buf);
        self.out = buf;
        result?;
        debug_assert!(self.out.len() >= start);
        self.out.extend_from_slice(b"\nendobj\n");
        Ok(())
    }

    fn trailer_entries(original: &Original, size: u32) -> Result<Vec<u8>, PdfError> {
        let mut t = Vec::new();
        t.extend_from_slice(
            format!(
                "/Size {size} /Root {} {} R",
                original.catalog_id.0, original.catalog_id.1
            )
            .as_bytes(),
        );
        if let Some(info) = &original.info {
            t.extend_from_slice(b" /Info ");
            write_object(&mut t, info)?;
        }
        if let Some(id) = &original.id {
            t.extend_from_slice(b" /ID ");
            write_object(&mut t, id)?;
        }
        t.extend_from_slice(format!(" /Prev {}", original.startxref).as_bytes());
        Ok(t)
    }

    fn finish(&mut self, original: &Original, next: u32) -> Result<(), PdfError> {
        let xref_at = self.out.len();
        if original.xref_stream {
            self.xref_stream(original, next, xref_at)?;
        } else {
            self.xref_table(original, next)?;
        }
        self.out
            .extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
        Ok(())
    }

    fn sorted_offsets(&self) -> Vec<(ObjectId, usize)> {
        let mut entries = self.offsets.clone();
        entries.sort_by_key(|(id, _)| id.0);
        entries
    }

    fn xref_table(&mut self, original: &Original, size: u32) -> Result<(), PdfError> {
        let entries = self.sorted_offsets();
        let mut x = String::from("xref\n0 1\n0000000000 65535 f\r\n");
        for group in consecutive(&entries) {
            x.push_str(&format!("{} {}\n", group[0].0.0, group.len()));
            for ((_, generation), offset) in group {
                x.push_str(&format!("{offset:010} {generation:05} n\r\n"));
            }
        }
        x.push_str("trailer\n<<");
        self.out.extend_from_slice(x.as_bytes());
        let trailer = Self::trailer_entries(original, size)?;
        self.out.extend_from_slice(&trailer);
        self.out.extend_from_slice(b">>\n");
        Ok(())
    }

    fn xref_stream(&mut self, original: &Original, id: u32, at: usize) -> Result<(), PdfError> {
        let mut entries = self.sorted_offsets();
        entries.push(((id, 0), at));
        let mut data = Vec::new();
        let mut index = String::new();
        for group in consecutive(&entries) {
            index.push_str(&format!("{} {} ", group[0].0.0, group.len()));
            for ((_, generation), offset) in group {
                let offset = u32::try_from(*offset).map_err(|_| PdfError::TooLarge("PDF"))?;
                data.push(1);
                data.extend_from_slice(&offset.to_be_bytes());
                data.extend_from_slice(&generation.to_be_bytes());
            }
        }
        let trailer = Self::trailer_entries(original, id + 1)?;
        self.out.extend_from_slice(
            format!(
                "{id} 0 obj\n<</Type /XRef /W [1 4 2] /Index [{}] ",
                index.trim_end()
            )
            .as_bytes(),
        );
        self.out.extend_from_slice(&trailer);
        self.out
            .extend_from_slice(format!(" /Length {}>>\nstream\n", data.len()).as_bytes());
        self.out.extend_from_slice(&data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
        Ok(())
    }

    /// Patch the byte range, sign the covered bytes and write the signature.
    fn sign(
        mut self,
        at: Placeholders,
        sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>, PdfError> {
        let gap_start = at.contents;
        let gap_end = gap_start + 2 * CONTENTS_RESERVED_BYTES + 2;
        let len = self.out.len();
        let range = format!("[0 {gap_start} {gap_end} {}]", len - gap_end);
        let width = byte_range_placeholder().len();
        if range.len() > width {
            return Err(PdfError::TooLarge("PDF"));
        }
        let patched = format!("{range:<width$}");
        self.out[at.byte_range..at.byte_range + width].copy_from_slice(patched.as_bytes());
        let mut covered = Vec::with_capacity(len - (gap_end - gap_start));
        covered.extend_from_slice(&self.out[..gap_start]);
        covered.extend_from_slice(&self.out[gap_end..]);
        let cms = sign(&covered).map_err(PdfError::Signer)?;
        if cms.len() > CONTENTS_RESERVED_BYTES {
            return Err(PdfError::SignatureTooLarge {
                size: cms.len(),
                reserved: CONTENTS_RESERVED_BYTES,
            });
        }
        let encoded = hex(&cms);
        self.out[gap_start + 1..gap_start + 1 + encoded.len()].copy_from_slice(encoded.as_bytes());
        Ok(self.out)
    }
}

/// Split sorted entries into runs of consecutive object numbers.
fn consecutive(entries: &[(ObjectId, usize)]) -> Vec<&[(ObjectId, usize)]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        if i == entries.len() || entries[i].0.0 != entries[i - 1].0.0 + 1 {
            groups.push(&entries[start..i]);
            start = i;
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_groups() {
        let e = [((3, 0), 10), ((4, 0), 20), ((9, 0), 30)];
        let g = consecutive(&e);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].len(), 2);
        assert_eq!(g[1][0].0.0, 9);
    }

    #[test]
    fn startxref_is_found() {
        assert_eq!(
            find_startxref(b"...startxref\n1234\n%%EOF\n").unwrap(),
            1234
        );
        assert!(find_startxref(b"garbage").is_err());
    }
}

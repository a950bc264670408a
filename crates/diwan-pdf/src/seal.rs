//! PAdES signatures by an incremental update written by hand.
//!
//! The original bytes are kept as they are; appended after them: the catalog (with an
//! `/AcroForm` listing the new field after the existing ones, and the extra entries) — or only
//! the form dictionary when it is an indirect object and there are no extra entries —, the page
//! carrying the widget (its `/Annots` with the widget appended), the signature field/widget,
//! its appearance stream (empty, or the visible signature block with the objects it uses), the
//! `/Sig` dictionary with fixed-width `/ByteRange` and `/Contents` placeholders, and a
//! cross-reference section of the same kind as the original's (table or stream) with `/Prev`.
//! Earlier revisions' bytes are never touched, so earlier signatures stay valid.

use std::io::Cursor;

use chrono::{DateTime, Utc};
use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::PdfError;
use crate::appearance::{self, Block};
use crate::reader::{self, Indirect, Limits, ObjRef, PdfReader};
use crate::sign::{Prepared, SignatureAppearance, digest_of};
use crate::syntax::{
    parse, pdf_date, text_string, write_hex_string, write_name, write_object, write_value,
};

/// The crate's own reader over the original: the dictionaries rewritten in the update are
/// taken from it, so their values are written back exactly (lopdf keeps reals as `f32`).
type Reader<'a> = PdfReader<Cursor<&'a [u8]>>;

/// Bytes reserved for the DER-encoded CMS signature in `/Contents` by [`seal`] (and by
/// default in a [`crate::SignRequest`]).
pub const CONTENTS_RESERVED_BYTES: usize = 16 * 1024;

/// Width of one number in the `/ByteRange` placeholder.
const BYTE_RANGE_DIGITS: usize = 10;
/// Annotations of one page looked at when counting signature blocks.
const MAX_ANNOTS_SCANNED: usize = 10_000;
/// Parent links followed for inherited page attributes.
const MAX_PARENT_HOPS: usize = 32;

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
/// returns. The field is invisible, on page 1, named `DiwanSeal1` (or the next free number).
pub fn seal(
    pdf: &[u8],
    info: &SealInfo,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, PdfError> {
    let prepared = prepare_update(
        pdf,
        &UpdateSpec {
            info,
            field_prefix: "DiwanSeal",
            number_from_count: false,
            appearance: None,
            reserved: CONTENTS_RESERVED_BYTES,
        },
    )?;
    let [first, second] = prepared.covered();
    let mut covered = Vec::with_capacity(first.len() + second.len());
    covered.extend_from_slice(first);
    covered.extend_from_slice(second);
    let cms = sign(&covered).map_err(PdfError::Signer)?;
    crate::sign::embed_trusted(prepared, &cms)
}

/// What one update adds.
pub(crate) struct UpdateSpec<'a> {
    pub(crate) info: &'a SealInfo,
    /// Field names are this prefix and a number.
    pub(crate) field_prefix: &'static str,
    /// Numbers start after the count of existing fields (else at 1).
    pub(crate) number_from_count: bool,
    /// A visible block on the last page; none: an invisible widget on page 1.
    pub(crate) appearance: Option<&'a SignatureAppearance>,
    /// Bytes reserved for the DER CMS.
    pub(crate) reserved: usize,
}

/// Append the update described by `spec` to `pdf`, with the `/Contents` placeholder
/// zero-filled and the byte range written.
pub(crate) fn prepare_update(pdf: &[u8], spec: &UpdateSpec<'_>) -> Result<Prepared, PdfError> {
    let doc = parse(pdf)?;
    let original = Original::read(&doc, pdf)?;
    let mut values = PdfReader::open(Cursor::new(pdf), Limits::default()).map_err(read_error)?;
    let mut update = Update::start(pdf, spec.reserved);
    let ids = NewIds::after(original.size);
    let field_name = original.free_field_name(&doc, spec.field_prefix, spec.number_from_count);

    let (page_id, visible) = match spec.appearance {
        None => (original.first_page, None),
        Some(look) => {
            let page_id = original.last_page;
            let page_box = page_box(&doc, page_id);
            let slot = visible_signature_widgets(&doc, page_id);
            let rect = appearance::place(page_box, slot);
            let block = appearance::block(look, ids.appearance, ids.first_free)?;
            (page_id, Some((rect, block)))
        }
    };
    let next = visible
        .as_ref()
        .map_or(ids.first_free, |(_, block)| block.next);

    write_form_and_catalog(&mut update, &mut values, &original, spec.info, ids.widget)?;
    let page = page_with_widget(&mut values, page_id, ids.widget)?;
    update.object(page_id, |out| {
        write_exact(out, page);
        Ok(())
    })?;
    let rect = visible.as_ref().map(|(rect, _)| *rect);
    update.object((ids.widget, 0), |out| {
        widget(out, &field_name, ids.sig, page_id, ids.appearance, rect);
        Ok(())
    })?;
    match &visible {
        Some((_, block)) => write_block(&mut update, block)?,
        None => update.object((ids.appearance, 0), |out| {
            out.extend_from_slice(
                b"<</Type /XObject /Subtype /Form /BBox [0 0 0 0] /Resources <<>> /Length 0>>\nstream\n\nendstream",
            );
            Ok(())
        })?,
    }
    let mut placeholders = Placeholders::default();
    update.object((ids.sig, 0), |out| {
        signature_dict(out, spec.info, spec.reserved, &mut placeholders);
        Ok(())
    })?;
    update.finish(&original, next)?;
    update.prepared(placeholders)
}

fn write_block(update: &mut Update, block: &Block) -> Result<(), PdfError> {
    for (number, body) in &block.objects {
        update.object((*number, 0), |out| {
            out.extend_from_slice(body);
            Ok(())
        })?;
    }
    Ok(())
}

/// Where the interactive form dictionary is in the original.
enum Form {
    Absent,
    Direct,
    Indirect(ObjectId),
}

/// What the update needs from the original file.
struct Original {
    catalog_id: ObjectId,
    first_page: ObjectId,
    last_page: ObjectId,
    form: Form,
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
        let catalog = doc
            .get_dictionary(catalog_id)
            .map_err(|_| malformed("catalog is not a dictionary"))?;
        let form = match catalog.get(b"AcroForm") {
            Ok(Object::Reference(id)) if doc.get_dictionary(*id).is_ok() => Form::Indirect(*id),
            Ok(Object::Dictionary(_)) => Form::Direct,
            _ => Form::Absent,
        };
        let pages = doc.get_pages();
        let first_page = *pages
            .values()
            .next()
            .ok_or_else(|| malformed("document has no page"))?;
        let last_page = *pages.values().next_back().unwrap_or(&first_page);
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
            first_page,
            last_page,
            form,
            size,
            startxref,
            xref_stream,
            info: doc.trailer.get(b"Info").ok().cloned(),
            id: doc.trailer.get(b"ID").ok().cloned(),
        })
    }

    /// A field name not used by an existing form field: the prefix and the first free number
    /// (from 1, or after the number of existing fields).
    fn free_field_name(&self, doc: &Document, prefix: &str, from_count: bool) -> String {
        let used = existing_fields(doc, self.catalog_id);
        let names: std::collections::HashSet<Vec<u8>> = used
            .iter()
            .filter_map(|f| doc.dereference(f).ok())
            .filter_map(|(_, o)| o.as_dict().ok())
            .filter_map(|d| d.get(b"T").ok())
            .filter_map(|t| t.as_str().ok())
            .map(<[u8]>::to_vec)
            .collect();
        let start = if from_count { used.len() + 1 } else { 1 };
        (start..start + used.len() + 2)
            .map(|n| format!("{prefix}{n}"))
            .find(|n| !names.contains(n.as_bytes()))
            .unwrap_or_else(|| format!("{prefix}{}", start + used.len() + 2))
    }
}

fn malformed(what: &str) -> PdfError {
    PdfError::Malformed(what.to_owned())
}

/// The offset after the last `startxref` keyword.
/// The offset the file's last `startxref` gives, which must be followed by `%%EOF` and
/// nothing else (but blanks): bytes after it would be a cut or damaged update, and an update
/// appended after them would sign something no reader sees the same way.
pub(crate) fn find_startxref(pdf: &[u8]) -> Result<usize, PdfError> {
    let tail_start = pdf.len().saturating_sub(4096);
    let tail = &pdf[tail_start..];
    let pos = tail
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or_else(|| malformed("no startxref"))?;
    let after = &tail[pos + 9..];
    let blank = |b: &u8| b.is_ascii_whitespace() || *b == 0;
    let digits_at = after.iter().position(|b| !blank(b)).unwrap_or(after.len());
    let digits_len = after[digits_at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let digits = std::str::from_utf8(&after[digits_at..digits_at + digits_len]).unwrap_or("");
    let offset = digits
        .parse()
        .map_err(|_| malformed("startxref is not a number"))?;
    let rest = &after[digits_at + digits_len..];
    let eof_at = rest.iter().position(|b| !blank(b)).unwrap_or(rest.len());
    let ends_there = rest[eof_at..]
        .strip_prefix(b"%%EOF")
        .is_some_and(|end| end.iter().all(blank));
    if !ends_there {
        return Err(malformed(
            "the file does not end at its last %%EOF (a cut or damaged update)",
        ));
    }
    Ok(offset)
}

struct NewIds {
    sig: u32,
    widget: u32,
    appearance: u32,
    /// The first id after these three (objects of a visible block, then the xref stream).
    first_free: u32,
}

impl NewIds {
    fn after(size: u32) -> Self {
        Self {
            sig: size,
            widget: size + 1,
            appearance: size + 2,
            first_free: size + 3,
        }
    }
}

fn form_dict(doc: &Document, catalog_id: ObjectId) -> Option<&Dictionary> {
    let catalog = doc.get_dictionary(catalog_id).ok()?;
    catalog
        .get(b"AcroForm")
        .ok()
        .and_then(|f| doc.dereference(f).ok())
        .and_then(|(_, f)| f.as_dict().ok())
}

fn existing_fields(doc: &Document, catalog_id: ObjectId) -> Vec<Object> {
    form_dict(doc, catalog_id)
        .and_then(|f| f.get(b"Fields").ok())
        .and_then(|f| doc.dereference(f).ok())
        .and_then(|(_, f)| f.as_array().ok())
        .cloned()
        .unwrap_or_default()
}

fn read_error(e: reader::ReadError) -> PdfError {
    PdfError::Malformed(e.to_string())
}

/// A dictionary object of the original, read by the crate's reader.
fn dict_of(values: &mut Reader<'_>, id: ObjectId) -> Result<reader::Dict, PdfError> {
    match values.object(ObjRef::new(id.0, id.1)).map_err(read_error)? {
        Indirect::Plain(reader::Object::Dict(d)) => Ok(d),
        _ => Err(malformed("an object to update is not a dictionary")),
    }
}

/// The array `value` is or refers to (empty if it is not one).
fn array_of(values: &mut Reader<'_>, value: Option<&reader::Object>) -> Vec<reader::Object> {
    value
        .and_then(|v| values.resolve(v).ok())
        .and_then(|v| match v {
            reader::Object::Array(items) => Some(items),
            _ => None,
        })
        .unwrap_or_default()
}

/// Writes a dictionary read by the crate's reader, references as they are.
fn write_exact(out: &mut Vec<u8>, dict: reader::Dict) {
    write_value(out, &reader::Object::Dict(dict), &Some);
}

fn widget_ref(widget: u32) -> reader::Object {
    reader::Object::Ref(ObjRef::new(widget, 0))
}

/// The form dictionary with the new field appended to `/Fields` (everything else kept:
/// `/DR`, `/DA`, …) and `/SigFlags 3`, written in place of the original's form object when
/// that is indirect, else in the catalog; the catalog is rewritten when the form is in it or
/// when entries are added to it.
fn write_form_and_catalog(
    update: &mut Update,
    values: &mut Reader<'_>,
    original: &Original,
    info: &SealInfo,
    widget: u32,
) -> Result<(), PdfError> {
    let mut catalog = dict_of(values, original.catalog_id)?;
    let mut form = match catalog.get(b"AcroForm").cloned() {
        Some(value) => values
            .resolve_dict(&value)
            .ok()
            .flatten()
            .unwrap_or_default(),
        None => reader::Dict::new(),
    };
    let mut fields = array_of(values, form.get(b"Fields"));
    fields.push(widget_ref(widget));
    form.set(b"Fields".to_vec(), reader::Object::Array(fields));
    form.set(b"SigFlags".to_vec(), reader::Object::Int(3));
    let mut catalog_changed = !info.extra_catalog_entries.is_empty();
    match original.form {
        Form::Indirect(id) => update.object(id, |out| {
            write_exact(out, form);
            Ok(())
        })?,
        Form::Direct | Form::Absent => {
            catalog.set(b"AcroForm".to_vec(), reader::Object::Dict(form));
            catalog_changed = true;
        }
    }
    for (key, value) in &info.extra_catalog_entries {
        if key.is_empty() || key.len() > 127 {
            return Err(malformed("bad catalog key"));
        }
        catalog.set(
            key.as_bytes().to_vec(),
            reader::Object::Str(text_string(value)),
        );
    }
    if catalog_changed {
        update.object(original.catalog_id, |out| {
            write_exact(out, catalog);
            Ok(())
        })?;
    }
    Ok(())
}

fn page_with_widget(
    values: &mut Reader<'_>,
    page_id: ObjectId,
    widget: u32,
) -> Result<reader::Dict, PdfError> {
    let mut page = dict_of(values, page_id)?;
    let mut annots = array_of(values, page.get(b"Annots"));
    annots.push(widget_ref(widget));
    page.set(b"Annots".to_vec(), reader::Object::Array(annots));
    Ok(page)
}

/// A number of a page box (an integer, a real, or a reference to one).
fn number(doc: &Document, o: &Object) -> Option<f32> {
    match doc.dereference(o).ok()?.1 {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) if r.is_finite() => Some(*r),
        _ => None,
    }
}

/// The page's crop box (else media box), inherited through the page tree, as
/// `[left, bottom, right, top]`; US Letter when the file gives none that makes sense.
fn page_box(doc: &Document, page_id: ObjectId) -> [f32; 4] {
    let mut current = doc.get_dictionary(page_id).ok();
    let mut found: [Option<[f32; 4]>; 2] = [None, None];
    for _ in 0..MAX_PARENT_HOPS {
        let Some(dict) = current else { break };
        for (slot, key) in found.iter_mut().zip([&b"CropBox"[..], b"MediaBox"]) {
            if slot.is_none() {
                *slot = dict
                    .get(key)
                    .ok()
                    .and_then(|b| doc.dereference(b).ok())
                    .and_then(|(_, b)| b.as_array().ok())
                    .filter(|a| a.len() == 4)
                    .and_then(|a| {
                        let n: Vec<f32> = a.iter().filter_map(|v| number(doc, v)).collect();
                        <[f32; 4]>::try_from(n).ok()
                    })
                    .map(|[a, b, c, d]| [a.min(c), b.min(d), a.max(c), b.max(d)])
                    .filter(|[a, b, c, d]| c - a >= 1.0 && d - b >= 1.0);
            }
        }
        current = dict
            .get(b"Parent")
            .ok()
            .and_then(|p| doc.dereference(p).ok())
            .and_then(|(_, p)| p.as_dict().ok());
    }
    found[0].or(found[1]).unwrap_or([0.0, 0.0, 612.0, 792.0])
}

/// Whether `field` (a field or widget dictionary, or one of its ancestors) is a signature
/// field.
fn is_signature_field(doc: &Document, field: &Dictionary) -> bool {
    let mut current = Some(field);
    for _ in 0..MAX_PARENT_HOPS {
        let Some(dict) = current else { return false };
        if let Ok(Object::Name(ft)) = dict.get(b"FT") {
            return ft == b"Sig";
        }
        current = dict
            .get(b"Parent")
            .ok()
            .and_then(|p| doc.dereference(p).ok())
            .and_then(|(_, p)| p.as_dict().ok());
    }
    false
}

/// Signature widgets of the page that have an area (visible blocks already there).
fn visible_signature_widgets(doc: &Document, page_id: ObjectId) -> usize {
    let Ok(page) = doc.get_dictionary(page_id) else {
        return 0;
    };
    let annots = page
        .get(b"Annots")
        .ok()
        .and_then(|a| doc.dereference(a).ok())
        .and_then(|(_, a)| a.as_array().ok());
    annots
        .into_iter()
        .flatten()
        .take(MAX_ANNOTS_SCANNED)
        .filter_map(|a| doc.dereference(a).ok())
        .filter_map(|(_, a)| a.as_dict().ok())
        .filter(|a| matches!(a.get(b"Subtype"), Ok(Object::Name(n)) if n == b"Widget"))
        .filter(|a| is_signature_field(doc, a))
        .filter(|a| {
            let rect: Vec<f32> = a
                .get(b"Rect")
                .ok()
                .and_then(|r| doc.dereference(r).ok())
                .and_then(|(_, r)| r.as_array().ok())
                .map(|r| r.iter().filter_map(|v| number(doc, v)).collect())
                .unwrap_or_default();
            matches!(rect.as_slice(), [a, b, c, d] if (c - a).abs() >= 1.0 && (d - b).abs() >= 1.0)
        })
        .count()
}

fn widget(
    out: &mut Vec<u8>,
    field_name: &str,
    sig: u32,
    page: ObjectId,
    appearance: u32,
    rect: Option<[f32; 4]>,
) {
    out.extend_from_slice(b"<</Type /Annot /Subtype /Widget /FT /Sig /T ");
    write_hex_string(out, &text_string(field_name));
    let (flags, rect) = match rect {
        // Print: shown on screen and printed.
        Some([x0, y0, x1, y1]) => (4, format!("[{x0:.2} {y0:.2} {x1:.2} {y1:.2}]")),
        // Print (4) + Locked (128): printable for PDF/A, not movable.
        None => (132, "[0 0 0 0]".to_owned()),
    };
    out.extend_from_slice(
        format!(
            " /F {flags} /Rect {rect} /V {sig} 0 R /P {} {} R /AP <</N {appearance} 0 R>>>>",
            page.0, page.1
        )
        .as_bytes(),
    );
}

/// Offsets of the placeholders inside the update buffer.
#[derive(Default)]
struct Placeholders {
    byte_range: usize,
    contents: usize,
    reserved: usize,
}

fn byte_range_placeholder() -> String {
    let zero = "0".repeat(BYTE_RANGE_DIGITS);
    format!("[0 {zero} {zero} {zero}]")
}

fn signature_dict(
    out: &mut Vec<u8>,
    info: &SealInfo,
    reserved: usize,
    placeholders: &mut Placeholders,
) {
    out.extend_from_slice(
        b"<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached\n/ByteRange ",
    );
    placeholders.byte_range = out.len();
    out.extend_from_slice(byte_range_placeholder().as_bytes());
    out.extend_from_slice(b"\n/Contents ");
    placeholders.contents = out.len();
    placeholders.reserved = reserved;
    out.push(b'<');
    out.resize(out.len() + 2 * reserved, b'0');
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
    fn start(pdf: &[u8], reserved: usize) -> Self {
        let mut out = Vec::with_capacity(pdf.len() + 2 * reserved + 64 * 1024);
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
        if self.offsets.iter().any(|(written, _)| written.0 == id.0) {
            return Err(malformed("one object would be written twice"));
        }
        self.offsets.push((id, self.out.len()));
        self.out
            .extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
        let mut buf = std::mem::take(&mut self.out);
        let result = body(&mut buf);
        self.out = buf;
        result?;
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

    /// Patch the byte range and hash the covered bytes.
    fn prepared(mut self, at: Placeholders) -> Result<Prepared, PdfError> {
        let gap_start = at.contents;
        let gap_end = gap_start + 2 * at.reserved + 2;
        let len = self.out.len();
        let byte_range = [0, gap_start, gap_end, len - gap_end];
        let range = format!(
            "[{} {} {} {}]",
            byte_range[0], byte_range[1], byte_range[2], byte_range[3]
        );
        let width = byte_range_placeholder().len();
        if range.len() > width {
            return Err(PdfError::TooLarge("PDF"));
        }
        let patched = format!("{range:<width$}");
        self.out[at.byte_range..at.byte_range + width].copy_from_slice(patched.as_bytes());
        let digest = digest_of(&self.out, &byte_range);
        Ok(Prepared {
            bytes: self.out,
            byte_range,
            digest,
        })
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
        assert_eq!(
            find_startxref(b"...startxref\r\n1234\r\n%%EOF\r\n\0\0").unwrap(),
            1234
        );
        // A later update cut short: the last startxref is an earlier revision's.
        assert!(find_startxref(b"...startxref\n1234\n%%EOF\n5 0 obj\n<< /Type").is_err());
        assert!(find_startxref(b"...startxref\n1234\n").is_err());
    }
}

//! The dossier of a registration: one PDF/A-2b assembling every attachment in order behind an
//! arrival stamp, sealed (PAdES-B-B) like the receipts.
//!
//! Built in one pass into a file, with bounded memory whatever the attachments' sizes:
//!
//! 1. each attachment is looked at (image headers, a PDF's page tree and the objects its pages
//!    reach) to know its pages, or why it cannot be converted;
//! 2. krilla draws the pages Diwan writes — the stamp with the list of attachments, the typed
//!    message, a page per attachment that could not be converted — and that document is
//!    written to the output;
//! 3. an incremental update is appended: images as XObjects (JPEG data as it is), the imported
//!    PDF pages with the objects they reach, a new revision of the page tree listing every page
//!    in order, and the signature field on page 1 with its `/Sig` dictionary;
//! 4. the byte range is patched in place, the covered bytes are streamed to the signer, and
//!    the CMS it returns is written into the reserved `/Contents`.
//!
//! The document declares PDF/A-2b (krilla's metadata and sRGB output intent). The pages Diwan
//! draws and the images it embeds conform; pages imported from deposited PDFs are copied as
//! they are, so the dossier conforms only as far as they do (embedded fonts, for example).

mod draw;
mod images;
mod import;
mod write;

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::time::Instant;

use chrono::{DateTime, Utc};

pub use images::ReadSeek;
pub use write::SealText;

use crate::PdfError;
use crate::reader::{Limits, Object, PdfReader, ReadError};
use draw::{Drawn, TocLine};
use images::Raster;
use write::{Appender, same, serialize};

/// What the arrival stamp says, formatted by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampView {
    pub registration_number: String,
    /// "ختم الورود" / "Cachet d'arrivée" (or of departure, or internal).
    pub title_ar: String,
    pub title_fr: String,
    pub registry_ar: String,
    pub registry_fr: String,
    pub administration_ar: String,
    pub administration_fr: String,
    pub unit_ar: String,
    pub unit_fr: String,
    /// For example `2026-11-21 10:32 (Africa/Casablanca)`.
    pub received_local: String,
    pub received_hijri_ar: String,
    pub received_hijri_fr: String,
    pub subject: String,
    /// Shown and encoded in the QR code.
    pub verification_url: String,
    /// The document's date (metadata).
    pub issued_at: DateTime<Utc>,
}

/// Why an attachment is not converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: String,
    pub detail: String,
}

/// One attachment, in the registration's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256_hex: String,
    pub content: PartContent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartContent {
    /// A file to convert (PDF, JPEG, PNG, TIFF), read through the `open` callback.
    File,
    /// Text drawn on pages of its own (the portal's typed message).
    Text(String),
    /// Not converted (problems found at registration): a page says so.
    Refused(Vec<Reason>),
}

/// How to build.
#[derive(Debug, Clone)]
pub struct DossierOptions {
    /// Resolution of images that do not give theirs.
    pub default_dpi: u32,
    /// When building must stop.
    pub deadline: Option<Instant>,
    pub seal: SealText,
}

/// What was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub pages: usize,
    /// Attachments whose pages are in the dossier.
    pub converted: usize,
    /// Attachments replaced by a page saying they could not be converted.
    pub refused: usize,
    /// The dossier's length in bytes.
    pub len: u64,
}

/// Where each attachment's pages come from.
enum Plan {
    Drawn(Drawn),
    Raster(Raster, Box<dyn ReadSeek>),
    Pdf(import::Plan),
}

impl Plan {
    fn converted(&self) -> bool {
        !matches!(self, Self::Drawn(Drawn::Refused { .. }))
    }
}

fn reason(code: &str, detail: impl Into<String>) -> Reason {
    Reason {
        code: code.to_owned(),
        detail: detail.into(),
    }
}

fn pdf_limits(deadline: Option<Instant>) -> Limits {
    Limits {
        deadline,
        ..Limits::default()
    }
}

/// Builds and seals the dossier into `out` (which must be empty). `open(i)` gives the content
/// of attachment `i` (called for `PartContent::File` only: once for an image, whose source is
/// kept from planning to writing; twice for a PDF); `sign` gets the bytes the signature covers
/// and the offset in the file where the signature's gap begins (the covered bytes before it
/// are the file's first bytes), and returns a DER CMS `SignedData`.
pub fn build_dossier<F: Read + Write + Seek>(
    view: &StampView,
    parts: &[Part],
    open: &mut dyn FnMut(usize) -> io::Result<Box<dyn ReadSeek>>,
    out: &mut F,
    options: &DossierOptions,
    sign: impl FnOnce(&mut dyn Read, u64) -> Result<Vec<u8>, String>,
) -> Result<Built, PdfError> {
    let io = |e: io::Error| PdfError::Io(e.to_string());
    let mut plans = parts
        .iter()
        .enumerate()
        .map(|(i, p)| plan_part(i, p, open, options.deadline))
        .collect::<Result<Vec<_>, _>>()?;
    let (krilla_bytes, drawn_pages, total) = draw_pages(view, parts, &plans)?;
    out.seek(SeekFrom::Start(0)).map_err(io)?;
    out.write_all(&krilla_bytes).map_err(io)?;
    let base = Base::read(&krilla_bytes)?;
    let mut a = Appender::new(&mut *out, krilla_bytes.len() as u64, base.size);
    // Page order: the stamp's pages, then each attachment's.
    let mut drawn_ids = base.page_ids.iter().copied();
    let mut kids: Vec<u32> = drawn_ids.by_ref().take(drawn_pages[0]).collect();
    let mut next_drawn = 1;
    for (i, plan) in plans.iter_mut().enumerate() {
        check(options.deadline)?;
        match plan {
            Plan::Drawn(_) => {
                kids.extend(drawn_ids.by_ref().take(drawn_pages[next_drawn]));
                next_drawn += 1;
            }
            Plan::Raster(raster, src) => {
                kids.extend(images::write(
                    raster,
                    &mut **src,
                    &mut a,
                    base.pages_num,
                    options.default_dpi,
                    options.deadline,
                )?);
            }
            Plan::Pdf(plan) => {
                let src = open(i).map_err(io)?;
                let mut reader = PdfReader::open(src, pdf_limits(options.deadline))
                    .map_err(|e| PdfError::Malformed(e.to_string()))?;
                kids.extend(import::write(&mut reader, plan, &mut a, base.pages_num)?);
            }
        }
    }
    if kids.len() != total {
        return Err(PdfError::Render(format!(
            "{} pages written, {total} planned",
            kids.len()
        )));
    }
    let placeholders = seal_objects(&mut a, &base, &kids, &options.seal).map_err(io)?;
    let (_, len) = a.finish(&base.trailer, base.startxref).map_err(io)?;
    write::sign_in_place(out, &placeholders, len, sign)?;
    Ok(Built {
        pages: total,
        converted: plans.iter().filter(|p| p.converted()).count(),
        refused: plans.iter().filter(|p| !p.converted()).count(),
        len,
    })
}

fn check(deadline: Option<Instant>) -> Result<(), PdfError> {
    match deadline {
        Some(d) if Instant::now() >= d => Err(PdfError::TooLarge("time to build the dossier")),
        _ => Ok(()),
    }
}

/// Looks at attachment `i`: its pages, or why it stays out.
fn plan_part(
    i: usize,
    part: &Part,
    open: &mut dyn FnMut(usize) -> io::Result<Box<dyn ReadSeek>>,
    deadline: Option<Instant>,
) -> Result<Plan, PdfError> {
    let refused = |reasons: Vec<Reason>| {
        Plan::Drawn(Drawn::Refused {
            name: part.name.clone(),
            media_type: part.media_type.clone(),
            size: part.size,
            sha256_hex: part.sha256_hex.clone(),
            reasons,
        })
    };
    match &part.content {
        PartContent::Text(text) => {
            return Ok(Plan::Drawn(Drawn::Text {
                name: part.name.clone(),
                text: text.clone(),
            }));
        }
        PartContent::Refused(reasons) => return Ok(refused(reasons.clone())),
        PartContent::File => {}
    }
    check(deadline)?;
    let mut src = open(i).map_err(|e| PdfError::Io(e.to_string()))?;
    Ok(match part.media_type.as_str() {
        "application/pdf" => {
            let planned =
                PdfReader::open(src, pdf_limits(deadline)).and_then(|mut r| import::plan(&mut r));
            match planned {
                Ok(plan) => Plan::Pdf(plan),
                Err(ReadError::Io(e)) => return Err(PdfError::Io(e.to_string())),
                Err(e) => refused(vec![reason(read_error_code(&e), e.to_string())]),
            }
        }
        "image/jpeg" | "image/png" | "image/tiff" => {
            match images::plan(&part.media_type, &mut *src) {
                // The source stays open for writing: it is not opened (and checked) twice.
                Ok(raster) => Plan::Raster(raster, src),
                Err(why) => refused(vec![reason("image_not_convertible", why)]),
            }
        }
        other => refused(vec![reason(
            "unsupported_media_type",
            format!("{other} is not a document type the dossier converts"),
        )]),
    })
}

fn read_error_code(e: &ReadError) -> &'static str {
    use crate::inspect::code;
    match e {
        ReadError::Io(_) | ReadError::Malformed(_) => code::PARSE_ERROR,
        ReadError::Unsupported(_) => "not_convertible",
        ReadError::TooDeep(_) => code::TOO_DEEP,
        ReadError::TooManyObjects(_) => code::TOO_MANY_OBJECTS,
        ReadError::ReferenceLoop(_) => code::REFERENCE_LOOP,
        ReadError::TooSlow => code::TOO_SLOW,
        ReadError::TooLarge(_) => code::TOO_LARGE,
    }
}

/// Draws the stamp and the drawn attachments; returns the document, the number of pages of the
/// stamp and of each drawn attachment (in order), and the dossier's page count.
fn draw_pages(
    view: &StampView,
    parts: &[Part],
    plans: &[Plan],
) -> Result<(Vec<u8>, Vec<usize>, usize), PdfError> {
    let fonts = draw::the_fonts()?;
    let mut drawn: Vec<crate::page::Flow<'_>> = plans
        .iter()
        .filter_map(|p| match p {
            Plan::Drawn(d) => Some(draw::drawn_flow(fonts, d, &view.registration_number)),
            _ => None,
        })
        .collect();
    let counts: Vec<usize> = plans
        .iter()
        .scan(0usize, |k, p| {
            Some(match p {
                Plan::Drawn(_) => {
                    *k += 1;
                    drawn[*k - 1].pages.len()
                }
                Plan::Raster(r, _) => r.pages(),
                Plan::Pdf(p) => p.pages(),
            })
        })
        .collect();
    // The stamp's length moves every page after it: lay it out until it stops changing.
    let mut stamp_pages = 1;
    let mut stamp = draw::stamp_flow(fonts, view, &toc(parts, plans, &counts, stamp_pages))?;
    for _ in 0..3 {
        if stamp.pages.len() == stamp_pages {
            break;
        }
        stamp_pages = stamp.pages.len();
        stamp = draw::stamp_flow(fonts, view, &toc(parts, plans, &counts, stamp_pages))?;
    }
    let stamp_pages = stamp.pages.len();
    let total = stamp_pages + counts.iter().sum::<usize>();
    draw::furniture(&mut stamp, &view.registration_number, 1, total);
    let mut first = stamp_pages + 1;
    let mut k = 0;
    for (p, n) in plans.iter().zip(&counts) {
        if matches!(p, Plan::Drawn(_)) {
            draw::furniture(&mut drawn[k], &view.registration_number, first, total);
            k += 1;
        }
        first += n;
    }
    let mut page_counts = vec![stamp_pages];
    page_counts.extend(drawn.iter().map(|f| f.pages.len()));
    let mut flows = vec![stamp];
    flows.extend(drawn);
    Ok((draw::render(&flows, view)?, page_counts, total))
}

fn toc(parts: &[Part], plans: &[Plan], counts: &[usize], stamp_pages: usize) -> Vec<TocLine> {
    let mut first = stamp_pages + 1;
    parts
        .iter()
        .zip(plans)
        .zip(counts)
        .map(|((part, plan), n)| {
            let line = TocLine {
                name: part.name.clone(),
                media_type: part.media_type.clone(),
                size: part.size,
                sha256_hex: part.sha256_hex.clone(),
                pages: (first, first + n - 1),
                converted: plan.converted(),
            };
            first += n;
            line
        })
        .collect()
}

/// What the update needs from the document krilla wrote.
struct Base {
    size: u32,
    startxref: u64,
    catalog: crate::reader::ObjRef,
    catalog_dict: crate::reader::Dict,
    pages_num: u32,
    page_ids: Vec<u32>,
    first_page: crate::reader::Page,
    /// `/Root … /Info … /ID […]`.
    trailer: Vec<u8>,
}

impl Base {
    fn read(pdf: &[u8]) -> Result<Self, PdfError> {
        let bad = |e: ReadError| PdfError::Render(format!("reading back the drawn pages: {e}"));
        let mut r = PdfReader::open(io::Cursor::new(pdf), Limits::default()).map_err(bad)?;
        let catalog = r
            .trailer()
            .get(b"Root")
            .and_then(Object::as_ref)
            .ok_or_else(|| PdfError::Render("no catalog".into()))?;
        let catalog_dict = r.catalog().map_err(bad)?;
        let pages_num = catalog_dict
            .get(b"Pages")
            .and_then(Object::as_ref)
            .ok_or_else(|| PdfError::Render("no page tree".into()))?
            .num;
        let pages = r.pages().map_err(bad)?;
        let first_page = pages
            .first()
            .cloned()
            .ok_or_else(|| PdfError::Render("no page".into()))?;
        let size = r
            .trailer()
            .get_int(b"Size")
            .and_then(|s| u32::try_from(s).ok())
            .ok_or_else(|| PdfError::Render("no /Size".into()))?;
        let mut trailer = Vec::new();
        for key in [&b"Root"[..], b"Info", b"ID"] {
            if let Some(v) = r.trailer().get(key) {
                crate::syntax::write_name(&mut trailer, key);
                trailer.push(b' ');
                serialize(&mut trailer, v, &same);
                trailer.push(b' ');
            }
        }
        Ok(Self {
            size,
            startxref: crate::seal::find_startxref(pdf)? as u64,
            catalog,
            catalog_dict,
            pages_num,
            page_ids: pages.iter().map(|p| p.id.num).collect(),
            first_page,
            trailer,
        })
    }
}

/// The new page tree, the signature field on page 1 and the catalog's form.
fn seal_objects<W: Write>(
    a: &mut Appender<W>,
    base: &Base,
    kids: &[u32],
    text: &SealText,
) -> io::Result<write::Placeholders> {
    let list: Vec<String> = kids.iter().map(|k| format!("{k} 0 R")).collect();
    a.object(
        base.pages_num,
        format!(
            "<</Type /Pages /Kids [{}] /Count {}>>",
            list.join(" "),
            kids.len()
        )
        .as_bytes(),
    )?;
    let (widget, appearance, sig) = (a.alloc(), a.alloc(), a.alloc());
    let page = base.first_page.id;
    let mut page_dict = base.first_page.dict.clone();
    let mut annots = match page_dict.get(b"Annots") {
        Some(Object::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    annots.push(Object::Ref(crate::reader::ObjRef::new(widget, 0)));
    page_dict.set("Annots", Object::Array(annots));
    let mut buf = Vec::new();
    serialize(&mut buf, &Object::Dict(page_dict), &same);
    a.object(page.num, &buf)?;
    let mut catalog = base.catalog_dict.clone();
    let mut form = crate::reader::Dict::new();
    form.set(
        "Fields",
        Object::Array(vec![Object::Ref(crate::reader::ObjRef::new(widget, 0))]),
    );
    form.set("SigFlags", Object::Int(3));
    catalog.set("AcroForm", Object::Dict(form));
    buf.clear();
    serialize(&mut buf, &Object::Dict(catalog), &same);
    a.object(base.catalog.num, &buf)?;
    let mut w = b"<</Type /Annot /Subtype /Widget /FT /Sig /T ".to_vec();
    crate::syntax::write_hex_string(&mut w, b"DiwanSeal1");
    // Print (4) + Locked (128): printable for PDF/A, not movable.
    w.extend_from_slice(
        format!(
            " /F 132 /Rect [0 0 0 0] /V {sig} 0 R /P {} 0 R /AP <</N {appearance} 0 R>>>>",
            page.num
        )
        .as_bytes(),
    );
    a.object(widget, &w)?;
    a.object(
        appearance,
        b"<</Type /XObject /Subtype /Form /BBox [0 0 0 0] /Resources <<>> /Length 0>>\nstream\n\nendstream",
    )?;
    write::signature_object(a, sig, text)
}

#[cfg(test)]
mod tests;

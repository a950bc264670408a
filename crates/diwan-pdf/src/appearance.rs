//! The visible signature block: drawn by krilla as a one-page PDF exactly the block's size
//! (so Arabic is shaped and ordered like everywhere else in the crate), then that page's
//! content and resources (fonts included) are copied into the incremental update as a form
//! XObject, renumbered after the original's objects: the widget's normal appearance.

use std::collections::{HashMap, VecDeque};
use std::io::Cursor;

use crate::PdfError;
use crate::page::{BLACK, Color, GREY, Op, PageOps, write_single_page};
use crate::reader::{Dict, Indirect, Limits, ObjRef, Object, PdfReader, ReadError};
use crate::sign::SignatureAppearance;
use crate::syntax::{write_name, write_value};
use crate::text::{Line, Weight, fonts, layout};

/// The block's size in points.
pub(crate) const BLOCK_W: f32 = 240.0;
pub(crate) const BLOCK_H: f32 = 70.0;
/// Distance from the page's left and right edges (the receipts' margin).
const SIDE_MARGIN: f32 = 40.0;
/// Distance from the page's bottom edge to the first row of blocks.
const BOTTOM_MARGIN: f32 = 56.0;
/// Kept free above the highest row.
const TOP_MARGIN: f32 = 36.0;
/// Between blocks, across and up.
const GAP: f32 = 10.0;
/// Inside the frame.
const PADDING: f32 = 6.0;
const FRAME: Color = Color(110, 110, 110);
/// Objects one block may bring along (fonts: a handful).
const MAX_BLOCK_OBJECTS: usize = 256;
/// Characters of one line looked at (the rest could not be shown anyway).
const MAX_LINE_CHARS: usize = 200;

/// The objects of a drawn block: `(number, body)` pairs, the form XObject first; `next` is
/// the first number they leave free.
pub(crate) struct Block {
    pub(crate) objects: Vec<(u32, Vec<u8>)>,
    pub(crate) next: u32,
}

/// Where the block number `slot` (0 for the first on the page) goes in `page_box`
/// (`[left, bottom, right, top]`): two columns when the page is wide enough, the first on the
/// right, rows upwards from the bottom margin; when the page is full, rows start again at the
/// bottom. Returned as `[left, bottom, right, top]`.
pub(crate) fn place(page_box: [f32; 4], slot: usize) -> [f32; 4] {
    let [left, bottom, right, top] = page_box;
    let width = right - left;
    let height = top - bottom;
    let columns = if width >= 2.0 * BLOCK_W + 2.0 * SIDE_MARGIN + GAP {
        2
    } else {
        1
    };
    let usable = (height - BOTTOM_MARGIN - TOP_MARGIN + GAP).max(0.0);
    let rows = ((usable / (BLOCK_H + GAP)).floor() as usize).max(1);
    let column = slot % columns;
    let row = (slot / columns) % rows;
    let x = if column == 0 {
        (right - SIDE_MARGIN - BLOCK_W).max(left)
    } else {
        left + SIDE_MARGIN
    };
    let y = if height >= BLOCK_H + BOTTOM_MARGIN {
        bottom + BOTTOM_MARGIN + row as f32 * (BLOCK_H + GAP)
    } else {
        bottom
    };
    [x, y, x + BLOCK_W, y + BLOCK_H]
}

/// Draw `look` and turn it into objects numbered `form` (the form XObject) and from `first`.
pub(crate) fn block(look: &SignatureAppearance, form: u32, first: u32) -> Result<Block, PdfError> {
    let ops = draw(look)?;
    let pdf = write_single_page(BLOCK_W, BLOCK_H, &ops)?;
    import_as_form(&pdf, form, first)
}

/// How one line of the block is set.
struct LineSpec<'a> {
    text: &'a str,
    weight: Weight,
    size: f32,
    color: Color,
    right: bool,
}

fn line_height(size: f32) -> f32 {
    size * 1.5
}

/// The block's drawing: a thin frame, then the Arabic name (right), the Latin name, the
/// function and the date (left), each on one line, made smaller if needed to fit.
fn draw(look: &SignatureAppearance) -> Result<PageOps, PdfError> {
    let fonts = fonts()?;
    let mut specs = Vec::new();
    if let Some(name) = look.name_ar.as_deref().filter(|n| !n.trim().is_empty()) {
        specs.push(LineSpec {
            text: name,
            weight: Weight::Bold,
            size: 11.0,
            color: BLACK,
            right: true,
        });
    }
    specs.push(LineSpec {
        text: &look.name_latin,
        weight: Weight::Bold,
        size: 9.5,
        color: BLACK,
        right: false,
    });
    if let Some(function) = look.function.as_deref().filter(|f| !f.trim().is_empty()) {
        specs.push(LineSpec {
            text: function,
            weight: Weight::Regular,
            size: 8.0,
            color: GREY,
            right: false,
        });
    }
    specs.push(LineSpec {
        text: &look.signed_at_text,
        weight: Weight::Regular,
        size: 7.5,
        color: GREY,
        right: false,
    });
    let width = BLOCK_W - 2.0 * PADDING;
    let mut lines: Vec<(Line, f32, &LineSpec<'_>)> = Vec::new();
    for spec in &specs {
        let text: String = spec.text.chars().take(MAX_LINE_CHARS).collect();
        let mut size = spec.size;
        let line = loop {
            let mut laid = layout(fonts, &text, spec.weight, size, width);
            if laid.len() <= 1 || size <= spec.size * 0.6 {
                break if laid.is_empty() {
                    None
                } else {
                    Some(laid.swap_remove(0))
                };
            }
            size *= 0.9;
        };
        if let Some(line) = line {
            lines.push((line, size, spec));
        }
    }
    let total: f32 = lines.iter().map(|(_, size, _)| line_height(*size)).sum();
    let mut ops = PageOps::default();
    let t = 0.6;
    for rect in [
        [t / 2.0, t / 2.0, BLOCK_W - t, t],
        [t / 2.0, BLOCK_H - 1.5 * t, BLOCK_W - t, t],
        [t / 2.0, t / 2.0, t, BLOCK_H - t],
        [BLOCK_W - 1.5 * t, t / 2.0, t, BLOCK_H - t],
    ] {
        ops.ops.push(Op::Rect { rect, color: FRAME });
    }
    let mut y = ((BLOCK_H - total) / 2.0).max(PADDING / 2.0);
    for (line, size, spec) in lines {
        y += line_height(size);
        let x = if spec.right {
            BLOCK_W - PADDING - line.width
        } else {
            PADDING
        };
        ops.ops.push(Op::Text {
            x,
            baseline: y - size * 0.4,
            line,
            color: spec.color,
        });
    }
    Ok(ops)
}

fn render_error(e: ReadError) -> PdfError {
    PdfError::Render(format!("signature block: {e}"))
}

/// The references in `o`, a stream's `/Length` left out (it is written directly).
fn refs_in(o: &Object, stream: bool, out: &mut VecDeque<ObjRef>) {
    match o {
        Object::Dict(d) if stream => {
            for (key, value) in d.iter() {
                if key != b"Length" {
                    value.walk(|x| out.extend(x.as_ref()));
                }
            }
        }
        _ => o.walk(|x| out.extend(x.as_ref())),
    }
}

/// The first page of `pdf` (krilla's output) as a form XObject numbered `form`, with the
/// objects its resources reach numbered from `first`.
fn import_as_form(pdf: &[u8], form: u32, first: u32) -> Result<Block, PdfError> {
    let mut reader = PdfReader::open(Cursor::new(pdf), Limits::default()).map_err(render_error)?;
    let pages = reader.pages().map_err(render_error)?;
    let page = pages
        .first()
        .ok_or_else(|| PdfError::Render("signature block: no page".into()))?;
    let contents = page.dict.get(b"Contents").cloned().unwrap_or(Object::Null);
    let content = reader
        .stream(&contents)
        .map_err(render_error)?
        .ok_or_else(|| PdfError::Render("signature block: no single content stream".into()))?;
    let data = reader
        .raw_stream_data(&content, 4 * 1024 * 1024)
        .map_err(render_error)?;
    let resources = page
        .resources
        .as_deref()
        .cloned()
        .unwrap_or(Object::Dict(Dict::new()));

    let mut queue = VecDeque::new();
    refs_in(&resources, false, &mut queue);
    let mut order: Vec<(ObjRef, Indirect)> = Vec::new();
    let mut index: HashMap<ObjRef, u32> = HashMap::new();
    while let Some(r) = queue.pop_front() {
        if index.contains_key(&r) {
            continue;
        }
        if order.len() >= MAX_BLOCK_OBJECTS {
            return Err(PdfError::Render("signature block: too many objects".into()));
        }
        let number = first
            .checked_add(u32::try_from(order.len()).map_err(|_| PdfError::TooLarge("objects"))?)
            .ok_or(PdfError::TooLarge("object numbers"))?;
        index.insert(r, number);
        let object = reader.object(r).map_err(render_error)?;
        match &object {
            Indirect::Plain(o) => refs_in(o, false, &mut queue),
            Indirect::Stream(s) => refs_in(&Object::Dict(s.dict.clone()), true, &mut queue),
        }
        order.push((r, object));
    }
    let map = |r: ObjRef| index.get(&r).map(|n| ObjRef::new(*n, 0));

    let mut objects = Vec::with_capacity(order.len() + 1);
    let mut body = Vec::with_capacity(data.len() + 256);
    body.extend_from_slice(
        format!("<</Type /XObject /Subtype /Form /BBox [0 0 {BLOCK_W} {BLOCK_H}] /Resources ")
            .as_bytes(),
    );
    write_value(&mut body, &resources, &map);
    for key in [&b"Filter"[..], b"DecodeParms"] {
        if let Some(value) = content.dict.get(key) {
            body.push(b' ');
            write_name(&mut body, key);
            body.push(b' ');
            write_value(&mut body, value, &map);
        }
    }
    stream_tail(&mut body, &data);
    objects.push((form, body));
    for (r, object) in order {
        let number = index
            .get(&r)
            .copied()
            .ok_or(PdfError::TooLarge("objects"))?;
        let mut body = Vec::new();
        match object {
            Indirect::Plain(o) => write_value(&mut body, &o, &map),
            Indirect::Stream(s) => {
                let data = reader
                    .raw_stream_data(&s, 16 * 1024 * 1024)
                    .map_err(render_error)?;
                body.extend_from_slice(b"<<");
                for (key, value) in s.dict.iter() {
                    if key != b"Length" {
                        write_name(&mut body, key);
                        body.push(b' ');
                        write_value(&mut body, value, &map);
                        body.push(b'\n');
                    }
                }
                stream_tail(&mut body, &data);
            }
        }
        objects.push((number, body));
    }
    let next = first
        .checked_add(u32::try_from(objects.len() - 1).map_err(|_| PdfError::TooLarge("objects"))?)
        .ok_or(PdfError::TooLarge("object numbers"))?;
    Ok(Block { objects, next })
}

/// `/Length n>>`, then the stream's data (the dictionary is open before).
fn stream_tail(body: &mut Vec<u8>, data: &[u8]) {
    body.extend_from_slice(format!(" /Length {}>>\nstream\n", data.len()).as_bytes());
    body.extend_from_slice(data);
    body.extend_from_slice(b"\nendstream");
}

#[cfg(test)]
mod tests {
    use super::*;

    const A4: [f32; 4] = [0.0, 0.0, 595.28, 841.89];

    #[test]
    fn blocks_do_not_overlap() {
        let rects: Vec<[f32; 4]> = (0..8).map(|slot| place(A4, slot)).collect();
        for (i, a) in rects.iter().enumerate() {
            assert!(a[0] >= 0.0 && a[2] <= A4[2] && a[1] >= 0.0 && a[3] <= A4[3]);
            for b in &rects[i + 1..] {
                let apart = a[2] <= b[0] || b[2] <= a[0] || a[3] <= b[1] || b[3] <= a[1];
                assert!(apart, "{a:?} overlaps {b:?}");
            }
        }
        assert!(rects[0][0] > rects[1][0], "the first block is on the right");
        assert_eq!(rects[0][1], rects[1][1]);
        assert!(rects[2][1] > rects[0][1], "the third block is above");
    }

    #[test]
    fn odd_page_boxes_still_give_a_rect() {
        for page in [[0.0, 0.0, 100.0, 50.0], [10.0, 20.0, 11.0, 21.0]] {
            let r = place(page, 3);
            assert!((r[2] - r[0] - BLOCK_W).abs() < 0.01);
        }
    }

    #[test]
    fn the_block_is_a_form_with_its_fonts() {
        let look = SignatureAppearance {
            name_ar: Some("فاطمة الزهراء بنعلي".into()),
            name_latin: "Fatima Zahra Benali".into(),
            function: Some("Directrice des affaires juridiques".into()),
            signed_at_text: "2026-12-03 16:05 UTC".into(),
        };
        let block = block(&look, 100, 101).unwrap();
        assert_eq!(block.objects[0].0, 100);
        assert!(
            block.objects[0]
                .1
                .starts_with(b"<</Type /XObject /Subtype /Form")
        );
        assert!(block.objects.len() > 3, "fonts come along");
        assert_eq!(
            block.next,
            100 + u32::try_from(block.objects.len()).unwrap()
        );
        let numbers: Vec<u32> = block.objects.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers[1..], (101..block.next).collect::<Vec<_>>()[..]);
    }
}

//! Page composition: a flow of blocks placed top to bottom on A4 pages, then painted with
//! krilla. Layout is done first so that every page can carry "page i/n".

use chrono::{DateTime, Datelike, Timelike, Utc};
use krilla::color::rgb;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::metadata::{DateTime as PdfDateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::{Document, SerializeSettings};

use crate::PdfError;
use crate::text::{BOLD_STROKE_EM, Fonts, Line, Weight, layout};

pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
pub(crate) const MARGIN: f32 = 40.0;
const TOP: f32 = 44.0;
/// Lowest baseline for body content; the footer lives below it.
const BOTTOM: f32 = PAGE_H - 62.0;
/// Rows up to this height are moved whole to the next page rather than split.
const KEEP_TOGETHER: f32 = 160.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Color(pub u8, pub u8, pub u8);

pub(crate) const BLACK: Color = Color(0, 0, 0);
pub(crate) const GREY: Color = Color(90, 90, 90);
pub(crate) const RULE: Color = Color(170, 170, 170);
pub(crate) const SHADE: Color = Color(238, 241, 245);
pub(crate) const RED: Color = Color(170, 20, 20);

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Align {
    Left,
    Right,
    Center,
    /// Right for right-to-left paragraphs, left otherwise.
    Natural,
}

/// A piece of text with its style.
#[derive(Clone)]
pub(crate) struct Span {
    pub(crate) text: String,
    pub(crate) weight: Weight,
    pub(crate) size: f32,
    pub(crate) color: Color,
    pub(crate) align: Align,
}

impl Span {
    pub(crate) fn new(text: impl Into<String>, weight: Weight, size: f32) -> Self {
        Self {
            text: text.into(),
            weight,
            size,
            color: BLACK,
            align: Align::Natural,
        }
    }
    pub(crate) fn color(mut self, color: Color) -> Self {
        self.color = color;
        self
    }
    pub(crate) fn align(mut self, align: Align) -> Self {
        self.align = align;
        self
    }
}

pub(crate) enum Op {
    Text {
        x: f32,
        baseline: f32,
        line: Line,
        color: Color,
    },
    Rect {
        rect: [f32; 4],
        color: Color,
    },
    /// Black rectangles `[x, y, width, height]` in units of `module` points from `origin`.
    Modules {
        origin: [f32; 2],
        module: f32,
        rects: Vec<[u16; 4]>,
    },
}

#[derive(Default)]
pub(crate) struct PageOps {
    pub(crate) ops: Vec<Op>,
}

fn line_height(size: f32) -> f32 {
    size * 1.55
}

/// Places content on pages, starting a new page when the next line would not fit.
pub(crate) struct Flow<'f> {
    fonts: &'f Fonts,
    pub(crate) pages: Vec<PageOps>,
    pub(crate) y: f32,
}

/// The x extent of a column.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub(crate) x: f32,
    pub(crate) width: f32,
}

pub(crate) const FULL: Column = Column {
    x: MARGIN,
    width: PAGE_W - 2.0 * MARGIN,
};
/// The three columns of a field row: French label, value, Arabic label.
/// The page's halves: French on the left, Arabic on the right.
pub(crate) const HALF_LEFT: Column = Column {
    x: MARGIN,
    width: (PAGE_W - 2.0 * MARGIN) / 2.0 - 8.0,
};
pub(crate) const HALF_RIGHT: Column = Column {
    x: PAGE_W / 2.0 + 8.0,
    width: (PAGE_W - 2.0 * MARGIN) / 2.0 - 8.0,
};
pub(crate) const LABEL_FR: Column = Column {
    x: MARGIN,
    width: 112.0,
};
pub(crate) const VALUE: Column = Column {
    x: MARGIN + 120.0,
    width: PAGE_W - 2.0 * MARGIN - 240.0,
};
pub(crate) const LABEL_AR: Column = Column {
    x: PAGE_W - MARGIN - 112.0,
    width: 112.0,
};

impl<'f> Flow<'f> {
    pub(crate) fn new(fonts: &'f Fonts) -> Self {
        Self {
            fonts,
            pages: vec![PageOps::default()],
            y: TOP,
        }
    }

    fn page(&mut self) -> &mut PageOps {
        if self.pages.is_empty() {
            self.pages.push(PageOps::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    pub(crate) fn new_page(&mut self) {
        self.pages.push(PageOps::default());
        self.y = TOP;
    }

    /// Start a new page unless `height` more points fit on this one.
    pub(crate) fn ensure(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.new_page();
        }
    }

    pub(crate) fn gap(&mut self, points: f32) {
        self.y += points;
    }

    pub(crate) fn rect(&mut self, rect: [f32; 4], color: Color) {
        self.page().ops.push(Op::Rect { rect, color });
    }

    pub(crate) fn hrule(&mut self, color: Color) {
        let y = self.y;
        self.rect([MARGIN, y, PAGE_W - 2.0 * MARGIN, 0.6], color);
    }

    /// Lay out a span in a column at the current position, continuing on new pages.
    pub(crate) fn span(&mut self, column: Column, span: &Span) {
        let lines = layout(self.fonts, &span.text, span.weight, span.size, column.width);
        self.lines(column, span, lines);
    }

    fn lines(&mut self, column: Column, span: &Span, lines: Vec<Line>) {
        for line in lines {
            self.ensure(line_height(span.size));
            self.y += line_height(span.size);
            self.place(column, span, line, self.y - span.size * 0.45);
        }
    }

    fn place(&mut self, column: Column, span: &Span, line: Line, baseline: f32) {
        let x = match span.align {
            Align::Left => column.x,
            Align::Right => column.x + column.width - line.width,
            Align::Center => column.x + (column.width - line.width) / 2.0,
            Align::Natural if line.rtl => column.x + column.width - line.width,
            Align::Natural => column.x,
        };
        let color = span.color;
        self.page().ops.push(Op::Text {
            x,
            baseline,
            line,
            color,
        });
    }

    /// Place spans side by side, each in its own column, starting at the same height;
    /// afterwards the flow continues below the tallest. Used for short header lines that are
    /// known to fit on the page.
    pub(crate) fn side_by_side(&mut self, cells: &[(Column, Span)]) {
        let start_page = self.pages.len();
        let start = self.y;
        let mut lowest = start;
        for (column, span) in cells {
            self.y = start;
            self.span(*column, span);
            if self.pages.len() == start_page {
                lowest = lowest.max(self.y);
            } else {
                lowest = self.y;
            }
        }
        self.y = lowest;
    }

    /// A field row: French label on the left, Arabic label on the right, the value lines in
    /// the middle. Values that do not fit continue on the next pages.
    pub(crate) fn row(&mut self, label_fr: &str, label_ar: &str, values: &[Span], color: Color) {
        let fonts = self.fonts;
        let label_size = 8.5;
        let fr = layout(fonts, label_fr, Weight::Bold, label_size, LABEL_FR.width);
        let ar = layout(
            fonts,
            label_ar,
            Weight::Bold,
            label_size + 1.0,
            LABEL_AR.width,
        );
        let ar_size = label_size + 1.0;
        let labels_height =
            (fr.len() as f32 * line_height(label_size)).max(ar.len() as f32 * line_height(ar_size));
        let values: Vec<(Span, Vec<Line>)> = values
            .iter()
            .map(|v| {
                let mut v = v.clone();
                if color != BLACK {
                    v.color = color;
                }
                let lines = layout(fonts, &v.text, v.weight, v.size, VALUE.width);
                (v, lines)
            })
            .collect();
        let values_height: f32 = values
            .iter()
            .map(|(v, lines)| lines.len() as f32 * line_height(v.size))
            .sum();
        // Keep a short row (a file, a date) on one page; longer rows flow on from here.
        let whole = labels_height.max(values_height) + 6.0;
        let first = values.first().map_or(0.0, |(v, _)| line_height(v.size));
        if whole <= KEEP_TOGETHER {
            self.ensure(whole);
        } else {
            self.ensure(labels_height.max(first) + 6.0);
        }
        self.gap(3.0);
        let top = self.y;
        let page = self.pages.len();
        for (i, line) in fr.into_iter().enumerate() {
            let baseline = top + line_height(label_size) * (i as f32 + 1.0) - label_size * 0.45;
            let span = Span::new("", Weight::Bold, label_size)
                .color(GREY)
                .align(Align::Left);
            self.place(LABEL_FR, &span, line, baseline);
        }
        for (i, line) in ar.into_iter().enumerate() {
            let baseline = top + line_height(ar_size) * (i as f32 + 1.0) - ar_size * 0.45;
            let span = Span::new("", Weight::Bold, ar_size)
                .color(GREY)
                .align(Align::Right);
            self.place(LABEL_AR, &span, line, baseline);
        }
        for (span, lines) in values {
            self.lines(VALUE, &span, lines);
        }
        if self.pages.len() == page {
            self.y = self.y.max(top + labels_height);
        }
        self.gap(3.0);
        self.hrule(RULE);
    }

    /// Draw a QR code matrix (`true` = dark) as vector squares, centred in `column`.
    /// A QR symbol `side` points wide, centred in `column`: its dark modules as rectangles
    /// drawn in module units, so that the page's content holds small integers.
    pub(crate) fn qr(&mut self, column: Column, symbol: &crate::qr::Symbol, side: f32) {
        if symbol.width == 0 {
            return;
        }
        self.ensure(side + 8.0);
        self.gap(4.0);
        let module = side / symbol.width as f32;
        let origin = [column.x + (column.width - side) / 2.0, self.y];
        let rects = crate::qr::rectangles(symbol);
        self.page().ops.push(Op::Modules {
            origin,
            module,
            rects,
        });
        self.y += side + 4.0;
    }

    /// Put `spans` at fixed heights on every page (header and footer lines).
    pub(crate) fn on_every_page(
        &mut self,
        make: impl Fn(usize, usize) -> Vec<(f32, Column, Span)>,
    ) {
        let total = self.pages.len();
        let fonts = self.fonts;
        for (index, page) in self.pages.iter_mut().enumerate() {
            for (baseline, column, span) in make(index + 1, total) {
                for line in layout(fonts, &span.text, span.weight, span.size, column.width)
                    .into_iter()
                    .take(1)
                {
                    let x = match span.align {
                        Align::Left => column.x,
                        Align::Center => column.x + (column.width - line.width) / 2.0,
                        Align::Right => column.x + column.width - line.width,
                        Align::Natural if line.rtl => column.x + column.width - line.width,
                        Align::Natural => column.x,
                    };
                    page.ops.push(Op::Text {
                        x,
                        baseline,
                        line,
                        color: span.color,
                    });
                }
            }
        }
    }

    fn footer_rule_y() -> f32 {
        BOTTOM + 14.0
    }

    /// The head of a document Diwan draws: the administration (bold), then the unit (grey),
    /// French on the left and Arabic on the right, and a rule under them. Each pair is
    /// `(french, arabic)`.
    pub(crate) fn letterhead(&mut self, administration: (&str, &str), unit: (&str, &str)) {
        let line = |text: &str, weight, align| Span::new(text, weight, 10.0).align(align);
        self.side_by_side(&[
            (HALF_LEFT, line(administration.0, Weight::Bold, Align::Left)),
            (
                HALF_RIGHT,
                line(administration.1, Weight::Bold, Align::Right),
            ),
        ]);
        self.side_by_side(&[
            (
                HALF_LEFT,
                line(unit.0, Weight::Regular, Align::Left).color(GREY),
            ),
            (
                HALF_RIGHT,
                line(unit.1, Weight::Regular, Align::Right).color(GREY),
            ),
        ]);
        self.gap(6.0);
        self.hrule(RULE);
    }

    /// The foot of every page, once the flow is laid out: a rule, then `text(page, total)`'s
    /// French (left) and Arabic (right) lines, small and grey.
    pub(crate) fn footer(&mut self, text: impl Fn(usize, usize) -> (String, String)) {
        self.on_every_page(|page, total| {
            let (fr, ar) = text(page, total);
            let y = PAGE_H - 34.0;
            let small = |s: String| Span::new(s, Weight::Regular, 7.5).color(GREY);
            vec![
                (y, HALF_LEFT, small(fr).align(Align::Left)),
                (y, HALF_RIGHT, small(ar).align(Align::Right)),
            ]
        });
        let rule_y = Self::footer_rule_y();
        for page in &mut self.pages {
            page.ops.push(Op::Rect {
                rect: [MARGIN, rule_y, PAGE_W - 2.0 * MARGIN, 0.6],
                color: RULE,
            });
        }
    }

    /// A QR code of `data` (error correction M), `side` points wide, centred in `column`.
    pub(crate) fn qr_code(
        &mut self,
        column: Column,
        data: &str,
        side: f32,
    ) -> Result<(), PdfError> {
        let symbol = crate::qr::encode(data.as_bytes())?;
        self.qr(column, &symbol, side);
        Ok(())
    }
}

/// Body text.
pub(crate) fn plain(s: &str) -> Span {
    Span::new(s, Weight::Regular, 9.5)
}

/// The laid-out pages as one PDF/A-2b document (krilla checks the profile), with Diwan's
/// metadata.
pub(crate) fn write_pdfa<'a>(
    title: String,
    created: DateTime<Utc>,
    pages: impl IntoIterator<Item = &'a PageOps>,
) -> Result<Vec<u8>, PdfError> {
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_B)
        .finish()
        .map_err(|e| PdfError::Render(format!("configuration: {e:?}")))?;
    let settings = SerializeSettings {
        configuration,
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut document = Document::new_with(settings);
    document.set_metadata(
        Metadata::new()
            .title(title)
            .creator("Diwan".to_owned())
            .producer("Diwan".to_owned())
            .language("ar".to_owned())
            .creation_date(pdf_date(created)),
    );
    let page_settings = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| PdfError::Render("page size".to_owned()))?;
    for ops in pages {
        let mut page = document.start_page_with(page_settings.clone());
        let mut surface = page.surface();
        paint(&mut surface, ops);
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| PdfError::Render(format!("{e:?}")))
}

/// One page of `width` × `height` points as a plain PDF (krilla's defaults, fonts embedded and
/// subset): the signature block, whose page is then imported as a form XObject.
pub(crate) fn write_single_page(
    width: f32,
    height: f32,
    ops: &PageOps,
) -> Result<Vec<u8>, PdfError> {
    let mut document = Document::new_with(SerializeSettings::default());
    let page_settings = PageSettings::from_wh(width, height)
        .ok_or_else(|| PdfError::Render("page size".to_owned()))?;
    let mut page = document.start_page_with(page_settings);
    let mut surface = page.surface();
    paint(&mut surface, ops);
    surface.finish();
    page.finish();
    document
        .finish()
        .map_err(|e| PdfError::Render(format!("{e:?}")))
}

fn pdf_date(at: DateTime<Utc>) -> PdfDateTime {
    let clamp = |v: u32| u8::try_from(v).unwrap_or(0);
    PdfDateTime::new(u16::try_from(at.year()).unwrap_or(1970))
        .month(clamp(at.month()))
        .day(clamp(at.day()))
        .hour(clamp(at.hour()))
        .minute(clamp(at.minute()))
        .second(clamp(at.second()))
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

fn fill(color: Color) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }
}

/// Paint one page's operations on a krilla surface.
pub(crate) fn paint(surface: &mut Surface<'_>, page: &PageOps) {
    let mut rects = PathBuilder::new();
    let mut rect_color = None;
    for op in &page.ops {
        if let Op::Rect { rect, color } = op {
            if rect_color.is_some_and(|c| c != *color) {
                flush_rects(surface, std::mem::take(&mut rects), rect_color);
            }
            if let Some(r) = Rect::from_xywh(rect[0], rect[1], rect[2], rect[3]) {
                rects.push_rect(r);
                rect_color = Some(*color);
            }
        }
    }
    flush_rects(surface, rects, rect_color);
    for op in &page.ops {
        if let Op::Modules {
            origin,
            module,
            rects,
        } = op
        {
            let mut path = PathBuilder::new();
            for [x, y, w, h] in rects {
                let r = Rect::from_xywh(f32::from(*x), f32::from(*y), f32::from(*w), f32::from(*h));
                if let Some(r) = r {
                    path.push_rect(r);
                }
            }
            if let Some(path) = path.finish() {
                surface.push_transform(&Transform::from_row(
                    *module, 0.0, 0.0, *module, origin[0], origin[1],
                ));
                surface.set_fill(Some(fill(BLACK)));
                surface.draw_path(&path);
                surface.pop();
            }
        }
    }
    for op in &page.ops {
        if let Op::Text {
            x,
            baseline,
            line,
            color,
        } = op
        {
            surface.set_fill(Some(fill(*color)));
            let mut cursor = *x;
            for run in &line.runs {
                surface.set_stroke(run.bold.then(|| Stroke {
                    paint: rgb::Color::new(color.0, color.1, color.2).into(),
                    width: run.size * BOLD_STROKE_EM,
                    line_join: LineJoin::Round,
                    ..Stroke::default()
                }));
                surface.draw_glyphs(
                    Point::from_xy(cursor, *baseline),
                    &run.glyphs,
                    run.font.clone(),
                    &run.text,
                    run.size,
                    false,
                );
                cursor += run.width;
            }
        }
    }
    surface.set_stroke(None);
}

fn flush_rects(surface: &mut Surface<'_>, rects: PathBuilder, color: Option<Color>) {
    if let (Some(path), Some(color)) = (rects.finish(), color) {
        surface.set_fill(Some(fill(color)));
        surface.draw_path(&path);
    }
}

//! Fonts, font fallback, shaping, bidi reordering and line breaking.
//!
//! krilla shapes a run of one script in one font but neither reorders bidi runs nor picks
//! fallback fonts, so this module does both: each paragraph is analysed with `unicode-bidi`,
//! broken into lines from per-character advances, and each line is cut into runs in visual
//! order, one font and one direction per run, shaped with the same `rustybuzz` krilla uses.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{LazyLock, Mutex};

use krilla::text::{Font, GlyphId, KrillaGlyph};
use rustybuzz::{Direction, Face, Script, ShapePlan, UnicodeBuffer, script};
use unicode_bidi::ParagraphBidiInfo;

use crate::PdfError;

static NASKH_REGULAR: &[u8] = include_bytes!("../fonts/NotoNaskhArabic-Regular.ttf");
static SANS_REGULAR: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");

/// Replacement drawn for a character that no shipped font covers.
const MISSING: char = '?';

/// Regular or bold. Bold is drawn with the regular face, filled and stroked
/// ([`BOLD_STROKE_EM`]): one embedded subset per face instead of two, which is a third of a
/// receipt's drawing time (each subset is cut from its font and compressed for every PDF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

/// Width of the outline that makes the regular face bold, in ems.
pub(crate) const BOLD_STROKE_EM: f32 = 0.045;

/// A face and a weight: Arabic regular, Arabic bold, Latin regular, Latin bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FontId(usize);

impl FontId {
    fn new(arabic: bool, weight: Weight) -> Self {
        let base = if arabic { 0 } else { 2 };
        Self(base + usize::from(weight == Weight::Bold))
    }
    fn is_arabic(self) -> bool {
        self.0 < 2
    }
    fn is_bold(self) -> bool {
        self.0 % 2 == 1
    }
    fn with_family(self, arabic: bool) -> Self {
        let weight = if self.is_bold() {
            Weight::Bold
        } else {
            Weight::Regular
        };
        Self::new(arabic, weight)
    }
}

struct Slot {
    face: Face<'static>,
    font: Font,
    units_per_em: f32,
    /// The script every run in this font is shaped as.
    script: Script,
    /// Shaping plans, left-to-right then right-to-left (building one costs more than shaping
    /// a line, so they are built once).
    plans: [ShapePlan; 2],
}

/// The two shipped fonts, parsed once, and the lines laid out with them lately.
pub(crate) struct Fonts {
    /// Arabic, then Latin.
    slots: [Slot; 2],
    laid_out: Mutex<HashMap<LayoutKey, Vec<Line>>>,
}

/// What a layout depends on besides the fonts: text, weight, size and width (as bits).
#[derive(PartialEq, Eq, Hash)]
struct LayoutKey {
    text: String,
    weight: Weight,
    size: u32,
    max_width: u32,
}

/// Texts up to this length are remembered once laid out: the labels and the names of the
/// registry, administration and unit come back on every receipt, and shaping Arabic is
/// a quarter of drawing one.
const REMEMBERED_TEXT_BYTES: usize = 160;
/// Layouts remembered at most; all are forgotten when the table is full.
const REMEMBERED_LAYOUTS: usize = 1024;

static FONTS: LazyLock<Result<Fonts, String>> = LazyLock::new(Fonts::load);

/// The process-wide fonts, parsed on first use.
pub(crate) fn fonts() -> Result<&'static Fonts, PdfError> {
    FONTS.as_ref().map_err(|e| PdfError::Font(e.clone()))
}

impl Fonts {
    fn load() -> Result<Self, String> {
        Ok(Self {
            slots: [
                Slot::load("NotoNaskhArabic-Regular", NASKH_REGULAR, script::ARABIC)?,
                Slot::load("NotoSans-Regular", SANS_REGULAR, script::LATIN)?,
            ],
            laid_out: Mutex::new(HashMap::new()),
        })
    }

    fn slot(&self, id: FontId) -> &Slot {
        &self.slots[usize::from(!id.is_arabic())]
    }

    fn covers(&self, id: FontId, c: char) -> bool {
        self.slot(id).face.glyph_index(c).is_some()
    }

    /// The font for `c`: Arabic letters in the Arabic font, other letters in the Latin font,
    /// neutral characters (spaces, digits, punctuation) in the previous character's font.
    fn pick(&self, c: char, previous: Option<FontId>, weight: Weight) -> FontId {
        let arabic = FontId::new(true, weight);
        let latin = FontId::new(false, weight);
        let preferred = if is_arabic_script(c) {
            arabic
        } else if c.is_alphabetic() {
            latin
        } else {
            previous.unwrap_or(latin)
        };
        if self.covers(preferred, c) {
            preferred
        } else if self.covers(preferred.with_family(!preferred.is_arabic()), c) {
            preferred.with_family(!preferred.is_arabic())
        } else {
            preferred
        }
    }

    fn covered_by_any(&self, c: char) -> bool {
        self.slots.iter().any(|s| s.face.glyph_index(c).is_some())
    }
}

impl Slot {
    fn load(name: &str, bytes: &'static [u8], script: Script) -> Result<Self, String> {
        let face = Face::from_slice(bytes, 0).ok_or_else(|| format!("{name}: unreadable font"))?;
        let font = Font::new(bytes.into(), 0).ok_or_else(|| format!("{name}: krilla rejected"))?;
        let units_per_em = face.units_per_em() as f32;
        let features = no_ligatures();
        let plan = |dir| ShapePlan::new(&face, dir, Some(script), None, &features);
        let plans = [plan(Direction::LeftToRight), plan(Direction::RightToLeft)];
        Ok(Self {
            face,
            font,
            units_per_em,
            script,
            plans,
        })
    }
}

fn is_arabic_script(c: char) -> bool {
    matches!(c as u32,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x0870..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF)
}

/// Characters every font is expected to handle the same way (line separators become spaces,
/// other controls and uncovered characters become `?`).
fn sanitize(fonts: &Fonts, text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\r' | '\n' | '\u{2028}' | '\u{2029}' => ' ',
            c if c.is_control() => MISSING,
            // Bidi controls and joiners are handled by unicode-bidi and the shaper.
            '\u{200C}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => c,
            c if fonts.covered_by_any(c) => c,
            _ => MISSING,
        })
        .collect()
}

/// A shaped run: one font, one direction, glyphs in visual order.
#[derive(Clone)]
pub(crate) struct Run {
    pub(crate) font: Font,
    pub(crate) text: String,
    pub(crate) glyphs: Vec<KrillaGlyph>,
    /// Width in points at `size`.
    pub(crate) width: f32,
    pub(crate) size: f32,
    /// Drawn bold (filled and stroked).
    pub(crate) bold: bool,
}

/// One laid-out line: runs in visual order, left to right.
#[derive(Clone)]
pub(crate) struct Line {
    pub(crate) runs: Vec<Run>,
    pub(crate) width: f32,
    /// The paragraph direction, used for alignment.
    pub(crate) rtl: bool,
}

fn shape(fonts: &Fonts, id: FontId, text: &str, rtl: bool, size: f32) -> Run {
    let slot = fonts.slot(id);
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.set_script(slot.script);
    buffer.set_direction(if rtl {
        Direction::RightToLeft
    } else {
        Direction::LeftToRight
    });
    buffer.guess_segment_properties();
    let plan = &slot.plans[usize::from(rtl)];
    let output = rustybuzz::shape_with_plan(&slot.face, plan, buffer);
    let infos = output.glyph_infos();
    let positions = output.glyph_positions();
    let upem = slot.units_per_em;
    let mut glyphs = Vec::with_capacity(infos.len());
    let mut width = 0.0;
    for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
        let start = info.cluster as usize;
        let end = cluster_end(infos, i, rtl, text.len());
        let advance = pos.x_advance as f32 / upem;
        width += advance * size;
        glyphs.push(KrillaGlyph::new(
            GlyphId::new(info.glyph_id),
            advance,
            pos.x_offset as f32 / upem,
            pos.y_offset as f32 / upem,
            pos.y_advance as f32 / upem,
            start..end.max(start),
            None,
        ));
    }
    Run {
        font: slot.font.clone(),
        text: text.to_owned(),
        glyphs,
        width,
        size,
        bold: id.is_bold(),
    }
}

/// Optional ligatures off: poppler's text extraction reverses the characters of a multi-character
/// ligature glyph in right-to-left text (Noto Naskh's "الله" came out as "اهلل"). Required
/// Arabic ligatures (`rlig`) stay on.
fn no_ligatures() -> [rustybuzz::Feature; 1] {
    [rustybuzz::Feature::new(
        rustybuzz::ttf_parser::Tag::from_bytes(b"liga"),
        0,
        ..,
    )]
}

/// The end of the text range of glyph `i`'s cluster: the start of the next cluster in
/// logical order.
fn cluster_end(infos: &[rustybuzz::GlyphInfo], i: usize, rtl: bool, len: usize) -> usize {
    let cluster = infos[i].cluster;
    let next = if rtl {
        infos[..i].iter().rev().find(|g| g.cluster != cluster)
    } else {
        infos[i + 1..].iter().find(|g| g.cluster != cluster)
    };
    next.map_or(len, |g| g.cluster as usize)
}

/// A paragraph analysed once, from which lines are cut.
pub(crate) struct Paragraph {
    text: String,
    /// Font of each byte's character (stored at every byte of the character).
    font_at: Vec<FontId>,
    /// Advance in points of each character, stored at its first byte.
    advance_at: Vec<f32>,
    rtl: bool,
    size: f32,
}

impl Paragraph {
    pub(crate) fn new(fonts: &Fonts, text: &str, weight: Weight, size: f32) -> Self {
        let text = sanitize(fonts, text);
        let bidi = ParagraphBidiInfo::new(&text, None);
        let rtl = bidi.paragraph_level.is_rtl();
        let mut font_at = Vec::with_capacity(text.len());
        let mut previous = None;
        for c in text.chars() {
            let id = fonts.pick(c, previous, weight);
            previous = Some(id);
            font_at.extend(std::iter::repeat_n(id, c.len_utf8()));
        }
        let mut advance_at = vec![0.0; text.len()];
        for seg in segments(&font_at, &bidi.levels, 0..text.len()) {
            let run = shape(fonts, seg.font, &text[seg.range.clone()], seg.rtl, size);
            for g in &run.glyphs {
                if let Some(slot) = advance_at.get_mut(seg.range.start + g.text_range.start) {
                    *slot += g.x_advance * size;
                }
            }
        }
        Self {
            text,
            font_at,
            advance_at,
            rtl,
            size,
        }
    }

    /// Break into lines no wider than `max_width` (a word wider than that is cut between
    /// characters, so nothing is ever lost).
    pub(crate) fn lines(&self, fonts: &Fonts, max_width: f32) -> Vec<Line> {
        let bidi = ParagraphBidiInfo::new(&self.text, None);
        self.breaks(max_width)
            .into_iter()
            .map(|range| self.line(fonts, &bidi, range))
            .collect()
    }

    fn char_width(&self, i: usize) -> f32 {
        self.advance_at.get(i).copied().unwrap_or(0.0)
    }

    fn breaks(&self, max_width: f32) -> Vec<Range<usize>> {
        let mut lines = Vec::new();
        let mut start = 0;
        let mut width = 0.0;
        // Position after the last space seen in the current line, and the width up to it.
        let mut last_break: Option<(usize, f32)> = None;
        for (i, c) in self.text.char_indices() {
            let w = self.char_width(i);
            if c == ' ' {
                width += w;
                last_break = Some((i + 1, width));
                continue;
            }
            if width + w > max_width && i > start {
                match last_break {
                    Some((at, at_width)) if at > start => {
                        lines.push(start..at);
                        start = at;
                        width -= at_width;
                    }
                    _ => {
                        lines.push(start..i);
                        start = i;
                        width = 0.0;
                    }
                }
                last_break = None;
            }
            width += w;
        }
        if start < self.text.len() || lines.is_empty() {
            lines.push(start..self.text.len());
        }
        lines
    }

    fn line(&self, fonts: &Fonts, bidi: &ParagraphBidiInfo<'_>, range: Range<usize>) -> Line {
        let trimmed = trim_spaces(&self.text, range);
        let mut runs = Vec::new();
        if !trimmed.is_empty() {
            let (levels, level_runs) = bidi.visual_runs(trimmed);
            for level_run in level_runs {
                let mut segs = segments(&self.font_at, &levels, level_run);
                if segs.first().is_some_and(|s| s.rtl) {
                    segs.reverse();
                }
                for seg in segs {
                    let text = &self.text[seg.range];
                    runs.push(shape(fonts, seg.font, text, seg.rtl, self.size));
                }
            }
        }
        let width = runs.iter().map(|r| r.width).sum();
        Line {
            runs,
            width,
            rtl: self.rtl,
        }
    }
}

fn trim_spaces(text: &str, range: Range<usize>) -> Range<usize> {
    let slice = &text[range.clone()];
    let start = range.start + (slice.len() - slice.trim_start_matches(' ').len());
    let end = range.start + slice.trim_end_matches(' ').len();
    start..end.max(start)
}

struct Segment {
    range: Range<usize>,
    font: FontId,
    rtl: bool,
}

/// Maximal sub-ranges of `range` with one font and one direction, in logical order.
fn segments(
    font_at: &[FontId],
    levels: &[unicode_bidi::Level],
    range: Range<usize>,
) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for i in range {
        let (Some(&font), Some(level)) = (font_at.get(i), levels.get(i)) else {
            continue;
        };
        let rtl = level.is_rtl();
        match out.last_mut() {
            Some(seg) if seg.font == font && seg.rtl == rtl && seg.range.end == i => {
                seg.range.end = i + 1;
            }
            _ => out.push(Segment {
                range: i..i + 1,
                font,
                rtl,
            }),
        }
    }
    out
}

/// Lay out `text` into lines no wider than `max_width`; each `\n` starts a new paragraph.
pub(crate) fn layout(
    fonts: &Fonts,
    text: &str,
    weight: Weight,
    size: f32,
    max_width: f32,
) -> Vec<Line> {
    if text.len() > REMEMBERED_TEXT_BYTES {
        return layout_afresh(fonts, text, weight, size, max_width);
    }
    let key = LayoutKey {
        text: text.to_owned(),
        weight,
        size: size.to_bits(),
        max_width: max_width.to_bits(),
    };
    let table = || {
        fonts
            .laid_out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let known = table().get(&key).cloned();
    if let Some(lines) = known {
        return lines;
    }
    let lines = layout_afresh(fonts, text, weight, size, max_width);
    let mut map = table();
    if map.len() >= REMEMBERED_LAYOUTS {
        map.clear();
    }
    map.insert(key, lines.clone());
    lines
}

fn layout_afresh(
    fonts: &Fonts,
    text: &str,
    weight: Weight,
    size: f32,
    max_width: f32,
) -> Vec<Line> {
    text.split('\n')
        .flat_map(|p| Paragraph::new(fonts, p, weight, size).lines(fonts, max_width))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arabic_letters_use_the_arabic_font_and_latin_the_latin_font() {
        let fonts = fonts().unwrap();
        let lines = layout(fonts, "محمد Ali", Weight::Regular, 10.0, 500.0);
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert!(line.rtl);
        // Visual order in an RTL paragraph: the Latin word is on the left.
        assert_eq!(line.runs.first().unwrap().text, "Ali");
        assert_eq!(line.runs.last().unwrap().text, "محمد ");
    }

    #[test]
    fn bold_is_the_regular_face_drawn_bold() {
        let fonts = fonts().unwrap();
        let text = "محمد Ali — Déposant";
        let regular = layout(fonts, text, Weight::Regular, 10.0, 500.0);
        let bold = layout(fonts, text, Weight::Bold, 10.0, 500.0);
        assert_eq!(regular[0].runs.len(), bold[0].runs.len());
        for (r, b) in regular[0].runs.iter().zip(&bold[0].runs) {
            assert!(r.font == b.font, "one face per script, whatever the weight");
            assert!(!r.bold && b.bold);
            assert_eq!(r.text, b.text);
        }
    }

    #[test]
    fn long_hex_is_cut_and_nothing_is_lost() {
        let fonts = fonts().unwrap();
        let hex = "ab".repeat(64);
        let lines = layout(fonts, &hex, Weight::Regular, 8.0, 100.0);
        assert!(lines.len() > 2);
        let joined: String = lines
            .iter()
            .flat_map(|l| l.runs.iter().map(|r| r.text.clone()))
            .collect();
        assert_eq!(joined, hex);
        assert!(lines.iter().all(|l| l.width <= 100.5));
    }

    #[test]
    fn words_wrap_at_spaces() {
        let fonts = fonts().unwrap();
        let lines = layout(
            fonts,
            "un deux trois quatre cinq six sept",
            Weight::Bold,
            10.0,
            60.0,
        );
        assert!(lines.len() >= 3);
        for l in &lines {
            for r in &l.runs {
                assert!(!r.text.starts_with(' ') && !r.text.ends_with(' '));
            }
        }
    }

    #[test]
    fn uncovered_and_control_characters_are_replaced() {
        let fonts = fonts().unwrap();
        let lines = layout(fonts, "a\u{1F600}b\u{7}", Weight::Regular, 10.0, 500.0);
        let text: String = lines[0].runs.iter().map(|r| r.text.clone()).collect();
        assert_eq!(text, "a?b?");
    }

    #[test]
    fn empty_text_gives_one_empty_line() {
        let fonts = fonts().unwrap();
        let lines = layout(fonts, "", Weight::Regular, 10.0, 100.0);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].runs.is_empty());
    }
}

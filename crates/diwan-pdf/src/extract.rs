//! The text of a born-digital PDF, in logical order, and the scanned images of its pages that
//! carry no text (for OCR).
//!
//! Glyphs are mapped to text through each font's `ToUnicode` CMap (or, for simple fonts without
//! one, their standard encoding), placed with the text and graphics matrices, grouped into
//! lines and ordered along each line by position. PDF producers draw Arabic in visual order
//! (left to right, as shaped), so a line that holds right-to-left text is put back in logical
//! order: runs are reversed glyph by glyph (a ligature's text stays as it is), left-to-right
//! runs (Latin words, numbers) keep their order. `/ActualText` spans replace the glyphs they
//! cover. Arabic presentation forms become the letters they stand for.
//!
//! The input may be hostile: the page tree is walked without recursion with a visited set,
//! content streams are tokenised without recursion, decoded sizes, pages, operations, nesting
//! and output are bounded.

use std::collections::{HashMap, HashSet};

use lopdf::{Dictionary, Document, Object};

use crate::PdfError;
use crate::syntax::parse;

/// Bounds on the work done for one PDF.
#[derive(Debug, Clone)]
pub struct ExtractLimits {
    /// Pages read; the rest are left out.
    pub max_pages: usize,
    /// Characters of text returned.
    pub max_chars: usize,
    /// Decoded bytes of one stream (content stream, CMap, image).
    pub max_stream_bytes: usize,
    /// Content-stream operations interpreted, over the whole document.
    pub max_operations: usize,
    /// Scanned images returned for OCR.
    pub max_images: usize,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        Self {
            max_pages: 2_000,
            max_chars: 1_000_000,
            max_stream_bytes: 16 * 1024 * 1024,
            max_operations: 5_000_000,
            max_images: 200,
        }
    }
}

/// What came out of a PDF.
#[derive(Debug, Default)]
pub struct ExtractedText {
    /// Lines separated by `\n`, pages by an empty line.
    pub text: String,
    /// Pages read.
    pub pages: usize,
    /// Pages with no text of their own but an image: the JPEG bytes (DCT streams, unchanged),
    /// for OCR. At most one image per page, the largest.
    pub scanned_images: Vec<Vec<u8>>,
    /// A limit was reached: the text is incomplete.
    pub truncated: bool,
}

/// Text of `pdf`, and the images of its pages without text.
pub fn extract_text(pdf: &[u8], limits: &ExtractLimits) -> Result<ExtractedText, PdfError> {
    let doc = parse(pdf)?;
    if doc.trailer.get(b"Encrypt").is_ok() {
        return Err(PdfError::Malformed("encrypted".to_owned()));
    }
    let mut out = ExtractedText::default();
    let mut budget = Budget {
        operations: limits.max_operations,
        exhausted: false,
    };
    let pages = page_list(&doc, limits.max_pages, &mut out.truncated);
    let mut fonts: HashMap<*const Dictionary, Font> = HashMap::new();
    for page in pages {
        out.pages += 1;
        let mut glyphs = Vec::new();
        let mut images = Vec::new();
        let content = page_content(&doc, page.dict, limits.max_stream_bytes);
        let mut run = Run {
            doc: &doc,
            limits,
            fonts: &mut fonts,
            budget: &mut budget,
            glyphs: &mut glyphs,
            images: &mut images,
        };
        run.interpret(&content, page.resources, Matrix::IDENTITY, 0);
        let lines = lines_of(glyphs);
        let mut page_text = String::new();
        for line in lines {
            page_text.push_str(&line);
            page_text.push('\n');
        }
        if page_text.trim().is_empty() {
            if let Some(image) = images.into_iter().max_by_key(Vec::len)
                && out.scanned_images.len() < limits.max_images
            {
                out.scanned_images.push(image);
            }
        } else {
            if !out.text.is_empty() {
                out.text.push('\n');
            }
            out.text.push_str(&page_text);
        }
        if out.text.chars().count() > limits.max_chars {
            let cut = out
                .text
                .char_indices()
                .nth(limits.max_chars)
                .map_or(out.text.len(), |(i, _)| i);
            out.text.truncate(cut);
            out.truncated = true;
            break;
        }
        if budget.exhausted {
            out.truncated = true;
            break;
        }
    }
    Ok(out)
}

struct Budget {
    operations: usize,
    exhausted: bool,
}

impl Budget {
    fn spend(&mut self) -> bool {
        if self.operations == 0 {
            self.exhausted = true;
            return false;
        }
        self.operations -= 1;
        true
    }
}

// --- objects ---------------------------------------------------------------------------------

fn resolve<'a>(doc: &'a Document, mut o: &'a Object) -> Option<&'a Object> {
    for _ in 0..16 {
        match o {
            Object::Reference(id) => o = doc.objects.get(id)?,
            _ => return Some(o),
        }
    }
    None
}

fn dict_of<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Dictionary> {
    match resolve(doc, o)? {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

fn get<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    d.get(key).ok().and_then(|o| resolve(doc, o))
}

fn number(o: &Object) -> Option<f32> {
    match o {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

fn stream_bytes(doc: &Document, o: &Object, max: usize) -> Option<Vec<u8>> {
    match resolve(doc, o)? {
        Object::Stream(s) => {
            if s.dict.get(b"Filter").is_err() {
                (s.content.len() <= max).then(|| s.content.clone())
            } else {
                s.decompressed_content_with_limit(max).ok()
            }
        }
        _ => None,
    }
}

struct Page<'a> {
    dict: &'a Dictionary,
    resources: Option<&'a Dictionary>,
}

/// The pages in order, walking the tree with an explicit stack; a node seen twice is skipped.
fn page_list<'a>(doc: &'a Document, max: usize, truncated: &mut bool) -> Vec<Page<'a>> {
    let mut out = Vec::new();
    let Some(root) = doc.trailer.get(b"Root").ok().and_then(|o| dict_of(doc, o)) else {
        return out;
    };
    let Ok(top) = root.get(b"Pages") else {
        return out;
    };
    let mut stack: Vec<(&Object, Option<&Dictionary>)> = vec![(top, None)];
    let mut seen = HashSet::new();
    while let Some((node, inherited)) = stack.pop() {
        if let Object::Reference(id) = node
            && !seen.insert(*id)
        {
            continue;
        }
        let Some(d) = dict_of(doc, node) else {
            continue;
        };
        let resources = get(doc, d, b"Resources")
            .and_then(|o| dict_of(doc, o))
            .or(inherited);
        match get(doc, d, b"Kids") {
            Some(Object::Array(kids)) => {
                if stack.len() + kids.len() > 1_000_000 {
                    *truncated = true;
                    break;
                }
                stack.extend(kids.iter().rev().map(|k| (k, resources)));
            }
            _ => {
                if out.len() == max {
                    *truncated = true;
                    break;
                }
                out.push(Page { dict: d, resources });
            }
        }
    }
    out
}

fn page_content(doc: &Document, page: &Dictionary, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    match get(doc, page, b"Contents") {
        Some(Object::Array(parts)) => {
            for part in parts.iter().take(1_000) {
                if let Some(bytes) = stream_bytes(doc, part, max.saturating_sub(out.len())) {
                    out.extend_from_slice(&bytes);
                    out.push(b'\n');
                }
            }
        }
        Some(o @ Object::Stream(_)) => {
            if let Some(bytes) = stream_bytes(doc, o, max) {
                out = bytes;
            }
        }
        _ => {}
    }
    out
}

// --- fonts -----------------------------------------------------------------------------------

/// How a font's codes become text and how far each moves the pen.
#[derive(Default)]
struct Font {
    two_bytes: bool,
    to_unicode: HashMap<u32, String>,
    simple: bool,
    first_char: u32,
    widths: Vec<f32>,
    cid_widths: HashMap<u32, f32>,
    default_width: f32,
}

impl Font {
    fn load(doc: &Document, d: &Dictionary, max: usize) -> Font {
        let subtype = match get(doc, d, b"Subtype") {
            Some(Object::Name(n)) => n.clone(),
            _ => Vec::new(),
        };
        let mut font = Font {
            default_width: 1000.0,
            ..Font::default()
        };
        if subtype == b"Type0" {
            font.two_bytes = true;
            if let Some(Object::Array(desc)) = get(doc, d, b"DescendantFonts")
                && let Some(cid) = desc.first().and_then(|o| dict_of(doc, o))
            {
                if let Some(dw) = get(doc, cid, b"DW").and_then(number) {
                    font.default_width = dw;
                }
                if let Some(Object::Array(w)) = get(doc, cid, b"W") {
                    font.cid_widths = cid_widths(doc, w);
                }
            }
        } else {
            font.simple = true;
            font.default_width = 500.0;
            font.first_char = get(doc, d, b"FirstChar")
                .and_then(number)
                .map_or(0, |n| n.max(0.0) as u32);
            if let Some(Object::Array(w)) = get(doc, d, b"Widths") {
                font.widths = w
                    .iter()
                    .take(256)
                    .map(|o| resolve(doc, o).and_then(number).unwrap_or(0.0))
                    .collect();
            }
        }
        if let Some(cmap) = d
            .get(b"ToUnicode")
            .ok()
            .and_then(|o| stream_bytes(doc, o, max))
        {
            let (map, width) = parse_cmap(&cmap);
            font.to_unicode = map;
            if let Some(width) = width {
                font.two_bytes = width >= 2;
            }
        }
        font
    }

    fn codes(&self, bytes: &[u8]) -> Vec<u32> {
        if self.two_bytes {
            bytes
                .chunks(2)
                .map(|c| c.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)))
                .collect()
        } else {
            bytes.iter().map(|b| u32::from(*b)).collect()
        }
    }

    fn text(&self, code: u32) -> String {
        if let Some(t) = self.to_unicode.get(&code) {
            return t.clone();
        }
        if self.simple {
            return win_ansi(code).map(String::from).unwrap_or_default();
        }
        String::new()
    }

    fn width(&self, code: u32) -> f32 {
        if self.simple {
            code.checked_sub(self.first_char)
                .and_then(|i| self.widths.get(i as usize))
                .copied()
                .filter(|w| *w > 0.0)
                .unwrap_or(self.default_width)
        } else {
            self.cid_widths
                .get(&code)
                .copied()
                .unwrap_or(self.default_width)
        }
    }
}

fn cid_widths(doc: &Document, w: &[Object]) -> HashMap<u32, f32> {
    let mut out = HashMap::new();
    let mut i = 0;
    while i < w.len() && out.len() < 100_000 {
        let first = resolve(doc, &w[i]).and_then(number);
        match (first, w.get(i + 1).and_then(|o| resolve(doc, o))) {
            (Some(c), Some(Object::Array(ws))) => {
                for (k, o) in ws.iter().take(65_536).enumerate() {
                    if let Some(width) = resolve(doc, o).and_then(number) {
                        out.insert(c as u32 + k as u32, width);
                    }
                }
                i += 2;
            }
            (Some(lo), Some(hi)) => {
                let hi = number(hi).unwrap_or(lo);
                let width = w
                    .get(i + 2)
                    .and_then(|o| resolve(doc, o))
                    .and_then(number)
                    .unwrap_or(0.0);
                let (lo, hi) = (lo as u32, hi as u32);
                for c in lo..=hi.min(lo.saturating_add(65_535)) {
                    out.insert(c, width);
                }
                i += 3;
            }
            _ => break,
        }
    }
    out
}

/// Most entries a CMap may define.
const MAX_CMAP_ENTRIES: usize = 200_000;

/// A `ToUnicode` CMap: code → text, and the byte width of its codes.
fn parse_cmap(bytes: &[u8]) -> (HashMap<u32, String>, Option<usize>) {
    let mut map = HashMap::new();
    let mut width = None;
    let mut lexer = Lexer::new(bytes);
    let mut operands: Vec<Token> = Vec::new();
    let mut section: Option<Vec<u8>> = None;
    while let Some(token) = lexer.next_token() {
        match token {
            Token::Op(op) => {
                match op.as_slice() {
                    b"begincodespacerange" | b"beginbfchar" | b"beginbfrange" => {
                        section = Some(op);
                    }
                    b"endcodespacerange" => {
                        if let Some(Token::Str(lo)) = operands.first() {
                            width = Some(lo.len());
                        }
                        section = None;
                    }
                    b"endbfchar" => {
                        for pair in operands.chunks(2) {
                            if let [Token::Str(src), Token::Str(dst)] = pair {
                                map.insert(code_of(src), utf16(dst));
                            }
                        }
                        section = None;
                    }
                    b"endbfrange" => {
                        for triple in operands.chunks(3) {
                            bf_range(&mut map, triple);
                            if map.len() >= MAX_CMAP_ENTRIES {
                                break;
                            }
                        }
                        section = None;
                    }
                    _ => {}
                }
                operands.clear();
            }
            t if section.is_some() && operands.len() < 3 * 100_000 => operands.push(t),
            _ => {}
        }
        if map.len() >= MAX_CMAP_ENTRIES {
            break;
        }
    }
    (map, width)
}

fn bf_range(map: &mut HashMap<u32, String>, triple: &[Token]) {
    let [Token::Str(lo), Token::Str(hi), dst] = triple else {
        return;
    };
    let (lo, hi) = (code_of(lo), code_of(hi));
    if hi < lo || hi - lo > 65_535 {
        return;
    }
    match dst {
        Token::Str(start) => {
            let mut units: Vec<u16> = start
                .chunks(2)
                .map(|c| c.iter().fold(0u16, |a, b| (a << 8) | u16::from(*b)))
                .collect();
            for code in lo..=hi {
                map.insert(code, String::from_utf16_lossy(&units));
                if let Some(last) = units.last_mut() {
                    *last = last.wrapping_add(1);
                }
                if map.len() >= MAX_CMAP_ENTRIES {
                    return;
                }
            }
        }
        Token::Array(items) => {
            for (code, item) in (lo..=hi).zip(items) {
                if let Token::Str(s) = item {
                    map.insert(code, utf16(s));
                }
            }
        }
        _ => {}
    }
}

fn code_of(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .fold(0u32, |a, b| (a << 8) | u32::from(*b))
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| c.iter().fold(0u16, |a, b| (a << 8) | u16::from(*b)))
        .collect();
    String::from_utf16_lossy(&units)
}

/// WinAnsiEncoding, close enough for text search (Latin-1 plus the 0x80–0x9F block).
fn win_ansi(code: u32) -> Option<char> {
    const HIGH: [char; 32] = [
        '€', '\u{0}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{0}', 'Ž', '\u{0}',
        '\u{0}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{0}', 'ž', 'Ÿ',
    ];
    match code {
        0x20..=0x7e | 0xa0..=0xff => char::from_u32(code),
        0x80..=0x9f => Some(HIGH[(code - 0x80) as usize]).filter(|c| *c != '\u{0}'),
        _ => None,
    }
}

// --- content streams -------------------------------------------------------------------------

/// A token of a content stream or CMap. Arrays hold their items; dictionaries keep only
/// their `/ActualText` (the one entry the reader needs); nesting is built without recursion.
#[derive(Debug, Clone)]
enum Token {
    Num(f32),
    Str(Vec<u8>),
    Name(Vec<u8>),
    Array(Vec<Token>),
    Dict(Option<Vec<u8>>),
    Op(Vec<u8>),
}

/// Deepest nesting of arrays and dictionaries in a content stream.
const MAX_NESTING: usize = 32;

struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

enum Frame {
    Array(Vec<Token>),
    Dict(Vec<Token>),
}

impl<'a> Lexer<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// The next complete token (an array or dictionary as one token).
    fn next_token(&mut self) -> Option<Token> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let token = self.next_simple()?;
            let done = match token {
                Simple::Open(is_dict) => {
                    if stack.len() >= MAX_NESTING {
                        // Refuse deeper nesting: drop everything up to the end of the stream.
                        self.pos = self.bytes.len();
                        return None;
                    }
                    stack.push(if is_dict {
                        Frame::Dict(Vec::new())
                    } else {
                        Frame::Array(Vec::new())
                    });
                    continue;
                }
                Simple::Close(is_dict) => match stack.pop() {
                    Some(Frame::Array(items)) if !is_dict => Token::Array(items),
                    Some(Frame::Dict(items)) if is_dict => Token::Dict(actual_text(&items)),
                    Some(_) | None => continue,
                },
                Simple::Token(t) => t,
            };
            match stack.last_mut() {
                Some(Frame::Array(items) | Frame::Dict(items)) => {
                    if items.len() < 1_000_000 {
                        items.push(done);
                    }
                }
                None => return Some(done),
            }
        }
    }

    fn next_simple(&mut self) -> Option<Simple> {
        let b = self.bytes;
        loop {
            while self.pos < b.len() && is_space(b[self.pos]) {
                self.pos += 1;
            }
            if self.pos < b.len() && b[self.pos] == b'%' {
                while self.pos < b.len() && b[self.pos] != b'\n' && b[self.pos] != b'\r' {
                    self.pos += 1;
                }
                continue;
            }
            break;
        }
        let c = *b.get(self.pos)?;
        self.pos += 1;
        Some(match c {
            b'(' => Simple::Token(Token::Str(self.literal())),
            b'<' if b.get(self.pos) == Some(&b'<') => {
                self.pos += 1;
                Simple::Open(true)
            }
            b'>' if b.get(self.pos) == Some(&b'>') => {
                self.pos += 1;
                Simple::Close(true)
            }
            b'<' => Simple::Token(Token::Str(self.hex())),
            b'[' => Simple::Open(false),
            b']' => Simple::Close(false),
            b'/' => {
                let start = self.pos;
                while self.pos < b.len() && !is_space(b[self.pos]) && !is_delimiter(b[self.pos]) {
                    self.pos += 1;
                }
                Simple::Token(Token::Name(b[start..self.pos].to_vec()))
            }
            _ => {
                let start = self.pos - 1;
                while self.pos < b.len() && !is_space(b[self.pos]) && !is_delimiter(b[self.pos]) {
                    self.pos += 1;
                }
                let word = &b[start..self.pos];
                if word.is_empty() {
                    // A stray delimiter (`)`, `>`, `{`, `}`): skip it.
                    return Some(Simple::Token(Token::Op(Vec::new())));
                }
                match std::str::from_utf8(word).ok().and_then(|s| s.parse().ok()) {
                    Some(n)
                        if word[0].is_ascii_digit() || matches!(word[0], b'-' | b'+' | b'.') =>
                    {
                        Simple::Token(Token::Num(n))
                    }
                    _ => {
                        if word == b"BI" {
                            self.skip_inline_image();
                        }
                        Simple::Token(Token::Op(word.to_vec()))
                    }
                }
            }
        })
    }

    fn literal(&mut self) -> Vec<u8> {
        let b = self.bytes;
        let mut out = Vec::new();
        let mut depth = 1usize;
        while self.pos < b.len() {
            let c = b[self.pos];
            self.pos += 1;
            match c {
                b'\\' => {
                    let Some(&e) = b.get(self.pos) else { break };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match b.get(self.pos) {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        b'\r' => {
                            if b.get(self.pos) == Some(&b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                b'(' => {
                    depth += 1;
                    out.push(c);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        out
    }

    fn hex(&mut self) -> Vec<u8> {
        let b = self.bytes;
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        while self.pos < b.len() {
            let c = b[self.pos];
            self.pos += 1;
            let v = match c {
                b'>' => break,
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => continue,
            };
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        out
    }

    /// Skips an inline image's data: from `ID` to the `EI` that ends it.
    fn skip_inline_image(&mut self) {
        let b = self.bytes;
        while self.pos + 1 < b.len() {
            if &b[self.pos..self.pos + 2] == b"ID"
                && b.get(self.pos + 2).is_none_or(|c| is_space(*c))
                && (self.pos == 0 || is_space(b[self.pos - 1]))
            {
                self.pos += 3;
                break;
            }
            self.pos += 1;
        }
        while self.pos + 1 < b.len() {
            if &b[self.pos..self.pos + 2] == b"EI"
                && is_space(b[self.pos - 1])
                && b.get(self.pos + 2).is_none_or(|c| is_space(*c))
            {
                self.pos += 2;
                return;
            }
            self.pos += 1;
        }
        self.pos = b.len();
    }
}

enum Simple {
    Open(bool),
    Close(bool),
    Token(Token),
}

fn actual_text(items: &[Token]) -> Option<Vec<u8>> {
    items.chunks(2).find_map(|kv| match kv {
        [Token::Name(k), Token::Str(v)] if k == b"ActualText" => Some(v.clone()),
        _ => None,
    })
}

/// A PDF text string (UTF-16BE with BOM, UTF-8 with BOM, or PDFDocEncoding ≈ Latin-1).
fn text_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        utf16(rest)
    } else if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        bytes.iter().map(|b| char::from(*b)).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Matrix([f32; 6]);

impl Matrix {
    const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    /// `self` then `other` (row-vector convention of PDF: p' = p × self × other).
    fn then(self, other: Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }

    fn translate(x: f32, y: f32) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, x, y])
    }

    fn origin(self) -> (f32, f32) {
        (self.0[4], self.0[5])
    }

    fn scale(self) -> f32 {
        (self.0[2] * self.0[2] + self.0[3] * self.0[3]).sqrt()
    }
}

/// A glyph as placed on the page.
#[derive(Debug, Clone)]
struct Glyph {
    x: f32,
    y: f32,
    end: f32,
    size: f32,
    text: String,
}

struct TextState {
    font: Option<*const Dictionary>,
    size: f32,
    char_spacing: f32,
    word_spacing: f32,
    scale: f32,
    leading: f32,
    rise: f32,
    tm: Matrix,
    tlm: Matrix,
}

struct Run<'d, 'r> {
    doc: &'d Document,
    limits: &'r ExtractLimits,
    fonts: &'r mut HashMap<*const Dictionary, Font>,
    budget: &'r mut Budget,
    glyphs: &'r mut Vec<Glyph>,
    images: &'r mut Vec<Vec<u8>>,
}

/// Deepest chain of form XObjects followed.
const MAX_FORM_DEPTH: usize = 4;

fn nums(operands: &[Token]) -> Vec<f32> {
    operands
        .iter()
        .filter_map(|t| match t {
            Token::Num(n) => Some(*n),
            _ => None,
        })
        .collect()
}

impl Run<'_, '_> {
    fn interpret(
        &mut self,
        content: &[u8],
        resources: Option<&Dictionary>,
        base: Matrix,
        depth: usize,
    ) {
        let doc = self.doc;
        let font_dict = resources
            .and_then(|r| get(doc, r, b"Font"))
            .and_then(|o| dict_of(doc, o));
        let xobjects = resources
            .and_then(|r| get(doc, r, b"XObject"))
            .and_then(|o| dict_of(doc, o));
        let mut lexer = Lexer::new(content);
        let mut operands: Vec<Token> = Vec::new();
        let mut ctm = base;
        let mut saved: Vec<Matrix> = Vec::new();
        let mut ts = TextState {
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
            leading: 0.0,
            rise: 0.0,
            tm: Matrix::IDENTITY,
            tlm: Matrix::IDENTITY,
        };
        // Marked content: Some(text) for an /ActualText span, with where it started.
        let mut marked: Vec<Option<(String, Matrix, f32)>> = Vec::new();
        while let Some(token) = lexer.next_token() {
            let Token::Op(op) = token else {
                if operands.len() < 64 {
                    operands.push(token);
                }
                continue;
            };
            if !self.budget.spend() {
                return;
            }
            let n = nums(&operands);
            let silent = marked.iter().any(Option::is_some);
            match op.as_slice() {
                b"q" if saved.len() < 256 => saved.push(ctm),
                b"Q" => ctm = saved.pop().unwrap_or(base),
                b"cm" if n.len() == 6 => {
                    ctm = Matrix([n[0], n[1], n[2], n[3], n[4], n[5]]).then(ctm);
                }
                b"BT" => {
                    ts.tm = Matrix::IDENTITY;
                    ts.tlm = Matrix::IDENTITY;
                }
                b"Tf" => {
                    if let (Some(Token::Name(name)), Some(size)) = (operands.first(), n.last()) {
                        ts.size = *size;
                        ts.font = font_dict
                            .and_then(|f| get(doc, f, name))
                            .and_then(|o| dict_of(doc, o))
                            .map(|d| d as *const Dictionary);
                        if let Some(d) = font_dict
                            .and_then(|f| get(doc, f, name))
                            .and_then(|o| dict_of(doc, o))
                        {
                            let key = d as *const Dictionary;
                            if !self.fonts.contains_key(&key) && self.fonts.len() < 10_000 {
                                self.fonts
                                    .insert(key, Font::load(doc, d, self.limits.max_stream_bytes));
                            }
                        }
                    }
                }
                b"Tc" if n.len() == 1 => ts.char_spacing = n[0],
                b"Tw" if n.len() == 1 => ts.word_spacing = n[0],
                b"Tz" if n.len() == 1 => ts.scale = n[0] / 100.0,
                b"TL" if n.len() == 1 => ts.leading = n[0],
                b"Ts" if n.len() == 1 => ts.rise = n[0],
                b"Td" if n.len() == 2 => {
                    ts.tlm = Matrix::translate(n[0], n[1]).then(ts.tlm);
                    ts.tm = ts.tlm;
                }
                b"TD" if n.len() == 2 => {
                    ts.leading = -n[1];
                    ts.tlm = Matrix::translate(n[0], n[1]).then(ts.tlm);
                    ts.tm = ts.tlm;
                }
                b"Tm" if n.len() == 6 => {
                    ts.tlm = Matrix([n[0], n[1], n[2], n[3], n[4], n[5]]);
                    ts.tm = ts.tlm;
                }
                b"T*" => next_line(&mut ts),
                b"Tj" => {
                    if let Some(Token::Str(s)) = operands.first() {
                        self.show(&mut ts, ctm, s, silent);
                    }
                }
                b"'" => {
                    next_line(&mut ts);
                    if let Some(Token::Str(s)) = operands.first() {
                        self.show(&mut ts, ctm, s, silent);
                    }
                }
                b"\"" => {
                    if n.len() >= 2 {
                        ts.word_spacing = n[0];
                        ts.char_spacing = n[1];
                    }
                    next_line(&mut ts);
                    if let Some(Token::Str(s)) = operands.last() {
                        self.show(&mut ts, ctm, s, silent);
                    }
                }
                b"TJ" => {
                    if let Some(Token::Array(items)) = operands.first() {
                        for item in items {
                            match item {
                                Token::Str(s) => self.show(&mut ts, ctm, s, silent),
                                Token::Num(k) => {
                                    let tx = -k / 1000.0 * ts.size * ts.scale;
                                    ts.tm = Matrix::translate(tx, 0.0).then(ts.tm);
                                }
                                _ => {}
                            }
                        }
                    }
                }
                b"BMC" => marked.push(None),
                b"BDC" => marked.push(match operands.last() {
                    Some(Token::Dict(Some(text))) => {
                        let at = ts.tm.then(ctm);
                        Some((text_string(text), at, ts.size * at.scale()))
                    }
                    _ => None,
                }),
                b"EMC" => {
                    if let Some(Some((text, at, size))) = marked.pop() {
                        let (x, y) = at.origin();
                        let (end, _) = ts.tm.then(ctm).origin();
                        if !marked.iter().any(Option::is_some) {
                            self.glyphs.push(Glyph {
                                x: x.min(end),
                                y,
                                end: x.max(end),
                                size: size.abs().max(1.0),
                                text,
                            });
                        }
                    }
                }
                b"Do" => {
                    if let (Some(Token::Name(name)), Some(xo)) = (operands.first(), xobjects) {
                        self.xobject(xo, name, ctm, depth);
                    }
                }
                _ => {}
            }
            operands.clear();
        }
    }

    fn xobject(&mut self, xobjects: &Dictionary, name: &[u8], ctm: Matrix, depth: usize) {
        let doc = self.doc;
        let Some(Object::Stream(s)) = get(doc, xobjects, name) else {
            return;
        };
        match s.dict.get(b"Subtype") {
            Ok(Object::Name(n)) if n == b"Form" && depth < MAX_FORM_DEPTH => {
                let Ok(content) = (if s.dict.get(b"Filter").is_err() {
                    Ok(s.content.clone())
                } else {
                    s.decompressed_content_with_limit(self.limits.max_stream_bytes)
                }) else {
                    return;
                };
                let matrix = match get(doc, &s.dict, b"Matrix") {
                    Some(Object::Array(m)) if m.len() == 6 => {
                        let v: Vec<f32> = m
                            .iter()
                            .map(|o| resolve(doc, o).and_then(number).unwrap_or(0.0))
                            .collect();
                        Matrix([v[0], v[1], v[2], v[3], v[4], v[5]])
                    }
                    _ => Matrix::IDENTITY,
                };
                let resources = get(doc, &s.dict, b"Resources").and_then(|o| dict_of(doc, o));
                self.interpret(&content, resources, matrix.then(ctm), depth + 1);
            }
            Ok(Object::Name(n)) if n == b"Image" => {
                let dct = match s.dict.get(b"Filter") {
                    Ok(Object::Name(f)) => f == b"DCTDecode",
                    Ok(Object::Array(fs)) => {
                        fs.len() == 1 && matches!(&fs[0], Object::Name(f) if f == b"DCTDecode")
                    }
                    _ => false,
                };
                if dct && s.content.len() <= self.limits.max_stream_bytes && self.images.len() < 8 {
                    self.images.push(s.content.clone());
                }
            }
            _ => {}
        }
    }

    fn show(&mut self, ts: &mut TextState, ctm: Matrix, bytes: &[u8], silent: bool) {
        let Some(font) = ts.font.and_then(|k| self.fonts.get(&k)) else {
            return;
        };
        for code in font.codes(bytes) {
            let trm = Matrix::translate(0.0, ts.rise).then(ts.tm).then(ctm);
            let w0 = font.width(code) / 1000.0;
            let mut tx = w0 * ts.size + ts.char_spacing;
            if font.simple && code == 32 {
                tx += ts.word_spacing;
            }
            tx *= ts.scale;
            let (x, y) = trm.origin();
            ts.tm = Matrix::translate(tx, 0.0).then(ts.tm);
            let (end, _) = Matrix::translate(0.0, ts.rise)
                .then(ts.tm)
                .then(ctm)
                .origin();
            if !silent && self.glyphs.len() < 4_000_000 {
                self.glyphs.push(Glyph {
                    x: x.min(end),
                    y,
                    end: x.max(end),
                    size: (ts.size * ts.tm.scale() * ctm.scale()).abs().max(1.0),
                    text: font.text(code),
                });
            }
        }
    }
}

fn next_line(ts: &mut TextState) {
    ts.tlm = Matrix::translate(0.0, -ts.leading).then(ts.tlm);
    ts.tm = ts.tlm;
}

// --- lines and reading order -----------------------------------------------------------------

/// Glyphs grouped into lines (in the order the content draws them, a new line when the
/// baseline moves), each line's glyphs ordered by position and put in logical order.
fn lines_of(glyphs: Vec<Glyph>) -> Vec<String> {
    let mut lines: Vec<Vec<Glyph>> = Vec::new();
    for g in glyphs {
        if g.text.is_empty() {
            continue;
        }
        let same_line = lines
            .last()
            .and_then(|l| l.first())
            .is_some_and(|first| (first.y - g.y).abs() < 0.5 * first.size.min(g.size).max(1.0));
        match lines.last_mut() {
            Some(line) if same_line => line.push(g),
            _ => lines.push(vec![g]),
        }
    }
    lines
        .into_iter()
        .filter_map(|mut line| {
            line.sort_by(|a, b| a.x.total_cmp(&b.x));
            let mut units: Vec<String> = Vec::with_capacity(line.len());
            let mut last_end: Option<(f32, f32)> = None;
            for g in line {
                if let Some((end, size)) = last_end
                    && g.x - end > 0.2 * size
                    && !units.last().is_some_and(|u| u.ends_with(' '))
                    && !g.text.starts_with(' ')
                {
                    units.push(" ".to_owned());
                }
                last_end = Some((g.end.max(last_end.map_or(g.end, |l| l.0)), g.size));
                units.push(g.text);
            }
            let text = logical(units);
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            (!text.is_empty()).then_some(text)
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    Rtl,
    Ltr,
    Neutral,
}

fn is_rtl(c: char) -> bool {
    matches!(c as u32,
        0x0590..=0x05ff | 0x0600..=0x06ff | 0x0700..=0x08ff | 0xfb1d..=0xfdff | 0xfe70..=0xfeff)
        && !c.is_ascii_digit()
        && !matches!(c as u32, 0x0660..=0x0669 | 0x06f0..=0x06f9)
}

fn dir_of(unit: &str) -> Dir {
    for c in unit.chars() {
        if is_rtl(c) {
            return Dir::Rtl;
        }
        if c.is_alphanumeric() {
            return Dir::Ltr;
        }
    }
    Dir::Neutral
}

/// A line's glyph texts in visual order → the line's text in logical order. The line's
/// direction is that of most of its strong characters (visual order alone cannot tell a French
/// line ending in an Arabic name from an Arabic line starting with a French word; words come
/// out whole either way, which is what search needs). Glyphs map to the characters typed (a
/// shaper mirrors brackets by glyph), so no character is mirrored here.
fn logical(units: Vec<String>) -> String {
    let dirs: Vec<Dir> = units.iter().map(|u| dir_of(u)).collect();
    let rtl = dirs.iter().filter(|d| **d == Dir::Rtl).count();
    let ltr = dirs.iter().filter(|d| **d == Dir::Ltr).count();
    let text = if rtl == 0 {
        units.concat()
    } else {
        // Runs of the minority direction's strong units (with the neutrals between them).
        let paragraph_rtl = rtl >= ltr;
        let inner = if paragraph_rtl { Dir::Ltr } else { Dir::Rtl };
        let mut runs: Vec<(bool, Vec<String>)> = Vec::new();
        let mut i = 0;
        while i < units.len() {
            if dirs[i] == inner {
                let mut j = i;
                let mut k = i;
                while k < units.len() && dirs[k] != if paragraph_rtl { Dir::Rtl } else { Dir::Ltr }
                {
                    if dirs[k] == inner {
                        j = k;
                    }
                    k += 1;
                }
                runs.push((true, units[i..=j].to_vec()));
                i = j + 1;
            } else {
                match runs.last_mut() {
                    Some((false, items)) => items.push(units[i].clone()),
                    _ => runs.push((false, vec![units[i].clone()])),
                }
                i += 1;
            }
        }
        if paragraph_rtl {
            // Outer text is right to left: reverse the runs, and the glyphs of outer runs.
            runs.reverse();
            runs.into_iter()
                .map(|(is_inner, items)| {
                    if is_inner {
                        items.concat()
                    } else {
                        items.into_iter().rev().collect::<String>()
                    }
                })
                .collect()
        } else {
            runs.into_iter()
                .map(|(is_inner, items)| {
                    if is_inner {
                        items.into_iter().rev().collect::<String>()
                    } else {
                        items.concat()
                    }
                })
                .collect()
        }
    };
    unpresent(&text)
}

/// Arabic presentation forms (U+FB50–U+FDFF, U+FE70–U+FEFF) → the letters they stand for.
fn unpresent(text: &str) -> String {
    use unicode_normalization::char::decompose_compatible;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c as u32, 0xfb50..=0xfdff | 0xfe70..=0xfeff) {
            decompose_compatible(c, |d| out.push(d));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &[&str]) -> Vec<String> {
        s.iter().map(|u| (*u).to_owned()).collect()
    }

    #[test]
    fn latin_lines_keep_their_order() {
        assert_eq!(logical(units(&["A", "b", "c", " ", "1", "2"])), "Abc 12");
    }

    #[test]
    fn arabic_drawn_left_to_right_is_put_back_in_logical_order() {
        // "سلام" drawn in visual order: م ا ل س.
        assert_eq!(logical(units(&["م", "ا", "ل", "س"])), "سلام");
        // A ligature glyph keeps its text's order.
        assert_eq!(logical(units(&["م", "لا", "س"])), "سلام");
        // A number inside Arabic keeps its digits' order; words swap around it.
        assert_eq!(
            logical(units(&["م", "ق", "ر", " ", "1", "2", " ", "ب", "ت", "ك"])),
            "كتب 12 رقم"
        );
        // Brackets: glyphs map to the characters typed (the shaper mirrored the glyphs).
        assert_eq!(logical(units(&[")", "ب", "("])), "(ب)");
    }

    #[test]
    fn an_arabic_name_inside_a_french_line_is_reordered_alone() {
        let line = units(&[
            "N", "o", "m", " ", "d", "u", " ", "d", "é", "p", "o", "s", "a", "n", "t", " ", ":",
            " ", "د", "م", "ح", "أ",
        ]);
        assert_eq!(logical(line), "Nom du déposant : أحمد");
    }

    #[test]
    fn presentation_forms_become_letters() {
        assert_eq!(unpresent("\u{FEE3}\u{FEFC}\u{FEB3}"), "ملاس");
    }

    #[test]
    fn cmaps_are_read() {
        let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
            1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
            2 beginbfchar <0003> <0020> <0010> <0627> endbfchar\n\
            1 beginbfrange <0020> <0022> <0041> endbfrange\n\
            1 beginbfrange <0030> <0031> [<0628> <FB01>] endbfrange\n\
            endcmap";
        let (map, width) = parse_cmap(cmap);
        assert_eq!(width, Some(2));
        assert_eq!(map.get(&3).map(String::as_str), Some(" "));
        assert_eq!(map.get(&0x10).map(String::as_str), Some("ا"));
        assert_eq!(map.get(&0x22).map(String::as_str), Some("C"));
        assert_eq!(map.get(&0x31).map(String::as_str), Some("\u{FB01}"));
    }

    #[test]
    fn hostile_content_is_bounded() {
        // Deep nesting, unterminated strings and arrays, garbage: no panic, no recursion.
        let mut deep = vec![b'['; 1_000_000];
        deep.extend_from_slice(b" (x) Tj");
        let mut lexer = Lexer::new(&deep);
        while lexer.next_token().is_some() {}
        for bad in [
            &b"(unterminated"[..],
            b"<abc",
            b"[1 2 (x)",
            b">> ] ) } {",
            b"BI /W 1 ID \xff\xff",
        ] {
            let mut lexer = Lexer::new(bad);
            let mut n = 0;
            while lexer.next_token().is_some() {
                n += 1;
                assert!(n < 100);
            }
        }
    }

    fn one_page_pdf(content: &str, font: &str) -> Vec<u8> {
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
            format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
            font.to_owned(),
        ];
        let mut pdf = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            offsets.push(pdf.len());
            pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let xref = pdf.len();
        pdf.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for o in offsets {
            pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        pdf.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        pdf
    }

    #[test]
    fn simple_fonts_lines_and_spacing() {
        let pdf = one_page_pdf(
            "BT /F1 12 Tf 72 700 Td (Bonjour ) Tj [(le) -600 (monde)] TJ 0 -20 Td (Ecole) Tj ET",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        );
        let out = extract_text(&pdf, &ExtractLimits::default()).unwrap();
        assert_eq!(out.pages, 1);
        assert_eq!(out.text, "Bonjour le monde\nEcole\n");
    }

    #[test]
    fn a_page_tree_loop_ends() {
        let mut pdf = one_page_pdf(
            "BT /F1 12 Tf (x) Tj ET",
            "<< /Type /Font /Subtype /Type1 >>",
        );
        // Make the page's parent list the tree itself as a kid.
        let s = String::from_utf8_lossy(&pdf).replace("/Kids [3 0 R]", "/Kids [3 0 R 2 0 R]");
        pdf = s.into_bytes();
        // Offsets shifted by 6 bytes after object 2: lopdf rebuilds a broken xref.
        let out = extract_text(&pdf, &ExtractLimits::default());
        if let Ok(out) = out {
            assert!(out.pages <= 2);
        }
    }

    #[test]
    fn the_receipt_text_is_in_logical_order() {
        let view = crate::receipt::tests::sample_view("أحمد بن علي العلوي");
        let pdf = crate::render_receipt(&view).unwrap();
        let out = extract_text(&pdf, &ExtractLimits::default()).unwrap();
        assert!(out.text.contains("أحمد بن علي العلوي"), "{}", out.text);
        assert!(out.text.contains(&view.registration_number), "{}", out.text);
    }
}

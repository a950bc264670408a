//! Full-text search, the part that needs no database: one normalisation for what is indexed and
//! what is asked, the words of a text, the terms of a query, the document a correspondence is
//! indexed as, and highlighted snippets.
//!
//! Both database backends index and query *only* what this module produces: a document is a
//! set of words separated by single spaces, and a query a list of such words. Every word is made
//! of letters and digits only (ASCII ones lower-cased), so any tokenizer that splits on ASCII
//! spaces and punctuation and keeps everything else (SQLite's FTS5 `ascii` tokenizer;
//! PostgreSQL's `array_to_tsvector`, which takes the words as they are) cuts it the same way:
//! the same hits on both backends, by construction.

use std::collections::HashSet;
use std::ops::Range;

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

use crate::error::DomainError;

/// Words are indexed and looked for by their first 64 characters.
pub const MAX_WORD_CHARS: usize = 64;
/// A term of at least this many characters also finds the words it begins.
pub const MIN_PREFIX_CHARS: usize = 3;
/// Every prefix of an indexed word from [`MIN_PREFIX_CHARS`] up to this many characters is
/// indexed as a token of its own ([`prefix_token`]): a prefix term that short is then one exact
/// lookup instead of a merge of every word it begins (which both FTS5 and GIN would read in
/// full, however common the words). Longer prefix terms use the engines' own prefix search.
pub const MAX_PREFIX_TOKEN_CHARS: usize = 8;
/// Most terms in one query.
pub const MAX_TERMS: usize = 16;
/// The distinct words of one correspondence's document stop growing at this many bytes (the
/// markers are always kept).
pub const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

// --- normalisation ---------------------------------------------------------------------------

/// The search form of a text: Arabic without tashkeel, Quranic marks and tatweel, with alef,
/// hamza-carrier, alef maqsura and ta marbuta forms folded; Arabic-Indic digits as ASCII;
/// compatibility forms (presentation forms, ligatures, full-width letters) decomposed; case and
/// accents removed (œ → oe, æ → ae, ß → ss); everything that is not a letter or a digit turned
/// into a space; spaces collapsed. The same function serves indexed text and queries.
pub fn normalise_for_search(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut folded = String::new();
    for c in text.chars() {
        folded.clear();
        fold_char(c, &mut folded);
        for f in folded.chars() {
            if f == ' ' {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            } else {
                out.push(f);
            }
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Appends the folded form of `c` to `out`: letters and digits, a space for a separator,
/// nothing for a character that is dropped.
fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(' ');
        }
        return;
    }
    if dropped(c) {
        return;
    }
    decompose_compatible(c, |d| {
        for lower in d.to_lowercase() {
            fold_decomposed(lower, out);
        }
    });
}

/// Characters removed without leaving a gap: tatweel, Quranic annotation marks, the high hamza,
/// and invisible format characters (soft hyphen, joiners, direction marks, byte-order mark).
fn dropped(c: char) -> bool {
    matches!(c,
        '\u{0640}' | '\u{06D6}'..='\u{06ED}' | '\u{0674}'
        | '\u{00AD}' | '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn fold_decomposed(c: char, out: &mut String) {
    match c {
        'a'..='z' | '0'..='9' => out.push(c),
        // Alef forms NFKD leaves whole (wasla, wavy hamza); the others lost their hamza or
        // madda above as a combining mark.
        '\u{0671}' | '\u{0672}' | '\u{0673}' | '\u{0675}' => out.push('\u{0627}'),
        // Alef maqsura and the Persian ya → ya; ta marbuta → ha; keheh → kaf.
        '\u{0649}' | '\u{06CC}' => out.push('\u{064A}'),
        '\u{0629}' => out.push('\u{0647}'),
        '\u{06A9}' => out.push('\u{0643}'),
        '\u{0660}'..='\u{0669}' => out.push(ascii_digit(c, 0x0660)),
        '\u{06F0}'..='\u{06F9}' => out.push(ascii_digit(c, 0x06F0)),
        'œ' => out.push_str("oe"),
        'æ' => out.push_str("ae"),
        'ß' => out.push_str("ss"),
        'þ' => out.push_str("th"),
        'ø' => out.push('o'),
        'ł' => out.push('l'),
        'đ' | 'ð' => out.push('d'),
        'ı' => out.push('i'),
        'ς' => out.push('σ'),
        c if dropped(c) || is_combining_mark(c) => {}
        c if c.is_alphanumeric() => out.push(c),
        _ => out.push(' '),
    }
}

fn ascii_digit(c: char, zero: u32) -> char {
    char::from_digit(u32::from(c) - zero, 10).unwrap_or('0')
}

/// The words of a text, normalised, each with the byte range it comes from in `text`.
pub fn words_with_ranges(text: &str) -> Vec<(Range<usize>, String)> {
    let mut out: Vec<(Range<usize>, String)> = Vec::new();
    let mut current: Option<(Range<usize>, String)> = None;
    let mut folded = String::new();
    for (at, c) in text.char_indices() {
        let end = at + c.len_utf8();
        folded.clear();
        fold_char(c, &mut folded);
        if folded.is_empty() {
            // Dropped (a mark, tatweel): part of the word it sits in, if any.
            if let Some((range, _)) = current.as_mut() {
                range.end = end;
            }
            continue;
        }
        let mut parts = folded.split(' ').peekable();
        while let Some(part) = parts.next() {
            if !part.is_empty() {
                match current.as_mut() {
                    Some((range, word)) => {
                        range.end = end;
                        word.push_str(part);
                    }
                    None => current = Some((at..end, part.to_owned())),
                }
            }
            if parts.peek().is_some() {
                out.extend(current.take());
            }
        }
    }
    out.extend(current);
    out
}

/// The forms a normalised word is indexed under: its first [`MAX_WORD_CHARS`] characters, and
/// the same without an Arabic definite article (ال, and وال بال كال فال لل) when at least three
/// letters remain, so that مدرسة finds المدرسة and بالمدرسة.
pub fn index_forms(word: &str) -> (String, Option<String>) {
    let whole = truncate_chars(word, MAX_WORD_CHARS);
    let stem = ["وال", "بال", "كال", "فال", "ال", "لل"]
        .iter()
        .find_map(|article| word.strip_prefix(article))
        .filter(|rest| rest.chars().count() >= 3)
        .map(|rest| truncate_chars(rest, MAX_WORD_CHARS));
    (whole, stem)
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => s[..at].to_owned(),
        None => s.to_owned(),
    }
}

// --- queries ---------------------------------------------------------------------------------

/// One word to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Normalised, letters and digits only.
    pub word: String,
    /// Also finds the words that begin with it.
    pub prefix: bool,
}

impl Term {
    /// What the index is asked for this term: a word, and whether the engine must expand it as
    /// a prefix (only for prefix terms longer than [`MAX_PREFIX_TOKEN_CHARS`]).
    pub fn index_word(&self) -> (String, bool) {
        if !self.prefix {
            (self.word.clone(), false)
        } else if self.word.chars().count() <= MAX_PREFIX_TOKEN_CHARS {
            (prefix_token(&self.word), false)
        } else {
            (self.word.clone(), true)
        }
    }

    /// Whether an indexed form is found by this term.
    pub fn finds(&self, form: &str) -> bool {
        if self.prefix {
            form.starts_with(&self.word)
        } else {
            form == self.word
        }
    }
}

/// What a search asks: every term must be found (AND).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<Term>,
}

impl SearchQuery {
    /// Reads a query as typed: normalised, split into words, each word an index form (see
    /// [`index_forms`]: the article-less form when there is one), duplicates removed. A query
    /// with no letter or digit has no terms (and finds nothing).
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let mut terms: Vec<Term> = Vec::new();
        for word in normalise_for_search(text)
            .split(' ')
            .filter(|w| !w.is_empty())
        {
            let (whole, stem) = index_forms(word);
            let word = stem.unwrap_or(whole);
            let prefix = word.chars().count() >= MIN_PREFIX_CHARS;
            if !terms.iter().any(|t| t.word == word) {
                terms.push(Term { word, prefix });
            }
        }
        if terms.len() > MAX_TERMS {
            return Err(DomainError::invalid(
                "q",
                format!("at most {MAX_TERMS} words"),
            ));
        }
        Ok(Self { terms })
    }

    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether a normalised word of a text is one the query looks for.
    pub fn finds_word(&self, word: &str) -> bool {
        let (whole, stem) = index_forms(word);
        self.terms
            .iter()
            .any(|t| t.finds(&whole) || stem.as_deref().is_some_and(|s| t.finds(s)))
    }
}

/// The searchable texts of a party: name, identifiers, e-mail, telephone, unit code.
pub fn party_texts(p: &crate::Party) -> impl Iterator<Item = &str> {
    std::iter::once(p.name.as_str())
        .chain(p.national_id.as_deref())
        .chain(p.company_id.as_deref())
        .chain(p.email.as_deref())
        .chain(p.phone.as_deref())
        .chain(p.unit.as_ref().map(|u| u.as_str()))
}

// --- the indexed document --------------------------------------------------------------------

/// A word of a document that says when the correspondence was registered: its register year,
/// and the time partition the search walks newest first when a query finds too many letters
/// to sort at once. Markers (like prefix tokens) start with a private-use character, which
/// normalisation never lets through: no text, and no query, can spell one. What else
/// restricts a search (registry, direction, visibility) is tested on the register's rows, not
/// asked of the index: a marker every letter of a register carries would make the index read a
/// list as long as the register for every query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// The register's year (the installation's calendar year of the registration): the
    /// filter a search asks most that the rows cannot answer cheaply, as the index gives its
    /// matches in storage order, oldest first.
    Year(i32),
    /// The UTC year and month of the registration.
    Month(i32, u32),
}

const MARK: char = '\u{E000}';
/// Begins the token of a word's prefix; like [`MARK`], no text can spell it.
const PREFIX: char = '\u{E003}';

/// The token under which the words beginning with `prefix` (normalised) are indexed.
pub fn prefix_token(prefix: &str) -> String {
    let mut t = String::with_capacity(prefix.len() + 3);
    t.push(PREFIX);
    t.push_str(prefix);
    t
}

impl Marker {
    pub fn token(&self) -> String {
        match self {
            Self::Year(y) => format!("{MARK}y{y}"),
            Self::Month(y, m) => format!("{MARK}m{y}{m:02}"),
        }
    }
}

/// The document one correspondence is indexed as: its markers, then the distinct index forms
/// of the words of its texts in the order met, each followed by the tokens of its prefixes
/// ([`MAX_PREFIX_TOKEN_CHARS`]) not already there, until [`MAX_DOCUMENT_BYTES`].
#[derive(Debug, Default)]
pub struct IndexDocument {
    body: String,
    seen: HashSet<String>,
    words_bytes: usize,
    full: bool,
}

impl IndexDocument {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn mark(&mut self, marker: Marker) {
        let token = marker.token();
        if self.seen.insert(token.clone()) {
            self.push(&token);
        }
    }

    /// Adds the words of a text; `false` once the document is full.
    pub fn add_text(&mut self, text: &str) -> bool {
        for word in normalise_for_search(text)
            .split(' ')
            .filter(|w| !w.is_empty())
        {
            let (whole, stem) = index_forms(word);
            for form in std::iter::once(whole).chain(stem) {
                if self.seen.contains(&form) {
                    continue;
                }
                let prefixes: Vec<String> = form
                    .char_indices()
                    .map(|(i, c)| i + c.len_utf8())
                    .enumerate()
                    .filter(|(n, _)| (MIN_PREFIX_CHARS - 1..MAX_PREFIX_TOKEN_CHARS).contains(n))
                    .map(|(_, end)| prefix_token(&form[..end]))
                    .filter(|t| !self.seen.contains(t))
                    .collect();
                for token in std::iter::once(form).chain(prefixes) {
                    if !self.add_word(token) {
                        return false;
                    }
                }
            }
        }
        !self.full
    }

    /// Adds a word within the budget; `false` (and full) when it does not fit.
    fn add_word(&mut self, token: String) -> bool {
        if self.words_bytes + token.len() + 1 > MAX_DOCUMENT_BYTES {
            self.full = true;
            return false;
        }
        self.words_bytes += token.len() + 1;
        self.push(&token);
        self.seen.insert(token);
        true
    }

    pub fn is_full(&self) -> bool {
        self.full
    }

    fn push(&mut self, token: &str) {
        if !self.body.is_empty() {
            self.body.push(' ');
        }
        self.body.push_str(token);
    }

    /// The words separated by single spaces.
    pub fn into_body(self) -> String {
        self.body
    }
}

// --- snippets --------------------------------------------------------------------------------

/// A piece of a snippet: text as it was written, and whether it is a word the query found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fragment {
    pub text: String,
    pub hit: bool,
}

/// Words shown before the first hit.
const SNIPPET_BEFORE: usize = 6;
/// Words shown in all.
const SNIPPET_WORDS: usize = 24;

/// A short excerpt of `text` around the first word the query finds, as fragments (the words
/// found marked as hits; white space collapsed; `…` where the text was cut). `None` when the
/// query finds no word of the text.
pub fn snippet(text: &str, query: &SearchQuery) -> Option<Vec<Fragment>> {
    let words = words_with_ranges(text);
    let first = words.iter().position(|(_, w)| query.finds_word(w))?;
    let from = first.saturating_sub(SNIPPET_BEFORE);
    let to = (from + SNIPPET_WORDS).min(words.len());
    let mut out: Vec<Fragment> = Vec::new();
    let start = if from == 0 { 0 } else { words[from].0.start };
    let end = if to == words.len() {
        text.len()
    } else {
        words[to - 1].0.end
    };
    if from > 0 {
        push_fragment(&mut out, "…", false);
    }
    let mut at = start;
    for (range, word) in &words[from..to] {
        push_fragment(&mut out, &text[at..range.start], false);
        push_fragment(&mut out, &text[range.clone()], query.finds_word(word));
        at = range.end;
    }
    push_fragment(&mut out, &text[at..end], false);
    if to < words.len() {
        push_fragment(&mut out, "…", false);
    }
    Some(out)
}

/// Appends text with white space collapsed, merged into the previous fragment when both are
/// hits or both are not.
fn push_fragment(out: &mut Vec<Fragment>, text: &str, hit: bool) {
    let mut clean = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            if !clean.ends_with(' ') {
                clean.push(' ');
            }
        } else {
            clean.push(c);
        }
    }
    if clean.is_empty() {
        return;
    }
    match out.last_mut() {
        Some(last) if last.hit == hit => {
            if last.text.ends_with(' ') && clean.starts_with(' ') {
                clean.remove(0);
            }
            last.text.push_str(&clean);
        }
        _ => out.push(Fragment { text: clean, hit }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalise_for_search(s)
    }

    #[test]
    fn arabic_alef_and_hamza_forms_are_one() {
        assert_eq!(n("أحمد"), "احمد");
        assert_eq!(n("إبراهيم"), "ابراهيم");
        assert_eq!(n("آمنة"), "امنه");
        assert_eq!(n("ٱلله"), "الله");
        assert_eq!(n("مسؤول"), "مسوول");
        assert_eq!(n("رئيس"), "رييس");
        // A standalone hamza stays a letter.
        assert_eq!(n("ماء"), "ماء");
        assert_eq!(n("ء"), "ء");
    }

    #[test]
    fn arabic_ya_and_ta_marbuta_are_folded() {
        assert_eq!(n("مدرسة"), n("مدرسه"));
        assert_eq!(n("مصطفى"), "مصطفي");
        assert_eq!(n("على"), n("علي"));
        assert_eq!(n("فارسی"), "فارسي");
        assert_eq!(n("کتاب"), "كتاب");
    }

    #[test]
    fn tashkeel_tatweel_and_quranic_marks_are_removed() {
        assert_eq!(n("مَدْرَسَة"), n("مدرسة"));
        assert_eq!(n("الْقُنَيْطِرَة"), "القنيطره");
        assert_eq!(n("مـــدرســة"), "مدرسه");
        assert_eq!(n("هٰذا"), "هذا");
        assert_eq!(n("الرَّحْمَٰنِ"), "الرحمن");
        // The dagger alef is a mark like the others (Quranic spelling keeps its own form).
        assert_eq!(n("ذَٰلِكَ ٱلْكِتَٰبُ لَا رَيْبَ ۛ فِيهِ ۛ"), "ذلك الكتب لا ريب فيه");
        assert_eq!(n("قُرْءَانٌ۝"), "قرءان");
        // Every harakat code point, one by one.
        for c in '\u{064B}'..='\u{065F}' {
            assert_eq!(n(&format!("ب{c}ت")), "بت", "U+{:04X}", u32::from(c));
        }
        for c in '\u{06D6}'..='\u{06ED}' {
            assert_eq!(n(&format!("ب{c}ت")), "بت", "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn presentation_forms_and_ligatures_are_decomposed() {
        assert_eq!(
            n("\u{FEDF}\u{FEE3}\u{FEA9}\u{FEAE}\u{FEB3}\u{FE94}"),
            n("لمدرسة")
        );
        assert_eq!(n("\u{FEFB}"), "لا");
        assert_eq!(n("ﬁnance ﬂeur"), "finance fleur");
        assert_eq!(n("ＡＢＣ１２"), "abc12");
    }

    #[test]
    fn digits_become_ascii() {
        assert_eq!(n("٠١٢٣٤٥٦٧٨٩"), "0123456789");
        assert_eq!(n("۰۱۲۳۴۵۶۷۸۹"), "0123456789");
        assert_eq!(n("رقم ٢٠٢٦/١٢٣"), "رقم 2026 123");
        assert_eq!(n("x²"), "x2");
    }

    #[test]
    fn latin_case_and_accents_are_folded() {
        assert_eq!(n("École"), "ecole");
        assert_eq!(n("ÉCOLE"), "ecole");
        assert_eq!(n("Kénitra, Salé"), "kenitra sale");
        assert_eq!(n("Œuvre cœur"), "oeuvre coeur");
        assert_eq!(n("Æsop"), "aesop");
        assert_eq!(n("Straße STRASSE"), "strasse strasse");
        assert_eq!(n("ẞ"), "ss");
        assert_eq!(n("çà où naïve"), "ca ou naive");
        assert_eq!(n("Øresund Łódź"), "oresund lodz");
        assert_eq!(n("İstanbul ıspanak"), "istanbul ispanak");
        assert_eq!(n("ΣΟΦΙΑ σοφίας"), "σοφια σοφιασ");
    }

    #[test]
    fn punctuation_and_space_become_single_spaces() {
        assert_eq!(n("  a--b\t\nc  "), "a b c");
        assert_eq!(n("fz@example.ma"), "fz example ma");
        assert_eq!(n("MEF-RABAT/A/2026/000123"), "mef rabat a 2026 000123");
        assert_eq!(n("\"*:&|!(NEAR OR ' \\"), "near or");
        assert_eq!(n("«الرباط»، ؟"), "الرباط");
        assert_eq!(n("<b>x</b>"), "b x b");
        assert_eq!(n(""), "");
        assert_eq!(n("؟!.،"), "");
    }

    #[test]
    fn invisible_characters_do_not_split_words() {
        assert_eq!(n("مد\u{200C}رسة"), "مدرسه");
        assert_eq!(n("\u{200F}abc\u{200E}"), "abc");
        assert_eq!(n("co\u{00AD}operation"), "cooperation");
        assert_eq!(n("\u{FEFF}x"), "x");
    }

    #[test]
    fn private_use_characters_never_survive() {
        assert_eq!(n("\u{E000}ra\u{E001}"), "ra");
        assert!(!n(&Marker::Month(2026, 1).token()).contains(MARK));
        assert!(!n(&prefix_token("abc")).contains(PREFIX));
    }

    #[test]
    fn normalisation_is_idempotent_and_yields_words_only() {
        let samples = [
            "أَحْمَد بْنُ عَلِيّ — École Supérieure (Rabat) ٢٠٢٦",
            "ﷺ ﷲ ﻻ ﬀ ½ Ⅻ ⓐ 🅐 𝔸 ǅ",
            "Straße Œ æ ß İ ı ς Σ ﬆ",
            "\u{0675}\u{0674}x\u{0670}",
            "日本語のテキスト 한국어 русский ΕΛΛΗΝΙΚΆ",
        ];
        for s in samples {
            let once = n(s);
            assert_eq!(n(&once), once, "{s}");
            assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
            for c in once.chars() {
                // What the FTS5 `ascii` tokenizer keeps whole: ASCII letters (lower case) and
                // digits, and any non-ASCII character.
                assert!(
                    c == ' '
                        || c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || (!c.is_ascii() && c.is_alphanumeric()),
                    "{c:?} in {once:?}"
                );
            }
        }
    }

    #[test]
    fn words_keep_their_place_in_the_text() {
        let text = "Objet : l'École « مَدْرَسَة » n°٣";
        let words = words_with_ranges(text);
        let found: Vec<(&str, &str)> = words
            .iter()
            .map(|(r, w)| (&text[r.clone()], w.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("Objet", "objet"),
                ("l", "l"),
                ("École", "ecole"),
                ("مَدْرَسَة", "مدرسه"),
                ("n", "n"),
                ("٣", "3"),
            ]
        );
        let joined: Vec<String> = words.into_iter().map(|(_, w)| w).collect();
        assert_eq!(joined.join(" "), n(text));
    }

    #[test]
    fn articles_give_a_second_form() {
        assert_eq!(
            index_forms("المدرسه"),
            ("المدرسه".into(), Some("مدرسه".into()))
        );
        assert_eq!(index_forms("بالمدرسه").1.as_deref(), Some("مدرسه"));
        assert_eq!(index_forms("للمدرسه").1.as_deref(), Some("مدرسه"));
        assert_eq!(index_forms("الله").1, None);
        assert_eq!(index_forms("ecole").1, None);
        let long = "a".repeat(100);
        assert_eq!(index_forms(&long).0.len(), MAX_WORD_CHARS);
    }

    #[test]
    fn queries_are_normalised_terms() {
        let q = SearchQuery::parse("  أحمد مدرسة, ÉCOLE ecole x ").unwrap();
        let words: Vec<(&str, bool)> = q
            .terms()
            .iter()
            .map(|t| (t.word.as_str(), t.prefix))
            .collect();
        assert_eq!(
            words,
            [
                ("احمد", true),
                ("مدرسه", true),
                ("ecole", true),
                ("x", false)
            ]
        );
        assert!(SearchQuery::parse("\"*:&|!( ' \\").unwrap().is_empty());
        assert_eq!(
            SearchQuery::parse("المدرسة").unwrap().terms()[0].word,
            "مدرسه"
        );
        let many: String = (0..17).map(|i| format!("w{i} ")).collect();
        assert!(SearchQuery::parse(&many).is_err());
        let sixteen: String = (0..16).map(|i| format!("w{i} ")).collect();
        assert_eq!(SearchQuery::parse(&sixteen).unwrap().terms().len(), 16);
    }

    #[test]
    fn terms_find_words_like_the_index_does() {
        let q = SearchQuery::parse("احمد مدرسة eco").unwrap();
        assert!(q.finds_word(&n("أحمد")));
        assert!(q.finds_word(&n("مَدْرَسَة")));
        assert!(q.finds_word(&n("بالمدرسة")));
        assert!(q.finds_word(&n("Économie")));
        assert!(!q.finds_word(&n("احمدي")) || q.terms()[0].prefix);
        let exact = SearchQuery::parse("ab").unwrap();
        assert!(exact.finds_word("ab"));
        assert!(!exact.finds_word("abc"));
        // What the index is asked: a prefix token up to MAX_PREFIX_TOKEN_CHARS, then the
        // engine's own prefix search.
        assert_eq!(exact.terms()[0].index_word(), ("ab".to_owned(), false));
        assert_eq!(q.terms()[2].index_word(), (prefix_token("eco"), false));
        let long = SearchQuery::parse("administrati").unwrap();
        assert_eq!(
            long.terms()[0].index_word(),
            ("administrati".to_owned(), true)
        );
    }

    #[test]
    fn markers_cannot_be_spelled_by_text() {
        assert_eq!(Marker::Month(2026, 3).token(), "\u{E000}m202603");
        assert_eq!(Marker::Year(2026).token(), "\u{E000}y2026");
        let mut doc = IndexDocument::new();
        doc.mark(Marker::Month(2026, 3));
        doc.add_text("\u{E000}m202603 \u{E003}abc");
        let body = doc.into_body();
        let tokens: Vec<&str> = body.split(' ').collect();
        // The text's words are plain words and their prefixes, never a marker or a prefix
        // token spelled by hand.
        assert_eq!(tokens.iter().filter(|t| t.starts_with(MARK)).count(), 1);
        assert!(
            tokens.contains(&"m202603") && tokens.contains(&"abc"),
            "{body}"
        );
        assert_eq!(
            tokens.iter().filter(|t| t.starts_with(PREFIX)).count(),
            6,
            "m20 m202 m2026 m20260 m202603 abc: {body}"
        );
    }

    #[test]
    fn documents_hold_distinct_forms_within_their_budget() {
        let mut doc = IndexDocument::new();
        doc.mark(Marker::Month(2026, 3));
        assert!(doc.add_text("المدرسة مدرسة École ecole"));
        let p = |w: &str| prefix_token(w);
        assert_eq!(
            doc.into_body(),
            [
                "\u{E000}m202603".to_owned(),
                "المدرسه".into(),
                p("الم"),
                p("المد"),
                p("المدر"),
                p("المدرس"),
                p("المدرسه"),
                "مدرسه".into(),
                p("مدر"),
                p("مدرس"),
                p("مدرسه"),
                "ecole".into(),
                p("eco"),
                p("ecol"),
                p("ecole"),
            ]
            .join(" ")
        );
        // Prefixes stop at MAX_PREFIX_TOKEN_CHARS; a word of two letters has none.
        let mut long = IndexDocument::new();
        assert!(long.add_text("administration ab"));
        let body = long.into_body();
        assert!(body.contains(&format!("{} ", p("administ"))), "{body}");
        assert!(!body.contains(&p("administr")), "{body}");
        assert!(!body.contains(&p("ab")), "{body}");
        let mut big = IndexDocument::new();
        let mut i = 0u64;
        while big.add_text(&format!("word{i}")) {
            i += 1;
        }
        assert!(big.is_full());
        assert!(big.into_body().len() <= MAX_DOCUMENT_BYTES + 64);
    }

    #[test]
    fn snippets_mark_the_words_found() {
        let q = SearchQuery::parse("ecole").unwrap();
        let s = snippet("Inscription à l'École  normale\nde Rabat", &q).unwrap();
        assert_eq!(
            s,
            [
                Fragment {
                    text: "Inscription à l'".into(),
                    hit: false
                },
                Fragment {
                    text: "École".into(),
                    hit: true
                },
                Fragment {
                    text: " normale de Rabat".into(),
                    hit: false
                },
            ]
        );
        assert!(snippet("rien", &q).is_none());
        let long: String = (0..100).map(|i| format!("mot{i} ")).collect::<String>() + "école fin";
        let s = snippet(&long, &q).unwrap();
        assert_eq!(s.first().unwrap().text.chars().next(), Some('…'));
        assert!(s.iter().any(|f| f.hit && f.text == "école"));
        let text: String = s.iter().map(|f| f.text.as_str()).collect();
        assert!(text.len() < 200, "{text}");
        let arabic = SearchQuery::parse("مدرسه").unwrap();
        let s = snippet("طلب تسجيل بالمَدْرَسَة الابتدائية", &arabic).unwrap();
        assert!(s.iter().any(|f| f.hit && f.text == "بالمَدْرَسَة"));
    }
}

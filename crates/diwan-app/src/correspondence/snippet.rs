//! Snippets of search results: where the words were found, with the words marked.
//!
//! Cut here, from the stored texts of the page's rows only, by the same normalisation and the
//! same word test as the index (`diwan_domain::search`), so that both backends give the same
//! snippets. A snippet is data (text fragments flagged as hits), never markup: whoever renders
//! it escapes the text.

use diwan_domain::search::{Fragment, SearchQuery, party_texts, snippet};
use serde::Serialize;

use crate::Services;
use crate::error::AppError;
use crate::model::SearchHit;

/// Document texts are looked into up to this many characters each for a snippet.
pub const DOCUMENT_SNIPPET_CHARS: usize = 20_000;

/// Where the words were found, as fragments of the original text.
#[derive(Debug, Clone, Serialize)]
pub struct Snippet {
    /// `subject`, `sender`, `recipient`, `sender_reference`, `registration_number` or
    /// `document`.
    pub field: &'static str,
    pub parts: Vec<Fragment>,
}

/// One snippet per hit, in order: from the first field where the query finds a word; from the
/// documents' texts when no other field has one; `None` when none does within the texts'
/// first [`DOCUMENT_SNIPPET_CHARS`] characters.
pub fn snippets(
    s: &Services,
    hits: &[SearchHit],
    query: &SearchQuery,
) -> Result<Vec<Option<Snippet>>, AppError> {
    let mut out: Vec<Option<Snippet>> = hits.iter().map(|h| from_fields(h, query)).collect();
    let missing: Vec<String> = hits
        .iter()
        .zip(&out)
        .filter(|(_, s)| s.is_none())
        .map(|(h, _)| h.summary.id.clone())
        .collect();
    if missing.is_empty() {
        return Ok(out);
    }
    let texts = s
        .store
        .document_text_starts(&missing, DOCUMENT_SNIPPET_CHARS)?;
    for (hit, slot) in hits.iter().zip(out.iter_mut()) {
        if slot.is_some() {
            continue;
        }
        *slot = texts
            .iter()
            .filter(|(id, _)| *id == hit.summary.id)
            .find_map(|(_, text)| snippet(text, query))
            .map(|parts| Snippet {
                field: "document",
                parts,
            });
    }
    Ok(out)
}

fn from_fields(hit: &SearchHit, query: &SearchQuery) -> Option<Snippet> {
    let fields = std::iter::once(("subject", hit.summary.subject.as_str()))
        .chain(party_texts(&hit.sender).map(|t| ("sender", t)))
        .chain(party_texts(&hit.recipient).map(|t| ("recipient", t)))
        .chain(
            hit.sender_reference
                .as_deref()
                .map(|t| ("sender_reference", t)),
        )
        .chain(std::iter::once((
            "registration_number",
            hit.summary.registration_number.as_str(),
        )));
    for (field, text) in fields {
        if let Some(parts) = snippet(text, query) {
            return Some(Snippet { field, parts });
        }
    }
    None
}

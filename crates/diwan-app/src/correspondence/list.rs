//! A page of a register, newest first, keyset-paginated.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use diwan_domain::Direction;
use serde::Serialize;

use super::snippet::Snippet;
use crate::Services;
use crate::access::{Actor, RegisterView, may_list};
use crate::error::AppError;
use crate::model::{CorrespondenceSummary, ListFilter};
use diwan_domain::search::SearchQuery;

/// Largest page.
pub const MAX_PAGE: usize = 200;
/// Longest search text.
pub const MAX_QUERY_CHARS: usize = 200;

#[derive(Debug, Default)]
pub struct ListQuery {
    pub registry: Option<String>,
    pub direction: Option<String>,
    pub year: Option<i32>,
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct RegisterPage {
    pub items: Vec<RegisterItem>,
    /// Pass it as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// With `q`: how many correspondences the caller may see match, counted up to 1,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<usize>,
    /// With `q`: more than `total` match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_capped: Option<bool>,
}

/// A line of a register page; with `q`, the excerpt where the words were found.
#[derive(Debug, Serialize)]
pub struct RegisterItem {
    #[serde(flatten)]
    pub summary: CorrespondenceSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<Snippet>,
}

pub fn list(s: &Services, actor: &Actor, q: ListQuery) -> Result<RegisterPage, AppError> {
    let code = q
        .registry
        .ok_or_else(|| AppError::bad_request("invalid_query", "registry is required"))?;
    let mut org = crate::org::snapshot(s)?;
    if org.registry_by_code(&code).is_none() {
        org = crate::org::fresh_snapshot(s)?;
    }
    let registry = org
        .registry_by_code(&code)
        .cloned()
        .ok_or_else(|| AppError::not_found("registry"))?;
    let view = may_list(actor, &org.tree, &registry)?;
    let direction = match q.direction.as_deref() {
        None | Some("") => None,
        Some(d) => Some(Direction::parse(d).ok_or_else(|| {
            AppError::bad_request(
                "invalid_query",
                "direction is incoming, outgoing or internal",
            )
        })?),
    };
    let text = q.q.filter(|t| !t.trim().is_empty());
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_QUERY_CHARS)
    {
        return Err(AppError::bad_request(
            "invalid_query",
            format!("q has at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let search = text
        .as_deref()
        .map(SearchQuery::parse)
        .transpose()
        .map_err(|e| AppError::bad_request("invalid_query", e.to_string()))?;
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let filter = ListFilter {
        registry_id: registry.id,
        direction,
        year: q.year,
        before: q.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: limit + 1,
        restricted_visible_to: match view {
            RegisterView::All => None,
            RegisterView::NormalPlus(units) => Some(units),
        },
    };
    if let Some(query) = search {
        return search_page(s, &filter, &query, limit);
    }
    let mut items = s.store.list(&filter)?;
    let next_cursor = next_cursor(&mut items, limit, |i| (&i.registered_at, &i.id));
    Ok(RegisterPage {
        items: items
            .into_iter()
            .map(|summary| RegisterItem {
                summary,
                snippet: None,
            })
            .collect(),
        next_cursor,
        total: None,
        total_capped: None,
    })
}

/// A page of search results, each with its snippet.
fn search_page(
    s: &Services,
    filter: &ListFilter,
    query: &SearchQuery,
    limit: usize,
) -> Result<RegisterPage, AppError> {
    let started = std::time::Instant::now();
    let mut found = s.store.search(filter, query)?;
    let searched_in = started.elapsed();
    let next_cursor = next_cursor(&mut found.hits, limit, |h| {
        (&h.summary.registered_at, &h.summary.id)
    });
    let snippets = super::snippet::snippets(s, &found.hits, query)?;
    tracing::debug!(
        search_us = searched_in.as_micros(),
        snippets_us = (started.elapsed() - searched_in).as_micros(),
        "search page"
    );
    Ok(RegisterPage {
        items: found
            .hits
            .into_iter()
            .zip(snippets)
            .map(|(hit, snippet)| RegisterItem {
                summary: hit.summary,
                snippet,
            })
            .collect(),
        next_cursor,
        total: Some(found.total),
        total_capped: Some(found.total_capped),
    })
}

/// Cuts the extra row fetched to know whether a next page exists; its cursor if it does.
fn next_cursor<T>(
    items: &mut Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> (&DateTime<Utc>, &String),
) -> Option<String> {
    if items.len() > limit {
        items.truncate(limit);
        items.last().map(|l| {
            let (at, id) = key(l);
            encode_cursor(at, id)
        })
    } else {
        None
    }
}

fn encode_cursor(at: &DateTime<Utc>, id: &str) -> String {
    let raw = format!(
        "{}|{id}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    );
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, String), AppError> {
    let bad = || AppError::bad_request("invalid_cursor", "the cursor is not one this server gave");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (at, id) = raw.split_once('|').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|_| bad())?
        .with_timezone(&Utc);
    if !crate::ids::is_id(id) {
        return Err(bad());
    }
    Ok((at, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let at = Utc::now();
        let id = crate::ids::new_id().unwrap();
        let c = encode_cursor(&at, &id);
        let (at2, id2) = decode_cursor(&c).unwrap();
        assert_eq!(id2, id);
        assert_eq!(at2.timestamp_micros(), at.timestamp_micros());
        assert!(decode_cursor("!!").is_err());
        assert!(decode_cursor("YWJj").is_err());
    }
}

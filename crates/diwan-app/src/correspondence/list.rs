//! A page of a register, newest first, keyset-paginated.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use diwan_domain::Direction;
use serde::Serialize;

use crate::Services;
use crate::access::{Actor, RegisterView, may_list};
use crate::error::AppError;
use crate::model::{CorrespondenceSummary, ListFilter};

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
    pub items: Vec<CorrespondenceSummary>,
    /// Pass it as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
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
    let text =
        q.q.filter(|t| !t.trim().is_empty())
            .map(|t| t.to_lowercase());
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_QUERY_CHARS)
    {
        return Err(AppError::bad_request(
            "invalid_query",
            format!("q has at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let filter = ListFilter {
        registry_id: registry.id,
        direction,
        year: q.year,
        text,
        before: q.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: limit + 1,
        restricted_visible_to: match view {
            RegisterView::All => None,
            RegisterView::NormalPlus(units) => Some(units),
        },
    };
    let mut items = s.store.list(&filter)?;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|l| encode_cursor(&l.registered_at, &l.id))
    } else {
        None
    };
    Ok(RegisterPage { items, next_cursor })
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

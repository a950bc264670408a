//! An inbox by due date: the open assignments of the units an agent works in, and those
//! handed to the agent in person, soonest due first.

use chrono::NaiveDate;
use serde::Serialize;

use crate::Services;
use crate::access::Actor;
use crate::error::AppError;
use crate::model::{AssignmentLine, InboxFilter};

/// Lines per page.
pub const INBOX_PAGE: usize = 50;

#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    /// Only this unit (its code); it must be one the agent works in.
    pub unit: Option<String>,
    /// From `next_cursor` of the page before.
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InboxPage {
    pub items: Vec<AssignmentLine>,
    pub next_cursor: Option<String>,
}

fn bad_cursor() -> AppError {
    AppError::bad_request("invalid_cursor", "cursor: not one this server gave")
}

fn parse_cursor(c: &str) -> Result<(NaiveDate, String), AppError> {
    let (date, id) = c.split_once('.').ok_or_else(bad_cursor)?;
    let date = date.parse().map_err(|_| bad_cursor())?;
    if !crate::ids::is_id(id) {
        return Err(bad_cursor());
    }
    Ok((date, id.to_owned()))
}

pub fn inbox_by_due_date(
    s: &Services,
    actor: &Actor,
    q: &InboxQuery,
) -> Result<InboxPage, AppError> {
    let limit = q.limit.unwrap_or(INBOX_PAGE).clamp(1, INBOX_PAGE);
    let mine: Vec<String> = {
        let mut units: Vec<String> = actor
            .grants
            .iter()
            .filter(|g| g.role != diwan_domain::Role::Auditor)
            .filter_map(|g| g.unit_id.clone())
            .collect();
        units.sort();
        units.dedup();
        units
    };
    let (unit_ids, agent_id) = match q.unit.as_deref() {
        None => (mine, Some(actor.agent_id.clone())),
        Some(code) => {
            let org = crate::org::snapshot(s)?;
            let unit = org
                .unit_by_code(code)
                .filter(|u| mine.contains(&u.id))
                .ok_or_else(AppError::forbidden)?;
            (vec![unit.id.clone()], None)
        }
    };
    let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let items = s.store.assignment_inbox(&InboxFilter {
        unit_ids,
        agent_id,
        after,
        limit: limit + 1,
    })?;
    let mut items = items;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items
            .last()
            .map(|l| format!("{}.{}", l.due_date, l.assignment_id))
    } else {
        None
    };
    Ok(InboxPage { items, next_cursor })
}

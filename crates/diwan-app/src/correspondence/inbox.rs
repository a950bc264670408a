//! A unit's inbox: what concerns the units an agent holds a role on, with its legal deadline.

use chrono::NaiveDate;
use serde::Serialize;

use crate::Services;
use crate::access::Actor;
use crate::error::AppError;
use crate::model::InboxItem;

/// Most lines shown.
pub const INBOX_LIMIT: usize = 200;

/// A line of the inbox, with its deadline on the working-day calendar.
#[derive(Debug, Clone, Serialize)]
pub struct InboxLine {
    #[serde(flatten)]
    pub item: InboxItem,
    pub deadline: Option<NaiveDate>,
}

pub fn inbox(s: &Services, actor: &Actor) -> Result<Vec<InboxLine>, AppError> {
    let units: Vec<String> = actor.unit_ids().map(str::to_owned).collect();
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let items = s.store.inbox(&units, INBOX_LIMIT)?;
    Ok(items
        .into_iter()
        .map(|item| {
            let start = item
                .received_at
                .with_timezone(&s.settings.time_zone)
                .date_naive();
            let deadline = s
                .settings
                .deadlines
                .rule(item.category.as_deref())
                .deadline(&s.settings.calendar, start);
            InboxLine { item, deadline }
        })
        .collect())
}

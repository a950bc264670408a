//! The indicators' running totals per unit and UTC day (`indicator_days`): what one facts row
//! counts, and the difference a change of it makes.

use std::collections::BTreeMap;

use crate::rows::FactRow;
use crate::{Backend, Database};
use diwan_app::StoreError;

/// Recounts every day total from the facts rows (see the migration `indicator_days`).
const RECOUNT: &str = "
DELETE FROM indicator_days;
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'opened', substr(registered_at, 1, 10), '', '', COUNT(*)
FROM correspondence_facts WHERE direction = 'incoming' GROUP BY unit_id, substr(registered_at, 1, 10);
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'received', substr(registered_at, 1, 10), channel, COALESCE(category, ''), COUNT(*)
FROM correspondence_facts WHERE direction = 'incoming'
GROUP BY unit_id, substr(registered_at, 1, 10), channel, COALESCE(category, '');
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'sent', substr(registered_at, 1, 10), '', '', COUNT(*)
FROM correspondence_facts WHERE direction = 'outgoing' GROUP BY unit_id, substr(registered_at, 1, 10);
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'closed', substr(closed_at, 1, 10), '', '', COUNT(*)
FROM correspondence_facts WHERE direction = 'incoming' AND closed_at IS NOT NULL
GROUP BY unit_id, substr(closed_at, 1, 10);
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'due', substr(legal_due_at, 1, 10), '', '', COUNT(*)
FROM correspondence_facts WHERE direction = 'incoming' AND legal_due_at IS NOT NULL
GROUP BY unit_id, substr(legal_due_at, 1, 10);
INSERT INTO indicator_days (unit_id, measure, day, channel, category, n)
SELECT unit_id, 'resolved', substr(resolved_at, 1, 10), '', '', COUNT(*)
FROM correspondence_facts WHERE direction = 'incoming' AND resolved_at IS NOT NULL
GROUP BY unit_id, substr(resolved_at, 1, 10);
";

impl Database {
    /// Recounts the indicators' day totals from the facts rows, writers kept out meanwhile:
    /// for rows written outside Diwan (data loads, repairs). The totals kept by Diwan's own
    /// transactions are always equal to it.
    pub fn rebuild_indicator_days(&self) -> Result<(), StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => format!("BEGIN IMMEDIATE;{RECOUNT}COMMIT;"),
            Backend::Postgres => {
                format!("BEGIN; LOCK TABLE correspondence_facts IN SHARE MODE;{RECOUNT}COMMIT;")
            }
        };
        self.execute_batch(&sql)
    }
}

/// (unit, measure, day `YYYY-MM-DD`, channel, category) — the table's key.
pub type DayKey = (String, &'static str, String, String, String);

/// The UTC day of a stored time (`YYYY-MM-DDT…Z`).
pub fn day_of(t: &str) -> String {
    t.get(..10).unwrap_or(t).to_owned()
}

/// What `f` counts: one per measure it is in.
fn counts(f: &FactRow) -> Vec<DayKey> {
    let key = |measure: &'static str, at: &str, channel: &str, category: &str| {
        (
            f.unit_id.clone(),
            measure,
            day_of(at),
            channel.to_owned(),
            category.to_owned(),
        )
    };
    if f.direction != "incoming" {
        return vec![key("sent", &f.registered_at, "", "")];
    }
    let mut out = vec![
        key("opened", &f.registered_at, "", ""),
        key(
            "received",
            &f.registered_at,
            &f.channel,
            f.category.as_deref().unwrap_or_default(),
        ),
    ];
    for (measure, at) in [
        ("closed", &f.closed_at),
        ("due", &f.legal_due_at),
        ("resolved", &f.resolved_at),
    ] {
        if let Some(at) = at {
            out.push(key(measure, at, "", ""));
        }
    }
    out
}

/// Adds to `deltas` the change from `old` to `new` (either absent: inserted or deleted).
pub fn change(deltas: &mut BTreeMap<DayKey, i32>, old: Option<&FactRow>, new: Option<&FactRow>) {
    for k in old.map(counts).unwrap_or_default() {
        *deltas.entry(k).or_default() -= 1;
    }
    for k in new.map(counts).unwrap_or_default() {
        *deltas.entry(k).or_default() += 1;
    }
    deltas.retain(|_, n| *n != 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(unit: &str, closed: Option<&str>) -> FactRow {
        FactRow {
            correspondence_id: "c".into(),
            unit_id: unit.into(),
            direction: "incoming".into(),
            channel: "portal".into(),
            category: None,
            registered_at: "2026-10-05T09:00:00.000000Z".into(),
            legal_due_at: Some("2026-10-09T23:00:00.000000Z".into()),
            answered_at: None,
            closed_at: closed.map(str::to_owned),
            processing_seconds: None,
            on_time: None,
            resolved_at: closed.map(|_| "2026-10-20T10:00:00.000000Z".to_owned()),
        }
    }

    #[test]
    fn a_change_moves_only_what_differs() {
        let mut d = BTreeMap::new();
        change(&mut d, None, Some(&fact("a", None)));
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d.values().all(|n| *n == 1));
        let mut d = BTreeMap::new();
        change(
            &mut d,
            Some(&fact("a", None)),
            Some(&fact("a", Some("2026-10-20T10:00:00.000000Z"))),
        );
        let keys: Vec<(&str, &str)> = d.keys().map(|k| (k.1, k.2.as_str())).collect();
        assert_eq!(keys, [("closed", "2026-10-20"), ("resolved", "2026-10-20")]);
        let mut d = BTreeMap::new();
        change(&mut d, Some(&fact("a", None)), Some(&fact("b", None)));
        assert_eq!(d.len(), 6);
        assert_eq!(d.values().sum::<i32>(), 0);
        let mut d = BTreeMap::new();
        change(&mut d, Some(&fact("a", None)), None);
        assert!(d.values().all(|n| *n == -1));
    }
}

//! Indicators for managers: received, sent, backlog, overdue, processing times and the share
//! answered within the legal delay, for an administration or a unit (with or without its
//! sub-units), a territory and a period, with the drill-down one level below.
//!
//! They are counted from `correspondence_facts`, one row per live correspondence kept in the
//! transactions that change it (registration, moves, annulment), through indexed range counts
//! grouped by unit; the unit tree is walked here. A letter counts for the unit in charge of it
//! now (or when it stopped being open); outgoing mail for its registry's unit.
//!
//! Who sees what: an auditor of the installation, everything; a head or an auditor of a unit,
//! that unit and its subtree; any other role on a unit, that unit alone.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use diwan_domain::Role;
use diwan_domain::indicators::{Period, PeriodKind, percentile_of_counts};
use serde::Serialize;

use crate::Services;
use crate::access::Actor;
use crate::cache::OrgSnapshot;
use crate::error::{AppError, Rejection};
use crate::model::{FactCounts, Unit};

/// What is asked: exactly one of `administration` and `unit` (codes).
#[derive(Debug, Clone, Default)]
pub struct IndicatorQuery {
    pub administration: Option<String>,
    pub unit: Option<String>,
    /// With the unit's sub-units (always, for an administration).
    pub subunits: bool,
    /// Only units whose territory code is this one or starts with it and a dash.
    pub territory: Option<String>,
    pub period: Option<PeriodKind>,
    /// A day in the period (local); today by default.
    pub date: Option<NaiveDate>,
}

/// The figures of a scope for a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Incoming mail registered in the period.
    pub received: u64,
    /// Outgoing mail registered in the period.
    pub sent: u64,
    /// Incoming mail open at the period's end.
    pub backlog: u64,
    /// Of the backlog, mail whose legal deadline had passed.
    pub overdue: u64,
    /// Incoming mail first answered in the period.
    pub answered: u64,
    /// Registration → answer, nearest-rank median and 90th percentile, in seconds, rounded
    /// down to the minute under a day and to the hour beyond.
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    /// Of the answered mail whose legal deadline is known, the share answered before it.
    pub on_time_share: Option<f64>,
    /// Received, by channel and by category (`""`: none).
    pub by_channel: BTreeMap<String, u64>,
    pub by_category: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScopeName {
    pub kind: &'static str,
    pub code: String,
    pub name_ar: String,
    pub name_fr: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
}

/// One line of the drill-down: a unit below the scope with its subtree, or (`own`) the
/// scope's unit alone.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub unit: ScopeName,
    pub own: bool,
    pub has_subunits: bool,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodView {
    pub kind: PeriodKind,
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndicatorReport {
    pub scope: ScopeName,
    pub subunits: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub territory: Option<String>,
    pub period: PeriodView,
    pub totals: Figures,
    pub lines: Vec<Line>,
}

fn invalid(detail: &str) -> AppError {
    AppError::unprocessable("invalid_query", detail.to_owned())
}

/// The first instant of a local day (the end of a gap when midnight falls in one).
pub(crate) fn start_of(tz: chrono_tz::Tz, day: NaiveDate) -> Option<DateTime<Utc>> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    tz.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

/// Whether `actor` may see the indicators of everything (an auditor of the installation).
pub fn sees_everything(actor: &Actor) -> bool {
    actor
        .grants
        .iter()
        .any(|g| g.unit_id.is_none() && g.role == Role::Auditor)
}

/// The units `actor` may see the indicators of.
pub fn visible(actor: &Actor, org: &OrgSnapshot) -> HashSet<String> {
    if sees_everything(actor) {
        return org.units.iter().map(|u| u.id.clone()).collect();
    }
    let mut out = HashSet::new();
    for g in &actor.grants {
        let Some(unit) = g.unit_id.as_deref() else {
            continue;
        };
        if matches!(g.role, Role::Head | Role::Auditor) {
            out.extend(subtree(org, unit));
        } else {
            out.insert(unit.to_owned());
        }
    }
    out
}

/// `unit` and every unit below it.
fn subtree(org: &OrgSnapshot, unit: &str) -> Vec<String> {
    org.units
        .iter()
        .filter(|u| org.tree.lineage(&u.id).any(|a| a == unit))
        .map(|u| u.id.clone())
        .collect()
}

fn name_of_unit(u: &Unit) -> ScopeName {
    ScopeName {
        kind: "unit",
        code: u.code.to_string(),
        name_ar: u.name_ar.clone(),
        name_fr: u.name_fr.clone(),
        name_en: u.name_en.clone(),
    }
}

fn in_territory(u: &Unit, territory: Option<&str>) -> bool {
    match territory {
        None => true,
        Some(t) => u
            .territory_code
            .as_deref()
            .is_some_and(|c| c == t || c.strip_prefix(t).is_some_and(|rest| rest.starts_with('-'))),
    }
}

/// The figures of the units `ids` from their per-unit counts.
fn figures(ids: &[String], counts: &HashMap<String, FactCounts>) -> Figures {
    let mut f = Figures::default();
    let (mut opened, mut closed) = (0u64, 0u64);
    let (mut known, mut on_time) = (0u64, 0u64);
    let mut times: BTreeMap<i64, u64> = BTreeMap::new();
    for id in ids {
        let Some(c) = counts.get(id) else { continue };
        for (channel, category, n) in &c.received {
            f.received += n;
            *f.by_channel.entry(channel.clone()).or_default() += n;
            *f.by_category
                .entry(category.clone().unwrap_or_default())
                .or_default() += n;
        }
        f.sent += c.sent;
        opened += c.opened_before_end;
        closed += c.closed_before_end;
        f.overdue += c.overdue_at_end;
        for (seconds, n) in &c.answered {
            *times.entry(*seconds).or_default() += n;
        }
        known += c.answered_known;
        on_time += c.answered_on_time;
    }
    f.backlog = opened.saturating_sub(closed);
    let times: Vec<(i64, u64)> = times.into_iter().collect();
    f.answered = times.iter().map(|(_, n)| n).sum();
    f.median_seconds = percentile_of_counts(&times, 50);
    f.p90_seconds = percentile_of_counts(&times, 90);
    if known > 0 {
        f.on_time_share = Some(on_time as f64 / known as f64);
    }
    f
}

/// The indicators of a scope for a period, with its drill-down.
pub fn indicators(
    s: &Services,
    actor: &Actor,
    q: &IndicatorQuery,
) -> Result<IndicatorReport, AppError> {
    let org = crate::org::snapshot(s)?;
    let territory = q
        .territory
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if territory
        .is_some_and(|t| t.len() > 32 || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(invalid(
            "territory is a territory code (letters, digits, dashes)",
        ));
    }
    // The scope: its units, and the units of its drill-down lines.
    let (scope, subunits, members, children): (ScopeName, bool, Vec<String>, Vec<&Unit>) =
        match (q.administration.as_deref(), q.unit.as_deref()) {
            (Some(code), None) => {
                let a = org
                    .administrations
                    .iter()
                    .find(|a| a.code.as_str().eq_ignore_ascii_case(code.trim()))
                    .ok_or_else(|| AppError::not_found("administration"))?;
                let units: Vec<String> = org
                    .units
                    .iter()
                    .filter(|u| u.administration_id == a.id)
                    .map(|u| u.id.clone())
                    .collect();
                let roots = org
                    .units
                    .iter()
                    .filter(|u| u.administration_id == a.id && u.parent_id.is_none())
                    .collect();
                let name = ScopeName {
                    kind: "administration",
                    code: a.code.to_string(),
                    name_ar: a.name_ar.clone(),
                    name_fr: a.name_fr.clone(),
                    name_en: a.name_en.clone(),
                };
                (name, true, units, roots)
            }
            (None, Some(code)) => {
                let u = org
                    .unit_by_code(code)
                    .ok_or_else(|| AppError::not_found("unit"))?;
                if q.subunits {
                    let kids = org
                        .units
                        .iter()
                        .filter(|c| c.parent_id.as_deref() == Some(u.id.as_str()))
                        .collect();
                    (name_of_unit(u), true, subtree(&org, &u.id), kids)
                } else {
                    (name_of_unit(u), false, vec![u.id.clone()], Vec::new())
                }
            }
            _ => return Err(invalid("give either administration or unit")),
        };
    let seen = visible(actor, &org);
    if !members.iter().all(|m| seen.contains(m)) {
        return Err(AppError::rejected(
            Rejection::Forbidden,
            "forbidden",
            "these indicators cover units you may not see",
        ));
    }
    let in_scope: Vec<String> = members
        .iter()
        .filter(|id| org.unit(id).is_some_and(|u| in_territory(u, territory)))
        .cloned()
        .collect();
    let kind = q.period.unwrap_or(PeriodKind::Month);
    let today = s
        .clock
        .now()
        .with_timezone(&s.settings.time_zone)
        .date_naive();
    let period = Period::containing(kind, q.date.unwrap_or(today))
        .ok_or_else(|| invalid("no such period"))?;
    let tz = s.settings.time_zone;
    let (from, to) = start_of(tz, period.first)
        .zip(start_of(tz, period.end))
        .ok_or_else(|| invalid("no such period"))?;
    let counts = if in_scope.is_empty() {
        HashMap::new()
    } else {
        s.store.indicator_counts(&in_scope, &from, &to)?
    };
    let totals = figures(&in_scope, &counts);
    let mut lines = Vec::new();
    if subunits && let Some(own) = q.unit.as_deref().and_then(|c| org.unit_by_code(c)) {
        let ids: Vec<String> = in_scope
            .iter()
            .filter(|id| **id == own.id)
            .cloned()
            .collect();
        lines.push(Line {
            unit: name_of_unit(own),
            own: true,
            has_subunits: false,
            figures: figures(&ids, &counts),
        });
    }
    for child in children {
        let below = subtree(&org, &child.id);
        let ids: Vec<String> = in_scope
            .iter()
            .filter(|id| below.contains(id))
            .cloned()
            .collect();
        if territory.is_some() && ids.is_empty() {
            continue;
        }
        lines.push(Line {
            unit: name_of_unit(child),
            own: false,
            has_subunits: below.len() > 1,
            figures: figures(&ids, &counts),
        });
    }
    Ok(IndicatorReport {
        scope,
        subunits,
        territory: territory.map(str::to_owned),
        period: PeriodView {
            kind,
            first: period.first,
            last: period.end.pred_opt().unwrap_or(period.first),
            from,
            to,
        },
        totals,
        lines,
    })
}

/// One CSV cell: quoted when needed, and a text a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@`, tab, carriage return first) neutralised with a leading quote.
pub(crate) fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The report's table as CSV (UTF-8 with a byte-order mark, for spreadsheets): the totals
/// first, then one line per drill-down line.
pub fn to_csv(r: &IndicatorReport) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str("period_first,period_last,unit_code,unit_name_ar,unit_name_fr,scope,received,sent,backlog,overdue,answered,median_seconds,p90_seconds,on_time_share\r\n");
    let mut line = |code: &str, ar: &str, fr: &str, scope: &str, f: &Figures| {
        let fields = [
            r.period.first.to_string(),
            r.period.last.to_string(),
            cell(code),
            cell(ar),
            cell(fr),
            scope.to_owned(),
            f.received.to_string(),
            f.sent.to_string(),
            f.backlog.to_string(),
            f.overdue.to_string(),
            f.answered.to_string(),
            opt(f.median_seconds),
            opt(f.p90_seconds),
            opt(f.on_time_share.map(|s| format!("{s:.4}"))),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    };
    line(
        &r.scope.code,
        &r.scope.name_ar,
        &r.scope.name_fr,
        "total",
        &r.totals,
    );
    for l in &r.lines {
        let scope = if l.own { "own" } else { "subtree" };
        line(
            &l.unit.code,
            &l.unit.name_ar,
            &l.unit.name_fr,
            scope,
            &l.figures,
        );
    }
    out
}

/// The received letters by channel as CSV (UTF-8 with a byte-order mark, as [`to_csv`]).
pub fn channels_csv(r: &IndicatorReport) -> String {
    let mut out = String::from("\u{feff}period_first,period_last,scope_code,channel,received\r\n");
    for (channel, n) in &r.totals.by_channel {
        out.push_str(&format!(
            "{},{},{},{},{n}\r\n",
            r.period.first,
            r.period.last,
            cell(&r.scope.code),
            cell(channel)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("@x,\"y\""), "\"'@x,\"\"y\"\"\"");
        assert_eq!(cell("مصلحة"), "مصلحة");
    }
}

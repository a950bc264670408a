//! Open data: the public aggregates of incoming mail, per administration, month, category and
//! channel: letters received, letters answered, the median processing time and the share
//! answered within the legal delay.
//!
//! A month is published once it has ended (in the installation's time zone), and frozen then:
//! its cells are stored, so every later publication of it is the same and no difference
//! between two publications can be a count. Raw figures are stored; the threshold is applied
//! when they are served:
//!
//! - a count below the threshold (zero included) is withheld;
//! - the median is published only with the count of letters it summarises;
//! - the share on time only when neither the letters on time nor the late ones are a count
//!   between 1 and the threshold, since either could be read back from the share;
//! - a cell whose counts are both withheld is left out.
//!
//! Only the finest cells are published — no totals per administration, month, category or
//! channel — so no withheld count can be found by subtracting published ones. Categories are
//! published only when configured (`deadlines.categories`), others are grouped as none: a
//! category is free text a clerk typed, and must not carry a name.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use diwan_domain::indicators::{Period, PeriodKind, disclosed, disclosed_share, percentile};
use serde::Serialize;

use crate::Services;
use crate::error::AppError;
use crate::indicators::{cell, start_of};
use crate::model::OpenDataCell;

/// What is published.
#[derive(Debug, Clone)]
pub struct OpenDataSettings {
    /// The smallest count published.
    pub threshold: u64,
    /// How many closed months are published, the latest first.
    pub months: u32,
}

impl Default for OpenDataSettings {
    fn default() -> Self {
        Self {
            threshold: 5,
            months: 36,
        }
    }
}

/// What is asked: a month (`YYYY-MM`) and an administration (code), both optional.
#[derive(Debug, Clone, Default)]
pub struct OpenDataQuery {
    pub month: Option<String>,
    pub administration: Option<String>,
}

/// One published line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishedCell {
    pub month: String,
    pub administration_code: String,
    pub administration_name_ar: String,
    pub administration_name_fr: String,
    /// `null`: no category, or one that is not published.
    pub category: Option<String>,
    pub channel: String,
    pub received: Option<u64>,
    pub answered: Option<u64>,
    pub median_delay_days: Option<f64>,
    pub on_time_share: Option<f64>,
    /// The fields withheld because of the threshold.
    pub suppressed: Vec<&'static str>,
}

/// A field of the data dictionary.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Field {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description_ar: &'static str,
    pub description_fr: &'static str,
    pub description_en: &'static str,
}

/// The publication.
#[derive(Debug, Clone, Serialize)]
pub struct Publication {
    pub generated_at: DateTime<Utc>,
    pub time_zone: String,
    pub threshold: u64,
    /// Every published month (`YYYY-MM`), whatever was asked.
    pub months: Vec<String>,
    pub cells: Vec<PublishedCell>,
    pub dictionary: &'static [Field],
}

/// The data dictionary, in the order of the CSV's columns.
pub const DICTIONARY: &[Field] = &[
    Field {
        name: "month",
        kind: "string (YYYY-MM)",
        description_ar: "الشهر، حسب التوقيت المحلي للمنصة.",
        description_fr: "Le mois, dans le fuseau horaire de l'installation.",
        description_en: "The month, in the installation's time zone.",
    },
    Field {
        name: "administration_code",
        kind: "string",
        description_ar: "رمز الإدارة التي تتولى المراسلة.",
        description_fr: "Le code de l'administration en charge du courrier.",
        description_en: "The code of the administration in charge of the mail.",
    },
    Field {
        name: "administration_name_ar",
        kind: "string",
        description_ar: "اسم الإدارة بالعربية.",
        description_fr: "Le nom de l'administration en arabe.",
        description_en: "The administration's name in Arabic.",
    },
    Field {
        name: "administration_name_fr",
        kind: "string",
        description_ar: "اسم الإدارة بالفرنسية.",
        description_fr: "Le nom de l'administration en français.",
        description_en: "The administration's name in French.",
    },
    Field {
        name: "category",
        kind: "string or empty",
        description_ar: "صنف المراسلة كما حددته الإدارة؛ فارغ: بدون صنف أو صنف غير منشور.",
        description_fr: "La catégorie du courrier telle que configurée ; vide : sans catégorie ou catégorie non publiée.",
        description_en: "The mail's category as configured; empty: none, or a category that is not published.",
    },
    Field {
        name: "channel",
        kind: "string: portal, counter, email, exchange",
        description_ar: "قناة الإيداع: البوابة، الشباك، البريد الإلكتروني، التبادل بين الإدارات.",
        description_fr: "Le canal de dépôt : portail, guichet, courriel, échange entre administrations.",
        description_en: "How the mail arrived: portal, counter, e-mail, exchange between administrations.",
    },
    Field {
        name: "received",
        kind: "integer or empty",
        description_ar: "عدد المراسلات الواردة المسجلة خلال الشهر؛ فارغ: أقل من العتبة.",
        description_fr: "Le nombre de courriers entrants enregistrés dans le mois ; vide : moins que le seuil.",
        description_en: "Incoming letters registered in the month; empty: fewer than the threshold.",
    },
    Field {
        name: "answered",
        kind: "integer or empty",
        description_ar: "عدد المراسلات الواردة التي أجيب عنها لأول مرة خلال الشهر؛ فارغ: أقل من العتبة.",
        description_fr: "Le nombre de courriers entrants ayant reçu leur première réponse dans le mois ; vide : moins que le seuil.",
        description_en: "Incoming letters first answered in the month; empty: fewer than the threshold.",
    },
    Field {
        name: "median_delay_days",
        kind: "decimal (days) or empty",
        description_ar: "وسيط مدة المعالجة (من التسجيل إلى الجواب) للمراسلات المجاب عنها خلال الشهر، بالأيام.",
        description_fr: "La durée médiane de traitement (de l'enregistrement à la réponse) des courriers répondus dans le mois, en jours.",
        description_en: "The median processing time (registration to answer) of the letters answered in the month, in days.",
    },
    Field {
        name: "on_time_share",
        kind: "decimal between 0 and 1, or empty",
        description_ar: "نسبة المراسلات المجاب عنها داخل الأجل القانوني، من بين المجاب عنها خلال الشهر والمعروف أجلها؛ فارغ إذا أمكن استنتاج عدد أقل من العتبة منها.",
        description_fr: "La part des courriers répondus dans le délai légal, parmi ceux répondus dans le mois dont le délai est connu ; vide quand elle laisserait déduire un nombre inférieur au seuil.",
        description_en: "The share answered within the legal delay, among the letters answered in the month whose deadline is known; empty when a count below the threshold could be read back from it.",
    },
    Field {
        name: "suppressed",
        kind: "list of field names (JSON only)",
        description_ar: "الحقول المحجوبة لأنها دون العتبة.",
        description_fr: "Les champs retenus parce qu'en dessous du seuil.",
        description_en: "The fields withheld because they are below the threshold.",
    },
];

fn invalid(code: &'static str, detail: &str) -> AppError {
    AppError::unprocessable(code, detail.to_owned())
}

fn month_text(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

fn parse_month(text: &str) -> Option<NaiveDate> {
    let (y, m) = text.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

/// The months to publish at `now`: the last closed one, and before it the closed ones since the
/// first registration (`first`), `months` at most.
fn months_due(s: &Services, now: DateTime<Utc>, first: Option<DateTime<Utc>>) -> Vec<NaiveDate> {
    let tz = s.settings.time_zone;
    let Some(latest) = Period::containing(PeriodKind::Month, now.with_timezone(&tz).date_naive())
        .and_then(|current| current.previous())
    else {
        return Vec::new();
    };
    let first = first.map(|f| f.with_timezone(&tz).date_naive());
    let mut out = vec![latest.first];
    let mut month = latest.previous();
    while let Some(m) = month {
        if first.is_none_or(|f| m.end <= f) || out.len() >= s.settings.open_data.months as usize {
            break;
        }
        out.push(m.first);
        month = m.previous();
    }
    out.reverse();
    out
}

/// The last closed month at `now`.
fn latest_closed(s: &Services, now: DateTime<Utc>) -> Option<String> {
    let today = now.with_timezone(&s.settings.time_zone).date_naive();
    Period::containing(PeriodKind::Month, today)
        .and_then(|current| current.previous())
        .map(|m| month_text(m.first))
}

/// Counts one closed month into its cells.
fn count_month(s: &Services, first_day: NaiveDate) -> Result<Vec<OpenDataCell>, AppError> {
    let org = crate::org::snapshot(s)?;
    let period = Period::containing(PeriodKind::Month, first_day)
        .ok_or_else(|| AppError::internal("no such month"))?;
    let tz = s.settings.time_zone;
    let (from, to) = start_of(tz, period.first)
        .zip(start_of(tz, period.end))
        .ok_or_else(|| AppError::internal("no such month"))?;
    let units: Vec<String> = org.units.iter().map(|u| u.id.clone()).collect();
    let administration: HashMap<&str, &str> = org
        .units
        .iter()
        .map(|u| (u.id.as_str(), u.administration_id.as_str()))
        .collect();
    let published = &s.settings.deadlines.categories;
    let key = |unit: &str, category: Option<&String>, channel: &str| {
        let category = category
            .filter(|c| published.contains_key(c.as_str()))
            .cloned()
            .unwrap_or_default();
        administration
            .get(unit)
            .map(|a| ((*a).to_owned(), category, channel.to_owned()))
    };
    #[derive(Default)]
    struct Tally {
        received: u64,
        delays: Vec<i64>,
        known: u64,
        on_time: u64,
    }
    let mut cells: BTreeMap<(String, String, String), Tally> = BTreeMap::new();
    if !units.is_empty() {
        for (unit, channel, category, n) in s.store.received_between(&units, &from, &to)? {
            if let Some(k) = key(&unit, category.as_ref(), &channel) {
                cells.entry(k).or_default().received += n;
            }
        }
        for a in s.store.answered_between(&units, &from, &to)? {
            if let Some(k) = key(&a.unit_id, a.category.as_ref(), &a.channel) {
                let t = cells.entry(k).or_default();
                t.delays
                    .push((a.answered_at - a.registered_at).num_seconds());
                if let Some(due) = a.legal_due_at {
                    t.known += 1;
                    t.on_time += u64::from(a.answered_at < due);
                }
            }
        }
    }
    let month = month_text(first_day);
    Ok(cells
        .into_iter()
        .map(|((administration_id, category, channel), mut t)| {
            t.delays.sort_unstable();
            OpenDataCell {
                month: month.clone(),
                administration_id,
                category,
                channel,
                received: t.received,
                answered: t.delays.len() as u64,
                median_delay_seconds: percentile(&t.delays, 50),
                deadline_known: t.known,
                on_time: t.on_time,
            }
        })
        .collect())
}

/// Publishes the closed months not yet published; how many this call published. Run by the
/// scheduler and before each publication is served; concurrent callers publish each month
/// once.
pub fn publish_due(s: &Services) -> Result<usize, AppError> {
    let now = s.clock.now();
    let done: HashSet<String> = s.store.open_data_months()?.into_iter().collect();
    // The usual case, one small read: the last closed month is out already.
    if latest_closed(s, now).is_none_or(|m| done.contains(&m)) {
        return Ok(0);
    }
    let first = s.store.first_received()?;
    let mut published = 0;
    for day in months_due(s, now, first) {
        let month = month_text(day);
        if done.contains(&month) {
            continue;
        }
        let cells = count_month(s, day)?;
        if s.store.publish_open_data(&month, &now, &cells)? {
            tracing::info!(month = %month, cells = cells.len(), "open data published");
            published += 1;
        }
    }
    Ok(published)
}

/// What may be published of a stored cell.
#[derive(Debug, PartialEq)]
struct Disclosed {
    received: Option<u64>,
    answered: Option<u64>,
    median_delay_days: Option<f64>,
    on_time_share: Option<f64>,
    suppressed: Vec<&'static str>,
}

/// Applies the threshold to a stored cell; `None` when nothing of it may be published.
fn disclose(c: &OpenDataCell, threshold: u64) -> Option<Disclosed> {
    let received = disclosed(c.received, threshold);
    let answered = disclosed(c.answered, threshold);
    if received.is_none() && answered.is_none() {
        return None;
    }
    let median_delay_days = answered
        .and(c.median_delay_seconds)
        .map(|s| (s as f64 / 8640.0).round() / 10.0);
    let on_time_share = disclosed_share(c.on_time, c.deadline_known, threshold)
        .map(|v| (v * 1000.0).round() / 1000.0);
    let mut suppressed = Vec::new();
    if received.is_none() {
        suppressed.push("received");
    }
    if answered.is_none() {
        suppressed.extend(["answered", "median_delay_days"]);
    }
    if on_time_share.is_none() && c.deadline_known > 0 {
        suppressed.push("on_time_share");
    }
    Some(Disclosed {
        received,
        answered,
        median_delay_days,
        on_time_share,
        suppressed,
    })
}

/// The published months (`YYYY-MM`, in order), after publishing what is due.
pub fn months(s: &Services) -> Result<Vec<String>, AppError> {
    publish_due(s)?;
    Ok(s.store.open_data_months()?)
}

/// The publication, after publishing what is due.
pub fn publication(s: &Services, q: &OpenDataQuery) -> Result<Publication, AppError> {
    let month = q
        .month
        .as_deref()
        .map(|m| {
            parse_month(m.trim())
                .map(month_text)
                .ok_or_else(|| invalid("invalid_month", "month is YYYY-MM"))
        })
        .transpose()?;
    let org = crate::org::snapshot(s)?;
    let administration = q
        .administration
        .as_deref()
        .map(|code| {
            org.administrations
                .iter()
                .find(|a| a.code.as_str().eq_ignore_ascii_case(code.trim()))
                .ok_or_else(|| AppError::not_found("administration"))
        })
        .transpose()?;
    publish_due(s)?;
    let months = s.store.open_data_months()?;
    let (first, last) = match (&month, months.first(), months.last()) {
        (Some(m), _, _) => (m.clone(), m.clone()),
        (None, Some(a), Some(b)) => (a.clone(), b.clone()),
        _ => (String::new(), String::new()),
    };
    let threshold = s.settings.open_data.threshold;
    let names: HashMap<&str, _> = org
        .administrations
        .iter()
        .map(|a| (a.id.as_str(), a))
        .collect();
    let stored = if months.is_empty() {
        Vec::new()
    } else {
        s.store.open_data_cells(&first, &last)?
    };
    let cells = stored
        .iter()
        .filter(|c| administration.is_none_or(|a| a.id == c.administration_id))
        .filter_map(|c| {
            let a = names.get(c.administration_id.as_str())?;
            let Disclosed {
                received,
                answered,
                median_delay_days,
                on_time_share,
                suppressed,
            } = disclose(c, threshold)?;
            Some(PublishedCell {
                month: c.month.clone(),
                administration_code: a.code.to_string(),
                administration_name_ar: a.name_ar.clone(),
                administration_name_fr: a.name_fr.clone(),
                category: (!c.category.is_empty()).then(|| c.category.clone()),
                channel: c.channel.clone(),
                received,
                answered,
                median_delay_days,
                on_time_share,
                suppressed,
            })
        })
        .collect();
    Ok(Publication {
        generated_at: s.clock.now(),
        time_zone: s.settings.time_zone.name().to_owned(),
        threshold,
        months,
        cells,
        dictionary: DICTIONARY,
    })
}

/// The cells as CSV (UTF-8 with a byte-order mark), columns in the dictionary's order; an
/// empty field is withheld or not applicable.
pub fn to_csv(p: &Publication) -> String {
    let mut out = String::from("\u{feff}");
    let names: Vec<&str> = DICTIONARY
        .iter()
        .map(|f| f.name)
        .filter(|n| *n != "suppressed")
        .collect();
    out.push_str(&names.join(","));
    out.push_str("\r\n");
    let opt = |v: Option<String>| v.unwrap_or_default();
    for c in &p.cells {
        let fields = [
            c.month.clone(),
            cell(&c.administration_code),
            cell(&c.administration_name_ar),
            cell(&c.administration_name_fr),
            cell(c.category.as_deref().unwrap_or_default()),
            cell(&c.channel),
            opt(c.received.map(|v| v.to_string())),
            opt(c.answered.map(|v| v.to_string())),
            opt(c.median_delay_days.map(|v| format!("{v:.1}"))),
            opt(c.on_time_share.map(|v| format!("{v:.3}"))),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(received: u64, answered: u64, known: u64, on_time: u64) -> OpenDataCell {
        OpenDataCell {
            month: "2026-10".into(),
            administration_id: "a".into(),
            category: String::new(),
            channel: "portal".into(),
            received,
            answered,
            median_delay_seconds: (answered > 0).then_some(3 * 86_400 + 3_600),
            deadline_known: known,
            on_time,
        }
    }

    #[test]
    fn months_parse_strictly() {
        assert_eq!(
            parse_month("2026-02").map(month_text).as_deref(),
            Some("2026-02")
        );
        for bad in [
            "2026-2",
            "2026-13",
            "26-02",
            "2026-02-01",
            "",
            "x-y",
            "2026_02",
        ] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_threshold_is_applied_to_each_figure() {
        assert_eq!(disclose(&stored(4, 0, 0, 0), 5), None);
        assert_eq!(disclose(&stored(4, 4, 4, 4), 5), None);
        let d = |received, answered, median_delay_days, on_time_share, suppressed: &[_]| {
            Some(Disclosed {
                received,
                answered,
                median_delay_days,
                on_time_share,
                suppressed: suppressed.to_vec(),
            })
        };
        assert_eq!(
            disclose(&stored(12, 3, 3, 3), 5),
            d(
                Some(12),
                None,
                None,
                None,
                &["answered", "median_delay_days", "on_time_share"]
            )
        );
        assert_eq!(
            disclose(&stored(2, 10, 10, 9), 5),
            d(
                None,
                Some(10),
                Some(3.0),
                None,
                &["received", "on_time_share"]
            )
        );
        assert_eq!(
            disclose(&stored(20, 10, 10, 5), 5),
            d(Some(20), Some(10), Some(3.0), Some(0.5), &[])
        );
    }

    #[test]
    fn the_csv_header_follows_the_dictionary() {
        let p = Publication {
            generated_at: Utc::now(),
            time_zone: "UTC".into(),
            threshold: 5,
            months: vec![],
            cells: vec![PublishedCell {
                month: "2026-10".into(),
                administration_code: "=CMD".into(),
                administration_name_ar: "وزارة".into(),
                administration_name_fr: "Ministère, \"central\"".into(),
                category: None,
                channel: "portal".into(),
                received: Some(7),
                answered: None,
                median_delay_days: None,
                on_time_share: Some(0.5),
                suppressed: vec!["answered"],
            }],
            dictionary: DICTIONARY,
        };
        let csv = to_csv(&p);
        let mut lines = csv.trim_start_matches('\u{feff}').lines();
        assert_eq!(
            lines.next(),
            Some(
                "month,administration_code,administration_name_ar,administration_name_fr,category,channel,received,answered,median_delay_days,on_time_share"
            )
        );
        assert_eq!(
            lines.next(),
            Some("2026-10,'=CMD,وزارة,\"Ministère, \"\"central\"\"\",,portal,7,,,0.500")
        );
    }
}

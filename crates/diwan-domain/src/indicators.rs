//! Indicators: the periods they are counted over and how a processing time is summarised.
//!
//! A period is a day, an ISO week (Monday to Sunday), a calendar month or a calendar year, in
//! the installation's time zone; it is given by any date inside it. Processing times are
//! summarised with the nearest-rank percentile: the `p`-th percentile of `n` sorted values is
//! the value of rank `ceil(p/100 × n)` (1-based), so it is always one of the values.

use chrono::{Datelike as _, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// The length of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Day,
    Week,
    Month,
    Year,
}

impl PeriodKind {
    pub const ALL: [Self; 4] = [Self::Day, Self::Week, Self::Month, Self::Year];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// A period: its first day and the day after its last (local dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub kind: PeriodKind,
    pub first: NaiveDate,
    /// The day after the period (exclusive end).
    pub end: NaiveDate,
}

impl Period {
    /// The period of `kind` that contains `date`; `None` only at the ends of the calendar.
    pub fn containing(kind: PeriodKind, date: NaiveDate) -> Option<Self> {
        let (first, end) = match kind {
            PeriodKind::Day => (date, date.succ_opt()?),
            PeriodKind::Week => {
                let first = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                (first, first + Duration::days(7))
            }
            PeriodKind::Month => {
                let first = date.with_day(1)?;
                let end = if date.month() == 12 {
                    NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)?
                } else {
                    NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)?
                };
                (first, end)
            }
            PeriodKind::Year => (
                NaiveDate::from_ymd_opt(date.year(), 1, 1)?,
                NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)?,
            ),
        };
        Some(Self { kind, first, end })
    }

    /// The period just before this one.
    pub fn previous(&self) -> Option<Self> {
        Self::containing(self.kind, self.first.pred_opt()?)
    }
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of values sorted ascending.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() || p == 0 || p > 100 {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(p) * n).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// A processing time as the indicators keep it: rounded down to the minute under a day, to
/// the hour beyond. Rounding down keeps the order, so a percentile of kept times is the kept
/// form of the exact percentile.
pub fn processing_time(seconds: i64) -> i64 {
    let seconds = seconds.max(0);
    if seconds < 86_400 {
        seconds / 60 * 60
    } else {
        seconds / 3_600 * 3_600
    }
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of values given as (value, how many),
/// sorted by value.
pub fn percentile_of_counts(sorted: &[(i64, u64)], p: u32) -> Option<i64> {
    let n: u64 = sorted.iter().map(|(_, c)| c).sum();
    if n == 0 || p == 0 || p > 100 {
        return None;
    }
    let rank = (u64::from(p) * n).div_ceil(100).max(1);
    let mut seen = 0;
    for (value, count) in sorted {
        seen += count;
        if seen >= rank {
            return Some(*value);
        }
    }
    None
}

/// Small-count suppression for published aggregates: a count is published only when it
/// reaches the threshold (zero included among the withheld: "fewer than the threshold").
pub fn disclosed(count: u64, threshold: u64) -> Option<u64> {
    (count >= threshold.max(1)).then_some(count)
}

/// The share `part / whole`, published only when neither `part` nor `whole − part` is a count
/// between 1 and the threshold (either could be read back from the share and the whole) and
/// `whole` itself reaches it.
pub fn disclosed_share(part: u64, whole: u64, threshold: u64) -> Option<f64> {
    let threshold = threshold.max(1);
    let small = |n: u64| n > 0 && n < threshold;
    if whole < threshold || part > whole || small(part) || small(whole - part) {
        return None;
    }
    Some(part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn periods_contain_their_date_and_follow_each_other() {
        let p = Period::containing(PeriodKind::Month, d(2026, 12, 31)).unwrap();
        assert_eq!((p.first, p.end), (d(2026, 12, 1), d(2027, 1, 1)));
        let p = Period::containing(PeriodKind::Month, d(2028, 2, 29)).unwrap();
        assert_eq!((p.first, p.end), (d(2028, 2, 1), d(2028, 3, 1)));
        // 2026-12-03 is a Thursday: its ISO week runs Monday 30 November to Sunday 6 December.
        let p = Period::containing(PeriodKind::Week, d(2026, 12, 3)).unwrap();
        assert_eq!((p.first, p.end), (d(2026, 11, 30), d(2026, 12, 7)));
        let p = Period::containing(PeriodKind::Week, d(2026, 11, 30)).unwrap();
        assert_eq!(p.first, d(2026, 11, 30));
        let p = Period::containing(PeriodKind::Year, d(2026, 6, 15)).unwrap();
        assert_eq!((p.first, p.end), (d(2026, 1, 1), d(2027, 1, 1)));
        let p = Period::containing(PeriodKind::Day, d(2026, 12, 31)).unwrap();
        assert_eq!(p.end, d(2027, 1, 1));
        for kind in PeriodKind::ALL {
            let p = Period::containing(kind, d(2026, 3, 1)).unwrap();
            assert_eq!(p.previous().unwrap().end, p.first, "{kind:?}");
            assert_eq!(PeriodKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 50), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 50), Some(3));
        assert_eq!(percentile(&(1..=10).collect::<Vec<_>>(), 90), Some(9));
        assert_eq!(percentile(&(1..=11).collect::<Vec<_>>(), 90), Some(10));
        assert_eq!(percentile(&[1, 2], 100), Some(2));
        assert_eq!(percentile(&[1, 2], 0), None);
    }

    #[test]
    fn processing_times_keep_minutes_then_hours() {
        assert_eq!(processing_time(59), 0);
        assert_eq!(processing_time(7_259), 7_200);
        assert_eq!(processing_time(86_399), 86_340);
        assert_eq!(processing_time(86_400 + 3_599), 86_400);
        assert_eq!(processing_time(-5), 0);
    }

    #[test]
    fn percentiles_of_counts_equal_those_of_the_values() {
        let values = [1, 1, 2, 3, 3, 3, 7, 9, 9, 10];
        let counts = [(1, 2), (2, 1), (3, 3), (7, 1), (9, 2), (10, 1)];
        for p in [1, 10, 50, 89, 90, 91, 100] {
            assert_eq!(
                percentile_of_counts(&counts, p),
                percentile(&values, p),
                "{p}"
            );
        }
        assert_eq!(percentile_of_counts(&[], 50), None);
        assert_eq!(percentile_of_counts(&[(4, 0)], 50), None);
    }

    #[test]
    fn small_counts_are_withheld() {
        assert_eq!(disclosed(0, 5), None);
        assert_eq!(disclosed(4, 5), None);
        assert_eq!(disclosed(5, 5), Some(5));
        assert_eq!(disclosed(1, 0), Some(1));
        assert_eq!(disclosed_share(10, 10, 5), Some(1.0));
        assert_eq!(disclosed_share(0, 10, 5), Some(0.0));
        assert_eq!(disclosed_share(5, 10, 5), Some(0.5));
        // One late letter out of ten could be read back from 0.9.
        assert_eq!(disclosed_share(9, 10, 5), None);
        assert_eq!(disclosed_share(1, 10, 5), None);
        assert_eq!(disclosed_share(3, 4, 5), None);
        assert_eq!(disclosed_share(11, 10, 5), None);
    }
}

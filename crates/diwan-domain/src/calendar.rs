//! Working days and legal deadlines.
//!
//! A [`WorkingCalendar`] knows the weekly days off, the holidays that fall on the same date every
//! year, and holidays given as dates (the lunar ones, whose Gregorian date moves each year, are
//! configured this way, year by year). A [`DeadlineRule`] says how many working days the
//! administration has to answer and what its silence means.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// How many days a rule may give; also bounds the search for the next working day.
pub const MAX_DELAY_DAYS: u32 = 3_650;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    weekend: Vec<Weekday>,
    /// (month, day) of holidays on the same date every year.
    annual: BTreeSet<(u32, u32)>,
    /// Holidays on a given date (lunar holidays, exceptional closures).
    dated: BTreeSet<NaiveDate>,
}

impl WorkingCalendar {
    /// A calendar; `annual` holds (month, day) pairs, checked to exist in a leap year.
    pub fn new(
        weekend: Vec<Weekday>,
        annual: impl IntoIterator<Item = (u32, u32)>,
        dated: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, crate::DomainError> {
        let annual: BTreeSet<(u32, u32)> = annual.into_iter().collect();
        if let Some((m, d)) = annual
            .iter()
            .find(|(m, d)| NaiveDate::from_ymd_opt(2024, *m, *d).is_none())
        {
            return Err(crate::DomainError::invalid(
                "calendar",
                format!("{m:02}-{d:02} is not a date"),
            ));
        }
        if weekend.len() >= 7 {
            return Err(crate::DomainError::invalid(
                "calendar",
                "a week needs at least one working day",
            ));
        }
        Ok(Self {
            weekend,
            annual,
            dated: dated.into_iter().collect(),
        })
    }

    /// Saturday and Sunday off, no holidays.
    pub fn saturday_sunday() -> Self {
        Self {
            weekend: vec![Weekday::Sat, Weekday::Sun],
            annual: BTreeSet::new(),
            dated: BTreeSet::new(),
        }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !self.weekend.contains(&date.weekday())
            && !self.annual.contains(&(date.month(), date.day()))
            && !self.dated.contains(&date)
    }

    /// The date `days` working days after `start` (`start` itself does not count, whether it
    /// is a working day or not). `None` if the calendar has no working day in reach.
    pub fn add_working_days(&self, start: NaiveDate, days: u32) -> Option<NaiveDate> {
        let mut date = start;
        let mut left = days;
        let mut steps = 0u32;
        while left > 0 {
            date = date.succ_opt()?;
            steps += 1;
            if steps > MAX_DELAY_DAYS * 2 + 366 {
                return None;
            }
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        Some(date)
    }
}

/// What the administration's silence at the deadline means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Silence {
    /// Silence is acceptance (silence vaut acceptation).
    Acceptance,
    /// Silence is rejection.
    Rejection,
    /// The law gives silence no meaning.
    Nothing,
}

/// The answering delay of a category of mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineRule {
    /// Working days to answer.
    pub working_days: u32,
    pub silence: Silence,
    /// The sentence printed on receipts, in Arabic and in French.
    pub sentence_ar: String,
    pub sentence_fr: String,
}

impl DeadlineRule {
    /// The deadline for mail received on `received`.
    pub fn deadline(&self, calendar: &WorkingCalendar, received: NaiveDate) -> Option<NaiveDate> {
        if self.working_days > MAX_DELAY_DAYS {
            return None;
        }
        calendar.add_working_days(received, self.working_days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A Moroccan-style calendar: Saturday and Sunday off, fixed national holidays, and the
    /// 2026 lunar holidays as dates.
    fn calendar() -> WorkingCalendar {
        WorkingCalendar::new(
            vec![Weekday::Sat, Weekday::Sun],
            [
                (1, 1),
                (1, 11),
                (1, 14),
                (5, 1),
                (7, 30),
                (8, 14),
                (8, 20),
                (8, 21),
                (11, 6),
                (11, 18),
            ],
            [
                d("2026-03-20"),
                d("2026-03-21"),
                d("2026-05-27"),
                d("2026-05-28"),
                d("2026-06-17"),
                d("2026-08-26"),
            ],
        )
        .unwrap()
    }

    #[test]
    fn weekends_are_skipped() {
        // Thursday 2026-11-26 + 3 working days: Fri 27, (Sat, Sun), Mon 30, Tue 1 Dec.
        assert_eq!(
            calendar().add_working_days(d("2026-11-26"), 3),
            Some(d("2026-12-01"))
        );
        // Received on a Saturday: counting starts on Monday.
        assert_eq!(
            calendar().add_working_days(d("2026-11-28"), 1),
            Some(d("2026-11-30"))
        );
    }

    #[test]
    fn fixed_holidays_are_skipped() {
        // Thursday 2026-11-05 + 2: Fri 6 is the Green March holiday, so Mon 9 then Tue 10.
        assert_eq!(
            calendar().add_working_days(d("2026-11-05"), 2),
            Some(d("2026-11-10"))
        );
    }

    #[test]
    fn lunar_holidays_are_skipped() {
        // Tuesday 2026-05-26 + 2: Wed 27 and Thu 28 are Eid al-Adha, so Fri 29 then Mon 1 June.
        assert_eq!(
            calendar().add_working_days(d("2026-05-26"), 2),
            Some(d("2026-06-01"))
        );
    }

    #[test]
    fn year_boundaries_are_crossed() {
        // Wednesday 2026-12-30 + 3: Thu 31, (Fri 1 Jan holiday, weekend), Mon 4, Tue 5 Jan 2027.
        assert_eq!(
            calendar().add_working_days(d("2026-12-30"), 3),
            Some(d("2027-01-05"))
        );
        let rule = DeadlineRule {
            working_days: 60,
            silence: Silence::Acceptance,
            sentence_ar: "يعتبر سكوت الإدارة قبولا".into(),
            sentence_fr: "Le silence de l'administration vaut acceptation".into(),
        };
        let deadline = rule.deadline(&calendar(), d("2026-12-15")).unwrap();
        assert!(deadline > d("2027-03-01") && calendar().is_working_day(deadline));
    }

    #[test]
    fn refuses_impossible_calendars() {
        assert!(WorkingCalendar::new(vec![], [(2, 30)], []).is_err());
        let all = vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        assert!(WorkingCalendar::new(all, [], []).is_err());
        assert_eq!(
            WorkingCalendar::new(vec![], [], [])
                .unwrap()
                .add_working_days(d("2026-01-01"), 0),
            Some(d("2026-01-01"))
        );
    }
}

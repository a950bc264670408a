//! Hijri dates in the Umm al-Qura calendar, for printing beside the Gregorian date.
//!
//! The conversion uses the month lengths that Saudi Arabia's KACST computes for the official
//! Umm al-Qura calendar, as carried by `icu_calendar`. That table covers 1300–1600 AH
//! (1882-11-12 to 2174-11-25); outside it there is no official answer, so [`umm_al_qura`] gives
//! `None` rather than an estimate.
//!
//! The table is KACST's current computation. Two periods deserve care: before 1420 AH (1999) the
//! Umm al-Qura criterion was different, and calendars printed then may differ by a day; from
//! 1451 AH (mid-2029) the table is a prediction, and KACST's published predictions have differed
//! by a day for some months.
//!
//! The Umm al-Qura calendar is computed in advance. Religious dates announced after a sighting of
//! the crescent (the start of Ramadan, the Eids) may differ from it by a day, which is why lunar
//! holidays are configured as dates in [`crate::calendar::WorkingCalendar`], not derived here.
//!
//! Both formats write the numbers in Western digits ("10 جمادى الأولى 1448 هـ"), as Moroccan
//! administrations do in Arabic text.

use chrono::{Datelike, NaiveDate};
use icu_calendar::{Date, cal::Hijri};

/// The first and last Hijri years of the official Umm al-Qura table.
const SUPPORTED_YEARS: std::ops::RangeInclusive<i32> = 1300..=1600;

/// Month names in Arabic, Muharram first.
const MONTHS_AR: [&str; 12] = [
    "محرم",
    "صفر",
    "ربيع الأول",
    "ربيع الآخر",
    "جمادى الأولى",
    "جمادى الآخرة",
    "رجب",
    "شعبان",
    "رمضان",
    "شوال",
    "ذو القعدة",
    "ذو الحجة",
];

/// Month names transliterated for French text, Muharram first.
const MONTHS_FR: [&str; 12] = [
    "mouharram",
    "safar",
    "rabii al-awal",
    "rabii al-akhir",
    "joumada al-oula",
    "joumada al-akhira",
    "rajab",
    "chaabane",
    "ramadan",
    "chaoual",
    "dou al-qiida",
    "dou al-hijja",
];

/// A day of the Hijri calendar. Fields are ordered so that the derived ordering is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HijriDate {
    /// The year of the Hijra era (AH).
    pub year: i32,
    /// 1 (Muharram) to 12 (Dhu al-Hijja).
    pub month: u8,
    /// 1 to 30.
    pub day: u8,
}

/// The Umm al-Qura date of a Gregorian day; `None` outside the official table (1300–1600 AH).
pub fn umm_al_qura(date: NaiveDate) -> Option<HijriDate> {
    let month = u8::try_from(date.month()).ok()?;
    let day = u8::try_from(date.day()).ok()?;
    let iso = Date::try_new_iso(date.year(), month, day).ok()?;
    let hijri = iso.to_calendar(Hijri::new_umm_al_qura());
    let year = hijri.year().extended_year();
    SUPPORTED_YEARS.contains(&year).then(|| HijriDate {
        year,
        month: hijri.month().ordinal,
        day: hijri.day_of_month().0,
    })
}

impl HijriDate {
    /// For example "10 جمادى الأولى 1448 هـ" (Western digits, as used in Morocco).
    pub fn format_ar(&self) -> String {
        format!("{} {} {} هـ", self.day, self.month_name_ar(), self.year)
    }

    /// For example "10 joumada al-oula 1448 H".
    pub fn format_fr(&self) -> String {
        format!("{} {} {} H", self.day, self.month_name_fr(), self.year)
    }

    /// The Arabic month name; empty if `month` is not in 1..=12.
    pub fn month_name_ar(&self) -> &'static str {
        month_name(&MONTHS_AR, self.month)
    }

    /// The French transliteration of the month name; empty if `month` is not in 1..=12.
    pub fn month_name_fr(&self) -> &'static str {
        month_name(&MONTHS_FR, self.month)
    }
}

fn month_name(names: &[&'static str; 12], month: u8) -> &'static str {
    usize::from(month)
        .checked_sub(1)
        .and_then(|i| names.get(i))
        .copied()
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn h(year: i32, month: u8, day: u8) -> HijriDate {
        HijriDate { year, month, day }
    }

    /// Gregorian → Umm al-Qura pairs, none of them computed with `icu_calendar`.
    ///
    /// Sources: up to 1450 AH (May 2029), the official comparative calendar (Taqwim Umm al-Qura
    /// al-Muqaran) published for KACST; from 1451 AH, the predictions published by KACST on
    /// ummulqura.org.sa. Both as tabulated month by month in the `hijridate` 2.6.0 Python package
    /// (`ummalqura.MONTH_STARTS`), and every row checked against a second table, the
    /// `Hijrah-umalqura` configuration shipped with OpenJDK 17 (`java.time.chrono.HijrahDate`).
    /// The two tables agree on every day from 1420 to 1450 AH. From 1451 AH they disagree on the
    /// length of some months (Sha'ban 1452: 30 days in the first, 29 in the second), so the rows
    /// after May 2029 are days on which both agree.
    ///
    /// Rows marked "announced" are also the date Saudi Arabia announced for that day.
    const REFERENCE: &[(&str, (i32, u8, u8))] = &[
        ("2015-06-18", (1436, 9, 1)),   // 1 Ramadan 1436 (announced)
        ("2015-07-16", (1436, 9, 29)),  // last day of Ramadan 1436 (29 days)
        ("2015-07-17", (1436, 10, 1)),  // 1 Shawwal 1436, Eid al-Fitr (announced)
        ("2015-10-14", (1437, 1, 1)),   // 1 Muharram 1437
        ("2015-12-23", (1437, 3, 12)),  // 12 Rabi' al-Awwal 1437
        ("2016-06-06", (1437, 9, 1)),   // 1 Ramadan 1437 (announced)
        ("2016-07-05", (1437, 9, 30)),  // last day of Ramadan 1437 (30 days)
        ("2016-10-02", (1438, 1, 1)),   // 1 Muharram 1438
        ("2017-06-25", (1438, 10, 1)),  // 1 Shawwal 1438 (announced)
        ("2018-05-16", (1439, 9, 1)),   // 1 Ramadan 1439 (Umm al-Qura; sighting gave 17 May)
        ("2018-09-11", (1440, 1, 1)),   // 1 Muharram 1440
        ("2019-05-06", (1440, 9, 1)),   // 1 Ramadan 1440 (announced)
        ("2019-08-10", (1440, 12, 9)),  // 9 Dhu al-Hijja 1440, day of Arafat (announced)
        ("2020-04-24", (1441, 9, 1)),   // 1 Ramadan 1441 (announced)
        ("2020-05-24", (1441, 10, 1)),  // 1 Shawwal 1441 (announced)
        ("2021-04-13", (1442, 9, 1)),   // 1 Ramadan 1442 (announced)
        ("2022-07-30", (1444, 1, 1)),   // 1 Muharram 1444
        ("2023-03-23", (1444, 9, 1)),   // 1 Ramadan 1444 (announced)
        ("2023-04-21", (1444, 10, 1)),  // 1 Shawwal 1444 (announced)
        ("2024-03-11", (1445, 9, 1)),   // 1 Ramadan 1445 (announced)
        ("2024-06-15", (1445, 12, 9)),  // 9 Dhu al-Hijja 1445, day of Arafat (announced)
        ("2024-07-07", (1446, 1, 1)),   // 1 Muharram 1446
        ("2025-03-01", (1446, 9, 1)),   // 1 Ramadan 1446 (announced)
        ("2025-03-30", (1446, 10, 1)),  // 1 Shawwal 1446 (announced)
        ("2025-06-25", (1446, 12, 29)), // last day of 1446 (Dhu al-Hijja of 29 days)
        ("2025-06-26", (1447, 1, 1)),   // 1 Muharram 1447
        ("2026-02-18", (1447, 9, 1)),   // 1 Ramadan 1447
        ("2026-03-20", (1447, 10, 1)),  // 1 Shawwal 1447
        ("2026-06-16", (1448, 1, 1)),   // 1 Muharram 1448
        ("2026-10-21", (1448, 5, 10)),  // 10 Jumada al-Ula 1448
        ("2026-11-10", (1448, 5, 30)),  // last day of Jumada al-Ula 1448 (30 days)
        ("2027-02-08", (1448, 9, 1)),   // 1 Ramadan 1448
        ("2028-01-28", (1449, 9, 1)),   // 1 Ramadan 1449
        ("2029-05-14", (1451, 1, 1)),   // 1 Muharram 1451
        ("2030-01-05", (1451, 9, 1)),   // 1 Ramadan 1451
        ("2030-02-03", (1451, 9, 30)),  // last day of Ramadan 1451 (30 days)
        ("2030-02-04", (1451, 10, 1)),  // 1 Shawwal 1451
        ("2030-12-26", (1452, 9, 1)),   // 1 Ramadan 1452
    ];

    #[test]
    fn matches_the_published_umm_al_qura_calendar() {
        let mismatches: Vec<String> = REFERENCE
            .iter()
            .filter_map(|&(gregorian, (y, m, dd))| {
                let got = umm_al_qura(d(gregorian));
                (got != Some(h(y, m, dd))).then(|| format!("{gregorian}: {got:?}"))
            })
            .collect();
        assert!(mismatches.is_empty(), "{mismatches:#?}");
    }

    #[test]
    fn consecutive_days_advance_by_one_hijri_day() {
        let mut day = d("2015-01-01");
        let mut previous = umm_al_qura(day).unwrap();
        while day < d("2031-01-01") {
            day = day.succ_opt().unwrap();
            let next = umm_al_qura(day).unwrap();
            let same_month = next.year == previous.year && next.month == previous.month;
            if same_month {
                assert_eq!(next.day, previous.day + 1, "{day}");
            } else {
                assert_eq!(next.day, 1, "{day}");
                assert!((29..=30).contains(&previous.day), "{day}: {previous:?}");
            }
            previous = next;
        }
    }

    #[test]
    fn outside_the_official_table_there_is_no_date() {
        assert_eq!(umm_al_qura(d("1882-11-11")), None);
        assert_eq!(umm_al_qura(d("1882-11-12")), Some(h(1300, 1, 1)));
        assert_eq!(umm_al_qura(d("2174-11-25")).map(|x| x.year), Some(1600));
        assert_eq!(umm_al_qura(d("2174-11-26")), None);
        assert_eq!(umm_al_qura(NaiveDate::MIN), None);
        assert_eq!(umm_al_qura(NaiveDate::MAX), None);
    }

    #[test]
    fn formats_in_arabic_and_french() {
        let date = h(1448, 5, 10);
        assert_eq!(date.format_ar(), "10 جمادى الأولى 1448 هـ");
        assert_eq!(date.format_fr(), "10 joumada al-oula 1448 H");
        assert_eq!(h(1447, 9, 1).format_fr(), "1 ramadan 1447 H");
        assert_eq!(h(1447, 12, 29).format_ar(), "29 ذو الحجة 1447 هـ");
    }

    #[test]
    fn every_month_has_a_name_and_others_have_none() {
        for month in 1..=12 {
            assert!(!h(1447, month, 1).month_name_ar().is_empty());
            assert!(!h(1447, month, 1).month_name_fr().is_empty());
        }
        assert_eq!(h(1447, 1, 1).month_name_ar(), "محرم");
        assert_eq!(h(1447, 0, 1).month_name_ar(), "");
        assert_eq!(h(1447, 13, 1).month_name_fr(), "");
    }
}

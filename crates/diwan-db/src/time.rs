//! Times are stored as RFC 3339 UTC text with exactly six decimals, so text order is time order.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn to_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn from_text(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("stored time {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_and_round_trip() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(to_text(&t), "2026-01-02T03:04:05.000000Z");
        assert_eq!(from_text(&to_text(&t)).unwrap(), t);
    }
}

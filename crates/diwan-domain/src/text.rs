//! Bounded free text: names, subjects, references.
//!
//! Text is stored and returned exactly as given (no trimming, no normalisation, markup kept as
//! characters: escaping is the job of whoever renders it). What is refused: empty required
//! values, values over the documented limit (counted in Unicode scalar values), and control
//! characters other than tab, line feed and carriage return in multi-line fields.

use crate::error::{DomainError, Field};

pub use crate::search::normalise_for_search;

/// Documented limits, in characters (Unicode scalar values). See `docs/API.md`.
pub mod limits {
    pub const NAME: usize = 300;
    pub const SUBJECT: usize = 1_000;
    pub const REFERENCE: usize = 200;
    pub const IDENTIFIER: usize = 64;
    pub const EMAIL: usize = 254;
    pub const PHONE: usize = 32;
    pub const CATEGORY: usize = 100;
    pub const FILE_NAME: usize = 255;
    pub const REASON: usize = 2_000;
    pub const CODE: usize = 32;
    pub const FORMAT: usize = 100;
    pub const TERRITORY: usize = 32;
}

/// Checks a single-line text: not empty, at most `max` characters, no control characters.
pub fn line(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    check(field, value, max, false)
}

/// Checks a text that may hold line breaks and tabs.
pub fn multiline(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    check(field, value, max, true)
}

/// Checks an optional single-line text; `None` is fine, `Some("")` is not.
pub fn optional_line(field: &str, value: Option<&str>, max: usize) -> Result<(), DomainError> {
    value.map_or(Ok(()), |v| line(field, v, max))
}

fn check(field: &str, value: &str, max: usize, breaks: bool) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(DomainError::Missing {
            field: Field::from(field),
        });
    }
    if value.chars().count() > max {
        return Err(DomainError::TooLong {
            field: Field::from(field),
            max,
        });
    }
    let allowed = |c: char| breaks && matches!(c, '\t' | '\n' | '\r');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(DomainError::ControlCharacter {
            field: Field::from(field),
        });
    }
    Ok(())
}

/// A minimal, permissive e-mail syntax check: one `@`, something on both sides, a dot in the
/// domain, no spaces. Deliverability is the mail server's business.
pub fn email(field: &str, value: &str) -> Result<(), DomainError> {
    line(field, value, limits::EMAIL)?;
    let ok = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !value.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(field, "not an e-mail address"))
    }
}

/// A telephone number as people write it: at least six digits, and only digits, spaces, `+`
/// (first), `-`, `.` and parentheses; at most 32 characters.
pub fn phone(field: &str, value: &str) -> Result<(), DomainError> {
    line(field, value, limits::PHONE)?;
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value.char_indices().all(|(i, c)| {
        c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && i == 0)
    });
    if allowed && digits >= 6 {
        Ok(())
    } else {
        Err(DomainError::invalid(field, "not a telephone number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert!(phone("p", "+212 6 12 34 56 78").is_ok());
        assert!(phone("p", "(0537) 00-00-00").is_ok());
        assert!(phone("p", "12345").is_err());
        assert!(phone("p", "06 12 <b>34</b>").is_err());
        assert!(phone("p", "06+12345678").is_err());
        assert!(phone("p", &"1".repeat(40)).is_err());
    }

    #[test]
    fn keeps_arabic_and_markup() {
        assert!(line("name", "محمد <script>alert(\"x\")</script> O'Brien", 300).is_ok());
    }

    #[test]
    fn counts_characters_not_bytes() {
        let arabic = "م".repeat(300);
        assert!(line("name", &arabic, 300).is_ok());
        let longer = "م".repeat(301);
        assert_eq!(
            line("name", &longer, 300),
            Err(DomainError::TooLong {
                field: "name".into(),
                max: 300
            })
        );
    }

    #[test]
    fn refuses_empty_and_controls() {
        assert!(matches!(
            line("n", "  ", 10),
            Err(DomainError::Missing { .. })
        ));
        assert!(matches!(
            line("n", "a\u{0}b", 10),
            Err(DomainError::ControlCharacter { .. })
        ));
        assert!(matches!(
            line("n", "a\nb", 10),
            Err(DomainError::ControlCharacter { .. })
        ));
        assert!(multiline("n", "a\nb", 10).is_ok());
    }

    #[test]
    fn emails() {
        assert!(email("e", "a.b@example.ma").is_ok());
        assert!(email("e", "nobody").is_err());
        assert!(email("e", "a@b").is_err());
        assert!(email("e", "a b@c.d").is_err());
    }
}

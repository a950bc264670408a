//! Registration numbers and the per-registry format that renders them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codes::Code;
use crate::correspondence::Direction;
use crate::error::DomainError;
use crate::text::limits;

/// The default format: `CENTRAL/A/2026/000123`.
pub const DEFAULT_FORMAT: &str = "{registry}/{direction}/{year}/{seq:06}";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Registry,
    Direction,
    Year,
    Seq { width: usize },
}

/// A registry's numbering format, parsed once.
///
/// Placeholders: `{registry}`, `{direction}` (or `{A|D|I}`: `A` incoming, `D` outgoing,
/// `I` internal), `{year}`, `{seq}` or `{seq:0N}` (zero-padded to N digits, N from 1 to 12).
/// All four must appear, so that two registers can never print the same number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat {
    source: String,
    pieces: Vec<Piece>,
}

impl NumberFormat {
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let bad = |reason: &str| DomainError::invalid("numbering_format", reason);
        crate::text::line("numbering_format", value, limits::FORMAT)?;
        let mut pieces = Vec::new();
        let mut rest = value;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..].find('}').ok_or_else(|| bad("unclosed '{'"))? + open;
            pieces.push(Self::placeholder(&rest[open + 1..close]).ok_or_else(|| {
                bad("unknown placeholder; use {registry}, {direction}, {year}, {seq} or {seq:0N}")
            })?);
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err(bad("unmatched '}'"));
        }
        if !rest.is_empty() {
            pieces.push(Piece::Literal(rest.to_owned()));
        }
        let has = |p: fn(&Piece) -> bool| pieces.iter().filter(|x| p(x)).count() == 1;
        if !(has(|p| *p == Piece::Registry)
            && has(|p| *p == Piece::Direction)
            && has(|p| *p == Piece::Year)
            && has(|p| matches!(p, Piece::Seq { .. })))
        {
            return Err(bad(
                "{registry}, {direction}, {year} and {seq} must each appear once",
            ));
        }
        Ok(Self {
            source: value.to_owned(),
            pieces,
        })
    }

    fn placeholder(name: &str) -> Option<Piece> {
        match name {
            "registry" => Some(Piece::Registry),
            "direction" | "A|D|I" => Some(Piece::Direction),
            "year" => Some(Piece::Year),
            "seq" => Some(Piece::Seq { width: 1 }),
            _ => {
                let width: usize = name.strip_prefix("seq:0")?.parse().ok()?;
                (1..=12).contains(&width).then_some(Piece::Seq { width })
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Renders the number of entry `seq` (from 1) of a register.
    pub fn render(
        &self,
        registry: &Code,
        direction: Direction,
        year: i32,
        seq: i64,
    ) -> RegistrationNumber {
        let mut out = String::with_capacity(32);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Registry => out.push_str(registry.as_str()),
                Piece::Direction => out.push(direction.letter()),
                Piece::Year => out.push_str(&year.to_string()),
                Piece::Seq { width } => out.push_str(&format!("{seq:0width$}")),
            }
        }
        RegistrationNumber(out)
    }
}

impl Default for NumberFormat {
    fn default() -> Self {
        Self {
            source: DEFAULT_FORMAT.to_owned(),
            pieces: vec![
                Piece::Registry,
                Piece::Literal("/".into()),
                Piece::Direction,
                Piece::Literal("/".into()),
                Piece::Year,
                Piece::Literal("/".into()),
                Piece::Seq { width: 6 },
            ],
        }
    }
}

/// A rendered registration number (رقم الترتيب, numéro d'ordre).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RegistrationNumber(String);

impl RegistrationNumber {
    /// Wraps a number read back from storage, where it was rendered by a [`NumberFormat`].
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegistrationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> Code {
        Code::parse("registry", s).unwrap()
    }

    #[test]
    fn default_format() {
        let f = NumberFormat::parse(DEFAULT_FORMAT).unwrap();
        assert_eq!(f, NumberFormat::default());
        let n = f.render(&code("MEF-RABAT"), Direction::Incoming, 2026, 123);
        assert_eq!(n.as_str(), "MEF-RABAT/A/2026/000123");
        let n = f.render(&code("X"), Direction::Outgoing, 2027, 1_234_567);
        assert_eq!(n.as_str(), "X/D/2027/1234567");
    }

    #[test]
    fn other_formats() {
        let f = NumberFormat::parse("{year}-{A|D|I}{seq}@{registry}").unwrap();
        let n = f.render(&code("R1"), Direction::Internal, 2026, 7);
        assert_eq!(n.as_str(), "2026-I7@R1");
    }

    #[test]
    fn refuses_ambiguous_or_broken_formats() {
        for bad in [
            "{registry}/{year}/{seq}",
            "{registry}/{direction}/{year}",
            "{registry}/{direction}/{year}/{seq}/{seq}",
            "{registry}/{direction}/{year}/{seq:0}",
            "{registry}/{direction}/{year}/{seq:013}",
            "{registry}/{direction}/{year}/{seq",
            "{registry}/{direction}/{year}/{seq}}",
            "{registry}/{dir}/{year}/{seq}",
        ] {
            assert!(NumberFormat::parse(bad).is_err(), "{bad}");
        }
    }
}

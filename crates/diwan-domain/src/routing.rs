//! Routing rules: which unit a newly registered letter goes to. A registry keeps an ordered
//! list; the first rule whose every condition holds wins, and says why it matched.

use serde::{Deserialize, Serialize};

use crate::search::normalise_for_search;

/// Most keywords in one rule.
pub const MAX_KEYWORDS: usize = 20;

/// What a rule asks of a letter. Every condition given must hold; a rule without conditions
/// matches every letter (a catch-all, usually last).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    /// The letter's category, exactly (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The unit the letter is addressed to (its id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_unit: Option<String>,
    /// The sender's territory code, or a prefix of it (`MA-04` holds for `MA-04-KEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_territory: Option<String>,
    /// Words of which at least one must be in the subject (case, accents and Arabic
    /// diacritics ignored; whole words or phrases).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
}

/// What a rule is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Letter<'a> {
    pub category: Option<&'a str>,
    pub recipient_unit: Option<&'a str>,
    pub sender_territory: Option<&'a str>,
    pub subject: &'a str,
}

/// One reason a rule matched, for the history line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "condition", content = "value", rename_all = "snake_case")]
pub enum Reason {
    Category(String),
    RecipientUnit(String),
    SenderTerritory(String),
    Keyword(String),
    /// The rule has no condition.
    Always,
}

impl Conditions {
    /// `Some(reasons)` when every condition holds.
    pub fn check(&self, letter: &Letter<'_>) -> Option<Vec<Reason>> {
        let mut why = Vec::new();
        if let Some(want) = &self.category {
            let got = letter.category?;
            if !got.trim().eq_ignore_ascii_case(want.trim())
                && normalise_for_search(got) != normalise_for_search(want)
            {
                return None;
            }
            why.push(Reason::Category(want.clone()));
        }
        if let Some(want) = &self.recipient_unit {
            if letter.recipient_unit != Some(want.as_str()) {
                return None;
            }
            why.push(Reason::RecipientUnit(want.clone()));
        }
        if let Some(want) = &self.sender_territory {
            let got = letter.sender_territory?.trim().to_ascii_uppercase();
            let want_up = want.trim().to_ascii_uppercase();
            let within = got == want_up
                || got
                    .strip_prefix(&want_up)
                    .is_some_and(|rest| rest.starts_with('-'));
            if !within {
                return None;
            }
            why.push(Reason::SenderTerritory(want.clone()));
        }
        if !self.keywords.is_empty() {
            let subject = format!(" {} ", normalise_for_search(letter.subject));
            let found = self.keywords.iter().find(|k| {
                let k = normalise_for_search(k);
                !k.is_empty() && subject.contains(&format!(" {k} "))
            })?;
            why.push(Reason::Keyword(found.clone()));
        }
        if why.is_empty() {
            why.push(Reason::Always);
        }
        Some(why)
    }
}

/// The first of `rules` (in order) whose conditions hold, with why.
pub fn first_match<'r, T>(
    rules: &'r [T],
    conditions: impl Fn(&T) -> &Conditions,
    letter: &Letter<'_>,
) -> Option<(&'r T, Vec<Reason>)> {
    rules
        .iter()
        .find_map(|r| conditions(r).check(letter).map(|why| (r, why)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter<'a>(subject: &'a str) -> Letter<'a> {
        Letter {
            category: Some("رخص"),
            recipient_unit: Some("u-central"),
            sender_territory: Some("MA-04-KEN"),
            subject,
        }
    }

    #[test]
    fn every_condition_must_hold_and_says_why() {
        let c = Conditions {
            category: Some("رخص".into()),
            sender_territory: Some("MA-04".into()),
            keywords: vec!["Attestation".into(), "رخصة".into()],
            ..Conditions::default()
        };
        let why = c.check(&letter("طلب رُخْصَة بناء")).unwrap();
        assert_eq!(
            why,
            [
                Reason::Category("رخص".into()),
                Reason::SenderTerritory("MA-04".into()),
                Reason::Keyword("رخصة".into())
            ]
        );
        assert!(
            c.check(&letter("Demande d'ATTESTATION de revenu"))
                .is_some()
        );
        // A keyword is a whole word, not a piece of one.
        assert!(c.check(&letter("attestations")).is_none());
        let mut other = letter("رخصة");
        other.category = Some("شكايات");
        assert!(c.check(&other).is_none());
        other = letter("رخصة");
        other.sender_territory = Some("MA-04X");
        assert!(c.check(&other).is_none(), "a prefix stops at a dash");
        other.sender_territory = None;
        assert!(c.check(&other).is_none());
    }

    #[test]
    fn the_first_matching_rule_wins_and_an_empty_rule_catches_all() {
        let rules = [
            Conditions {
                recipient_unit: Some("u-other".into()),
                ..Conditions::default()
            },
            Conditions {
                keywords: vec!["شكاية".into()],
                ..Conditions::default()
            },
            Conditions::default(),
        ];
        let l = letter("شكاية بخصوص الماء");
        let (hit, why) = first_match(&rules, |c| c, &l).unwrap();
        assert!(std::ptr::eq(hit, &rules[1]));
        assert_eq!(why, [Reason::Keyword("شكاية".into())]);
        let (hit, why) = first_match(&rules, |c| c, &letter("autre")).unwrap();
        assert!(std::ptr::eq(hit, &rules[2]));
        assert_eq!(why, [Reason::Always]);
        assert!(first_match(&rules[..1], |c| c, &letter("x")).is_none());
    }
}

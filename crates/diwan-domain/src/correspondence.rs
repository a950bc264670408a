//! A correspondence as the registry receives it, and the rules its metadata must follow.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::codes::Code;
use crate::error::DomainError;
use crate::text::{self, limits};

/// Declares a closed set of values spelled in snake case on the wire and in storage.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(value: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == value)
            }
        }
    };
}

wire_enum!(
    /// Which register a correspondence goes to.
    Direction { Incoming = "incoming", Outgoing = "outgoing", Internal = "internal" }
);

impl Direction {
    /// The letter used in registration numbers: `A` (arrivée), `D` (départ), `I` (interne).
    pub fn letter(self) -> char {
        match self {
            Self::Incoming => 'A',
            Self::Outgoing => 'D',
            Self::Internal => 'I',
        }
    }
}

wire_enum!(
    /// How the correspondence reached the registry.
    Channel { Portal = "portal", Counter = "counter", Email = "email", Exchange = "exchange" }
);

wire_enum!(
    /// Who may see it. `Confidential` and `Secret` are visible only to the registry's
    /// registrars and to the units the correspondence concerns.
    Confidentiality { Normal = "normal", Confidential = "confidential", Secret = "secret" }
);

impl Confidentiality {
    pub fn is_restricted(self) -> bool {
        self != Self::Normal
    }
}

wire_enum!(
    /// How fast it must be handled.
    Priority { Normal = "normal", Urgent = "urgent", Immediate = "immediate" }
);

wire_enum!(
    /// What a party is.
    PartyKind { Person = "person", Company = "company", Administration = "administration" }
);

/// A sender or recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub kind: PartyKind,
    pub name: String,
    /// A person's national identity number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_id: Option<String>,
    /// A company's registration number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    /// For an administration: the code of the unit within this installation, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A telephone number, as the party gave it (digits, spaces, `+`, `-`, `.`, parentheses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Where the party lives or is established: a territory code of the organisation (such as
    /// `MA-04-KEN`), which routing rules may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territory: Option<String>,
    /// For an administration of another installation: that installation's name among the
    /// trusted peers of `[exchange]`; `unit` is then the unit's code over there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

impl Party {
    fn validate(&self, field: &str) -> Result<(), DomainError> {
        let f = |name: &str| format!("{field}.{name}");
        text::line(&f("name"), &self.name, limits::NAME)?;
        text::optional_line(
            &f("national_id"),
            self.national_id.as_deref(),
            limits::IDENTIFIER,
        )?;
        text::optional_line(
            &f("company_id"),
            self.company_id.as_deref(),
            limits::IDENTIFIER,
        )?;
        if let Some(email) = &self.email {
            text::email(&f("email"), email)?;
        }
        if let Some(phone) = &self.phone {
            text::phone(&f("phone"), phone)?;
        }
        if let Some(t) = &self.territory {
            text::line(&f("territory"), t, limits::TERRITORY)?;
            if !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(DomainError::invalid(
                    &f("territory"),
                    "letters, digits and dashes only",
                ));
            }
        }
        if let Some(peer) = &self.peer {
            text::line(&f("peer"), peer, limits::IDENTIFIER)?;
            if !peer
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(DomainError::invalid(
                    &f("peer"),
                    "letters, digits, dashes and underscores only",
                ));
            }
            if self.kind != PartyKind::Administration || self.unit.is_none() {
                return Err(DomainError::invalid(
                    &f("peer"),
                    "only for an administration, with the code of its unit",
                ));
            }
        }
        let misplaced = match self.kind {
            PartyKind::Person => self.company_id.is_some().then_some("company_id"),
            PartyKind::Company => self.national_id.is_some().then_some("national_id"),
            PartyKind::Administration => None,
        };
        if let Some(name) = misplaced {
            return Err(DomainError::invalid(
                &f(name),
                format!("not allowed for a party of kind {}", self.kind.as_str()),
            ));
        }
        if self.unit.is_some() && self.kind != PartyKind::Administration {
            return Err(DomainError::invalid(
                &f("unit"),
                "only an administration party names a unit",
            ));
        }
        Ok(())
    }
}

/// The metadata part of a registration, as the client sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationMetadata {
    pub registry: String,
    pub direction: Direction,
    pub channel: Channel,
    pub subject: String,
    pub sender: Party,
    pub recipient: Party,
    #[serde(default)]
    pub confidentiality: Option<Confidentiality>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub sender_reference: Option<String>,
    #[serde(default)]
    pub sender_date: Option<NaiveDate>,
    /// When the letter physically arrived (counter), if earlier than its registration.
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    /// For an outgoing letter: the incoming one it answers (its id or registration number).
    #[serde(default)]
    pub in_reply_to: Option<String>,
}

/// Registration metadata that follows every rule. Only [`RegistrationRequest::parse`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    pub registry: Code,
    pub direction: Direction,
    pub channel: Channel,
    pub subject: String,
    pub sender: Party,
    pub recipient: Party,
    pub confidentiality: Confidentiality,
    pub priority: Priority,
    pub category: Option<String>,
    pub sender_reference: Option<String>,
    pub sender_date: Option<NaiveDate>,
    pub received_at: Option<DateTime<Utc>>,
    pub in_reply_to: Option<String>,
}

impl RegistrationRequest {
    pub fn parse(raw: RegistrationMetadata) -> Result<Self, DomainError> {
        let registry = Code::parse("registry", &raw.registry)?;
        text::multiline("subject", &raw.subject, limits::SUBJECT)?;
        raw.sender.validate("sender")?;
        raw.recipient.validate("recipient")?;
        text::optional_line("category", raw.category.as_deref(), limits::CATEGORY)?;
        text::optional_line(
            "sender_reference",
            raw.sender_reference.as_deref(),
            limits::REFERENCE,
        )?;
        let in_reply_to = raw
            .in_reply_to
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        text::optional_line("in_reply_to", in_reply_to.as_deref(), limits::REFERENCE)?;
        if in_reply_to.is_some() && raw.direction != Direction::Outgoing {
            return Err(DomainError::invalid(
                "in_reply_to",
                "only an outgoing letter answers another",
            ));
        }
        Ok(Self {
            in_reply_to,
            registry,
            direction: raw.direction,
            channel: raw.channel,
            subject: raw.subject,
            sender: raw.sender,
            recipient: raw.recipient,
            confidentiality: raw.confidentiality.unwrap_or(Confidentiality::Normal),
            priority: raw.priority.unwrap_or(Priority::Normal),
            category: raw.category,
            sender_reference: raw.sender_reference,
            sender_date: raw.sender_date,
            received_at: raw.received_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> RegistrationMetadata {
        serde_json::from_str(json).unwrap()
    }

    const OK: &str = r#"{"registry":"CENTRAL","direction":"incoming","channel":"portal",
        "subject":"طلب رخصة <b>", "sender":{"kind":"person","name":"فاطمة الزهراء","national_id":"AB1234"},
        "recipient":{"kind":"administration","name":"Ministère","unit":"CENTRAL"}}"#;

    #[test]
    fn parses_a_valid_request() {
        let r = RegistrationRequest::parse(raw(OK)).unwrap();
        assert_eq!(r.registry.as_str(), "CENTRAL");
        assert_eq!(r.confidentiality, Confidentiality::Normal);
        assert_eq!(r.subject, "طلب رخصة <b>");
    }

    #[test]
    fn refuses_misplaced_identifiers() {
        let json = OK.replace("\"national_id\"", "\"company_id\"");
        let err = RegistrationRequest::parse(raw(&json)).unwrap_err();
        assert_eq!(err.field().0, "sender.company_id");
    }

    #[test]
    fn refuses_unknown_fields_and_values() {
        assert!(
            serde_json::from_str::<RegistrationMetadata>(&OK.replace("\"subject\"", "\"sujet\""))
                .is_err()
        );
        assert!(
            serde_json::from_str::<RegistrationMetadata>(&OK.replace("incoming", "sideways"))
                .is_err()
        );
    }

    #[test]
    fn letters() {
        assert_eq!(Direction::Incoming.letter(), 'A');
        assert_eq!(Direction::Outgoing.letter(), 'D');
        assert_eq!(Direction::Internal.letter(), 'I');
        assert_eq!(Direction::parse("internal"), Some(Direction::Internal));
    }
}

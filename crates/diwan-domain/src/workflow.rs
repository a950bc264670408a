//! The life of a correspondence once registered: its status, the moves that change it, and how
//! units are assigned to it.
//!
//! ```text
//!              assign                 start                 answer            close
//! registered ─────────> assigned ─────────────> in_progress ───────> answered ───────> closed
//!   returned ─────────>   │  ↺ reassign, forward      │ ↺ reassign, forward            ↑
//!      ↑                  │                           │                                │
//!      └── return, decline┘<──────── return ──────────┘──────────── close ─────────────┘
//! any status but annulled ── annul ──> annulled
//! ```
//!
//! This module says which moves a status allows; who may make them is the application's
//! business (`diwan_app::access`).

use serde::{Deserialize, Serialize};

/// Where a correspondence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Registered, not yet assigned to a unit.
    Registered,
    /// A unit is in charge of it (the lead assignment), not yet taken up.
    Assigned,
    /// The unit in charge has taken it up.
    InProgress,
    /// A reply was registered.
    Answered,
    /// Handled; nothing more is expected.
    Closed,
    /// Sent back to the registry (returned or declined), to be assigned again.
    Returned,
    /// The registration was annulled (its number stays, never reused).
    Annulled,
}

impl Status {
    pub const ALL: [Self; 7] = [
        Self::Registered,
        Self::Assigned,
        Self::InProgress,
        Self::Answered,
        Self::Closed,
        Self::Returned,
        Self::Annulled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Assigned => "assigned",
            Self::InProgress => "in_progress",
            Self::Answered => "answered",
            Self::Closed => "closed",
            Self::Returned => "returned",
            Self::Annulled => "annulled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// A unit is in charge (there is an open lead assignment).
    pub fn has_lead(self) -> bool {
        matches!(self, Self::Assigned | Self::InProgress | Self::Answered)
    }
}

/// What can happen to a correspondence after its registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Move {
    /// The registry assigns it: one unit for action, others for information or opinion.
    Assign,
    /// The head of the unit in charge hands it down to a sub-unit or to one of its agents.
    Reassign,
    /// The unit in charge passes it to another unit of the same administration.
    Forward,
    /// The unit in charge takes it up.
    Start,
    /// The unit in charge sends it back to the registry.
    Return,
    /// The unit in charge refuses the assignment, with a reason.
    Decline,
    /// A reply was registered.
    Answer,
    /// Handled.
    Close,
    /// The registration is annulled.
    Annul,
}

impl Move {
    pub const ALL: [Self; 9] = [
        Self::Assign,
        Self::Reassign,
        Self::Forward,
        Self::Start,
        Self::Return,
        Self::Decline,
        Self::Answer,
        Self::Close,
        Self::Annul,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Reassign => "reassign",
            Self::Forward => "forward",
            Self::Start => "start",
            Self::Return => "return",
            Self::Decline => "decline",
            Self::Answer => "answer",
            Self::Close => "close",
            Self::Annul => "annul",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == value)
    }

    /// The history line's kind for this move (past tense).
    pub fn event_kind(self) -> &'static str {
        match self {
            Self::Assign => "assigned",
            Self::Reassign => "reassigned",
            Self::Forward => "forwarded",
            Self::Start => "started",
            Self::Return => "returned",
            Self::Decline => "declined",
            Self::Answer => "answered",
            Self::Close => "closed",
            Self::Annul => "annulled",
        }
    }

    /// The status this move leads to from `from`, or `None` when `from` does not allow it.
    pub fn from(self, from: Status) -> Option<Status> {
        use Status as S;
        let to = match (self, from) {
            (Self::Assign, S::Registered | S::Returned) => S::Assigned,
            (Self::Reassign | Self::Forward, S::Assigned | S::InProgress) => S::Assigned,
            (Self::Start, S::Assigned) => S::InProgress,
            (Self::Return, S::Assigned | S::InProgress) => S::Returned,
            (Self::Decline, S::Assigned) => S::Returned,
            (Self::Answer, S::Assigned | S::InProgress) => S::Answered,
            (Self::Close, S::InProgress | S::Answered) => S::Closed,
            (Self::Annul, s) if s != S::Annulled => S::Annulled,
            _ => return None,
        };
        Some(to)
    }

    /// Whether this move ends every open assignment (the lead and the others).
    pub fn ends_all_assignments(self) -> bool {
        matches!(
            self,
            Self::Return | Self::Decline | Self::Close | Self::Annul
        )
    }

    /// Whether this move replaces the lead assignment with a new one.
    pub fn replaces_lead(self) -> bool {
        matches!(self, Self::Reassign | Self::Forward)
    }
}

/// Why a unit is assigned a correspondence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// In charge of it (exactly one open at a time).
    Action,
    /// Kept informed.
    Information,
    /// Asked for an opinion.
    Opinion,
}

impl Purpose {
    pub const ALL: [Self; 3] = [Self::Action, Self::Information, Self::Opinion];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Action => "action",
            Self::Information => "information",
            Self::Opinion => "opinion",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (move, status) pair, against the diagram in the module's documentation.
    #[test]
    fn every_move_from_every_status() {
        use Move as M;
        use Status as S;
        let allowed: &[(Move, Status, Status)] = &[
            (M::Assign, S::Registered, S::Assigned),
            (M::Assign, S::Returned, S::Assigned),
            (M::Reassign, S::Assigned, S::Assigned),
            (M::Reassign, S::InProgress, S::Assigned),
            (M::Forward, S::Assigned, S::Assigned),
            (M::Forward, S::InProgress, S::Assigned),
            (M::Start, S::Assigned, S::InProgress),
            (M::Return, S::Assigned, S::Returned),
            (M::Return, S::InProgress, S::Returned),
            (M::Decline, S::Assigned, S::Returned),
            (M::Answer, S::Assigned, S::Answered),
            (M::Answer, S::InProgress, S::Answered),
            (M::Close, S::InProgress, S::Closed),
            (M::Close, S::Answered, S::Closed),
            (M::Annul, S::Registered, S::Annulled),
            (M::Annul, S::Assigned, S::Annulled),
            (M::Annul, S::InProgress, S::Annulled),
            (M::Annul, S::Answered, S::Annulled),
            (M::Annul, S::Closed, S::Annulled),
            (M::Annul, S::Returned, S::Annulled),
        ];
        let mut count = 0;
        for m in Move::ALL {
            for s in Status::ALL {
                let expected = allowed
                    .iter()
                    .find(|(am, asx, _)| *am == m && *asx == s)
                    .map(|t| t.2);
                assert_eq!(m.from(s), expected, "{} from {}", m.as_str(), s.as_str());
                count += usize::from(expected.is_some());
            }
        }
        assert_eq!(count, allowed.len());
        // Nothing leaves an annulled correspondence.
        assert!(Move::ALL.iter().all(|m| m.from(S::Annulled).is_none()));
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for m in Move::ALL {
            assert_eq!(Move::parse(m.as_str()), Some(m));
        }
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(Status::parse("Closed"), None);
        assert_eq!(Move::parse(""), None);
    }
}

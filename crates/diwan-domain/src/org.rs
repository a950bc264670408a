//! The shape of an administration.

use serde::{Deserialize, Serialize};

/// Where a unit stands in the territorial hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    Central,
    Regional,
    Provincial,
    Local,
}

impl UnitLevel {
    pub const ALL: [Self; 4] = [Self::Central, Self::Regional, Self::Provincial, Self::Local];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Central => "central",
            Self::Regional => "regional",
            Self::Provincial => "provincial",
            Self::Local => "local",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == value)
    }
}

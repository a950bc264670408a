//! Roles, granted to an agent on a unit.

use serde::{Deserialize, Serialize};

/// What an agent may do in a unit. A grant is always (agent, unit, role).
///
/// - `Admin`: manages the organisation and the agents of the unit's administration.
/// - `Registrar`: registers and annuls mail in the registries attached to the unit.
/// - `Handler`: handles the mail that concerns the unit.
/// - `Head`: heads the unit; sees what concerns it and its sub-units.
/// - `Signer`: signs outgoing documents (the parapheur).
/// - `Auditor`: reads the registers of the unit and its sub-units, except confidential mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Registrar,
    Handler,
    Head,
    Signer,
    Auditor,
}

impl Role {
    pub const ALL: [Self; 6] = [
        Self::Admin,
        Self::Registrar,
        Self::Handler,
        Self::Head,
        Self::Signer,
        Self::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Registrar => "registrar",
            Self::Handler => "handler",
            Self::Head => "head",
            Self::Signer => "signer",
            Self::Auditor => "auditor",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

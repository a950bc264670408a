//! Rows as diesel reads and writes them, and their conversion to the app's records.

use diesel::prelude::*;
use diwan_app::StoreError;
use diwan_app::model::{
    Administration, Agent, Annulment, Concern, ConcernedUnit, Event, FileRecord, Grant, Registry,
    Token, TokenKind, Unit,
};
use diwan_domain::{
    Channel, Code, Confidentiality, Direction, NumberFormat, Party, Priority, RegistrationNumber,
    Role, Sha256Digest, UnitLevel,
};

use crate::schema::*;
use crate::time::{from_text, to_text};

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("unreadable {what} in the database: {detail}"))
}

fn code(what: &str, s: &str) -> Result<Code, StoreError> {
    Code::parse(what, s).map_err(|e| corrupt(what, e))
}

fn parsed<T>(what: &str, s: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(s).ok_or_else(|| corrupt(what, s))
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = administrations)]
pub struct AdministrationRow {
    pub id: String,
    pub code: String,
    pub name_ar: String,
    pub name_fr: String,
    pub name_en: Option<String>,
}

impl AdministrationRow {
    pub fn from_model(a: &Administration) -> Self {
        Self {
            id: a.id.clone(),
            code: a.code.to_string(),
            name_ar: a.name_ar.clone(),
            name_fr: a.name_fr.clone(),
            name_en: a.name_en.clone(),
        }
    }

    pub fn into_model(self) -> Result<Administration, StoreError> {
        Ok(Administration {
            code: code("administration code", &self.code)?,
            id: self.id,
            name_ar: self.name_ar,
            name_fr: self.name_fr,
            name_en: self.name_en,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = units)]
pub struct UnitRow {
    pub id: String,
    pub administration_id: String,
    pub parent_id: Option<String>,
    pub code: String,
    pub name_ar: String,
    pub name_fr: String,
    pub level: String,
    pub territory_code: Option<String>,
    pub contact: Option<String>,
    pub name_en: Option<String>,
}

impl UnitRow {
    pub fn from_model(u: &Unit) -> Self {
        Self {
            id: u.id.clone(),
            administration_id: u.administration_id.clone(),
            parent_id: u.parent_id.clone(),
            code: u.code.to_string(),
            name_ar: u.name_ar.clone(),
            name_fr: u.name_fr.clone(),
            level: u.level.as_str().to_owned(),
            territory_code: u.territory_code.clone(),
            contact: u.contact.clone(),
            name_en: u.name_en.clone(),
        }
    }

    pub fn into_model(self) -> Result<Unit, StoreError> {
        Ok(Unit {
            code: code("unit code", &self.code)?,
            level: parsed("unit level", &self.level, UnitLevel::parse)?,
            id: self.id,
            administration_id: self.administration_id,
            parent_id: self.parent_id,
            name_ar: self.name_ar,
            name_fr: self.name_fr,
            territory_code: self.territory_code,
            contact: self.contact,
            name_en: self.name_en,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = registries)]
pub struct RegistryRow {
    pub id: String,
    pub unit_id: String,
    pub code: String,
    pub name_ar: String,
    pub name_fr: String,
    pub numbering_format: String,
}

impl RegistryRow {
    pub fn from_model(r: &Registry) -> Self {
        Self {
            id: r.id.clone(),
            unit_id: r.unit_id.clone(),
            code: r.code.to_string(),
            name_ar: r.name_ar.clone(),
            name_fr: r.name_fr.clone(),
            numbering_format: r.numbering_format.as_str().to_owned(),
        }
    }

    pub fn into_model(self) -> Result<Registry, StoreError> {
        Ok(Registry {
            code: code("registry code", &self.code)?,
            numbering_format: NumberFormat::parse(&self.numbering_format)
                .map_err(|e| corrupt("numbering format", e))?,
            id: self.id,
            unit_id: self.unit_id,
            name_ar: self.name_ar,
            name_fr: self.name_fr,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = agents)]
pub struct AgentRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub active: bool,
    pub created_at: String,
}

impl AgentRow {
    pub fn from_model(a: &Agent) -> Self {
        Self {
            id: a.id.clone(),
            email: a.email.clone(),
            display_name: a.display_name.clone(),
            password_hash: a.password_hash.clone(),
            active: a.active,
            created_at: to_text(&a.created_at),
        }
    }

    pub fn into_model(self) -> Result<Agent, StoreError> {
        Ok(Agent {
            created_at: from_text(&self.created_at).map_err(|e| corrupt("agent", e))?,
            id: self.id,
            email: self.email,
            display_name: self.display_name,
            password_hash: self.password_hash,
            active: self.active,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = agent_grants)]
pub struct GrantRow {
    pub id: String,
    pub agent_id: String,
    pub unit_id: Option<String>,
    pub role: String,
}

impl GrantRow {
    pub fn new(agent_id: &str, unit_id: Option<&str>, role: Role) -> Self {
        Self {
            id: Self::key(agent_id, unit_id, role),
            agent_id: agent_id.to_owned(),
            unit_id: unit_id.map(str::to_owned),
            role: role.as_str().to_owned(),
        }
    }

    pub fn key(agent_id: &str, unit_id: Option<&str>, role: Role) -> String {
        format!("{agent_id}:{}:{}", unit_id.unwrap_or("*"), role.as_str())
    }

    pub fn into_model(self) -> Result<Grant, StoreError> {
        Ok(Grant {
            unit_id: self.unit_id,
            role: parsed("role", &self.role, Role::parse)?,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = tokens)]
pub struct TokenRow {
    pub id: String,
    pub secret_hash: String,
    pub agent_id: String,
    pub kind: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

impl TokenRow {
    pub fn from_model(t: &Token) -> Self {
        Self {
            id: t.id.clone(),
            secret_hash: t.secret_hash.clone(),
            agent_id: t.agent_id.clone(),
            kind: t.kind.as_str().to_owned(),
            name: t.name.clone(),
            created_at: to_text(&t.created_at),
            expires_at: to_text(&t.expires_at),
            revoked_at: t.revoked_at.as_ref().map(to_text),
        }
    }

    pub fn into_model(self) -> Result<Token, StoreError> {
        let time = |s: &str| from_text(s).map_err(|e| corrupt("token", e));
        Ok(Token {
            kind: parsed("token kind", &self.kind, TokenKind::parse)?,
            created_at: time(&self.created_at)?,
            expires_at: time(&self.expires_at)?,
            revoked_at: self.revoked_at.as_deref().map(time).transpose()?,
            id: self.id,
            secret_hash: self.secret_hash,
            agent_id: self.agent_id,
            name: self.name,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = correspondences)]
pub struct CorrespondenceRow {
    pub id: String,
    pub registry_id: String,
    pub direction: String,
    pub year: i32,
    pub seq: i64,
    pub registration_number: String,
    pub channel: String,
    pub subject: String,
    pub sender: String,
    pub recipient: String,
    pub sender_name: String,
    pub recipient_name: String,
    pub confidentiality: String,
    pub priority: String,
    pub category: Option<String>,
    pub sender_reference: Option<String>,
    pub sender_date: Option<String>,
    pub received_at: String,
    pub registered_at: String,
    pub registered_by: String,
    pub tracking_hash: String,
    pub search_text: String,
    pub annulled_at: Option<String>,
    pub annulled_by: Option<String>,
    pub annul_reason: Option<String>,
    pub in_reply_to: Option<String>,
}

/// The parts of a correspondence row decoded into domain values.
pub struct DecodedCorrespondence {
    pub direction: Direction,
    pub channel: Channel,
    pub confidentiality: Confidentiality,
    pub priority: Priority,
    pub sender: Party,
    pub recipient: Party,
    pub sender_date: Option<chrono::NaiveDate>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub registered_at: chrono::DateTime<chrono::Utc>,
    pub annulment: Option<Annulment>,
    pub number: RegistrationNumber,
}

impl CorrespondenceRow {
    pub fn decode(&self) -> Result<DecodedCorrespondence, StoreError> {
        let time = |s: &str| from_text(s).map_err(|e| corrupt("correspondence", e));
        let party = |s: &str| serde_json::from_str::<Party>(s).map_err(|e| corrupt("party", e));
        let annulment = match (&self.annulled_at, &self.annulled_by, &self.annul_reason) {
            (Some(at), Some(by), Some(reason)) => Some(Annulment {
                at: time(at)?,
                by: by.clone(),
                reason: reason.clone(),
            }),
            _ => None,
        };
        Ok(DecodedCorrespondence {
            direction: parsed("direction", &self.direction, Direction::parse)?,
            channel: parsed("channel", &self.channel, Channel::parse)?,
            confidentiality: parsed(
                "confidentiality",
                &self.confidentiality,
                Confidentiality::parse,
            )?,
            priority: parsed("priority", &self.priority, Priority::parse)?,
            sender: party(&self.sender)?,
            recipient: party(&self.recipient)?,
            sender_date: self
                .sender_date
                .as_deref()
                .map(|d| d.parse().map_err(|e| corrupt("sender date", e)))
                .transpose()?,
            received_at: time(&self.received_at)?,
            registered_at: time(&self.registered_at)?,
            annulment,
            number: RegistrationNumber::from_stored(self.registration_number.clone()),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = correspondence_files)]
pub struct FileRow {
    pub id: String,
    pub correspondence_id: String,
    pub position: i32,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub pdf_pages: Option<i32>,
    pub pdf_problems: Option<String>,
}

impl FileRow {
    pub fn into_model(self) -> Result<FileRecord, StoreError> {
        let pdf = match self.pdf_problems {
            None => None,
            Some(problems) => Some(diwan_app::model::PdfCheck {
                pages: self
                    .pdf_pages
                    .map(u32::try_from)
                    .transpose()
                    .map_err(|e| corrupt("file pages", e))?,
                problems: serde_json::from_str(&problems)
                    .map_err(|e| corrupt("file problems", e))?,
            }),
        };
        Ok(FileRecord {
            sha256: Sha256Digest::parse(&self.sha256).map_err(|e| corrupt("file digest", e))?,
            size: u64::try_from(self.size).map_err(|e| corrupt("file size", e))?,
            id: self.id,
            name: self.name,
            media_type: self.media_type,
            pdf,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = dossiers)]
pub struct DossierRow {
    pub correspondence_id: String,
    pub sha256: String,
    pub size: i64,
    pub pages: i32,
    pub made_at: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = correspondence_units)]
pub struct ConcernRow {
    pub correspondence_id: String,
    pub unit_id: String,
    pub concern: String,
}

impl ConcernRow {
    pub fn into_model(self) -> Result<ConcernedUnit, StoreError> {
        Ok(ConcernedUnit {
            concern: parsed("concern", &self.concern, Concern::parse)?,
            unit_id: self.unit_id,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = correspondence_events)]
pub struct EventRow {
    pub id: String,
    pub correspondence_id: String,
    pub at: String,
    pub kind: String,
    pub actor_id: Option<String>,
    pub detail: String,
}

impl EventRow {
    pub fn into_model(self) -> Result<Event, StoreError> {
        Ok(Event {
            at: from_text(&self.at).map_err(|e| corrupt("event", e))?,
            detail: serde_json::from_str(&self.detail).map_err(|e| corrupt("event detail", e))?,
            kind: self.kind,
            actor_id: self.actor_id,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = assignments)]
pub struct AssignmentRow {
    pub id: String,
    pub correspondence_id: String,
    pub unit_id: String,
    pub agent_id: Option<String>,
    pub purpose: String,
    pub instructions: Option<String>,
    pub due_date: String,
    pub assigned_at: String,
    pub assigned_by: String,
    pub event_id: String,
    pub ended_at: Option<String>,
    pub ended_event_id: Option<String>,
}

impl AssignmentRow {
    pub fn new(
        m: &diwan_app::model::MoveRecord,
        a: &diwan_app::model::NewAssignment,
        event_id: &str,
    ) -> Self {
        Self {
            id: a.id.clone(),
            correspondence_id: m.correspondence_id.clone(),
            unit_id: a.unit_id.clone(),
            agent_id: a.agent_id.clone(),
            purpose: a.purpose.as_str().to_owned(),
            instructions: a.instructions.clone(),
            due_date: a.due_date.to_string(),
            assigned_at: to_text(&m.at),
            assigned_by: m.actor_id.clone(),
            event_id: event_id.to_owned(),
            ended_at: None,
            ended_event_id: None,
        }
    }

    pub fn into_model(self) -> Result<diwan_app::model::Assignment, StoreError> {
        Ok(diwan_app::model::Assignment {
            purpose: parsed("purpose", &self.purpose, diwan_domain::Purpose::parse)?,
            due_date: self.due_date.parse().map_err(|e| corrupt("due date", e))?,
            assigned_at: from_text(&self.assigned_at).map_err(|e| corrupt("assignment", e))?,
            ended_at: self
                .ended_at
                .as_deref()
                .map(from_text)
                .transpose()
                .map_err(|e| corrupt("assignment", e))?,
            id: self.id,
            unit_id: self.unit_id,
            agent_id: self.agent_id,
            instructions: self.instructions,
            assigned_by: self.assigned_by,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = delegations)]
pub struct DelegationRow {
    pub id: String,
    pub agent_id: String,
    pub substitute_id: String,
    pub starts_on: String,
    pub ends_on: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl DelegationRow {
    pub fn from_model(d: &diwan_app::model::Delegation) -> Self {
        Self {
            id: d.id.clone(),
            agent_id: d.agent_id.clone(),
            substitute_id: d.substitute_id.clone(),
            starts_on: d.starts_on.to_string(),
            ends_on: d.ends_on.to_string(),
            created_at: to_text(&d.created_at),
            revoked_at: d.revoked_at.as_ref().map(to_text),
        }
    }

    pub fn into_model(self) -> Result<diwan_app::model::Delegation, StoreError> {
        let day = |s: &str| s.parse().map_err(|e| corrupt("delegation date", e));
        Ok(diwan_app::model::Delegation {
            starts_on: day(&self.starts_on)?,
            ends_on: day(&self.ends_on)?,
            created_at: from_text(&self.created_at).map_err(|e| corrupt("delegation", e))?,
            revoked_at: self
                .revoked_at
                .as_deref()
                .map(from_text)
                .transpose()
                .map_err(|e| corrupt("delegation", e))?,
            id: self.id,
            agent_id: self.agent_id,
            substitute_id: self.substitute_id,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = routing_rules)]
pub struct RuleRow {
    pub id: String,
    pub registry_id: String,
    pub position: i32,
    pub name: String,
    pub conditions: String,
    pub target_unit_id: Option<String>,
    pub active: bool,
    pub created_at: String,
    pub created_by: String,
}

impl RuleRow {
    pub fn from_model(r: &diwan_app::model::RoutingRule) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id.clone(),
            registry_id: r.registry_id.clone(),
            position: r.position,
            name: r.name.clone(),
            conditions: serde_json::to_string(&r.conditions)
                .map_err(|e| corrupt("rule conditions", e))?,
            target_unit_id: r.target_unit_id.clone(),
            active: r.active,
            created_at: to_text(&r.created_at),
            created_by: r.created_by.clone(),
        })
    }

    pub fn into_model(self) -> Result<diwan_app::model::RoutingRule, StoreError> {
        Ok(diwan_app::model::RoutingRule {
            conditions: serde_json::from_str(&self.conditions)
                .map_err(|e| corrupt("rule conditions", e))?,
            created_at: from_text(&self.created_at).map_err(|e| corrupt("rule", e))?,
            id: self.id,
            registry_id: self.registry_id,
            position: self.position,
            name: self.name,
            target_unit_id: self.target_unit_id,
            active: self.active,
            created_by: self.created_by,
        })
    }
}

impl DossierRow {
    pub fn from_model(d: &diwan_app::model::StoredDossier) -> Result<Self, StoreError> {
        Ok(Self {
            correspondence_id: d.correspondence_id.clone(),
            sha256: d.sha256.as_str().to_owned(),
            size: i64::try_from(d.size).map_err(|e| corrupt("dossier size", e))?,
            pages: i32::try_from(d.pages).map_err(|e| corrupt("dossier pages", e))?,
            made_at: to_text(&d.made_at),
        })
    }

    pub fn into_model(self) -> Result<diwan_app::model::StoredDossier, StoreError> {
        Ok(diwan_app::model::StoredDossier {
            sha256: Sha256Digest::parse(&self.sha256).map_err(|e| corrupt("dossier digest", e))?,
            size: u64::try_from(self.size).map_err(|e| corrupt("dossier size", e))?,
            pages: u32::try_from(self.pages).map_err(|e| corrupt("dossier pages", e))?,
            made_at: from_text(&self.made_at).map_err(|e| corrupt("dossier time", e))?,
            correspondence_id: self.correspondence_id,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = exchanges)]
pub struct ExchangeRow {
    pub id: String,
    pub correspondence_id: String,
    pub way: String,
    pub message_id: String,
    pub peer: String,
    pub unit_code: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: Option<String>,
    pub lease_until: Option<String>,
    pub last_error: Option<String>,
    pub envelope: Option<String>,
    pub ack_jws: Option<String>,
    pub remote_number: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl ExchangeRow {
    /// The row a registration writes for its exchange link.
    pub fn for_registration(
        correspondence_id: &str,
        link: &diwan_app::model::ExchangeLink,
        at: &str,
    ) -> Self {
        use diwan_app::model::ExchangeLink as L;
        let (id, way, message_id, peer, unit_code, state, due, remote) = match link {
            L::Send {
                id,
                message_id,
                peer,
                unit_code,
            } => (
                id,
                "out",
                message_id,
                peer,
                unit_code,
                "pending",
                Some(at.to_owned()),
                None,
            ),
            L::Received {
                id,
                message_id,
                peer,
                unit_code,
                sender_number,
            } => (
                id,
                "in",
                message_id,
                peer,
                unit_code,
                "received",
                None,
                Some(sender_number.clone()),
            ),
        };
        Self {
            id: id.clone(),
            correspondence_id: correspondence_id.to_owned(),
            way: way.to_owned(),
            message_id: message_id.clone(),
            peer: peer.clone(),
            unit_code: unit_code.clone(),
            state: state.to_owned(),
            attempts: 0,
            next_attempt_at: due,
            lease_until: None,
            last_error: None,
            envelope: None,
            ack_jws: None,
            remote_number: remote,
            created_at: at.to_owned(),
            updated_at: at.to_owned(),
        }
    }

    pub fn into_delivery(self) -> Result<diwan_app::model::Delivery, StoreError> {
        let time = |s: &str| from_text(s).map_err(|e| corrupt("exchange time", e));
        Ok(diwan_app::model::Delivery {
            state: diwan_app::model::DeliveryState::parse(&self.state)
                .ok_or_else(|| corrupt("exchange state", &self.state))?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            next_attempt_at: self.next_attempt_at.as_deref().map(time).transpose()?,
            created_at: time(&self.created_at)?,
            updated_at: time(&self.updated_at)?,
            id: self.id,
            correspondence_id: self.correspondence_id,
            message_id: self.message_id,
            peer: self.peer,
            unit_code: self.unit_code,
            last_error: self.last_error,
            envelope: self.envelope,
            ack_jws: self.ack_jws,
            remote_number: self.remote_number,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_sessions)]
pub struct SigningSessionRow {
    pub id: String,
    pub agent_id: String,
    pub prepared_sha256: String,
    pub byte_range: String,
    pub content_digest: String,
    pub serial: String,
    pub created_at: String,
    pub expires_at: String,
}

impl SigningSessionRow {
    pub fn from_model(s: &diwan_app::model::SigningSession) -> Self {
        Self {
            id: s.id.clone(),
            agent_id: s.agent_id.clone(),
            prepared_sha256: s.prepared_sha256.as_str().to_owned(),
            byte_range: s
                .byte_range
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(","),
            content_digest: diwan_app::log::hex(&s.content_digest),
            serial: s.serial.clone(),
            created_at: to_text(&s.created_at),
            expires_at: to_text(&s.expires_at),
        }
    }

    pub fn into_model(self) -> Result<diwan_app::model::SigningSession, StoreError> {
        let bad = |what: &str| corrupt("signing session", what);
        let numbers: Vec<usize> = self
            .byte_range
            .split(',')
            .map(|n| n.parse().map_err(|_| bad("byte range")))
            .collect::<Result<_, _>>()?;
        let byte_range: [usize; 4] = numbers.try_into().map_err(|_| bad("byte range"))?;
        let digest = diwan_app::log::unhex(&self.content_digest).ok_or_else(|| bad("digest"))?;
        Ok(diwan_app::model::SigningSession {
            prepared_sha256: Sha256Digest::parse(&self.prepared_sha256)
                .map_err(|_| bad("file digest"))?,
            byte_range,
            content_digest: digest,
            created_at: from_text(&self.created_at).map_err(|e| corrupt("signing session", e))?,
            expires_at: from_text(&self.expires_at).map_err(|e| corrupt("signing session", e))?,
            id: self.id,
            agent_id: self.agent_id,
            serial: self.serial,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = circuit_templates)]
pub struct TemplateRow {
    pub id: String,
    pub administration_id: String,
    pub document_type: String,
    pub name: String,
    pub stages: String,
    pub updated_at: String,
}

impl TemplateRow {
    pub fn from_model(t: &diwan_app::model::CircuitTemplate) -> Result<Self, StoreError> {
        Ok(Self {
            id: t.id.clone(),
            administration_id: t.administration_id.clone(),
            document_type: t.document_type.clone(),
            name: t.name.clone(),
            stages: serde_json::to_string(&t.stages)
                .map_err(|e| StoreError::Other(format!("circuit stages: {e}")))?,
            updated_at: to_text(&t.updated_at),
        })
    }

    pub fn into_model(self) -> Result<diwan_app::model::CircuitTemplate, StoreError> {
        Ok(diwan_app::model::CircuitTemplate {
            stages: serde_json::from_str(&self.stages).map_err(|e| corrupt("circuit stages", e))?,
            updated_at: from_text(&self.updated_at).map_err(|e| corrupt("circuit template", e))?,
            id: self.id,
            administration_id: self.administration_id,
            document_type: self.document_type,
            name: self.name,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = parapheur_documents)]
pub struct ParapheurRow {
    pub id: String,
    pub title: String,
    pub document_type: Option<String>,
    pub administration_id: String,
    pub submitted_by: String,
    pub submitted_at: String,
    pub status: String,
    pub file_name: String,
    pub current_sha256: String,
    pub version: i32,
    pub updated_at: String,
    pub outgoing: Option<String>,
    pub registry_id: Option<String>,
    pub reserved_year: Option<i32>,
    pub reserved_seq: Option<i64>,
    pub registration_number: Option<String>,
    pub correspondence_id: Option<String>,
}

impl ParapheurRow {
    pub fn from_model(d: &diwan_app::model::ParapheurDocument) -> Self {
        Self {
            id: d.id.clone(),
            title: d.title.clone(),
            document_type: d.document_type.clone(),
            administration_id: d.administration_id.clone(),
            submitted_by: d.submitted_by.clone(),
            submitted_at: to_text(&d.submitted_at),
            status: d.status.as_str().to_owned(),
            file_name: d.file_name.clone(),
            current_sha256: d.current_sha256.as_str().to_owned(),
            version: d.version,
            updated_at: to_text(&d.updated_at),
            outgoing: d
                .outgoing
                .as_ref()
                .and_then(|o| serde_json::to_string(o).ok()),
            registry_id: d.registry_id.clone(),
            reserved_year: d.reserved.map(|r| r.0),
            reserved_seq: d.reserved.map(|r| r.1),
            registration_number: d.registration_number.clone(),
            correspondence_id: d.correspondence_id.clone(),
        }
    }

    pub fn into_model(self) -> Result<diwan_app::model::ParapheurDocument, StoreError> {
        let time = |s: &str| from_text(s).map_err(|e| corrupt("parapheur document", e));
        Ok(diwan_app::model::ParapheurDocument {
            status: diwan_domain::circuit::CircuitStatus::parse(&self.status)
                .ok_or_else(|| corrupt("parapheur status", &self.status))?,
            current_sha256: Sha256Digest::parse(&self.current_sha256)
                .map_err(|e| corrupt("parapheur document", e))?,
            submitted_at: time(&self.submitted_at)?,
            updated_at: time(&self.updated_at)?,
            id: self.id,
            title: self.title,
            document_type: self.document_type,
            administration_id: self.administration_id,
            outgoing: self
                .outgoing
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt("parapheur outgoing", e))?,
            reserved: self.reserved_year.zip(self.reserved_seq),
            submitted_by: self.submitted_by,
            file_name: self.file_name,
            version: self.version,
            registry_id: self.registry_id,
            registration_number: self.registration_number,
            correspondence_id: self.correspondence_id,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = parapheur_steps, treat_none_as_null = true)]
pub struct StepRow {
    pub id: String,
    pub document_id: String,
    pub stage: i32,
    pub position: i32,
    pub kind: String,
    pub agent_id: Option<String>,
    pub unit_id: Option<String>,
    pub role: Option<String>,
    pub state: String,
    pub acted_by: Option<String>,
    pub acted_at: Option<String>,
    pub comment: Option<String>,
}

impl StepRow {
    pub fn from_model(s: &diwan_app::model::CircuitStep) -> Self {
        Self {
            id: s.id.clone(),
            document_id: s.document_id.clone(),
            stage: i32::try_from(s.stage).unwrap_or(i32::MAX),
            position: i32::try_from(s.position).unwrap_or(i32::MAX),
            kind: s.kind.as_str().to_owned(),
            agent_id: s.agent_id.clone(),
            unit_id: s.unit_id.clone(),
            role: s.role.map(|r| r.as_str().to_owned()),
            state: s.state.as_str().to_owned(),
            acted_by: s.acted_by.clone(),
            acted_at: s.acted_at.as_ref().map(to_text),
            comment: s.comment.clone(),
        }
    }

    pub fn into_model(self) -> Result<diwan_app::model::CircuitStep, StoreError> {
        use diwan_domain::circuit::{StepKind, StepState};
        Ok(diwan_app::model::CircuitStep {
            stage: usize::try_from(self.stage).map_err(|e| corrupt("step stage", e))?,
            position: usize::try_from(self.position).map_err(|e| corrupt("step position", e))?,
            kind: StepKind::parse(&self.kind).ok_or_else(|| corrupt("step kind", &self.kind))?,
            role: self
                .role
                .as_deref()
                .map(|r| Role::parse(r).ok_or_else(|| corrupt("step role", r)))
                .transpose()?,
            state: StepState::parse(&self.state)
                .ok_or_else(|| corrupt("step state", &self.state))?,
            acted_at: self
                .acted_at
                .as_deref()
                .map(from_text)
                .transpose()
                .map_err(|e| corrupt("step time", e))?,
            id: self.id,
            document_id: self.document_id,
            agent_id: self.agent_id,
            unit_id: self.unit_id,
            acted_by: self.acted_by,
            comment: self.comment,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = parapheur_events)]
pub struct ParapheurEventRow {
    pub id: String,
    pub document_id: String,
    pub at: String,
    pub actor_id: String,
    pub kind: String,
    pub detail: String,
}

impl ParapheurEventRow {
    pub fn from_model(e: &diwan_app::model::ParapheurEvent) -> Self {
        Self {
            id: e.id.clone(),
            document_id: e.document_id.clone(),
            at: to_text(&e.at),
            actor_id: e.actor_id.clone(),
            kind: e.kind.clone(),
            detail: e.detail.to_string(),
        }
    }

    pub fn into_model(self) -> Result<diwan_app::model::ParapheurEvent, StoreError> {
        Ok(diwan_app::model::ParapheurEvent {
            at: from_text(&self.at).map_err(|e| corrupt("parapheur event", e))?,
            detail: serde_json::from_str(&self.detail)
                .map_err(|e| corrupt("parapheur event", e))?,
            id: self.id,
            document_id: self.document_id,
            actor_id: self.actor_id,
            kind: self.kind,
        })
    }
}

/// A parapheur document's row, its steps and its history.
pub type ParapheurRows = (ParapheurRow, Vec<StepRow>, Vec<ParapheurEventRow>);

/// An action to store: the document's new status and file if it is still at `expected`.
#[derive(Debug, Clone)]
pub struct ParapheurChange {
    pub id: String,
    pub expected: i32,
    pub status: String,
    pub sha256: String,
    pub at: String,
    pub steps: Vec<StepRow>,
    pub event: ParapheurEventRow,
    /// Take the next outgoing number of this registry's register of that year.
    pub reserve: Option<(diwan_app::model::Registry, i32)>,
}

/// What the indicators count of one correspondence (see the migration `indicators`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = correspondence_facts)]
pub struct FactRow {
    pub correspondence_id: String,
    pub unit_id: String,
    pub direction: String,
    pub channel: String,
    pub category: Option<String>,
    pub registered_at: String,
    pub legal_due_at: Option<String>,
    pub answered_at: Option<String>,
    pub closed_at: Option<String>,
    /// Registration → first answer, as `diwan_domain::indicators::processing_time` keeps it.
    pub processing_seconds: Option<i64>,
    /// Whether the first answer came before the legal deadline (1 or 0; none when unknown).
    pub on_time: Option<i32>,
    /// The later of `closed_at` and `legal_due_at`, when both are known.
    pub resolved_at: Option<String>,
}

/// A stored cell of a month's open data.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::schema::open_data_cells)]
pub struct OpenDataCellRow {
    pub month: String,
    pub administration_id: String,
    pub category: String,
    pub channel: String,
    pub received: i64,
    pub answered: i64,
    pub median_delay_seconds: Option<i64>,
    pub deadline_known: i64,
    pub on_time: i64,
}

impl OpenDataCellRow {
    pub fn from_model(c: &diwan_app::model::OpenDataCell) -> Self {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Self {
            month: c.month.clone(),
            administration_id: c.administration_id.clone(),
            category: c.category.clone(),
            channel: c.channel.clone(),
            received: n(c.received),
            answered: n(c.answered),
            median_delay_seconds: c.median_delay_seconds,
            deadline_known: n(c.deadline_known),
            on_time: n(c.on_time),
        }
    }

    pub fn into_model(self) -> diwan_app::model::OpenDataCell {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        diwan_app::model::OpenDataCell {
            month: self.month,
            administration_id: self.administration_id,
            category: self.category,
            channel: self.channel,
            received: n(self.received),
            answered: n(self.answered),
            median_delay_seconds: self.median_delay_seconds,
            deadline_known: n(self.deadline_known),
            on_time: n(self.on_time),
        }
    }
}

//! Records as the use cases see them, independent of how they are stored.

use chrono::{DateTime, NaiveDate, Utc};
use diwan_domain::{
    Channel, Code, Confidentiality, Direction, NumberFormat, Party, Priority, RegistrationNumber,
    Role, Sha256Digest, UnitLevel,
};
use diwan_domain::{Move, Purpose, Status};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize)]
pub struct Administration {
    pub id: String,
    pub code: Code,
    pub name_ar: String,
    pub name_fr: String,
    /// For finding it in English; French is shown where it is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub id: String,
    pub administration_id: String,
    pub parent_id: Option<String>,
    pub code: Code,
    pub name_ar: String,
    pub name_fr: String,
    pub level: UnitLevel,
    pub territory_code: Option<String>,
    pub contact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Registry {
    pub id: String,
    pub unit_id: String,
    pub code: Code,
    pub name_ar: String,
    pub name_fr: String,
    #[serde(serialize_with = "format_as_str")]
    pub numbering_format: NumberFormat,
}

fn format_as_str<S: serde::Serializer>(f: &NumberFormat, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(f.as_str())
}

#[derive(Debug, Clone)]
pub struct Agent {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A role on a unit; `unit_id = None` means installation-wide (admin and auditor only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub unit_id: Option<String>,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Session,
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Api => "api",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "session" => Some(Self::Session),
            "api" => Some(Self::Api),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Token {
    pub id: String,
    #[serde(skip)]
    pub secret_hash: String,
    pub agent_id: String,
    pub kind: TokenKind,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A file as recorded with its correspondence.
#[derive(Debug, Clone, Serialize)]
pub struct FileRecord {
    pub id: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: Sha256Digest,
    /// For a PDF: what its inspection at registration found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf: Option<PdfCheck>,
}

/// The outcome of a PDF's inspection at registration (see `diwan_pdf::inspect`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PdfCheck {
    /// Known when the page tree could be read.
    pub pages: Option<u32>,
    /// Empty for a clean file; a file with problems stays out of the dossier's pages.
    pub problems: Vec<FileProblem>,
}

/// One problem found in a file, with a stable `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FileProblem {
    pub code: String,
    pub detail: String,
}

/// One line of a correspondence's history.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub actor_id: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Annulment {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
}

/// How a unit is concerned by a correspondence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Concern {
    /// The unit whose registry registered it.
    Registry,
    /// The unit it is addressed to.
    Recipient,
    /// The unit that sent it.
    Sender,
}

impl Concern {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registry => "registry",
            Self::Recipient => "recipient",
            Self::Sender => "sender",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "registry" => Some(Self::Registry),
            "recipient" => Some(Self::Recipient),
            "sender" => Some(Self::Sender),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConcernedUnit {
    pub unit_id: String,
    pub concern: Concern,
}

/// A registered correspondence, in full.
#[derive(Debug, Clone, Serialize)]
pub struct Correspondence {
    pub id: String,
    pub registry_id: String,
    pub registry_code: Code,
    pub registration_number: RegistrationNumber,
    pub direction: Direction,
    pub year: i32,
    pub seq: i64,
    pub channel: Channel,
    pub subject: String,
    pub sender: Party,
    pub recipient: Party,
    pub confidentiality: Confidentiality,
    pub priority: Priority,
    pub category: Option<String>,
    pub sender_reference: Option<String>,
    pub sender_date: Option<NaiveDate>,
    pub received_at: DateTime<Utc>,
    pub registered_at: DateTime<Utc>,
    pub registered_by: String,
    pub annulment: Option<Annulment>,
    /// The incoming correspondence this one answers.
    pub in_reply_to: Option<String>,
    /// Where it stands in its handling.
    pub status: Status,
    pub files: Vec<FileRecord>,
    pub concerned_units: Vec<ConcernedUnit>,
    /// Every assignment, open and ended, oldest first.
    pub assignments: Vec<Assignment>,
    pub history: Vec<Event>,
}

impl Correspondence {
    /// The open assignment for action: the unit (and maybe agent) in charge.
    pub fn lead(&self) -> Option<&Assignment> {
        self.assignments
            .iter()
            .find(|a| a.is_open() && a.purpose == Purpose::Action)
    }
}

/// A unit (and, when handed to a person, one of its agents) assigned a correspondence.
#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub id: String,
    pub unit_id: String,
    pub agent_id: Option<String>,
    pub purpose: Purpose,
    pub instructions: Option<String>,
    pub due_date: NaiveDate,
    pub assigned_at: DateTime<Utc>,
    pub assigned_by: String,
    pub ended_at: Option<DateTime<Utc>>,
}

impl Assignment {
    pub fn is_open(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// An assignment about to be made by a move.
#[derive(Debug, Clone, Serialize)]
pub struct NewAssignment {
    pub id: String,
    pub unit_id: String,
    pub agent_id: Option<String>,
    pub purpose: Purpose,
    pub instructions: Option<String>,
    pub due_date: NaiveDate,
}

/// Which open assignments a move ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    None,
    /// The open assignment for action.
    Lead,
    /// Every open assignment.
    All,
}

/// A move about to be stored: the status changes from `from` to `to` only if it is still
/// `from` (otherwise nothing is written), with its history line, its assignments and its log
/// entry in one transaction.
#[derive(Debug, Clone)]
pub struct MoveRecord {
    pub correspondence_id: String,
    pub step: Move,
    pub from: Status,
    pub to: Status,
    pub at: DateTime<Utc>,
    pub actor_id: String,
    /// What the history line says besides the statuses and the new assignments (comment,
    /// reason, the rule that fired, ...).
    pub detail: serde_json::Map<String, serde_json::Value>,
    pub ending: Ending,
    pub assignments: Vec<NewAssignment>,
    /// E-mails to queue in the same transaction: (recipient, kind), about this correspondence.
    pub mails: Vec<(String, MailKind)>,
}

/// An agent's substitute for a period (dates inclusive, in the installation's time zone).
#[derive(Debug, Clone, Serialize)]
pub struct Delegation {
    pub id: String,
    pub agent_id: String,
    pub substitute_id: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Delegation {
    /// In force on `day`.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.revoked_at.is_none() && self.starts_on <= day && day <= self.ends_on
    }
}

/// A routing rule of a registry.
#[derive(Debug, Clone, Serialize)]
pub struct RoutingRule {
    pub id: String,
    pub registry_id: String,
    /// Rules are tried in increasing position (then creation time).
    pub position: i32,
    pub name: String,
    pub conditions: diwan_domain::routing::Conditions,
    /// The unit the letter is assigned to; `None`: the unit whose territory is the sender's.
    pub target_unit_id: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// A line of an inbox by due date: an open assignment and what it is about.
#[derive(Debug, Clone, Serialize)]
pub struct AssignmentLine {
    pub assignment_id: String,
    pub unit_id: String,
    pub agent_id: Option<String>,
    pub purpose: Purpose,
    pub due_date: NaiveDate,
    pub assigned_at: DateTime<Utc>,
    pub status: Status,
    pub summary: CorrespondenceSummary,
}

/// A step of the follow-up of an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUp {
    /// Before the due date, to whoever holds it.
    Reminder,
    /// After the due date, to the head.
    Escalation,
}

impl FollowUp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reminder => "reminder",
            Self::Escalation => "escalation",
        }
    }

    pub fn mail(self) -> MailKind {
        match self {
            Self::Reminder => MailKind::Reminder,
            Self::Escalation => MailKind::Escalation,
        }
    }
}

/// An open lead assignment whose follow-up step is due.
#[derive(Debug, Clone)]
pub struct DueFollowUp {
    pub step: FollowUp,
    pub assignment: Assignment,
    pub correspondence_id: String,
}

/// Which open assignments an inbox shows.
#[derive(Debug, Clone)]
pub struct InboxFilter {
    /// Assignments to these units.
    pub unit_ids: Vec<String>,
    /// And assignments naming this agent.
    pub agent_id: Option<String>,
    /// Keyset cursor: lines strictly after (due date, assignment id).
    pub after: Option<(NaiveDate, String)>,
    pub limit: usize,
}

/// A correspondence about to be stored; the store allocates its number.
#[derive(Debug)]
pub struct NewCorrespondence {
    pub id: String,
    /// The register's year: the calendar year of `registered_at` in the installation's zone.
    pub year: i32,
    pub registry: Registry,
    pub request: diwan_domain::RegistrationRequest,
    pub received_at: DateTime<Utc>,
    pub registered_at: DateTime<Utc>,
    pub registered_by: String,
    pub tracking_code: String,
    pub search_text: String,
    pub files: Vec<NewFile>,
    pub concerned_units: Vec<ConcernedUnit>,
    /// The incoming correspondence this one answers (checked before).
    pub in_reply_to: Option<String>,
    /// Exchange with another administration: a delivery to make, or the envelope this letter
    /// came in. Stored in the registration's transaction.
    pub exchange: Option<ExchangeLink>,
    /// A number taken earlier from the register's counter (the parapheur's): used instead of
    /// the next one (`year` is then that number's year).
    pub reserved_seq: Option<i64>,
    /// The first instant after the day of the legal deadline (in the installation's zone),
    /// when the category's rule gives one: what "answered on time" is measured against.
    pub legal_due_at: Option<DateTime<Utc>>,
}

/// The exchange row written with a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeLink {
    /// An outgoing letter addressed to an administration of this installation (`peer` empty)
    /// or of a trusted peer: one delivery to make.
    Send {
        id: String,
        message_id: String,
        peer: String,
        unit_code: String,
    },
    /// A letter received by exchange: its envelope's message id, unique per sending peer.
    Received {
        id: String,
        message_id: String,
        peer: String,
        unit_code: String,
        /// The sender's registration number (also the letter's `sender_reference`).
        sender_number: String,
    },
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not tried yet.
    Pending,
    /// Tried, not answered yet (the peer was unreachable or failed): tried again later.
    Sent,
    /// Registered by the recipient, whose acknowledgement did not verify here.
    Delivered,
    /// Registered by the recipient; its signed acknowledgement verified and is kept.
    Acknowledged,
    /// The recipient refused it (the reason is kept); not tried again.
    Refused,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Acknowledged => "acknowledged",
            Self::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Sent,
            Self::Delivered,
            Self::Acknowledged,
            Self::Refused,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// An outgoing letter's delivery to another administration.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: String,
    pub correspondence_id: String,
    pub message_id: String,
    /// The peer installation's name; empty for this installation.
    pub peer: String,
    pub unit_code: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The signed envelope (compact JWS), once made.
    pub envelope: Option<String>,
    /// The recipient's signed acknowledgement (its registry's receipt, compact JWS).
    pub ack_jws: Option<String>,
    /// The letter's number in the recipient's register.
    pub remote_number: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a delivery attempt came to.
#[derive(Debug, Clone)]
pub struct DeliveryUpdate {
    pub state: DeliveryState,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub envelope: Option<String>,
    pub ack_jws: Option<String>,
    pub remote_number: Option<String>,
    pub at: DateTime<Utc>,
}

/// One step of a circuit as it is asked for: a visa or a signature, by a named agent (e-mail)
/// or by whoever holds `role` in the unit `unit` (code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub kind: diwan_domain::circuit::StepKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<diwan_domain::Role>,
}

/// A circuit used for a type of document in an administration.
#[derive(Debug, Clone, Serialize)]
pub struct CircuitTemplate {
    pub id: String,
    pub administration_id: String,
    pub document_type: String,
    pub name: String,
    pub stages: Vec<Vec<StepSpec>>,
    pub updated_at: DateTime<Utc>,
}

/// A document in the parapheur.
#[derive(Debug, Clone, Serialize)]
pub struct ParapheurDocument {
    pub id: String,
    pub title: String,
    pub document_type: Option<String>,
    pub administration_id: String,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
    pub status: diwan_domain::circuit::CircuitStatus,
    pub file_name: String,
    pub current_sha256: Sha256Digest,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    /// The outgoing registration the document asks for once signed.
    pub outgoing: Option<OutgoingSpec>,
    /// The registry it is registered in (from `outgoing`).
    pub registry_id: Option<String>,
    /// The number reserved when the circuit reached its last stage: (year, seq).
    pub reserved: Option<(i32, i64)>,
    pub registration_number: Option<String>,
    /// The outgoing correspondence, once registered.
    pub correspondence_id: Option<String>,
}

/// What the outgoing letter a document becomes is: where it is registered, to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutgoingSpec {
    /// The registry's code.
    pub registry: String,
    pub recipient: diwan_domain::Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidentiality: Option<diwan_domain::Confidentiality>,
}

/// A number to take from a register's counter with an action.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub registry: Registry,
    pub year: i32,
}

/// A step of a document's circuit.
#[derive(Debug, Clone, Serialize)]
pub struct CircuitStep {
    pub id: String,
    pub document_id: String,
    pub stage: usize,
    pub position: usize,
    pub kind: diwan_domain::circuit::StepKind,
    pub agent_id: Option<String>,
    pub unit_id: Option<String>,
    pub role: Option<diwan_domain::Role>,
    pub state: diwan_domain::circuit::StepState,
    pub acted_by: Option<String>,
    pub acted_at: Option<DateTime<Utc>>,
    pub comment: Option<String>,
}

/// A line of a parapheur document's history.
#[derive(Debug, Clone, Serialize)]
pub struct ParapheurEvent {
    pub id: String,
    pub document_id: String,
    pub at: DateTime<Utc>,
    pub actor_id: String,
    pub kind: String,
    pub detail: serde_json::Value,
}

/// An action stored: the document's new status and file, the steps it changed, the history
/// line — applied only if the document is still at `expected_version`.
#[derive(Debug, Clone)]
pub struct ParapheurUpdate {
    pub document_id: String,
    pub expected_version: i32,
    pub status: diwan_domain::circuit::CircuitStatus,
    pub current_sha256: Sha256Digest,
    pub steps: Vec<CircuitStep>,
    pub event: ParapheurEvent,
    /// Take the next outgoing number of this register for the document, in the same
    /// transaction.
    pub reserve: Option<Reservation>,
}

/// A document prepared for remote signing, waiting for the signature.
#[derive(Debug, Clone)]
pub struct SigningSession {
    pub id: String,
    pub agent_id: String,
    /// The prepared PDF in the file store.
    pub prepared_sha256: Sha256Digest,
    pub byte_range: [usize; 4],
    /// SHA-256 of the bytes the byte range covers.
    pub content_digest: [u8; 32],
    /// The serial of the certificate it was prepared with.
    pub serial: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A file waiting for its registration: staged, then promoted to its address before commit.
#[derive(Debug)]
pub struct NewFile {
    pub id: String,
    pub name: String,
    pub blob: Box<dyn crate::ports::StagedBlob>,
    /// For a PDF: its inspection.
    pub pdf: Option<PdfCheck>,
}

/// What the store answers once a registration is durable.
#[derive(Debug, Clone)]
pub struct Registered {
    pub seq: i64,
    pub year: i32,
    pub registration_number: RegistrationNumber,
}

/// A query over one register.
#[derive(Debug, Clone)]
pub struct ListFilter {
    pub registry_id: String,
    pub direction: Option<Direction>,
    pub year: Option<i32>,
    /// Keyset cursor: rows strictly before (registered_at, id).
    pub before: Option<(DateTime<Utc>, String)>,
    pub limit: usize,
    /// `None`: every row is visible. `Some(units)`: restricted rows only where one of these
    /// units is concerned.
    pub restricted_visible_to: Option<Vec<String>>,
}

/// A line of a register page.
#[derive(Debug, Clone, Serialize)]
pub struct CorrespondenceSummary {
    pub id: String,
    pub registration_number: RegistrationNumber,
    pub direction: Direction,
    pub channel: Channel,
    pub subject: String,
    pub sender_name: String,
    pub recipient_name: String,
    pub confidentiality: Confidentiality,
    pub priority: Priority,
    pub registered_at: DateTime<Utc>,
    pub annulled: bool,
}

/// A span of time (re-exported so callers need not depend on chrono).
pub type Hours = chrono::Duration;

/// A certificate with its sealed key, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiObject {
    /// `root`, `issuing`, `log`, `seal:<registry id>`, or `retired:<serial>`.
    pub slot: String,
    /// `root`, `issuing`, `log` or `seal`.
    pub role: String,
    pub registry_id: Option<String>,
    pub serial: String,
    /// PEM of the certificate.
    pub certificate: String,
    /// PEM of the certificates above it, up to (not including) the root.
    pub chain: String,
    /// The private key (PKCS#8), sealed with the master key, base64.
    pub sealed_key: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A receipt of a registration, or the notice of an annulment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    Receipt,
    Annulment,
}

impl ReceiptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receipt => "receipt",
            Self::Annulment => "annulment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "receipt" => Some(Self::Receipt),
            "annulment" => Some(Self::Annulment),
            _ => None,
        }
    }
}

/// What an e-mail of the outbox is: a receipt or notice (with its sealed PDF), or a
/// notification about the handling of a letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// The receipt of a registration.
    Receipt,
    /// The notice of an annulment.
    Annulment,
    /// The depositor's letter was answered.
    Answered,
    /// An assignment is due soon (to the agent or unit in charge).
    Reminder,
    /// An assignment is overdue (to the head).
    Escalation,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receipt => "receipt",
            Self::Annulment => "annulment",
            Self::Answered => "answered",
            Self::Reminder => "reminder",
            Self::Escalation => "escalation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Receipt,
            Self::Annulment,
            Self::Answered,
            Self::Reminder,
            Self::Escalation,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The receipt or notice the e-mail carries, if any.
    pub fn receipt(self) -> Option<ReceiptKind> {
        match self {
            Self::Receipt => Some(ReceiptKind::Receipt),
            Self::Annulment => Some(ReceiptKind::Annulment),
            Self::Answered | Self::Reminder | Self::Escalation => None,
        }
    }
}

impl From<ReceiptKind> for MailKind {
    fn from(k: ReceiptKind) -> Self {
        match k {
            ReceiptKind::Receipt => Self::Receipt,
            ReceiptKind::Annulment => Self::Annulment,
        }
    }
}

/// A receipt issued in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedReceipt {
    pub correspondence_id: String,
    pub kind: ReceiptKind,
    pub leaf_index: u64,
    pub issued_at: DateTime<Utc>,
    /// The signed JSON receipt (compact JWS).
    pub jws: String,
}

/// A receipt as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReceipt {
    pub receipt: IssuedReceipt,
    /// The sealed PDF, once made.
    pub pdf_sha256: Option<Sha256Digest>,
}

/// The sealed dossier of a registration, stored as a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDossier {
    pub correspondence_id: String,
    pub sha256: Sha256Digest,
    pub size: u64,
    pub pages: u32,
    pub made_at: DateTime<Utc>,
}

/// An e-mail waiting in (or gone from) the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub id: String,
    pub correspondence_id: String,
    pub kind: MailKind,
    pub recipient: String,
    pub status: String,
    pub attempts: u32,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// What an audit finds that no log entry covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditLeftovers {
    /// History lines (correspondence id, event id, kind) no entry covers.
    pub unlogged_events: Vec<(String, String, String)>,
    /// Correspondences with no registration entry.
    pub unlogged_correspondences: Vec<String>,
    /// Parapheur history lines (document id, event id, kind) no entry covers.
    pub unlogged_actions: Vec<(String, String, String)>,
}

/// A one-time code sent to confirm an e-mail address before a portal deposit.
#[derive(Debug, Clone)]
pub struct EmailChallenge {
    pub id: String,
    /// Lower-cased.
    pub email: String,
    /// `secret_hash("{id}:{code}")`: the code itself is never stored.
    pub code_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Wrong codes tried so far.
    pub attempts: u32,
    pub used_at: Option<DateTime<Utc>>,
}

/// A line of a unit's inbox: a letter addressed to one of the agent's units, or registered by
/// its registry.
#[derive(Debug, Clone, Serialize)]
pub struct InboxItem {
    pub summary: CorrespondenceSummary,
    pub received_at: DateTime<Utc>,
    pub category: Option<String>,
    /// The unit concerned, and how.
    pub unit_id: String,
    pub concern: Concern,
}

/// Where the text of a document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSource {
    /// The text layer of a born-digital PDF.
    Pdf,
    /// Optical character recognition of scanned pages.
    Ocr,
    /// A plain-text file (the message a citizen typed on the portal).
    Plain,
}

impl TextSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Ocr => "ocr",
            Self::Plain => "text",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pdf" => Some(Self::Pdf),
            "ocr" => Some(Self::Ocr),
            "text" => Some(Self::Plain),
            _ => None,
        }
    }
}

/// The text of one file of a correspondence, as stored for search.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentText {
    pub correspondence_id: String,
    pub file_sha256: String,
    pub source: TextSource,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A correspondence a search found, with what its snippet is cut from.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub summary: CorrespondenceSummary,
    pub sender: diwan_domain::Party,
    pub recipient: diwan_domain::Party,
    pub sender_reference: Option<String>,
}

/// A page of search results.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    /// Newest first, at most the filter's `limit`.
    pub hits: Vec<SearchHit>,
    /// How many correspondences the caller may see match, counted up to the store's cap.
    pub total: usize,
    /// More than `total` match.
    pub total_capped: bool,
}

/// What the indicators' rows of one unit give for a period (see `Store::indicator_counts`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactCounts {
    /// Incoming mail registered in the period, by (channel, category).
    pub received: Vec<(String, Option<String>, u64)>,
    /// Outgoing mail registered in the period.
    pub sent: u64,
    /// Incoming mail registered before the period's end, and those of it closed before then:
    /// their difference is the backlog at the end.
    pub opened_before_end: u64,
    pub closed_before_end: u64,
    /// Incoming mail still open at the period's end whose legal deadline had passed.
    pub overdue_at_end: u64,
    /// Incoming mail first answered in the period: (processing time as kept — see
    /// `diwan_domain::indicators::processing_time` — how many), in no order, with repeats;
    /// how many had a known legal deadline, and how many of those were answered before it.
    pub answered: Vec<(i64, u64)>,
    pub answered_known: u64,
    pub answered_on_time: u64,
}

/// An incoming letter answered in a period, for processing times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsweredFact {
    pub unit_id: String,
    pub channel: String,
    pub category: Option<String>,
    pub registered_at: DateTime<Utc>,
    pub answered_at: DateTime<Utc>,
    pub legal_due_at: Option<DateTime<Utc>>,
}

/// Incoming letters registered in a period: (unit, channel, category, count).
pub type ReceivedCount = (String, String, Option<String>, u64);

/// One cell of a month's open data as stored when the month is published, before the
/// small-count threshold is applied (see `Store::publish_open_data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDataCell {
    /// `YYYY-MM`, in the installation's time zone.
    pub month: String,
    pub administration_id: String,
    /// A configured category, or `""` (none, or one not configured).
    pub category: String,
    pub channel: String,
    /// Incoming letters registered in the month.
    pub received: u64,
    /// Incoming letters first answered in the month, and the median of their processing
    /// times (registration → answer, seconds).
    pub answered: u64,
    pub median_delay_seconds: Option<i64>,
    /// Of the answered letters, those with a known legal deadline, and those answered before it.
    pub deadline_known: u64,
    pub on_time: u64,
}

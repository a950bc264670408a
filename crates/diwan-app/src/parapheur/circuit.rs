//! Circuits: a PDF submitted with its stages of visa and signature steps (given, or the
//! administration's template for its type of document), each step for a named agent (a letter
//! handed to someone away goes to their substitute, as in the workflow) or for whoever holds a
//! role in a unit. Each agent sees what waits for them; approving, signing (PAdES B-T with their
//! PIN: the document gets a new revision), rejecting with a reason (back to the submitter) and
//! sending back to an earlier stage follow `diwan_domain::circuit`; every action is a history
//! line, stored only if nobody acted on the document meanwhile.

use diwan_domain::Role;
use diwan_domain::circuit::{self, Action, CircuitStatus, Step, StepKind, StepState};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::{Value, json};

use crate::Services;
use crate::access::Actor;
use crate::cache::OrgSnapshot;
use crate::error::{AppError, Rejection};
use crate::model::{
    CircuitStep, CircuitTemplate, OutgoingSpec, ParapheurDocument, ParapheurEvent, ParapheurUpdate,
    Reservation, StepSpec,
};

/// Registers the outgoing letters documents become (created by a migration; cannot log in).
pub const PARAPHEUR_AGENT_ID: &str = "00000000-0000-4000-8000-000000000003";

/// Largest document submitted.
pub const MAX_PDF: usize = super::sign::MAX_PDF;
/// Longest title, document type, template name and comment.
const MAX_TITLE: usize = 300;
const MAX_TYPE: usize = 64;
const MAX_COMMENT: usize = 2000;
/// Most items in a queue.
pub const QUEUE_LIMIT: usize = 200;

/// What a submitter gives.
#[derive(Debug)]
pub struct Submission {
    pub title: String,
    pub document_type: Option<String>,
    /// The circuit; `None`: the template of the document type.
    pub stages: Option<Vec<Vec<StepSpec>>>,
    pub file_name: String,
    pub pdf: Vec<u8>,
    /// The outgoing letter the signed document becomes: its number is reserved when the
    /// circuit reaches its last stage and printed in the last signatures' blocks.
    pub outgoing: Option<OutgoingSpec>,
}

/// An action asked for.
#[derive(Debug)]
pub struct ActRequest {
    pub action: Action,
    /// For a signature.
    pub pin: Option<SecretString>,
    /// A comment; the reason of a rejection (required then).
    pub comment: Option<String>,
}

/// A document as its participants see it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentView {
    #[serde(flatten)]
    pub document: ParapheurDocument,
    pub steps: Vec<CircuitStep>,
    pub history: Vec<ParapheurEvent>,
    /// The steps the viewer may act on now.
    pub yours: Vec<String>,
}

/// One line of a queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    pub document: ParapheurDocument,
    pub step: CircuitStep,
}

fn line(field: &str, v: &str, max: usize) -> Result<String, AppError> {
    let v = v.trim();
    diwan_domain::text::line(field, v, max)?;
    Ok(v.to_owned())
}

/// The administration the actor works in (their first unit role, admins' included).
fn administration_of(actor: &Actor, org: &OrgSnapshot) -> Result<String, AppError> {
    actor
        .grants
        .iter()
        .filter(|g| g.role != Role::Auditor)
        .find_map(|g| g.unit_id.as_deref().and_then(|u| org.unit(u)))
        .map(|u| u.administration_id.clone())
        .ok_or_else(AppError::forbidden)
}

fn signs(grants: &[crate::model::Grant]) -> bool {
    grants
        .iter()
        .any(|g| matches!(g.role, Role::Signer | Role::Head))
}

/// A step for an agent or a role, checked against the organisation.
fn resolve(
    s: &Services,
    org: &OrgSnapshot,
    administration_id: &str,
    stage: usize,
    position: usize,
    spec: &StepSpec,
    delegations: &mut Vec<Value>,
) -> Result<CircuitStep, AppError> {
    let field = format!("stages[{stage}][{position}]");
    let invalid = |why: &str| AppError::unprocessable("invalid_circuit", format!("{field}: {why}"));
    let (agent_id, unit_id, role) = match (&spec.agent, &spec.unit, spec.role) {
        (Some(email), None, None) => {
            let agent = s
                .store
                .agent_by_email(&email.trim().to_lowercase())?
                .filter(|a| a.active)
                .ok_or_else(|| invalid("no active agent has this e-mail"))?;
            // A step of the first stage is handed to a substitute now; later ones when their
            // stage opens.
            let agent = if stage == 0 {
                let (agent, delegated) = crate::workflow::receiver_of(s, agent)?;
                if let Some(chain) = delegated {
                    delegations
                        .push(json!({"stage": stage, "position": position, "delegated": chain}));
                }
                agent
            } else {
                agent
            };
            if spec.kind == StepKind::Signature && !signs(&s.store.grants(&agent.id)?) {
                return Err(invalid("this agent is neither a signer nor a head"));
            }
            (Some(agent.id), None, None)
        }
        (None, Some(code), Some(role)) => {
            let unit = org
                .unit_by_code(code)
                .filter(|u| u.administration_id == administration_id)
                .ok_or_else(|| invalid("no unit of your administration has this code"))?;
            let allowed: &[Role] = match spec.kind {
                StepKind::Signature => &[Role::Signer, Role::Head],
                StepKind::Visa => &[Role::Signer, Role::Head, Role::Handler, Role::Registrar],
            };
            if !allowed.contains(&role) {
                return Err(invalid("this role cannot take this step"));
            }
            (None, Some(unit.id.clone()), Some(role))
        }
        _ => return Err(invalid("give either `agent`, or `unit` and `role`")),
    };
    Ok(CircuitStep {
        id: crate::ids::new_id()?,
        document_id: String::new(),
        stage,
        position,
        kind: spec.kind,
        agent_id,
        unit_id,
        role,
        state: StepState::Waiting,
        acted_by: None,
        acted_at: None,
        comment: None,
    })
}

/// The circuit's shape checked (`diwan_domain::circuit::check_shape`).
fn check_shape(stages: &[Vec<StepSpec>]) -> Result<(), AppError> {
    let shape: Vec<Vec<StepKind>> = stages
        .iter()
        .map(|stage| stage.iter().map(|st| st.kind).collect())
        .collect();
    Ok(circuit::check_shape(&shape)?)
}

fn domain_steps(steps: &[CircuitStep]) -> Vec<Step> {
    steps
        .iter()
        .map(|s| Step {
            stage: s.stage,
            kind: s.kind,
            state: s.state,
        })
        .collect()
}

/// Submits a document to its circuit; the first stage waits for its agents at once.
pub fn submit(s: &Services, actor: &Actor, sub: Submission) -> Result<DocumentView, AppError> {
    let org = crate::org::snapshot(s)?;
    let administration_id = administration_of(actor, &org)?;
    let title = line("title", &sub.title, MAX_TITLE)?;
    let file_name = line(
        "file_name",
        &sub.file_name,
        diwan_domain::text::limits::FILE_NAME,
    )?;
    let document_type = sub
        .document_type
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| line("document_type", t, MAX_TYPE))
        .transpose()?;
    if sub.pdf.len() > MAX_PDF {
        return Err(AppError::rejected(
            Rejection::TooLarge,
            "document_too_large",
            format!("a document is at most {MAX_PDF} bytes"),
        ));
    }
    if !sub.pdf.starts_with(b"%PDF-") {
        return Err(AppError::unprocessable(
            "not_a_pdf",
            "submit a PDF document",
        ));
    }
    let stages = match sub.stages {
        Some(stages) => stages,
        None => {
            let wanted = document_type.as_deref().ok_or_else(|| {
                AppError::unprocessable(
                    "circuit_required",
                    "give the circuit's stages, or a document type that has a template",
                )
            })?;
            s.store
                .circuit_templates()?
                .into_iter()
                .find(|t| t.administration_id == administration_id && t.document_type == wanted)
                .map(|t| t.stages)
                .ok_or_else(|| {
                    AppError::unprocessable(
                        "circuit_required",
                        format!("no circuit template for documents of type {wanted:?}"),
                    )
                })?
        }
    };
    check_shape(&stages)?;
    let registry_id = match &sub.outgoing {
        Some(spec) => Some(check_outgoing(&org, &administration_id, &title, spec)?),
        None => None,
    };
    let mut delegations = Vec::new();
    let mut steps = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        for (j, spec) in stage.iter().enumerate() {
            steps.push(resolve(
                s,
                &org,
                &administration_id,
                i,
                j,
                spec,
                &mut delegations,
            )?);
        }
    }
    let now = s.clock.now();
    let id = crate::ids::new_id()?;
    let states = circuit::start(&domain_steps(&steps));
    for (step, state) in steps.iter_mut().zip(states) {
        step.document_id = id.clone();
        step.state = state;
    }
    let sha256 = s.blobs.put(&sub.pdf)?;
    let document = ParapheurDocument {
        id: id.clone(),
        title,
        document_type,
        administration_id,
        submitted_by: actor.agent_id.clone(),
        submitted_at: now,
        status: CircuitStatus::InCircuit,
        file_name,
        current_sha256: sha256.clone(),
        version: 1,
        updated_at: now,
        outgoing: sub.outgoing,
        registry_id,
        reserved: None,
        registration_number: None,
        correspondence_id: None,
    };
    let event = ParapheurEvent {
        id: crate::ids::new_id()?,
        document_id: id.clone(),
        at: now,
        actor_id: actor.agent_id.clone(),
        kind: "submitted".into(),
        detail: json!({"sha256": sha256.as_str(), "stages": stages, "delegated": delegations}),
    };
    s.store
        .insert_parapheur(&document, &steps, &event, crate::receipts::notary(s)?)?;
    tracing::info!(document = %id, "submitted to the parapheur");
    // A one-stage circuit is at its last stage at once: its number now.
    if circuit::last_stage(&domain_steps(&steps)) == Some(0)
        && let Some(reservation) = reservation_for(s, &document)?
    {
        let update = ParapheurUpdate {
            document_id: id.clone(),
            expected_version: document.version,
            status: document.status,
            current_sha256: document.current_sha256.clone(),
            steps: Vec::new(),
            event: ParapheurEvent {
                id: crate::ids::new_id()?,
                document_id: id.clone(),
                at: now,
                actor_id: actor.agent_id.clone(),
                kind: "numbered".into(),
                detail: json!({}),
            },
            reserve: Some(reservation),
        };
        s.store
            .update_parapheur(&update, crate::receipts::notary(s)?)?;
    }
    get(s, actor, &id)
}

/// Checks the outgoing registration a document asks for: a registry of the submitter's
/// administration, and metadata a registration would accept. Answers the registry's id.
fn check_outgoing(
    org: &OrgSnapshot,
    administration_id: &str,
    title: &str,
    spec: &OutgoingSpec,
) -> Result<String, AppError> {
    let registry = org
        .registry_by_code(&spec.registry)
        .filter(|r| {
            org.unit(&r.unit_id)
                .is_some_and(|u| u.administration_id == administration_id)
        })
        .ok_or_else(|| {
            AppError::unprocessable(
                "unknown_registry",
                format!(
                    "no registry of your administration has the code {}",
                    spec.registry
                ),
            )
        })?;
    diwan_domain::RegistrationRequest::parse(outgoing_metadata(org, registry, title, spec))?;
    Ok(registry.id.clone())
}

/// The registration metadata of the outgoing letter a document becomes.
fn outgoing_metadata(
    org: &OrgSnapshot,
    registry: &crate::model::Registry,
    title: &str,
    spec: &OutgoingSpec,
) -> diwan_domain::RegistrationMetadata {
    let unit = org.unit(&registry.unit_id);
    let administration = unit.and_then(|u| org.administration(&u.administration_id));
    diwan_domain::RegistrationMetadata {
        registry: registry.code.as_str().to_owned(),
        direction: diwan_domain::Direction::Outgoing,
        channel: diwan_domain::Channel::Counter,
        subject: title.to_owned(),
        sender: diwan_domain::Party {
            kind: diwan_domain::PartyKind::Administration,
            name: administration.map_or_else(|| registry.name_fr.clone(), |a| a.name_fr.clone()),
            national_id: None,
            company_id: None,
            unit: unit.map(|u| u.code.clone()),
            email: None,
            phone: None,
            territory: None,
            peer: None,
        },
        recipient: spec.recipient.clone(),
        confidentiality: spec.confidentiality,
        priority: None,
        category: spec.category.clone(),
        sender_reference: None,
        sender_date: None,
        received_at: None,
        in_reply_to: None,
    }
}

/// The number to reserve for a document that becomes an outgoing letter and has none yet.
fn reservation_for(
    s: &Services,
    document: &ParapheurDocument,
) -> Result<Option<Reservation>, AppError> {
    if document.outgoing.is_none() || document.reserved.is_some() {
        return Ok(None);
    }
    let Some(registry_id) = &document.registry_id else {
        return Ok(None);
    };
    let org = crate::org::snapshot(s)?;
    let registry = org
        .registry(registry_id)
        .cloned()
        .ok_or_else(|| AppError::internal("a parapheur document's registry is gone"))?;
    let year = chrono::Datelike::year(&s.clock.now().with_timezone(&s.settings.time_zone));
    Ok(Some(Reservation { registry, year }))
}

/// Registers the outgoing letter of a document that ended with a reserved number: the signed
/// document as its file; a rejected document's letter is registered and annulled at once (its
/// number stays used, the register gapless). Does nothing if it is registered already.
pub fn register_outcome(s: &Services, id: &str) -> Result<Option<String>, AppError> {
    let Some((document, _, history)) = s.store.parapheur(id)? else {
        return Ok(None);
    };
    let (Some(spec), Some((year, seq)), Some(registry_id), Some(number)) = (
        &document.outgoing,
        document.reserved,
        &document.registry_id,
        &document.registration_number,
    ) else {
        return Ok(None);
    };
    if document.correspondence_id.is_some() || document.status == CircuitStatus::InCircuit {
        return Ok(document.correspondence_id);
    }
    // Registered before a crash that came before the link: link it now.
    if let Some(existing) = s.store.correspondence_id_by_number(number)? {
        s.store
            .link_parapheur_registration(&document.id, &existing)?;
        return Ok(Some(existing));
    }
    let org = crate::org::snapshot(s)?;
    let registry = org
        .registry(registry_id)
        .ok_or_else(|| AppError::internal("a parapheur document's registry is gone"))?;
    let metadata = outgoing_metadata(&org, registry, &document.title, spec);
    let bytes = s
        .blobs
        .read(&document.current_sha256)?
        .ok_or_else(|| AppError::internal("a parapheur document is missing"))?;
    let mut sink = s.blobs.stage()?;
    sink.write(&bytes)?;
    let uploads = vec![crate::correspondence::Upload {
        name: document.file_name.clone(),
        blob: sink.finish(Some("application/pdf"))?,
    }];
    let outcome = crate::correspondence::register_by(
        s,
        crate::correspondence::Registrant::Parapheur((year, seq)),
        metadata,
        uploads,
    )?;
    s.store
        .link_parapheur_registration(&document.id, &outcome.id)?;
    if document.status == CircuitStatus::Rejected {
        let reason = history
            .iter()
            .rev()
            .find(|e| e.kind == "rejected")
            .and_then(|e| e.detail.get("comment").and_then(|c| c.as_str()))
            .unwrap_or("-");
        let annulment = crate::model::Annulment {
            at: s.clock.now(),
            by: PARAPHEUR_AGENT_ID.to_owned(),
            reason: format!("Rejeté au parapheur / رُفض في حامل التوقيعات : {reason}")
                .chars()
                .take(diwan_domain::text::limits::REASON)
                .collect(),
        };
        s.store
            .annul(&outcome.id, &annulment, crate::receipts::notary(s)?)?;
    }
    tracing::info!(document = %document.id, number = %number, "parapheur outcome registered");
    Ok(Some(outcome.id))
}

/// Registers what ended without being registered (a crash between the two): run at start and
/// by the scheduler.
pub fn register_pending(s: &Services) -> Result<usize, AppError> {
    let pending = s.store.parapheur_unregistered(50)?;
    let mut done = 0;
    for d in pending {
        match register_outcome(s, &d.id) {
            Ok(_) => done += 1,
            Err(e) => {
                tracing::warn!(document = %d.id, error = %e, "parapheur outcome not registered")
            }
        }
    }
    Ok(done)
}

/// Whether `actor` may act on `step` (its agent, or a holder of its role in its unit).
fn is_yours(actor: &Actor, step: &CircuitStep) -> bool {
    match (&step.agent_id, &step.unit_id, step.role) {
        (Some(agent), _, _) => *agent == actor.agent_id,
        (None, Some(unit), Some(role)) => actor
            .grants
            .iter()
            .any(|g| g.role == role && g.unit_id.as_deref() == Some(unit.as_str())),
        _ => false,
    }
}

/// Whether `actor` may see the document: its submitter, a participant, or an administrator of
/// its administration.
fn may_see(
    actor: &Actor,
    org: &OrgSnapshot,
    document: &ParapheurDocument,
    steps: &[CircuitStep],
) -> bool {
    document.submitted_by == actor.agent_id
        || steps
            .iter()
            .any(|st| is_yours(actor, st) || st.acted_by.as_deref() == Some(&actor.agent_id))
        || crate::access::may_administer(actor, &org.tree, &document.administration_id).is_ok()
}

fn load(s: &Services, actor: &Actor, id: &str) -> Result<crate::ports::ParapheurRecord, AppError> {
    let org = crate::org::snapshot(s)?;
    s.store
        .parapheur(id)?
        .filter(|(d, steps, _)| may_see(actor, &org, d, steps))
        .ok_or_else(|| AppError::not_found("document"))
}

/// A document with its circuit and history.
pub fn get(s: &Services, actor: &Actor, id: &str) -> Result<DocumentView, AppError> {
    let (document, steps, history) = load(s, actor, id)?;
    let yours = steps
        .iter()
        .filter(|st| st.state == StepState::Pending && is_yours(actor, st))
        .map(|st| st.id.clone())
        .collect();
    Ok(DocumentView {
        document,
        steps,
        history,
        yours,
    })
}

/// The document as it is now (with the signatures made so far).
pub fn pdf(s: &Services, actor: &Actor, id: &str) -> Result<(String, Vec<u8>), AppError> {
    let (document, _, _) = load(s, actor, id)?;
    let bytes = s
        .blobs
        .read(&document.current_sha256)?
        .ok_or_else(|| AppError::internal("a parapheur document is missing"))?;
    Ok((document.file_name, bytes))
}

/// What waits for the actor, oldest first.
pub fn queue(s: &Services, actor: &Actor) -> Result<Vec<QueueItem>, AppError> {
    let roles: Vec<(String, String)> = actor
        .grants
        .iter()
        .filter_map(|g| {
            g.unit_id
                .as_ref()
                .map(|u| (u.clone(), g.role.as_str().to_owned()))
        })
        .collect();
    Ok(s.store
        .parapheur_queue(&actor.agent_id, &roles, QUEUE_LIMIT)?
        .into_iter()
        .map(|(document, step)| QueueItem { document, step })
        .collect())
}

/// Documents the actor submitted, newest first.
pub fn submitted(s: &Services, actor: &Actor) -> Result<Vec<ParapheurDocument>, AppError> {
    Ok(s.store.parapheur_submitted(&actor.agent_id, QUEUE_LIMIT)?)
}

/// Acts on the actor's pending step of the document.
pub fn act(
    s: &Services,
    actor: &Actor,
    id: &str,
    request: ActRequest,
) -> Result<DocumentView, AppError> {
    act_with(s, actor, id, request, None)
}

/// What became of one document of a batch signature.
#[derive(Debug, Clone, Serialize)]
pub struct BatchOutcome {
    pub id: String,
    pub signed: bool,
    /// The document's status after the signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CircuitStatus>,
    /// Why it was not signed (the code and text a single signature would have answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Signs the actor's pending signature steps of several documents with one PIN entry: the
/// key is opened once (a wrong PIN signs nothing), then each document is signed as by
/// [`act`]; one that cannot be (someone acted meanwhile, not the actor's step) is reported
/// and the others go on.
pub fn sign_batch(
    s: &Services,
    actor: &Actor,
    ids: &[String],
    pin: &SecretString,
) -> Result<Vec<BatchOutcome>, AppError> {
    let mut seen = std::collections::HashSet::new();
    if ids.is_empty() || ids.len() > super::sign::MAX_BATCH || !ids.iter().all(|i| seen.insert(i)) {
        return Err(AppError::unprocessable(
            "invalid_batch",
            format!("choose 1 to {} different documents", super::sign::MAX_BATCH),
        ));
    }
    let signer = super::sign::unlock_usable(s, actor, pin)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let request = ActRequest {
            action: Action::Sign,
            pin: None,
            comment: None,
        };
        out.push(match act_with(s, actor, id, request, Some(&signer)) {
            Ok(view) => BatchOutcome {
                id: id.clone(),
                signed: true,
                status: Some(view.document.status),
                code: None,
                detail: None,
            },
            Err(AppError::Rejected { code, detail, .. }) => BatchOutcome {
                id: id.clone(),
                signed: false,
                status: None,
                code: Some(code.to_owned()),
                detail: Some(detail),
            },
            Err(e) => return Err(e),
        });
    }
    Ok(out)
}

fn act_with(
    s: &Services,
    actor: &Actor,
    id: &str,
    request: ActRequest,
    unlocked: Option<&super::keys::UnlockedSigner>,
) -> Result<DocumentView, AppError> {
    let (document, steps, _) = load(s, actor, id)?;
    if document.status != CircuitStatus::InCircuit {
        return Err(AppError::rejected(
            Rejection::Conflict,
            "invalid_transition",
            format!("the document is {}", document.status.as_str()),
        ));
    }
    let index = steps
        .iter()
        .position(|st| st.state == StepState::Pending && is_yours(actor, st))
        .ok_or_else(|| {
            AppError::rejected(
                Rejection::Forbidden,
                "not_your_step",
                "no step of this document waits for you now",
            )
        })?;
    let comment = request
        .comment
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            diwan_domain::text::multiline("comment", c.trim(), MAX_COMMENT)?;
            Ok::<_, AppError>(c.trim().to_owned())
        })
        .transpose()?;
    if request.action == Action::Reject && comment.is_none() {
        return Err(AppError::unprocessable(
            "reason_required",
            "say why the document is rejected",
        ));
    }
    let outcome =
        circuit::apply(&domain_steps(&steps), index, request.action).map_err(|e| match e {
            circuit::CircuitError::NotPending => {
                AppError::rejected(Rejection::Conflict, "invalid_transition", e.to_string())
            }
            circuit::CircuitError::WrongAction | circuit::CircuitError::BadStage => {
                AppError::unprocessable("invalid_action", e.to_string())
            }
        })?;
    let now = s.clock.now();
    // Reaching the last stage: the letter's number is taken with this action.
    let last = circuit::last_stage(&domain_steps(&steps));
    let reserve = if outcome.open_stage.is_some()
        && outcome.open_stage == last
        && circuit::open_stage(&domain_steps(&steps)) != last
    {
        reservation_for(s, &document)?
    } else {
        None
    };
    let mut sha256 = document.current_sha256.clone();
    let mut made = None;
    if request.action == Action::Sign {
        let opened;
        let signer = match unlocked {
            Some(signer) => signer,
            None => {
                let pin = request.pin.as_ref().ok_or_else(|| {
                    AppError::unprocessable("pin_required", "a signature needs your PIN")
                })?;
                opened = super::sign::unlock_usable(s, actor, pin)?;
                &opened
            }
        };
        let current = s
            .blobs
            .read(&document.current_sha256)?
            .ok_or_else(|| AppError::internal("a parapheur document is missing"))?;
        let signed = super::sign::sign_unlocked(
            s,
            signer,
            &current,
            Some(&document.title),
            document.registration_number.as_deref(),
        )?;
        sha256 = s.blobs.put(&signed)?;
        made = Some(sha256.clone());
    }
    let mut changed = Vec::new();
    let mut delegations = Vec::new();
    for (i, (step, state)) in steps.iter().zip(&outcome.states).enumerate() {
        if i == index {
            changed.push(CircuitStep {
                state: *state,
                acted_by: Some(actor.agent_id.clone()),
                acted_at: Some(now),
                comment: comment.clone(),
                ..step.clone()
            });
        } else if *state != step.state {
            let mut next = CircuitStep {
                state: *state,
                ..step.clone()
            };
            // A step for someone away goes to their substitute when its stage opens.
            if *state == StepState::Pending
                && let Some(agent) = step
                    .agent_id
                    .as_deref()
                    .and_then(|a| s.store.agent(a).ok().flatten())
            {
                let (receiver, delegated) = crate::workflow::receiver_of(s, agent)?;
                if let Some(chain) = delegated {
                    delegations.push(json!({"step_id": step.id, "delegated": chain}));
                    next.agent_id = Some(receiver.id);
                }
            }
            changed.push(next);
        }
    }
    let kind = match request.action {
        Action::Approve => "approved",
        Action::Sign => "signed",
        Action::Reject => "rejected",
        Action::SendBack { .. } => "sent_back",
    };
    let mut detail = json!({
        "step_id": steps[index].id,
        "stage": steps[index].stage,
        "sha256": sha256.as_str(),
    });
    if let Some(c) = &comment {
        detail["comment"] = json!(c);
    }
    if let Action::SendBack { to } = request.action {
        detail["to_stage"] = json!(to);
    }
    if !delegations.is_empty() {
        detail["delegated"] = json!(delegations);
    }
    let update = ParapheurUpdate {
        document_id: document.id.clone(),
        expected_version: document.version,
        status: outcome.status,
        current_sha256: sha256,
        steps: changed,
        event: ParapheurEvent {
            id: crate::ids::new_id()?,
            document_id: document.id.clone(),
            at: now,
            actor_id: actor.agent_id.clone(),
            kind: kind.into(),
            detail,
        },
        reserve,
    };
    if !s
        .store
        .update_parapheur(&update, crate::receipts::notary(s)?)?
    {
        if let Some(digest) = made {
            s.blobs.forget_made(&digest)?;
        }
        return Err(AppError::rejected(
            Rejection::Conflict,
            "state_changed",
            "someone acted on this document meanwhile: look at it again",
        ));
    }
    tracing::info!(document = %document.id, action = kind, "parapheur action");
    if outcome.status != CircuitStatus::InCircuit
        && let Err(e) = register_outcome(s, id)
    {
        // Done again by the scheduler.
        tracing::warn!(document = %id, error = %e, "parapheur outcome not registered yet");
    }
    get(s, actor, id)
}

/// Creates or replaces the circuit template of a type of document (administrators of the
/// administration).
pub fn put_template(
    s: &Services,
    actor: &Actor,
    administration_code: &str,
    document_type: &str,
    name: &str,
    stages: Vec<Vec<StepSpec>>,
) -> Result<CircuitTemplate, AppError> {
    let org = crate::org::snapshot(s)?;
    let administration = org
        .administrations
        .iter()
        .find(|a| a.code.as_str() == administration_code)
        .ok_or_else(|| AppError::not_found("administration"))?;
    crate::access::may_administer(actor, &org.tree, &administration.id)?;
    check_shape(&stages)?;
    // The steps must resolve now (delegations are applied at submission).
    let mut ignored = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        for (j, spec) in stage.iter().enumerate() {
            resolve(s, &org, &administration.id, i, j, spec, &mut ignored)?;
        }
    }
    let template = CircuitTemplate {
        id: crate::ids::new_id()?,
        administration_id: administration.id.clone(),
        document_type: line("document_type", document_type, MAX_TYPE)?,
        name: line("name", name, MAX_TITLE)?,
        stages,
        updated_at: s.clock.now(),
    };
    s.store.put_circuit_template(&template)?;
    Ok(template)
}

/// The templates of the administrations the actor works in.
pub fn templates(s: &Services, actor: &Actor) -> Result<Vec<CircuitTemplate>, AppError> {
    let org = crate::org::snapshot(s)?;
    let mine: Vec<String> = actor
        .grants
        .iter()
        .filter_map(|g| g.unit_id.as_deref().and_then(|u| org.unit(u)))
        .map(|u| u.administration_id.clone())
        .collect();
    let global = actor.grants.iter().any(|g| g.unit_id.is_none());
    Ok(s.store
        .circuit_templates()?
        .into_iter()
        .filter(|t| global || mine.contains(&t.administration_id))
        .collect())
}

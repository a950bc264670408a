//! Handling a registered correspondence: assigning it, handing it down, forwarding it, taking
//! it up, giving it back, closing it. Each move is checked against the status machine
//! (`diwan_domain::workflow`), then against the actor's roles, then stored with its history
//! line and its log entry in one transaction that only applies if the status did not change
//! meanwhile.

mod answer;
mod assign;
mod delegation;
mod follow_up;
mod forward;
mod give_back;
mod inbox;
mod progress;
mod reassign;
mod routing;

pub use answer::{
    PublicReply, addressed_to_depositor, depositor_reply, depositor_reply_file, register_reply,
    reply_for_depositor, reply_registries,
};
pub(crate) use answer::{answered_mail, mark_answered, reply_target};
pub use assign::{AlsoAssign, AssignRequest, assign};
pub(crate) use delegation::receiver as receiver_of;
pub use delegation::{
    DelegationRequest, MAX_DELEGATION_DAYS, delegate, delegations, revoke as revoke_delegation,
};
pub(crate) use follow_up::follow_up_mail;
pub use follow_up::{run_due as follow_up_due, start_scheduler};
pub use forward::{ForwardRequest, forward};
pub use give_back::{DeclineRequest, decline, return_to_registry};
pub use inbox::{INBOX_PAGE, InboxPage, InboxQuery, inbox_by_due_date};
pub use progress::{NoteRequest, close, start};
pub use reassign::{ReassignRequest, reassign};
pub use routing::{
    MAX_RULES, RuleRequest, create_rule, delete_rule, fired_rule, may_manage_rules, rules,
    update_rule,
};
pub(crate) use routing::{Routable, active_rules, route};

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use diwan_domain::text::{self, limits};
use diwan_domain::{Move, Status};
use serde_json::{Map, Value};

use crate::Services;
use crate::access::Actor;
use crate::cache::OrgSnapshot;
use crate::error::{AppError, Rejection};
use crate::model::{Agent, Correspondence, Ending, MoveRecord, NewAssignment, Registry, Unit};

/// How far ahead a due date may be set.
pub const MAX_DUE_DAYS: u64 = 730;

/// Working days given when no legal deadline applies.
pub const FALLBACK_DUE_WORKING_DAYS: u32 = 30;

/// A correspondence about to be moved, as the actor sees it.
struct Moving {
    c: Correspondence,
    registry: Registry,
    org: Arc<OrgSnapshot>,
    step: Move,
    to: Status,
}

/// Loads the correspondence (404 unless the actor may read it) and checks that its status
/// allows the move (409 `invalid_transition` otherwise).
fn begin(s: &Services, actor: &Actor, id: &str, step: Move) -> Result<Moving, AppError> {
    let (c, registry) = crate::correspondence::load_visible(s, actor, id)?;
    let to = step.from(c.status).ok_or_else(|| {
        AppError::rejected(
            Rejection::Conflict,
            "invalid_transition",
            format!(
                "a correspondence that is {} cannot be {}",
                c.status.as_str().replace('_', " "),
                step.event_kind()
            ),
        )
    })?;
    let org = crate::org::snapshot(s)?;
    Ok(Moving {
        c,
        registry,
        org,
        step,
        to,
    })
}

impl Moving {
    /// The open assignment for action, which every status after `assigned` has.
    /// The unit in charge. A status that has one with no open lead was read while another
    /// move was ending it (the letter and its assignments are two reads): the letter changed
    /// meanwhile, as the conditional update would find.
    fn lead(&self) -> Result<&crate::model::Assignment, AppError> {
        self.c.lead().ok_or_else(|| {
            AppError::rejected(
                Rejection::Conflict,
                "state_changed",
                "the correspondence was changed meanwhile; read it again",
            )
        })
    }

    fn record(
        &self,
        s: &Services,
        actor: &Actor,
        detail: Map<String, Value>,
        ending: Ending,
        assignments: Vec<NewAssignment>,
    ) -> MoveRecord {
        MoveRecord {
            correspondence_id: self.c.id.clone(),
            step: self.step,
            from: self.c.status,
            to: self.to,
            at: s.clock.now(),
            actor_id: actor.agent_id.clone(),
            detail,
            ending,
            assignments,
            mails: Vec::new(),
        }
    }

    /// The unit with this code, if it is in the correspondence's administration.
    fn unit_in_administration(&self, field: &str, code: &str) -> Result<Unit, AppError> {
        unit_in_administration(&self.org, &self.registry, field, code)
    }
}

/// The unit with this code, if it is in the administration of `registry` (else 422
/// `unknown_unit`, naming `field`).
fn unit_in_administration(
    org: &OrgSnapshot,
    registry: &Registry,
    field: &str,
    code: &str,
) -> Result<Unit, AppError> {
    let admin = org.tree.administration_of(&registry.unit_id);
    org.unit_by_code(code)
        .filter(|u| Some(u.administration_id.as_str()) == admin)
        .cloned()
        .ok_or_else(|| {
            AppError::unprocessable(
                "unknown_unit",
                format!("{field}: no unit with this code in this administration"),
            )
        })
}

/// Stores the move. 409 `state_changed` when someone else moved the correspondence first.
fn commit(s: &Services, actor: &Actor, record: MoveRecord) -> Result<Correspondence, AppError> {
    let id = record.correspondence_id.clone();
    let notary = crate::receipts::notary(s)?;
    if !s.store.apply_move(&record, notary)? {
        return Err(AppError::rejected(
            Rejection::Conflict,
            "state_changed",
            "the correspondence was changed meanwhile; read it again",
        ));
    }
    crate::correspondence::get(s, actor, &id)
}

/// Checks an optional free text and puts it into the history line's detail.
fn note(
    detail: &mut Map<String, Value>,
    field: &str,
    value: Option<&str>,
    required: bool,
) -> Result<Option<String>, AppError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    match value {
        None if required => Err(AppError::unprocessable(
            "invalid_input",
            format!("{field}: required"),
        )),
        None => Ok(None),
        Some(v) => {
            text::multiline(field, v, limits::REASON)?;
            detail.insert(field.to_owned(), Value::String(v.to_owned()));
            Ok(Some(v.to_owned()))
        }
    }
}

/// The due date of a new assignment: the one asked for (from today up to `MAX_DUE_DAYS`
/// ahead), else `inherited`, else the legal deadline of the letter's category on the
/// working-day calendar (counted from its reception), else `FALLBACK_DUE_WORKING_DAYS`
/// working days from today.
fn due_date(
    s: &Services,
    c: &Correspondence,
    asked: Option<NaiveDate>,
    inherited: Option<NaiveDate>,
) -> Result<NaiveDate, AppError> {
    due_date_of(s, c.received_at, c.category.as_deref(), asked, inherited)
}

fn due_date_of(
    s: &Services,
    received_at: chrono::DateTime<chrono::Utc>,
    category: Option<&str>,
    asked: Option<NaiveDate>,
    inherited: Option<NaiveDate>,
) -> Result<NaiveDate, AppError> {
    let zone = &s.settings.time_zone;
    let today = s.clock.now().with_timezone(zone).date_naive();
    if let Some(d) = asked {
        let latest = today.checked_add_days(Days::new(MAX_DUE_DAYS));
        if d < today || latest.is_some_and(|l| d > l) {
            return Err(AppError::unprocessable(
                "invalid_due_date",
                format!("due_date: between {today} and {MAX_DUE_DAYS} days later"),
            ));
        }
        return Ok(d);
    }
    if let Some(d) = inherited {
        return Ok(d);
    }
    let received = received_at.with_timezone(zone).date_naive();
    let calendar = &s.settings.calendar;
    s.settings
        .deadlines
        .rule(category)
        .deadline(calendar, received)
        .or_else(|| calendar.add_working_days(today, FALLBACK_DUE_WORKING_DAYS))
        .ok_or_else(|| AppError::internal("no due date could be computed"))
}

/// The active agent with this e-mail who works in `unit` (any role but auditor).
fn agent_of_unit(s: &Services, email: &str, unit: &Unit) -> Result<Agent, AppError> {
    let unknown = || {
        AppError::unprocessable(
            "unknown_agent",
            "agent: no active agent of this unit has this e-mail",
        )
    };
    let agent = s
        .store
        .agent_by_email(&email.trim().to_lowercase())?
        .filter(|a| a.active)
        .ok_or_else(unknown)?;
    let grants = s.store.grants(&agent.id)?;
    if crate::access::works_in(&grants, &unit.id) {
        Ok(agent)
    } else {
        Err(unknown())
    }
}

/// The agent a letter is handed to in person, or their substitute while they have delegated
/// (the history line's `delegated` says so).
fn hand_to(
    s: &Services,
    agent: Option<Agent>,
    detail: &mut Map<String, Value>,
) -> Result<Option<Agent>, AppError> {
    let Some(agent) = agent else {
        return Ok(None);
    };
    let (to, note) = delegation::receiver(s, agent)?;
    if let Some(note) = note {
        detail.insert("delegated".into(), note);
    }
    Ok(Some(to))
}

fn new_assignment(
    unit: &Unit,
    agent: Option<&Agent>,
    purpose: diwan_domain::Purpose,
    instructions: Option<String>,
    due_date: NaiveDate,
) -> Result<NewAssignment, AppError> {
    Ok(NewAssignment {
        id: crate::ids::new_id()?,
        unit_id: unit.id.clone(),
        agent_id: agent.map(|a| a.id.clone()),
        purpose,
        instructions,
        due_date,
    })
}

/// Checks the instructions given with an assignment.
fn instructions(value: Option<&str>) -> Result<Option<String>, AppError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    if let Some(v) = value {
        text::multiline("instructions", v, limits::REASON)?;
    }
    Ok(value.map(str::to_owned))
}

/// The moves the actor may make on this correspondence now (for offering them on a page; each
/// move checks again when made).
pub fn allowed_moves(
    s: &Services,
    actor: &Actor,
    c: &Correspondence,
) -> Result<Vec<Move>, AppError> {
    let org = crate::org::snapshot(s)?;
    let Some(registry) = org.registry(&c.registry_id) else {
        return Ok(Vec::new());
    };
    let lead = c.lead();
    let handle = lead.map(|l| crate::access::may_handle(actor, &org.tree, l));
    Ok([
        Move::Assign,
        Move::Reassign,
        Move::Forward,
        Move::Start,
        Move::Return,
        Move::Decline,
        Move::Close,
    ]
    .into_iter()
    .filter(|m| m.from(c.status).is_some())
    .filter(|m| match m {
        Move::Assign => crate::access::may_assign(actor, &org.tree, registry).is_ok(),
        Move::Reassign => matches!(&handle, Some(Ok(p)) if p.heads),
        _ => matches!(&handle, Some(Ok(_))),
    })
    .collect())
}

/// The units a correspondence may be assigned or forwarded to: those of its administration.
pub fn units_for(s: &Services, c: &Correspondence) -> Result<Vec<Unit>, AppError> {
    let org = crate::org::snapshot(s)?;
    let admin = org
        .registry(&c.registry_id)
        .and_then(|r| org.tree.administration_of(&r.unit_id))
        .map(str::to_owned);
    Ok(org
        .units
        .iter()
        .filter(|u| Some(&u.administration_id) == admin.as_ref())
        .cloned()
        .collect())
}

//! Delegation: an agent names a substitute for a period. Meanwhile, what would be handed to the
//! agent in person goes to the substitute, and the history line says so.

use chrono::{Days, NaiveDate};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Services;
use crate::access::Actor;
use crate::error::{AppError, Rejection};
use crate::model::{Agent, Delegation};

/// Longest delegation, in days.
pub const MAX_DELEGATION_DAYS: u64 = 366;

/// Substitutes followed at most (a substitute may have delegated too).
const MAX_HOPS: usize = 4;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationRequest {
    /// The substitute's e-mail.
    pub substitute: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

fn today(s: &Services) -> NaiveDate {
    s.clock
        .now()
        .with_timezone(&s.settings.time_zone)
        .date_naive()
}

/// The delegations the actor gave or received.
pub fn delegations(s: &Services, actor: &Actor) -> Result<Vec<Delegation>, AppError> {
    Ok(s.store.delegations_of(&actor.agent_id)?)
}

/// Names a substitute: an active agent who works in one of the actor's units, for a period
/// from today on, of at most a year, not overlapping another live delegation of the actor.
pub fn delegate(
    s: &Services,
    actor: &Actor,
    req: &DelegationRequest,
) -> Result<Delegation, AppError> {
    let day = today(s);
    if req.starts_on < day || req.ends_on < req.starts_on {
        return Err(AppError::unprocessable(
            "invalid_period",
            format!("starts_on from {day}, ends_on on or after starts_on"),
        ));
    }
    if req
        .starts_on
        .checked_add_days(Days::new(MAX_DELEGATION_DAYS))
        .is_some_and(|last| req.ends_on > last)
    {
        return Err(AppError::unprocessable(
            "invalid_period",
            format!("a delegation lasts at most {MAX_DELEGATION_DAYS} days"),
        ));
    }
    let substitute = s
        .store
        .agent_by_email(&req.substitute.trim().to_lowercase())?
        .filter(|a| a.active)
        .ok_or_else(|| {
            AppError::unprocessable(
                "unknown_agent",
                "substitute: no active agent has this e-mail",
            )
        })?;
    if substitute.id == actor.agent_id {
        return Err(AppError::unprocessable(
            "invalid_substitute",
            "substitute: someone else",
        ));
    }
    let theirs = s.store.grants(&substitute.id)?;
    let colleague = actor
        .grants
        .iter()
        .filter_map(|g| g.unit_id.as_deref())
        .any(|u| crate::access::works_in(&theirs, u));
    if !colleague {
        return Err(AppError::unprocessable(
            "invalid_substitute",
            "substitute: an agent of one of your units",
        ));
    }
    let overlaps = s
        .store
        .delegations_of(&actor.agent_id)?
        .into_iter()
        .filter(|d| d.agent_id == actor.agent_id && d.revoked_at.is_none())
        .any(|d| d.starts_on <= req.ends_on && req.starts_on <= d.ends_on);
    if overlaps {
        return Err(AppError::rejected(
            Rejection::Conflict,
            "overlapping_delegation",
            "another delegation of yours covers part of this period; revoke it first",
        ));
    }
    let d = Delegation {
        id: crate::ids::new_id()?,
        agent_id: actor.agent_id.clone(),
        substitute_id: substitute.id,
        starts_on: req.starts_on,
        ends_on: req.ends_on,
        created_at: s.clock.now(),
        revoked_at: None,
    };
    s.store.insert_delegation(&d)?;
    Ok(d)
}

/// Ends a delegation the actor gave.
pub fn revoke(s: &Services, actor: &Actor, id: &str) -> Result<(), AppError> {
    if crate::ids::is_id(id)
        && s.store
            .revoke_delegation(&actor.agent_id, id, s.clock.now())?
    {
        Ok(())
    } else {
        Err(AppError::not_found("delegation"))
    }
}

/// Who receives today what is handed to `agent`: the agent, or their substitute (followed
/// through the substitute's own delegation, a few steps at most, never round in a circle),
/// with the history note saying so.
pub(crate) fn receiver(s: &Services, agent: Agent) -> Result<(Agent, Option<Value>), AppError> {
    let day = today(s);
    let mut current = agent;
    let mut chain: Vec<Value> = Vec::new();
    let mut seen = vec![current.id.clone()];
    for _ in 0..MAX_HOPS {
        let Some(d) = s
            .store
            .delegations_of(&current.id)?
            .into_iter()
            .find(|d| d.agent_id == current.id && d.covers(day))
        else {
            break;
        };
        if seen.contains(&d.substitute_id) {
            break;
        }
        let Some(next) = s.store.agent(&d.substitute_id)?.filter(|a| a.active) else {
            break;
        };
        chain.push(json!({ "delegation_id": d.id, "from": current.id, "to": next.id }));
        seen.push(next.id.clone());
        current = next;
    }
    let note = (!chain.is_empty()).then_some(Value::Array(chain));
    Ok((current, note))
}

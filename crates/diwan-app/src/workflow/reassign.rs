//! The head of the unit in charge hands a correspondence down: to a sub-unit, or to one of
//! the agents of the unit (or of the sub-unit).

use chrono::NaiveDate;
use diwan_domain::{Move, Purpose};
use serde::Deserialize;
use serde_json::Map;

use crate::Services;
use crate::access::{Actor, is_below, may_handle};
use crate::error::AppError;
use crate::model::{Correspondence, Ending};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    /// The code of a unit below the unit in charge; default: the unit in charge itself.
    #[serde(default)]
    pub unit: Option<String>,
    /// The e-mail of an agent of that unit.
    #[serde(default)]
    pub agent: Option<String>,
    /// Default: the current instructions.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Default: the current due date.
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
    #[serde(default)]
    pub comment: Option<String>,
}

pub fn reassign(
    s: &Services,
    actor: &Actor,
    id: &str,
    req: &ReassignRequest,
) -> Result<Correspondence, AppError> {
    let m = super::begin(s, actor, id, Move::Reassign)?;
    let lead = m.lead()?.clone();
    if !may_handle(actor, &m.org.tree, &lead)?.heads {
        return Err(AppError::forbidden());
    }
    let unit = match req.unit.as_deref() {
        Some(code) => {
            let unit = m.unit_in_administration("unit", code)?;
            if unit.id != lead.unit_id && !is_below(&m.org.tree, &unit.id, &lead.unit_id) {
                return Err(AppError::unprocessable(
                    "not_below",
                    "unit: re-assignment goes down, to a unit below the unit in charge (forward it otherwise)",
                ));
            }
            unit
        }
        None => {
            m.org.unit(&lead.unit_id).cloned().ok_or_else(|| {
                AppError::internal("the unit in charge is not in the organisation")
            })?
        }
    };
    let agent = req
        .agent
        .as_deref()
        .map(|e| super::agent_of_unit(s, e, &unit))
        .transpose()?;
    let mut detail = Map::new();
    let agent = super::hand_to(s, agent, &mut detail)?;
    if unit.id == lead.unit_id && agent.is_none() {
        return Err(AppError::unprocessable(
            "invalid_input",
            "unit or agent: name a unit below the unit in charge, or one of its agents",
        ));
    }
    if unit.id == lead.unit_id && agent.as_ref().map(|a| &a.id) == lead.agent_id.as_ref() {
        return Err(AppError::unprocessable(
            "same_assignee",
            "agent: the correspondence is already in this agent's hands",
        ));
    }
    let due = super::due_date(s, &m.c, req.due_date, Some(lead.due_date))?;
    let instructions =
        super::instructions(req.instructions.as_deref())?.or_else(|| lead.instructions.clone());
    super::note(&mut detail, "comment", req.comment.as_deref(), false)?;
    let made = super::new_assignment(&unit, agent.as_ref(), Purpose::Action, instructions, due)?;
    let record = m.record(s, actor, detail, Ending::Lead, vec![made]);
    super::commit(s, actor, record)
}

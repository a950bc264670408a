//! The registry assigns a correspondence: one unit for action (optionally one of its agents),
//! others for information or opinion.

use chrono::NaiveDate;
use diwan_domain::{Move, Purpose};
use serde::Deserialize;
use serde_json::Map;

use crate::Services;
use crate::access::{Actor, may_assign};
use crate::error::AppError;
use crate::model::{Correspondence, Ending};

/// Most units assigned for information or opinion at once.
pub const MAX_ALSO: usize = 20;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The code of the unit in charge.
    pub unit: String,
    /// The e-mail of one of its agents, to hand it to that person directly.
    #[serde(default)]
    pub agent: Option<String>,
    /// Units kept informed or asked for an opinion.
    #[serde(default)]
    pub also: Vec<AlsoAssign>,
    #[serde(default)]
    pub instructions: Option<String>,
    /// Default: the legal deadline of the letter's category.
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlsoAssign {
    pub unit: String,
    /// `information` or `opinion`.
    pub purpose: Purpose,
}

pub fn assign(
    s: &Services,
    actor: &Actor,
    id: &str,
    req: &AssignRequest,
) -> Result<Correspondence, AppError> {
    let m = super::begin(s, actor, id, Move::Assign)?;
    let _permit = may_assign(actor, &m.org.tree, &m.registry)?;
    let lead_unit = m.unit_in_administration("unit", &req.unit)?;
    let agent = req
        .agent
        .as_deref()
        .map(|e| super::agent_of_unit(s, e, &lead_unit))
        .transpose()?;
    let mut detail = Map::new();
    let agent = super::hand_to(s, agent, &mut detail)?;
    if req.also.len() > MAX_ALSO {
        return Err(AppError::unprocessable(
            "invalid_input",
            format!("also: at most {MAX_ALSO} units"),
        ));
    }
    let due = super::due_date(s, &m.c, req.due_date, None)?;
    let instructions = super::instructions(req.instructions.as_deref())?;
    super::note(&mut detail, "comment", req.comment.as_deref(), false)?;
    let mut made = vec![super::new_assignment(
        &lead_unit,
        agent.as_ref(),
        Purpose::Action,
        instructions.clone(),
        due,
    )?];
    for (k, other) in req.also.iter().enumerate() {
        let field = format!("also[{k}].unit");
        if other.purpose == Purpose::Action {
            return Err(AppError::unprocessable(
                "invalid_input",
                format!("also[{k}].purpose: information or opinion (one unit only is in charge)"),
            ));
        }
        let unit = m.unit_in_administration(&field, &other.unit)?;
        if made.iter().any(|a| a.unit_id == unit.id) {
            return Err(AppError::unprocessable(
                "duplicate_unit",
                format!("{field}: this unit is already assigned"),
            ));
        }
        made.push(super::new_assignment(
            &unit,
            None,
            other.purpose,
            instructions.clone(),
            due,
        )?);
    }
    let record = m.record(s, actor, detail, Ending::All, made);
    super::commit(s, actor, record)
}

//! The unit in charge forwards a correspondence to another unit of the same administration
//! (down or up the tree, or across it).

use chrono::NaiveDate;
use diwan_domain::{Move, Purpose};
use serde::Deserialize;
use serde_json::Map;

use crate::Services;
use crate::access::{Actor, may_handle};
use crate::error::AppError;
use crate::model::{Correspondence, Ending};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    /// The code of the unit it goes to.
    pub unit: String,
    /// Default: the current instructions.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Default: the current due date.
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
    #[serde(default)]
    pub comment: Option<String>,
}

pub fn forward(
    s: &Services,
    actor: &Actor,
    id: &str,
    req: &ForwardRequest,
) -> Result<Correspondence, AppError> {
    let m = super::begin(s, actor, id, Move::Forward)?;
    let lead = m.lead()?.clone();
    may_handle(actor, &m.org.tree, &lead)?;
    let unit = m.unit_in_administration("unit", &req.unit)?;
    if unit.id == lead.unit_id {
        return Err(AppError::unprocessable(
            "same_unit",
            "unit: this unit is already in charge",
        ));
    }
    let due = super::due_date(s, &m.c, req.due_date, Some(lead.due_date))?;
    let instructions =
        super::instructions(req.instructions.as_deref())?.or_else(|| lead.instructions.clone());
    let mut detail = Map::new();
    super::note(&mut detail, "comment", req.comment.as_deref(), false)?;
    let made = super::new_assignment(&unit, None, Purpose::Action, instructions, due)?;
    let record = m.record(s, actor, detail, Ending::Lead, vec![made]);
    super::commit(s, actor, record)
}

//! The unit in charge gives a correspondence back to the registry: returned (not theirs to
//! handle, or to be assigned differently) or declined (refused, with a reason).

use diwan_domain::Move;
use serde::Deserialize;
use serde_json::Map;

use crate::Services;
use crate::access::{Actor, may_handle};
use crate::error::AppError;
use crate::model::{Correspondence, Ending};

use super::NoteRequest;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclineRequest {
    pub reason: String,
}

pub fn return_to_registry(
    s: &Services,
    actor: &Actor,
    id: &str,
    req: &NoteRequest,
) -> Result<Correspondence, AppError> {
    give_back(
        s,
        actor,
        id,
        Move::Return,
        "comment",
        req.comment.as_deref(),
        false,
    )
}

pub fn decline(
    s: &Services,
    actor: &Actor,
    id: &str,
    req: &DeclineRequest,
) -> Result<Correspondence, AppError> {
    give_back(
        s,
        actor,
        id,
        Move::Decline,
        "reason",
        Some(&req.reason),
        true,
    )
}

fn give_back(
    s: &Services,
    actor: &Actor,
    id: &str,
    step: Move,
    field: &str,
    text: Option<&str>,
    required: bool,
) -> Result<Correspondence, AppError> {
    let m = super::begin(s, actor, id, step)?;
    let lead = m.lead()?;
    may_handle(actor, &m.org.tree, lead)?;
    let mut detail = Map::new();
    detail.insert("unit_id".into(), lead.unit_id.clone().into());
    super::note(&mut detail, field, text, required)?;
    let record = m.record(s, actor, detail, Ending::All, Vec::new());
    super::commit(s, actor, record)
}

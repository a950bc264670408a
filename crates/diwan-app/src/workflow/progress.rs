//! The unit in charge takes a correspondence up, and closes it once handled.

use diwan_domain::Move;
use serde::Deserialize;
use serde_json::Map;

use crate::Services;
use crate::access::{Actor, may_handle};
use crate::error::AppError;
use crate::model::{Correspondence, Ending};

/// A move that only carries an optional comment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    #[serde(default)]
    pub comment: Option<String>,
}

pub fn start(
    s: &Services,
    actor: &Actor,
    id: &str,
    req: &NoteRequest,
) -> Result<Correspondence, AppError> {
    by_the_unit_in_charge(s, actor, id, Move::Start, Ending::None, req)
}

pub fn close(
    s: &Services,
    actor: &Actor,
    id: &str,
    req: &NoteRequest,
) -> Result<Correspondence, AppError> {
    by_the_unit_in_charge(s, actor, id, Move::Close, Ending::All, req)
}

fn by_the_unit_in_charge(
    s: &Services,
    actor: &Actor,
    id: &str,
    step: Move,
    ending: Ending,
    req: &NoteRequest,
) -> Result<Correspondence, AppError> {
    let m = super::begin(s, actor, id, step)?;
    let lead = m.lead()?;
    may_handle(actor, &m.org.tree, lead)?;
    let mut detail = Map::new();
    super::note(&mut detail, "comment", req.comment.as_deref(), false)?;
    let record = m.record(s, actor, detail, ending, Vec::new());
    super::commit(s, actor, record)
}

//! Registering, reading, listing and annulling correspondences.

mod annul;
mod files;
mod get;
mod list;
mod register;

pub use annul::annul;
pub use files::{FileDownload, download};
pub use get::get;
pub use list::{ListQuery, RegisterPage, list};
pub use register::{RegistrationOutcome, Upload, register};

use crate::Services;
use crate::access::{Actor, may_read};
use crate::error::AppError;
use crate::model::{Correspondence, Registry};

/// Loads a correspondence the actor may read. Anything else, including one that exists but is
/// not theirs to see, is "not found": its existence is not revealed.
fn load_visible(
    s: &Services,
    actor: &Actor,
    id: &str,
) -> Result<(Correspondence, Registry), AppError> {
    if !crate::ids::is_id(id) {
        return Err(AppError::not_found("correspondence"));
    }
    let c = s
        .store
        .correspondence(id)?
        .ok_or_else(|| AppError::not_found("correspondence"))?;
    let registry = s
        .store
        .registries()?
        .into_iter()
        .find(|r| r.id == c.registry_id)
        .ok_or_else(|| AppError::Internal(format!("correspondence {id} has no registry")))?;
    let org = crate::org::org_tree(s)?;
    if may_read(actor, &org, &registry, &c) {
        Ok((c, registry))
    } else {
        Err(AppError::not_found("correspondence"))
    }
}

//! Registering, reading, listing and annulling correspondences.

mod annul;
mod files;
mod get;
mod inbox;
mod list;
mod register;
mod snippet;

pub use annul::annul;
pub(crate) use files::read as read_file;
pub use files::{FileDownload, download};
pub use get::get;
pub use inbox::{INBOX_LIMIT, InboxLine, inbox};
pub use list::{ListQuery, RegisterItem, RegisterPage, list};
pub use register::{ACCEPTED_MEDIA_TYPES, RegistrationOutcome, Upload, accepted, register};
pub(crate) use register::{Registrant, check, check_media_types, register_by};
pub use snippet::{DOCUMENT_SNIPPET_CHARS, Snippet};

use crate::Services;
use crate::access::{Actor, may_read};
use crate::error::AppError;
use crate::model::{Correspondence, Registry};

/// Loads a correspondence the actor may read. Anything else, including one that exists but is
/// not theirs to see, is "not found": its existence is not revealed.
pub(crate) fn load_visible(
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
    let mut org = crate::org::snapshot(s)?;
    if org.registry(&c.registry_id).is_none() {
        org = crate::org::fresh_snapshot(s)?;
    }
    let registry = org
        .registry(&c.registry_id)
        .cloned()
        .ok_or_else(|| AppError::Internal(format!("correspondence {id} has no registry")))?;
    if may_read(actor, &org.tree, &registry, &c) {
        Ok((c, registry))
    } else {
        Err(AppError::not_found("correspondence"))
    }
}

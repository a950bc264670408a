//! Annulment: the number stays, marked annulled with the reason, the actor and the time.

use diwan_domain::text::{self, limits};

use crate::Services;
use crate::access::{Actor, may_register};
use crate::error::AppError;
use crate::model::{Annulment, Correspondence};

pub fn annul(
    s: &Services,
    actor: &Actor,
    id: &str,
    reason: &str,
) -> Result<Correspondence, AppError> {
    text::multiline("reason", reason, limits::REASON)?;
    let (_, registry) = super::load_visible(s, actor, id)?;
    let _permit = may_register(actor, registry)?;
    let annulment = Annulment {
        at: s.clock.now(),
        by: actor.agent_id.clone(),
        reason: reason.to_owned(),
    };
    let notary = crate::receipts::notary(s)?;
    if s.store.annul(id, &annulment, notary)?.is_none() {
        return Err(AppError::rejected(
            crate::Rejection::Conflict,
            "already_annulled",
            "this correspondence is already annulled",
        ));
    }
    if let Some(rt) = s.runtime.get() {
        if let Some(q) = &rt.pdf_queue {
            q.push(id, crate::model::ReceiptKind::Annulment);
        }
        if let Some(w) = &rt.mail_wake {
            w.wake();
        }
    }
    super::get(s, actor, id)
}

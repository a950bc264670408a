//! Receipts: issued inside the registration's transaction as signed JSON (JWS), drawn as a
//! sealed bilingual PDF just after commit, verified by anyone.

pub mod content;
pub mod mail;
pub mod notary;
pub mod pdf;
pub mod verify;

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use diwan_domain::calendar::DeadlineRule;
use serde_json::Value;

use crate::Services;
use crate::access::Actor;
use crate::error::AppError;
use crate::model::{ReceiptKind, StoredReceipt};
use crate::pki::Pki;

pub use notary::ReceiptNotary;

/// The answering delays: one rule per mail category, and the rule for the others.
#[derive(Debug, Clone)]
pub struct Deadlines {
    pub default: DeadlineRule,
    pub categories: BTreeMap<String, DeadlineRule>,
}

impl Deadlines {
    pub fn rule(&self, category: Option<&str>) -> &DeadlineRule {
        category
            .and_then(|c| self.categories.get(c))
            .unwrap_or(&self.default)
    }
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            default: DeadlineRule {
                working_days: 60,
                silence: diwan_domain::calendar::Silence::Rejection,
                sentence_ar: "يعتبر عدم الرد داخل هذا الأجل رفضا ضمنيا.".into(),
                sentence_fr: "L'absence de réponse dans ce délai vaut décision implicite de rejet."
                    .into(),
            },
            categories: BTreeMap::new(),
        }
    }
}

/// Who asks for a receipt: an agent, or the depositor with the tracking code.
#[derive(Debug)]
pub enum ReceiptAccess<'a> {
    Agent(&'a Actor),
    TrackingCode(&'a str),
}

/// A receipt as served.
#[derive(Debug, Clone)]
pub struct ReceiptDocument {
    pub stored: StoredReceipt,
    pub payload: Value,
}

/// The PKI, once the server has opened it.
pub fn pki(s: &Services) -> Result<Arc<Pki>, AppError> {
    s.runtime
        .get()
        .map(|r| Arc::clone(&r.pki))
        .ok_or_else(|| AppError::unavailable("the PKI is not open yet"))
}

/// The notary for a use case's write.
pub fn notary(s: &Services) -> Result<Arc<ReceiptNotary>, AppError> {
    notary_with(s, crate::org::snapshot(s)?)
}

/// The same, with the organisation the use case already read.
pub fn notary_with(
    s: &Services,
    org: Arc<crate::cache::OrgSnapshot>,
) -> Result<Arc<ReceiptNotary>, AppError> {
    Ok(Arc::new(ReceiptNotary::new(s, pki(s)?, org)))
}

/// The payload of a compact JWS, without checking anything (the JWS comes from our store).
pub fn payload_of(jws: &str) -> Result<Value, AppError> {
    let part = jws
        .split('.')
        .nth(1)
        .ok_or_else(|| AppError::internal("a stored receipt is not a JWS"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AppError::internal("a stored receipt's payload is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| AppError::internal("a stored receipt is not JSON"))
}

fn not_found() -> AppError {
    AppError::not_found("no such receipt")
}

/// Checks the caller may see the receipts of `id`.
fn allow(s: &Services, access: &ReceiptAccess<'_>, id: &str) -> Result<(), AppError> {
    match access {
        ReceiptAccess::Agent(actor) => crate::correspondence::get(s, actor, id).map(|_| ()),
        ReceiptAccess::TrackingCode(code) => {
            let hash = crate::ids::secret_hash(code.trim());
            match s.store.correspondence_by_tracking_hash(&hash)? {
                Some(found) if found == id => Ok(()),
                _ => Err(not_found()),
            }
        }
    }
}

/// The signed JSON receipt (or annulment notice) of a correspondence.
pub fn get(
    s: &Services,
    access: &ReceiptAccess<'_>,
    id: &str,
    kind: ReceiptKind,
) -> Result<ReceiptDocument, AppError> {
    allow(s, access, id)?;
    let stored = s.store.receipt(id, kind)?.ok_or_else(not_found)?;
    let payload = payload_of(&stored.receipt.jws)?;
    Ok(ReceiptDocument { stored, payload })
}

/// Verifies a receipt or signed PDF against this installation's root, CRLs and register.
pub fn verify(s: &Services, input: &[u8]) -> Result<verify::Report, AppError> {
    let pki = pki(s)?;
    let crls = pki.cached_crls(s.store.as_ref(), s.clock.now())?;
    let anchors = pki.anchors();
    let revoked = pki.revoked_serials();
    let ctx = verify::Context {
        anchors: &anchors,
        crls: &crls,
        services: Some(s),
        cache: Some(&pki.chain_cache),
        revoked_serials: &revoked,
    };
    Ok(verify::verify(&ctx, input))
}

/// The sealed PDF of a receipt, made now if the worker has not made it yet.
pub fn get_pdf(
    s: &Services,
    access: &ReceiptAccess<'_>,
    id: &str,
    kind: ReceiptKind,
) -> Result<Vec<u8>, AppError> {
    allow(s, access, id)?;
    pdf::ensure_pdf(s, id, kind)
}

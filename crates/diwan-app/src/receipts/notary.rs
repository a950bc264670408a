//! The notary: inside the registration's transaction, it logs the entries, signs the new tree
//! head and issues each entry's signed JSON receipt.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound as _, Utc};
use diwan_domain::merkle::Frontier;
use serde_json::{Value, json};

use crate::Services;
use crate::cache::OrgSnapshot;
use crate::log::hex;
use crate::merkle::Sha256Tree;
use crate::model::{IssuedReceipt, ReceiptKind, Registry};
use crate::pki::Pki;
use crate::ports::{Notarize, Notarized, Notary, NotarySubject, StoreError};

use super::content;

/// The application's notary. Cheap to make: it holds shared handles.
pub struct ReceiptNotary {
    services: Services,
    pki: Arc<Pki>,
    org: Arc<OrgSnapshot>,
}

impl std::fmt::Debug for ReceiptNotary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptNotary").finish_non_exhaustive()
    }
}

impl ReceiptNotary {
    pub fn new(services: &Services, pki: Arc<Pki>, org: Arc<OrgSnapshot>) -> Self {
        Self {
            services: services.clone(),
            pki,
            org,
        }
    }
}

/// A receipt issued, and the e-mail it asks for (correspondence, kind, recipient).
type Issued = (
    IssuedReceipt,
    Option<(String, crate::model::MailKind, String)>,
);

fn failed(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("{what}: {e}"))
}

/// The signed tree head's payload.
pub fn tree_head_payload(size: u64, root: &[u8; 32], at: DateTime<Utc>) -> Value {
    json!({
        "typ": "diwan-sth/1",
        "tree_size": size,
        "root_hash": hex(root),
        "timestamp": content::time_text(&at),
    })
}

impl Notary for ReceiptNotary {
    fn notarize(&self, log: &Frontier, batch: &[Notarize<'_>]) -> Result<Notarized, StoreError> {
        let now = self.services.clock.now().trunc_subsecs(6);
        let leaf_hashes: Vec<[u8; 32]> = batch.iter().map(|n| n.entry.leaf_hash()).collect();
        let grown = log
            .append(&Sha256Tree, &leaf_hashes)
            .ok_or_else(|| StoreError::Other("the register log's edge is malformed".into()))?;
        let head_payload = tree_head_payload(grown.frontier.size, &grown.root, now);
        let head_jws = self
            .pki
            .log
            .signer
            .sign(&diwan_pki::canonical_json(&head_payload))
            .map_err(|e| failed("signing the tree head", e))?;
        let head = crate::log::SignedHead {
            tree_size: grown.frontier.size,
            root_hash: grown.root,
            issued_at: now,
            jws: head_jws.clone(),
        };
        let issue = |item: &Notarize<'_>,
                     leaf: &[u8; 32],
                     index: &u64,
                     path: &Vec<[u8; 32]>|
         -> Result<Option<Issued>, StoreError> {
            if !item.subject.issues_receipt() {
                return Ok(None);
            }
            let proof = json!({
                "leaf_index": index,
                "leaf_hash": hex(leaf),
                "tree_size": grown.frontier.size,
                "root_hash": hex(&grown.root),
                "inclusion_proof": path.iter().map(hex).collect::<Vec<_>>(),
                "tree_head": head_jws,
            });
            let (registry_id, kind, payload, email) = match &item.subject {
                NotarySubject::Registration { new, registered } => {
                    let payload = content::registration_payload(
                        &self.services.settings,
                        &self.org,
                        new,
                        registered,
                        now,
                        proof,
                    );
                    let email = new.request.sender.email.clone();
                    (
                        new.registry.id.as_str(),
                        ReceiptKind::Receipt,
                        payload,
                        email,
                    )
                }
                NotarySubject::Annulment {
                    correspondence,
                    annulment,
                } => {
                    let payload = content::annulment_payload(
                        &self.services.settings,
                        &self.org,
                        correspondence,
                        annulment,
                        now,
                        proof,
                    );
                    let email = correspondence.sender.email.clone();
                    (
                        correspondence.registry_id.as_str(),
                        ReceiptKind::Annulment,
                        payload,
                        email,
                    )
                }
                NotarySubject::Movement | NotarySubject::Parapheur => return Ok(None),
            };
            let seal = self.pki.seal(registry_id).ok_or_else(|| {
                StoreError::Unavailable(format!(
                    "registry {} has no seal yet",
                    self.org
                        .registry(registry_id)
                        .map(|r: &Registry| r.code.to_string())
                        .unwrap_or_default()
                ))
            })?;
            let jws = seal
                .signer
                .sign(&diwan_pki::canonical_json(&payload))
                .map_err(|e| failed("signing a receipt", e))?;
            let correspondence_id = item.entry.subject_id.clone();
            let mail = email
                .filter(|e| !e.trim().is_empty())
                .map(|e| (correspondence_id.clone(), kind.into(), e));
            Ok(Some((
                IssuedReceipt {
                    correspondence_id,
                    kind,
                    leaf_index: *index,
                    issued_at: now,
                    jws,
                },
                mail,
            )))
        };
        let work: Vec<_> = batch
            .iter()
            .zip(leaf_hashes.iter().zip(grown.proofs.iter()))
            .collect();
        // Receipts are built and signed on two threads when the batch is large enough to pay
        // for it: the transaction (and every registration waiting for it) is held meanwhile.
        let issued: Vec<Result<_, StoreError>> = if work.len() >= 8 {
            let (left, right) = work.split_at(work.len() / 2);
            std::thread::scope(|scope| {
                let other = scope.spawn(|| {
                    right
                        .iter()
                        .map(|(item, (leaf, (index, path)))| issue(item, leaf, index, path))
                        .collect::<Vec<_>>()
                });
                let mut mine: Vec<_> = left
                    .iter()
                    .map(|(item, (leaf, (index, path)))| issue(item, leaf, index, path))
                    .collect();
                match other.join() {
                    Ok(theirs) => mine.extend(theirs),
                    Err(_) => mine.push(Err(StoreError::Other("a signing thread failed".into()))),
                }
                mine
            })
        } else {
            work.iter()
                .map(|(item, (leaf, (index, path)))| issue(item, leaf, index, path))
                .collect()
        };
        let mut receipts = Vec::with_capacity(batch.len());
        let mut mails = Vec::new();
        for r in issued {
            if let Some((receipt, mail)) = r? {
                receipts.push(receipt);
                mails.extend(mail);
            }
        }
        Ok(Notarized {
            frontier: grown.frontier,
            head,
            leaf_hashes,
            receipts,
            mails,
        })
    }
}

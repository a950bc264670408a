//! `diwan audit verify`: recomputes the register log from the database and compares it with
//! what was logged and signed.

use diwan_domain::merkle::root;
use serde::Serialize;

use crate::Services;
use crate::error::AppError;
use crate::log::hex;
use crate::merkle::Sha256Tree;

/// One thing found wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `entry_changed`, `rows_deleted`, `not_logged`, `event_not_logged`, `head_mismatch`,
    /// `head_signature`, `leaf_hash`.
    pub code: &'static str,
    pub leaf_index: Option<u64>,
    pub correspondence_id: Option<String>,
    /// For the parapheur's entries: the document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub ok: bool,
    pub entries: u64,
    pub tree_size: u64,
    pub root_hash: String,
    pub findings: Vec<Finding>,
}

/// Most findings listed (the count of entries checked is always complete).
const MAX_FINDINGS: usize = 1000;

pub fn verify(s: &Services) -> Result<AuditReport, AppError> {
    let mut findings = Vec::new();
    let mut leaves: Vec<[u8; 32]> = Vec::new();
    let push = |f: Finding, findings: &mut Vec<Finding>| {
        if findings.len() < MAX_FINDINGS {
            findings.push(f);
        }
    };
    let leftovers = s.store.audit_scan(&mut |leaf, entry| {
        if leaf.index != leaves.len() as u64 {
            push(
                Finding {
                    code: "leaf_missing",
                    leaf_index: Some(leaves.len() as u64),
                    correspondence_id: None,
                    document_id: None,
                    detail: format!(
                        "the log jumps from entry {} to {}",
                        leaves.len(),
                        leaf.index
                    ),
                },
                &mut findings,
            );
        }
        match entry {
            None => push(
                Finding {
                    code: "rows_deleted",
                    leaf_index: Some(leaf.index),
                    correspondence_id: leaf
                        .kind
                        .about_correspondence()
                        .then(|| leaf.subject_id.clone()),
                    document_id: (!leaf.kind.about_correspondence())
                        .then(|| leaf.subject_id.clone()),
                    detail: format!("the rows of this {} entry are gone", leaf.kind.as_str()),
                },
                &mut findings,
            ),
            Some(entry) => {
                if entry.leaf_hash() != leaf.leaf_hash {
                    push(
                        Finding {
                            code: "entry_changed",
                            leaf_index: Some(leaf.index),
                            correspondence_id: leaf
                                .kind
                                .about_correspondence()
                                .then(|| leaf.subject_id.clone()),
                            document_id: (!leaf.kind.about_correspondence())
                                .then(|| leaf.subject_id.clone()),
                            detail: format!(
                                "the {} entry no longer matches the database",
                                leaf.kind.as_str()
                            ),
                        },
                        &mut findings,
                    );
                }
            }
        }
        leaves.push(leaf.leaf_hash);
        true
    })?;
    for id in leftovers.unlogged_correspondences {
        push(
            Finding {
                code: "not_logged",
                leaf_index: None,
                correspondence_id: Some(id),
                document_id: None,
                detail: "a correspondence has no registration entry in the log".into(),
            },
            &mut findings,
        );
    }
    for (id, event, kind) in leftovers.unlogged_events {
        push(
            Finding {
                code: "event_not_logged",
                leaf_index: None,
                correspondence_id: Some(id),
                document_id: None,
                detail: format!("history line {event} ({kind}) is not in the log"),
            },
            &mut findings,
        );
    }
    for (id, event, kind) in leftovers.unlogged_actions {
        push(
            Finding {
                code: "event_not_logged",
                leaf_index: None,
                correspondence_id: None,
                document_id: Some(id),
                detail: format!("parapheur history line {event} ({kind}) is not in the log"),
            },
            &mut findings,
        );
    }
    // The signed head must be the head of these leaves, and validly signed.
    let size = leaves.len() as u64;
    let computed = root(&Sha256Tree, &leaves);
    let head = s.store.latest_head()?;
    match &head {
        None if size > 0 => push(
            Finding {
                code: "head_missing",
                leaf_index: None,
                correspondence_id: None,
                document_id: None,
                detail: "the log has entries but no signed tree head".into(),
            },
            &mut findings,
        ),
        None => {}
        Some(h) => {
            if h.tree_size != size || h.root_hash != computed {
                push(
                    Finding {
                        code: "head_mismatch",
                        leaf_index: None,
                        correspondence_id: None,
                        document_id: None,
                        detail: format!(
                            "the latest signed head ({} entries, {}) is not the head of the log as stored ({size} entries, {})",
                            h.tree_size,
                            hex(&h.root_hash),
                            hex(&computed)
                        ),
                    },
                    &mut findings,
                );
            }
            if !head_signature_ok(s, &h.jws, h.tree_size, &h.root_hash) {
                push(
                    Finding {
                        code: "head_signature",
                        leaf_index: None,
                        correspondence_id: None,
                        document_id: None,
                        detail: "the latest tree head's signature does not verify".into(),
                    },
                    &mut findings,
                );
            }
        }
    }
    Ok(AuditReport {
        ok: findings.is_empty(),
        entries: size,
        tree_size: size,
        root_hash: hex(&computed),
        findings,
    })
}

fn head_signature_ok(s: &Services, jws: &str, size: u64, root_hash: &[u8; 32]) -> bool {
    let Ok(pki) = crate::receipts::pki(s) else {
        return false;
    };
    let Ok(v) = diwan_pki::jws::verify_signature(jws) else {
        return false;
    };
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&v.payload) else {
        return false;
    };
    let Some((leaf, others)) = v.chain.split_first() else {
        return false;
    };
    let at = payload["timestamp"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(chrono::Utc::now);
    payload["tree_size"].as_u64() == Some(size)
        && payload["root_hash"].as_str() == Some(hex(root_hash).as_str())
        && diwan_pki::validate_chain(leaf, others, std::slice::from_ref(&pki.root), at, &[]).is_ok()
}

//! The register log as the public sees it: signed tree heads, consistency and inclusion
//! proofs.

use diwan_domain::merkle::{consistency_proof, inclusion_proof};
use serde::Serialize;

use crate::Services;
use crate::error::AppError;
use crate::log::hex;
use crate::merkle::Sha256Tree;

/// Largest tree a proof is computed over on request (proofs are computed from the stored
/// leaf hashes).
pub const MAX_PROOF_TREE: u64 = 5_000_000;

#[derive(Debug, Clone, Serialize)]
pub struct TreeHead {
    pub tree_size: u64,
    pub root_hash: String,
    pub timestamp: String,
    /// The signed head (compact JWS, ES256 with `x5c`).
    pub jws: String,
}

pub fn latest(s: &Services) -> Result<TreeHead, AppError> {
    let h = s
        .store
        .latest_head()?
        .ok_or_else(|| AppError::not_found("tree head (the log is empty)"))?;
    Ok(TreeHead {
        tree_size: h.tree_size,
        root_hash: hex(&h.root_hash),
        timestamp: crate::receipts::content::time_text(&h.issued_at),
        jws: h.jws,
    })
}

fn check_size(s: &Services, size: u64) -> Result<(), AppError> {
    let latest = s.store.latest_head()?.map_or(0, |h| h.tree_size);
    if size == 0 || size > latest {
        return Err(AppError::unprocessable(
            "invalid_tree_size",
            format!("tree sizes go from 1 to {latest}"),
        ));
    }
    if size > MAX_PROOF_TREE {
        return Err(AppError::unprocessable(
            "tree_too_large",
            "proofs over trees this large are not served on request",
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct Consistency {
    pub first: u64,
    pub second: u64,
    pub proof: Vec<String>,
}

pub fn consistency(s: &Services, first: u64, second: u64) -> Result<Consistency, AppError> {
    check_size(s, second)?;
    if first == 0 || first > second {
        return Err(AppError::unprocessable(
            "invalid_tree_size",
            "first must be between 1 and second",
        ));
    }
    let leaves = s.store.leaf_hashes(0, second)?;
    let n = usize::try_from(first).map_err(|_| AppError::internal("size"))?;
    let proof = consistency_proof(&Sha256Tree, n, &leaves)
        .ok_or_else(|| AppError::internal("no consistency proof"))?;
    Ok(Consistency {
        first,
        second,
        proof: proof.iter().map(hex).collect(),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Inclusion {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub proof: Vec<String>,
}

pub fn inclusion(s: &Services, index: u64, tree_size: u64) -> Result<Inclusion, AppError> {
    check_size(s, tree_size)?;
    if index >= tree_size {
        return Err(AppError::unprocessable(
            "invalid_leaf_index",
            "the leaf index must be below the tree size",
        ));
    }
    let leaves = s.store.leaf_hashes(0, tree_size)?;
    let i = usize::try_from(index).map_err(|_| AppError::internal("index"))?;
    let proof = inclusion_proof(&Sha256Tree, i, &leaves)
        .ok_or_else(|| AppError::internal("no inclusion proof"))?;
    Ok(Inclusion {
        leaf_index: index,
        tree_size,
        leaf_hash: hex(&leaves[i]),
        proof: proof.iter().map(hex).collect(),
    })
}

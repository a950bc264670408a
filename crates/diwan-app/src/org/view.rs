//! Reading the organisation.

use std::sync::Arc;

use serde::Serialize;

use crate::cache::OrgSnapshot;

use crate::Services;
use crate::access::OrgTree;
use crate::error::AppError;
use crate::model::{Administration, Registry, Unit};

/// The whole organisation; it is public to every agent (they need it to address mail).
#[derive(Debug, Serialize)]
pub struct OrgOverview {
    pub administrations: Vec<Administration>,
    pub units: Vec<Unit>,
    pub registries: Vec<Registry>,
}

pub fn overview(s: &Services) -> Result<OrgOverview, AppError> {
    Ok(OrgOverview {
        administrations: s.store.administrations()?,
        units: s.store.units()?,
        registries: s.store.registries()?,
    })
}

/// The unit tree, for permission checks.
pub fn org_tree(s: &Services) -> Result<OrgTree, AppError> {
    Ok(OrgTree::new(&s.store.units()?))
}

/// The organisation, from the cache when fresh enough.
pub fn snapshot(s: &Services) -> Result<Arc<OrgSnapshot>, AppError> {
    match s.caches.org(s.clock.now()) {
        Some(snap) => Ok(snap),
        None => fresh_snapshot(s),
    }
}

/// The organisation read now (after a cache miss on something that may have just been added).
pub fn fresh_snapshot(s: &Services) -> Result<Arc<OrgSnapshot>, AppError> {
    let now = s.clock.now();
    let snap = Arc::new(OrgSnapshot::new(
        s.store.administrations()?,
        s.store.units()?,
        s.store.registries()?,
    ));
    s.caches.put_org(now, snap.clone());
    Ok(snap)
}

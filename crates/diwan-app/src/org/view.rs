//! Reading the organisation.

use serde::Serialize;

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

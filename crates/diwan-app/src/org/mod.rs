//! The organisation: administrations, their unit trees and the registries attached to units.

mod import;
mod view;

pub use import::{AdministrationSpec, OrgSpec, RegistrySpec, UnitSpec, import, import_unchecked};
pub use view::{OrgOverview, fresh_snapshot, org_tree, overview, snapshot};

/// The name a registry's seal gives as its organisation: its administration's.
fn seal_organisation(org: &crate::cache::OrgSnapshot, r: &crate::model::Registry) -> String {
    org.unit(&r.unit_id)
        .and_then(|u| org.administration(&u.administration_id))
        .map(|a| a.name_fr.clone())
        .unwrap_or_else(|| "Diwan".to_owned())
}

/// Gives every registry a seal certificate (created by the internal CA when missing).
pub fn ensure_seals(
    s: &crate::Services,
    pki: &crate::pki::Pki,
) -> Result<(), crate::error::AppError> {
    let org = fresh_snapshot(s)?;
    pki.ensure_seals(
        s.store.as_ref(),
        &org.registries,
        |r| seal_organisation(&org, r),
        s.clock.now(),
    )
}

/// Gives the registry `code` a new seal from the internal CA (`diwan pki renew-seal`).
pub fn renew_seal(
    s: &crate::Services,
    pki: &crate::pki::Pki,
    code: &str,
) -> Result<diwan_pki::Certificate, crate::error::AppError> {
    let org = fresh_snapshot(s)?;
    let registry = org
        .registries
        .iter()
        .find(|r| r.code.as_str() == code)
        .ok_or_else(|| crate::error::AppError::not_found("registry"))?;
    pki.renew_seal(
        s.store.as_ref(),
        registry,
        seal_organisation(&org, registry),
        s.clock.now(),
    )
}

//! The organisation: administrations, their unit trees and the registries attached to units.

mod import;
mod view;

pub use import::{AdministrationSpec, OrgSpec, RegistrySpec, UnitSpec, import, import_unchecked};
pub use view::{OrgOverview, fresh_snapshot, org_tree, overview, snapshot};

/// Gives every registry a seal certificate (created by the internal CA when missing).
pub fn ensure_seals(
    s: &crate::Services,
    pki: &crate::pki::Pki,
) -> Result<(), crate::error::AppError> {
    let org = fresh_snapshot(s)?;
    pki.ensure_seals(
        s.store.as_ref(),
        &org.registries,
        |r| {
            org.unit(&r.unit_id)
                .and_then(|u| org.administration(&u.administration_id))
                .map(|a| a.name_fr.clone())
                .unwrap_or_else(|| "Diwan".to_owned())
        },
        s.clock.now(),
    )
}

//! The organisation: administrations, their unit trees and the registries attached to units.

mod import;
mod view;

pub use import::{AdministrationSpec, OrgSpec, RegistrySpec, UnitSpec, import, import_unchecked};
pub use view::{OrgOverview, fresh_snapshot, org_tree, overview, snapshot};

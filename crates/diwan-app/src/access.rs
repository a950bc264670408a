//! Who may do what. Deny by default: every function here answers "no" unless a grant says yes.
//!
//! Writes take a permit from this module. Permits have private fields, so the only way to get
//! one is through the check that produces it.

use std::collections::HashMap;

use diwan_domain::Role;

use crate::error::AppError;
use crate::model::{Assignment, Correspondence, Grant, Registry, Unit};

/// An authenticated agent and their grants, as loaded for one request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub agent_id: String,
    pub email: String,
    pub token_id: String,
    pub grants: Vec<Grant>,
}

impl Actor {
    fn has(&self, role: Role, unit_id: &str) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == role && g.unit_id.as_deref() == Some(unit_id))
    }

    fn has_global(&self, role: Role) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == role && g.unit_id.is_none())
    }

    /// Holds `role` on `unit_id` or on one of its ancestors (or installation-wide).
    fn has_over(&self, org: &OrgTree, role: Role, unit_id: &str) -> bool {
        self.has_global(role) || org.lineage(unit_id).any(|u| self.has(role, u))
    }

    /// The units on which the actor holds any role.
    pub fn unit_ids(&self) -> impl Iterator<Item = &str> {
        self.units()
    }

    fn units(&self) -> impl Iterator<Item = &str> {
        self.grants.iter().filter_map(|g| g.unit_id.as_deref())
    }
}

/// The unit tree, for ancestor look-ups.
#[derive(Debug, Default)]
pub struct OrgTree {
    parents: HashMap<String, Option<String>>,
    administration_of: HashMap<String, String>,
}

impl OrgTree {
    pub fn new(units: &[Unit]) -> Self {
        Self {
            parents: units
                .iter()
                .map(|u| (u.id.clone(), u.parent_id.clone()))
                .collect(),
            administration_of: units
                .iter()
                .map(|u| (u.id.clone(), u.administration_id.clone()))
                .collect(),
        }
    }

    /// `unit_id` then its ancestors up to the root. Stops on a cycle.
    pub fn lineage<'a>(&'a self, unit_id: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let mut next = self.parents.contains_key(unit_id).then_some(unit_id);
        let mut steps = 0usize;
        std::iter::from_fn(move || {
            let current = next?;
            steps += 1;
            next = if steps > self.parents.len() {
                None
            } else {
                self.parents.get(current).and_then(|p| p.as_deref())
            };
            Some(current)
        })
    }

    pub fn administration_of(&self, unit_id: &str) -> Option<&str> {
        self.administration_of.get(unit_id).map(String::as_str)
    }
}

/// Permission to register into (and annul in) one registry.
#[derive(Debug)]
pub struct RegisterPermit {
    registry: Registry,
}

impl RegisterPermit {
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// A registrar registers only into the registries of the units they are registrar of.
pub fn may_register(actor: &Actor, registry: Registry) -> Result<RegisterPermit, AppError> {
    if actor.has(Role::Registrar, &registry.unit_id) {
        Ok(RegisterPermit { registry })
    } else {
        Err(AppError::forbidden())
    }
}

/// The citizen portal registers only incoming letters deposited through it, into any registry
/// (the depositor chose the service; their e-mail was confirmed before this is asked).
pub(crate) fn portal_permit(
    registry: Registry,
    request: &diwan_domain::RegistrationRequest,
) -> Result<RegisterPermit, AppError> {
    if request.channel == diwan_domain::Channel::Portal
        && request.direction == diwan_domain::Direction::Incoming
    {
        Ok(RegisterPermit { registry })
    } else {
        Err(AppError::forbidden())
    }
}

/// A letter received by exchange is registered as incoming, channel exchange, into the
/// registry of the unit it is addressed to (its envelope was checked before this is asked).
pub(crate) fn exchange_permit(
    registry: Registry,
    request: &diwan_domain::RegistrationRequest,
) -> Result<RegisterPermit, AppError> {
    if request.channel == diwan_domain::Channel::Exchange
        && request.direction == diwan_domain::Direction::Incoming
    {
        Ok(RegisterPermit { registry })
    } else {
        Err(AppError::forbidden())
    }
}

/// The parapheur registers only outgoing letters, into the registry its document names (the
/// submitter's administration's, checked at submission).
pub(crate) fn parapheur_permit(
    registry: Registry,
    request: &diwan_domain::RegistrationRequest,
) -> Result<RegisterPermit, AppError> {
    if request.direction == diwan_domain::Direction::Outgoing {
        Ok(RegisterPermit { registry })
    } else {
        Err(AppError::forbidden())
    }
}

/// Permission to manage the organisation and agents: installation-wide, or of one administration.
#[derive(Debug)]
pub struct AdminPermit {
    administration_id: Option<String>,
}

impl AdminPermit {
    /// Whether the permit covers `administration_id`.
    pub fn covers(&self, administration_id: &str) -> bool {
        self.administration_id
            .as_deref()
            .is_none_or(|a| a == administration_id)
    }
}

/// An installation administrator (admin without a unit) manages everything.
pub fn may_administer_installation(actor: &Actor) -> Result<AdminPermit, AppError> {
    if actor.has_global(Role::Admin) {
        Ok(AdminPermit {
            administration_id: None,
        })
    } else {
        Err(AppError::forbidden())
    }
}

/// An admin of any unit of an administration manages that administration.
pub fn may_administer(
    actor: &Actor,
    org: &OrgTree,
    administration_id: &str,
) -> Result<AdminPermit, AppError> {
    if actor.has_global(Role::Admin) {
        return may_administer_installation(actor);
    }
    let admin_here = actor.grants.iter().any(|g| {
        g.role == Role::Admin
            && g.unit_id.as_deref().and_then(|u| org.administration_of(u))
                == Some(administration_id)
    });
    if admin_here {
        Ok(AdminPermit {
            administration_id: Some(administration_id.to_owned()),
        })
    } else {
        Err(AppError::forbidden())
    }
}

/// Whether the actor may read one correspondence.
///
/// - the registrars of its registry see it, whatever its confidentiality;
/// - an agent with any role on a unit it concerns sees it;
/// - for normal mail only: heads and auditors of an ancestor of a concerned unit (or of the
///   registry's unit), and installation-wide auditors.
pub fn may_read(actor: &Actor, org: &OrgTree, registry: &Registry, c: &Correspondence) -> bool {
    if actor.has(Role::Registrar, &registry.unit_id) {
        return true;
    }
    if c.assignments
        .iter()
        .any(|a| a.agent_id.as_deref() == Some(actor.agent_id.as_str()))
    {
        return true;
    }
    let concerned = || {
        c.concerned_units
            .iter()
            .map(|cu| cu.unit_id.as_str())
            .chain(c.assignments.iter().map(|a| a.unit_id.as_str()))
    };
    if concerned().any(|u| actor.units().any(|mine| mine == u)) {
        return true;
    }
    if c.confidentiality.is_restricted() {
        return false;
    }
    concerned().any(|u| actor.has_over(org, Role::Head, u) || actor.has_over(org, Role::Auditor, u))
}

/// Permission to assign a correspondence of one registry.
#[derive(Debug)]
pub struct AssignPermit(());

/// The registrars of the registry, and the heads of its unit or above, assign its mail.
pub fn may_assign(
    actor: &Actor,
    org: &OrgTree,
    registry: &Registry,
) -> Result<AssignPermit, AppError> {
    if actor.has(Role::Registrar, &registry.unit_id)
        || actor.has_over(org, Role::Head, &registry.unit_id)
    {
        Ok(AssignPermit(()))
    } else {
        Err(AppError::forbidden())
    }
}

/// Permission to act on a correspondence as the unit in charge.
#[derive(Debug)]
pub struct HandlePermit {
    /// The actor heads the unit in charge (or a unit above it).
    pub heads: bool,
}

/// The unit in charge acts on its assignment: the agent it was handed to, the unit's handlers
/// and heads, and the heads of the units above it.
pub fn may_handle(
    actor: &Actor,
    org: &OrgTree,
    lead: &Assignment,
) -> Result<HandlePermit, AppError> {
    let heads = actor.has_over(org, Role::Head, &lead.unit_id);
    if heads
        || actor.has(Role::Handler, &lead.unit_id)
        || lead.agent_id.as_deref() == Some(actor.agent_id.as_str())
    {
        Ok(HandlePermit { heads })
    } else {
        Err(AppError::forbidden())
    }
}

/// Whether the actor heads `unit_id` or a unit above it.
pub fn heads(actor: &Actor, org: &OrgTree, unit_id: &str) -> bool {
    actor.has_over(org, Role::Head, unit_id)
}

/// Whether `unit_id` lies strictly below `above` in the tree.
pub fn is_below(org: &OrgTree, unit_id: &str, above: &str) -> bool {
    unit_id != above && org.lineage(unit_id).any(|u| u == above)
}

/// Whether the agent with these grants works in `unit_id` (any role but auditor).
pub fn works_in(grants: &[Grant], unit_id: &str) -> bool {
    grants
        .iter()
        .any(|g| g.unit_id.as_deref() == Some(unit_id) && g.role != Role::Auditor)
}

/// How much of a register the actor may list.
#[derive(Debug)]
pub enum RegisterView {
    /// Every row (the registry's registrars).
    All,
    /// Normal rows, and restricted rows only where one of these units is concerned.
    NormalPlus(Vec<String>),
}

/// Registrars of the registry, and heads and auditors of its unit or above, may list it.
pub fn may_list(
    actor: &Actor,
    org: &OrgTree,
    registry: &Registry,
) -> Result<RegisterView, AppError> {
    if actor.has(Role::Registrar, &registry.unit_id) {
        return Ok(RegisterView::All);
    }
    let unit = registry.unit_id.as_str();
    if actor.has_over(org, Role::Head, unit) || actor.has_over(org, Role::Auditor, unit) {
        return Ok(RegisterView::NormalPlus(
            actor.units().map(str::to_owned).collect(),
        ));
    }
    Err(AppError::forbidden())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diwan_domain::{Code, NumberFormat, UnitLevel};

    fn unit(id: &str, parent: Option<&str>) -> Unit {
        Unit {
            id: id.into(),
            administration_id: "adm".into(),
            parent_id: parent.map(Into::into),
            code: Code::parse("c", &id.to_uppercase()).unwrap(),
            name_ar: "وحدة".into(),
            name_fr: "unité".into(),
            level: UnitLevel::Central,
            territory_code: None,
            contact: None,
            name_en: None,
        }
    }

    fn actor(grants: &[(Option<&str>, Role)]) -> Actor {
        Actor {
            agent_id: "a".into(),
            email: "a@b.c".into(),
            token_id: "t".into(),
            grants: grants
                .iter()
                .map(|(u, r)| Grant {
                    unit_id: u.map(Into::into),
                    role: *r,
                })
                .collect(),
        }
    }

    fn registry(unit: &str) -> Registry {
        Registry {
            id: "r".into(),
            unit_id: unit.into(),
            code: Code::parse("c", "R").unwrap(),
            name_ar: "مكتب".into(),
            name_fr: "bureau".into(),
            numbering_format: NumberFormat::default(),
        }
    }

    fn tree() -> OrgTree {
        OrgTree::new(&[
            unit("root", None),
            unit("reg", Some("root")),
            unit("prov", Some("reg")),
        ])
    }

    #[test]
    fn lineage_walks_up_and_survives_cycles() {
        let t = tree();
        assert_eq!(
            t.lineage("prov").collect::<Vec<_>>(),
            ["prov", "reg", "root"]
        );
        let cyclic = OrgTree::new(&[unit("x", Some("y")), unit("y", Some("x"))]);
        assert!(cyclic.lineage("x").count() <= 3);
        assert_eq!(t.lineage("nowhere").count(), 0);
    }

    #[test]
    fn registrars_register_only_into_their_registries() {
        assert!(may_register(&actor(&[(Some("prov"), Role::Registrar)]), registry("prov")).is_ok());
        assert!(may_register(&actor(&[(Some("reg"), Role::Registrar)]), registry("prov")).is_err());
        assert!(may_register(&actor(&[(Some("prov"), Role::Head)]), registry("prov")).is_err());
        assert!(may_register(&actor(&[(None, Role::Admin)]), registry("prov")).is_err());
    }

    #[test]
    fn listing_follows_the_tree() {
        let t = tree();
        let r = registry("prov");
        assert!(matches!(
            may_list(&actor(&[(Some("prov"), Role::Registrar)]), &t, &r),
            Ok(RegisterView::All)
        ));
        assert!(may_list(&actor(&[(Some("reg"), Role::Head)]), &t, &r).is_ok());
        assert!(may_list(&actor(&[(None, Role::Auditor)]), &t, &r).is_ok());
        assert!(may_list(&actor(&[(Some("prov"), Role::Handler)]), &t, &r).is_err());
        assert!(may_list(&actor(&[(Some("root"), Role::Signer)]), &t, &r).is_err());
    }

    #[test]
    fn unit_admins_manage_only_their_administration() {
        let t = tree();
        assert!(may_administer(&actor(&[(Some("reg"), Role::Admin)]), &t, "adm").is_ok());
        assert!(may_administer(&actor(&[(Some("reg"), Role::Admin)]), &t, "other").is_err());
        assert!(may_administer_installation(&actor(&[(Some("reg"), Role::Admin)])).is_err());
        assert!(may_administer(&actor(&[(None, Role::Admin)]), &t, "other").is_ok());
    }
}

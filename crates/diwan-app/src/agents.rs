//! Agent accounts and their grants.

use diwan_domain::Role;
use diwan_domain::text::{self, limits};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::access::{Actor, OrgTree, may_administer, may_administer_installation};
use crate::auth::hash_password;
use crate::error::AppError;
use crate::ids;
use crate::model::{Agent, Grant};

/// A grant as clients spell it: a unit code (none: installation-wide) and a role.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GrantSpec {
    #[serde(default)]
    pub unit: Option<String>,
    pub role: Role,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAgentSpec {
    pub email: String,
    pub display_name: String,
    pub password: SecretString,
    #[serde(default)]
    pub grants: Vec<GrantSpec>,
}

/// An agent as shown to administrators.
#[derive(Debug, Serialize)]
pub struct AgentView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub active: bool,
    pub grants: Vec<GrantSpec>,
}

/// Creates an agent from the command line (the machine's operator is trusted), or returns the
/// existing one unchanged when `existing_ok` and the e-mail is taken.
pub fn create_unchecked(
    s: &Services,
    spec: &NewAgentSpec,
    existing_ok: bool,
) -> Result<AgentView, AppError> {
    let email = spec.email.to_lowercase();
    if let Some(agent) = existing_ok
        .then(|| s.store.agent_by_email(&email))
        .transpose()?
        .flatten()
    {
        for g in &spec.grants {
            let unit = resolve_unit(s, g)?;
            s.store.grant(&agent.id, unit.as_deref(), g.role)?;
        }
        s.caches.clear_tokens();
        return view(s, agent);
    }
    text::email("email", &email)?;
    text::line("display_name", &spec.display_name, limits::NAME)?;
    let grants = spec
        .grants
        .iter()
        .map(|g| Ok((resolve_unit(s, g)?, g.role)))
        .collect::<Result<Vec<_>, AppError>>()?;
    let agent = Agent {
        id: ids::new_id()?,
        email,
        display_name: spec.display_name.clone(),
        password_hash: Some(hash_password(&spec.password)?),
        active: true,
        created_at: s.clock.now(),
    };
    s.store.insert_agent(&agent).map_err(|e| match e {
        crate::StoreError::Conflict(_) => AppError::rejected(
            crate::Rejection::Conflict,
            "email_taken",
            "an agent has this e-mail",
        ),
        other => other.into(),
    })?;
    for (unit, role) in grants {
        s.store.grant(&agent.id, unit.as_deref(), role)?;
    }
    view(s, agent)
}

/// Creates an agent through the admin API: the caller must administer every unit granted.
pub fn create(s: &Services, actor: &Actor, spec: &NewAgentSpec) -> Result<AgentView, AppError> {
    let org = crate::org::org_tree(s)?;
    for g in &spec.grants {
        check_may_grant(s, actor, &org, g)?;
    }
    if spec.grants.is_empty() {
        may_administer_any(actor)?;
    }
    create_unchecked(s, spec, false)
}

/// Adds or removes a grant through the admin API.
pub fn set_grant(
    s: &Services,
    actor: &Actor,
    agent_id: &str,
    g: &GrantSpec,
    present: bool,
) -> Result<AgentView, AppError> {
    let org = crate::org::org_tree(s)?;
    check_may_grant(s, actor, &org, g)?;
    let agent = s
        .store
        .agent(agent_id)?
        .ok_or_else(|| AppError::not_found("agent"))?;
    let unit = resolve_unit(s, g)?;
    if present {
        s.store.grant(&agent.id, unit.as_deref(), g.role)?;
    } else if !s.store.revoke_grant(&agent.id, unit.as_deref(), g.role)? {
        return Err(AppError::not_found("grant"));
    }
    s.caches.clear_tokens();
    view(s, agent)
}

/// Lists agents: installation administrators only. The portal's own agent (a system account
/// nobody logs in as) is not listed.
pub fn list(s: &Services, actor: &Actor) -> Result<Vec<AgentView>, AppError> {
    may_administer_installation(actor)?;
    s.store
        .agents()?
        .into_iter()
        .filter(|a| !is_system_agent(&a.id))
        .map(|a| view(s, a))
        .collect()
}

fn may_administer_any(actor: &Actor) -> Result<(), AppError> {
    if actor.grants.iter().any(|g| g.role == Role::Admin) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

fn check_may_grant(
    s: &Services,
    actor: &Actor,
    org: &OrgTree,
    g: &GrantSpec,
) -> Result<(), AppError> {
    match resolve_unit(s, g)? {
        None => may_administer_installation(actor).map(|_| ()),
        Some(unit_id) => {
            let administration = org
                .administration_of(&unit_id)
                .ok_or_else(|| AppError::not_found("unit"))?;
            may_administer(actor, org, administration).map(|_| ())
        }
    }
}

/// Finds the unit of a grant; only admin and auditor may be installation-wide.
fn resolve_unit(s: &Services, g: &GrantSpec) -> Result<Option<String>, AppError> {
    match &g.unit {
        None if matches!(g.role, Role::Admin | Role::Auditor) => Ok(None),
        None => Err(AppError::unprocessable(
            "unit_required",
            format!("the role {} is granted on a unit", g.role.as_str()),
        )),
        Some(code) => s
            .store
            .units()?
            .into_iter()
            .find(|u| u.code.as_str() == code)
            .map(|u| Some(u.id))
            .ok_or_else(|| {
                AppError::unprocessable("unknown_unit", format!("no unit has the code {code}"))
            }),
    }
}

fn view(s: &Services, agent: Agent) -> Result<AgentView, AppError> {
    let units = s.store.units()?;
    let code_of = |id: &str| {
        units
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.code.as_str().to_owned())
    };
    let grants = s
        .store
        .grants(&agent.id)?
        .into_iter()
        .map(|Grant { unit_id, role }| GrantSpec {
            unit: unit_id.as_deref().and_then(code_of),
            role,
        })
        .collect();
    Ok(AgentView {
        id: agent.id,
        email: agent.email,
        display_name: agent.display_name,
        active: agent.active,
        grants,
    })
}

/// The accounts Diwan registers with (the portal, exchange, the parapheur): nobody logs in as
/// them, and they are not listed.
pub fn is_system_agent(id: &str) -> bool {
    [
        crate::portal::PORTAL_AGENT_ID,
        crate::exchange::EXCHANGE_AGENT_ID,
        crate::parapheur::circuit::PARAPHEUR_AGENT_ID,
    ]
    .contains(&id)
}

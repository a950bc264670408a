//! Routing rules: managed per registry in the back office, applied to each incoming letter
//! the registry registers. The first active rule (in order) whose conditions all hold assigns
//! the letter to its unit, and the history line says which rule fired and why.

use diwan_domain::routing::{Conditions, Letter, MAX_KEYWORDS};
use diwan_domain::text::{self, limits};
use diwan_domain::{Move, Purpose, Status};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Services;
use crate::access::{Actor, OrgTree};
use crate::cache::OrgSnapshot;
use crate::error::AppError;
use crate::model::{Ending, MoveRecord, Registry, RoutingRule, Unit};

/// Most rules a registry keeps.
pub const MAX_RULES: usize = 200;

/// A rule as a client writes it. Units are named by code.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    pub name: String,
    /// Default: after the last rule.
    #[serde(default)]
    pub position: Option<i32>,
    #[serde(default)]
    pub category: Option<String>,
    /// The code of the unit the letter is addressed to.
    #[serde(default)]
    pub recipient_unit: Option<String>,
    /// A territory code, or a prefix of one (`MA-04`).
    #[serde(default)]
    pub sender_territory: Option<String>,
    /// At least one of these words or phrases in the subject.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The code of the unit assigned; absent: the unit whose territory is the sender's.
    #[serde(default)]
    pub target_unit: Option<String>,
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

/// Admins of the registry's administration (or of the installation) and heads of its unit or
/// above manage its rules; its registrars may read them too.
fn may_manage(actor: &Actor, org: &OrgTree, registry: &Registry) -> Result<(), AppError> {
    let admin = org
        .administration_of(&registry.unit_id)
        .is_some_and(|a| crate::access::may_administer(actor, org, a).is_ok());
    if admin || crate::access::heads(actor, org, &registry.unit_id) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

fn registry_of(
    s: &Services,
    code: &str,
) -> Result<(std::sync::Arc<OrgSnapshot>, Registry), AppError> {
    let org = crate::org::snapshot(s)?;
    let registry = org
        .registry_by_code(code.trim())
        .cloned()
        .ok_or_else(|| AppError::not_found("registry"))?;
    Ok((org, registry))
}

/// The rules of a registry, in the order they are tried.
pub fn rules(s: &Services, actor: &Actor, registry: &str) -> Result<Vec<RoutingRule>, AppError> {
    let (org, registry) = registry_of(s, registry)?;
    if may_manage(actor, &org.tree, &registry).is_err()
        && crate::access::may_register(actor, registry.clone()).is_err()
    {
        return Err(AppError::forbidden());
    }
    Ok(s.store.routing_rules(&registry.id)?)
}

/// Adds a rule.
pub fn create_rule(
    s: &Services,
    actor: &Actor,
    registry: &str,
    req: &RuleRequest,
) -> Result<RoutingRule, AppError> {
    let (org, registry) = registry_of(s, registry)?;
    may_manage(actor, &org.tree, &registry)?;
    let existing = s.store.routing_rules(&registry.id)?;
    if existing.len() >= MAX_RULES {
        return Err(AppError::unprocessable(
            "too_many_rules",
            format!("a registry keeps at most {MAX_RULES} rules"),
        ));
    }
    let position = req.position.unwrap_or_else(|| {
        existing
            .last()
            .map_or(10, |r| r.position.saturating_add(10))
    });
    let rule = build(
        s,
        actor,
        &org,
        &registry,
        crate::ids::new_id()?,
        position,
        req,
    )?;
    s.store.put_routing_rule(&rule)?;
    Ok(rule)
}

/// Replaces a rule (its position too, when given).
pub fn update_rule(
    s: &Services,
    actor: &Actor,
    registry: &str,
    id: &str,
    req: &RuleRequest,
) -> Result<RoutingRule, AppError> {
    let (org, registry) = registry_of(s, registry)?;
    may_manage(actor, &org.tree, &registry)?;
    let old = s
        .store
        .routing_rules(&registry.id)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AppError::not_found("rule"))?;
    let position = req.position.unwrap_or(old.position);
    let rule = build(s, actor, &org, &registry, old.id, position, req)?;
    s.store.put_routing_rule(&rule)?;
    s.caches.clear_rules();
    Ok(rule)
}

pub fn delete_rule(s: &Services, actor: &Actor, registry: &str, id: &str) -> Result<(), AppError> {
    let (org, registry) = registry_of(s, registry)?;
    may_manage(actor, &org.tree, &registry)?;
    if s.store.delete_routing_rule(&registry.id, id)? {
        s.caches.clear_rules();
        Ok(())
    } else {
        Err(AppError::not_found("rule"))
    }
}

fn build(
    s: &Services,
    actor: &Actor,
    org: &OrgSnapshot,
    registry: &Registry,
    id: String,
    position: i32,
    req: &RuleRequest,
) -> Result<RoutingRule, AppError> {
    let unit = |field: &str, code: &str| super::unit_in_administration(org, registry, field, code);
    let name = req.name.trim();
    text::line("name", name, limits::NAME)?;
    let category = trimmed(req.category.as_deref());
    text::optional_line("category", category.as_deref(), limits::CATEGORY)?;
    let territory = trimmed(req.sender_territory.as_deref()).map(|t| t.to_ascii_uppercase());
    if let Some(t) = &territory {
        text::line("sender_territory", t, limits::TERRITORY)?;
        if !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(AppError::unprocessable(
                "invalid_input",
                "sender_territory: letters, digits and dashes only",
            ));
        }
    }
    if req.keywords.len() > MAX_KEYWORDS {
        return Err(AppError::unprocessable(
            "invalid_input",
            format!("keywords: at most {MAX_KEYWORDS}"),
        ));
    }
    let mut keywords = Vec::new();
    for (k, word) in req.keywords.iter().enumerate() {
        let word = word.trim();
        text::line(&format!("keywords[{k}]"), word, limits::CATEGORY)?;
        if diwan_domain::search::normalise_for_search(word).is_empty() {
            return Err(AppError::unprocessable(
                "invalid_input",
                format!("keywords[{k}]: no letter or digit"),
            ));
        }
        keywords.push(word.to_owned());
    }
    let recipient_unit = req
        .recipient_unit
        .as_deref()
        .map(|c| unit("recipient_unit", c).map(|u| u.id))
        .transpose()?;
    let target_unit_id = req
        .target_unit
        .as_deref()
        .map(|c| unit("target_unit", c).map(|u| u.id))
        .transpose()?;
    Ok(RoutingRule {
        id,
        registry_id: registry.id.clone(),
        position,
        name: name.to_owned(),
        conditions: Conditions {
            category,
            recipient_unit,
            sender_territory: territory,
            keywords,
        },
        target_unit_id,
        active: req.active,
        created_at: s.clock.now(),
        created_by: actor.agent_id.clone(),
    })
}

fn trimmed(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The unit of the administration whose territory is the sender's, or the nearest above it
/// (`MA-04-XYZ` with no unit of its own goes to the unit of `MA-04`).
fn unit_of_territory<'o>(org: &'o OrgSnapshot, admin: &str, territory: &str) -> Option<&'o Unit> {
    let t = territory.trim().to_ascii_uppercase();
    org.units
        .iter()
        .filter(|u| u.administration_id == admin)
        .filter_map(|u| {
            let ut = u.territory_code.as_deref()?.to_ascii_uppercase();
            let within = t == ut || t.strip_prefix(&ut).is_some_and(|r| r.starts_with('-'));
            within.then_some((ut.len(), u))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, u)| u)
}

/// The active rules of a registry, in order (cached for a short while; cleared at once by
/// changes made through this process).
pub(crate) fn active_rules(
    s: &Services,
    registry_id: &str,
) -> Result<std::sync::Arc<Vec<RoutingRule>>, AppError> {
    let now = s.clock.now();
    if let Some(r) = s.caches.rules(registry_id, now) {
        return Ok(r);
    }
    let rules: Vec<RoutingRule> = s
        .store
        .routing_rules(registry_id)?
        .into_iter()
        .filter(|r| r.active)
        .collect();
    let rules = std::sync::Arc::new(rules);
    s.caches.put_rules(registry_id, now, rules.clone());
    Ok(rules)
}

/// What routing needs of a letter just registered (taken from its registration, so nothing is
/// read back).
#[derive(Debug, Clone)]
pub(crate) struct Routable {
    pub id: String,
    pub registry_id: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub category: Option<String>,
    pub recipient_unit: Option<diwan_domain::Code>,
    pub sender_territory: Option<String>,
    pub subject: String,
    /// Who registered it (the moves's actor).
    pub actor_id: String,
}

/// Applies `rules` (the registry's active rules) to a letter just registered. `true` when a
/// rule assigned it.
pub(crate) fn route(s: &Services, rules: &[RoutingRule], c: &Routable) -> Result<bool, AppError> {
    if rules.is_empty() {
        return Ok(false);
    }
    let org = crate::org::snapshot(s)?;
    let Some(admin) = org
        .registry(&c.registry_id)
        .and_then(|r| org.tree.administration_of(&r.unit_id))
        .map(str::to_owned)
    else {
        return Ok(false);
    };
    let recipient_unit = c
        .recipient_unit
        .as_ref()
        .and_then(|code| org.units.iter().find(|u| u.code == *code))
        .map(|u| u.id.as_str());
    let letter = Letter {
        category: c.category.as_deref(),
        recipient_unit,
        sender_territory: c.sender_territory.as_deref(),
        subject: &c.subject,
    };
    for rule in rules {
        let Some(why) = rule.conditions.check(&letter) else {
            continue;
        };
        let target = match &rule.target_unit_id {
            Some(u) => org.unit(u).filter(|u| u.administration_id == admin),
            None => c
                .sender_territory
                .as_deref()
                .and_then(|t| unit_of_territory(&org, &admin, t)),
        };
        let Some(target) = target else {
            continue;
        };
        let due = super::due_date_of(s, c.received_at, c.category.as_deref(), None, None)?;
        let mut detail = Map::new();
        detail.insert(
            "rule".into(),
            json!({ "id": rule.id, "name": rule.name, "why": why }),
        );
        let record = MoveRecord {
            correspondence_id: c.id.clone(),
            step: Move::Assign,
            from: Status::Registered,
            to: Status::Assigned,
            at: s.clock.now(),
            actor_id: c.actor_id.clone(),
            detail,
            ending: Ending::All,
            assignments: vec![super::new_assignment(
                target,
                None,
                Purpose::Action,
                None,
                due,
            )?],
            mails: Vec::new(),
        };
        return Ok(s.store.apply_move(&record, crate::receipts::notary(s)?)?);
    }
    Ok(false)
}

/// The rule a letter's assignment came from, as its history line tells it.
pub fn fired_rule(detail: &Value) -> Option<(&str, &Value)> {
    let rule = detail.get("rule")?;
    Some((rule.get("name")?.as_str()?, rule.get("why")?))
}

/// Role check used by pages: whether the actor may manage any rule of this registry.
pub fn may_manage_rules(s: &Services, actor: &Actor, registry: &Registry) -> bool {
    crate::org::snapshot(s).is_ok_and(|org| may_manage(actor, &org.tree, registry).is_ok())
}

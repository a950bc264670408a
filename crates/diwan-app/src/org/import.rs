//! Loading an organisation from a description (a TOML or JSON file, or the admin API).
//! Idempotent: everything is keyed by its code, and a second import updates in place.

use std::collections::HashMap;

use diwan_domain::text::{self, limits};
use diwan_domain::{Code, NumberFormat, UnitLevel};
use serde::Deserialize;

use crate::Services;
use crate::access::AdminPermit;
use crate::error::AppError;
use crate::ids;
use crate::model::{Administration, Registry, Unit};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSpec {
    #[serde(default)]
    pub administrations: Vec<AdministrationSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdministrationSpec {
    pub code: String,
    pub name_ar: String,
    pub name_fr: String,
    #[serde(default)]
    pub name_en: Option<String>,
    #[serde(default)]
    pub units: Vec<UnitSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSpec {
    pub code: String,
    /// The parent unit's code; none for the administration's root.
    #[serde(default)]
    pub parent: Option<String>,
    pub level: UnitLevel,
    #[serde(default)]
    pub territory_code: Option<String>,
    /// How the public reaches the unit (address, telephone, e-mail), printed on receipts.
    #[serde(default)]
    pub contact: Option<String>,
    pub name_ar: String,
    pub name_fr: String,
    #[serde(default)]
    pub name_en: Option<String>,
    #[serde(default)]
    pub registries: Vec<RegistrySpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySpec {
    pub code: String,
    pub name_ar: String,
    pub name_fr: String,
    #[serde(default)]
    pub numbering_format: Option<String>,
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportReport {
    pub administrations: usize,
    pub units: usize,
    pub registries: usize,
}

/// Imports through the admin API: installation administrators only.
pub fn import(
    s: &Services,
    _permit: &AdminPermit,
    spec: &OrgSpec,
) -> Result<ImportReport, AppError> {
    import_unchecked(s, spec)
}

/// Imports from the command line, where the operator of the machine is trusted.
pub fn import_unchecked(s: &Services, spec: &OrgSpec) -> Result<ImportReport, AppError> {
    validate(spec)?;
    let report = import_validated(s, spec);
    s.caches.clear_org();
    let report = report?;
    if let Some(rt) = s.runtime.get() {
        super::ensure_seals(s, &rt.pki)?;
    }
    Ok(report)
}

fn import_validated(s: &Services, spec: &OrgSpec) -> Result<ImportReport, AppError> {
    let existing_units: HashMap<String, Unit> = s
        .store
        .units()?
        .into_iter()
        .map(|u| (u.code.as_str().to_owned(), u))
        .collect();
    let mut report = ImportReport::default();
    let mut unit_ids: HashMap<String, String> = existing_units
        .iter()
        .map(|(code, u)| (code.clone(), u.id.clone()))
        .collect();
    for a in &spec.administrations {
        let admin = s.store.upsert_administration(&Administration {
            id: ids::new_id()?,
            code: Code::parse("administration.code", &a.code)?,
            name_ar: a.name_ar.clone(),
            name_fr: a.name_fr.clone(),
            name_en: a.name_en.clone(),
        })?;
        report.administrations += 1;
        for u in ordered(&a.units)? {
            let parent_id = match &u.parent {
                Some(p) => Some(unit_ids.get(p).cloned().ok_or_else(|| {
                    AppError::unprocessable("unknown_unit", format!("unknown parent unit {p}"))
                })?),
                None => None,
            };
            let unit = s.store.upsert_unit(&Unit {
                id: ids::new_id()?,
                administration_id: admin.id.clone(),
                parent_id,
                code: Code::parse("unit.code", &u.code)?,
                name_ar: u.name_ar.clone(),
                name_fr: u.name_fr.clone(),
                level: u.level,
                territory_code: u.territory_code.clone(),
                contact: u.contact.clone(),
                name_en: u.name_en.clone(),
            })?;
            unit_ids.insert(u.code.clone(), unit.id.clone());
            report.units += 1;
            for r in &u.registries {
                s.store.upsert_registry(&registry(&unit.id, r)?)?;
                report.registries += 1;
            }
        }
    }
    Ok(report)
}

fn registry(unit_id: &str, r: &RegistrySpec) -> Result<Registry, AppError> {
    Ok(Registry {
        id: ids::new_id()?,
        unit_id: unit_id.to_owned(),
        code: Code::parse("registry.code", &r.code)?,
        name_ar: r.name_ar.clone(),
        name_fr: r.name_fr.clone(),
        numbering_format: match &r.numbering_format {
            Some(f) => NumberFormat::parse(f)?,
            None => NumberFormat::default(),
        },
    })
}

fn validate(spec: &OrgSpec) -> Result<(), AppError> {
    for a in &spec.administrations {
        Code::parse("administration.code", &a.code)?;
        text::line("administration.name_ar", &a.name_ar, limits::NAME)?;
        text::line("administration.name_fr", &a.name_fr, limits::NAME)?;
        text::optional_line("administration.name_en", a.name_en.as_deref(), limits::NAME)?;
        for u in &a.units {
            Code::parse("unit.code", &u.code)?;
            text::line("unit.name_ar", &u.name_ar, limits::NAME)?;
            text::line("unit.name_fr", &u.name_fr, limits::NAME)?;
            text::optional_line("unit.name_en", u.name_en.as_deref(), limits::NAME)?;
            text::optional_line(
                "unit.territory_code",
                u.territory_code.as_deref(),
                limits::TERRITORY,
            )?;
            text::optional_line("unit.contact", u.contact.as_deref(), limits::NAME)?;
            for r in &u.registries {
                Code::parse("registry.code", &r.code)?;
                text::line("registry.name_ar", &r.name_ar, limits::NAME)?;
                text::line("registry.name_fr", &r.name_fr, limits::NAME)?;
                if let Some(f) = &r.numbering_format {
                    NumberFormat::parse(f)?;
                }
            }
        }
    }
    Ok(())
}

/// Orders units so that each comes after its parent when the parent is in the same list.
fn ordered(units: &[UnitSpec]) -> Result<Vec<&UnitSpec>, AppError> {
    let codes: std::collections::HashSet<&str> = units.iter().map(|u| u.code.as_str()).collect();
    let mut placed: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(units.len());
    while out.len() < units.len() {
        let before = out.len();
        for u in units {
            let ready = u
                .parent
                .as_deref()
                .is_none_or(|p| !codes.contains(p) || placed.contains(p));
            if !placed.contains(u.code.as_str()) && ready {
                placed.insert(&u.code);
                out.push(u);
            }
        }
        if out.len() == before {
            return Err(AppError::unprocessable(
                "invalid_input",
                "the unit tree has a cycle or a duplicate code",
            ));
        }
    }
    Ok(out)
}

//! The demo organisation and agents (`diwan serve --demo`). Idempotent.

use diwan_app::Services;
use diwan_app::agents::{GrantSpec, NewAgentSpec, create_unchecked};
use diwan_app::org::{OrgSpec, import_unchecked};
use diwan_domain::Role;

/// The demo organisation (the repository's `config/demo-org.toml`).
pub const DEMO_ORG: &str = include_str!("../../../config/demo-org.toml");

/// The password of every demo agent.
pub const DEMO_PASSWORD: &str = "demo-password";

/// Loads the demo organisation and creates the demo agents (again: nothing is duplicated).
pub fn load(s: &Services) -> anyhow::Result<()> {
    let spec: OrgSpec = toml::from_str(DEMO_ORG)?;
    import_unchecked(s, &spec)?;
    let registry_units: Vec<String> = spec
        .administrations
        .iter()
        .flat_map(|a| &a.units)
        .filter(|u| !u.registries.is_empty())
        .map(|u| u.code.clone())
        .collect();
    let on = |unit: &str, role| GrantSpec {
        unit: Some(unit.to_owned()),
        role,
    };
    let agents: Vec<(&str, &str, Vec<GrantSpec>)> = vec![
        (
            "admin@demo.diwan",
            "مدير النظام / Administrateur",
            vec![GrantSpec {
                unit: None,
                role: Role::Admin,
            }],
        ),
        (
            "registrar@demo.diwan",
            "كاتب الضبط / Agent du bureau d'ordre",
            registry_units
                .iter()
                .map(|u| on(u, Role::Registrar))
                .collect(),
        ),
        (
            "handler@demo.diwan",
            "المكلف بالمعالجة / Gestionnaire",
            vec![on("DP-KENITRA", Role::Handler)],
        ),
        (
            "head@demo.diwan",
            "رئيس المديرية / Directeur régional",
            vec![on("DR-RSK", Role::Head)],
        ),
        (
            "signer@demo.diwan",
            "الموقع / Signataire",
            vec![on("ADM-CENTRALE", Role::Signer)],
        ),
        (
            "auditor@demo.diwan",
            "المراقب / Auditeur",
            vec![GrantSpec {
                unit: None,
                role: Role::Auditor,
            }],
        ),
    ];
    for (email, name, grants) in agents {
        let spec = NewAgentSpec {
            email: email.to_owned(),
            display_name: name.to_owned(),
            password: DEMO_PASSWORD.into(),
            grants,
        };
        create_unchecked(s, &spec, true)?;
    }
    tracing::warn!(
        "demo mode: demo agents (admin@, registrar@, handler@, head@, signer@, auditor@demo.diwan) \
         have the password {DEMO_PASSWORD:?}; never use --demo in production"
    );
    Ok(())
}

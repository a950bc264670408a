//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes::{
    agents, auth, correspondences, health, indicators, open_data, org, parapheur, receipts,
    signatures, workflow,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Diwan", description = "Digital registry office: registration of incoming, outgoing and internal mail with gapless registers. Errors are RFC 9457 problem documents with a stable `code`."),
    paths(
        health::live, health::ready,
        auth::login, auth::logout, auth::me, auth::list_tokens, auth::create_token, auth::revoke_token,
        org::registries, org::overview, org::import,
        agents::list, agents::create, agents::grant, agents::revoke,
        correspondences::register, correspondences::list, correspondences::get, correspondences::annul, correspondences::file, correspondences::dossier, correspondences::exchange_inbound, correspondences::deliveries,
        receipts::get, receipts::pdf, receipts::verify, receipts::sth, receipts::consistency, receipts::inclusion,
        receipts::root_pem, receipts::crl,
        workflow::assign, workflow::reassign, workflow::forward, workflow::start, workflow::give_back,
        workflow::decline, workflow::close, workflow::inbox, workflow::reply, workflow::reply_file,
        workflow::rules, workflow::create_rule, workflow::update_rule, workflow::delete_rule,
        workflow::delegations, workflow::delegate, workflow::revoke_delegation,
        signatures::me, signatures::enrol, signatures::import, signatures::revoke, signatures::sign,
        signatures::remote_prepare, signatures::remote_complete, signatures::validate, signatures::tsa,
        parapheur::submit, parapheur::submitted, parapheur::get, parapheur::pdf, parapheur::act,
        indicators::get, parapheur::queue, parapheur::sign_batch, parapheur::templates, parapheur::put_template,
        open_data::get,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The document as JSON text.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

//! API tokens for systems, and revocation of any token.

use crate::Services;
use crate::access::Actor;
use crate::error::AppError;
use crate::model::{Token, TokenKind};

use super::login::{IssuedToken, issue};

/// Creates a long-lived token acting as the calling agent (for a system integrating with Diwan).
pub fn create_api_token(
    s: &Services,
    actor: &Actor,
    name: &str,
    days: u32,
) -> Result<IssuedToken, AppError> {
    diwan_domain::text::line("name", name, diwan_domain::text::limits::NAME)?;
    let ttl = chrono::Duration::days(i64::from(days));
    if days == 0 || ttl > s.settings.api_token_max_ttl {
        return Err(AppError::unprocessable(
            "invalid_input",
            format!(
                "expires_in_days must be between 1 and {}",
                s.settings.api_token_max_ttl.num_days()
            ),
        ));
    }
    let now = s.clock.now();
    issue(s, &actor.agent_id, TokenKind::Api, name, now, now + ttl)
}

pub fn list_tokens(s: &Services, actor: &Actor) -> Result<Vec<Token>, AppError> {
    Ok(s.store.tokens_of(&actor.agent_id)?)
}

/// Revokes one of the actor's own tokens (`token_id = None`: the one in use, i.e. log out).
pub fn revoke_token(s: &Services, actor: &Actor, token_id: Option<&str>) -> Result<(), AppError> {
    let id = token_id.unwrap_or(&actor.token_id);
    let revoked = s.store.revoke_token(&actor.agent_id, id, s.clock.now())?;
    s.caches.clear_tokens();
    if revoked {
        Ok(())
    } else {
        Err(AppError::not_found("token"))
    }
}

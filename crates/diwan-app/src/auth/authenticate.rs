//! Turns a bearer secret into an [`Actor`].

use crate::Services;
use crate::access::Actor;
use crate::error::AppError;
use crate::ids;

/// Longest bearer value looked at; anything longer is refused without touching the store.
const MAX_BEARER_LEN: usize = 128;

pub fn authenticate(s: &Services, bearer: &str) -> Result<Actor, AppError> {
    if bearer.len() > MAX_BEARER_LEN || !bearer.starts_with(super::TOKEN_PREFIX) {
        return Err(AppError::unauthenticated());
    }
    let token = s
        .store
        .token_by_hash(&ids::secret_hash(bearer))?
        .ok_or_else(AppError::unauthenticated)?;
    if token.revoked_at.is_some() || token.expires_at <= s.clock.now() {
        return Err(AppError::unauthenticated());
    }
    let agent = s
        .store
        .agent(&token.agent_id)?
        .filter(|a| a.active)
        .ok_or_else(AppError::unauthenticated)?;
    Ok(Actor {
        grants: s.store.grants(&agent.id)?,
        agent_id: agent.id,
        email: agent.email,
        token_id: token.id,
    })
}

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
    let hash = ids::secret_hash(bearer);
    let now = s.clock.now();
    if let Some(actor) = s.caches.actor(&hash, now) {
        return Ok(actor);
    }
    let token = s
        .store
        .token_by_hash(&hash)?
        .ok_or_else(AppError::unauthenticated)?;
    if token.revoked_at.is_some() || token.expires_at <= now {
        return Err(AppError::unauthenticated());
    }
    let agent = s
        .store
        .agent(&token.agent_id)?
        .filter(|a| a.active)
        .ok_or_else(AppError::unauthenticated)?;
    let actor = Actor {
        grants: s.store.grants(&agent.id)?,
        agent_id: agent.id,
        email: agent.email,
        token_id: token.id,
    };
    s.caches
        .put_actor(hash, now, token.expires_at, actor.clone());
    Ok(actor)
}

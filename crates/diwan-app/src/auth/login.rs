//! `POST /auth/login`: e-mail and password for a session token.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Serialize;

use super::password::verify_password;
use crate::Services;
use crate::error::AppError;
use crate::ids;
use crate::model::{Agent, Token, TokenKind};

/// A bearer token, shown once.
#[derive(Debug, Serialize)]
pub struct IssuedToken {
    pub id: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// A hash of a random password, verified when the e-mail is unknown so that a wrong e-mail and a
/// wrong password take the same time.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3U2dPZ6fzS0uFtdn3eP7Rwlm9LBuXcDbfQl31fTL6y8";

pub fn login(s: &Services, email: &str, password: &SecretString) -> Result<IssuedToken, AppError> {
    let email = email.to_lowercase();
    let now = s.clock.now();
    if s.caches.login_blocked(&email, now) {
        return Err(AppError::rejected(
            crate::Rejection::TooManyRequests,
            "too_many_attempts",
            "too many failed logins for this e-mail; try again in 15 minutes",
        ));
    }
    let agent = check_password(s, &email, password)?;
    s.caches.login_result(&email, now, agent.is_some());
    let agent = agent.ok_or_else(|| {
        AppError::rejected(
            crate::Rejection::Unauthenticated,
            "invalid_credentials",
            "unknown e-mail or wrong password",
        )
    })?;
    issue(
        s,
        &agent.id,
        TokenKind::Session,
        "login",
        now,
        now + s.settings.session_ttl,
    )
}

/// The agent, if the e-mail is an active agent's and the password is theirs. Takes the same
/// time whether or not the e-mail is known.
fn check_password(
    s: &Services,
    email: &str,
    password: &SecretString,
) -> Result<Option<Agent>, AppError> {
    let agent = s.store.agent_by_email(email)?.filter(|a| a.active);
    let hash = agent.as_ref().and_then(|a| a.password_hash.as_deref());
    let Some(hash) = hash else {
        let _ = verify_password(password, DECOY_HASH);
        return Ok(None);
    };
    Ok(verify_password(password, hash)?.then_some(agent).flatten())
}

/// Creates and stores a token; the secret is returned once and only its hash is kept.
pub(super) fn issue(
    s: &Services,
    agent_id: &str,
    kind: TokenKind,
    name: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<IssuedToken, AppError> {
    let secret = ids::new_secret(super::TOKEN_PREFIX)?;
    let token = Token {
        id: ids::new_id()?,
        secret_hash: ids::secret_hash(&secret),
        agent_id: agent_id.to_owned(),
        kind,
        name: name.to_owned(),
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    s.store.insert_token(&token)?;
    Ok(IssuedToken {
        id: token.id,
        token: secret,
        expires_at,
    })
}

//! Agents' credentials: passwords, login sessions and API tokens.

mod authenticate;
mod login;
mod password;
mod tokens;

pub use authenticate::authenticate;
pub use login::{IssuedToken, login};
pub use password::{hash_password, verify_password};
pub use tokens::{create_api_token, list_tokens, revoke_token};

/// The prefix of every bearer secret Diwan issues.
pub const TOKEN_PREFIX: &str = "dwn";
pub use secrecy::SecretString;

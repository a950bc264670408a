//! Reading one correspondence with its files and history.

use crate::Services;
use crate::access::Actor;
use crate::error::AppError;
use crate::model::Correspondence;

pub fn get(s: &Services, actor: &Actor, id: &str) -> Result<Correspondence, AppError> {
    super::load_visible(s, actor, id).map(|(c, _)| c)
}

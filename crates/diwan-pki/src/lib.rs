#![doc = include_str!("../README.md")]

mod canonical;
mod cert;
pub mod cms;
mod error;
mod import;
mod issue;
pub mod jws;
mod key;
mod master;
mod names;
mod tlv;
pub mod tsp;
mod validate;

pub use canonical::canonical_json;
pub use cert::{Certificate, KeyUsageBits, to_pem};
pub use error::PkiError;
pub use import::{import_pem, import_pkcs12};
pub use issue::{Profile, crl, issue, self_signed_root};
pub use key::{KeyAlgorithm, SigningKey};
pub use master::{MIN_SECRET_LEN, MasterKey};
pub use names::{Names, OID_NAME};
pub use validate::{ChainReport, validate_chain};

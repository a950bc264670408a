//! The electronic parapheur: signers' keys (`keys.rs`), the time-stamping unit (`tsa.rs`),
//! PAdES B-T signing with a PIN or remotely (`sign.rs`) and the validation of any signed PDF
//! (`validate.rs`).

pub mod circuit;
pub mod keys;
pub mod sign;
pub mod tsa;
pub mod validate;

pub use keys::{Enrolment, KeyHolder, SignerCertificate};
pub use sign::{RemoteRequest, remote_complete, remote_prepare, sign_with_pin};
pub use validate::{ValidationReport, validate};

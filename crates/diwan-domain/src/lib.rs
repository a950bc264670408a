#![doc = include_str!("../README.md")]

pub mod calendar;
pub mod circuit;
pub mod codes;
pub mod correspondence;
pub mod error;
pub mod hijri;
pub mod indicators;
pub mod merkle;
pub mod numbering;
pub mod org;
pub mod role;
pub mod routing;
pub mod search;
pub mod text;
pub mod workflow;

pub use codes::{Code, Sha256Digest};
pub use correspondence::{
    Channel, Confidentiality, Direction, Party, PartyKind, Priority, RegistrationMetadata,
    RegistrationRequest,
};
pub use error::{DomainError, Field};
pub use numbering::{NumberFormat, RegistrationNumber};
pub use org::UnitLevel;
pub use role::Role;
pub use workflow::{Move, Purpose, Status};

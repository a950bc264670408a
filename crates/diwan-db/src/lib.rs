#![doc = include_str!("../README.md")]

pub mod blobs;
mod claim;
mod conn;
mod indicator_days;
mod ledger;
mod pack;
mod queries;
mod rows;
mod schema;
mod search;
mod store;
mod time;
mod together;
mod writer;

pub use blobs::FsBlobStore;
pub use conn::{Backend, Database, DbError};
pub use store::DbStore;

//! Black-box tests over HTTP. Each test starts its own server on its own database; the backend
//! is chosen by `DIWAN_TEST_BACKEND` (see `diwan_tests`).

#![expect(clippy::unwrap_used, reason = "tests")]

mod auth;
mod authorization;
mod browser;
mod cli;
mod concurrency;
mod document_text;
mod dossier;
mod exchange;
mod failures;
mod indicators;
mod journeys;
mod metrics;
mod open_data;
mod open_data_page;
mod organisation;
mod pages;
mod parapheur;
mod receipts;
mod registration;
mod search;
mod signatures;
mod workflow;

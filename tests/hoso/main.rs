//! Integration tests: one binary (faster to link than one per file).
//!
//! Storage tests run on SQLite and PostgreSQL; see `helpers::backends`.

mod archive_model;
mod cli;
mod documents;
mod export;
mod fixity;
mod helpers;
mod http;
mod ocr;
mod pdf_reader;
mod pki;
mod search;
mod sign;
mod stats;
mod storage;
mod verify;
mod verify_cert;
mod verify_changes;
mod verify_robustness;

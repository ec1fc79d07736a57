//! Integration tests: one binary (faster to link than one per file).
//!
//! Storage tests run on SQLite and PostgreSQL; see `helpers::backends`.

mod accounts;
mod api_admin;
mod api_archive;
mod api_records;
mod api_review;
mod api_session;
mod api_signing;
mod api_support;
mod archive_model;
mod bench_serve;
mod browser;
mod cli;
mod documents;
mod e2e;
mod e2e_cookie;
mod e2e_pages;
mod export;
mod fixity;
mod helpers;
mod http;
mod ocr;
mod pages_archive;
mod pages_clerk;
mod pages_security;
mod pdf_reader;
mod pipeline_services;
mod pki;
mod search;
mod sign;
mod stats;
mod storage;
mod verify;
mod verify_cert;
mod verify_changes;
mod verify_robustness;

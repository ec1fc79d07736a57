//! hoso (hồ sơ): the document engine of a Vietnamese one-stop office.
//!
//! # Layout
//! - Core stages, synchronous functions over bytes that know nothing of HTTP or SQL:
//!   [`ocr`] (scans to text), [`pdf`] (PDF structure), [`pades`] (signatures),
//!   [`trust`] (trusted roots and path validation).
//! - [`archive`]: the metadata database and the content-addressed blob store; the only module
//!   that writes SQL.
//! - [`digitize`]: the digitize job (OCR pages in parallel, stream the searchable PDF).
//! - [`pipeline`]: joins async callers to the blocking stages, under a CPU budget.
//! - [`http`]: the HTTP interface; the only module that knows axum.
//! - [`cli`]: the `hoso` command.
//! - [`config`], [`error`], [`digest`]: shared plumbing.
//!
//! See ARCHITECTURE.md for the path of a document through these modules.

pub mod archive;
pub mod auth;
pub mod cli;
pub mod config;
pub mod digest;
pub mod digitize;
pub mod error;
pub mod http;
pub mod ocr;
pub mod pades;
pub mod pdf;
pub mod pipeline;
pub mod trust;
pub mod verify;

pub use error::{Error, Result};

//! PAdES stage: signing and reading PDF signatures (ETSI EN 319 142-1, ISO 32000-1 §12.8).
//!
//! Flow (issue #4): prepare an incremental update with a signature dictionary
//! (`/SubFilter /ETSI.CAdES.detached`, `/ByteRange`, `/Contents` placeholder), digest the
//! byte ranges, build CAdES signed attributes, sign with a PKCS#12 or PKCS#11 key, patch the
//! CMS into the placeholder. Verification (issue #5) reads each signature back, checks its
//! byte range and CMS, and hands the certificates to `trust`.
//!
//! Synchronous functions over bytes; time is passed in, never read from the clock here.

use crate::error::{Coded, ErrorClass};

/// Failures of the PAdES stage that stop an operation. (Verification outcomes such as
/// "digest mismatch" are report data, not errors.)
#[derive(Debug, thiserror::Error)]
pub enum PadesError {
    #[error("signing key unusable: {reason}")]
    KeyUnusable { reason: String },
    #[error("no signature found in the document")]
    NoSignature,
}

impl Coded for PadesError {
    fn code(&self) -> &'static str {
        match self {
            PadesError::KeyUnusable { .. } => "signing-key-unusable",
            PadesError::NoSignature => "no-signature",
        }
    }

    fn class(&self) -> ErrorClass {
        ErrorClass::InvalidInput
    }

    fn message_vi(&self) -> String {
        match self {
            PadesError::KeyUnusable { .. } => "Không dùng được khóa ký số đã chọn.".to_owned(),
            PadesError::NoSignature => "Tài liệu không có chữ ký số nào.".to_owned(),
        }
    }
}

//! PAdES stage: signing PDF documents (ETSI EN 319 142-1 baseline B-B, B-T, B-LT, B-LTA;
//! ISO 32000-1 §12.8) and, in issue #5, reading signatures back.
//!
//! Flow of a signature (see `sign`): check the signer's certificate (validity, key usage,
//! path to a trust anchor, revocation when known), lay out an incremental update with a
//! signature dictionary whose `/Contents` placeholder is sized from the real signature and
//! timestamp sizes, digest the byte ranges in a streaming pass, build the CAdES signed
//! attributes (`cms`), sign with a PKCS#12 or PKCS#11 key (`key`, `pkcs11`), add the RFC 3161
//! signature timestamp (`tsp`), and patch the result in. B-LT adds a DSS revision with the
//! certificates and revocation data (`revocation`), B-LTA a document timestamp after it.
//!
//! Synchronous functions over files and bytes; network access (TSA, OCSP, CRL, AIA) goes
//! through `fetch`. Time is passed in, never read from the clock here.

pub mod appearance;
pub mod cms;
pub mod document;
pub mod fetch;
pub mod key;
pub mod layout;
pub mod pkcs11;
pub mod revocation;
pub mod sign;
pub mod tsp;

use crate::error::{Coded, ErrorClass};

/// Failures of the PAdES stage that stop an operation. (Verification outcomes such as
/// "digest mismatch" are report data, not errors.)
#[derive(Debug, thiserror::Error)]
pub enum PadesError {
    #[error("signing key unusable: {reason}")]
    KeyUnusable { reason: String },
    #[error("wrong password for the PKCS#12 file")]
    WrongPassword,
    #[error("PKCS#11 token: {reason}")]
    Token { reason: String },
    #[error("wrong PIN for the PKCS#11 token (not retried, so the token is not locked)")]
    WrongPin,
    #[error("PKCS#11 token, key or certificate not found: {what}")]
    TokenObjectNotFound { what: String },
    #[error("the signer's certificate expired on {not_after}")]
    CertificateExpired { not_after: String },
    #[error("the signer's certificate is not valid before {not_before}")]
    CertificateNotYetValid { not_before: String },
    #[error("the signer's certificate is revoked ({at})")]
    CertificateRevoked { at: String },
    #[error("the signer's certificate lacks the digitalSignature/nonRepudiation key usage")]
    CertificateKeyUsage,
    #[error("the signer's certificate does not chain to a trust anchor: {0}")]
    Untrusted(#[from] crate::trust::TrustError),
    #[error("revocation status of the signer's certificate unavailable: {reason}")]
    RevocationUnavailable { reason: String },
    #[error("timestamp authority {url}: {reason}")]
    Timestamp { url: String, reason: String },
    #[error("fetching {url} failed: {reason}")]
    Fetch { url: String, reason: String },
    #[error("building the CMS signature failed: {reason}")]
    Cms { reason: String },
    #[error("signature field {name} is already signed")]
    FieldAlreadySigned { name: String },
    #[error(
        "the document is certified with DocMDP P=1: no change, not even a signature, is allowed"
    )]
    DocMdpForbids,
    #[error("a certification signature must be the document's first signature")]
    CertifyNotFirst,
    #[error("page {page} does not exist (the document has {pages})")]
    PageOutOfRange { page: usize, pages: usize },
    #[error("no signed signature to extend")]
    NoSignature,
    #[error("the organization signature needs the official's signature first (Decree 30, art. 32)")]
    NoOfficialSignature,
    #[error(transparent)]
    Appearance(#[from] appearance::AppearanceError),
    #[error(transparent)]
    Pdf(#[from] crate::pdf::PdfError),
    #[error("writing the output failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("internal signing error: {reason}")]
    Internal { reason: String },
}

impl Coded for PadesError {
    fn code(&self) -> &'static str {
        match self {
            PadesError::KeyUnusable { .. } => "signing-key-unusable",
            PadesError::WrongPassword => "signing-key-wrong-password",
            PadesError::Token { .. } => "pkcs11-token-error",
            PadesError::WrongPin => "pkcs11-wrong-pin",
            PadesError::TokenObjectNotFound { .. } => "pkcs11-not-found",
            PadesError::CertificateExpired { .. } => "certificate-expired",
            PadesError::CertificateNotYetValid { .. } => "certificate-not-yet-valid",
            PadesError::CertificateRevoked { .. } => "certificate-revoked",
            PadesError::CertificateKeyUsage => "certificate-key-usage",
            PadesError::Untrusted(e) => e.code(),
            PadesError::RevocationUnavailable { .. } => "revocation-unavailable",
            PadesError::Timestamp { .. } => "tsa-failed",
            PadesError::Fetch { .. } => "fetch-failed",
            PadesError::Cms { .. } => "cms-build-failed",
            PadesError::FieldAlreadySigned { .. } => "signature-field-already-signed",
            PadesError::DocMdpForbids => "document-certified-no-changes",
            PadesError::CertifyNotFirst => "certification-not-first",
            PadesError::PageOutOfRange { .. } => "page-out-of-range",
            PadesError::NoSignature => "no-signature",
            PadesError::NoOfficialSignature => "official-signature-missing",
            PadesError::Appearance(e) => e.code(),
            PadesError::Pdf(e) => e.code(),
            PadesError::Io(_) => "output-write-failed",
            PadesError::Internal { .. } => "signing-internal-error",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            PadesError::Timestamp { .. }
            | PadesError::Fetch { .. }
            | PadesError::RevocationUnavailable { .. } => ErrorClass::Unavailable,
            PadesError::Io(_) | PadesError::Internal { .. } | PadesError::Cms { .. } => {
                ErrorClass::Internal
            }
            PadesError::Appearance(e) => e.class(),
            PadesError::Pdf(e) => e.class(),
            PadesError::Untrusted(e) => e.class(),
            _ => ErrorClass::InvalidInput,
        }
    }

    fn message_vi(&self) -> String {
        match self {
            PadesError::KeyUnusable { .. } => "Không dùng được khóa ký số đã chọn.".to_owned(),
            PadesError::WrongPassword => "Mật khẩu của tệp khóa PKCS#12 không đúng.".to_owned(),
            PadesError::Token { .. } => "Thiết bị ký số (token/HSM) báo lỗi.".to_owned(),
            PadesError::WrongPin => {
                "Mã PIN của thiết bị ký số không đúng (không thử lại để tránh khóa thiết bị)."
                    .to_owned()
            }
            PadesError::TokenObjectNotFound { what } => {
                format!("Không tìm thấy trên thiết bị ký số: {what}.")
            }
            PadesError::CertificateExpired { not_after } => {
                format!("Chứng thư số của người ký đã hết hạn ({not_after}); không thể ký.")
            }
            PadesError::CertificateNotYetValid { not_before } => {
                format!("Chứng thư số của người ký chưa có hiệu lực (từ {not_before}); không thể ký.")
            }
            PadesError::CertificateRevoked { .. } => {
                "Chứng thư số của người ký đã bị thu hồi; không thể ký.".to_owned()
            }
            PadesError::CertificateKeyUsage => {
                "Chứng thư số không được phép dùng để ký số (thiếu mục đích digitalSignature/nonRepudiation)."
                    .to_owned()
            }
            PadesError::Untrusted(e) => e.message_vi(),
            PadesError::RevocationUnavailable { .. } => {
                "Không lấy được trạng thái thu hồi (OCSP/CRL) của chứng thư số.".to_owned()
            }
            PadesError::Timestamp { .. } => {
                "Máy chủ cấp dấu thời gian (TSA) không phản hồi hoặc trả lời không hợp lệ; chưa ký tài liệu."
                    .to_owned()
            }
            PadesError::Fetch { url, .. } => format!("Không tải được dữ liệu từ {url}."),
            PadesError::Cms { .. } => "Không tạo được chữ ký CMS.".to_owned(),
            PadesError::FieldAlreadySigned { name } => {
                format!("Ô chữ ký \"{name}\" đã được ký.")
            }
            PadesError::DocMdpForbids => {
                "Tài liệu đã được chứng thực và không cho phép bất kỳ thay đổi nào, kể cả thêm chữ ký."
                    .to_owned()
            }
            PadesError::CertifyNotFirst => {
                "Chữ ký chứng thực (certify) phải là chữ ký đầu tiên của tài liệu.".to_owned()
            }
            PadesError::PageOutOfRange { page, pages } => {
                format!("Trang {page} không tồn tại (tài liệu có {pages} trang).")
            }
            PadesError::NoSignature => "Tài liệu không có chữ ký số nào.".to_owned(),
            PadesError::NoOfficialSignature => {
                "Chữ ký của cơ quan, tổ chức chỉ được ký vào văn bản đã có chữ ký của người có thẩm quyền."
                    .to_owned()
            }
            PadesError::Appearance(e) => e.message_vi(),
            PadesError::Pdf(e) => e.message_vi(),
            PadesError::Io(_) => "Không ghi được tệp kết quả.".to_owned(),
            PadesError::Internal { .. } => "Lỗi nội bộ khi ký số.".to_owned(),
        }
    }
}

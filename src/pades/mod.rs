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

/// A time as error messages show it: `dd/mm/yyyy hh:mm:ss UTC`.
pub fn display_time(time: time::OffsetDateTime) -> String {
    let utc = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02} UTC",
        utc.day(),
        u8::from(utc.month()),
        utc.year(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

/// Failures of the PAdES stage that stop an operation. (Verification outcomes such as
/// "digest mismatch" are report data, not errors.)
#[derive(Debug, thiserror::Error)]
pub enum PadesError {
    #[error("signing key unusable: {reason}")]
    KeyUnusable { reason: String },
    #[error("wrong password for the PKCS#12 file")]
    WrongPassword,
    #[error("{kind} key of {bits} bits is too weak (at least {minimum} bits)")]
    KeyTooWeak {
        kind: &'static str,
        bits: u32,
        minimum: u32,
    },
    #[error(
        "the key's signature does not verify with the signer's certificate (a key that is not the certificate's?)"
    )]
    SignatureMismatch,
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
    #[error("field name {name:?} cannot be used: {reason}")]
    FieldNameInvalid { name: String, reason: String },
    #[error("the document already has a field named {name:?} that is not an empty signature field")]
    FieldNameTaken { name: String },
    #[error("field {name} is locked by the signature in field {by} (/Lock, FieldMDP)")]
    FieldLocked { name: String, by: String },
    #[error("signature field {field} requires {requirement} (its seed values, /SV)")]
    SeedValue {
        field: String,
        requirement: String,
        requirement_vi: String,
    },
    #[error(
        "the document is certified with DocMDP P=1: no change, not even a signature, is allowed"
    )]
    DocMdpForbids,
    #[error("a certification signature must be the document's first signature")]
    CertifyNotFirst,
    #[error("page {page} does not exist (the document has {pages})")]
    PageOutOfRange { page: usize, pages: usize },
    #[error("the rectangle {rect:?} is not inside page {page} ({page_box:?})")]
    RectOutsidePage {
        rect: [f64; 4],
        page: usize,
        page_box: [f64; 4],
    },
    #[error("the output {path} is the input: only --extend may update a file in place")]
    OutputIsInput { path: String },
    #[error("the output {path} is not a regular file (a directory, a device, a pipe?)")]
    OutputNotRegular { path: String },
    #[error("--extend needs B-LT or B-LTA (it adds validation data), not {level}")]
    ExtendLevel { level: &'static str },
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
            PadesError::KeyTooWeak { .. } => "signing-key-too-weak",
            PadesError::SignatureMismatch => "signing-key-mismatch",
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
            PadesError::FieldNameInvalid { .. } => "signature-field-name-invalid",
            PadesError::FieldNameTaken { .. } => "signature-field-name-taken",
            PadesError::FieldLocked { .. } => "signature-field-locked",
            PadesError::SeedValue { .. } => "signature-field-seed-value",
            PadesError::DocMdpForbids => "document-certified-no-changes",
            PadesError::CertifyNotFirst => "certification-not-first",
            PadesError::PageOutOfRange { .. } => "page-out-of-range",
            PadesError::RectOutsidePage { .. } => "signature-rect-outside-page",
            PadesError::OutputIsInput { .. } => "output-is-input",
            PadesError::OutputNotRegular { .. } => "output-not-regular-file",
            PadesError::ExtendLevel { .. } => "extend-level-invalid",
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
            PadesError::KeyTooWeak {
                kind,
                bits,
                minimum,
            } => format!(
                "Khóa {kind} {bits} bit quá yếu để ký số (tối thiểu {minimum} bit); không thể ký."
            ),
            PadesError::SignatureMismatch => {
                "Chữ ký do khóa tạo ra không khớp với chứng thư số của người ký (khóa không thuộc chứng thư?); chưa ghi tài liệu."
                    .to_owned()
            }
            PadesError::Token { .. } => "Thiết bị ký số (token/HSM) báo lỗi.".to_owned(),
            PadesError::WrongPin => {
                "Mã PIN của thiết bị ký số không đúng (không thử lại để tránh khóa thiết bị)."
                    .to_owned()
            }
            PadesError::TokenObjectNotFound { what } => {
                format!("Không tìm thấy trên thiết bị ký số: {what}.")
            }
            PadesError::CertificateExpired { not_after } => {
                format!("Chứng thư số của người ký đã hết hạn (lúc {not_after}); không thể ký.")
            }
            PadesError::CertificateNotYetValid { not_before } => {
                format!("Chứng thư số của người ký chưa có hiệu lực (từ {not_before}); không thể ký.")
            }
            PadesError::CertificateRevoked { at } if !at.is_empty() => {
                format!("Chứng thư số của người ký đã bị thu hồi (lúc {at}); không thể ký.")
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
            PadesError::FieldNameInvalid { name, .. } => format!(
                "Tên ô chữ ký \"{name}\" không hợp lệ (không được để trống hay chứa dấu chấm)."
            ),
            PadesError::FieldNameTaken { name } => format!(
                "Tài liệu đã có một trường tên \"{name}\" không phải ô chữ ký trống; hãy chọn tên khác."
            ),
            PadesError::SeedValue {
                field,
                requirement_vi,
                ..
            } => format!(
                "Ô chữ ký \"{field}\" yêu cầu {requirement_vi} (giá trị định sẵn /SV); chữ ký với các tùy chọn đã chọn không đáp ứng."
            ),
            PadesError::FieldLocked { name, by } => format!(
                "Ô \"{name}\" đã bị khóa bởi chữ ký trong ô \"{by}\" (/Lock, FieldMDP); không thể ký."
            ),
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
            PadesError::RectOutsidePage {
                rect,
                page,
                page_box,
            } => format!(
                "Vị trí chữ ký {},{},{},{} nằm ngoài trang {page} (khổ trang {},{},{},{}).",
                rect[0], rect[1], rect[2], rect[3], page_box[0], page_box[1], page_box[2], page_box[3]
            ),
            PadesError::OutputIsInput { path } => format!(
                "Tệp kết quả {path} trùng với tệp cần ký; hãy ghi ra tệp khác (chỉ --extend mới cập nhật tại chỗ)."
            ),
            PadesError::OutputNotRegular { path } => format!(
                "Đường dẫn kết quả {path} không phải tệp thông thường (thư mục, thiết bị…); không ghi được."
            ),
            PadesError::ExtendLevel { level } => format!(
                "--extend chỉ nhận mức B-LT hoặc B-LTA (thêm dữ liệu kiểm tra dài hạn), không nhận {level}."
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_messages_read_as_dates_not_debug_output() {
        let time = time::macros::datetime!(2021-01-01 7:05:09 +07:00);
        assert_eq!(display_time(time), "01/01/2021 00:05:09 UTC");
        let err = PadesError::CertificateExpired {
            not_after: display_time(time),
        };
        assert!(
            err.to_string()
                .ends_with("expired on 01/01/2021 00:05:09 UTC")
        );
        assert!(err.message_vi().contains("01/01/2021 00:05:09 UTC"));
    }
}

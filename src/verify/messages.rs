//! The words of a verification report: every message has a stable code (for scripts), a
//! Vietnamese text (for the clerk) and an English text. Technical details stay in `detail`.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub code: &'static str,
    pub severity: Severity,
    pub vi: String,
    pub en: String,
    /// Technical detail (English), when there is any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Message {
    pub fn new(code: &'static str, severity: Severity, detail: Option<String>) -> Self {
        let (vi, en) = texts(code);
        Message {
            code,
            severity,
            vi: vi.to_owned(),
            en: en.to_owned(),
            detail,
        }
    }

    pub fn error(code: &'static str, detail: impl Into<Option<String>>) -> Self {
        Self::new(code, Severity::Error, detail.into())
    }

    pub fn warning(code: &'static str, detail: impl Into<Option<String>>) -> Self {
        Self::new(code, Severity::Warning, detail.into())
    }

    pub fn info(code: &'static str, detail: impl Into<Option<String>>) -> Self {
        Self::new(code, Severity::Info, detail.into())
    }
}

/// (Vietnamese, English) for each code. Unknown codes fall back to the code itself so that a
/// missing entry shows up in tests rather than as an empty line.
pub fn texts(code: &str) -> (&'static str, &'static str) {
    match code {
        "no-signature" => (
            "Tệp không có chữ ký số nào.",
            "The file has no digital signature.",
        ),
        "signature-too-large" => (
            "Tệp chữ ký quá lớn để là một chữ ký CMS.",
            "The signature file is too large to be a CMS signature.",
        ),
        "too-many-signatures" => (
            "Tệp có quá nhiều chữ ký: chỉ kiểm tra các chữ ký đầu tiên, nên không thể kết luận cả tệp hợp lệ.",
            "The file has too many signatures: only the first ones were checked, so the file as a whole cannot be judged valid.",
        ),
        "contents-missing" => (
            "Chữ ký không có dữ liệu chữ ký (/Contents).",
            "The signature has no signature data (/Contents).",
        ),
        "contents-not-der" => (
            "Dữ liệu chữ ký (/Contents) không đúng định dạng CMS.",
            "The signature data (/Contents) is not a CMS structure.",
        ),
        "contents-trailing-data" => (
            "Dữ liệu chữ ký có phần thừa sau chữ ký (không phải phần đệm 0).",
            "The signature data has extra bytes after the signature (not zero padding).",
        ),
        "byte-range-invalid" => (
            "Phạm vi ký (/ByteRange) không hợp lệ.",
            "The signed byte range (/ByteRange) is invalid.",
        ),
        "byte-range-gap-not-contents" => (
            "Phần không được ký của tệp không đúng là dữ liệu chữ ký: có thể tài liệu đã bị chèn nội dung (tấn công bọc chữ ký).",
            "The unsigned part of the file is not exactly the signature data: content may have been inserted (signature wrapping).",
        ),
        "byte-range-not-revision-end" => (
            "Chữ ký không phủ trọn một phiên bản của tài liệu.",
            "The signature does not cover a complete revision of the document.",
        ),
        "byte-range-collision" => (
            "Phạm vi ký trùng với phạm vi của một chữ ký khác.",
            "The signed range overlaps another signature's.",
        ),
        "cms-malformed" => (
            "Cấu trúc chữ ký (CMS) bị hỏng.",
            "The signature structure (CMS) is malformed.",
        ),
        "cms-signer-count" => (
            "Chữ ký phải có đúng một người ký.",
            "The signature must have exactly one signer.",
        ),
        "cms-encapsulated-content" => (
            "Chữ ký tách rời nhưng lại chứa nội dung bên trong.",
            "A detached signature carries encapsulated content.",
        ),
        "cms-content-type" => (
            "Thuộc tính loại nội dung của chữ ký không đúng.",
            "The signature's content-type attribute is wrong.",
        ),
        "cms-message-digest-missing" => (
            "Chữ ký thiếu giá trị băm của tài liệu.",
            "The signature lacks the document's message digest.",
        ),
        "subfilter-unsupported" => (
            "Định dạng chữ ký này không được hỗ trợ.",
            "This signature format is not supported.",
        ),
        "digest-algorithm-unknown" => (
            "Thuật toán băm của chữ ký không được hỗ trợ.",
            "The signature's hash algorithm is not supported.",
        ),
        "hash-mismatch" => (
            "Tài liệu đã bị thay đổi sau khi ký: giá trị băm không khớp.",
            "The document was changed after signing: the hash does not match.",
        ),
        "signature-value-invalid" => (
            "Giá trị chữ ký không khớp với khóa công khai của người ký.",
            "The signature value does not match the signer's public key.",
        ),
        "signing-certificate-missing" => (
            "Chữ ký không kèm chứng thư số của người ký.",
            "The signature does not carry the signer's certificate.",
        ),
        "signing-certificate-mismatch" => (
            "Chứng thư số kèm theo không phải chứng thư mà người ký đã cam kết khi ký.",
            "The attached certificate is not the one the signer committed to.",
        ),
        "signing-certificate-attribute-missing" => (
            "Chữ ký thiếu thuộc tính xác định chứng thư người ký (signing-certificate-v2) mà PAdES yêu cầu.",
            "The signature lacks the signing-certificate-v2 attribute PAdES requires.",
        ),
        "signed-attributes-missing" => (
            "Chữ ký không có thuộc tính được ký (kiểu PKCS#7 cũ).",
            "The signature has no signed attributes (old PKCS#7 style).",
        ),
        "weak-digest" => (
            "Thuật toán băm yếu (SHA-1/MD5) không được chấp nhận theo Thông tư 15/2025.",
            "A weak hash (SHA-1/MD5) is not acceptable under Circular 15/2025.",
        ),
        "weak-key" => (
            "Khóa quá ngắn (yêu cầu RSA ≥ 2048 bit, ECDSA ≥ 256 bit).",
            "The key is too short (RSA ≥ 2048 bits, ECDSA ≥ 256 bits required).",
        ),
        "timestamp-valid" => (
            "Dấu thời gian hợp lệ xác nhận thời điểm ký.",
            "A valid timestamp proves the signing time.",
        ),
        "timestamp-invalid" => (
            "Dấu thời gian kèm chữ ký không hợp lệ; thời điểm ký chỉ do người ký khai báo.",
            "The signature timestamp is not valid; the signing time is only what the signer declared.",
        ),
        "timestamp-imprint-mismatch" => (
            "Dấu thời gian không khớp với dữ liệu được đóng dấu.",
            "The timestamp does not match the data it stamps.",
        ),
        "timestamp-untrusted" => (
            "Chứng thư của đơn vị cấp dấu thời gian không tin cậy hoặc không hợp lệ.",
            "The timestamp authority's certificate is not trusted or not valid.",
        ),
        "timestamp-tsa-revoked" => (
            "Chứng thư của đơn vị cấp dấu thời gian đã bị thu hồi trước khi cấp dấu thời gian này.",
            "The timestamp authority's certificate was revoked before it issued this timestamp.",
        ),
        "timestamp-not-tsa" => (
            "Chứng thư ký dấu thời gian không có mục đích cấp dấu thời gian.",
            "The timestamp's certificate is not for timestamping.",
        ),
        "signing-time-claimed" => (
            "Thời điểm ký do người ký khai báo (không có dấu thời gian).",
            "The signing time is declared by the signer (no timestamp).",
        ),
        "chain-not-trusted" => (
            "Không xây dựng được chuỗi chứng thư tới chứng thư gốc tin cậy (Root CA quốc gia hoặc đã cấu hình).",
            "No certificate chain to a trusted root (national or configured) could be built.",
        ),
        "chain-out-of-bounds" => (
            "Chứng thư số (hoặc CA cấp trên) không còn hiệu lực tại thời điểm kiểm tra và không có bằng chứng thời gian ký trước đó.",
            "The certificate (or an issuing CA) is not valid at the validation time and there is no proof the signature existed earlier.",
        ),
        "chain-invalid" => (
            "Chuỗi chứng thư số không hợp lệ.",
            "The certificate chain is not valid.",
        ),
        "key-usage" => (
            "Chứng thư số không cho phép dùng để ký (thiếu digitalSignature/nonRepudiation).",
            "The certificate does not allow signing (no digitalSignature/nonRepudiation).",
        ),
        "extended-key-usage" => (
            "Mục đích sử dụng mở rộng của chứng thư không dành cho ký tài liệu.",
            "The certificate's extended key usage is not for document signing.",
        ),
        "revoked" => (
            "Chứng thư số đã bị thu hồi trước thời điểm ký.",
            "The certificate was revoked before the signing time.",
        ),
        "revoked-no-poe" => (
            "Chứng thư số đã bị thu hồi và không có bằng chứng chữ ký được tạo trước khi thu hồi.",
            "The certificate is revoked and there is no proof the signature was made before the revocation.",
        ),
        "revoked-after-signing" => (
            "Chứng thư số bị thu hồi sau thời điểm ký (đã được dấu thời gian chứng minh): chữ ký vẫn hợp lệ.",
            "The certificate was revoked after the signing time (proven by a timestamp): the signature stays valid.",
        ),
        "revocation-unknown" => (
            "Không kiểm tra được trạng thái thu hồi của chứng thư số.",
            "The revocation status of the certificate could not be checked.",
        ),
        "revocation-good" => (
            "Chứng thư số chưa bị thu hồi tại thời điểm ký.",
            "The certificate was not revoked at the signing time.",
        ),
        "modification-disallowed" => (
            "Tài liệu đã bị sửa đổi sau khi ký theo cách không được phép.",
            "The document was modified after signing in a way that is not allowed.",
        ),
        "modification-warning" => (
            "Tài liệu có thay đổi sau khi ký cần được xem xét.",
            "The document has changes after signing that should be reviewed.",
        ),
        "modification-allowed" => (
            "Các thay đổi sau khi ký đều được phép (thêm chữ ký, dấu thời gian, dữ liệu kiểm tra dài hạn, điền biểu mẫu).",
            "All changes after signing are allowed (signatures, timestamps, long-term validation data, form filling).",
        ),
        "trailing-data" => (
            "Có dữ liệu lạ sau phần cuối tài liệu.",
            "There is unexpected data after the end of the document.",
        ),
        "document-timestamp-valid" => (
            "Dấu thời gian tài liệu (lưu trữ dài hạn) hợp lệ.",
            "The document (archive) timestamp is valid.",
        ),
        "signature-valid" => ("Chữ ký số hợp lệ.", "The digital signature is valid."),
        "revision-covered" => (
            "Chữ ký phủ một phiên bản trước của tài liệu; các phiên bản sau đã được kiểm tra.",
            "The signature covers an earlier revision; later revisions were checked.",
        ),
        _ => ("Thông báo không xác định.", "Unknown message."),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_code_used_in_the_verifier_has_texts() {
        let source = [include_str!("mod.rs"), include_str!("structure.rs")].concat();
        let mut missing = Vec::new();
        for constructor in [
            "Message::error(\"",
            "Message::warning(\"",
            "Message::info(\"",
        ] {
            for rest in source.split(constructor).skip(1) {
                let code = &rest[..rest.find('"').unwrap_or(0)];
                if super::texts(code).1 == "Unknown message." {
                    missing.push(code.to_owned());
                }
            }
        }
        assert!(missing.is_empty(), "codes without texts: {missing:?}");
    }
}

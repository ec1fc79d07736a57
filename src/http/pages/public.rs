//! Public verification, no sign-in: `/verify` (drop a PDF, optionally with a detached
//! signature, and read the verdict) and `/verify/{sha256}` (where the QR code printed on a
//! signed copy leads: what the archive knows about that document, and the same drop zone to
//! check the paper's PDF).
//!
//! With JavaScript the form posts to `POST /api/v1/verify` and `app.js` draws the report;
//! without it the form posts here (multipart) and the same report is drawn on the server by
//! [`report_panel`], with the same rate limit per client (`state.limits.verify`) and the same
//! pipeline call ([`crate::pipeline::Pipeline::verify_file`]). Nothing uploaded is stored.
//!
//! The verdict is written for citizens: one sentence (authentic and unchanged / changed or
//! invalid / cannot be determined), then each signature with who signed, when, and the
//! reasons in plain words (the report's own messages, Vietnamese or English).

use axum::Extension;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::archive::{day, error_line, when};
use super::{Lang, PageCtx, PageError, layout};
use crate::archive::ArchiveError;
use crate::archive::public::PublicLookup;
use crate::digest::Sha256Digest;
use crate::error::{Coded, Error};
use crate::http::AppState;
use crate::http::auth::ClientIp;
use crate::http::error::HttpError;
use crate::http::upload;

/// Largest detached signature read into memory (as `POST /api/v1/verify`: a CMS signature
/// with its chain and revocation data is tens of kilobytes).
const SIGNATURE_LIMIT: u64 = 16 * 1024 * 1024;

/// The public routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/verify",
            get(verify_page)
                .post(verify_submit)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/verify/{sha256}", get(lookup_page))
}

// ---- the report, drawn for people ----------------------------------------------------------

/// `ok`, `bad` or `warn` for an ETSI indication.
pub(super) fn indication_class(indication: &str) -> &'static str {
    match indication {
        "TOTAL-PASSED" => "ok",
        "TOTAL-FAILED" => "bad",
        _ => "warn",
    }
}

/// The verdict on a whole file, in one sentence.
pub(super) fn verdict_text(lang: Lang, indication: &str) -> &'static str {
    match indication {
        "TOTAL-PASSED" => lang.tr(
            "Văn bản xác thực, không bị sửa đổi sau khi ký",
            "The document is authentic and unchanged since it was signed",
        ),
        "TOTAL-FAILED" => lang.tr(
            "Văn bản đã bị sửa đổi sau khi ký hoặc chữ ký không hợp lệ",
            "The document was changed after signing or a signature is not valid",
        ),
        _ => lang.tr("Chưa xác định được", "Cannot be determined"),
    }
}

/// The state of one signature, in a word or two.
fn signature_word(lang: Lang, indication: &str) -> &'static str {
    match indication {
        "TOTAL-PASSED" => lang.tr("Hợp lệ", "Valid"),
        "TOTAL-FAILED" => lang.tr("Không hợp lệ", "Not valid"),
        _ => lang.tr("Chưa xác định được", "Cannot be determined"),
    }
}

fn text<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// An RFC 3339 time of the report as `dd/mm/yyyy hh:mm` in Vietnam.
fn report_time(value: &Value, key: &str) -> Option<String> {
    text(value, key)
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .map(when)
}

/// The report's messages, in the page's language, most serious first.
fn messages(lang: Lang, messages: Option<&Value>) -> Markup {
    let mut list: Vec<&Value> = messages
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let rank = |m: &Value| match text(m, "severity") {
        Some("error") => 0,
        Some("warning") => 1,
        _ => 2,
    };
    list.sort_by_key(|m| rank(m));
    let key = match lang {
        Lang::Vi => "vi",
        Lang::En => "en",
    };
    html! {
        @if !list.is_empty() {
            ul.reasons {
                @for message in list {
                    li class=(text(message, "severity").unwrap_or("info")) data-code=[text(message, "code")] {
                        (text(message, key).unwrap_or_default())
                    }
                }
            }
        }
    }
}

/// The verdict box of a report (`.verdict ok|bad|warn`).
pub fn verdict_line(lang: Lang, report: &Value) -> Markup {
    let indication = text(report, "indication").unwrap_or("INDETERMINATE");
    html! {
        div class={ "verdict " (indication_class(indication)) } data-indication=(indication) {
            strong { (verdict_text(lang, indication)) }
        }
    }
}

/// Each signature of a report: who, when, valid or not, and why (`.sig-status ok|bad|warn`).
pub fn signature_list(lang: Lang, report: &Value) -> Markup {
    let signatures: Vec<&Value> = report
        .get("signatures")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    html! {
        @if signatures.is_empty() {
            p.muted.no-signature { (lang.tr("Không có chữ ký số nào trong tệp.", "The file has no digital signature.")) }
        } @else {
            ol.sig-list {
                @for signature in signatures { (signature_item(lang, signature)) }
            }
        }
    }
}

fn signature_item(lang: Lang, s: &Value) -> Markup {
    let indication = text(s, "indication").unwrap_or("INDETERMINATE");
    let signer = s.get("signer").filter(|v| v.is_object());
    let name = signer
        .and_then(|c| text(c, "common_name").or_else(|| text(c, "subject")))
        .map(str::to_owned);
    let is_timestamp = text(s, "kind") == Some("document-timestamp");
    let changes: Vec<&Value> = s
        .pointer("/modifications/changes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|c| matches!(text(c, "allowed"), Some("no" | "warn")))
                .take(5)
                .collect()
        })
        .unwrap_or_default();
    html! {
        li.sig data-indication=(indication) data-field=[text(s, "field")] {
            span class={ "sig-status " (indication_class(indication)) } { (signature_word(lang, indication)) }
            " "
            @if is_timestamp {
                strong.signer { (lang.tr("Dấu thời gian tài liệu", "Document timestamp")) }
                @if let Some(tsa) = text(s, "timestamp_authority").or(name.as_deref()) { " — " (tsa) }
            } @else {
                strong.signer { (name.as_deref().unwrap_or(lang.tr("(không rõ người ký)", "(unknown signer)"))) }
                @if let Some(org) = signer.and_then(|c| text(c, "organization")) { span.muted { " · " (org) } }
            }
            ul.facts {
                @if let Some(at) = report_time(s, "timestamp_time") {
                    li { (lang.tr("Thời điểm ký", "Signed at")) ": " (at) " "
                        span.muted { (lang.tr("(có dấu thời gian chứng minh)", "(proven by a timestamp)")) } }
                } @else if let Some(at) = report_time(s, "signing_time") {
                    li { (lang.tr("Thời điểm ký", "Signed at")) ": " (at) " "
                        span.muted { (lang.tr("(do người ký khai báo)", "(as the signer declared)")) } }
                }
                @if let Some(level) = text(s, "level") { li { (lang.tr("Mức chữ ký", "Signature level")) ": " (level) } }
                @if let Some(issuer) = signer.and_then(|c| text(c, "issuer")) {
                    li { (lang.tr("Đơn vị cấp chứng thư", "Certificate issued by")) ": " (issuer) }
                }
                @if let Some(reason) = text(s, "reason") { li { (lang.tr("Lý do ký", "Reason")) ": " (reason) } }
            }
            (messages(lang, s.get("messages")))
            @if !changes.is_empty() {
                ul.reasons.changes {
                    @for change in changes {
                        li class=(if text(change, "allowed") == Some("no") { "error" } else { "warning" }) {
                            (match lang { Lang::Vi => text(change, "detail_vi"), Lang::En => text(change, "detail") }.unwrap_or_default())
                        }
                    }
                }
            }
        }
    }
}

/// The whole report of a verification: verdict, what was checked, every signature.
pub fn report_panel(lang: Lang, report: &Value) -> Markup {
    html! {
        (verdict_line(lang, report))
        p.muted.report-file {
            (lang.tr("Tệp", "File")) ": " (text(report, "file").unwrap_or_default())
            @if let Some(at) = report_time(report, "validation_time") {
                " · " (lang.tr("kiểm tra lúc", "checked at")) " " (at)
            }
            br;
            "SHA-256: " code { (text(report, "sha256").unwrap_or_default()) }
        }
        (messages(lang, report.get("messages")))
        (signature_list(lang, report))
    }
}

// ---- /verify --------------------------------------------------------------------------------

fn verify_form(ctx: &PageCtx) -> Markup {
    html! {
        form #verify-form .card.no-print method="post" action="/verify" enctype="multipart/form-data" {
            input type="hidden" name="_csrf" value=(ctx.csrf());
            div #verify-drop .dropzone {
                p { strong { (ctx.tr("Kéo thả tệp PDF đã ký vào đây", "Drop the signed PDF here")) } }
                label for="verify-file" { (ctx.tr("hoặc chọn tệp", "or choose a file")) }
                input #verify-file type="file" name="file" accept="application/pdf,.pdf" required;
            }
            details #verify-detached {
                summary { (ctx.tr("Chữ ký tách rời (tùy chọn: tệp .p7s, .sig)", "Detached signature (optional: .p7s, .sig file)")) }
                label { (ctx.tr("Tệp chữ ký", "Signature file"))
                    input #verify-signature type="file" name="signature" accept=".p7s,.sig,.p7m,application/pkcs7-signature"; }
            }
            div.progress #verify-progress hidden { span {} }
            p { button #verify-submit type="submit" { (ctx.tr("Kiểm tra", "Verify")) } }
            p.muted.small {
                (ctx.tr("Tệp chỉ được dùng để kiểm tra và không được lưu lại.",
                        "The file is only used for the check and is not kept."))
            }
        }
    }
}

fn verify_body(ctx: &PageCtx, before: Markup, result: Markup) -> Markup {
    html! {
        div data-page="verify" {
            (before)
            section #verify-result aria-live="polite" { (result) }
            (verify_form(ctx))
        }
    }
}

async fn verify_page(ctx: PageCtx) -> Response {
    let intro = html! {
        p { (ctx.tr(
            "Kiểm tra một văn bản điện tử có chữ ký số: văn bản có đúng là bản đã ký, không bị sửa đổi, và ai đã ký.",
            "Check a digitally signed document: whether it is exactly what was signed, unchanged, and who signed it.")) }
    };
    layout(
        &ctx,
        ctx.tr("Kiểm tra văn bản", "Verify a document"),
        verify_body(&ctx, intro, html! {}),
    )
}

/// The limiter's key for a client: its address, or `unknown` in-process.
fn client_key(ip: Option<std::net::IpAddr>) -> String {
    ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// Verifies the uploaded file (module documentation).
async fn verify_upload(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    request: Request,
) -> Result<Value, Error> {
    state.limits.verify.hit(&client_key(ip))?;
    let upload = upload::receive(request, state.settings.public_verify_limit_bytes).await?;
    let file = upload
        .files
        .iter()
        .find(|f| f.field == "file" && f.size > 0)
        .ok_or(HttpError::FileMissing { field: "file" })?;
    let detached = match upload
        .files
        .iter()
        .find(|f| f.field == "signature" && f.size > 0)
    {
        Some(signature) if signature.size > SIGNATURE_LIMIT => {
            return Err(HttpError::PayloadTooLarge {
                limit_bytes: SIGNATURE_LIMIT,
            }
            .into());
        }
        Some(signature) => Some(
            tokio::fs::read(signature.file.path())
                .await
                .map_err(|e| Error::Task(format!("reading the uploaded signature: {e}")))?,
        ),
        None => None,
    };
    let report = state
        .pipeline
        .verify_file(
            file.file.path(),
            &file.file_name,
            detached,
            false,
            state.now(),
        )
        .await?;
    serde_json::to_value(&report).map_err(|e| Error::Task(format!("report to JSON: {e}")))
}

async fn verify_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    request: Request,
) -> Response {
    let ctx = ctx.at("/verify");
    let title = ctx.tr("Kiểm tra văn bản", "Verify a document");
    match verify_upload(&state, ip, request).await {
        Ok(report) => layout(
            &ctx,
            title,
            verify_body(&ctx, html! {}, report_panel(ctx.lang, &report)),
        ),
        Err(error) => {
            let status = crate::http::error::status_of(error.class());
            let mut response = layout(
                &ctx,
                title,
                verify_body(&ctx, html! {}, error_line(ctx.lang, &error)),
            );
            *response.status_mut() = status;
            if let Error::Http(HttpError::RateLimited { retry_after_secs }) = &error
                && let Ok(value) = axum::http::HeaderValue::from_str(&retry_after_secs.to_string())
            {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
            response
        }
    }
}

// ---- /verify/{sha256} -----------------------------------------------------------------------

async fn lookup_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Path(sha256): Path<String>,
) -> Result<Response, PageError> {
    if let Err(error) = state.limits.verify.hit(&client_key(ip)) {
        // The 429 page, with the Retry-After a client needs (as `/verify` answers).
        let retry = match &error {
            Error::Http(HttpError::RateLimited { retry_after_secs }) => *retry_after_secs,
            _ => 60,
        };
        let mut response = ctx.error(error).into_response();
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(retry),
        );
        return Ok(response);
    }
    let digest: Sha256Digest = sha256.parse().map_err(|_| {
        ctx.error(ArchiveError::FieldInvalid {
            field: "sha256",
            value: sha256.chars().take(80).collect(),
            reason: "expected 64 hex digits".to_owned(),
        })
    })?;
    let lookup = state
        .pipeline
        .archive()
        .public_lookup(&digest)
        .await
        .map_err(|e| ctx.error(e))?;
    let found = lookup_section(ctx.lang, &lookup);
    let before = html! {
        (found)
        h2 { (ctx.tr("Kiểm tra tệp PDF của văn bản", "Check the document's PDF file")) }
        p.muted { (ctx.tr(
            "Để chắc chắn văn bản trong tay không bị sửa, hãy kiểm tra tệp PDF đã ký của văn bản đó.",
            "To be sure the document you hold was not altered, check its signed PDF file.")) }
    };
    Ok(layout(
        &ctx,
        ctx.tr("Tra cứu văn bản đã ký", "Look up a signed document"),
        verify_body(&ctx, before, html! {}),
    ))
}

fn lookup_section(lang: Lang, lookup: &PublicLookup) -> Markup {
    html! {
        section #lookup .card data-found=(lookup.found) {
            @if !lookup.found {
                div.verdict.warn {
                    strong { (lang.tr("Không tìm thấy văn bản này trong kho lưu trữ.",
                                      "This document is not in the archive.")) }
                }
                p.muted { (lang.tr(
                    "Mã trên bản giấy không khớp với văn bản nào do cơ quan lưu giữ. Hãy kiểm tra tệp PDF bên dưới hoặc liên hệ Bộ phận Một cửa.",
                    "The code on the paper matches no document the office keeps. Check the PDF below or ask the one-stop office.")) }
            } @else {
                div.verdict.ok {
                    strong { (lang.tr("Văn bản có trong kho lưu trữ của cơ quan.", "The office's archive holds this document.")) }
                }
                @for document in &lookup.documents {
                    div.public-document {
                        @if document.confidential {
                            p.muted { (lang.tr("Văn bản mật: chỉ hiển thị chữ ký.", "Confidential document: only its signatures are shown.")) }
                        }
                        @if let Some(kind) = &document.type_name { h3 { (kind) } }
                        ul.facts {
                            @match (&document.code_number, &document.code_notation) {
                                (Some(number), Some(notation)) => {
                                    li { (lang.tr("Số, ký hiệu", "Number and symbol")) ": " (number) "/" (notation) }
                                }
                                (Some(only), None) | (None, Some(only)) => {
                                    li { (lang.tr("Số, ký hiệu", "Number and symbol")) ": " (only) }
                                }
                                (None, None) => {}
                            }
                            @if let Some(issued) = document.issued_date {
                                li { (lang.tr("Ngày ban hành", "Issued on")) ": " (day(issued)) }
                            }
                        }
                        @if document.signatures.is_empty() {
                            p.muted { (lang.tr("Chưa có chữ ký số được ghi nhận.", "No digital signature recorded yet.")) }
                        } @else {
                            ol.sig-list {
                                @for signature in &document.signatures {
                                    li.sig data-indication=(signature.indication) {
                                        span class={ "sig-status " (indication_class(&signature.indication)) } {
                                            (signature_word(lang, &signature.indication))
                                        }
                                        " " strong.signer { (signature.signer.as_deref().unwrap_or(lang.tr("(không rõ người ký)", "(unknown signer)"))) }
                                        @if let Some(at) = signature.signed_at {
                                            " · " (lang.tr("ký lúc", "signed at")) " " (when(at))
                                        }
                                        @if let Some(level) = &signature.level { " · " (level) }
                                        br;
                                        span.muted.small {
                                            (lang.tr("Bản đã ký có mã SHA-256", "The signed copy's SHA-256 is")) " "
                                            code.sha { (signature.version_sha256) }
                                            " · " (lang.tr("cơ quan kiểm tra lúc", "checked by the office at")) " " (when(signature.checked_at))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(indication: &str) -> Value {
        json!({
            "file": "ket-qua.pdf", "sha256": "ab".repeat(32),
            "validation_time": "2026-11-23T02:00:00Z",
            "indication": indication, "messages": [],
            "signatures": [{
                "field": "Sig1", "kind": "signature", "indication": indication,
                "signer": {"common_name": "Nguyễn Văn <An>", "subject": "CN=x", "issuer": "CA thử nghiệm"},
                "signing_time": "2026-11-23T01:00:00Z", "timestamp_time": null, "level": "B-B",
                "messages": [
                    {"code": "signing-time-claimed", "severity": "info", "vi": "Thời điểm ký do người ký khai báo.", "en": "Claimed."},
                    {"code": "hash-mismatch", "severity": "error", "vi": "Tài liệu đã bị thay đổi sau khi ký.", "en": "Changed."}
                ],
                "modifications": {"level": "OTHER", "changes": [
                    {"allowed": "no", "detail": "page content changed", "detail_vi": "nội dung trang bị đổi"},
                    {"allowed": "yes", "detail": "dss added", "detail_vi": "thêm DSS"}
                ]}
            }]
        })
    }

    #[test]
    fn a_failed_report_says_changed_with_the_reasons_worst_first() {
        let html = report_panel(Lang::Vi, &report("TOTAL-FAILED")).into_string();
        assert!(html.contains("class=\"verdict bad\""), "{html}");
        assert!(html.contains("Văn bản đã bị sửa đổi sau khi ký hoặc chữ ký không hợp lệ"));
        assert!(html.contains("class=\"sig-status bad\""));
        assert!(html.contains("Nguyễn Văn &lt;An&gt;"), "escaped: {html}");
        let error = html.find("Tài liệu đã bị thay đổi").unwrap();
        let info = html.find("Thời điểm ký do người ký khai báo").unwrap();
        assert!(error < info, "errors come first");
        assert!(html.contains("nội dung trang bị đổi"));
        assert!(
            !html.contains("thêm DSS"),
            "allowed changes are not reasons"
        );
        assert!(html.contains("23/11/2026 08:00"), "Vietnam time: {html}");
    }

    #[test]
    fn a_valid_report_reads_authentic_in_either_language() {
        let vi = report_panel(Lang::Vi, &report("TOTAL-PASSED")).into_string();
        assert!(vi.contains("class=\"verdict ok\""));
        assert!(vi.contains("Văn bản xác thực, không bị sửa đổi sau khi ký"));
        let en = report_panel(Lang::En, &report("INDETERMINATE")).into_string();
        assert!(en.contains("class=\"verdict warn\""));
        assert!(en.contains("Cannot be determined"));
        assert!(en.contains("Changed."));
        let empty = signature_list(Lang::Vi, &json!({"signatures": []})).into_string();
        assert!(empty.contains("Không có chữ ký số nào"));
    }
}

//! One document at the clerk's desk (`/clerk/documents/{id}`): page thumbnails beside the
//! recognized text, the Decree 30 metadata form (saved by `app.js` through
//! `PATCH /api/v1/documents/{id}/metadata` with the version it was read at: a 409 tells the
//! clerk to reload), OCR on demand for an original without text, and the versions.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};

use super::clerk::{document_id, document_role_label, size_text, version_kind_label, vn_datetime};
use super::{PageCtx, PageError, error_message, layout};
use crate::archive::ArchiveError;
use crate::archive::documents::{DocumentMetadata, Version, VersionKind};
use crate::http::AppState;
use crate::http::authz::Permission;

/// Thumbnails shown at most on a document page (a 300-page scan is read on its own).
const MAX_THUMBNAILS: usize = 60;

pub fn router() -> Router<AppState> {
    Router::new().route("/clerk/documents/{id}", get(document_page))
}

async fn document_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let caller = ctx.require(Permission::DocumentWrite)?;
    let id = document_id(&ctx, &id)?;
    let archive = state.pipeline.archive();
    let record = archive.document(id).await.map_err(|e| ctx.error(e))?;
    let latest = record
        .latest()
        .cloned()
        .ok_or_else(|| ctx.error(ArchiveError::DocumentNotFound { document_id: id }))?;
    // Reading a confidential document's text is itself recorded (as a download is).
    archive
        .open_version(latest.version_id, &caller.actor(), state.now())
        .await
        .map_err(|e| ctx.error(e))?;
    let text = archive
        .version_text(latest.version_id)
        .await
        .map_err(|e| ctx.error(e))?;
    let pages = state.pipeline.page_count(&latest).await;
    let body = html! {
        div data-page="clerk-document" data-document-id=(id) data-version=(latest.version) {
            p.muted {
                @if let Some(code) = &record.document.dossier_code {
                    (ctx.tr("Hồ sơ", "Dossier")) " " a #dossier-link href={ "/clerk/dossiers/" (code) } { (code) } " · "
                }
                (document_role_label(ctx.lang, record.document.role)) " · "
                (ctx.tr("phiên bản", "version")) " " span #current-version { (latest.version) }
                " (" (version_kind_label(ctx.lang, latest.kind)) ") · "
                a href={ "/api/v1/documents/" (id) "/versions/" (latest.version) "/content" } { (ctx.tr("Tải xuống", "Download")) }
            }
            div.document-layout {
                section.card.thumbs-panel {
                    h2 { (ctx.tr("Các trang", "Pages")) }
                    @match &pages {
                        Ok(count) => {
                            div.thumbs #thumbs {
                                @for n in 1..=(*count).min(MAX_THUMBNAILS) {
                                    a href={ "/api/v1/documents/" (id) "/versions/" (latest.version) "/pages/" (n) "?width=1200" } target="_blank" {
                                        img.thumb loading="lazy" alt={ (ctx.tr("Trang", "Page")) " " (n) }
                                            src={ "/api/v1/documents/" (id) "/versions/" (latest.version) "/pages/" (n) "?width=200" };
                                    }
                                }
                            }
                            @if *count > MAX_THUMBNAILS {
                                p.muted { (ctx.tr("Chỉ hiển thị", "Showing the first")) " " (MAX_THUMBNAILS) " / " (count) }
                            }
                        }
                        Err(error) => p.muted #no-thumbs { (error_message(ctx.lang, error)) }
                    }
                }
                section.card.text-panel {
                    h2 { (ctx.tr("Văn bản nhận dạng", "Recognized text")) }
                    @if let Some(c) = latest.ocr_confidence {
                        p.muted { (ctx.tr("Độ tin cậy trung bình", "Mean confidence")) ": " (format!("{c:.0}")) " %" }
                    }
                    @match &text {
                        Some(text) => pre.ocr #ocr-text { (text) },
                        None => {
                            pre.ocr.empty #ocr-text {}
                            p.muted #no-text { (ctx.tr("Chưa có văn bản nhận dạng.", "No recognized text yet.")) }
                            @if latest.kind == VersionKind::Original && latest.media_type != "application/octet-stream" {
                                p { button.secondary #start-ocr type="button" { (ctx.tr("Nhận dạng chữ (OCR)", "Recognize the text (OCR)")) } }
                                div.progress.hidden #ocr-progress { span {} }
                                p #ocr-message {}
                            }
                        }
                    }
                }
                section.card.meta-panel {
                    h2 { (ctx.tr("Thông tin văn bản (Nghị định 30)", "Document metadata (Decree 30)")) }
                    (metadata_form(&ctx, &latest))
                }
            }
            section.card #versions {
                h2 { (ctx.tr("Các phiên bản", "Versions")) }
                table {
                    thead { tr {
                        th { "#" } th { (ctx.tr("Loại", "Kind")) } th { (ctx.tr("Thời điểm", "When")) }
                        th { (ctx.tr("Người thực hiện", "By")) } th { (ctx.tr("Lý do", "Why")) } th { (ctx.tr("Kích thước", "Size")) }
                    } }
                    tbody { @for v in record.versions.iter().rev() {
                        tr {
                            td { a href={ "/api/v1/documents/" (id) "/versions/" (v.version) "/content" } { (v.version) } }
                            td { (version_kind_label(ctx.lang, v.kind)) }
                            td { (vn_datetime(v.created_at)) }
                            td { (v.created_by) }
                            td { (v.reason) }
                            td { (size_text(v.size_bytes)) }
                        }
                    } }
                }
            }
        }
    };
    let title = format!("{} #{id}", ctx.tr("Tài liệu", "Document"));
    Ok(layout(&ctx, &title, body))
}

fn metadata_form(ctx: &PageCtx, version: &Version) -> Markup {
    let m: &DocumentMetadata = &version.metadata;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let fields: [(&str, &str, &str, String, u32); 9] = [
        (
            "type_name",
            ctx.tr("Tên loại văn bản", "Type"),
            "",
            text(&m.type_name),
            100,
        ),
        (
            "code_number",
            ctx.tr("Số", "Number"),
            "",
            text(&m.code_number),
            11,
        ),
        (
            "code_notation",
            ctx.tr("Ký hiệu", "Notation"),
            "QĐ-UBND",
            text(&m.code_notation),
            30,
        ),
        (
            "organ_name",
            ctx.tr("Cơ quan ban hành", "Issuing agency"),
            "",
            text(&m.organ_name),
            200,
        ),
        (
            "signer_name",
            ctx.tr("Họ tên người ký", "Signer's name"),
            "",
            text(&m.signer_name),
            50,
        ),
        (
            "signer_position",
            ctx.tr("Chức vụ người ký", "Signer's position"),
            "",
            text(&m.signer_position),
            100,
        ),
        (
            "language",
            ctx.tr("Ngôn ngữ", "Language"),
            "vi",
            text(&m.language),
            30,
        ),
        (
            "description",
            ctx.tr("Ghi chú", "Description"),
            "",
            text(&m.description),
            500,
        ),
        (
            "page_count",
            ctx.tr("Số trang", "Pages"),
            "",
            m.page_count.map(|n| n.to_string()).unwrap_or_default(),
            6,
        ),
    ];
    let urgency = m.urgency.map(|u| serde_value(&u)).unwrap_or_default();
    let confidentiality = m
        .confidentiality
        .map(|c| serde_value(&c))
        .unwrap_or_default();
    html! {
        form #metadata-form data-document-id=(version.document_id) data-version=(version.version) {
            @for (name, label, placeholder, value, max) in &fields[..3] {
                (field(name, label, placeholder, value, *max))
            }
            label for="meta-issued_date" { (ctx.tr("Ngày ban hành", "Issued on")) }
            input #meta-issued_date name="issued_date" type="date"
                value=(m.issued_date.map(|d| d.to_string()).unwrap_or_default());
            label for="meta-subject" { (ctx.tr("Trích yếu nội dung", "Subject")) }
            textarea #meta-subject name="subject" maxlength="500" rows="3" { (text(&m.subject)) }
            @for (name, label, placeholder, value, max) in &fields[3..] {
                (field(name, label, placeholder, value, *max))
            }
            label for="meta-urgency" { (ctx.tr("Mức độ khẩn", "Urgency")) }
            select #meta-urgency name="urgency" {
                option value="" { "—" }
                @for (value, vi, en) in [("normal", "thường", "normal"), ("urgent", "khẩn", "urgent"), ("very_urgent", "thượng khẩn", "very urgent"), ("flash", "hỏa tốc", "flash")] {
                    option value=(value) selected[urgency == value] { (ctx.tr(vi, en)) }
                }
            }
            label for="meta-confidentiality" { (ctx.tr("Độ mật", "Confidentiality")) }
            select #meta-confidentiality name="confidentiality" {
                option value="" { "—" }
                @for (value, vi, en) in [("normal", "thường", "normal"), ("confidential", "mật", "confidential"), ("secret", "tối mật", "secret"), ("top_secret", "tuyệt mật", "top secret")] {
                    option value=(value) selected[confidentiality == value] { (ctx.tr(vi, en)) }
                }
            }
            label for="meta-reason" { (ctx.tr("Lý do sửa", "Reason for the change")) }
            input #meta-reason name="reason" maxlength="500" value=(ctx.tr("Cán bộ kiểm tra, sửa thông tin", "Checked and corrected by the clerk"));
            p {
                button #metadata-save type="submit" { (ctx.tr("Lưu thông tin", "Save")) }
                " " span #metadata-message role="status" {}
            }
        }
    }
}

fn field(name: &str, label: &str, placeholder: &str, value: &str, max: u32) -> Markup {
    let id = format!("meta-{name}");
    html! {
        label for=(id) { (label) }
        input id=(id) name=(name) maxlength=(max) value=(value) placeholder=(placeholder)
            inputmode=[(name == "page_count").then_some("numeric")];
    }
}

/// The serde name of a unit enum value (`very_urgent`).
fn serde_value<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

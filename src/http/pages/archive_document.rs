//! A document in the archive (`/archive/documents/{id}`): its Decree 30 details, its
//! signatures panel (the newest stored verification report, in plain words, with a button
//! that verifies it again through `POST /api/v1/documents/{id}/verify`), its versions with
//! their downloads, and its recognized text (reading it is audited for confidential
//! documents). Officials read only what they were asked to sign.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde_json::Value;

use super::archive::{day, document_title, kind_label, role_label, size, when};
use super::{Lang, PageCtx, PageError, layout, public, url_encode};
use crate::archive::ArchiveError;
use crate::archive::documents::{
    Confidentiality, DocumentMetadata, DocumentRecord, ReportSummary, Urgency, Version,
};
use crate::http::AppState;
use crate::http::authz::{Permission, reads_only_assigned};
use crate::http::error::HttpError;

pub fn router() -> Router<AppState> {
    Router::new().route("/archive/documents/{id}", get(document_page))
}

/// The document, if the caller may read it: officials only what they were asked to sign
/// (403 when it exists but is not theirs, 404 when it does not exist at all).
async fn readable_document(
    state: &AppState,
    ctx: &PageCtx,
    document_id: i64,
) -> Result<DocumentRecord, PageError> {
    let caller = ctx.require(Permission::DocumentRead)?;
    let archive = state.pipeline.archive();
    let record = archive
        .document(document_id)
        .await
        .map_err(|e| ctx.error(e))?;
    if reads_only_assigned(caller.role())
        && !archive
            .is_assigned_to(document_id, caller.user.user_id)
            .await
            .map_err(|e| ctx.error(e))?
    {
        return Err(ctx.error(HttpError::Forbidden {
            action: Permission::DocumentRead.action(),
        }));
    }
    Ok(record)
}

/// The newest report of the newest version that has one.
fn newest_report(record: &DocumentRecord) -> Option<(&ReportSummary, &Version)> {
    record.versions.iter().rev().find_map(|version| {
        record
            .reports
            .iter()
            .filter(|r| r.version_id == version.version_id)
            .max_by_key(|r| (r.checked_at, r.report_id))
            .map(|report| (report, version))
    })
}

async fn document_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(document_id): Path<String>,
) -> Result<Response, PageError> {
    ctx.require(Permission::DocumentRead)?;
    // Not a number: the error as a page, not axum's plain-text rejection.
    let document_id = super::clerk::document_id(&ctx, &document_id)?;
    let record = readable_document(&state, &ctx, document_id).await?;
    let caller = ctx.caller()?;
    let archive = state.pipeline.archive();
    let Some(latest) = record.latest() else {
        return Err(ctx.error(ArchiveError::Corrupt {
            what: format!("document {document_id} has no version"),
        }));
    };
    // The text shown is content: reading it is audited for confidential documents.
    let text_version = record.versions.iter().rev().find(|v| v.has_text);
    let text = match text_version {
        Some(version) => {
            archive
                .open_version(version.version_id, &caller.actor(), state.now())
                .await
                .map_err(|e| ctx.error(e))?;
            archive
                .version_text(version.version_id)
                .await
                .map_err(|e| ctx.error(e))?
                .map(|text| (version, text))
        }
        None => None,
    };
    let report = match newest_report(&record) {
        Some((summary, version)) => {
            let json = archive
                .report_json(summary.report_id)
                .await
                .map_err(|e| ctx.error(e))?;
            let value: Value = serde_json::from_str(&json).map_err(|e| {
                ctx.error(ArchiveError::Corrupt {
                    what: format!("report {}: {e}", summary.report_id),
                })
            })?;
            Some((summary, version, value))
        }
        None => None,
    };
    let title = document_title(&latest.metadata, &latest.file_name);
    let document = &record.document;
    let body = html! {
        div data-page="archive-document" data-document=(document_id) {
            p.facts {
                (role_label(ctx.lang, document.role))
                @if let Some(code) = &document.dossier_code {
                    " · " (ctx.tr("hồ sơ", "dossier")) " "
                    a #dossier-link href={ "/archive/dossiers/" (url_encode(code)) } { (code) }
                }
                " · " (ctx.tr("lưu lúc", "stored")) " " (when(document.created_at))
                " " (ctx.tr("bởi", "by")) " " (document.created_by)
            }
            div.actions.no-print {
                a.button #download-latest href=(content_url(document_id, latest)) {
                    (ctx.tr("Tải bản mới nhất", "Download the newest version"))
                }
                @if let Some(code) = &document.dossier_code {
                    @if caller.may(Permission::Export) {
                        " "
                        a.button.secondary #export href={ "/api/v1/dossiers/" (url_encode(code)) "/export" } {
                            (ctx.tr("Xuất hồ sơ (BagIt)", "Export the dossier (BagIt)"))
                        }
                    }
                }
                " "
                button.secondary type="button" data-print { (ctx.tr("In trang", "Print")) }
            }
            div.grid2 {
                section #metadata.card {
                    h2 { (ctx.tr("Thông tin văn bản", "Document details")) }
                    (metadata_table(ctx.lang, &latest.metadata))
                }
                (signatures_panel(&ctx, document_id, report.as_ref()))
            }
            section #versions.card {
                h2 { (ctx.tr("Các phiên bản", "Versions")) }
                (versions_table(ctx.lang, document_id, &record.versions))
            }
            @if let Some((version, text)) = &text {
                section.card {
                    details #ocr-details {
                        summary {
                            (ctx.tr("Văn bản nhận dạng (OCR)", "Recognized text (OCR)"))
                            " — " (ctx.tr("phiên bản", "version")) " " (version.version)
                            @if let Some(confidence) = version.ocr_confidence {
                                " · " (ctx.tr("độ tin cậy", "confidence")) " " (format!("{confidence:.0}")) "%"
                            }
                        }
                        pre.ocr #ocr-text { (text) }
                    }
                }
            }
        }
    };
    Ok(layout(&ctx, &title, body))
}

fn content_url(document_id: i64, version: &Version) -> String {
    format!(
        "/api/v1/documents/{document_id}/versions/{}/content",
        version.version
    )
}

fn metadata_table(lang: Lang, m: &DocumentMetadata) -> Markup {
    let tr = |vi, en| lang.tr(vi, en);
    let urgency = m.urgency.map(|u| urgency_label(lang, u));
    let confidentiality = m.confidentiality.map(|c| confidentiality_label(lang, c));
    let issued = m.issued_date.map(day);
    let pages = m.page_count.map(|p| p.to_string());
    let rows: [(&str, Option<&str>); 13] = [
        (
            tr("Tên loại văn bản", "Document type"),
            m.type_name.as_deref(),
        ),
        (tr("Số", "Number"), m.code_number.as_deref()),
        (tr("Ký hiệu", "Symbol"), m.code_notation.as_deref()),
        (tr("Ngày ban hành", "Issued on"), issued.as_deref()),
        (
            tr("Cơ quan ban hành", "Issuing agency"),
            m.organ_name.as_deref(),
        ),
        (tr("Trích yếu", "Subject"), m.subject.as_deref()),
        (
            tr("Chức vụ người ký", "Signer's position"),
            m.signer_position.as_deref(),
        ),
        (tr("Người ký", "Signer"), m.signer_name.as_deref()),
        (tr("Độ khẩn", "Urgency"), urgency),
        (tr("Độ mật", "Confidentiality"), confidentiality),
        (tr("Số trang", "Pages"), pages.as_deref()),
        (tr("Ngôn ngữ", "Language"), m.language.as_deref()),
        (tr("Ghi chú", "Notes"), m.description.as_deref()),
    ];
    html! {
        table.meta {
            @for (label, value) in rows {
                @if let Some(value) = value {
                    tr { th scope="row" { (label) } td { (value) } }
                }
            }
        }
        @if rows.iter().all(|(_, v)| v.is_none()) {
            p.muted { (lang.tr("Chưa có thông tin văn bản.", "No document details yet.")) }
        }
    }
}

fn urgency_label(lang: Lang, urgency: Urgency) -> &'static str {
    match urgency {
        Urgency::Normal => lang.tr("thường", "normal"),
        Urgency::Urgent => lang.tr("khẩn", "urgent"),
        Urgency::VeryUrgent => lang.tr("thượng khẩn", "very urgent"),
        Urgency::Flash => lang.tr("hỏa tốc", "flash"),
    }
}

fn confidentiality_label(lang: Lang, confidentiality: Confidentiality) -> &'static str {
    match confidentiality {
        Confidentiality::Normal => lang.tr("thường", "normal"),
        Confidentiality::Confidential => lang.tr("mật", "confidential"),
        Confidentiality::Secret => lang.tr("tối mật", "secret"),
        Confidentiality::TopSecret => lang.tr("tuyệt mật", "top secret"),
    }
}

fn versions_table(lang: Lang, document_id: i64, versions: &[Version]) -> Markup {
    html! {
        table #versions-table {
            thead { tr {
                th { "#" }
                th { (lang.tr("Loại", "Kind")) }
                th { (lang.tr("Thời điểm", "When")) }
                th { (lang.tr("Người thực hiện", "Who")) }
                th { (lang.tr("Lý do", "Why")) }
                th { (lang.tr("Dung lượng", "Size")) }
                th { "SHA-256" }
                th.no-print { }
            } }
            tbody {
                @for version in versions.iter().rev() {
                    tr.version data-version=(version.version) {
                        td { (version.version) }
                        td { (kind_label(lang, version.kind)) }
                        td { (when(version.created_at)) }
                        td { (version.created_by) }
                        td { (version.reason) }
                        td { (size(lang, version.size_bytes)) }
                        td { code.sha title=(version.sha256) { (version.sha256.get(..16).unwrap_or(&version.sha256)) "…" } }
                        td.no-print {
                            a.download href=(content_url(document_id, version)) download {
                                (lang.tr("Tải về", "Download"))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn signatures_panel(
    ctx: &PageCtx,
    document_id: i64,
    report: Option<&(&ReportSummary, &Version, Value)>,
) -> Markup {
    html! {
        section #signatures.card {
            h2 { (ctx.tr("Chữ ký số", "Digital signatures")) }
            @match report {
                Some((summary, version, value)) => {
                    p.muted #report-info {
                        (ctx.tr("Kiểm tra lần cuối", "Last checked")) " " (when(summary.checked_at))
                        " " (ctx.tr("bởi", "by")) " " (summary.checked_by)
                        " · " (ctx.tr("phiên bản", "version")) " " (version.version)
                    }
                    (public::verdict_line(ctx.lang, value))
                    (public::signature_list(ctx.lang, value))
                }
                None => {
                    p.muted #report-info { (ctx.tr("Tài liệu chưa được kiểm tra chữ ký.", "The document's signatures have not been checked.")) }
                }
            }
            div.no-print {
                button.secondary #reverify type="button" data-url={ "/api/v1/documents/" (document_id) "/verify" } {
                    (ctx.tr("Kiểm tra lại", "Check again"))
                }
                " " span #reverify-status role="status" {}
            }
        }
    }
}

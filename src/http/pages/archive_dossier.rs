//! A dossier in the archive, read-only (`/archive/dossiers/{code}`): its facts, documents
//! and history, with the export (archivists) and a search within it.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use maud::html;

use super::archive::{document_title, role_label, status_label, when};
use super::{PageCtx, PageError, layout, url_encode};
use crate::archive::ArchiveError;
use crate::archive::codes::DossierCode;
use crate::http::AppState;
use crate::http::authz::Permission;

pub fn router() -> Router<AppState> {
    Router::new().route("/archive/dossiers/{code}", get(dossier_page))
}

async fn dossier_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let caller = ctx.require(Permission::DossierRead)?;
    let code = DossierCode::parse(&code)
        .map_err(|value| ctx.error(ArchiveError::DossierCodeInvalid { value }))?;
    let archive = state.pipeline.archive();
    let record = archive.dossier(&code).await.map_err(|e| ctx.error(e))?;
    let documents = archive
        .dossier_documents(&code)
        .await
        .map_err(|e| ctx.error(e))?;
    let dossier = &record.dossier;
    let lang = ctx.lang;
    let body = html! {
        div data-page="archive-dossier" data-dossier=(dossier.code) {
            div.actions.no-print {
                @if caller.may(Permission::Export) {
                    a.button #export href={ "/api/v1/dossiers/" (url_encode(&dossier.code)) "/export" } {
                        (ctx.tr("Xuất hồ sơ (BagIt)", "Export the dossier (BagIt)"))
                    }
                    " "
                }
                @if caller.may(Permission::Search) {
                    a.button.secondary href={ "/archive?dossier=" (url_encode(&dossier.code)) } {
                        (ctx.tr("Tìm trong hồ sơ", "Search this dossier"))
                    }
                }
            }
            section.card #dossier-facts {
                table.meta {
                    tr { th scope="row" { (ctx.tr("Mã hồ sơ", "Dossier code")) } td { (dossier.code) } }
                    tr { th scope="row" { (ctx.tr("Thủ tục", "Procedure")) }
                        td { (record.procedure.name) " (" (record.procedure.code) ")"
                            @if let Some(field) = &record.procedure.field { " · " (field) } } }
                    tr { th scope="row" { (ctx.tr("Người nộp", "Applicant")) } td { (dossier.applicant_name) } }
                    tr { th scope="row" { (ctx.tr("Trạng thái", "Status")) }
                        td { span.status { (status_label(lang, dossier.status)) } } }
                    tr { th scope="row" { (ctx.tr("Tiếp nhận", "Received")) } td { (when(dossier.received_at)) } }
                    tr { th scope="row" { (ctx.tr("Hẹn trả kết quả", "Due")) } td { (when(dossier.due_at)) } }
                    @if let Some(resolved) = dossier.resolved_at {
                        tr { th scope="row" { (ctx.tr("Giải quyết", "Resolved")) }
                            td { (when(resolved))
                                @if resolved > dossier.due_at { " " span.bad { (ctx.tr("trễ hạn", "late")) } } } }
                    }
                    @if let Some(returned) = dossier.returned_at {
                        tr { th scope="row" { (ctx.tr("Trả kết quả", "Returned")) } td { (when(returned)) } }
                    }
                }
            }
            section.card #dossier-documents {
                h2 { (ctx.tr("Tài liệu", "Documents")) }
                @if documents.is_empty() {
                    p.muted { (ctx.tr("Hồ sơ chưa có tài liệu.", "The dossier has no documents yet.")) }
                } @else {
                    table {
                        thead { tr {
                            th { (ctx.tr("Tài liệu", "Document")) }
                            th { (ctx.tr("Vai trò", "Role")) }
                            th { (ctx.tr("Phiên bản", "Versions")) }
                            th { (ctx.tr("Cập nhật", "Updated")) }
                        } }
                        tbody {
                            @for doc in &documents {
                                @if let Some(latest) = doc.latest() {
                                    tr.document {
                                        td { a href={ "/archive/documents/" (doc.document.document_id) } {
                                            (document_title(&latest.metadata, &latest.file_name)) } }
                                        td { (role_label(lang, doc.document.role)) }
                                        td { (doc.versions.len()) }
                                        td { (when(latest.created_at)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card #dossier-history {
                h2 { (ctx.tr("Quá trình xử lý", "History")) }
                table {
                    thead { tr {
                        th { (ctx.tr("Thời điểm", "When")) }
                        th { (ctx.tr("Bước", "Step")) }
                        th { (ctx.tr("Người thực hiện", "Who")) }
                        th { (ctx.tr("Ghi chú", "Note")) }
                    } }
                    tbody {
                        @for event in &record.events {
                            tr {
                                td { (when(event.at)) }
                                td {
                                    @if let Some(from) = event.from { (status_label(lang, from)) " → " }
                                    (status_label(lang, event.to))
                                }
                                td { (event.actor) }
                                td { (event.note.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    };
    let title = format!("{} {}", ctx.tr("Hồ sơ", "Dossier"), dossier.code);
    Ok(layout(&ctx, &title, body))
}

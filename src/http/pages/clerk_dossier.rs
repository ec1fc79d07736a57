//! One dossier at the clerk's desk (`/clerk/dossiers/{code}`): its facts and due date, the
//! buttons that move it a step, its papers and results with their OCR and signature state,
//! the drop zone for scans (uploaded by `app.js` through the API) and the form that asks an
//! official to sign a result. The step and sign-request forms post here and answer with a
//! redirect to the page and a notice, or with the page again and the error.

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::clerk::{
    Notice, channel_label, document_role_label, document_title, dossier_code, form_error,
    is_overdue, notice_markup, sign_state_label, size_text, status_label, step_label,
    version_kind_label, vn_date, vn_datetime, with_status,
};
use super::{PageCtx, PageError, layout, url_encode};
use crate::archive::ArchiveError;
use crate::archive::accounts::{Role, SignRequest};
use crate::archive::codes::DossierCode;
use crate::archive::documents::{DocumentRecord, DocumentRole};
use crate::archive::dossiers::{DossierStatus, Transition};
use crate::error::Error;
use crate::http::AppState;
use crate::http::authz::Permission;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clerk/dossiers/{code}", get(dossier_page))
        .route("/clerk/dossiers/{code}/transitions", post(transition))
        .route("/clerk/dossiers/{code}/sign-requests", post(sign_request))
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    ok: Option<String>,
}

fn done_text(ctx: &PageCtx, what: &str) -> Option<String> {
    let text = match what {
        "created" => ctx.tr(
            "Đã tiếp nhận hồ sơ. Hãy tải các thành phần hồ sơ lên và in giấy tiếp nhận.",
            "Dossier received. Upload its papers and print the receipt.",
        ),
        "transition" => ctx.tr(
            "Đã chuyển trạng thái hồ sơ.",
            "The dossier moved to its next step.",
        ),
        "sign-request" => ctx.tr(
            "Đã trình ký văn bản.",
            "The document was sent for signature.",
        ),
        _ => return None,
    };
    Some(text.to_owned())
}

async fn dossier_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::DossierWrite)?;
    let code = dossier_code(&ctx, &code)?;
    let notice = query
        .ok
        .as_deref()
        .and_then(|what| done_text(&ctx, what))
        .map(Notice::Done);
    render_dossier(&state, &ctx, &code, notice).await
}

async fn render_dossier(
    state: &AppState,
    ctx: &PageCtx,
    code: &DossierCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    let archive = state.pipeline.archive();
    let record = archive.dossier(code).await.map_err(|e| ctx.error(e))?;
    let documents = archive
        .dossier_documents(code)
        .await
        .map_err(|e| ctx.error(e))?;
    let mut requests: HashMap<i64, Vec<SignRequest>> = HashMap::new();
    for document in &documents {
        let id = document.document.document_id;
        let of_document = archive
            .sign_requests_of_document(id)
            .await
            .map_err(|e| ctx.error(e))?;
        requests.insert(id, of_document);
    }
    let users = archive.users().await.map_err(|e| ctx.error(e))?;
    let officials: Vec<_> = users
        .iter()
        .filter(|u| u.role == Role::Official && !u.disabled)
        .collect();
    let names: HashMap<i64, &str> = users
        .iter()
        .map(|u| (u.user_id, u.display_name.as_str()))
        .collect();
    let d = &record.dossier;
    let now = state.now();
    let overdue = is_overdue(d, now);
    let steps = d.status.next_steps();
    let body = html! {
        div data-page="clerk-dossier" data-code=(d.code) {
            (notice_markup(ctx, notice.as_ref()))
            section.card #dossier-summary {
                div.grid2 {
                    dl.facts {
                        dt { (ctx.tr("Mã hồ sơ", "Dossier code")) } dd #dossier-code { (d.code) }
                        dt { (ctx.tr("Thủ tục", "Procedure")) } dd { (record.procedure.code) " — " (record.procedure.name) }
                        dt { (ctx.tr("Người nộp", "Applicant")) } dd #applicant { (d.applicant_name) }
                        @if let Some(id) = &d.applicant_id_number {
                            dt { (ctx.tr("Số định danh", "ID number")) } dd { (id) }
                        }
                        @if let Some(contact) = &d.applicant_contact {
                            dt { (ctx.tr("Liên hệ", "Contact")) } dd { (contact) }
                        }
                        dt { (ctx.tr("Hình thức nộp", "Channel")) } dd { (channel_label(ctx.lang, d.channel)) }
                    }
                    dl.facts {
                        dt { (ctx.tr("Trạng thái", "Status")) }
                        dd { span #dossier-status class={ "status status-" (d.status.as_str()) } data-status=(d.status.as_str()) { (status_label(ctx.lang, d.status)) } }
                        dt { (ctx.tr("Tiếp nhận lúc", "Received at")) } dd { (vn_datetime(d.received_at)) }
                        dt { (ctx.tr("Hẹn trả kết quả", "Result due")) }
                        dd #due-date .bad[overdue] {
                            (vn_date(d.due_at))
                            " (" (record.procedure.processing_days) " " (ctx.tr("ngày làm việc", "working days")) ")"
                            @if overdue { " · " (ctx.tr("quá hạn", "overdue")) }
                        }
                    }
                }
                p.actions {
                    a.button #print-receipt href={ "/clerk/dossiers/" (d.code) "/receipt" } { (ctx.tr("In giấy tiếp nhận", "Print the receipt")) }
                    " "
                    a.button.secondary href="/clerk" { (ctx.tr("Về danh sách", "Back to the list")) }
                }
            }
            @if !steps.is_empty() {
                section.card #transitions {
                    h2 { (ctx.tr("Chuyển bước xử lý", "Next step")) }
                    form #transition-form method="post" action={ "/clerk/dossiers/" (d.code) "/transitions" } {
                        input type="hidden" name="_csrf" value=(ctx.csrf());
                        label for="transition-note" { (ctx.tr("Ghi chú (lý do, nội dung cần bổ sung…)", "Note (reason, what to supplement…)")) }
                        input #transition-note name="note" maxlength="2000";
                        p.buttons { @for step in steps {
                            @let class = if matches!(step, DossierStatus::Rejected | DossierStatus::Withdrawn) { "step secondary" } else { "step" };
                            button class=(class) type="submit" name="to" value=(step.as_str()) data-to=(step.as_str()) {
                                (step_label(ctx.lang, *step))
                            }
                            " "
                        } }
                    }
                }
            }
            section.card #documents {
                h2 { (ctx.tr("Thành phần hồ sơ và kết quả", "Papers and results")) }
                (documents_table(ctx, &documents, &requests, &names))
            }
            section.card #upload {
                h2 { (ctx.tr("Tải tài liệu lên", "Upload documents")) }
                div.upload-options {
                    label for="upload-role" { (ctx.tr("Loại tài liệu", "Kind of document")) }
                    select #upload-role name="role" {
                        @for role in DocumentRole::ALL {
                            option value=(role.as_str()) { (document_role_label(ctx.lang, role)) }
                        }
                    }
                    label.inline { input #upload-ocr type="checkbox" name="ocr" checked; " " (ctx.tr("Nhận dạng chữ (OCR) bản quét", "Recognize the text of scans (OCR)")) }
                }
                div #dropzone .dropzone data-dossier=(d.code) {
                    p { (ctx.tr("Kéo thả các tệp quét (PDF, PNG, JPEG, TIFF) vào đây, hoặc", "Drop scans (PDF, PNG, JPEG, TIFF) here, or")) }
                    label.button for="file-input" { (ctx.tr("Chọn tệp…", "Choose files…")) }
                    input #file-input .visually-hidden type="file" multiple accept=".pdf,.png,.jpg,.jpeg,.tif,.tiff,application/pdf,image/*";
                    p.muted.no-script-hint { (ctx.tr("Cần bật JavaScript để tải tệp lên.", "Uploading needs JavaScript.")) }
                }
                ul #upload-list {}
                p #upload-done .hidden { a href={ "/clerk/dossiers/" (d.code) } { (ctx.tr("Tải lại trang để xem danh sách tài liệu mới", "Reload to see the updated list")) } }
            }
            @if !documents.is_empty() {
                section.card #sign-request {
                    h2 { (ctx.tr("Trình ký", "Ask for a signature")) }
                    @if officials.is_empty() {
                        p.notice { (ctx.tr("Chưa có tài khoản lãnh đạo ký duyệt.", "There is no official account.")) }
                    } @else {
                        form #sign-request-form method="post" action={ "/clerk/dossiers/" (d.code) "/sign-requests" } {
                            input type="hidden" name="_csrf" value=(ctx.csrf());
                            div.grid3 {
                                div {
                                    label for="sign-document" { (ctx.tr("Văn bản", "Document")) }
                                    select #sign-document name="document_id" required {
                                        @for doc in documents.iter().filter(|doc| doc.latest().is_some_and(|v| v.media_type == "application/pdf")) {
                                            @let latest = doc.latest();
                                            option value=(doc.document.document_id) selected[doc.document.role == DocumentRole::Result] {
                                                "#" (doc.document.document_id) " — " (latest.map(document_title).unwrap_or_default())
                                                " (" (document_role_label(ctx.lang, doc.document.role)) ")"
                                            }
                                        }
                                    }
                                }
                                div {
                                    label for="sign-official" { (ctx.tr("Người ký", "Official")) }
                                    select #sign-official name="official" required {
                                        @for o in &officials {
                                            option value=(o.username) { (o.display_name) " (" (o.username) ")" }
                                        }
                                    }
                                }
                                div {
                                    label for="sign-note" { (ctx.tr("Ghi chú", "Note")) }
                                    input #sign-note name="note" maxlength="2000";
                                }
                            }
                            p { button #sign-request-submit type="submit" { (ctx.tr("Trình ký", "Send for signature")) } }
                        }
                    }
                }
            }
            section.card #history {
                h2 { (ctx.tr("Quá trình xử lý", "History")) }
                table {
                    thead { tr {
                        th { (ctx.tr("Thời điểm", "When")) }
                        th { (ctx.tr("Bước", "Step")) }
                        th { (ctx.tr("Người thực hiện", "By")) }
                        th { (ctx.tr("Ghi chú", "Note")) }
                    } }
                    tbody { @for e in &record.events {
                        tr {
                            td { (vn_datetime(e.at)) }
                            td {
                                @if let Some(from) = e.from { (status_label(ctx.lang, from)) " → " }
                                (status_label(ctx.lang, e.to))
                            }
                            td { (e.actor) }
                            td { (e.note.as_deref().unwrap_or("")) }
                        }
                    } }
                }
            }
        }
    };
    let title = format!("{} {}", ctx.tr("Hồ sơ", "Dossier"), d.code);
    Ok(with_status(layout(ctx, &title, body), notice.as_ref()))
}

fn documents_table(
    ctx: &PageCtx,
    documents: &[DocumentRecord],
    requests: &HashMap<i64, Vec<SignRequest>>,
    names: &HashMap<i64, &str>,
) -> Markup {
    html! {
        @if documents.is_empty() {
            p.muted #no-documents { (ctx.tr("Chưa có tài liệu nào.", "No documents yet.")) }
        } @else {
            table #documents-table {
                thead { tr {
                    th { "#" }
                    th { (ctx.tr("Tài liệu", "Document")) }
                    th { (ctx.tr("Loại", "Kind")) }
                    th { (ctx.tr("Phiên bản", "Versions")) }
                    th { (ctx.tr("Nhận dạng chữ", "OCR")) }
                    th { (ctx.tr("Ký duyệt", "Signature")) }
                } }
                tbody { @for doc in documents {
                    @let id = doc.document.document_id;
                    @if let Some(latest) = doc.latest() {
                        tr.document-row data-document-id=(id) {
                            td { (id) }
                            td { a href={ "/clerk/documents/" (id) } { (document_title(latest)) } br; span.muted { (latest.file_name) " · " (size_text(latest.size_bytes)) } }
                            td { (document_role_label(ctx.lang, doc.document.role)) }
                            td { (doc.versions.len()) " · " (version_kind_label(ctx.lang, latest.kind)) }
                            td.ocr-state {
                                @if latest.has_text {
                                    span.ok { (ctx.tr("có văn bản", "text")) }
                                    @if let Some(c) = latest.ocr_confidence { span.muted { " (" (format!("{c:.0}")) " %)" } }
                                } @else {
                                    span.muted { (ctx.tr("chưa có", "none")) }
                                }
                            }
                            td.sign-state {
                                @for r in requests.get(&id).into_iter().flatten() {
                                    div {
                                        span class={ "sign-" (r.state.as_str()) } { (sign_state_label(ctx.lang, r.state)) }
                                        " · " (names.get(&r.official_id).copied().unwrap_or("?"))
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct TransitionForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    note: String,
}

async fn transition(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    form: Result<Form<TransitionForm>, FormRejection>,
) -> Result<Response, PageError> {
    let caller = ctx.require(Permission::DossierWrite)?;
    let code = dossier_code(&ctx, &code)?;
    let Form(form) = form.map_err(|e| ctx.error(form_error(&e)))?;
    let outcome = match DossierStatus::parse(&form.to) {
        Some(to) => {
            let step = Transition {
                to,
                actor: caller.actor(),
                note: (!form.note.trim().is_empty()).then(|| form.note.clone()),
            };
            state
                .pipeline
                .archive()
                .advance_dossier(&code, &step, state.now())
                .await
                .map(|_| ())
                .map_err(Error::from)
        }
        None => Err(ArchiveError::FieldInvalid {
            field: "to",
            value: form.to.clone(),
            reason: "not a dossier status".to_owned(),
        }
        .into()),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!(
            "/clerk/dossiers/{}?ok=transition",
            url_encode(code.as_str())
        ))
        .into_response()),
        Err(error) => {
            let ctx = ctx.at(format!("/clerk/dossiers/{}", url_encode(code.as_str())));
            render_dossier(&state, &ctx, &code, Some(Notice::Failed(error))).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct SignRequestForm {
    #[serde(default)]
    document_id: String,
    #[serde(default)]
    official: String,
    #[serde(default)]
    note: String,
}

async fn sign_request(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    form: Result<Form<SignRequestForm>, FormRejection>,
) -> Result<Response, PageError> {
    let caller = ctx.require(Permission::DocumentWrite)?;
    let code = dossier_code(&ctx, &code)?;
    let Form(form) = form.map_err(|e| ctx.error(form_error(&e)))?;
    let outcome = ask_to_sign(&state, &code, &form, &caller.actor()).await;
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!(
            "/clerk/dossiers/{}?ok=sign-request",
            url_encode(code.as_str())
        ))
        .into_response()),
        Err(error) => {
            let ctx = ctx.at(format!("/clerk/dossiers/{}", url_encode(code.as_str())));
            render_dossier(&state, &ctx, &code, Some(Notice::Failed(error))).await
        }
    }
}

/// Asks the official named in `form` to sign a document of dossier `code` (a document of
/// another dossier is refused: the form only offers this dossier's).
async fn ask_to_sign(
    state: &AppState,
    code: &DossierCode,
    form: &SignRequestForm,
    actor: &str,
) -> Result<(), Error> {
    let archive = state.pipeline.archive();
    let document_id: i64 =
        form.document_id
            .trim()
            .parse()
            .map_err(|_| ArchiveError::FieldInvalid {
                field: "document_id",
                value: form.document_id.clone(),
                reason: "not a document number".to_owned(),
            })?;
    let record = archive.document(document_id).await?;
    if record.document.dossier_code.as_deref() != Some(code.as_str()) {
        return Err(ArchiveError::DocumentNotFound { document_id }.into());
    }
    let official = state.pipeline.official(form.official.trim()).await?;
    let note = (!form.note.trim().is_empty()).then_some(form.note.as_str());
    archive
        .request_signature(document_id, official.user_id, note, actor, state.now())
        .await?;
    Ok(())
}

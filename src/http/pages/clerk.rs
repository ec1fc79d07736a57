//! The clerk's pages (`/clerk …`): receive a dossier, follow it through its steps, drop its
//! scans and watch them being read, check and correct what OCR found, ask an official to sign
//! the result, print the receipt (`receipt.rs`).
//!
//! Pages read through the archive and the pipeline (the functions the API and the CLI use).
//! Actions: receiving a dossier, moving it a step and asking for a signature are plain forms
//! posting to page routes here (they work without scripts, and answer with the page again
//! and a notice); uploads (progress per file, OCR followed until its text appears) and
//! metadata edits (optimistic locking: a 409 tells the clerk to reload) are done by
//! `app.js` through the API (`/api/v1/documents`, `/api/v1/jobs/{id}`,
//! `PATCH /api/v1/documents/{id}/metadata`).

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{Lang, PageCtx, PageError, layout, url_encode};
use crate::archive::ArchiveError;
use crate::archive::accounts::{Role, SignRequest, SignRequestState};
use crate::archive::calendar::VIETNAM;
use crate::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use crate::archive::documents::{
    DocumentMetadata, DocumentRecord, DocumentRole, Version, VersionKind,
};
use crate::archive::dossiers::{
    Applicant, Channel, Dossier, DossierFilter, DossierStatus, NewDossier, Transition,
};
use crate::archive::procedures::{MAX_PROCEDURE_PAGE, Procedure};
use crate::config::TEST_AGENCY_CODE;
use crate::error::{Coded, Error};
use crate::http::AppState;
use crate::http::authz::Permission;
use crate::http::error::{HttpError, status_of};

/// Dossiers listed on the dashboard.
const RECENT_DOSSIERS: i64 = 30;
/// Thumbnails shown at most on a document page (a 300-page scan is read on its own).
const MAX_THUMBNAILS: usize = 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clerk", get(dashboard))
        .route("/clerk/dossiers", post(create_dossier))
        .route("/clerk/dossiers/{code}", get(dossier_page))
        .route("/clerk/dossiers/{code}/transitions", post(transition))
        .route("/clerk/dossiers/{code}/sign-requests", post(sign_request))
        .route("/clerk/documents/{id}", get(document_page))
}

// ---- shared by the clerk's and the official's pages ---------------------------------------

/// `dd/mm/yyyy` in Vietnam.
pub(super) fn vn_date(at: OffsetDateTime) -> String {
    let at = at.to_offset(VIETNAM);
    format!("{:02}/{:02}/{}", at.day(), u8::from(at.month()), at.year())
}

/// `dd/mm/yyyy HH:MM` in Vietnam.
pub(super) fn vn_datetime(at: OffsetDateTime) -> String {
    let local = at.to_offset(VIETNAM);
    format!("{} {:02}:{:02}", vn_date(at), local.hour(), local.minute())
}

pub(super) fn status_label(lang: Lang, status: DossierStatus) -> &'static str {
    let en = match status {
        DossierStatus::Received => "received",
        DossierStatus::SupplementRequested => "supplement requested",
        DossierStatus::Appraised => "appraised",
        DossierStatus::Approved => "approved",
        DossierStatus::Rejected => "rejected",
        DossierStatus::Returned => "result returned",
        DossierStatus::Withdrawn => "withdrawn",
    };
    lang.tr(status.label_vi(), en)
}

/// The button that takes a dossier to `status`.
fn step_label(lang: Lang, status: DossierStatus) -> &'static str {
    match status {
        DossierStatus::Received => lang.tr("Đã nhận đủ bổ sung", "Supplement received"),
        DossierStatus::SupplementRequested => lang.tr("Yêu cầu bổ sung", "Request a supplement"),
        DossierStatus::Appraised => lang.tr("Đã thẩm định", "Appraised"),
        DossierStatus::Approved => lang.tr("Phê duyệt", "Approve"),
        DossierStatus::Rejected => lang.tr("Từ chối giải quyết", "Reject"),
        DossierStatus::Returned => lang.tr("Trả kết quả", "Return the result"),
        DossierStatus::Withdrawn => lang.tr("Rút hồ sơ", "Withdrawn by the applicant"),
    }
}

pub(super) fn channel_label(lang: Lang, channel: Channel) -> &'static str {
    match channel {
        Channel::InPerson => lang.tr("trực tiếp", "in person"),
        Channel::Online => lang.tr("trực tuyến", "online"),
        Channel::Postal => lang.tr("bưu chính công ích", "by post"),
    }
}

pub(super) fn document_role_label(lang: Lang, role: DocumentRole) -> &'static str {
    let en = match role {
        DocumentRole::Input => "dossier paper",
        DocumentRole::Result => "result",
        DocumentRole::Outgoing => "outgoing letter",
        DocumentRole::Incoming => "incoming letter",
        DocumentRole::CertifiedCopy => "certified copy",
        DocumentRole::Attachment => "attachment",
    };
    lang.tr(role.label_vi(), en)
}

pub(super) fn version_kind_label(lang: Lang, kind: VersionKind) -> &'static str {
    match kind {
        VersionKind::Original => lang.tr("bản gốc tải lên", "original upload"),
        VersionKind::Ocr => lang.tr("bản số hóa (OCR)", "searchable (OCR)"),
        VersionKind::Signed => lang.tr("bản đã ký số", "signed"),
        VersionKind::Extended => lang.tr("bản gia hạn chữ ký (LTV)", "extended (LTV)"),
        VersionKind::Metadata => lang.tr("sửa thông tin", "metadata corrected"),
    }
}

/// Still open and past its due time.
pub(super) fn is_overdue(dossier: &Dossier, now: OffsetDateTime) -> bool {
    dossier.resolved_at.is_none()
        && !matches!(
            dossier.status,
            DossierStatus::Returned | DossierStatus::Withdrawn
        )
        && dossier.due_at < now
}

/// What a person calls a document: type, number/notation and subject as far as known, else
/// its file name.
pub(super) fn document_title(version: &Version) -> String {
    let m = &version.metadata;
    let mut parts = Vec::new();
    if let Some(kind) = &m.type_name {
        parts.push(kind.clone());
    }
    match (&m.code_number, &m.code_notation) {
        (Some(n), Some(k)) => parts.push(format!("số {n}/{k}")),
        (Some(n), None) => parts.push(format!("số {n}")),
        (None, Some(k)) => parts.push(k.clone()),
        (None, None) => {}
    }
    if let Some(subject) = &m.subject {
        parts.push(subject.clone());
    }
    if parts.is_empty() {
        version.file_name.clone()
    } else {
        parts.join(" · ")
    }
}

pub(super) fn sign_state_label(lang: Lang, state: SignRequestState) -> &'static str {
    let en = match state {
        SignRequestState::Pending => "awaiting signature",
        SignRequestState::Signed => "signed",
        SignRequestState::Rejected => "refused",
    };
    lang.tr(state.label_vi(), en)
}

/// `1,2 MB`-style sizes.
pub(super) fn size_text(bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MB", bytes / (1024.0 * 1024.0))
    } else if bytes >= 1024.0 {
        format!("{:.0} KB", bytes / 1024.0)
    } else {
        format!("{bytes:.0} B")
    }
}

/// A document number from the path (a page, not axum's plain-text rejection, when it is not
/// one).
pub(super) fn document_id(ctx: &PageCtx, text: &str) -> Result<i64, PageError> {
    text.parse().map_err(|_| {
        ctx.error(ArchiveError::FieldInvalid {
            field: "id",
            value: text.chars().take(40).collect(),
            reason: "not a document number".to_owned(),
        })
    })
}

fn dossier_code(ctx: &PageCtx, code: &str) -> Result<DossierCode, PageError> {
    DossierCode::parse(code).map_err(|value| ctx.error(ArchiveError::DossierCodeInvalid { value }))
}

/// A notice above a page: what was just done, or why it could not be.
pub(super) enum Notice {
    Done(String),
    Failed(Error),
}

pub(super) fn notice_markup(ctx: &PageCtx, notice: Option<&Notice>) -> Markup {
    html! {
        @match notice {
            Some(Notice::Done(text)) => p.notice #page-notice role="status" { (text) },
            Some(Notice::Failed(error)) => p.error-box #page-error role="alert" {
                (match ctx.lang { Lang::Vi => error.message_vi(), Lang::En => error.to_string() })
                " [" code.error-code { (error.code()) } "]"
            },
            None => {},
        }
    }
}

/// A page shown with an error notice gets the error's status (422, 409 …).
fn with_status(mut response: Response, notice: Option<&Notice>) -> Response {
    if let Some(Notice::Failed(error)) = notice {
        *response.status_mut() = status_of(error.class());
    }
    response
}

// ---- dashboard ------------------------------------------------------------------------------

/// The new-dossier form, as submitted (kept to refill the form after an error).
#[derive(Debug, Default, Deserialize)]
pub(super) struct NewDossierForm {
    #[serde(default)]
    procedure: String,
    #[serde(default)]
    applicant_name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    note: String,
}

async fn dashboard(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, PageError> {
    ctx.require(Permission::DossierWrite)?;
    render_dashboard(&state, &ctx, &NewDossierForm::default(), None).await
}

async fn render_dashboard(
    state: &AppState,
    ctx: &PageCtx,
    form: &NewDossierForm,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    let archive = state.pipeline.archive();
    let procedures = archive
        .procedures("", MAX_PROCEDURE_PAGE)
        .await
        .map_err(|e| ctx.error(e))?;
    let dossiers = archive
        .list_dossiers(&DossierFilter {
            limit: RECENT_DOSSIERS,
            ..DossierFilter::default()
        })
        .await
        .map_err(|e| ctx.error(e))?;
    let names: HashMap<&str, &str> = procedures
        .iter()
        .map(|p| (p.code.as_str(), p.name.as_str()))
        .collect();
    let now = state.now();
    let body = html! {
        div data-page="clerk-dashboard" {
            (notice_markup(ctx, notice.as_ref()))
            section.card {
                h2 { (ctx.tr("Tiếp nhận hồ sơ mới", "Receive a new dossier")) }
                (new_dossier_form(ctx, &procedures, form))
            }
            section.card {
                h2 { (ctx.tr("Hồ sơ tiếp nhận gần đây", "Recently received dossiers")) }
                @if dossiers.is_empty() {
                    p.muted #no-dossiers { (ctx.tr("Chưa có hồ sơ nào.", "No dossiers yet.")) }
                } @else {
                    table #recent-dossiers {
                        thead { tr {
                            th { (ctx.tr("Mã hồ sơ", "Dossier code")) }
                            th { (ctx.tr("Thủ tục", "Procedure")) }
                            th { (ctx.tr("Người nộp", "Applicant")) }
                            th { (ctx.tr("Tiếp nhận", "Received")) }
                            th { (ctx.tr("Hẹn trả", "Due")) }
                            th { (ctx.tr("Trạng thái", "Status")) }
                        } }
                        tbody { @for d in &dossiers {
                            @let overdue = is_overdue(d, now);
                            tr.dossier-row.overdue[overdue] data-code=(d.code) {
                                td { a href={ "/clerk/dossiers/" (d.code) } { (d.code) } }
                                td { (names.get(d.procedure_code.as_str()).copied().unwrap_or(&d.procedure_code)) }
                                td { (d.applicant_name) }
                                td { (vn_datetime(d.received_at)) }
                                td.due.bad[overdue] {
                                    (vn_date(d.due_at))
                                    @if overdue { " · " (ctx.tr("quá hạn", "overdue")) }
                                }
                                td { span class={ "status status-" (d.status.as_str()) } { (status_label(ctx.lang, d.status)) } }
                            }
                        } }
                    }
                }
            }
        }
    };
    let response = layout(ctx, ctx.tr("Tiếp nhận hồ sơ", "Receive dossiers"), body);
    Ok(with_status(response, notice.as_ref()))
}

fn new_dossier_form(ctx: &PageCtx, procedures: &[Procedure], form: &NewDossierForm) -> Markup {
    let channels = [Channel::InPerson, Channel::Online, Channel::Postal];
    let chosen_channel = if form.channel.is_empty() {
        Channel::InPerson.as_str()
    } else {
        form.channel.as_str()
    };
    html! {
        form #new-dossier-form method="post" action="/clerk/dossiers" {
            input type="hidden" name="_csrf" value=(ctx.csrf());
            @if procedures.is_empty() {
                p.notice #no-procedures { (ctx.tr(
                    "Danh mục thủ tục trống: quản trị viên cần nhập danh mục trước.",
                    "The procedure catalogue is empty: an administrator must import it first."
                )) }
            }
            div.grid2 {
                div {
                    label for="procedure-search" { (ctx.tr("Tìm thủ tục", "Find a procedure")) }
                    input #procedure-search type="search" autocomplete="off"
                        placeholder=(ctx.tr("mã hoặc tên thủ tục, không cần dấu", "code or name, accents optional"));
                    label for="procedure" { (ctx.tr("Thủ tục hành chính", "Procedure")) }
                    select #procedure name="procedure" required {
                        option value="" { (ctx.tr("— chọn thủ tục —", "— choose a procedure —")) }
                        @for p in procedures {
                            option value=(p.code) selected[p.code == form.procedure]
                                data-days=(p.processing_days) {
                                (p.code) " — " (p.name) " (" (p.processing_days) " " (ctx.tr("ngày làm việc", "working days")) ")"
                            }
                        }
                    }
                    label for="channel" { (ctx.tr("Hình thức nộp", "Channel")) }
                    select #channel name="channel" {
                        @for c in channels {
                            option value=(c.as_str()) selected[c.as_str() == chosen_channel] { (channel_label(ctx.lang, c)) }
                        }
                    }
                }
                div {
                    label for="applicant-name" { (ctx.tr("Họ tên người nộp", "Applicant's name")) }
                    input #applicant-name name="applicant_name" required maxlength="200" value=(form.applicant_name);
                    label for="id-number" { (ctx.tr("Số định danh (CCCD) / mã số", "ID number")) }
                    input #id-number name="id_number" maxlength="20" value=(form.id_number)
                        placeholder=(ctx.tr("12 chữ số", "12 digits"));
                    label for="contact" { (ctx.tr("Địa chỉ, điện thoại, thư điện tử", "Address, phone, e-mail")) }
                    input #contact name="contact" maxlength="500" value=(form.contact);
                    label for="note" { (ctx.tr("Ghi chú", "Note")) }
                    input #note name="note" maxlength="2000" value=(form.note);
                }
            }
            p { button #new-dossier-submit type="submit" { (ctx.tr("Tiếp nhận hồ sơ", "Receive the dossier")) } }
        }
    }
}

/// The agency whose desk this service is (the prefix of dossier codes); the test code when
/// none is configured.
fn agency(state: &AppState) -> Result<AgencyCode, Error> {
    match &state.settings.agency_code {
        Some(code) => Ok(code.clone()),
        None => AgencyCode::parse(TEST_AGENCY_CODE)
            .map_err(|value| ArchiveError::AgencyCodeInvalid { value }.into()),
    }
}

/// A form body that could not be read: wrong content type, or not urlencoded.
pub(super) fn form_error(rejection: &FormRejection) -> Error {
    match rejection {
        FormRejection::InvalidFormContentType(_) => Error::Http(HttpError::UnsupportedMediaType {
            expected: "application/x-www-form-urlencoded",
        }),
        other => Error::Http(HttpError::QueryInvalid {
            reason: other.body_text(),
        }),
    }
}

async fn create_dossier(
    State(state): State<AppState>,
    ctx: PageCtx,
    form: Result<Form<NewDossierForm>, FormRejection>,
) -> Result<Response, PageError> {
    let caller = ctx.require(Permission::DossierWrite)?;
    let Form(form) = form.map_err(|e| ctx.error(form_error(&e)))?;
    let new = match agency(&state).and_then(|agency| new_dossier(&form, &caller.actor(), agency)) {
        Ok(new) => new,
        Err(error) => {
            return render_dashboard(&state, &ctx, &form, Some(Notice::Failed(error))).await;
        }
    };
    match state
        .pipeline
        .archive()
        .create_dossier(&new, state.now())
        .await
    {
        Ok(dossier) => Ok(Redirect::to(&format!(
            "/clerk/dossiers/{}?ok=created",
            url_encode(&dossier.code)
        ))
        .into_response()),
        Err(error) => {
            render_dashboard(&state, &ctx, &form, Some(Notice::Failed(error.into()))).await
        }
    }
}

fn new_dossier(
    form: &NewDossierForm,
    actor: &str,
    agency: AgencyCode,
) -> Result<NewDossier, Error> {
    let procedure = ProcedureCode::parse(&form.procedure)
        .map_err(|value| ArchiveError::ProcedureCodeInvalid { value })?;
    let channel = match form.channel.as_str() {
        "" | "in_person" => Channel::InPerson,
        "online" => Channel::Online,
        "postal" => Channel::Postal,
        other => {
            return Err(ArchiveError::FieldInvalid {
                field: "channel",
                value: other.to_owned(),
                reason: "expected in_person, online or postal".to_owned(),
            }
            .into());
        }
    };
    let optional = |text: &str| (!text.trim().is_empty()).then(|| text.to_owned());
    Ok(NewDossier {
        procedure,
        agency,
        applicant: Applicant {
            name: form.applicant_name.clone(),
            id_number: optional(&form.id_number),
            contact: optional(&form.contact),
        },
        channel,
        result_delivery: None,
        actor: actor.to_owned(),
        note: optional(&form.note),
    })
}

// ---- one dossier ----------------------------------------------------------------------------

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
        Err(error) => render_dossier(&state, &ctx, &code, Some(Notice::Failed(error))).await,
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
        Err(error) => render_dossier(&state, &ctx, &code, Some(Notice::Failed(error))).await,
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

// ---- one document ---------------------------------------------------------------------------

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
                        Err(error) => p.muted #no-thumbs { (match ctx.lang { Lang::Vi => error.message_vi(), Lang::En => error.to_string() }) }
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dates_are_shown_in_vietnam_time() {
        let at = datetime!(2026-11-30 17:30 UTC);
        assert_eq!(vn_date(at), "01/12/2026");
        assert_eq!(vn_datetime(at), "01/12/2026 00:30");
    }

    #[test]
    fn the_form_becomes_a_dossier_or_a_coded_error() {
        let agency = AgencyCode::parse("H53.100.01").unwrap();
        let form = NewDossierForm {
            procedure: "1.001193".to_owned(),
            applicant_name: "Nguyễn Văn An".to_owned(),
            id_number: " ".to_owned(),
            channel: "online".to_owned(),
            ..NewDossierForm::default()
        };
        let new = new_dossier(&form, "clerk1", agency.clone()).unwrap();
        assert_eq!(new.channel, Channel::Online);
        assert_eq!(new.applicant.id_number, None);
        let bad = NewDossierForm {
            procedure: "abc".to_owned(),
            ..NewDossierForm::default()
        };
        assert_eq!(
            new_dossier(&bad, "clerk1", agency.clone())
                .unwrap_err()
                .code(),
            "procedure-code-invalid"
        );
        let bad = NewDossierForm {
            channel: "fax".to_owned(),
            ..form
        };
        assert_eq!(
            new_dossier(&bad, "clerk1", agency).unwrap_err().code(),
            "field-invalid"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_text(512), "512 B");
        assert_eq!(size_text(2048), "2 KB");
        assert_eq!(size_text(3 * 1024 * 1024 + 100_000), "3.1 MB");
    }
}

//! The clerk's pages (`/clerk …`): receive a dossier, follow it through its steps, drop its
//! scans and watch them being read, check and correct what OCR found, ask an official to sign
//! the result, print the receipt (`receipt.rs`). This file holds the dashboard (new dossier,
//! recent dossiers) and what the clerk's and the official's pages share; one dossier is
//! `clerk_dossier.rs`, one document `clerk_document.rs`.
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
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{Lang, PageCtx, PageError, error_message, layout, url_encode};
use crate::archive::ArchiveError;
use crate::archive::accounts::SignRequestState;
use crate::archive::calendar::VIETNAM;
use crate::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use crate::archive::documents::{DocumentRole, Version, VersionKind};
use crate::archive::dossiers::{
    Applicant, Channel, Dossier, DossierFilter, DossierStatus, NewDossier,
};
use crate::archive::procedures::{MAX_PROCEDURE_PAGE, Procedure};
use crate::config::TEST_AGENCY_CODE;
use crate::error::{Coded, Error};
use crate::http::AppState;
use crate::http::authz::Permission;
use crate::http::error::{HttpError, status_of};

/// Dossiers listed on the dashboard.
const RECENT_DOSSIERS: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clerk", get(dashboard))
        .route("/clerk/dossiers", post(create_dossier))
        .merge(super::clerk_dossier::router())
        .merge(super::clerk_document::router())
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
pub(super) fn step_label(lang: Lang, status: DossierStatus) -> &'static str {
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

pub(super) fn dossier_code(ctx: &PageCtx, code: &str) -> Result<DossierCode, PageError> {
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
                (error_message(ctx.lang, error))
                " [" code.error-code { (error.code()) } "]"
            },
            None => {},
        }
    }
}

/// A page shown with an error notice gets the error's status (422, 409 …).
pub(super) fn with_status(mut response: Response, notice: Option<&Notice>) -> Response {
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
                                td.nowrap { a href={ "/clerk/dossiers/" (d.code) } { (d.code) } }
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
            return render_dashboard(
                &state,
                &ctx.at("/clerk"),
                &form,
                Some(Notice::Failed(error)),
            )
            .await;
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
            let ctx = ctx.at("/clerk");
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
    fn a_failure_notice_never_shows_an_internal_error_s_details() {
        for lang in [Lang::Vi, Lang::En] {
            let error = Error::Task("reading /var/lib/hoso/blobs/ab: permission denied".to_owned());
            let ctx = PageCtx {
                lang,
                caller: None,
                path: "/clerk".to_owned(),
                here: "/clerk".to_owned(),
                set_lang: false,
                expired: false,
            };
            let html = notice_markup(&ctx, Some(&Notice::Failed(error))).into_string();
            assert!(!html.contains("/var/lib"), "{html}");
            assert!(html.contains("internal-task-failed"), "{html}");
        }
        // Errors people can act on keep their words.
        let ctx = PageCtx {
            lang: Lang::En,
            caller: None,
            path: "/clerk".to_owned(),
            here: "/clerk".to_owned(),
            set_lang: false,
            expired: false,
        };
        let refused = Error::from(ArchiveError::DossierCodeInvalid {
            value: "abc".to_owned(),
        });
        let html = notice_markup(&ctx, Some(&Notice::Failed(refused))).into_string();
        assert!(html.contains("abc"), "{html}");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_text(512), "512 B");
        assert_eq!(size_text(2048), "2 KB");
        assert_eq!(size_text(3 * 1024 * 1024 + 100_000), "3.1 MB");
    }
}

//! The official's pages (`/official …`): the queue of documents awaiting their signature,
//! one document's pages with the box where the visible signature will go, and what they
//! signed.
//!
//! An official sees only what they were asked to sign (`Archive::is_assigned_to`): the
//! queue and the signed list come from their own sign requests, and a document page of
//! anything else answers 403 (404 only when the document does not exist at all). Signing
//! itself goes through the API from `app.js` (`POST /api/v1/sign`): the key is chosen among
//! the official's own keys, the password is asked once per batch in `#password` and never
//! kept by the page (the field is emptied as soon as the request leaves). The signature box
//! comes from `GET /api/v1/sign/placement`, in PDF points, turned into percentages of the
//! page preview by the script.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};

use super::clerk::{document_title, size_text, vn_date, vn_datetime};
use super::{PageCtx, PageError, layout};
use crate::archive::accounts::{SignRequest, SignRequestState, SigningKey};
use crate::archive::documents::DocumentRecord;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::authz::Permission;
use crate::http::error::HttpError;

/// Pages previewed at most on a document page.
const MAX_PREVIEW_PAGES: usize = 40;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/official", get(queue))
        .route("/official/signed", get(signed))
        .route("/official/documents/{id}", get(document_page))
}

/// The caller's keys that can sign now (enabled, certificate not expired).
async fn usable_keys(
    state: &AppState,
    ctx: &PageCtx,
    caller: &Caller,
) -> Result<Vec<SigningKey>, PageError> {
    let now = state.now();
    Ok(state
        .pipeline
        .archive()
        .signing_keys(caller.user.user_id)
        .await
        .map_err(|e| ctx.error(e))?
        .into_iter()
        .filter(|k| !k.disabled && k.not_after > now)
        .collect())
}

/// A request with its document, newest version first for the title.
struct Item {
    request: SignRequest,
    record: DocumentRecord,
}

async fn items(
    state: &AppState,
    ctx: &PageCtx,
    caller: &Caller,
    wanted: SignRequestState,
) -> Result<Vec<Item>, PageError> {
    let archive = state.pipeline.archive();
    let requests = archive
        .sign_requests_for(caller.user.user_id, Some(wanted))
        .await
        .map_err(|e| ctx.error(e))?;
    let mut items = Vec::with_capacity(requests.len());
    for request in requests {
        let record = archive
            .document(request.document_id)
            .await
            .map_err(|e| ctx.error(e))?;
        items.push(Item { request, record });
    }
    Ok(items)
}

/// The title in a certificate subject (`…, title=Chủ tịch, CN=…`) in capitals, as it is
/// printed above the signature in a Decree 30 signature block ("CHỦ TỊCH"); empty without
/// one. The official can change it on the page.
fn default_anchor(subject: &str) -> String {
    subject_part(subject, &["title", "T"])
        .map(|title| title.to_uppercase())
        .unwrap_or_default()
}

/// The first attribute of a subject (`C=VN, O=…, CN=…`) named one of `keys`.
fn subject_part(subject: &str, keys: &[&str]) -> Option<String> {
    subject
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .find(|(key, _)| keys.iter().any(|k| key.trim().eq_ignore_ascii_case(k)))
        .map(|(_, value)| value.trim().to_owned())
}

/// The panel that signs: key, appearance, reason, password (asked once per batch).
fn signing_panel(ctx: &PageCtx, keys: &[SigningKey], button: &str) -> Markup {
    html! {
        @if keys.is_empty() {
            p.notice #no-keys { (ctx.tr(
                "Bạn chưa có khóa ký số dùng được; đề nghị quản trị viên đăng ký khóa cho bạn.",
                "You have no usable signing key; ask an administrator to register one for you."
            )) }
        } @else {
            form #sign-form autocomplete="off" {
                div.grid2 {
                    div {
                        label for="key" { (ctx.tr("Khóa ký số", "Signing key")) }
                        select #key name="key_id" required {
                            @for k in keys {
                                option value=(k.key_id) data-anchor=(default_anchor(&k.subject)) { (k.name) " — " (subject_part(&k.subject, &["CN"]).unwrap_or_else(|| k.subject.clone())) " (" (ctx.tr("hạn", "until")) " " (vn_date(k.not_after)) ")" }
                            }
                        }
                        label for="appearance" { (ctx.tr("Hình thức chữ ký", "Visible signature")) }
                        select #appearance name="appearance" {
                            option value="official" { (ctx.tr("Chữ ký của người có thẩm quyền", "Official's signature")) }
                            option value="organization" { (ctx.tr("Chữ ký, dấu của cơ quan", "Organization's seal")) }
                            option value="none" { (ctx.tr("Không hiển thị", "Invisible")) }
                        }
                    }
                    div {
                        label for="anchor" { (ctx.tr("Ký dưới dòng chữ (chức danh)", "Sign under the text (title)")) }
                        input #anchor name="anchor" maxlength="200"
                            value=(keys.first().map(|k| default_anchor(&k.subject)).unwrap_or_default())
                            placeholder=(ctx.tr("ví dụ: CHỦ TỊCH", "e.g. CHỦ TỊCH"));
                        label for="reason" { (ctx.tr("Lý do ký", "Reason")) }
                        input #reason name="reason" maxlength="200" value=(ctx.tr("Phê duyệt", "Approved"));
                        label for="password" { (ctx.tr("Mật khẩu khóa ký số / mã PIN", "Key password / PIN")) }
                        input #password name="password" type="password" autocomplete="off" required;
                        p.muted.small { (ctx.tr(
                            "Mật khẩu chỉ dùng cho lần ký này và không được lưu lại.",
                            "The password is used for this signing only and is never stored."
                        )) }
                    }
                }
                p {
                    button #sign-submit type="submit" { (button) }
                    " "
                    span #sign-status role="status" {}
                }
                ul #sign-results {}
            }
        }
    }
}

async fn queue(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, PageError> {
    let caller = ctx.require(Permission::Sign)?;
    let items = items(&state, &ctx, caller, SignRequestState::Pending).await?;
    let keys = usable_keys(&state, &ctx, caller).await?;
    let body = html! {
        div data-page="official-queue" {
            section.card {
                @if items.is_empty() {
                    p.muted #queue-empty { (ctx.tr("Không có văn bản nào chờ ký.", "Nothing awaits your signature.")) }
                }
                table #queue .hidden[items.is_empty()] {
                    thead { tr {
                        th { input #select-all type="checkbox" title=(ctx.tr("Chọn tất cả", "Select all")); }
                        th { (ctx.tr("Văn bản", "Document")) }
                        th { (ctx.tr("Hồ sơ", "Dossier")) }
                        th { (ctx.tr("Người trình", "Requested by")) }
                        th { (ctx.tr("Thời điểm trình", "Requested at")) }
                        th { (ctx.tr("Ghi chú", "Note")) }
                        th { (ctx.tr("Kết quả", "Result")) }
                    } }
                    tbody { @for item in &items {
                        @let id = item.record.document.document_id;
                        @if let Some(latest) = item.record.latest() {
                            tr.queue-row data-document-id=(id) {
                                td { input.pick type="checkbox" value=(id) data-version=(latest.version)
                                    disabled[latest.media_type != "application/pdf"]; }
                                td {
                                    a.doc-link href={ "/official/documents/" (id) } { (document_title(latest)) }
                                    br; span.muted { (latest.file_name) " · " (size_text(latest.size_bytes)) }
                                }
                                td.nowrap { (item.record.document.dossier_code.as_deref().unwrap_or("—")) }
                                td { (item.request.requested_by) }
                                td { (vn_datetime(item.request.requested_at)) }
                                td { (item.request.note.as_deref().unwrap_or("")) }
                                td.result {}
                            }
                        }
                    } }
                }
                @if !items.is_empty() && !keys.is_empty() {
                    p { button #sign-selected type="button" { (ctx.tr("Ký các văn bản đã chọn", "Sign the selected documents")) } " " span #selected-count.muted {} }
                }
            }
            @if !items.is_empty() {
                section.card #sign-panel .hidden[!keys.is_empty()] {
                    h2 { (ctx.tr("Ký số", "Sign")) }
                    (signing_panel(&ctx, &keys, ctx.tr("Ký số các văn bản đã chọn", "Sign the selected documents")))
                }
            }
            p { a href="/official/signed" { (ctx.tr("Xem các văn bản đã ký", "See what I signed")) } }
        }
    };
    Ok(layout(
        &ctx,
        ctx.tr("Văn bản chờ ký", "Awaiting my signature"),
        body,
    ))
}

/// The document `id` if it was ever assigned to the caller; 404 when it does not exist,
/// 403 when it is someone else's.
async fn assigned_document(
    state: &AppState,
    ctx: &PageCtx,
    caller: &Caller,
    id: i64,
) -> Result<DocumentRecord, PageError> {
    let archive = state.pipeline.archive();
    let assigned = archive
        .is_assigned_to(id, caller.user.user_id)
        .await
        .map_err(|e| ctx.error(e))?;
    let record = archive.document(id).await.map_err(|e| ctx.error(e))?;
    if !assigned {
        return Err(ctx.error(HttpError::Forbidden {
            action: Permission::DocumentRead.action(),
        }));
    }
    Ok(record)
}

async fn document_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let caller = ctx.require(Permission::Sign)?;
    let id = super::clerk::document_id(&ctx, &id)?;
    let record = assigned_document(&state, &ctx, caller, id).await?;
    let archive = state.pipeline.archive();
    let latest = record.latest().cloned().ok_or_else(|| {
        ctx.error(crate::archive::ArchiveError::DocumentNotFound { document_id: id })
    })?;
    archive
        .open_version(latest.version_id, &caller.actor(), state.now())
        .await
        .map_err(|e| ctx.error(e))?;
    let mine: Vec<SignRequest> = archive
        .sign_requests_of_document(id)
        .await
        .map_err(|e| ctx.error(e))?
        .into_iter()
        .filter(|r| r.official_id == caller.user.user_id)
        .collect();
    let pending = mine.iter().find(|r| r.state == SignRequestState::Pending);
    let keys = usable_keys(&state, &ctx, caller).await?;
    let pages = state.pipeline.page_count(&latest).await;
    let body = html! {
        div data-page="official-document" data-document-id=(id) data-version=(latest.version) {
            section.card #document-summary {
                p { strong #document-title { (document_title(&latest)) } }
                p.muted {
                    @if let Some(code) = &record.document.dossier_code { (ctx.tr("Hồ sơ", "Dossier")) " " (code) " · " }
                    (ctx.tr("phiên bản", "version")) " " (latest.version) " · " (latest.file_name) " · "
                    a href={ "/api/v1/documents/" (id) "/versions/" (latest.version) "/content" } { (ctx.tr("Tải xuống", "Download")) }
                }
                @for r in &mine {
                    p.muted.request {
                        (ctx.tr("Trình bởi", "Requested by")) " " (r.requested_by) " " (vn_datetime(r.requested_at))
                        @if let Some(note) = &r.note { " — " (note) }
                        " · " span class={ "sign-" (r.state.as_str()) } { (super::clerk::sign_state_label(ctx.lang, r.state)) }
                    }
                }
            }
            @if pending.is_some() && latest.media_type == "application/pdf" {
                section.card #sign-panel {
                    h2 { (ctx.tr("Ký văn bản này", "Sign this document")) }
                    (signing_panel(&ctx, &keys, ctx.tr("Ký", "Sign")))
                }
            } @else if pending.is_none() {
                p.notice #not-pending { (ctx.tr("Văn bản này không còn chờ bạn ký.", "This document no longer awaits your signature.")) }
            }
            section #pages {
                p.muted #placement-note { (ctx.tr(
                    "Khung đỏ cho biết vị trí chữ ký số sẽ hiển thị trên văn bản.",
                    "The red box shows where the visible signature will go."
                )) }
                @match &pages {
                    Ok(count) => {
                        @for n in 1..=(*count).min(MAX_PREVIEW_PAGES) {
                            figure.page-figure {
                                div.page-preview data-page-index=(n - 1) {
                                    img loading="lazy" alt={ (ctx.tr("Trang", "Page")) " " (n) }
                                        src={ "/api/v1/documents/" (id) "/versions/" (latest.version) "/pages/" (n) "?width=800" };
                                    div.sigbox.hidden {}
                                }
                                figcaption.muted { (ctx.tr("Trang", "Page")) " " (n) " / " (count) }
                            }
                        }
                    }
                    Err(error) => p.muted #no-preview { (super::error_message(ctx.lang, error)) }
                }
            }
        }
    };
    let title = format!("{} #{id}", ctx.tr("Văn bản", "Document"));
    Ok(layout(&ctx, &title, body))
}

async fn signed(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, PageError> {
    let caller = ctx.require(Permission::Sign)?;
    let items = items(&state, &ctx, caller, SignRequestState::Signed).await?;
    let body = html! {
        div data-page="official-signed" {
            @if items.is_empty() {
                p.muted #signed-empty { (ctx.tr("Bạn chưa ký văn bản nào.", "You have not signed anything yet.")) }
            } @else {
                table #signed {
                    thead { tr {
                        th { (ctx.tr("Văn bản", "Document")) }
                        th { (ctx.tr("Hồ sơ", "Dossier")) }
                        th { (ctx.tr("Ký lúc", "Signed at")) }
                        th { (ctx.tr("Bản đã ký", "Signed copy")) }
                    } }
                    tbody { @for item in &items {
                        @let id = item.record.document.document_id;
                        @let version = item.record.versions.iter()
                            .find(|v| Some(v.version_id) == item.request.signed_version_id);
                        tr.signed-row data-document-id=(id) {
                            td { a href={ "/official/documents/" (id) } {
                                (item.record.latest().map(document_title).unwrap_or_default())
                            } }
                            td.nowrap { (item.record.document.dossier_code.as_deref().unwrap_or("—")) }
                            td { (item.request.done_at.map(vn_datetime).unwrap_or_default()) }
                            td { @if let Some(v) = version {
                                a.download href={ "/api/v1/documents/" (id) "/versions/" (v.version) "/content" } {
                                    (ctx.tr("Tải bản đã ký", "Download")) " (" (ctx.tr("phiên bản", "version")) " " (v.version) ")"
                                }
                            } }
                        }
                    } }
                }
            }
            p { a href="/official" { (ctx.tr("Về danh sách chờ ký", "Back to the queue")) } }
        }
    };
    Ok(layout(&ctx, ctx.tr("Văn bản đã ký", "Signed by me"), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_defaults_to_the_certificate_title_in_capitals() {
        assert_eq!(
            default_anchor("C=VN, O=UBND xã Tân Phú, title=Chủ tịch, CN=Nguyễn Văn An"),
            "CHỦ TỊCH"
        );
        assert_eq!(
            default_anchor("CN=Trần Thị Mẫu, T=Phó Chủ tịch"),
            "PHÓ CHỦ TỊCH"
        );
        assert_eq!(default_anchor("CN=Nguyễn Văn An"), "");
        assert_eq!(
            subject_part("C=VN, CN=Nguyễn Văn An (TEST)", &["CN"]).as_deref(),
            Some("Nguyễn Văn An (TEST)")
        );
    }
}

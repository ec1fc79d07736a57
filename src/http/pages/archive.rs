//! The archivist's pages: search with filters (`/archive`), a document with its versions,
//! text and signatures (`/archive/documents/{id}`), and a dossier read-only
//! (`/archive/dossiers/{code}`).
//!
//! Search reads its parameters exactly as `GET /api/v1/search` does
//! ([`SearchQuery::from_params`]), so a page URL and an API URL with the same query string
//! find the same documents. Snippets come from the search module with the byte ranges of the
//! matched words; only those become `<mark>`, everything else is escaped text.
//!
//! This file holds the search page and the formatting the archive's pages share; a document
//! is `archive_document.rs`, a dossier `archive_dossier.rs`.
//!
//! Actions go through the API from `app.js` (re-verification: `POST
//! /api/v1/documents/{id}/verify`) or are plain links to it (version downloads, dossier
//! export), so the pages never hold logic of their own.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use time::{Date, OffsetDateTime};

use super::{Lang, PageCtx, PageError, error_message, layout, url_encode};
use crate::archive::calendar::VIETNAM;
use crate::archive::documents::{DocumentMetadata, DocumentRole, VersionKind};
use crate::archive::dossiers::DossierStatus;
use crate::archive::search::{SearchHit, SearchPage, SearchParams, SearchQuery, SignatureStatus};
use crate::error::{Coded, Error};
use crate::http::AppState;
use crate::http::authz::Permission;
use crate::http::error::{HttpError, status_of};

/// The archive's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/archive", get(search_page))
        .merge(super::archive_document::router())
        .merge(super::archive_dossier::router())
}

// ---- shared formatting ---------------------------------------------------------------------

/// `dd/mm/yyyy hh:mm` in Vietnam time.
pub(super) fn when(at: OffsetDateTime) -> String {
    let local = at.to_offset(VIETNAM);
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}",
        local.day(),
        u8::from(local.month()),
        local.year(),
        local.hour(),
        local.minute()
    )
}

/// `dd/mm/yyyy`, as Vietnamese documents write dates.
pub(super) fn day(date: Date) -> String {
    format!(
        "{:02}/{:02}/{:04}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

/// `1,2 MB`, `340 KB`, `12 B`.
pub(super) fn size(lang: Lang, bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    let (value, unit) = if bytes >= 1024.0 * 1024.0 {
        (bytes / 1024.0 / 1024.0, "MB")
    } else if bytes >= 1024.0 {
        (bytes / 1024.0, "KB")
    } else {
        return format!("{bytes} B");
    };
    let text = format!("{value:.1}");
    let text = if lang == Lang::Vi {
        text.replace('.', ",")
    } else {
        text
    };
    format!("{text} {unit}")
}

/// An error shown inside a page (the page itself still renders), with the API's code and
/// messages.
pub(super) fn error_line(lang: Lang, error: &Error) -> Markup {
    html! {
        p.error-box role="alert" { (error_message(lang, error)) " " code.error-code { "[" (error.code()) "]" } }
    }
}

pub(super) fn role_label(lang: Lang, role: DocumentRole) -> &'static str {
    match lang {
        Lang::Vi => role.label_vi(),
        Lang::En => match role {
            DocumentRole::Input => "dossier paper",
            DocumentRole::Result => "result",
            DocumentRole::Outgoing => "outgoing letter",
            DocumentRole::Incoming => "incoming letter",
            DocumentRole::CertifiedCopy => "certified copy",
            DocumentRole::Attachment => "attachment",
        },
    }
}

pub(super) fn kind_label(lang: Lang, kind: VersionKind) -> &'static str {
    match kind {
        VersionKind::Original => lang.tr("bản gốc", "original"),
        VersionKind::Ocr => lang.tr("bản nhận dạng chữ (OCR)", "searchable (OCR)"),
        VersionKind::Signed => lang.tr("bản đã ký số", "signed"),
        VersionKind::Extended => lang.tr("gia hạn chữ ký (LTV)", "signature extended (LTV)"),
        VersionKind::Metadata => lang.tr("sửa thông tin", "metadata corrected"),
    }
}

pub(super) fn status_label(lang: Lang, status: DossierStatus) -> &'static str {
    match lang {
        Lang::Vi => status.label_vi(),
        Lang::En => match status {
            DossierStatus::Received => "received",
            DossierStatus::SupplementRequested => "supplement requested",
            DossierStatus::Appraised => "appraised",
            DossierStatus::Approved => "approved",
            DossierStatus::Rejected => "rejected",
            DossierStatus::Returned => "result returned",
            DossierStatus::Withdrawn => "withdrawn",
        },
    }
}

fn signature_status_label(lang: Lang, status: SignatureStatus) -> &'static str {
    match lang {
        Lang::Vi => status.label_vi(),
        Lang::En => match status {
            SignatureStatus::Unsigned => "no signature",
            SignatureStatus::Valid => "valid signature",
            SignatureStatus::Invalid => "invalid signature",
            SignatureStatus::Indeterminate => "cannot be determined",
            SignatureStatus::Unverified => "not verified yet",
        },
    }
}

/// `ok`, `bad`, `warn` or `none`: the colour of a signature status.
fn signature_status_class(status: SignatureStatus) -> &'static str {
    match status {
        SignatureStatus::Valid => "ok",
        SignatureStatus::Invalid => "bad",
        SignatureStatus::Indeterminate => "warn",
        SignatureStatus::Unsigned | SignatureStatus::Unverified => "none",
    }
}

/// What a document is called: type, number and subject, else its file name.
pub(super) fn document_title(metadata: &DocumentMetadata, file_name: &str) -> String {
    let mut parts = Vec::new();
    if let Some(kind) = &metadata.type_name {
        parts.push(kind.clone());
    }
    match (&metadata.code_number, &metadata.code_notation) {
        (Some(number), Some(notation)) => parts.push(format!("số {number}/{notation}")),
        (Some(number), None) => parts.push(format!("số {number}")),
        (None, Some(notation)) => parts.push(notation.clone()),
        (None, None) => {}
    }
    let head = parts.join(" ");
    match (&metadata.subject, head.is_empty()) {
        (Some(subject), true) => subject.clone(),
        (Some(subject), false) => format!("{head}: {subject}"),
        (None, false) => head,
        (None, true) => file_name.to_owned(),
    }
}

// ---- search ----------------------------------------------------------------------------------

/// The query string as [`SearchParams`], without the page's own `lang` switch.
fn search_params(raw: Option<&str>) -> Result<SearchParams, Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|e| HttpError::QueryInvalid {
            reason: e.to_string(),
        })?;
    let kept: Vec<(String, String)> = pairs.into_iter().filter(|(key, _)| key != "lang").collect();
    let encoded = serde_urlencoded::to_string(&kept).map_err(|e| HttpError::QueryInvalid {
        reason: e.to_string(),
    })?;
    serde_urlencoded::from_str(&encoded)
        .map_err(|e| HttpError::QueryInvalid {
            reason: e.to_string(),
        })
        .map_err(Error::from)
}

/// The URL of the same search on another page.
fn page_url(params: &SearchParams, page: u32) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let fields: [(&str, &Option<String>); 14] = [
        ("q", &params.q),
        ("procedure", &params.procedure),
        ("field", &params.field),
        ("dossier", &params.dossier),
        ("number", &params.number),
        ("agency", &params.agency),
        ("signer", &params.signer),
        ("role", &params.role),
        ("signature", &params.signature),
        ("issued_from", &params.issued_from),
        ("issued_to", &params.issued_to),
        ("stored_from", &params.stored_from),
        ("stored_to", &params.stored_to),
        ("sort", &params.sort),
    ];
    for (key, value) in fields {
        if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            pairs.push((key, value.to_owned()));
        }
    }
    if let Some(per_page) = params.per_page.as_deref().filter(|v| !v.is_empty()) {
        pairs.push(("per_page", per_page.to_owned()));
    }
    pairs.push(("page", page.to_string()));
    format!(
        "/archive?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

fn any_filter(params: &SearchParams) -> bool {
    [
        &params.procedure,
        &params.field,
        &params.dossier,
        &params.number,
        &params.agency,
        &params.signer,
        &params.role,
        &params.signature,
        &params.issued_from,
        &params.issued_to,
        &params.stored_from,
        &params.stored_to,
    ]
    .iter()
    .any(|v| v.as_deref().is_some_and(|v| !v.trim().is_empty()))
}

/// The snippet with its matched words in `<mark>`; every other character is escaped text.
/// Ranges that overlap, fall outside the snippet or split a character are ignored.
pub(super) fn marked(snippet: &str, highlights: &[(usize, usize)]) -> Markup {
    let mut pieces: Vec<(&str, bool)> = Vec::new();
    let mut last = 0;
    for &(start, end) in highlights {
        if start < last
            || end <= start
            || end > snippet.len()
            || !snippet.is_char_boundary(start)
            || !snippet.is_char_boundary(end)
        {
            continue;
        }
        pieces.push((&snippet[last..start], false));
        pieces.push((&snippet[start..end], true));
        last = end;
    }
    pieces.push((&snippet[last..], false));
    html! {
        @for (text, mark) in pieces {
            @if mark { mark { (text) } } @else { (text) }
        }
    }
}

async fn search_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    ctx.require(Permission::Search)?;
    let params = search_params(raw.as_deref()).map_err(|e| ctx.error(e))?;
    let outcome = match SearchQuery::from_params(&params) {
        Ok(mut query) => {
            query.count = true;
            state
                .pipeline
                .archive()
                .search(&query)
                .await
                .map(|page| (query, page))
                .map_err(Error::from)
        }
        Err(e) => Err(Error::from(e)),
    };
    let body = html! {
        div data-page="archive-search" {
            (search_form(&ctx, &params))
            @match &outcome {
                Ok((query, page)) => (results(&ctx, &params, query, page)),
                Err(error) => (error_line(ctx.lang, error)),
            }
        }
    };
    let mut response = layout(&ctx, ctx.tr("Tra cứu tài liệu", "Search the archive"), body);
    if let Err(error) = &outcome {
        *response.status_mut() = status_of(error.class());
    }
    Ok(response)
}

fn search_form(ctx: &PageCtx, params: &SearchParams) -> Markup {
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let selected = |v: &Option<String>, option: &str| v.as_deref() == Some(option);
    html! {
        form #search-form .card.no-print method="get" action="/archive" role="search" {
            div.search-row {
                label.grow {
                    (ctx.tr("Từ cần tìm (không cần gõ dấu)", "Words to find (accents optional)"))
                    input #q type="search" name="q" value=(value(&params.q)) autofocus
                        placeholder=(ctx.tr("ví dụ: khai sinh dong da", "e.g. khai sinh dong da"));
                }
                button type="submit" { (ctx.tr("Tìm", "Search")) }
            }
            details #search-filters open[any_filter(params)] {
                summary { (ctx.tr("Bộ lọc", "Filters")) }
                div.grid4 {
                    label { (ctx.tr("Mã thủ tục", "Procedure code"))
                        input name="procedure" value=(value(&params.procedure)) placeholder="1.001193"; }
                    label { (ctx.tr("Lĩnh vực", "Field"))
                        input name="field" value=(value(&params.field)) placeholder=(ctx.tr("Hộ tịch", "Civil status")); }
                    label { (ctx.tr("Mã hồ sơ", "Dossier code"))
                        input name="dossier" value=(value(&params.dossier)); }
                    label { (ctx.tr("Số, ký hiệu", "Number and symbol"))
                        input name="number" value=(value(&params.number)) placeholder="12/QĐ-UBND"; }
                    label { (ctx.tr("Cơ quan ban hành", "Issuing agency"))
                        input name="agency" value=(value(&params.agency)); }
                    label { (ctx.tr("Người ký", "Signer"))
                        input name="signer" value=(value(&params.signer)); }
                    label { (ctx.tr("Vai trò tài liệu", "Document role"))
                        select name="role" {
                            option value="" { (ctx.tr("(tất cả)", "(any)")) }
                            @for role in DocumentRole::ALL {
                                option value=(role.as_str()) selected[selected(&params.role, role.as_str())] {
                                    (role_label(ctx.lang, role))
                                }
                            }
                        }
                    }
                    label { (ctx.tr("Tình trạng chữ ký", "Signature status"))
                        select name="signature" {
                            option value="" { (ctx.tr("(tất cả)", "(any)")) }
                            @for status in SignatureStatus::ALL {
                                option value=(status.as_str()) selected[selected(&params.signature, status.as_str())] {
                                    (signature_status_label(ctx.lang, status))
                                }
                            }
                        }
                    }
                    label { (ctx.tr("Ngày văn bản từ", "Issued from"))
                        input type="date" name="issued_from" value=(value(&params.issued_from)); }
                    label { (ctx.tr("đến", "to"))
                        input type="date" name="issued_to" value=(value(&params.issued_to)); }
                    label { (ctx.tr("Sắp xếp", "Order"))
                        select name="sort" {
                            option value="newest" selected[!selected(&params.sort, "relevance")] {
                                (ctx.tr("Mới lưu trước", "Newest first"))
                            }
                            option value="relevance" selected[selected(&params.sort, "relevance")] {
                                (ctx.tr("Khớp nhất trước", "Best match first"))
                            }
                        }
                    }
                }
                p { a href="/archive" { (ctx.tr("Xóa bộ lọc", "Clear the search")) } }
            }
        }
    }
}

fn results(ctx: &PageCtx, params: &SearchParams, query: &SearchQuery, page: &SearchPage) -> Markup {
    let first = page.offset + 1;
    let last = page.offset + page.items.len() as u32;
    let current = page.offset / query.limit.max(1) + 1;
    html! {
        section #results aria-live="polite" {
            @if page.items.is_empty() {
                p.notice #no-results {
                    @if page.offset > 0 {
                        (ctx.tr("Không còn kết quả ở trang này.", "No more results on this page."))
                    } @else {
                        (ctx.tr("Không tìm thấy tài liệu nào.", "No documents found."))
                    }
                }
            } @else {
                p.muted #result-count {
                    (ctx.tr("Kết quả", "Results")) " " (first) "–" (last)
                    @if let Some(total) = page.total {
                        " / " @if page.total_capped { "≥ " } (total)
                    }
                }
                @for hit in &page.items { (hit_item(ctx, hit)) }
            }
            nav.pager.no-print {
                @if current > 1 {
                    a #prev-page href=(page_url(params, current - 1)) { "← " (ctx.tr("Trang trước", "Previous")) }
                }
                @if page.has_more {
                    a #next-page href=(page_url(params, current + 1)) { (ctx.tr("Trang sau", "Next")) " →" }
                }
            }
        }
    }
}

fn hit_item(ctx: &PageCtx, hit: &SearchHit) -> Markup {
    let status = hit.signature_status;
    html! {
        article.hit data-id=(hit.document_id) {
            h3 { a href={ "/archive/documents/" (hit.document_id) } { (hit.title) } }
            p.facts.muted {
                (hit.file_name)
                @if let Some(code) = &hit.dossier_code {
                    " · " (ctx.tr("hồ sơ", "dossier")) " "
                    a href={ "/archive/dossiers/" (url_encode(code)) } { (code) }
                }
                @if let Some(issued) = hit.issued_date { " · " (ctx.tr("ngày", "issued")) " " (day(issued)) }
                " · " (role_label(ctx.lang, hit.role))
                " · " span class={ "sig-status " (signature_status_class(status)) } { (signature_status_label(ctx.lang, status)) }
            }
            @if !hit.snippet.is_empty() {
                p.snippet { (marked(&hit.snippet, &hit.highlights)) }
            }
            @if !hit.exact_accents {
                p.muted.small { (ctx.tr("Khớp khi bỏ dấu (khác dấu với từ đã gõ).", "Matches without accents (accents differ from what was typed).")) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_matched_words_are_marked_and_the_rest_is_escaped() {
        let snippet = "a <b> Đống Đa & x";
        let start = snippet.find("Đống").unwrap();
        let end = start + "Đống Đa".len();
        let html = marked(snippet, &[(start, end)]).into_string();
        assert_eq!(html, "a &lt;b&gt; <mark>Đống Đa</mark> &amp; x");
        // Overlapping, reversed, out-of-range or mid-character ranges are ignored.
        let html = marked(
            snippet,
            &[
                (start, end),
                (start, end),
                (9, 3),
                (0, 400),
                (start + 1, end),
            ],
        )
        .into_string();
        assert_eq!(html.matches("<mark>").count(), 1, "{html}");
    }

    #[test]
    fn search_parameters_ignore_the_language_switch_and_keep_paging() {
        let params = search_params(Some("q=dong+da&lang=en&role=result&page=2")).unwrap();
        assert_eq!(params.q.as_deref(), Some("dong da"));
        assert_eq!(params.role.as_deref(), Some("result"));
        let url = page_url(&params, 3);
        assert_eq!(url, "/archive?q=dong+da&role=result&page=3");
        assert!(search_params(Some("nonsense=1")).is_err());
    }

    #[test]
    fn titles_prefer_type_number_and_subject() {
        let metadata = DocumentMetadata {
            type_name: Some("Quyết định".to_owned()),
            code_number: Some("12".to_owned()),
            code_notation: Some("QĐ-UBND".to_owned()),
            subject: Some("Về việc cấp phép".to_owned()),
            ..DocumentMetadata::default()
        };
        assert_eq!(
            document_title(&metadata, "x.pdf"),
            "Quyết định số 12/QĐ-UBND: Về việc cấp phép"
        );
        assert_eq!(
            document_title(&DocumentMetadata::default(), "x.pdf"),
            "x.pdf"
        );
    }

    #[test]
    fn sizes_and_days_read_as_in_vietnam() {
        assert_eq!(size(Lang::Vi, 1536), "1,5 KB");
        assert_eq!(size(Lang::En, 3 * 1024 * 1024), "3.0 MB");
        assert_eq!(size(Lang::En, 12), "12 B");
        assert_eq!(day(time::macros::date!(2026 - 01 - 05)), "05/01/2026");
        assert_eq!(
            when(time::macros::datetime!(2026-01-05 17:30 UTC)),
            "06/01/2026 00:30"
        );
    }
}

//! The receipt handed to the applicant (giấy tiếp nhận hồ sơ và hẹn trả kết quả, form 01 of
//! Circular 01/2018/TT-VPCP) with a QR code for looking the dossier up, and the public
//! look-up page the QR code leads to (`/tra-cuu/{code}`, no login).
//!
//! The QR code is drawn on the server as SVG from the `qrcode` crate's module matrix (no
//! script, prints sharp at any size). It encodes `{public_url}/tra-cuu/{code}`, or the
//! request's own host when no public address is configured.
//!
//! The public page shows only what the receipt's holder needs: the dossier's procedure,
//! status and due date, and the applicant's name masked to initials ("Nguyễn V. A."); never
//! the ID number or the contact. It is rate limited per client like public verification (a
//! dossier code is guessable: agency, date and a sequence number).

use axum::Extension;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use time::OffsetDateTime;

use super::clerk::{channel_label, document_title, is_overdue, status_label, vn_date};
use super::{Lang, PageCtx, PageError, layout, raw};
use crate::archive::ArchiveError;
use crate::archive::calendar::VIETNAM;
use crate::archive::codes::DossierCode;
use crate::archive::documents::DocumentRole;
use crate::archive::dossiers::{DossierRecord, ResultDelivery};
use crate::error::Error;
use crate::http::AppState;
use crate::http::auth::ClientIp;
use crate::http::authz::Permission;
use crate::http::error::HttpError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clerk/dossiers/{code}/receipt", get(receipt))
        .route("/tra-cuu/{code}", get(public_status))
}

/// Modules of light border around a QR code (ISO/IEC 18004 asks for 4).
const QUIET_ZONE: usize = 4;

/// The QR code of `payload` as an SVG document (error correction M, 4-module quiet zone),
/// one path of unit squares merged into horizontal runs.
///
/// # Errors
/// `field-invalid` when the payload is too long for a QR code.
pub fn qr_svg(payload: &str, title: &str) -> Result<String, Error> {
    let code = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ArchiveError::FieldInvalid {
            field: "public_url",
            value: payload.chars().take(200).collect(),
            reason: format!("cannot be put in a QR code: {e}"),
        })?;
    let width = code.width();
    let colors = code.to_colors();
    let side = width + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == qrcode::Color::Dark {
                let start = x;
                while x < width && row[x] == qrcode::Color::Dark {
                    x += 1;
                }
                path.push_str(&format!(
                    "M{} {}h{}v1h-{}z",
                    start + QUIET_ZONE,
                    y + QUIET_ZONE,
                    x - start,
                    x - start
                ));
            } else {
                x += 1;
            }
        }
    }
    let title = maud::html! { (title) }.into_string();
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\" role=\"img\"><title>{title}</title>\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"></rect>\
         <path fill=\"#000\" d=\"{path}\"></path></svg>"
    ))
}

/// The address citizens reach: the configured public URL, else this request's host.
fn public_base(public_url: Option<&str>, headers: &HeaderMap) -> String {
    if let Some(url) = public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// `Nguyễn Văn An` → `Nguyễn V. A.`: the family name and the initials of the rest.
pub fn masked_name(name: &str) -> String {
    let mut words = name.split_whitespace();
    let Some(first) = words.next() else {
        return String::new();
    };
    let rest: Vec<String> = words
        .filter_map(|w| w.chars().next())
        .map(|c| format!("{c}."))
        .collect();
    if rest.is_empty() {
        // A one-word name shows its initial only.
        return first
            .chars()
            .next()
            .map(|c| format!("{c}."))
            .unwrap_or_default();
    }
    format!("{first} {}", rest.join(" "))
}

/// `ngày 05 tháng 12 năm 2026` (or `5 December 2026`).
fn long_date(lang: Lang, at: OffsetDateTime) -> String {
    let at = at.to_offset(VIETNAM);
    match lang {
        Lang::Vi => format!(
            "ngày {:02} tháng {:02} năm {}",
            at.day(),
            u8::from(at.month()),
            at.year()
        ),
        Lang::En => format!("{} {} {}", at.day(), at.month(), at.year()),
    }
}

/// `08 giờ 30 phút, ngày 05 tháng 12 năm 2026`.
fn long_time(lang: Lang, at: OffsetDateTime) -> String {
    let local = at.to_offset(VIETNAM);
    match lang {
        Lang::Vi => format!(
            "{:02} giờ {:02} phút, {}",
            local.hour(),
            local.minute(),
            long_date(lang, at)
        ),
        Lang::En => format!(
            "{:02}:{:02}, {}",
            local.hour(),
            local.minute(),
            long_date(lang, at)
        ),
    }
}

fn delivery_label(lang: Lang, delivery: ResultDelivery) -> &'static str {
    match delivery {
        ResultDelivery::Desk => lang.tr("Bộ phận tiếp nhận và trả kết quả", "the one-stop desk"),
        ResultDelivery::Postal => {
            lang.tr("qua dịch vụ bưu chính công ích", "by public postal service")
        }
        ResultDelivery::Online => lang.tr(
            "trực tuyến (Cổng dịch vụ công)",
            "online (public service portal)",
        ),
    }
}

fn parse_code(ctx: &PageCtx, code: &str) -> Result<DossierCode, PageError> {
    DossierCode::parse(code).map_err(|value| ctx.error(ArchiveError::DossierCodeInvalid { value }))
}

async fn receipt(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    ctx.require(Permission::DossierRead)?;
    let code = parse_code(&ctx, &code)?;
    let archive = state.pipeline.archive();
    let record = archive.dossier(&code).await.map_err(|e| ctx.error(e))?;
    let documents = archive
        .dossier_documents(&code)
        .await
        .map_err(|e| ctx.error(e))?;
    let papers: Vec<String> = documents
        .iter()
        .filter(|d| d.document.role == DocumentRole::Input)
        .filter_map(|d| d.latest().map(document_title))
        .collect();
    // Who received it: the actor of the first event, by their display name.
    let receiver = match record.events.first() {
        Some(event) => archive
            .user_by_name(&event.actor)
            .await
            .map_err(|e| ctx.error(e))?
            .map_or_else(|| event.actor.clone(), |(u, _)| u.display_name),
        None => String::new(),
    };
    let url = format!(
        "{}/tra-cuu/{}",
        public_base(state.settings.public_url.as_deref(), &headers),
        code.as_str()
    );
    let qr = qr_svg(
        &url,
        ctx.tr("Mã QR tra cứu hồ sơ", "QR code to look the dossier up"),
    )
    .map_err(|e| ctx.error(e))?;
    let body = receipt_markup(&ctx, &record, &papers, &receiver, &url, &qr);
    let title = ctx.tr("Giấy tiếp nhận hồ sơ", "Dossier receipt");
    Ok(layout(&ctx, title, body))
}

fn receipt_markup(
    ctx: &PageCtx,
    record: &DossierRecord,
    papers: &[String],
    receiver: &str,
    url: &str,
    qr: &str,
) -> Markup {
    let d = &record.dossier;
    let p = &record.procedure;
    let lang = ctx.lang;
    let agency = p
        .competent_agency
        .clone()
        .unwrap_or_else(|| d.agency_code.clone());
    html! {
        div.no-print.receipt-actions {
            button #print-button type="button" data-print { (ctx.tr("In giấy tiếp nhận", "Print")) }
            " "
            // Clerks go back to their dossier page, archivists to theirs.
            @let back = if ctx.caller.as_ref().is_some_and(|c| c.may(Permission::DossierWrite)) { "/clerk/dossiers/" } else { "/archive/dossiers/" };
            a.button.secondary #back-to-dossier href={ (back) (d.code) } { (ctx.tr("Về hồ sơ", "Back to the dossier")) }
        }
        article.receipt #receipt data-code=(d.code) {
            header.receipt-head {
                div.agency {
                    p.upper { (agency.to_uppercase()) }
                    p.upper.bold { (ctx.tr("BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ", "ONE-STOP RECEPTION DESK")) }
                    hr.short;
                    p { (ctx.tr("Mã hồ sơ", "Dossier code")) ": " strong #receipt-code { (d.code) } }
                }
                div.motto {
                    p.upper.bold { "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" }
                    p.bold { "Độc lập - Tự do - Hạnh phúc" }
                    hr.short;
                    p.italic { (long_date(lang, d.received_at)) }
                }
            }
            h2.receipt-title { (ctx.tr("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "DOSSIER RECEIPT AND RESULT APPOINTMENT")) }
            div.receipt-body {
                p { (ctx.tr("Bộ phận tiếp nhận và trả kết quả", "The one-stop desk of")) " " (agency) " " (ctx.tr("tiếp nhận hồ sơ của", "received the dossier of")) ":" }
                p { (ctx.tr("Ông/bà", "Applicant")) ": " strong #receipt-applicant { (d.applicant_name) } }
                @if let Some(id) = &d.applicant_id_number {
                    p { (ctx.tr("Số định danh cá nhân / mã số", "ID number")) ": " (id) }
                }
                @if let Some(contact) = &d.applicant_contact {
                    p { (ctx.tr("Địa chỉ, điện thoại, thư điện tử", "Address, phone, e-mail")) ": " (contact) }
                }
                p { (ctx.tr("Nội dung yêu cầu giải quyết", "Request")) ": " strong #receipt-procedure { (p.name) } " (" (ctx.tr("mã thủ tục", "procedure")) " " (p.code) ")" }
                ol.receipt-items {
                    li {
                        (ctx.tr("Thành phần hồ sơ nộp gồm", "Papers handed in")) ":"
                        @if papers.is_empty() {
                            span.muted { " " (ctx.tr("(chưa có tài liệu số hóa)", "(none digitized yet)")) }
                        } @else {
                            ol #receipt-papers type="a" { @for paper in papers { li { (paper) } } }
                        }
                    }
                    li { (ctx.tr("Số lượng hồ sơ", "Number of dossiers")) ": 01 " (ctx.tr("(bộ)", "(set)")) }
                    li { (ctx.tr("Thời gian giải quyết hồ sơ theo quy định là", "Processing time by regulation")) ": " (p.processing_days) " " (ctx.tr("ngày làm việc", "working days")) }
                    li { (ctx.tr("Thời gian nhận hồ sơ", "Received at")) ": " span #receipt-received { (long_time(lang, d.received_at)) } }
                    li { (ctx.tr("Thời gian trả kết quả giải quyết hồ sơ", "Result due")) ": " strong #receipt-due { (long_date(lang, d.due_at)) } }
                    li { (ctx.tr("Đăng ký nhận kết quả tại", "Result delivered at")) ": " (delivery_label(lang, d.result_delivery)) }
                    li { (ctx.tr("Hình thức nộp", "Channel")) ": " (channel_label(lang, d.channel)) }
                }
                div.receipt-qr {
                    div.qr-box #receipt-qr { (raw(qr.to_owned())) }
                    p.small { (ctx.tr("Tra cứu tình trạng hồ sơ: quét mã QR hoặc truy cập", "Look the dossier up: scan the code or open")) br; code #receipt-url { (url) } }
                }
            }
            div.signatures {
                div {
                    p.bold { (ctx.tr("NGƯỜI NỘP HỒ SƠ", "APPLICANT")) }
                    p.italic { (ctx.tr("(Ký và ghi rõ họ tên)", "(signature and full name)")) }
                    p.sign-space {}
                    p { (d.applicant_name) }
                }
                div {
                    p.bold { (ctx.tr("NGƯỜI TIẾP NHẬN HỒ SƠ", "RECEIVED BY")) }
                    p.italic { (ctx.tr("(Ký và ghi rõ họ tên)", "(signature and full name)")) }
                    p.sign-space {}
                    p #receipt-receiver { (receiver) }
                }
            }
        }
    }
}

/// The client's key for the rate limit (in-process tests have no address: `unknown`).
fn client_key(ip: Option<std::net::IpAddr>) -> String {
    ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

async fn public_status(
    State(state): State<AppState>,
    ctx: PageCtx,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Path(code): Path<String>,
) -> Response {
    if let Err(error) = state.limits.verify.hit(&client_key(ip)) {
        let retry = match &error {
            Error::Http(HttpError::RateLimited { retry_after_secs }) => *retry_after_secs,
            _ => 60,
        };
        let mut response = ctx.error(error).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry));
        return response;
    }
    match status_page(&state, &ctx, &code).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn status_page(state: &AppState, ctx: &PageCtx, code: &str) -> Result<Response, PageError> {
    let code = parse_code(ctx, code)?;
    let record = state
        .pipeline
        .archive()
        .dossier(&code)
        .await
        .map_err(|e| ctx.error(e))?;
    let d = &record.dossier;
    let overdue = is_overdue(d, state.now());
    let body = html! {
        div data-page="public-status" {
            section.card.narrow-wide #public-status {
                dl.facts {
                    dt { (ctx.tr("Mã hồ sơ", "Dossier code")) } dd #status-code { (d.code) }
                    dt { (ctx.tr("Thủ tục", "Procedure")) } dd { (record.procedure.name) }
                    dt { (ctx.tr("Người nộp", "Applicant")) } dd #status-applicant { (masked_name(&d.applicant_name)) }
                    dt { (ctx.tr("Ngày tiếp nhận", "Received on")) } dd { (vn_date(d.received_at)) }
                    dt { (ctx.tr("Tình trạng", "Status")) }
                    dd { strong #status-value class={ "status status-" (d.status.as_str()) } { (status_label(ctx.lang, d.status)) } }
                    dt { (ctx.tr("Hẹn trả kết quả", "Result due")) }
                    dd #status-due .bad[overdue] { (vn_date(d.due_at)) }
                    @if let Some(returned) = d.returned_at {
                        dt { (ctx.tr("Đã trả kết quả ngày", "Result returned on")) } dd { (vn_date(returned)) }
                    }
                }
            }
            p.muted { (ctx.tr(
                "Trang này chỉ cho biết tình trạng hồ sơ. Mọi thắc mắc xin liên hệ Bộ phận tiếp nhận và trả kết quả.",
                "This page shows the dossier's status only. For questions, contact the one-stop desk."
            )) }
        }
    };
    Ok(layout(ctx, ctx.tr("Tra cứu hồ sơ", "Dossier status"), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_to_the_family_name_and_initials() {
        assert_eq!(masked_name("Nguyễn Văn An"), "Nguyễn V. A.");
        assert_eq!(masked_name("  Lê   Thị  Ánh Tuyết "), "Lê T. Á. T.");
        assert_eq!(masked_name("Bình"), "B.");
        assert_eq!(masked_name(""), "");
    }

    #[test]
    fn the_qr_code_is_an_svg_of_square_runs_with_a_quiet_zone() {
        let svg = qr_svg(
            "https://hoso.example/tra-cuu/H53.100.01-261205-0001",
            "QR <x>",
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(
            svg.contains("<title>QR &lt;x&gt;</title>"),
            "the title is escaped"
        );
        // The code's modules plus a 4-module quiet zone on each side.
        let width = qrcode::QrCode::with_error_correction_level(
            "https://hoso.example/tra-cuu/H53.100.01-261205-0001".as_bytes(),
            qrcode::EcLevel::M,
        )
        .unwrap()
        .width();
        let side = width + 2 * QUIET_ZONE;
        assert!(
            svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")),
            "{svg}"
        );
        // The top-left finder pattern starts at the quiet zone with a run of 7.
        assert!(svg.contains("M4 4h7v1h-7z"), "{svg}");
        let too_long = "x".repeat(4000);
        assert!(qr_svg(&too_long, "t").is_err());
    }

    #[test]
    fn the_public_address_comes_from_the_settings_or_the_host() {
        let mut headers = HeaderMap::new();
        assert_eq!(public_base(None, &headers), "http://localhost");
        headers.insert(
            header::HOST,
            HeaderValue::from_static("mot-cua.example:8080"),
        );
        assert_eq!(public_base(None, &headers), "http://mot-cua.example:8080");
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(public_base(None, &headers), "https://mot-cua.example:8080");
        assert_eq!(
            public_base(Some("https://dichvucong.example/"), &headers),
            "https://dichvucong.example"
        );
        // A host with characters a URL cannot hold is not trusted.
        headers.insert(header::HOST, HeaderValue::from_static("evil\"/><x"));
        assert_eq!(public_base(None, &headers), "https://localhost");
    }

    #[test]
    fn dates_on_the_receipt_are_written_out() {
        let at = time::macros::datetime!(2026-12-04 20:05 UTC);
        assert_eq!(long_date(Lang::Vi, at), "ngày 05 tháng 12 năm 2026");
        assert_eq!(
            long_time(Lang::Vi, at),
            "03 giờ 05 phút, ngày 05 tháng 12 năm 2026"
        );
    }
}

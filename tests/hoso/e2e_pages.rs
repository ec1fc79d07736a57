//! Every main page in headless Chromium at the counter screen's 1366×768 (harness:
//! `browser.rs`), in Vietnamese and in English, over an archive with long names, an overdue
//! dossier, scans with text, a signed result and one awaiting signature:
//!
//! - nothing is wider than the window (no sideways scrolling, no table wider than its card);
//! - with `?lang=en` no heading, label, button, column title, status or choice of the page's
//!   own is left in Vietnamese (data, such as names, stays as it is);
//! - the receipt prints on one A4 page without the menu and buttons (the PDF Chromium prints
//!   is saved, with a PNG of its page, beside the screenshots);
//! - a scan whose file name is markup is listed by `app.js` as text.
//!
//! One screenshot per page and language: `NN-pages-…png` in the screenshots folder. SQLite
//! only: the pages are the same over either backend (the in-process page tests run both).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::wd::{PrintConfiguration, PrintSize};
use hoso::archive::accounts::{KeyStorage, NewSigningKey, Role};
use hoso::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use hoso::archive::documents::{DocumentMetadata, DocumentRole};
use hoso::archive::dossiers::{Applicant, Channel, NewDossier};
use hoso::archive::procedures::CatalogueFormat;
use hoso::http::HttpSettings;
use hoso::pades::key::SoftwareKey;
use hoso::pipeline::ingest::IngestRequest;
use hoso::pipeline::sign::{SignSettings, SignTarget};
use serde_json::Value;
use time::OffsetDateTime;

use crate::api_support::{PASSWORD, TestApp};
use crate::browser::{Chromedriver, SHORT, Screenshots, Server, Tab, js_string};
use crate::helpers::TestDb;
use crate::pki;

const OCR: Duration = Duration::from_secs(180);

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// What the pages show: (dossier code, scan id, signed result id, pending result id, the
/// signed version's sha256).
struct Records {
    code: String,
    scan: i64,
    signed: i64,
    pending: i64,
    signed_sha: String,
}

async fn records(app: &TestApp) -> Records {
    let archive = app.pipeline.archive();
    let now = app.now();
    archive
        .import_procedures(
            "code,name,field,level,processing_days,competent_agency\n\
             1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,Ủy ban nhân dân xã Tân Phú\n\
             1.000656,\"Cấp giấy phép xây dựng đối với công trình không theo tuyến, công trình \
             tôn giáo, công trình di tích lịch sử - văn hóa, tượng đài, tranh hoành tráng\",\
             Hoạt động xây dựng và quản lý chất lượng công trình xây dựng,Cấp huyện,15,\
             Ủy ban nhân dân huyện Tân Phú Đông\n"
                .as_bytes(),
            CatalogueFormat::Csv,
            "e2e-pages.csv",
            "admin1",
            now,
        )
        .await
        .unwrap();
    let p12 = std::fs::read(pki::dir().join("official.p12")).unwrap();
    let (sealed, info) = hoso::auth::seal_pkcs12(&p12, "test").unwrap();
    archive
        .add_signing_key(
            &NewSigningKey {
                user_id: app.user_ids[&Role::Official],
                name: "Chữ ký số của Chủ tịch Ủy ban nhân dân 2026".to_owned(),
                storage: KeyStorage::Pkcs12 { sealed },
                certificate_der: info.certificate_der,
                subject: info.subject,
                not_after: info.not_after,
                signature_image: Some(std::fs::read(sample("chu-ky.png")).unwrap()),
            },
            "admin1",
            now,
        )
        .await
        .unwrap();
    let new = |procedure: &str, name: &str| NewDossier {
        procedure: ProcedureCode::parse(procedure).unwrap(),
        agency: AgencyCode::parse("H53.100.01").unwrap(),
        applicant: Applicant {
            name: name.to_owned(),
            id_number: Some("001186012345".to_owned()),
            contact: Some(
                "Số nhà 128, đường Nguyễn Thị Minh Khai, ấp Phú Hòa Đông, xã Tân Phú, huyện \
                 Tân Phú Đông, tỉnh Tiền Giang; 0912 345 678; nguyen.thi.thanh.huong@example.vn"
                    .to_owned(),
            ),
        },
        channel: Channel::InPerson,
        result_delivery: None,
        actor: "clerk1".to_owned(),
        note: None,
    };
    let dossier = archive
        .create_dossier(
            &new("1.000656", "Nguyễn Thị Thanh Hương Giang Tôn Nữ Hoàng Anh"),
            now,
        )
        .await
        .unwrap();
    // Another, received a month ago and still open: overdue.
    archive
        .create_dossier(
            &new("1.001193", "Lê Văn Cường"),
            now - time::Duration::days(30),
        )
        .await
        .unwrap();
    let code = DossierCode::parse(&dossier.code).unwrap();
    let ingest =
        |path: PathBuf, role: DocumentRole, ocr: bool, metadata: DocumentMetadata| IngestRequest {
            path,
            file_name: None,
            dossier: Some(code.clone()),
            role,
            metadata,
            ocr,
            offline: true,
            actor: "clerk1".to_owned(),
        };
    let scan = app
        .pipeline
        .ingest(
            ingest(
                sample("scan-quyet-dinh.png"),
                DocumentRole::Input,
                true,
                DocumentMetadata::default(),
            ),
            now,
        )
        .await
        .unwrap()
        .id;
    let result = |subject: &str| DocumentMetadata {
        type_name: Some("Giấy phép xây dựng".to_owned()),
        code_number: Some("118".to_owned()),
        code_notation: Some("GPXD-UBND".to_owned()),
        subject: Some(subject.to_owned()),
        ..DocumentMetadata::default()
    };
    let signed = app
        .pipeline
        .ingest(
            ingest(
                sample("cong-van.pdf"),
                DocumentRole::Result,
                false,
                result(
                    "Cấp giấy phép xây dựng nhà ở riêng lẻ tại thửa đất số 123, tờ bản đồ số 45",
                ),
            ),
            now,
        )
        .await
        .unwrap()
        .id;
    let key = SoftwareKey::from_pkcs12_file(&pki::dir().join("official.p12"), "test").unwrap();
    let outcome = app
        .pipeline
        .sign_versions(
            Box::new(key),
            &[SignTarget {
                document_id: signed,
                expected_version: Some(1),
            }],
            &SignSettings::default(),
            "official1",
            now,
        )
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    let official = app.user_ids[&Role::Official];
    let request = archive
        .request_signature(signed, official, Some("Kính trình"), "clerk1", now)
        .await
        .unwrap();
    archive
        .complete_sign_request(request.request_id, outcome.version_id, "official1", now)
        .await
        .unwrap();
    // The same letter again (another name, so not a duplicate), awaiting signature.
    let copy = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(sample("cong-van.pdf")).unwrap();
    bytes.extend_from_slice(b"\n% ban thu hai\n");
    let second = copy.path().join("cong-van-ban-thu-hai.pdf");
    std::fs::write(&second, bytes).unwrap();
    let pending = app
        .pipeline
        .ingest(
            ingest(
                second,
                DocumentRole::Result,
                false,
                result("Điều chỉnh giấy phép xây dựng"),
            ),
            now,
        )
        .await
        .unwrap()
        .id;
    archive
        .request_signature(
            pending,
            official,
            Some("Kính trình lãnh đạo ký giấy phép điều chỉnh theo đề nghị của chủ đầu tư"),
            "clerk1",
            now,
        )
        .await
        .unwrap();
    Records {
        code: dossier.code,
        scan,
        signed,
        pending,
        signed_sha: outcome.sha256,
    }
}

/// The page's own words that are still Vietnamese in English (data excluded: names,
/// procedures, document titles, examples of Vietnamese notations).
const UNTRANSLATED: &str = r##"
    const vietnamese = (text) => /[đĐ]/.test(text) || /[\u0300-\u036f]/.test(text.normalize("NFD"));
    const own = (el) => [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent).join(" ").trim();
    const found = [];
    const selectors = ["thead th", "label", "button", "h2", "summary", "dt", "legend",
        "header.top nav a", "figcaption", "table.meta th", ".status", ".sig-status",
        ".verdict strong", "p.notice", "p.muted", "nav.toc a", "nav.pager a",
        "#upload-role option", "#channel option", "select[name=signature] option",
        "select[name=sort] option", "select[name=role] option", "#appearance option",
        "#meta-urgency option", "#meta-confidentiality option"];
    for (const selector of selectors) {
        for (const el of document.querySelectorAll(selector)) {
            // Data inside these: a dossier's history notes, the OCR text, a report's file.
            if (el.closest("#receipt, .hit, td, pre, #lookup .public-document, .report-file, .request, #report-info")) continue;
            const text = own(el);
            if (text && vietnamese(text)) found.push(selector + ": " + text);
        }
    }
    for (const el of document.querySelectorAll("input[placeholder]")) {
        if (["anchor", "meta-code_notation"].includes(el.id) || el.name === "number") continue;
        if (vietnamese(el.placeholder)) found.push("placeholder: " + el.placeholder);
    }
    return found;
"##;

/// Whatever is wider than the window or its box.
const OVERFLOW: &str = r##"
    const root = document.documentElement;
    const found = [];
    if (root.scrollWidth > root.clientWidth + 1)
        found.push("the page is " + root.scrollWidth + " px wide in " + root.clientWidth);
    for (const box of document.querySelectorAll(".table-scroll, .card")) {
        if (box.scrollWidth > box.clientWidth + 1)
            found.push((box.id || box.className) + ": " + box.scrollWidth + " px in " + box.clientWidth);
    }
    for (const el of document.querySelectorAll("main *")) {
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.right > root.clientWidth + 1 && !el.closest(".table-scroll, pre"))
            found.push(el.tagName + (el.id ? "#" + el.id : "") + " ends at " + Math.round(r.right));
    }
    return found.slice(0, 10);
"##;

async fn check_page(tab: &Tab, path: &str, ready: &str, name: &str) {
    for lang in ["vi", "en"] {
        let separator = if path.contains('?') { '&' } else { '?' };
        tab.goto(&format!("{path}{separator}lang={lang}")).await;
        tab.wait_css(ready, SHORT).await;
        // Images (thumbnails, previews) change the layout when they arrive.
        tab.wait_js(
            "the images",
            "return [...document.images].every(i => i.complete) && document.readyState === 'complete';",
            SHORT,
        )
        .await;
        let overflow = tab.js(OVERFLOW).await;
        let shot = tab.screenshot(&format!("{name}-{lang}")).await;
        assert_eq!(
            overflow,
            Value::Array(Vec::new()),
            "{path} ({lang}) is wider than 1366 px: {}",
            shot.display()
        );
        if lang == "en" {
            let left = tab.js(UNTRANSLATED).await;
            assert_eq!(
                left,
                Value::Array(Vec::new()),
                "{path}: Vietnamese words of the page's own in English ({})",
                shot.display()
            );
            assert_eq!(tab.js("return document.documentElement.lang").await, "en");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e2e_pages_fit_the_counter_screen_in_both_languages() {
    let Some(driver) = Chromedriver::start() else {
        return;
    };
    if pki::services().is_none() {
        return;
    }
    let app = TestApp::new(TestDb::sqlite(), HttpSettings::default()).await;
    let records = records(&app).await;
    let state = app.state.clone().with_clock(OffsetDateTime::now_utc);
    let server = Server::start(state).await;
    let shots = Arc::new(Screenshots::new("pages"));
    let Records {
        code,
        scan,
        signed,
        pending,
        signed_sha,
    } = &records;

    let anonymous = Tab::open(&driver, &server.base, shots.clone()).await;
    check_page(&anonymous, "/login", "input[name=username]", "login").await;
    check_page(&anonymous, "/verify", "#verify-drop", "verify").await;
    check_page(
        &anonymous,
        &format!("/tra-cuu/{code}"),
        "#public-status",
        "public-status",
    )
    .await;
    check_page(
        &anonymous,
        &format!("/verify/{signed_sha}"),
        "#lookup",
        "lookup",
    )
    .await;
    anonymous.close().await;

    let clerk = Tab::open(&driver, &server.base, shots.clone()).await;
    clerk.login("clerk1", PASSWORD).await;
    check_page(&clerk, "/clerk", "#recent-dossiers", "clerk").await;
    check_page(
        &clerk,
        &format!("/clerk/dossiers/{code}"),
        "#documents-table",
        "clerk-dossier",
    )
    .await;
    check_page(
        &clerk,
        &format!("/clerk/documents/{scan}"),
        "#metadata-form",
        "clerk-document",
    )
    .await;
    check_page(
        &clerk,
        &format!("/clerk/dossiers/{code}/receipt"),
        "#receipt",
        "receipt",
    )
    .await;
    receipt_prints_on_one_page(&clerk, code, &shots).await;
    markup_file_names_are_listed_as_text(&clerk, code).await;
    clerk.close().await;

    let official = Tab::open(&driver, &server.base, shots.clone()).await;
    official.login("official1", PASSWORD).await;
    check_page(&official, "/official", "#queue", "official").await;
    check_page(
        &official,
        &format!("/official/documents/{pending}"),
        "#sign-form",
        "official-document",
    )
    .await;
    check_page(&official, "/official/signed", "#signed", "official-signed").await;
    official.close().await;

    let archivist = Tab::open(&driver, &server.base, shots.clone()).await;
    archivist.login("archivist1", PASSWORD).await;
    check_page(
        &archivist,
        "/archive?q=giay+phep+xay+dung",
        "#results .hit",
        "archive-search",
    )
    .await;
    check_page(
        &archivist,
        &format!("/archive/documents/{signed}"),
        "#signatures .sig-status",
        "archive-document",
    )
    .await;
    check_page(
        &archivist,
        &format!("/archive/dossiers/{code}"),
        "#dossier-documents",
        "archive-dossier",
    )
    .await;
    archivist.close().await;

    let admin = Tab::open(&driver, &server.base, shots.clone()).await;
    admin.login("admin1", PASSWORD).await;
    check_page(&admin, "/admin", "#users-table", "admin").await;
    check_page(&admin, "/admin/stats", "#stats-table", "admin-stats").await;
    admin.close().await;

    eprintln!("e2e pages: screenshots in {}", shots.dir.display());
    server.stop().await;
    app.cleanup().await;
}

/// The receipt as Chromium prints it on A4: one page, the form only (no menu, no buttons).
async fn receipt_prints_on_one_page(tab: &Tab, code: &str, shots: &Screenshots) {
    tab.goto(&format!("/clerk/dossiers/{code}/receipt?lang=vi"))
        .await;
    tab.wait_css("#receipt-qr svg", SHORT).await;
    let settings = PrintConfiguration::builder()
        .size(PrintSize::A4)
        .build()
        .unwrap();
    let pdf = tab
        .client
        .print(settings)
        .await
        .expect("Chromium prints the receipt");
    let path = shots.dir.join("pages-receipt-print.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let info = std::process::Command::new("pdfinfo")
        .arg(&path)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.trim_end().ends_with(" 1")),
        "the receipt prints on one page ({}):\n{info}",
        path.display()
    );
    let text = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for printed in [
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        code,
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
    ] {
        assert!(text.contains(printed), "{printed:?} printed:\n{text}");
    }
    for not_printed in ["Đăng xuất", "In giấy tiếp nhận", "Về hồ sơ", "English"] {
        assert!(
            !text.contains(not_printed),
            "{not_printed:?} is not printed:\n{text}"
        );
    }
    // A picture of the printed page, to look at.
    let png = shots.dir.join("pages-receipt-print");
    let _ = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-singlefile"])
        .arg(&path)
        .arg(&png)
        .status();
    eprintln!("e2e pages: receipt printed to {} (+ .png)", path.display());
}

/// A scan named like markup, dropped on the dossier page: its row shows the name as text.
async fn markup_file_names_are_listed_as_text(tab: &Tab, code: &str) {
    let dir = tempfile::tempdir().unwrap();
    let name = "\"><img src=x id=injected onerror=alert(1)>.png";
    let file = dir.path().join(name);
    // Not a file of the dossier already (that one would not be stored twice).
    std::fs::copy(sample("chu-ky.png"), &file).unwrap();
    tab.goto(&format!("/clerk/dossiers/{code}")).await;
    tab.wait_css("#dropzone.ready", SHORT).await;
    if tab.find("#upload-ocr").await.is_selected().await.unwrap() {
        tab.click("#upload-ocr").await;
    }
    tab.choose_files("#file-input", &[&file]).await;
    let row = tab
        .wait_js(
            "the upload's row",
            "const li = document.querySelector('#upload-list li');
             const state = li && li.querySelector('.state.ok, .state.bad');
             return state ? [li.querySelector('.name').textContent, state.className, state.textContent] : null;",
            OCR,
        )
        .await;
    assert_eq!(row[0].as_str(), Some(name), "{row}");
    assert!(row[1].as_str().unwrap().contains("ok"), "stored: {row}");
    let injected = tab
        .js("return document.querySelectorAll('#injected, img[src=\"x\"]').length;")
        .await;
    assert_eq!(injected, 0, "the name became markup");
    // The stored name on the reloaded page, as text too.
    tab.goto(&format!("/clerk/dossiers/{code}")).await;
    let listed = tab
        .wait_js(
            "the stored name",
            &format!(
                "return [...document.querySelectorAll('#documents-table td')].some(td => td.innerText.includes({}));",
                js_string("img src=x id=injected onerror=alert(1)")
            ),
            SHORT,
        )
        .await;
    assert_eq!(listed, true);
    let injected = tab
        .js("return document.querySelectorAll('#injected, img[src=\"x\"]').length;")
        .await;
    assert_eq!(injected, 0, "the stored name became markup");
    tab.screenshot("markup-file-name").await;
}

//! End to end in headless Chromium (harness: `browser.rs`): the service served on a loopback
//! port, people using its pages as they would, one screenshot per step.
//!
//! The scenario (one test, in order): a clerk receives a dossier and uploads two scans whose
//! OCR text appears; uploads a result PDF and asks an official to sign it; the official signs
//! it from the queue after looking at where the signature goes; an archivist finds the scans
//! by a word typed without diacritics and sees the signed result's signature valid; a citizen
//! (not signed in) verifies the signed PDF (valid) and a tampered copy (not valid); the admin
//! opens administration and the statistics charts. Also: the login page in English, and a
//! wrong password answered in Vietnamese with its error code.
//!
//! `cargo test --test hoso e2e -- --nocapture` prints where the screenshots are.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hoso::archive::accounts::{KeyStorage, NewSigningKey, Role};
use hoso::archive::procedures::CatalogueFormat;
use hoso::http::HttpSettings;
use time::OffsetDateTime;

use crate::api_support::{PASSWORD, TestApp};
use crate::browser::{Chromedriver, SHORT, Screenshots, Server, Tab};
use crate::helpers::{TestDb, backends};
use crate::pki;

/// OCR of two scans on a loaded 2-core machine.
const OCR: Duration = Duration::from_secs(180);
/// Signing (B-T: a timestamp from the test TSA) and verification.
const SIGNING: Duration = Duration::from_secs(60);

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e2e_browser_scenario() {
    let Some(driver) = Chromedriver::start() else {
        return;
    };
    // Signing through the service takes a timestamp from the test TSA (B-T).
    if pki::services().is_none() {
        return;
    }
    let mut folder = None;
    for db in backends().await {
        folder = Some(scenario(&driver, db).await);
    }
    if let Some(folder) = folder {
        eprintln!("e2e: screenshots in {}", folder.display());
    }
}

/// The service over `db` with the test users, the catalogue and official1's signing key.
async fn app_over(db: TestDb) -> TestApp {
    let services = pki::services().expect("checked by the test");
    let settings = HttpSettings {
        tsa_url: Some(format!("{}/", services.tsa)),
        ..HttpSettings::default()
    };
    let app = TestApp::new(db, settings).await;
    let now = app.now();
    let archive = app.pipeline.archive();
    archive
        .import_procedures(
            "code,name,field,level,processing_days,competent_agency\n\
             1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n\
             1.000656,Cấp giấy phép xây dựng nhà ở riêng lẻ,Xây dựng,Cấp huyện,15,UBND cấp huyện\n"
                .as_bytes(),
            CatalogueFormat::Csv,
            "e2e.csv",
            "e2e",
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
                name: "Chữ ký số 2026".to_owned(),
                storage: KeyStorage::Pkcs12 { sealed },
                certificate_der: info.certificate_der,
                subject: info.subject,
                not_after: info.not_after,
                signature_image: Some(std::fs::read(sample("chu-ky.png")).unwrap()),
            },
            "e2e",
            now,
        )
        .await
        .unwrap();
    app
}

/// The whole scenario on one backend; returns the screenshots folder.
async fn scenario(driver: &Chromedriver, db: TestDb) -> PathBuf {
    let backend = db.backend();
    let app = app_over(db).await;
    // The served service runs on the real clock (the TestApp's clock stands still).
    let state = app.state.clone().with_clock(OffsetDateTime::now_utc);
    let server = Server::start(state).await;
    let shots = Arc::new(Screenshots::new(backend));
    let files = tempfile::tempdir().unwrap();
    eprintln!("e2e ({backend}): serving {}", server.base);

    login_page(driver, &server, &shots).await;
    let clerk = Tab::open(driver, &server.base, shots.clone()).await;
    let code = clerk_receives_scans(&clerk, files.path()).await;
    let result_id = clerk_asks_for_signature(&clerk, &code).await;
    clerk.close().await;
    official_signs(driver, &server, &shots, result_id).await;
    let signed = archivist_finds_and_checks(driver, &server, &shots, result_id).await;
    let signed_path = files.path().join("cong-van-da-ky.pdf");
    std::fs::write(&signed_path, &signed).unwrap();
    let tampered_path = files.path().join("cong-van-da-sua.pdf");
    std::fs::write(&tampered_path, tampered(&signed)).unwrap();
    citizen_verifies(driver, &server, &shots, &signed_path, &tampered_path).await;
    admin_looks(driver, &server, &shots).await;

    let dir = shots.dir.clone();
    server.stop().await;
    app.cleanup().await;
    dir
}

/// The login page: English switch, and a wrong password answered in Vietnamese with its code.
async fn login_page(driver: &Chromedriver, server: &Server, shots: &Arc<Screenshots>) {
    let tab = Tab::open(driver, &server.base, shots.clone()).await;
    tab.goto("/login").await;
    tab.wait_css("input[name=username]", SHORT).await;
    let vi = tab.body_text().await;
    assert!(
        vi.contains("Tên đăng nhập") && vi.contains("Mật khẩu"),
        "{vi}"
    );
    tab.screenshot("login-vi").await;

    tab.goto("/login?lang=en").await;
    tab.wait_css("input[name=username]", SHORT).await;
    let en = tab.body_text().await;
    assert!(en.contains("User name") && en.contains("Password"), "{en}");
    assert!(!en.contains("Tên đăng nhập"), "{en}");
    assert_eq!(tab.js("return document.documentElement.lang").await, "en");
    tab.screenshot("login-en").await;

    // Back to Vietnamese (the choice is remembered in a cookie), then a wrong password.
    tab.goto("/login?lang=vi").await;
    tab.fill("input[name=username]", "clerk1").await;
    tab.fill("input[name=password]", "sai-mat-khau").await;
    tab.click("form[action='/login'] button[type=submit]").await;
    let error = tab
        .wait_js(
            "the login error",
            "const e = document.querySelector('.error-box'); return e && e.innerText;",
            SHORT,
        )
        .await;
    let error = error.as_str().unwrap();
    assert!(error.contains("[login-failed]"), "{error}");
    assert!(
        error.contains("mật khẩu"),
        "the message is Vietnamese: {error}"
    );
    assert_eq!(tab.path().await, "/login");
    tab.screenshot("login-wrong-password").await;
    tab.close().await;
}

/// A second scan: the lower part of the sample decision (articles and signature block), as a
/// 300-DPI PNG of its own (other bytes, other text).
fn lower_part_scan(dir: &Path) -> PathBuf {
    let file = std::io::BufReader::new(std::fs::File::open(sample("scan-quyet-dinh.png")).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    // A blank band just above the second "QUYẾT ĐỊNH:" (row 1550 of 3508).
    let first_row = 1550;
    let rows = &pixels[first_row as usize * frame.line_size..frame.buffer_size()];
    let path = dir.join("scan-quyet-dinh-trang-sau.png");
    let out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut encoder = png::Encoder::new(out, frame.width, frame.height - first_row);
    encoder.set_color(frame.color_type);
    encoder.set_depth(frame.bit_depth);
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: 11_811,
        yppu: 11_811,
        unit: png::Unit::Meter,
    }));
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(rows).unwrap();
    writer.finish().unwrap();
    path
}

/// Step 1: the clerk receives a dossier and drops two scans; their OCR text appears.
/// Returns the dossier code.
async fn clerk_receives_scans(tab: &Tab, dir: &Path) -> String {
    tab.login("clerk1", PASSWORD).await;
    tab.wait_path("/clerk", SHORT).await;
    tab.wait_css("#new-dossier-form", SHORT).await;
    tab.fill("#procedure-search", "xay dung").await;
    tab.select_value("#procedure", "1.000656").await;
    tab.fill("#applicant-name", "Trần Thị Mẫu").await;
    tab.fill("#id-number", "001186012345").await;
    tab.fill("#contact", "ấp Phú Hòa; 0200 000 0000").await;
    tab.screenshot("clerk-new-dossier").await;
    tab.click("#new-dossier-submit").await;
    tab.wait_path("/clerk/dossiers/", SHORT).await;
    let code = tab.text("#dossier-code").await;
    assert!(!code.is_empty());
    assert!(tab.text("#applicant").await.contains("Trần Thị Mẫu"));
    tab.screenshot("clerk-dossier-received").await;

    tab.select_value("#upload-role", "input").await;
    let ocr = tab.find("#upload-ocr").await;
    assert!(ocr.is_selected().await.unwrap(), "OCR is on by default");
    let second = lower_part_scan(dir);
    tab.choose_files("#file-input", &[&sample("scan-quyet-dinh.png"), &second])
        .await;
    tab.wait_js(
        "two uploads listed",
        "return document.querySelectorAll('#upload-list li').length >= 2;",
        SHORT,
    )
    .await;
    tab.screenshot("clerk-uploading").await;
    // Each scan's recognized text appears on the page when its OCR job is done.
    let texts = tab
        .wait_js(
            "the OCR text of both scans",
            "const t = [...document.querySelectorAll('#upload-list .ocr-text, #upload-list pre')]
                 .map(e => e.innerText).filter(s => s.trim().length > 50);
             return t.length >= 2 ? t : null;",
            OCR,
        )
        .await;
    let texts: Vec<String> = serde_json::from_value(texts).unwrap();
    let all = texts.join("\n");
    // Keywords the sample's README lists as read reliably (samples/README.md).
    for word in [
        "QUYẾT ĐỊNH",
        "12/QĐ-UBND",
        "Tân Phú",
        "giấy phép xây dựng",
        "khởi công",
    ] {
        assert!(all.contains(word), "{word:?} in the OCR text:\n{all}");
    }
    tab.screenshot_full("clerk-ocr-text").await;
    code
}

/// Step 2: the clerk uploads the result PDF and asks official1 to sign it. Returns its id.
async fn clerk_asks_for_signature(tab: &Tab, code: &str) -> i64 {
    tab.goto(&format!("/clerk/dossiers/{code}")).await;
    tab.select_value("#upload-role", "result").await;
    // A born-digital letter: nothing to recognize.
    if tab.find("#upload-ocr").await.is_selected().await.unwrap() {
        tab.click("#upload-ocr").await;
    }
    tab.choose_files("#file-input", &[&sample("cong-van.pdf")])
        .await;
    tab.wait_js(
        "the result PDF uploaded",
        "const li = [...document.querySelectorAll('#upload-list li')]
             .find(li => li.innerText.includes('cong-van.pdf'));
         return li && (li.classList.contains('done') || li.classList.contains('ok')
                       || li.querySelector('.ok, .done')) ? true : null;",
        SIGNING,
    )
    .await;
    tab.screenshot("clerk-result-uploaded").await;
    tab.goto(&format!("/clerk/dossiers/{code}")).await;
    tab.wait_css("#sign-request-form", SHORT).await;
    let chosen = tab
        .js(
            "const o = document.querySelector('#sign-document').selectedOptions[0];
             return o ? [o.value, o.innerText] : null;",
        )
        .await;
    let result_id: i64 = chosen[0].as_str().unwrap().parse().unwrap();
    assert!(
        chosen[1].as_str().unwrap().contains("cong-van.pdf"),
        "{chosen}"
    );
    tab.select_value("#sign-official", "official1").await;
    tab.fill("#sign-note", "Kính trình lãnh đạo ký công văn")
        .await;
    tab.click("#sign-request-submit").await;
    let notice = tab.text("#page-notice").await;
    assert!(notice.contains("trình ký"), "{notice}");
    let row = format!("tr.document-row[data-document-id='{result_id}'] td.sign-state");
    assert!(tab.text(&row).await.contains("chờ"), "pending signature");
    tab.screenshot_full("clerk-sign-requested").await;
    result_id
}

/// Step 3: official1 sees the document in the queue, looks at where the signature goes,
/// selects it, gives the key password and signs.
async fn official_signs(
    driver: &Chromedriver,
    server: &Server,
    shots: &Arc<Screenshots>,
    result_id: i64,
) {
    let tab = Tab::open(driver, &server.base, shots.clone()).await;
    tab.login("official1", PASSWORD).await;
    tab.wait_path("/official", SHORT).await;
    let row = format!("tr.queue-row[data-document-id='{result_id}']");
    tab.wait_css(&row, SHORT).await;
    tab.screenshot("official-queue").await;

    tab.click(&format!("{row} a.doc-link")).await;
    tab.wait_path(&format!("/official/documents/{result_id}"), SHORT)
        .await;
    // The red box where the visible signature goes, on the first page's preview.
    let box_at = tab
        .wait_js(
            "the signature box on the preview",
            "const box = document.querySelector('.page-preview .sigbox:not(.hidden)');
             const img = box && box.parentElement.querySelector('img');
             if (!box || !img || !img.complete || img.naturalWidth === 0) return null;
             const b = box.getBoundingClientRect(), i = img.getBoundingClientRect();
             if (b.width < 20 || b.height < 10) return null;
             return [(b.left - i.left) / i.width, (b.top - i.top) / i.height,
                     (b.right - i.left) / i.width, (b.bottom - i.top) / i.height];",
            SHORT,
        )
        .await;
    let [left, top, right, bottom] = serde_json::from_value::<[f64; 4]>(box_at.clone()).unwrap();
    // Inside the page, under "CHỦ TỊCH" at the bottom right (samples/README.md: the blank
    // space is x 273–553, y 200–301 of the 595 × 842 pt page).
    assert!(
        (-0.01..=1.01).contains(&left)
            && (-0.01..=1.01).contains(&right)
            && (-0.01..=1.01).contains(&top)
            && (-0.01..=1.01).contains(&bottom),
        "the box is inside the page: {box_at}"
    );
    assert!(
        left > 0.4 && top > 0.5 && bottom < 0.9,
        "the box is under the signer's title, bottom right: {box_at}"
    );
    let _ = tab
        .js("document.querySelector('.page-preview .sigbox').scrollIntoView({block: 'center'});")
        .await;
    tab.screenshot("official-preview-sigbox").await;

    tab.goto("/official").await;
    tab.click(&format!("{row} input.pick")).await;
    tab.click("#sign-selected").await;
    tab.wait_css("#sign-panel #password", SHORT).await;
    tab.fill("#password", "test").await;
    tab.screenshot("official-sign-panel").await;
    tab.click("#sign-submit").await;
    let result = tab
        .wait_js(
            "the signing result",
            &format!(
                "const cell = document.querySelector(\"{row} td.result\");
                 const list = document.querySelector('#sign-results');
                 const text = (cell ? cell.innerText : '') + ' ' + (list ? list.innerText : '');
                 const ok = document.querySelector(\"{row} td.result.ok, #sign-results li.ok\");
                 const bad = document.querySelector(\"{row} td.result.bad, #sign-results li.bad, #sign-status.bad\");
                 return ok ? 'ok: ' + text : bad ? 'bad: ' + text : null;"
            ),
            SIGNING,
        )
        .await;
    let result = result.as_str().unwrap().to_owned();
    tab.screenshot("official-signed").await;
    assert!(result.starts_with("ok"), "{result}");
    tab.close().await;
}

/// Step 4: the archivist finds the scans by words typed without diacritics, opens the signed
/// result and sees its signature valid; returns the signed PDF downloaded with their session.
async fn archivist_finds_and_checks(
    driver: &Chromedriver,
    server: &Server,
    shots: &Arc<Screenshots>,
    result_id: i64,
) -> Vec<u8> {
    let tab = Tab::open(driver, &server.base, shots.clone()).await;
    tab.login("archivist1", PASSWORD).await;
    tab.wait_path("/archive", SHORT).await;
    tab.fill("#q", "thoi han khoi cong").await;
    tab.click("#search-form button[type=submit]").await;
    tab.wait_css("#results .hit", SHORT).await;
    let hits = tab
        .js("return [...document.querySelectorAll('#results .hit')].map(h => h.innerText);")
        .await;
    let hits: Vec<String> = serde_json::from_value(hits).unwrap();
    assert!(
        hits.iter().any(|h| h.contains("scan-quyet-dinh")),
        "a scan is found: {hits:?}"
    );
    let marked = tab
        .js("return [...document.querySelectorAll('#results .hit mark')].map(m => m.innerText);")
        .await;
    let marked: Vec<String> = serde_json::from_value(marked).unwrap();
    // Matches are marked as written in the document (with diacritics), for words typed
    // without them.
    let typed = ["thoi", "han", "khoi", "cong"];
    let fold = hoso::archive::search::fold;
    assert!(
        !marked.is_empty()
            && marked.iter().all(|m| typed.contains(&fold(m).trim()))
            && marked.iter().any(|m| m.trim() != fold(m).trim()),
        "marked: {marked:?}"
    );
    tab.screenshot("archive-search-without-diacritics").await;

    tab.goto(&format!("/archive/documents/{result_id}")).await;
    tab.wait_css("#signatures", SHORT).await;
    let status = tab
        .wait_js(
            "the signature status",
            "const s = document.querySelector('#signatures .sig-status');
             return s && [s.className, s.innerText];",
            SHORT,
        )
        .await;
    let class = status[0].as_str().unwrap();
    assert!(
        class.split(' ').any(|c| c == "ok"),
        "the signature is valid: {status}"
    );
    let _ = tab
        .js("document.querySelector('#signatures').scrollIntoView({block: 'start'});")
        .await;
    tab.screenshot("archive-signature-valid").await;

    // The signed PDF, downloaded through the API with the archivist's session.
    let href = tab
        .js("return document.querySelector('#download-latest').getAttribute('href');")
        .await;
    let href = href.as_str().unwrap().to_owned();
    let hex = tab
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], {credentials: 'same-origin'})
               .then(r => r.ok ? r.arrayBuffer() : Promise.reject(r.status))
               .then(b => done([...new Uint8Array(b)]
                   .map(x => x.toString(16).padStart(2, '0')).join('')))
               .catch(e => done('error ' + e));",
            vec![serde_json::Value::String(href.clone())],
        )
        .await
        .unwrap();
    let hex = hex.as_str().unwrap();
    let signed = hex::decode(hex).unwrap_or_else(|_| panic!("download {href}: {hex}"));
    assert!(signed.starts_with(b"%PDF"), "{href}");
    let original = std::fs::read(sample("cong-van.pdf")).unwrap();
    assert!(
        signed.len() > original.len() && signed.starts_with(&original),
        "the signed PDF is the original plus an incremental update"
    );
    // The signed page as the archive renders it: the visible signature under "CHỦ TỊCH".
    tab.goto(&href.replace("/content", "/pages/1?width=700"))
        .await;
    tab.wait_js(
        "the rendered signed page",
        "const i = document.querySelector('img'); return i && i.complete && i.naturalWidth;",
        SHORT,
    )
    .await;
    tab.screenshot_full("archive-signed-page").await;
    tab.close().await;
    signed
}

/// A copy of `signed` with one byte of the original (signed) revision changed: the producer
/// name in the Info dictionary, same length, so the file still reads.
fn tampered(signed: &[u8]) -> Vec<u8> {
    let needle = b"ReportLab PDF Library";
    let at = signed
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the sample's producer string");
    let mut copy = signed.to_vec();
    copy[at + needle.len() - 1] = b'z';
    copy
}

/// Step 5: a citizen, not signed in, verifies the signed PDF (valid) and a tampered copy.
async fn citizen_verifies(
    driver: &Chromedriver,
    server: &Server,
    shots: &Arc<Screenshots>,
    signed: &Path,
    tampered: &Path,
) {
    let tab = Tab::open(driver, &server.base, shots.clone()).await;
    for (file, class, name) in [
        (signed, "ok", "verify-signed-ok"),
        (tampered, "bad", "verify-tampered-bad"),
    ] {
        tab.goto("/verify").await;
        tab.wait_css("#verify-drop", SHORT).await;
        assert!(
            !tab.body_text().await.contains("Đăng xuất"),
            "the citizen is not signed in"
        );
        tab.choose_files("#verify-file", &[file]).await;
        tab.click("#verify-submit").await;
        let verdict = tab
            .wait_js(
                "the verdict",
                "const v = document.querySelector('#verify-result .verdict');
                 return v && [v.className, v.innerText];",
                SIGNING,
            )
            .await;
        let classes = verdict[0].as_str().unwrap();
        let _ = tab
            .js("document.querySelector('#verify-result').scrollIntoView({block: 'start'});")
            .await;
        tab.screenshot(name).await;
        assert!(
            classes.split(' ').any(|c| c == class),
            "{}: {verdict}",
            file.display()
        );
    }
    tab.close().await;
}

/// Step 6: the administrator opens administration and the statistics (charts drawn).
async fn admin_looks(driver: &Chromedriver, server: &Server, shots: &Arc<Screenshots>) {
    let tab = Tab::open(driver, &server.base, shots.clone()).await;
    tab.login("admin1", PASSWORD).await;
    tab.wait_path("/admin", SHORT).await;
    tab.wait_css("#users-table", SHORT).await;
    let users = tab.text("#users-table").await;
    for name in ["clerk1", "official1", "archivist1", "admin1"] {
        assert!(users.contains(name), "{users}");
    }
    tab.wait_css("#keys-table", SHORT).await;
    assert!(tab.text("#keys-table").await.contains("Chữ ký số 2026"));
    tab.screenshot("admin").await;

    tab.goto("/admin/stats").await;
    tab.wait_css("#stats-table", SHORT).await;
    let charts = tab
        .wait_js(
            "the charts",
            "const s = [...document.querySelectorAll('#stats-charts svg')]
                 .filter(svg => svg.getBoundingClientRect().width > 50);
             return s.length;",
            SHORT,
        )
        .await;
    assert!(charts.as_u64().unwrap() >= 1, "{charts}");
    let received = tab.text("#stats-total").await;
    assert!(received.contains('1'), "the dossier is counted: {received}");
    tab.screenshot_full("admin-stats").await;
    tab.close().await;
}

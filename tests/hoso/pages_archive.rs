//! The archivist's, public and administration pages, in process on SQLite and PostgreSQL:
//! search with highlighted snippets (and nothing else unescaped), a document with its
//! versions and signatures panel, a dossier, public verification with and without a script
//! (valid, tampered, garbage, rate limit, the QR look-up), the admin page and the statistics
//! dashboard with its charts; and every role that must not see a page getting the 403 page.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Method, header};
use hoso::archive::accounts::{KeyStorage, NewSigningKey, Role};
use hoso::archive::codes::DossierCode;
use hoso::archive::documents::{DocumentMetadata, DocumentRole, NewDocument, OcrText};
use hoso::archive::dossiers::{DossierStatus, Transition};
use hoso::archive::procedures::CatalogueFormat;
use hoso::digest::Sha256Digest;
use hoso::http::HttpSettings;
use hoso::pades::key::SoftwareKey;
use hoso::pipeline::ingest::IngestRequest;
use hoso::pipeline::sign::{SignSettings, SignTarget};
use serde_json::json;

use crate::api_support::{Multipart, TestApp, TestResponse};
use crate::helpers::backends;

const CATALOGUE: &str = "code,name,field,level,processing_days,competent_agency\n\
    1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n\
    2.002710,Cấp giấy phép xây dựng,Xây dựng,Cấp huyện,15,UBND cấp huyện\n";

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// A page as `role` sees it (session cookie, as a browser sends it).
async fn page(app: &TestApp, role: Role, path: &str) -> TestResponse {
    app.send(
        app.as_session(role, Method::GET, path)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// The 403 page: HTML with the error code, and none of the page's content.
#[track_caller]
fn forbidden_page(response: &TestResponse, must_not_contain: &str) {
    response.assert_status(403);
    let html = response.text();
    assert!(html.contains("forbidden"), "{html}");
    assert!(!html.contains(must_not_contain), "{html}");
}

async fn import_catalogue(app: &TestApp) {
    app.pipeline
        .archive()
        .import_procedures(
            CATALOGUE.as_bytes(),
            CatalogueFormat::Csv,
            "catalogue.csv",
            "admin1",
            app.now(),
        )
        .await
        .unwrap();
}

/// A dossier received by the clerk (through the API); its code.
async fn dossier(app: &TestApp, procedure: &str, applicant: &str) -> String {
    let created = app
        .post_json_as(
            Role::Clerk,
            "/api/v1/dossiers",
            &json!({"procedure": procedure, "applicant": {"name": applicant}}),
        )
        .await;
    created.assert_status(201);
    created.json()["code"].as_str().unwrap().to_owned()
}

/// A document with text, stored directly in the archive; its id.
async fn text_document(
    app: &TestApp,
    code: Option<&str>,
    role: DocumentRole,
    metadata: DocumentMetadata,
    text: &str,
) -> i64 {
    let archive = app.pipeline.archive();
    let content = format!("{metadata:?}\n{text}");
    let sha = Sha256Digest::of(content.as_bytes());
    archive
        .record_blob(&sha, content.len() as u64, "application/pdf", app.now())
        .await
        .unwrap();
    archive
        .add_document(
            &NewDocument {
                dossier: code.map(|c| DossierCode::parse(c).unwrap()),
                role,
                sha256: sha,
                file_name: "van-ban.pdf".to_owned(),
                metadata,
                ocr: Some(OcrText {
                    text: text.to_owned(),
                    confidence: Some(92.0),
                }),
                actor: "clerk1".to_owned(),
                reason: "tiếp nhận".to_owned(),
            },
            app.now(),
        )
        .await
        .unwrap()
        .document_id
}

/// `cong-van.pdf` stored as a result of `code` and signed (B-B) by the test official through
/// the pipeline: version 1 unsigned, version 2 signed and verified. Its id.
async fn signed_result(app: &TestApp, code: &str) -> i64 {
    let outcome = app
        .pipeline
        .ingest(
            IngestRequest {
                path: sample("cong-van.pdf"),
                file_name: Some("ket-qua.pdf".to_owned()),
                dossier: Some(DossierCode::parse(code).unwrap()),
                role: DocumentRole::Result,
                metadata: DocumentMetadata {
                    type_name: Some("Giấy khai sinh".to_owned()),
                    code_number: Some("118".to_owned()),
                    code_notation: Some("GKS-UBND".to_owned()),
                    ..DocumentMetadata::default()
                },
                ocr: false,
                offline: true,
                actor: "clerk1".to_owned(),
            },
            app.now(),
        )
        .await
        .unwrap();
    let key =
        SoftwareKey::from_pkcs12_file(&crate::pki::dir().join("official.p12"), "test").unwrap();
    let signed = app
        .pipeline
        .sign_versions(
            Box::new(key),
            &[SignTarget {
                document_id: outcome.id,
                expected_version: Some(1),
            }],
            &SignSettings::default(),
            "official1",
            app.now(),
        )
        .await
        .unwrap();
    let signed = signed[0].as_ref().unwrap();
    assert_eq!(signed.indication.as_deref(), Some("TOTAL-PASSED"));
    outcome.id
}

/// The signed version's bytes (what a citizen downloads).
async fn content(app: &TestApp, id: i64, version: i64) -> Vec<u8> {
    let response = page(
        app,
        Role::Archivist,
        &format!("/api/v1/documents/{id}/versions/{version}/content"),
    )
    .await;
    response.assert_status(200);
    response.body
}

#[tokio::test]
async fn search_marks_the_matches_and_escapes_everything_else() {
    for app in TestApp::all().await {
        import_catalogue(&app).await;
        let code = dossier(&app, "1.001193", "Lê Văn Cường").await;
        let hostile = text_document(
            &app,
            Some(&code),
            DocumentRole::Input,
            DocumentMetadata {
                type_name: Some("Đơn".to_owned()),
                subject: Some("<script>alert(1)</script> phường Đống Đa".to_owned()),
                ..DocumentMetadata::default()
            },
            "Tôi cư trú tại phường Đống Đa <b>đậm</b> & xin cấp bản sao.",
        )
        .await;
        let other = text_document(
            &app,
            None,
            DocumentRole::Outgoing,
            DocumentMetadata::default(),
            "Công văn về đường Láng.",
        )
        .await;
        for role in [Role::Archivist, Role::Clerk] {
            let response = page(&app, role, "/archive?q=dong+da").await;
            response.assert_status(200);
            let html = response.text();
            for id in ["search-form", "id=\"q\"", "id=\"results\"", "class=\"hit\""] {
                assert!(html.contains(id), "{id}: {html}");
            }
            assert!(html.contains("<mark>Đống</mark>"), "{html}");
            assert!(!html.contains("<script>alert"), "{html}");
            assert!(
                html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{html}"
            );
            assert!(!html.contains("<b>đậm</b>"), "{html}");
            assert!(html.contains(&format!("/archive/documents/{hostile}")));
            assert!(
                !html.contains(&format!("/archive/documents/{other}\"")),
                "{html}"
            );
            assert!(
                html.contains(&format!("/archive/dossiers/{code}")),
                "{html}"
            );
        }
        // Filters and the English page; an empty search lists the newest documents.
        let outgoing = page(&app, Role::Archivist, "/archive?q=&role=outgoing&lang=en").await;
        outgoing.assert_status(200);
        let html = outgoing.text();
        assert!(html.contains("Search the archive"), "{html}");
        assert!(
            html.contains(&format!("/archive/documents/{other}\"")),
            "{html}"
        );
        assert!(
            !html.contains(&format!("/archive/documents/{hostile}\"")),
            "{html}"
        );
        let newest = page(&app, Role::Archivist, "/archive").await.text();
        assert!(
            newest.contains(&format!("/archive/documents/{other}\"")),
            "{newest}"
        );
        // Paging: one per page, a next link, then the second page.
        let first = page(&app, Role::Archivist, "/archive?per_page=1")
            .await
            .text();
        assert!(first.contains("id=\"next-page\""), "{first}");
        assert!(first.contains("page=2"), "{first}");
        let nothing = page(&app, Role::Archivist, "/archive?q=khong+co+tu+nay")
            .await
            .text();
        assert!(nothing.contains("id=\"no-results\""), "{nothing}");
        // Bad input: the form stays, with the coded error.
        let bad = page(&app, Role::Archivist, "/archive?q=x&issued_from=hom-qua").await;
        bad.assert_status(422);
        let html = bad.text();
        assert!(
            html.contains("search-form") && html.contains("field-invalid"),
            "{html}"
        );
        page(&app, Role::Archivist, "/archive?unknown=1")
            .await
            .assert_status(400);
        // Roles without search: the 403 page, no results; anonymous: the login page.
        for role in [Role::Official, Role::Admin] {
            forbidden_page(
                &page(&app, role, "/archive?q=dong+da").await,
                "class=\"hit\"",
            );
        }
        let anonymous = app.get_anonymous("/archive?q=dong+da").await;
        anonymous.assert_status(303);
        let to = anonymous.headers[header::LOCATION].to_str().unwrap();
        assert!(to.starts_with("/login?next=%2Farchive"), "{to}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_document_shows_its_versions_text_and_signatures_to_those_who_may_read_it() {
    if crate::pki::services().is_none() {
        return;
    }
    for app in TestApp::all().await {
        import_catalogue(&app).await;
        let code = dossier(&app, "1.001193", "Phạm Thị Dung").await;
        let id = signed_result(&app, &code).await;
        let response = page(&app, Role::Archivist, &format!("/archive/documents/{id}")).await;
        response.assert_status(200);
        let html = response.text();
        for needle in [
            "id=\"signatures\"",
            "class=\"sig-status ok\"",
            "Văn bản xác thực, không bị sửa đổi sau khi ký",
            "id=\"versions-table\"",
            "bản đã ký số",
            "Giấy khai sinh số 118/GKS-UBND",
            "id=\"reverify\"",
            "id=\"export\"",
        ] {
            assert!(html.contains(needle), "{needle}: {html}");
        }
        assert!(html.contains(&format!("/api/v1/documents/{id}/versions/1/content")));
        assert!(html.contains(&format!("/api/v1/documents/{id}/versions/2/content")));
        assert!(html.contains(&format!("/api/v1/dossiers/{code}/export")));
        assert!(html.contains(&format!("data-url=\"/api/v1/documents/{id}/verify\"")));
        // The signer's name from the certificate, and the stored report's plain words.
        let record = app.pipeline.archive().document(id).await.unwrap();
        let signer = record.signatures[0].signer.clone().unwrap();
        let common_name = signer
            .split(", ")
            .find_map(|p| p.strip_prefix("CN="))
            .unwrap_or(&signer)
            .to_owned();
        assert!(html.contains(&common_name), "{common_name}: {html}");
        assert!(html.contains("Chữ ký số hợp lệ."), "{html}");
        // The English page says the same in English.
        let english = page(
            &app,
            Role::Archivist,
            &format!("/archive/documents/{id}?lang=en"),
        )
        .await;
        assert!(english.text().contains("The digital signature is valid."));
        // Clerks read it too but may not export; admins never read documents; officials only
        // what they were asked to sign; an unknown id is 404.
        let clerk = page(&app, Role::Clerk, &format!("/archive/documents/{id}")).await;
        clerk.assert_status(200);
        assert!(!clerk.text().contains("id=\"export\""));
        forbidden_page(
            &page(&app, Role::Admin, &format!("/archive/documents/{id}")).await,
            "versions-table",
        );
        forbidden_page(
            &page(&app, Role::Official, &format!("/archive/documents/{id}")).await,
            "versions-table",
        );
        app.pipeline
            .archive()
            .request_signature(
                id,
                app.user_ids[&Role::Official],
                Some("ký giúp"),
                "clerk1",
                app.now(),
            )
            .await
            .unwrap();
        page(&app, Role::Official, &format!("/archive/documents/{id}"))
            .await
            .assert_status(200);
        let missing = page(&app, Role::Archivist, "/archive/documents/999999").await;
        missing.assert_status(404);
        assert!(missing.text().contains("document-not-found"));
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_recognized_text_is_collapsed_and_escaped_and_unverified_documents_say_so() {
    for app in TestApp::all().await {
        let id = text_document(
            &app,
            None,
            DocumentRole::Incoming,
            DocumentMetadata {
                subject: Some("Về việc <i>tuyển dụng</i>".to_owned()),
                ..DocumentMetadata::default()
            },
            "Kính gửi: UBND phường <Bến Nghé> & các đơn vị.",
        )
        .await;
        let html = page(&app, Role::Archivist, &format!("/archive/documents/{id}"))
            .await
            .text();
        assert!(html.contains("<details id=\"ocr-details\">"), "{html}");
        assert!(
            html.contains("Kính gửi: UBND phường &lt;Bến Nghé&gt; &amp; các đơn vị."),
            "{html}"
        );
        assert!(
            html.contains("Về việc &lt;i&gt;tuyển dụng&lt;/i&gt;"),
            "{html}"
        );
        assert!(html.contains("chưa được kiểm tra chữ ký"), "{html}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_dossier_page_lists_its_documents_and_history_read_only() {
    for app in TestApp::all().await {
        import_catalogue(&app).await;
        let code = dossier(&app, "2.002710", "Hoàng Văn Em").await;
        let id = text_document(
            &app,
            Some(&code),
            DocumentRole::Input,
            DocumentMetadata {
                type_name: Some("Đơn đề nghị".to_owned()),
                ..DocumentMetadata::default()
            },
            "Đơn đề nghị cấp giấy phép xây dựng.",
        )
        .await;
        app.pipeline
            .archive()
            .advance_dossier(
                &DossierCode::parse(&code).unwrap(),
                &Transition {
                    to: DossierStatus::Appraised,
                    actor: "clerk1".to_owned(),
                    note: Some("đủ điều kiện".to_owned()),
                },
                app.now(),
            )
            .await
            .unwrap();
        let response = page(&app, Role::Archivist, &format!("/archive/dossiers/{code}")).await;
        response.assert_status(200);
        let html = response.text();
        for needle in [
            code.as_str(),
            "Cấp giấy phép xây dựng",
            "Hoàng Văn Em",
            "đã thẩm định",
            "đủ điều kiện",
            "Đơn đề nghị",
            "id=\"export\"",
        ] {
            assert!(html.contains(needle), "{needle}: {html}");
        }
        assert!(html.contains(&format!("/archive/documents/{id}")));
        for role in [Role::Official, Role::Admin] {
            forbidden_page(
                &page(&app, role, &format!("/archive/dossiers/{code}")).await,
                "Hoàng Văn Em",
            );
        }
        page(&app, Role::Archivist, "/archive/dossiers/not-a-code")
            .await
            .assert_status(422);
        // The same day and agency, a sequence number never given.
        let unknown = format!("{}9999", &code[..code.len() - 4]);
        page(
            &app,
            Role::Archivist,
            &format!("/archive/dossiers/{unknown}"),
        )
        .await
        .assert_status(404);
        app.cleanup().await;
    }
}

/// `POST /verify` as a form without a script would send it (no session).
async fn verify_form(app: &TestApp, bytes: &[u8], signature: Option<&[u8]>) -> TestResponse {
    let mut form = Multipart::default().file("file", "ban-sao.pdf", "application/pdf", bytes);
    // Browsers send an empty part for a file input left empty.
    form = match signature {
        Some(sig) => form.file(
            "signature",
            "chu-ky.p7s",
            "application/pkcs7-signature",
            sig,
        ),
        None => form.file("signature", "", "application/octet-stream", b""),
    };
    app.multipart_anonymous("/verify", form).await
}

#[tokio::test]
async fn public_verification_works_without_sign_in_and_without_a_script() {
    if crate::pki::services().is_none() {
        return;
    }
    for app in TestApp::all().await {
        import_catalogue(&app).await;
        let code = dossier(&app, "1.001193", "Vũ Thị Giang").await;
        let id = signed_result(&app, &code).await;
        let form = app.get_anonymous("/verify").await;
        form.assert_status(200);
        let html = form.text();
        for needle in [
            "id=\"verify-drop\"",
            "id=\"verify-file\"",
            "id=\"verify-form\"",
            "id=\"verify-result\"",
            "enctype=\"multipart/form-data\"",
        ] {
            assert!(html.contains(needle), "{needle}: {html}");
        }
        let signed = content(&app, id, 2).await;
        let valid = verify_form(&app, &signed, None).await;
        valid.assert_status(200);
        let html = valid.text();
        assert!(html.contains("class=\"verdict ok\""), "{html}");
        assert!(html.contains("Văn bản xác thực, không bị sửa đổi sau khi ký"));
        assert!(html.contains("class=\"sig-status ok\""));
        assert!(html.contains(&Sha256Digest::of(&signed).to_hex()));
        // One byte changed inside the signed range.
        let mut tampered = signed.clone();
        let at = tampered
            .windows(8)
            .position(|w| w == b"595.2756")
            .expect("the MediaBox, inside the signed range");
        tampered[at + 7] = b'7';
        let html = verify_form(&app, &tampered, None).await.text();
        assert!(html.contains("class=\"verdict bad\""), "{html}");
        assert!(html.contains("Văn bản đã bị sửa đổi sau khi ký hoặc chữ ký không hợp lệ"));
        assert!(html.contains("class=\"sig-status bad\""), "{html}");
        // Not a PDF: the coded error in the page, the form still there.
        let garbage = verify_form(&app, b"this is not a PDF", None).await;
        garbage.assert_status(422);
        let html = garbage.text();
        assert!(
            html.contains("pdf-malformed") && html.contains("verify-drop"),
            "{html}"
        );
        // No file chosen.
        let empty = app
            .multipart_anonymous(
                "/verify",
                Multipart::default().file("file", "", "application/octet-stream", b""),
            )
            .await;
        empty.assert_status(400);
        assert!(empty.text().contains("upload-file-missing"));
        // A signed-in archivist sees the same page.
        page(&app, Role::Archivist, "/verify")
            .await
            .assert_status(200);

        // The QR code of the signed copy: the content before signing.
        let original = content(&app, id, 1).await;
        let lookup = app
            .get_anonymous(&format!("/verify/{}", Sha256Digest::of(&original).to_hex()))
            .await;
        lookup.assert_status(200);
        let html = lookup.text();
        assert!(html.contains("data-found=\"true\""), "{html}");
        assert!(html.contains("Giấy khai sinh"), "{html}");
        assert!(html.contains("118/GKS-UBND"), "{html}");
        assert!(html.contains("class=\"sig-status ok\""), "{html}");
        assert!(html.contains(&Sha256Digest::of(&signed).to_hex()), "{html}");
        assert!(
            html.contains("id=\"verify-drop\""),
            "the drop zone is there too"
        );
        assert!(!html.contains("Vũ Thị Giang"), "no applicant data: {html}");
        let unknown = app
            .get_anonymous(&format!("/verify/{}", "0".repeat(64)))
            .await;
        unknown.assert_status(200);
        assert!(unknown.text().contains("data-found=\"false\""));
        app.get_anonymous("/verify/xyz").await.assert_status(422);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn public_verification_is_rate_limited_per_client() {
    for db in backends().await {
        let app = TestApp::new(
            db,
            HttpSettings {
                verify_per_minute: 3,
                ..HttpSettings::default()
            },
        )
        .await;
        for _ in 0..3 {
            verify_form(&app, b"not a PDF", None)
                .await
                .assert_status(422);
        }
        let refused = verify_form(&app, b"not a PDF", None).await;
        refused.assert_status(429);
        assert!(refused.headers.contains_key(header::RETRY_AFTER));
        assert!(refused.text().contains("rate-limited"));
        let looked_up = app
            .get_anonymous(&format!("/verify/{}", "a".repeat(64)))
            .await;
        looked_up.assert_status(429);
        assert!(looked_up.headers.contains_key(header::RETRY_AFTER));
        assert!(looked_up.text().contains("rate-limited") && looked_up.text().contains("<html"));
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_admin_page_lists_users_tokens_keys_and_anchors_for_admins_only() {
    for app in TestApp::all().await {
        let archive = app.pipeline.archive();
        let p12 = std::fs::read(crate::pki::dir().join("official.p12")).unwrap();
        let (sealed, info) = hoso::auth::seal_pkcs12(&p12, "test").unwrap();
        archive
            .add_signing_key(
                &NewSigningKey {
                    user_id: app.user_ids[&Role::Official],
                    name: "Khóa <thử> 2026".to_owned(),
                    storage: KeyStorage::Pkcs12 { sealed },
                    certificate_der: info.certificate_der,
                    subject: info.subject,
                    not_after: info.not_after,
                    signature_image: None,
                },
                "admin1",
                app.now(),
            )
            .await
            .unwrap();
        let response = page(&app, Role::Admin, "/admin").await;
        response.assert_status(200);
        let html = response.text();
        for needle in [
            "id=\"users-table\"",
            "id=\"user-form\"",
            "id=\"password-form\"",
            "id=\"token-form\"",
            "id=\"tokens-table\"",
            "id=\"keys-table\"",
            "id=\"key-form\"",
            "id=\"trust-table\"",
            "id=\"trust-form\"",
            "id=\"catalogue-form\"",
            "clerk1",
            "official1",
            "archivist1",
            "Khóa &lt;thử&gt; 2026",
            "data-api=\"/api/v1/admin/users/clerk1\"",
            "data-api=\"/api/v1/admin/keys\"",
            "cấu hình, chỉ đọc",
        ] {
            assert!(html.contains(needle), "{needle}: {html}");
        }
        // The test root of the configured (read-only) trust folder.
        let root = openssl::x509::X509::from_pem(
            &std::fs::read(crate::pki::dir().join("root.crt")).unwrap(),
        )
        .unwrap();
        let fingerprint = hex::encode(root.digest(openssl::hash::MessageDigest::sha256()).unwrap());
        assert!(
            html.contains(&format!("data-sha256=\"{fingerprint}\"")),
            "{html}"
        );
        // No button to disable one's own account.
        assert!(
            !html.contains("data-api=\"/api/v1/admin/users/admin1\""),
            "{html}"
        );
        // Token scopes offered to an administrator: read and admin only.
        assert!(
            html.contains("value=\"admin\"") && !html.contains("name=\"scopes\" value=\"sign\"")
        );
        let english = page(&app, Role::Admin, "/admin?lang=en").await.text();
        assert!(english.contains("Administration") && english.contains("Signing keys"));
        for role in [Role::Clerk, Role::Official, Role::Archivist] {
            forbidden_page(&page(&app, role, "/admin").await, "users-table");
        }
        app.get_anonymous("/admin").await.assert_status(303);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_statistics_dashboard_shows_the_figures_by_field_with_charts() {
    for app in TestApp::all().await {
        import_catalogue(&app).await;
        let code = dossier(&app, "1.001193", "Đặng Văn Hùng").await;
        text_document(
            &app,
            Some(&code),
            DocumentRole::Input,
            DocumentMetadata::default(),
            "Tờ khai đăng ký khai sinh.",
        )
        .await;
        dossier(&app, "2.002710", "Bùi Thị Lan").await;
        let today = hoso::archive::calendar::local_date(app.now());
        for role in [Role::Admin, Role::Archivist] {
            let response = page(&app, role, "/admin/stats").await;
            response.assert_status(200);
            let html = response.text();
            for needle in [
                "id=\"stats-form\"",
                "id=\"stats-table\"",
                "id=\"stats-total\"",
                "Hộ tịch",
                "Xây dựng",
                "<svg class=\"chart\" id=\"chart-on-time-month\"",
                "id=\"chart-digitization-month\"",
                "id=\"chart-signature-month\"",
                "id=\"chart-on-time-field\"",
                "id=\"chart-digitization-field\"",
                "id=\"chart-signature-field\"",
                "<title id=\"chart-on-time-field-title\">",
            ] {
                assert!(html.contains(needle), "{needle}: {html}");
            }
            assert!(
                html.contains(&format!("value=\"{today}\"")),
                "the period ends today: {html}"
            );
            // Two received in person, one of them with its papers: 50 % digitized.
            assert!(html.contains("50 %"), "{html}");
            // Both pending and neither overdue: in time, never read as overdue.
            let total = &html[html.find("id=\"stats-total\"").unwrap()..];
            assert!(
                total.contains("<td class=\"num pending-in-time\">2</td>")
                    && total.contains("<td class=\"num pending-overdue\">0</td>"),
                "{total}"
            );
        }
        let english = page(&app, Role::Admin, "/admin/stats?lang=en").await.text();
        assert!(english.contains("On-time rate by month"), "{english}");
        let bad = page(
            &app,
            Role::Admin,
            "/admin/stats?from=2026-05-01&to=2026-04-01",
        )
        .await;
        bad.assert_status(422);
        assert!(bad.text().contains("field-invalid") && bad.text().contains("stats-form"));
        page(&app, Role::Admin, "/admin/stats?from=ngay-mai")
            .await
            .assert_status(422);
        for role in [Role::Clerk, Role::Official] {
            forbidden_page(&page(&app, role, "/admin/stats").await, "stats-table");
        }
        app.cleanup().await;
    }
}

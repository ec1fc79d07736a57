//! The clerk's and the official's pages, in process on SQLite and PostgreSQL: what each page
//! must show (the ids the browser tests use), the forms that receive a dossier, move it a
//! step and ask for a signature, the receipt with its QR code and the public status page,
//! and who is refused (403 page, or the login page for the anonymous).

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Method, Request, header};
use hoso::archive::accounts::{Role, SignRequestState};
use hoso::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use hoso::archive::documents::DocumentRole;
use hoso::archive::dossiers::{Applicant, Channel, DossierStatus, NewDossier};
use hoso::archive::procedures::CatalogueFormat;
use hoso::http::HttpSettings;
use hoso::pipeline::ingest::IngestRequest;

use crate::api_support::{TestApp, TestResponse};
use crate::helpers::backends;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

async fn catalogue(app: &TestApp) {
    app.pipeline
        .archive()
        .import_procedures(
            "code,name,field,level,processing_days,competent_agency\n\
             1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND xã Tân Lập\n\
             1.000656,Cấp giấy phép xây dựng nhà ở riêng lẻ,Xây dựng,Cấp huyện,15,UBND cấp huyện\n"
                .as_bytes(),
            CatalogueFormat::Csv,
            "pages.csv",
            "test",
            app.now(),
        )
        .await
        .unwrap();
}

async fn page(app: &TestApp, role: Role, path: &str) -> TestResponse {
    app.send(
        app.as_session(role, Method::GET, path)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn post_form(app: &TestApp, role: Role, path: &str, fields: &[(&str, &str)]) -> TestResponse {
    app.send(
        app.as_session(role, Method::POST, path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
            .unwrap(),
    )
    .await
}

fn location(response: &TestResponse) -> String {
    response.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

#[track_caller]
fn assert_contains(response: &TestResponse, needles: &[&str]) {
    let html = response.text();
    for needle in needles {
        assert!(html.contains(needle), "missing {needle:?} in:\n{html}");
    }
}

/// A 403 page (HTML with the error code), never the page's data.
#[track_caller]
fn assert_forbidden(response: &TestResponse, secret: &str) {
    response.assert_status(403);
    let html = response.text();
    assert!(html.contains("forbidden"), "{html}");
    assert!(!html.contains(secret), "{secret} leaked: {html}");
}

/// Receives a dossier through the page form; returns its code.
async fn receive(app: &TestApp) -> String {
    let response = post_form(
        app,
        Role::Clerk,
        "/clerk/dossiers",
        &[
            ("procedure", "1.001193"),
            ("applicant_name", "Nguyễn Văn An"),
            ("id_number", "001203004567"),
            ("contact", "Thôn 3, xã Tân Lập; 0912 345 678"),
            ("channel", "in_person"),
            ("note", ""),
        ],
    )
    .await;
    response.assert_status(303);
    let to = location(&response);
    let code = to
        .strip_prefix("/clerk/dossiers/")
        .and_then(|rest| rest.strip_suffix("?ok=created"))
        .unwrap_or_else(|| panic!("unexpected redirect {to}"));
    code.to_owned()
}

async fn ingest(app: &TestApp, code: &str, file: &str, role: DocumentRole) -> i64 {
    app.pipeline
        .ingest(
            IngestRequest {
                path: sample(file),
                file_name: None,
                dossier: Some(DossierCode::parse(code).unwrap()),
                role,
                metadata: Default::default(),
                ocr: false,
                offline: true,
                actor: "clerk1".to_owned(),
            },
            app.now(),
        )
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn a_clerk_receives_a_dossier_and_follows_it_through_its_steps() {
    for app in TestApp::all().await {
        catalogue(&app).await;
        let dashboard = page(&app, Role::Clerk, "/clerk").await;
        dashboard.assert_status(200);
        assert_contains(
            &dashboard,
            &[
                "data-page=\"clerk-dashboard\"",
                "id=\"new-dossier-form\"",
                "id=\"procedure-search\"",
                "value=\"1.001193\"",
                "Đăng ký khai sinh",
                "Tiếp nhận hồ sơ mới",
                "name=\"_csrf\"",
            ],
        );

        let code = receive(&app).await;
        assert!(
            code.starts_with("X99.999.99-"),
            "the test agency code: {code}"
        );
        let stored = app
            .pipeline
            .archive()
            .dossier(&DossierCode::parse(&code).unwrap())
            .await
            .unwrap();
        assert_eq!(stored.dossier.applicant_name, "Nguyễn Văn An");
        assert_eq!(stored.events[0].actor, "clerk1");

        let shown = page(
            &app,
            Role::Clerk,
            &format!("/clerk/dossiers/{code}?ok=created"),
        )
        .await;
        shown.assert_status(200);
        assert_contains(
            &shown,
            &[
                "id=\"page-notice\"",
                &code,
                "Nguyễn Văn An",
                "id=\"dossier-status\"",
                "data-status=\"received\"",
                "id=\"due-date\"",
                "id=\"dropzone\"",
                "id=\"file-input\"",
                "id=\"upload-list\"",
                "id=\"upload-role\"",
                "id=\"transition-form\"",
                "value=\"appraised\"",
                "id=\"print-receipt\"",
                "id=\"no-documents\"",
            ],
        );
        // The listing shows it too, with its due date.
        let listed = page(&app, Role::Clerk, "/clerk").await;
        assert_contains(&listed, &["id=\"recent-dossiers\"", &code]);

        // A step through the form; a step that is not allowed is refused with its code.
        let path = format!("/clerk/dossiers/{code}/transitions");
        let moved = post_form(
            &app,
            Role::Clerk,
            &path,
            &[("to", "appraised"), ("note", "đủ")],
        )
        .await;
        moved.assert_status(303);
        assert_eq!(
            location(&moved),
            format!("/clerk/dossiers/{code}?ok=transition")
        );
        let record = app
            .pipeline
            .archive()
            .dossier(&DossierCode::parse(&code).unwrap())
            .await
            .unwrap();
        assert_eq!(record.dossier.status, DossierStatus::Appraised);
        let refused = post_form(&app, Role::Clerk, &path, &[("to", "returned")]).await;
        refused.assert_status(409);
        assert_contains(
            &refused,
            &["dossier-transition-invalid", "id=\"page-error\""],
        );
        let nonsense = post_form(&app, Role::Clerk, &path, &[("to", "burned")]).await;
        nonsense.assert_status(422);

        // Received a month ago and still open: overdue, in red.
        let on_time = page(&app, Role::Clerk, "/clerk").await;
        assert!(!on_time.text().contains("quá hạn"), "{}", on_time.text());
        let old = app
            .pipeline
            .archive()
            .create_dossier(
                &NewDossier {
                    procedure: ProcedureCode::parse("1.001193").unwrap(),
                    agency: AgencyCode::parse("H53.100.01").unwrap(),
                    applicant: Applicant {
                        name: "Lê Thị Cúc".to_owned(),
                        id_number: None,
                        contact: None,
                    },
                    channel: Channel::Postal,
                    result_delivery: None,
                    actor: "clerk1".to_owned(),
                    note: None,
                },
                app.now() - time::Duration::days(30),
            )
            .await
            .unwrap();
        let late = page(&app, Role::Clerk, "/clerk").await;
        assert_contains(
            &late,
            &[
                &format!("class=\"dossier-row overdue\" data-code=\"{}\"", old.code),
                "class=\"due bad\"",
                "quá hạn",
            ],
        );
        let late = page(&app, Role::Clerk, &format!("/clerk/dossiers/{}", old.code)).await;
        assert_contains(&late, &["class=\"bad\" id=\"due-date\""]);

        // English on request.
        let english = page(&app, Role::Clerk, "/clerk?lang=en").await;
        assert_contains(&english, &["Receive a new dossier", "lang=\"en\""]);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_bad_new_dossier_form_is_shown_again_with_the_error() {
    for app in TestApp::all().await {
        catalogue(&app).await;
        let response = post_form(
            &app,
            Role::Clerk,
            "/clerk/dossiers",
            &[
                ("procedure", "1.001193"),
                ("applicant_name", "Trần Thị Bình"),
                ("id_number", "12 34"),
                ("channel", "in_person"),
            ],
        )
        .await;
        response.assert_status(422);
        assert_contains(
            &response,
            &[
                "field-invalid",
                "value=\"Trần Thị Bình\"",
                "id=\"new-dossier-form\"",
            ],
        );
        let unknown = post_form(
            &app,
            Role::Clerk,
            "/clerk/dossiers",
            &[("procedure", "9.999999"), ("applicant_name", "An")],
        )
        .await;
        unknown.assert_status(404);
        assert_contains(&unknown, &["procedure-not-found"]);
        let listed = app
            .pipeline
            .archive()
            .list_dossiers(&Default::default())
            .await
            .unwrap();
        assert!(listed.is_empty(), "nothing stored: {listed:?}");

        // Without the CSRF token a cookie session cannot post.
        let session = &app.sessions[&Role::Clerk];
        let forged = app
            .send(
                Request::post("/clerk/dossiers")
                    .header(header::COOKIE, &session.cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("procedure=1.001193&applicant_name=X"))
                    .unwrap(),
            )
            .await;
        forged.assert_status(403);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn only_clerks_use_the_clerk_pages() {
    for app in TestApp::all().await {
        catalogue(&app).await;
        let code = receive(&app).await;
        let id = ingest(&app, &code, "scan-quyet-dinh.png", DocumentRole::Input).await;
        for role in [Role::Official, Role::Archivist, Role::Admin] {
            for path in [
                "/clerk".to_owned(),
                format!("/clerk/dossiers/{code}"),
                format!("/clerk/documents/{id}"),
            ] {
                assert_forbidden(&page(&app, role, &path).await, "Nguyễn Văn An");
            }
            let posted = post_form(
                &app,
                role,
                &format!("/clerk/dossiers/{code}/transitions"),
                &[("to", "appraised")],
            )
            .await;
            assert_forbidden(&posted, "Nguyễn Văn An");
        }
        // The receipt is for those who read dossiers: clerks and archivists.
        let receipt = format!("/clerk/dossiers/{code}/receipt");
        let for_archivist = page(&app, Role::Archivist, &receipt).await;
        for_archivist.assert_status(200);
        assert_contains(
            &for_archivist,
            &[&format!("href=\"/archive/dossiers/{code}\"")],
        );
        for role in [Role::Official, Role::Admin] {
            assert_forbidden(&page(&app, role, &receipt).await, "Nguyễn Văn An");
        }
        // Not signed in: to the login page, coming back here afterwards.
        let anonymous = app.get_anonymous(&format!("/clerk/dossiers/{code}")).await;
        anonymous.assert_status(303);
        assert!(location(&anonymous).starts_with("/login?next=%2Fclerk%2Fdossiers%2F"));
        let record = app
            .pipeline
            .archive()
            .dossier(&DossierCode::parse(&code).unwrap())
            .await
            .unwrap();
        assert_eq!(
            record.dossier.status,
            DossierStatus::Received,
            "no role moved it"
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_document_page_shows_pages_text_and_the_metadata_form() {
    for app in TestApp::all().await {
        catalogue(&app).await;
        let code = receive(&app).await;
        let id = ingest(&app, &code, "scan-quyet-dinh.png", DocumentRole::Input).await;
        let dossier = page(&app, Role::Clerk, &format!("/clerk/dossiers/{code}")).await;
        assert_contains(
            &dossier,
            &[
                "id=\"documents-table\"",
                &format!("href=\"/clerk/documents/{id}\""),
                "scan-quyet-dinh.png",
            ],
        );
        let document = page(&app, Role::Clerk, &format!("/clerk/documents/{id}")).await;
        document.assert_status(200);
        assert_contains(
            &document,
            &[
                "data-page=\"clerk-document\"",
                "id=\"metadata-form\"",
                "data-version=\"1\"",
                "name=\"type_name\"",
                "name=\"code_notation\"",
                "name=\"issued_date\"",
                "name=\"organ_name\"",
                "name=\"signer_name\"",
                "name=\"signer_position\"",
                "id=\"ocr-text\"",
                "id=\"start-ocr\"",
                &format!("/api/v1/documents/{id}/versions/1/pages/1?width=200"),
            ],
        );
        page(&app, Role::Clerk, "/clerk/documents/999999")
            .await
            .assert_status(404);
        let garbage = page(&app, Role::Clerk, "/clerk/documents/abc").await;
        garbage.assert_status(422);
        assert_contains(&garbage, &["field-invalid", "<html"]);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn an_official_sees_and_signs_only_what_was_assigned() {
    for app in TestApp::all().await {
        catalogue(&app).await;
        let code = receive(&app).await;
        let result = ingest(&app, &code, "cong-van.pdf", DocumentRole::Result).await;
        let other = ingest(&app, &code, "scan-quyet-dinh.png", DocumentRole::Input).await;

        // Nothing assigned yet.
        let empty = page(&app, Role::Official, "/official").await;
        empty.assert_status(200);
        assert_contains(
            &empty,
            &["id=\"queue-empty\"", "data-page=\"official-queue\""],
        );
        assert_forbidden(
            &page(
                &app,
                Role::Official,
                &format!("/official/documents/{result}"),
            )
            .await,
            "cong-van.pdf",
        );

        // The clerk asks official1 through the dossier page's form.
        let dossier = page(&app, Role::Clerk, &format!("/clerk/dossiers/{code}")).await;
        assert_contains(
            &dossier,
            &["id=\"sign-request-form\"", "value=\"official1\""],
        );
        let asked = post_form(
            &app,
            Role::Clerk,
            &format!("/clerk/dossiers/{code}/sign-requests"),
            &[
                ("document_id", &result.to_string()),
                ("official", "official1"),
                ("note", "Kính trình"),
            ],
        )
        .await;
        asked.assert_status(303);
        let official_id = app.user_ids[&Role::Official];
        let pending = app
            .pipeline
            .archive()
            .sign_requests_for(official_id, Some(SignRequestState::Pending))
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].document_id, result);
        // Asking someone who is not an official is refused.
        let wrong = post_form(
            &app,
            Role::Clerk,
            &format!("/clerk/dossiers/{code}/sign-requests"),
            &[
                ("document_id", &result.to_string()),
                ("official", "archivist1"),
            ],
        )
        .await;
        wrong.assert_status(422);

        let queue = page(&app, Role::Official, "/official").await;
        assert_contains(
            &queue,
            &[
                "id=\"queue\"",
                &format!("data-document-id=\"{result}\""),
                "class=\"pick\"",
                "Kính trình",
                "clerk1",
                // No key registered: the official is told, and no batch button is offered.
                "id=\"no-keys\"",
            ],
        );
        let preview = page(
            &app,
            Role::Official,
            &format!("/official/documents/{result}"),
        )
        .await;
        preview.assert_status(200);
        assert_contains(
            &preview,
            &[
                "data-page=\"official-document\"",
                "class=\"page-preview\"",
                "class=\"sigbox hidden\"",
                &format!("/api/v1/documents/{result}/versions/1/pages/1?width=800"),
            ],
        );
        // Another document of the same dossier was not assigned: 403; none at all: 404.
        assert_forbidden(
            &page(
                &app,
                Role::Official,
                &format!("/official/documents/{other}"),
            )
            .await,
            "scan-quyet-dinh",
        );
        page(&app, Role::Official, "/official/documents/999999")
            .await
            .assert_status(404);
        let signed = page(&app, Role::Official, "/official/signed").await;
        signed.assert_status(200);
        assert_contains(&signed, &["id=\"signed-empty\""]);
        for role in [Role::Clerk, Role::Archivist, Role::Admin] {
            for path in [
                "/official".to_owned(),
                "/official/signed".to_owned(),
                format!("/official/documents/{result}"),
            ] {
                assert_forbidden(&page(&app, role, &path).await, "Kính trình");
            }
        }
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_receipt_carries_the_form_and_a_qr_code_of_the_public_status_page() {
    for app in TestApp::all().await {
        catalogue(&app).await;
        let code = receive(&app).await;
        ingest(&app, &code, "scan-quyet-dinh.png", DocumentRole::Input).await;
        let receipt = app
            .send(
                app.as_session(
                    Role::Clerk,
                    Method::GET,
                    &format!("/clerk/dossiers/{code}/receipt"),
                )
                .header(header::HOST, "mot-cua.example")
                .body(Body::empty())
                .unwrap(),
            )
            .await;
        receipt.assert_status(200);
        assert_contains(
            &receipt,
            &[
                "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
                "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                "Độc lập - Tự do - Hạnh phúc",
                "UBND XÃ TÂN LẬP",
                "id=\"receipt-code\"",
                &code,
                "Đăng ký khai sinh",
                "scan-quyet-dinh.png",
                "id=\"receipt-due\"",
                "<svg",
                "class=\"qr\"",
                &format!("http://mot-cua.example/tra-cuu/{code}"),
                "data-print",
                "Nguyễn Văn clerk",
            ],
        );

        let status = app.get_anonymous(&format!("/tra-cuu/{code}")).await;
        status.assert_status(200);
        assert_contains(
            &status,
            &[
                "Nguyễn V. A.",
                "id=\"status-value\"",
                "đã tiếp nhận",
                "id=\"status-due\"",
            ],
        );
        let html = status.text();
        assert!(!html.contains("Nguyễn Văn An"), "the name is masked");
        assert!(
            !html.contains("001203004567") && !html.contains("0912"),
            "no personal data"
        );
        app.get_anonymous("/tra-cuu/X99.999.99-261301-0001")
            .await
            .assert_status(422);
        let unknown = format!("{}9999", &code[..code.len() - 4]);
        app.get_anonymous(&format!("/tra-cuu/{unknown}"))
            .await
            .assert_status(404);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_public_status_page_is_rate_limited() {
    for db in backends().await {
        let app = TestApp::new(
            db,
            HttpSettings {
                verify_per_minute: 3,
                public_url: Some("https://dichvucong.example/".to_owned()),
                ..HttpSettings::default()
            },
        )
        .await;
        catalogue(&app).await;
        let code = receive(&app).await;
        let receipt = page(
            &app,
            Role::Clerk,
            &format!("/clerk/dossiers/{code}/receipt"),
        )
        .await;
        assert_contains(
            &receipt,
            &[&format!("https://dichvucong.example/tra-cuu/{code}")],
        );
        for _ in 0..3 {
            app.get_anonymous(&format!("/tra-cuu/{code}"))
                .await
                .assert_status(200);
        }
        let limited = app.get_anonymous(&format!("/tra-cuu/{code}")).await;
        limited.assert_status(429);
        assert!(limited.headers.contains_key(header::RETRY_AFTER));
        assert!(limited.text().contains("rate-limited"));
        app.cleanup().await;
    }
}

//! Adversarial review of the HTTP API (issue #7), on both backends: what an attacker or a
//! careless client sends (credentials in odd shapes, cross-site requests, ids of objects the
//! caller may not touch, malformed and lying uploads, numbers out of range, hostile file
//! names) and what the service must answer (a coded JSON error, never data, never a panic,
//! nothing cached or left on disk); and the OpenAPI document against the routes.

use std::collections::BTreeSet;
use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, header};
use hoso::archive::accounts::{NewUser, Role};
use hoso::archive::procedures::CatalogueFormat;
use hoso::http::HttpSettings;
use serde_json::json;

use crate::api_support::{Multipart, PASSWORD, TestApp, TestResponse};
use crate::helpers::{TestDb, backends};

const CATALOGUE: &str = "code,name,field,level,processing_days,competent_agency\n\
    1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n";

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name),
    )
    .unwrap()
}

/// `cong-van.pdf` with one byte of its binary header comment changed (a distinct content).
fn letter(variant: u8) -> Vec<u8> {
    let mut bytes = sample("cong-van.pdf");
    assert_eq!(&bytes[9..10], b"%");
    bytes[12] = 0x80 + variant;
    bytes
}

/// A dossier received by the clerk (the catalogue seeded first); its code.
async fn new_dossier(app: &TestApp) -> String {
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
    let response = app
        .post_json_as(
            Role::Clerk,
            "/api/v1/dossiers",
            &json!({"procedure": "1.001193", "applicant": {"name": "Nguyễn Văn An"}}),
        )
        .await;
    response.assert_status(201);
    response.json()["code"].as_str().unwrap().to_owned()
}

/// The clerk uploads `form`; the first stored document's id.
async fn stored(app: &TestApp, form: Multipart) -> i64 {
    let response = app
        .multipart_as(Role::Clerk, "/api/v1/documents", form)
        .await;
    assert!(
        response.status.is_success(),
        "{}: {}",
        response.status,
        response.text()
    );
    response.json()["documents"][0]["id"].as_i64().unwrap()
}

/// A second user of `role`, with an API token of every scope; the token.
async fn second_user(app: &TestApp, username: &str, role: Role) -> String {
    let user = app
        .pipeline
        .archive()
        .add_user(
            &NewUser {
                username: username.to_owned(),
                display_name: username.to_owned(),
                role,
                password_hash: hoso::auth::hash_password(PASSWORD).unwrap(),
            },
            "admin1",
            app.now(),
        )
        .await
        .unwrap();
    let secret = hoso::auth::new_secret("hst_");
    app.pipeline
        .archive()
        .create_token(
            user.user_id,
            "review",
            &hoso::archive::accounts::Scope::ALL,
            &hoso::auth::secret_digest(&secret),
            None,
            "admin1",
            app.now(),
        )
        .await
        .unwrap();
    secret
}

async fn get_with_token(app: &TestApp, token: &str, path: &str) -> TestResponse {
    app.send(
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// A refusal that carries the error and nothing else.
#[track_caller]
fn assert_refused(response: &TestResponse, status: u16, code: &str) {
    response.assert_error(status, code);
    let body = response.json();
    assert_eq!(
        body.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["error".to_owned()]),
        "{body}"
    );
}

// ---- authentication ---------------------------------------------------------------------

/// RFC 9110 §11.1: the scheme is case-insensitive, and a credential of another scheme (a
/// proxy's Basic, sent by the browser on every request) is not an API token and does not
/// hide the session cookie.
#[tokio::test]
async fn bearer_is_case_insensitive_and_other_schemes_leave_the_cookie_in_charge() {
    let app = TestApp::new(TestDb::sqlite(), HttpSettings::default()).await;
    let token = app.tokens[&Role::Clerk].clone();
    for value in [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer   {token}  "),
    ] {
        let response = app
            .send(
                Request::get("/api/v1/me")
                    .header(header::AUTHORIZATION, &value)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        response.assert_status(200);
        assert_eq!(response.json()["username"], "clerk1", "{value}");
    }
    for value in ["Bearer ", "Bearer", "bearer hst_unknown", "Bearer \t "] {
        let response = app
            .send(
                Request::get("/api/v1/me")
                    .header(header::AUTHORIZATION, value)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_refused(&response, 401, "token-invalid");
    }
    // Basic credentials of a reverse proxy beside the session cookie: the session counts.
    let session = app.sessions[&Role::Archivist].clone();
    let response = app
        .send(
            Request::get("/api/v1/me")
                .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
                .header(header::COOKIE, &session.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    response.assert_status(200);
    assert_eq!(response.json()["username"], "archivist1");
    // …and still needs its CSRF token to change anything.
    let response = app
        .send(
            Request::post("/api/v1/tokens")
                .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
                .header(header::COOKIE, &session.cookie)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"name":"x","scopes":["read"]}"#))
                .unwrap(),
        )
        .await;
    assert_refused(&response, 403, "csrf-token-missing");
    // Basic alone is nobody.
    let response = app
        .send(
            Request::get("/api/v1/me")
                .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_refused(&response, 401, "unauthenticated");
    app.cleanup().await;
}

/// Cross-site shapes of a state-changing request with the session cookie: a text/plain or
/// multipart body (what a form on another site can send), other methods, a form with the
/// token of another session.
#[tokio::test]
async fn cookie_requests_without_their_csrf_token_change_nothing() {
    let app = TestApp::new(TestDb::sqlite(), HttpSettings::default()).await;
    let clerk = app.sessions[&Role::Clerk].clone();
    let other = app.sessions[&Role::Archivist].clone();
    let dossier = json!({"procedure": "1.001193", "applicant": {"name": "X"}}).to_string();
    let (multipart_type, multipart_body) = Multipart::default()
        .file("file", "a.pdf", "application/pdf", &letter(1))
        .finish();
    // (method, path, content type, body, x-csrf-token, the error's code)
    type Case<'a> = (Method, &'a str, String, Vec<u8>, Option<String>, &'a str);
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/api/v1/dossiers",
            "text/plain".into(),
            dossier.clone().into_bytes(),
            None,
            "csrf-token-missing",
        ),
        (
            Method::POST,
            "/api/v1/documents",
            multipart_type.clone(),
            multipart_body.clone(),
            None,
            "csrf-token-missing",
        ),
        (
            Method::POST,
            "/api/v1/dossiers",
            "application/x-www-form-urlencoded".into(),
            format!("_csrf={}", other.csrf).into_bytes(),
            None,
            "csrf-token-invalid",
        ),
        (
            Method::POST,
            "/api/v1/dossiers",
            "application/json".into(),
            dossier.clone().into_bytes(),
            Some(String::new()),
            "csrf-token-invalid",
        ),
        (
            Method::DELETE,
            "/api/v1/session",
            "text/plain".into(),
            Vec::new(),
            None,
            "csrf-token-missing",
        ),
        (
            Method::PUT,
            "/api/v1/dossiers",
            "application/json".into(),
            dossier.into_bytes(),
            None,
            "csrf-token-missing",
        ),
    ];
    for (method, path, content_type, body, csrf, code) in cases {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::COOKIE, &clerk.cookie)
            .header(header::CONTENT_TYPE, content_type);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        let response = app.send(request.body(Body::from(body)).unwrap()).await;
        assert_refused(&response, 403, code);
    }
    assert!(
        app.pipeline
            .archive()
            .list_dossiers(&hoso::archive::dossiers::DossierFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
    // The session survived the forged logout.
    let me = app
        .send(
            Request::get("/api/v1/me")
                .header(header::COOKIE, &clerk.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    me.assert_status(200);
    app.cleanup().await;
}

/// A user disabled while signed in is out at their next request, by cookie or token.
#[tokio::test]
async fn a_user_disabled_mid_session_is_out_at_once() {
    for app in TestApp::all().await {
        app.get_as(Role::Clerk, "/api/v1/me")
            .await
            .assert_status(200);
        app.pipeline
            .archive()
            .set_disabled("clerk1", true, "admin1", app.now())
            .await
            .unwrap();
        assert_refused(
            &app.get_as(Role::Clerk, "/api/v1/me").await,
            401,
            "token-invalid",
        );
        let session = app
            .send(
                app.as_session(Role::Clerk, Method::GET, "/api/v1/me")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_refused(&session, 401, "session-expired");
        app.cleanup().await;
    }
}

// ---- object access ------------------------------------------------------------------------

/// Ids of objects the caller may not touch: another clerk's job, another document's version
/// numbers, an official's unassigned document through every route that takes one, another
/// official's key.
#[tokio::test]
async fn ids_of_objects_the_caller_may_not_touch_give_no_data() {
    let scan = sample("scan-quyet-dinh.png");
    for app in TestApp::all().await {
        let code = new_dossier(&app).await;
        let assigned = stored(
            &app,
            Multipart::default()
                .text("dossier", &code)
                .text("role", "result")
                .text("assign_to", "official1")
                .file("file", "a.pdf", "application/pdf", &letter(1)),
        )
        .await;
        let unassigned = stored(
            &app,
            Multipart::default()
                .text("dossier", &code)
                .text("role", "result")
                .file("file", "b.pdf", "application/pdf", &letter(2)),
        )
        .await;
        let scanned = stored(
            &app,
            Multipart::default().text("dossier", &code).file(
                "file",
                "scan.png",
                "image/png",
                &scan,
            ),
        )
        .await;

        // Another clerk may not read this clerk's job.
        let job = app
            .post_json_as(
                Role::Clerk,
                &format!("/api/v1/documents/{scanned}/ocr"),
                &json!({}),
            )
            .await;
        job.assert_status(202);
        let job_id = job.json()["job"]["job_id"].as_str().unwrap().to_owned();
        let clerk2 = second_user(&app, "clerk2", Role::Clerk).await;
        assert_refused(
            &get_with_token(&app, &clerk2, &format!("/api/v1/jobs/{job_id}")).await,
            403,
            "forbidden",
        );
        // Nor an archivist or an official; nor a prefix of the creator's name.
        for role in [Role::Archivist, Role::Official] {
            assert_refused(
                &app.get_as(role, &format!("/api/v1/jobs/{job_id}")).await,
                403,
                "forbidden",
            );
        }
        let clerk = second_user(&app, "clerk", Role::Clerk).await;
        assert_refused(
            &get_with_token(&app, &clerk, &format!("/api/v1/jobs/{job_id}")).await,
            403,
            "forbidden",
        );
        // A job id that is not one: 404, not a 500.
        for id in ["x", "..%2F..%2Fetc%2Fpasswd", &"9".repeat(5000)] {
            let response = app.get_as(Role::Clerk, &format!("/api/v1/jobs/{id}")).await;
            assert_refused(&response, 404, "job-not-found");
        }

        // The official: every route that takes a document id refuses the unassigned one.
        let official_paths = [
            format!("/api/v1/documents/{unassigned}"),
            format!("/api/v1/documents/{unassigned}/versions/1/content"),
            format!("/api/v1/documents/{unassigned}/versions/1/text"),
            format!("/api/v1/documents/{unassigned}/versions/1/pages/1"),
        ];
        for path in &official_paths {
            assert_refused(&app.get_as(Role::Official, path).await, 403, "forbidden");
        }
        let reverify = app
            .post_json_as(
                Role::Official,
                &format!("/api/v1/documents/{unassigned}/verify"),
                &json!({}),
            )
            .await;
        assert_refused(&reverify, 403, "forbidden");
        // …while the assigned one is readable, but only by its own version numbers.
        app.get_as(Role::Official, &format!("/api/v1/documents/{assigned}"))
            .await
            .assert_status(200);
        let other_version = app
            .get_as(
                Role::Official,
                &format!("/api/v1/documents/{assigned}/versions/2/content"),
            )
            .await;
        assert_refused(&other_version, 404, "version-not-found");
        // A document that does not exist: 404 for roles that read documents, 403 for others.
        assert_refused(
            &app.get_as(Role::Official, "/api/v1/documents/999999").await,
            404,
            "document-not-found",
        );
        assert_refused(
            &app.get_as(Role::Admin, &format!("/api/v1/documents/{assigned}"))
                .await,
            403,
            "forbidden",
        );
        assert_refused(
            &app.get_as(Role::Admin, "/api/v1/documents/999999").await,
            403,
            "forbidden",
        );
        app.cleanup().await;
    }
}

// ---- uploads ------------------------------------------------------------------------------

/// Files `.hoso-upload-*` in the temporary folder that hold `marker`.
fn temp_files_holding(marker: &[u8]) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".hoso-upload-"))
        .filter(|e| {
            std::fs::read(e.path())
                .is_ok_and(|bytes| memchr::memmem::find(&bytes, marker).is_some())
        })
        .map(|e| e.path())
        .collect()
}

/// A multipart body sent in 1 KiB chunks without a length (chunked transfer).
fn chunked(body: Vec<u8>) -> Body {
    let chunks: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn oversized_and_lying_uploads_are_413_and_leave_no_temporary_file() {
    let settings = HttpSettings {
        upload_limit_bytes: 16 * 1024,
        public_verify_limit_bytes: 16 * 1024,
        ..HttpSettings::default()
    };
    for db in backends().await {
        let app = TestApp::new(db, settings.clone()).await;
        let marker = format!("hoso-review-{}", uuid::Uuid::new_v4().simple());
        let big: Vec<u8> = marker.as_bytes().repeat(64 * 1024 / marker.len());
        let (content_type, body) = Multipart::default()
            .file("file", "big.pdf", "application/pdf", &big)
            .finish();
        let token = format!("Bearer {}", app.tokens[&Role::Clerk]);
        // Declared too large: refused before reading.
        let declared = app
            .send(
                Request::post("/api/v1/documents")
                    .header(header::AUTHORIZATION, &token)
                    .header(header::CONTENT_TYPE, &content_type)
                    .header(header::CONTENT_LENGTH, body.len())
                    .body(Body::from(body.clone()))
                    .unwrap(),
            )
            .await;
        assert_refused(&declared, 413, "upload-too-large");
        // Declared small, sends more.
        let lying = app
            .send(
                Request::post("/api/v1/documents")
                    .header(header::AUTHORIZATION, &token)
                    .header(header::CONTENT_TYPE, &content_type)
                    .header(header::CONTENT_LENGTH, 100)
                    .body(Body::from(body.clone()))
                    .unwrap(),
            )
            .await;
        assert_refused(&lying, 413, "upload-too-large");
        // Chunked, no length: refused past the limit, the part's temporary file removed.
        for path in ["/api/v1/documents", "/api/v1/verify"] {
            let response = app
                .send(
                    Request::post(path)
                        .header(header::AUTHORIZATION, &token)
                        .header(header::CONTENT_TYPE, &content_type)
                        .body(chunked(body.clone()))
                        .unwrap(),
                )
                .await;
            assert_refused(&response, 413, "upload-too-large");
            assert_eq!(
                temp_files_holding(marker.as_bytes()),
                Vec::<std::path::PathBuf>::new()
            );
        }
        assert!(
            app.pipeline.archive().document(1).await.is_err(),
            "nothing stored"
        );
        app.cleanup().await;
    }
}

/// The raw multipart body of one file part whose `Content-Disposition` is `disposition`.
fn raw_part(boundary: &str, disposition: &[u8], content: &[u8]) -> Vec<u8> {
    let mut body = format!("--{boundary}\r\nContent-Disposition: ").into_bytes();
    body.extend_from_slice(disposition);
    body.extend_from_slice(b"\r\nContent-Type: application/pdf\r\n\r\n");
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

async fn post_raw(app: &TestApp, content_type: &str, body: Vec<u8>) -> TestResponse {
    app.send(
        app.as_token(Role::Clerk, Method::POST, "/api/v1/documents")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn malformed_multipart_gets_coded_errors_and_stores_nothing() {
    for app in TestApp::all().await {
        let pdf = letter(3);
        // No boundary; a boundary that is not in the body; not multipart at all.
        assert_refused(
            &post_raw(
                &app,
                "multipart/form-data",
                raw_part("b", b"form-data; name=\"file\"; filename=\"a.pdf\"", &pdf),
            )
            .await,
            400,
            "multipart-invalid",
        );
        assert_refused(
            &post_raw(
                &app,
                "multipart/form-data; boundary=zzz",
                raw_part("b", b"form-data; name=\"file\"; filename=\"a.pdf\"", &pdf),
            )
            .await,
            400,
            "multipart-invalid",
        );
        assert_refused(
            &post_raw(&app, "text/plain", pdf.clone()).await,
            415,
            "unsupported-media-type",
        );
        // A part without a name.
        assert_refused(
            &post_raw(
                &app,
                "multipart/form-data; boundary=b",
                raw_part("b", b"form-data; filename=\"a.pdf\"", &pdf),
            )
            .await,
            400,
            "multipart-invalid",
        );
        // More parts than allowed.
        let mut form = Multipart::default();
        for i in 0..300 {
            form = form.text("metadata", &i.to_string());
        }
        assert_refused(
            &app.multipart_as(Role::Clerk, "/api/v1/documents", form)
                .await,
            400,
            "multipart-invalid",
        );
        // No file, or only an empty one.
        assert_refused(
            &app.multipart_as(
                Role::Clerk,
                "/api/v1/documents",
                Multipart::default().text("role", "input"),
            )
            .await,
            400,
            "upload-file-missing",
        );
        let empty = app
            .multipart_as(
                Role::Clerk,
                "/api/v1/documents",
                Multipart::default().file("file", "empty.pdf", "application/pdf", b""),
            )
            .await;
        assert_refused(&empty, 422, "input-unreadable");
        assert!(
            app.pipeline.archive().document(1).await.is_err(),
            "nothing stored"
        );
        app.cleanup().await;
    }
}

/// Hostile client file names: stored names are never the client's path, and the download's
/// Content-Disposition is one well-formed header whatever the name held.
#[tokio::test]
async fn hostile_file_names_are_cleaned_and_downloads_are_not_cached() {
    for app in TestApp::all().await {
        let boundary = "b0undary";
        let content_type = format!("multipart/form-data; boundary={boundary}");
        // Non-UTF-8 bytes in the name (Latin-1 from a legacy client): still a file, stored
        // under the name decoded as far as it goes.
        let latin1 = post_raw(
            &app,
            &content_type,
            raw_part(
                boundary,
                b"form-data; name=\"file\"; filename=\"t\xe0i li\xeau.pdf\"",
                &letter(4),
            ),
        )
        .await;
        latin1.assert_status(201);
        let latin1_id = latin1.json()["documents"][0]["id"].as_i64().unwrap();
        let record = app.pipeline.archive().document(latin1_id).await.unwrap();
        assert_eq!(record.versions[0].file_name, "t\u{fffd}i li\u{fffd}u.pdf");
        // Traversal, quotes and a header break in the name.
        let id = stored(
            &app,
            Multipart::default().file(
                "file",
                "..\\..\\etc/x\"; filename*=UTF-8''evil.html\r\nX-Injected: 1.pdf",
                "application/pdf",
                &letter(5),
            ),
        )
        .await;
        let download = app
            .get_as(
                Role::Clerk,
                &format!("/api/v1/documents/{id}/versions/1/content"),
            )
            .await;
        download.assert_status(200);
        assert!(download.headers.get("x-injected").is_none());
        let disposition: Vec<_> = download
            .headers
            .get_all(header::CONTENT_DISPOSITION)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(disposition.len(), 1, "{disposition:?}");
        let disposition = &disposition[0];
        assert!(!disposition.contains(".."), "{disposition}");
        assert!(!disposition.contains("etc/"), "{disposition}");
        assert_eq!(
            disposition.matches("filename*=").count(),
            1,
            "{disposition}"
        );
        assert_eq!(
            disposition.matches('"').count(),
            2,
            "only the fallback's quotes: {disposition}"
        );
        // A confidential download stays out of shared caches and off the disk cache.
        assert_eq!(
            download.headers.get(header::CACHE_CONTROL).unwrap(),
            "private, no-store",
        );
        let preview = app
            .get_as(
                Role::Clerk,
                &format!("/api/v1/documents/{id}/versions/1/pages/1"),
            )
            .await;
        if preview.status.as_u16() == 200 {
            assert_eq!(
                preview.headers.get(header::CACHE_CONTROL).unwrap(),
                "private, no-store",
            );
        }
        app.cleanup().await;
    }
}

#[tokio::test]
async fn exported_dossiers_and_previews_are_not_cached() {
    let scan = sample("scan-quyet-dinh.png");
    for app in TestApp::all().await {
        let code = new_dossier(&app).await;
        let id = stored(
            &app,
            Multipart::default().text("dossier", &code).file(
                "file",
                "scan.png",
                "image/png",
                &scan,
            ),
        )
        .await;
        let preview = app
            .get_as(
                Role::Archivist,
                &format!("/api/v1/documents/{id}/versions/1/pages/1"),
            )
            .await;
        preview.assert_status(200);
        assert_eq!(
            preview.headers.get(header::CACHE_CONTROL).unwrap(),
            "private, no-store"
        );
        let export = app
            .get_as(Role::Archivist, &format!("/api/v1/dossiers/{code}/export"))
            .await;
        export.assert_status(200);
        assert_eq!(
            export
                .headers
                .get(header::CACHE_CONTROL)
                .map(|v| v.to_str().unwrap()),
            Some("private, no-store")
        );
        app.cleanup().await;
    }
}

// ---- numbers, paths and strings -------------------------------------------------------------

#[tokio::test]
async fn numbers_out_of_range_and_unparsable_ids_get_coded_errors() {
    for app in TestApp::all().await {
        let code = new_dossier(&app).await;
        let id = stored(
            &app,
            Multipart::default().text("dossier", &code).file(
                "file",
                "a.pdf",
                "application/pdf",
                &letter(6),
            ),
        )
        .await;
        // Ids that are not numbers, or overflow: the project's error body, not axum's text.
        for path in [
            "/api/v1/documents/abc".to_owned(),
            "/api/v1/documents/99999999999999999999".to_owned(),
            format!("/api/v1/documents/{id}/versions/x/content"),
            format!("/api/v1/documents/{id}/versions/1/pages/-1"),
            format!("/api/v1/documents/{id}/versions/1/pages/99999999999999999999999"),
        ] {
            assert_refused(&app.get_as(Role::Clerk, &path).await, 422, "field-invalid");
        }
        let named = app
            .get_as(
                Role::Clerk,
                &format!("/api/v1/documents/{id}/versions/x/text"),
            )
            .await;
        assert!(
            named.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`version`"),
            "{}",
            named.text()
        );
        // Negative and zero ids and page numbers.
        assert_refused(
            &app.get_as(Role::Clerk, "/api/v1/documents/-1").await,
            404,
            "document-not-found",
        );
        assert_refused(
            &app.get_as(
                Role::Clerk,
                &format!("/api/v1/documents/{id}/versions/0/content"),
            )
            .await,
            404,
            "version-not-found",
        );
        for page in ["0", "100000", &usize::MAX.to_string()] {
            let response = app
                .get_as(
                    Role::Clerk,
                    &format!("/api/v1/documents/{id}/versions/1/pages/{page}"),
                )
                .await;
            assert!(
                matches!(response.status.as_u16(), 422 | 503),
                "page {page}: {} {}",
                response.status,
                response.text()
            );
        }
        for width in ["0", "5000", "-1", "1e9"] {
            let response = app
                .get_as(
                    Role::Clerk,
                    &format!("/api/v1/documents/{id}/versions/1/pages/1?width={width}"),
                )
                .await;
            assert!(
                matches!(response.status.as_u16(), 400 | 422),
                "width {width}: {}",
                response.status
            );
        }
        // Pages and limits of lists.
        for query in [
            "page=0",
            "page=-1",
            "per_page=0",
            "per_page=1000000000",
            "page=4294967295&per_page=200",
            "page=1e3",
        ] {
            let response = app
                .get_as(Role::Archivist, &format!("/api/v1/search?q=x&{query}"))
                .await;
            assert!(
                matches!(response.status.as_u16(), 400 | 422),
                "{query}: {} {}",
                response.status,
                response.text()
            );
            assert!(response.json()["error"]["code"].is_string());
        }
        for query in [
            "limit=0",
            "limit=-5",
            "offset=-1",
            "limit=99999999999999999999",
        ] {
            let response = app
                .get_as(Role::Archivist, &format!("/api/v1/dossiers?{query}"))
                .await;
            assert!(
                matches!(response.status.as_u16(), 400 | 422),
                "{query}: {}",
                response.status
            );
        }
        let huge = app
            .get_as(
                Role::Archivist,
                "/api/v1/dossiers?limit=1000000&offset=9223372036854775807",
            )
            .await;
        huge.assert_status(200);
        // JSON numbers beyond i64, and of the wrong type.
        for body in [
            json!({"expected_version": 1, "metadata": {}, "reason": "r", "x": 1}),
            json!({"expected_version": "1", "metadata": {}, "reason": "r"}),
        ] {
            app.json_as(
                Role::Clerk,
                Method::PATCH,
                &format!("/api/v1/documents/{id}/metadata"),
                &body,
            )
            .await
            .assert_error(400, "json-invalid");
        }
        let overflow = app
            .send(
                app.as_token(
                    Role::Clerk,
                    Method::PATCH,
                    &format!("/api/v1/documents/{id}/metadata"),
                )
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"expected_version": 99999999999999999999, "metadata": {}, "reason": "r"}"#,
                ))
                .unwrap(),
            )
            .await;
        assert_refused(&overflow, 400, "json-invalid");
        // Very long strings are refused, not stored.
        let long = "ă".repeat(100_000);
        let response = app
            .json_as(
                Role::Clerk,
                Method::PATCH,
                &format!("/api/v1/documents/{id}/metadata"),
                &json!({"expected_version": 1, "metadata": {"subject": "x"}, "reason": long}),
            )
            .await;
        assert_eq!(response.status.as_u16(), 422, "{}", response.text());
        let response = app
            .post_json_as(
                Role::Clerk,
                &format!("/api/v1/documents/{id}/sign-requests"),
                &json!({"official": "official1", "note": long}),
            )
            .await;
        assert_eq!(response.status.as_u16(), 422, "{}", response.text());
        let response = app
            .post_json_as(
                Role::Clerk,
                &format!("/api/v1/dossiers/{code}/transitions"),
                &json!({"to": "appraised", "note": long}),
            )
            .await;
        assert_eq!(response.status.as_u16(), 422, "{}", response.text());
        let response = app
            .post_json_as(
                Role::Clerk,
                "/api/v1/tokens",
                &json!({"name": long, "scopes": ["read"]}),
            )
            .await;
        assert_eq!(response.status.as_u16(), 422, "{}", response.text());
        assert_eq!(
            app.pipeline
                .archive()
                .document(id)
                .await
                .unwrap()
                .versions
                .len(),
            1,
            "nothing stored"
        );
        app.cleanup().await;
    }
}

// ---- headers --------------------------------------------------------------------------------

/// No CORS: another origin's script gets no permission to read anything, preflight or not.
#[tokio::test]
async fn no_cors_headers_are_sent() {
    let app = TestApp::new(TestDb::sqlite(), HttpSettings::default()).await;
    let preflight = app
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/api/v1/me")
                .header(header::ORIGIN, "https://evil.example")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "x-csrf-token")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let simple = app
        .send(
            app.as_token(Role::Clerk, Method::GET, "/api/v1/me")
                .header(header::ORIGIN, "https://evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let verify = app
        .send(
            Request::get("/api/v1/verify/00")
                .header(header::ORIGIN, "https://evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    for response in [&preflight, &simple, &verify] {
        let cors: Vec<_> = response
            .headers
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{cors:?}");
    }
    app.cleanup().await;
}

// ---- the OpenAPI document -------------------------------------------------------------------

/// Every `/api/v1` route the handlers serve, as `METHOD path`.
const API_ROUTES: &[&str] = &[
    "POST /api/v1/session",
    "DELETE /api/v1/session",
    "GET /api/v1/me",
    "GET /api/v1/tokens",
    "POST /api/v1/tokens",
    "DELETE /api/v1/tokens/{id}",
    "GET /api/v1/admin/users",
    "POST /api/v1/admin/users",
    "PATCH /api/v1/admin/users/{username}",
    "GET /api/v1/admin/users/{username}/tokens",
    "GET /api/v1/admin/keys",
    "POST /api/v1/admin/keys",
    "POST /api/v1/admin/keys/pkcs11",
    "PATCH /api/v1/admin/keys/{id}",
    "GET /api/v1/admin/trust",
    "POST /api/v1/admin/trust",
    "DELETE /api/v1/admin/trust/{sha256}",
    "POST /api/v1/admin/procedures",
    "GET /api/v1/admin/settings",
    "GET /api/v1/dossiers",
    "POST /api/v1/dossiers",
    "GET /api/v1/dossiers/{code}",
    "POST /api/v1/dossiers/{code}/transitions",
    "GET /api/v1/dossiers/{code}/export",
    "GET /api/v1/procedures",
    "POST /api/v1/documents",
    "GET /api/v1/documents/{id}",
    "GET /api/v1/documents/{id}/versions/{version}/content",
    "GET /api/v1/documents/{id}/versions/{version}/text",
    "GET /api/v1/documents/{id}/versions/{version}/pages/{page}",
    "PATCH /api/v1/documents/{id}/metadata",
    "POST /api/v1/documents/{id}/ocr",
    "POST /api/v1/documents/{id}/sign-requests",
    "POST /api/v1/documents/{id}/verify",
    "GET /api/v1/jobs/{id}",
    "GET /api/v1/sign/keys",
    "GET /api/v1/sign/queue",
    "GET /api/v1/sign/signed",
    "GET /api/v1/sign/placement",
    "POST /api/v1/sign",
    "POST /api/v1/verify",
    "GET /api/v1/verify/{sha256}",
    "GET /api/v1/search",
    "GET /api/v1/stats",
    "GET /api/v1/stats/monthly",
    "GET /api/v1/audit/verify",
];

/// The document lists exactly the routes above, and each route it lists is served (routed
/// to a handler: any answer but `route-not-found` or 405).
#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_that_are_served() {
    let app = TestApp::new(TestDb::sqlite(), HttpSettings::default()).await;
    let document = app.get_anonymous("/api/openapi.json").await.json();
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if matches!(
                method.as_str(),
                "get" | "post" | "put" | "patch" | "delete" | "head" | "options"
            ) {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let expected: BTreeSet<String> = API_ROUTES.iter().map(|r| (*r).to_owned()).collect();
    assert_eq!(
        documented.difference(&expected).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "documented but not in the review's list"
    );
    assert_eq!(
        expected.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "served but not documented"
    );
    for route in API_ROUTES {
        let (method, path) = route.split_once(' ').unwrap();
        let concrete = path
            .split('/')
            .map(|segment| match segment {
                "{code}" => "X99.999.99-261123-000001".to_owned(),
                "{sha256}" => "0".repeat(64),
                "{username}" => "nobody".to_owned(),
                s if s.starts_with('{') => "1".to_owned(),
                s => s.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/");
        let response = app
            .send(
                app.as_token(
                    Role::Admin,
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    &concrete,
                )
                .body(Body::empty())
                .unwrap(),
            )
            .await;
        assert_ne!(response.status.as_u16(), 405, "{route} ({concrete})");
        if response.status.as_u16() == 404 {
            assert_ne!(
                response.json()["error"]["code"],
                "route-not-found",
                "{route} ({concrete}) is not routed"
            );
        }
    }
    app.cleanup().await;
}

// ---- rate limits ----------------------------------------------------------------------------

fn login_request(username: &str, password: &str) -> Request<Body> {
    Request::post("/api/v1/session")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"username": username, "password": password}).to_string(),
        ))
        .unwrap()
}

/// Guesses sent all at once are counted as they come, not when each slow password check
/// ends: no more than the limit are tried, whatever the concurrency; names differing in
/// case or length share or bound their counter.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_login_guesses_do_not_outrun_the_limit() {
    for app in TestApp::all().await {
        let guesses =
            (0..20).map(|i| app.send(login_request("admin1", &format!("sai-mat-khau-{i}"))));
        let answers = futures_util::future::join_all(guesses).await;
        let tried = answers.iter().filter(|r| r.status.as_u16() == 401).count();
        let limited = answers.iter().filter(|r| r.status.as_u16() == 429).count();
        assert_eq!((tried, limited), (5, 15), "401s and 429s");
        assert_refused(
            &app.send(login_request("ADMIN1", PASSWORD)).await,
            429,
            "rate-limited",
        );
        app.send(login_request("admin1", PASSWORD))
            .await
            .assert_error(429, "rate-limited");
        app.cleanup().await;
    }
}

// ---- signing --------------------------------------------------------------------------------

/// Registers `p12` (password `test`) as a key of `user_id` with the sample signature image.
async fn add_key(app: &TestApp, user_id: i64, p12: &str) -> i64 {
    let original = std::fs::read(crate::pki::dir().join(p12)).unwrap();
    let (sealed, info) = hoso::auth::seal_pkcs12(&original, "test").unwrap();
    app.pipeline
        .archive()
        .add_signing_key(
            &hoso::archive::accounts::NewSigningKey {
                user_id,
                name: format!("Chữ ký số {p12}"),
                storage: hoso::archive::accounts::KeyStorage::Pkcs12 { sealed },
                certificate_der: info.certificate_der,
                subject: info.subject,
                not_after: info.not_after,
                signature_image: Some(sample("chu-ky.png")),
            },
            "admin1",
            app.now(),
        )
        .await
        .unwrap()
        .key_id
}

/// An answer that is the client's fault or a result, never the server failing.
#[track_caller]
fn assert_not_server_error(response: &TestResponse, what: &str) {
    assert!(
        response.status.as_u16() < 500,
        "{what}: {} {}",
        response.status,
        response.text()
    );
}

/// Appearance options at their extremes (pages past the end, texts of 100 000 characters, a
/// NUL in the password) are refused or signed, never a server error or a half-stored
/// version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_signing_options_are_refused_without_a_server_error() {
    for app in TestApp::all().await {
        let key = add_key(&app, app.user_ids[&Role::Official], "official.p12").await;
        let id = stored(
            &app,
            Multipart::default()
                .text("role", "result")
                .text("assign_to", "official1")
                .file("file", "a.pdf", "application/pdf", &letter(7)),
        )
        .await;
        let long = "Ậ".repeat(100_000);
        let long_query: String = "A".repeat(6000);
        for query in [
            format!("page={}", usize::MAX),
            "page=100000".to_owned(),
            format!("anchor={long_query}"),
            format!("appearance=copy&copy_type={long_query}"),
            format!("appearance=attachment&doc_number={long_query}"),
            "appearance=organization".to_owned(),
            "appearance=none".to_owned(),
        ] {
            let response = app
                .get_as(
                    Role::Official,
                    &format!("/api/v1/sign/placement?document_id={id}&key_id={key}&{query}"),
                )
                .await;
            assert_not_server_error(&response, &query[..query.len().min(60)]);
            response.json();
        }
        let body = |appearance: serde_json::Value, password: &str| {
            json!({
                "key_id": key, "password": password, "level": "B-B",
                "documents": [{"document_id": id, "expected_version": 1}],
                "appearance": appearance,
            })
        };
        for (what, appearance, password) in [
            (
                "page",
                json!({"kind": "official", "page": usize::MAX}),
                "test",
            ),
            (
                "page 2",
                json!({"kind": "official", "page": 100_000}),
                "test",
            ),
            (
                "anchor",
                json!({"kind": "official", "anchor": long}),
                "test",
            ),
            ("copy", json!({"kind": "copy", "copy_type": long}), "test"),
            (
                "attachment",
                json!({"kind": "attachment", "doc_number": long}),
                "test",
            ),
            ("nul", json!({"kind": "none"}), "te\0st"),
            ("empty", json!({"kind": "none"}), ""),
        ] {
            let response = app
                .post_json_as(Role::Official, "/api/v1/sign", &body(appearance, password))
                .await;
            assert_not_server_error(&response, what);
            if response.status.as_u16() == 200 {
                let result = &response.json()["results"][0];
                assert_eq!(result["ok"], false, "{what}: {result}");
                assert!(result["status"].as_u64().unwrap() < 500, "{what}: {result}");
            }
            assert_eq!(
                app.pipeline
                    .archive()
                    .document(id)
                    .await
                    .unwrap()
                    .versions
                    .len(),
                1,
                "{what}: nothing stored"
            );
        }
        // Long /Reason and /Location: refused or signed, never a server error.
        let mut long_reason = body(
            json!({"kind": "none", "reason": long, "location": long}),
            "test",
        );
        long_reason["documents"][0]["expected_version"] = json!(1);
        let response = app
            .post_json_as(Role::Official, "/api/v1/sign", &long_reason)
            .await;
        assert_not_server_error(&response, "reason");
        app.cleanup().await;
    }
}

// ---- dates and unknown fields ----------------------------------------------------------------

/// Days and times that parse but are no time the archive can store (the midnight of
/// -9999-01-01 in Vietnam is before the first UTC time `time` knows; PostgreSQL takes no
/// year -9999): a coded error, not a panic that drops the connection or a 500.
#[tokio::test]
async fn dates_beyond_the_storable_range_are_refused() {
    for app in TestApp::all().await {
        for query in [
            "from=-9999-01-01",
            "to=-9999-01-01",
            "from=9999-12-31T23:59:59-23:59",
            "to=9999-12-31T23:59:59-23:59",
            "from=0001-01-01T00:00:00Z",
            "to=1899-12-31",
        ] {
            assert_refused(
                &app.get_as(Role::Clerk, &format!("/api/v1/dossiers?{query}"))
                    .await,
                400,
                "query-invalid",
            );
        }
        app.get_as(Role::Clerk, "/api/v1/dossiers?to=9999-12-31")
            .await
            .assert_status(200);
        for query in [
            "stored_from=-9999-01-01",
            "stored_to=-9999-01-01",
            "issued_from=-0001-01-01",
            "stored_from=0999-01-01",
        ] {
            assert_refused(
                &app.get_as(Role::Archivist, &format!("/api/v1/search?{query}"))
                    .await,
                422,
                "field-invalid",
            );
        }
        app.get_as(
            Role::Archivist,
            "/api/v1/search?stored_to=9999-12-31&issued_from=1900-01-01",
        )
        .await
        .assert_status(200);
        app.cleanup().await;
    }
}

/// Every JSON body and query string refuses a field it does not know, nested ones too.
#[tokio::test]
async fn every_body_and_query_refuses_unknown_fields() {
    let app = TestApp::new(TestDb::sqlite(), HttpSettings::default()).await;
    let code = new_dossier(&app).await;
    let id = stored(
        &app,
        Multipart::default().file("file", "a.pdf", "application/pdf", &letter(8)),
    )
    .await;
    let sign = |documents: serde_json::Value, appearance: serde_json::Value| json!({"key_id": 1, "password": "x", "documents": documents, "appearance": appearance, "zz": null});
    let bodies: Vec<(Role, Method, String, serde_json::Value)> = vec![
        (
            Role::Clerk,
            Method::POST,
            "/api/v1/session".into(),
            json!({"username": "a", "password": "b", "zz": 1}),
        ),
        (
            Role::Clerk,
            Method::POST,
            "/api/v1/dossiers".into(),
            json!({"procedure": "1.001193", "applicant": {"name": "A", "zz": 1}}),
        ),
        (
            Role::Clerk,
            Method::POST,
            "/api/v1/dossiers".into(),
            json!({"procedure": "1.001193", "applicant": {"name": "A"}, "zz": 1}),
        ),
        (
            Role::Clerk,
            Method::POST,
            format!("/api/v1/dossiers/{code}/transitions"),
            json!({"to": "appraised", "zz": 1}),
        ),
        (
            Role::Clerk,
            Method::PATCH,
            format!("/api/v1/documents/{id}/metadata"),
            json!({"expected_version": 1, "metadata": {}, "reason": "r", "zz": 1}),
        ),
        (
            Role::Clerk,
            Method::POST,
            format!("/api/v1/documents/{id}/sign-requests"),
            json!({"official": "official1", "zz": 1}),
        ),
        (
            Role::Clerk,
            Method::POST,
            "/api/v1/tokens".into(),
            json!({"name": "a", "scopes": ["read"], "zz": 1}),
        ),
        (
            Role::Admin,
            Method::POST,
            "/api/v1/admin/users".into(),
            json!({"username": "ab", "role": "clerk", "password": "x", "zz": 1}),
        ),
        (
            Role::Admin,
            Method::PATCH,
            "/api/v1/admin/users/clerk1".into(),
            json!({"disabled": false, "zz": 1}),
        ),
        (
            Role::Admin,
            Method::POST,
            "/api/v1/admin/keys/pkcs11".into(),
            json!({"user": "official1", "name": "n", "module": "/m.so", "token_label": "t", "key_label": "k", "certificate_pem": "", "zz": 1}),
        ),
        (
            Role::Admin,
            Method::PATCH,
            "/api/v1/admin/keys/1".into(),
            json!({"disabled": true, "zz": 1}),
        ),
        (
            Role::Official,
            Method::POST,
            "/api/v1/sign".into(),
            sign(json!([{"document_id": id}]), json!({"kind": "none"})),
        ),
        (Role::Official, Method::POST, "/api/v1/sign".into(), {
            let mut body = sign(
                json!([{"document_id": id, "zz": 1}]),
                json!({"kind": "none"}),
            );
            body.as_object_mut().unwrap().remove("zz");
            body
        }),
        (Role::Official, Method::POST, "/api/v1/sign".into(), {
            let mut body = sign(
                json!([{"document_id": id}]),
                json!({"kind": "none", "zz": 1}),
            );
            body.as_object_mut().unwrap().remove("zz");
            body
        }),
    ];
    for (role, method, path, body) in bodies {
        let response = app.json_as(role, method.clone(), &path, &body).await;
        assert_refused(&response, 400, "json-invalid");
        assert!(
            response.text().contains("zz"),
            "{method} {path}: {}",
            response.text()
        );
    }
    for (role, path) in [
        (Role::Archivist, "/api/v1/search?q=a&zz=1".to_owned()),
        (Role::Archivist, "/api/v1/dossiers?zz=1".to_owned()),
        (Role::Clerk, "/api/v1/procedures?zz=1".to_owned()),
        (
            Role::Archivist,
            "/api/v1/stats?from=2026-01-01&to=2026-01-31&zz=1".to_owned(),
        ),
        (
            Role::Archivist,
            "/api/v1/stats/monthly?from=2026-01-01&to=2026-01-31&zz=1".to_owned(),
        ),
        (
            Role::Official,
            format!("/api/v1/sign/placement?document_id={id}&key_id=1&zz=1"),
        ),
        (
            Role::Clerk,
            format!("/api/v1/documents/{id}/versions/1/pages/1?zz=1"),
        ),
    ] {
        assert_refused(&app.get_as(role, &path).await, 400, "query-invalid");
    }
    let response = app
        .post_json_as(
            Role::Clerk,
            &format!("/api/v1/documents/{id}/verify?zz=1"),
            &json!({}),
        )
        .await;
    assert_refused(&response, 400, "query-invalid");
    app.cleanup().await;
}

/// The password of a signing key is guessed no faster than a login password: after as many
/// wrong ones as failed logins are allowed, the key is held back even from the right one,
/// and nothing is signed. Another key of the official is not held back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_key_passwords_cannot_be_guessed_without_limit() {
    for app in TestApp::all().await {
        let official = app.user_ids[&Role::Official];
        let key = add_key(&app, official, "official.p12").await;
        let other_key = add_key(&app, official, "official-ec.p12").await;
        let id = stored(
            &app,
            Multipart::default()
                .text("role", "result")
                .text("assign_to", "official1")
                .file("file", "a.pdf", "application/pdf", &letter(9)),
        )
        .await;
        let body = |key_id: i64, password: &str| {
            json!({
                "key_id": key_id, "password": password, "level": "B-B",
                "documents": [{"document_id": id}], "appearance": {"kind": "none"},
            })
        };
        let bodies: Vec<_> = (0..8).map(|i| body(key, &format!("doan-{i}"))).collect();
        let guesses = bodies
            .iter()
            .map(|body| app.post_json_as(Role::Official, "/api/v1/sign", body));
        let answers = futures_util::future::join_all(guesses).await;
        let wrong = answers
            .iter()
            .filter(|r| r.json()["error"]["code"] == "signing-key-wrong-password")
            .count();
        let limited = answers
            .iter()
            .filter(|r| r.json()["error"]["code"] == "rate-limited")
            .count();
        assert_eq!((wrong, limited), (5, 3));
        let held = app
            .post_json_as(Role::Official, "/api/v1/sign", &body(key, "test"))
            .await;
        assert_refused(&held, 429, "rate-limited");
        assert!(held.headers.contains_key(header::RETRY_AFTER));
        assert_eq!(
            app.pipeline
                .archive()
                .document(id)
                .await
                .unwrap()
                .versions
                .len(),
            1
        );
        // The official's other key opens with its own password.
        let other = app
            .post_json_as(Role::Official, "/api/v1/sign", &body(other_key, "test"))
            .await;
        other.assert_status(200);
        assert_eq!(other.json()["results"][0]["ok"], true, "{}", other.text());
        app.cleanup().await;
    }
}

#[tokio::test]
async fn only_listed_pkcs11_modules_can_be_registered_and_wrong_methods_get_a_coded_405() {
    let app = TestApp::new(TestDb::sqlite(), HttpSettings::default()).await;
    let certificate = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("certs/test-pki/official.crt"),
    )
    .unwrap();
    // A module an administrator uploaded somewhere would run its code in the service.
    let refused = app
        .post_json_as(
            Role::Admin,
            "/api/v1/admin/keys/pkcs11",
            &json!({"user": "official1", "name": "token", "module": "/tmp/evil.so",
                    "token_label": "hoso", "key_label": "an", "certificate_pem": certificate}),
        )
        .await;
    refused.assert_error(422, "field-invalid");
    let keys = app.get_as(Role::Admin, "/api/v1/admin/keys").await;
    keys.assert_status(200);
    assert!(
        !keys.text().contains("evil"),
        "nothing stored: {}",
        keys.text()
    );
    app.send(
        app.as_token(Role::Clerk, Method::PUT, "/api/v1/dossiers")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .assert_error(405, "method-not-allowed");
    app.cleanup().await;
}

#[tokio::test]
async fn public_verification_has_its_own_smaller_upload_limit() {
    let settings = HttpSettings {
        public_verify_limit_bytes: 1024,
        ..HttpSettings::default()
    };
    let app = TestApp::new(TestDb::sqlite(), settings).await;
    let big = vec![b'x'; 4096];
    app.multipart_anonymous(
        "/api/v1/verify",
        Multipart::default().file("file", "big.pdf", "application/pdf", &big),
    )
    .await
    .assert_error(413, "upload-too-large");
    app.cleanup().await;
}

//! The records API on both backends: dossiers, procedures, document uploads (with OCR jobs),
//! downloads, text, previews, metadata edits, signature requests, re-verification, jobs; bad
//! input; and every role that must not use an endpoint getting 403 and no data.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, header};
use hoso::archive::accounts::Role;
use hoso::archive::procedures::CatalogueFormat;
use hoso::http::HttpSettings;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use unicode_normalization::UnicodeNormalization;

use crate::api_support::{Multipart, TestApp, TestResponse};
use crate::helpers::backends;

const CATALOGUE: &str = "code,name,field,level,processing_days,competent_agency\n\
    1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n\
    2.002710,\"Cấp giấy phép xây dựng, nhà ở riêng lẻ\",Xây dựng,Cấp huyện,15,UBND cấp huyện\n";

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name),
    )
    .unwrap()
}

async fn seed_catalogue(app: &TestApp) {
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

/// A new dossier received by the clerk; its code.
async fn new_dossier(app: &TestApp, applicant: &str) -> String {
    let response = app
        .post_json_as(
            Role::Clerk,
            "/api/v1/dossiers",
            &json!({
                "procedure": "1.001193",
                "applicant": {"name": applicant, "id_number": "001203004567"},
            }),
        )
        .await;
    response.assert_status(201);
    response.json()["code"].as_str().unwrap().to_owned()
}

async fn upload(app: &TestApp, role: Role, form: Multipart) -> TestResponse {
    app.multipart_as(role, "/api/v1/documents", form).await
}

/// Polls a job until it is done or failed.
async fn wait_for_job(app: &TestApp, job_id: &str) -> Value {
    let started = Instant::now();
    loop {
        let response = app
            .get_as(Role::Clerk, &format!("/api/v1/jobs/{job_id}"))
            .await;
        response.assert_status(200);
        let job = response.json();
        if job["state"] == "done" || job["state"] == "failed" {
            return job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "job {job_id} still {} after 180 s: {job}",
            job["state"]
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A forbidden answer carries the error and nothing else.
#[track_caller]
fn assert_forbidden(response: &TestResponse) {
    response.assert_error(403, "forbidden");
    let body = response.json();
    assert_eq!(
        body.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["error".to_owned()]),
        "{body}"
    );
}

/// Where the test's blob store keeps the blob `sha256` (the store is a temporary folder of
/// `TestApp`; the content is unique to the test, so the first match is ours).
fn blob_path(sha256: &str) -> Option<PathBuf> {
    let key = format!("sha256/{}/{}/{sha256}", &sha256[..2], &sha256[2..4]);
    std::fs::read_dir(std::env::temp_dir())
        .ok()?
        .flatten()
        .map(|entry| entry.path().join(&key))
        .find(|path| path.is_file())
}

async fn document_exists(app: &TestApp, id: i64) -> bool {
    app.pipeline.archive().document(id).await.is_ok()
}

#[tokio::test]
async fn the_records_endpoints_are_in_the_openapi_document() {
    let app = TestApp::new(crate::helpers::TestDb::sqlite(), HttpSettings::default()).await;
    let document = app.get_anonymous("/api/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/dossiers", "post"),
        ("/api/v1/dossiers", "get"),
        ("/api/v1/dossiers/{code}", "get"),
        ("/api/v1/dossiers/{code}/transitions", "post"),
        ("/api/v1/procedures", "get"),
        ("/api/v1/documents", "post"),
        ("/api/v1/documents/{id}", "get"),
        ("/api/v1/documents/{id}/versions/{version}/content", "get"),
        ("/api/v1/documents/{id}/versions/{version}/text", "get"),
        (
            "/api/v1/documents/{id}/versions/{version}/pages/{page}",
            "get",
        ),
        ("/api/v1/documents/{id}/metadata", "patch"),
        ("/api/v1/documents/{id}/ocr", "post"),
        ("/api/v1/documents/{id}/sign-requests", "post"),
        ("/api/v1/documents/{id}/verify", "post"),
        ("/api/v1/jobs/{id}", "get"),
    ] {
        let operation = &document["paths"][path][method];
        assert!(
            operation["responses"]["403"].is_object(),
            "{method} {path}: {operation}"
        );
    }
    let upload = &document["paths"]["/api/v1/documents"]["post"];
    assert!(upload["requestBody"]["content"]["multipart/form-data"].is_object());
    let list = &document["paths"]["/api/v1/dossiers"]["get"]["parameters"];
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "applicant")
    );
    app.cleanup().await;
}

#[tokio::test]
async fn dossiers_are_received_listed_read_and_moved_on() {
    for app in TestApp::all().await {
        seed_catalogue(&app).await;
        // The catalogue for the form, folded.
        let procedures = app
            .get_as(Role::Clerk, "/api/v1/procedures?q=khai%20sinh")
            .await;
        procedures.assert_status(200);
        assert_eq!(
            procedures.json()["procedures"],
            json!([{
                "code": "1.001193", "name": "Đăng ký khai sinh", "field": "Hộ tịch",
                "level": "Cấp xã", "processing_days": 3, "competent_agency": "UBND cấp xã",
                "created_at": procedures.json()["procedures"][0]["created_at"],
                "updated_at": procedures.json()["procedures"][0]["updated_at"],
            }])
        );
        let all = app.get_as(Role::Archivist, "/api/v1/procedures").await;
        all.assert_status(200);
        assert_eq!(all.json()["procedures"][1]["code"], "2.002710");
        let by_code = app.get_as(Role::Clerk, "/api/v1/procedures?q=2.00").await;
        assert_eq!(
            by_code.json()["procedures"][0]["name"],
            "Cấp giấy phép xây dựng, nhà ở riêng lẻ"
        );

        // Receipt: code of the configured (here the test) agency, due date computed.
        let created = app
            .post_json_as(
                Role::Clerk,
                "/api/v1/dossiers",
                &json!({
                    "procedure": "1.001193",
                    "applicant": {"name": "Nguyễn Văn An", "id_number": "001203004567", "contact": "0912 345 678"},
                    "channel": "online",
                    "note": "nộp qua cổng dịch vụ công",
                }),
            )
            .await;
        created.assert_status(201);
        let dossier = created.json();
        let code = dossier["code"].as_str().unwrap().to_owned();
        assert!(code.starts_with("X99.999.99-"), "{code}");
        assert_eq!(dossier["status"], "received");
        assert_eq!(dossier["channel"], "online");
        assert_eq!(dossier["result_delivery"], "online");
        assert!(dossier["due_at"].as_str().unwrap() > dossier["received_at"].as_str().unwrap());
        let other = new_dossier(&app, "Trần Thị Mẫu").await;

        // Backdated receipt (entered late), never in the future.
        let two_days_ago = app.now() - time::Duration::days(2);
        let stamp = two_days_ago
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let backdated = app
            .post_json_as(
                Role::Clerk,
                "/api/v1/dossiers",
                &json!({"procedure": "2.002710", "applicant": {"name": "Lê Văn Cường"}, "received_at": stamp}),
            )
            .await;
        backdated.assert_status(201);
        let backdated_code = backdated.json()["code"].as_str().unwrap().to_owned();
        let future = (app.now() + time::Duration::hours(2))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        app.post_json_as(
            Role::Clerk,
            "/api/v1/dossiers",
            &json!({"procedure": "1.001193", "applicant": {"name": "An"}, "received_at": future}),
        )
        .await
        .assert_error(422, "field-invalid");

        // Bad input.
        app.post_json_as(
            Role::Clerk,
            "/api/v1/dossiers",
            &json!({"procedure": "9.999999", "applicant": {"name": "An"}}),
        )
        .await
        .assert_error(404, "procedure-not-found");
        app.post_json_as(
            Role::Clerk,
            "/api/v1/dossiers",
            &json!({"procedure": "1.001193", "applicant": {"name": "An"}, "priority": "high"}),
        )
        .await
        .assert_error(400, "json-invalid");
        app.post_json_as(
            Role::Clerk,
            "/api/v1/dossiers",
            &json!({"procedure": "1.001193", "applicant": "An"}),
        )
        .await
        .assert_error(400, "json-invalid");
        app.post_json_as(
            Role::Clerk,
            "/api/v1/dossiers",
            &json!({"procedure": "1.001193", "applicant": {"name": ""}}),
        )
        .await
        .assert_error(422, "field-invalid");
        app.send(
            app.as_token(Role::Clerk, Method::POST, "/api/v1/dossiers")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("procedure=1.001193"))
                .unwrap(),
        )
        .await
        .assert_error(415, "unsupported-media-type");

        // Lists and filters.
        let listed = app
            .get_as(
                Role::Archivist,
                "/api/v1/dossiers?status=received&procedure=1.001193",
            )
            .await;
        listed.assert_status(200);
        let codes: Vec<String> = listed.json()["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(codes.len(), 2, "{codes:?}");
        assert!(codes.contains(&code) && codes.contains(&other));
        let by_name = app
            .get_as(Role::Clerk, "/api/v1/dossiers?applicant=nguyen%20van")
            .await;
        assert_eq!(by_name.json()["dossiers"].as_array().unwrap().len(), 1);
        assert_eq!(by_name.json()["dossiers"][0]["code"], code.as_str());
        let yesterday = (app.now() - time::Duration::days(1)).date();
        let older = app
            .get_as(Role::Clerk, &format!("/api/v1/dossiers?to={yesterday}"))
            .await;
        older.assert_status(200);
        let older = older.json();
        assert_eq!(older["dossiers"].as_array().unwrap().len(), 1, "{older}");
        assert_eq!(older["dossiers"][0]["code"], backdated_code.as_str());
        let paged = app
            .get_as(Role::Clerk, "/api/v1/dossiers?limit=1&offset=1")
            .await;
        assert_eq!(paged.json()["dossiers"].as_array().unwrap().len(), 1);
        app.get_as(Role::Clerk, "/api/v1/dossiers?status=lost")
            .await
            .assert_error(400, "query-invalid");
        app.get_as(Role::Clerk, "/api/v1/dossiers?sort=name")
            .await
            .assert_error(400, "query-invalid");
        app.get_as(Role::Clerk, "/api/v1/dossiers?limit=many")
            .await
            .assert_error(400, "query-invalid");

        // One dossier.
        let shown = app
            .get_as(Role::Archivist, &format!("/api/v1/dossiers/{code}"))
            .await;
        shown.assert_status(200);
        let shown = shown.json();
        assert_eq!(shown["dossier"]["code"], code.as_str());
        assert_eq!(shown["procedure"]["code"], "1.001193");
        assert_eq!(shown["events"].as_array().unwrap().len(), 1);
        assert!(
            shown["events"][0]["actor"]
                .as_str()
                .unwrap()
                .starts_with("clerk1 (token ")
        );
        assert_eq!(shown["documents"], json!([]));
        app.get_as(Role::Clerk, "/api/v1/dossiers/X99.999.99-261123-990099")
            .await
            .assert_error(404, "dossier-not-found");
        app.get_as(Role::Clerk, "/api/v1/dossiers/nonsense")
            .await
            .assert_error(422, "dossier-code-invalid");

        // Steps.
        let path = format!("/api/v1/dossiers/{code}/transitions");
        app.post_json_as(Role::Clerk, &path, &json!({"to": "approved"}))
            .await
            .assert_error(409, "dossier-transition-invalid");
        let appraised = app
            .post_json_as(
                Role::Clerk,
                &path,
                &json!({"to": "appraised", "note": "đủ giấy tờ"}),
            )
            .await;
        appraised.assert_status(200);
        assert_eq!(appraised.json()["status"], "appraised");
        assert_eq!(appraised.json()["events"].as_array().unwrap().len(), 2);
        app.post_json_as(
            Role::Clerk,
            &path,
            &json!({"to": "approved", "outcome": "rejected"}),
        )
        .await
        .assert_error(422, "field-invalid");
        let approved = app
            .post_json_as(
                Role::Clerk,
                &path,
                &json!({"to": "approved", "outcome": "approved"}),
            )
            .await;
        approved.assert_status(200);
        assert_eq!(approved.json()["outcome"], "approved");
        app.post_json_as(Role::Clerk, &path, &json!({"to": "done"}))
            .await
            .assert_error(400, "json-invalid");
        let returned = app
            .post_json_as(
                Role::Clerk,
                &path,
                &json!({"to": "returned", "outcome": "approved"}),
            )
            .await;
        returned.assert_status(200);
        assert_eq!(returned.json()["status"], "returned");
        app.post_json_as(
            Role::Clerk,
            "/api/v1/dossiers/X99.999.99-261123-990099/transitions",
            &json!({"to": "appraised"}),
        )
        .await
        .assert_error(404, "dossier-not-found");

        app.cleanup().await;
    }
}

#[tokio::test]
async fn scans_uploaded_with_ocr_are_recognized_in_background_jobs() {
    let scan = sample("scan-quyet-dinh.png");
    // A second, different scan: the top half of the page.
    let half = {
        let image = image::load_from_memory(&scan).unwrap();
        let top = image.crop_imm(0, 0, image.width(), image.height() / 2);
        let mut bytes = std::io::Cursor::new(Vec::new());
        top.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
        bytes.into_inner()
    };
    for app in TestApp::all().await {
        seed_catalogue(&app).await;
        let code = new_dossier(&app, "Nguyễn Văn An").await;
        let response = upload(
            &app,
            Role::Clerk,
            Multipart::default()
                .text("dossier", &code)
                .text("ocr", "true")
                .text("metadata", r#"{"subject": "Cấp giấy phép xây dựng"}"#)
                .file("file", "quyet-dinh.png", "image/png", &scan)
                .file("file", "nua-trang.png", "image/png", &half),
        )
        .await;
        response.assert_status(202);
        let body = response.json();
        assert_eq!(body["documents"].as_array().unwrap().len(), 2, "{body}");
        assert_eq!(body["failed"], json!([]));
        let jobs = body["jobs"].as_array().unwrap().clone();
        assert_eq!(jobs.len(), 2, "{body}");
        for (document, job) in body["documents"].as_array().unwrap().iter().zip(&jobs) {
            assert_eq!(document["media_type"], "image/png");
            assert_eq!(document["version"], 1);
            assert_eq!(job["document_id"], document["id"]);
            assert_eq!(job["kind"], "ocr");
        }
        let id = body["documents"][0]["id"].as_i64().unwrap();
        let job_id = jobs[0]["job_id"].as_str().unwrap();

        // Jobs are read by whoever started them (any of their credentials) and admins.
        let by_session = app
            .send(
                app.as_session(Role::Clerk, Method::GET, &format!("/api/v1/jobs/{job_id}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        by_session.assert_status(200);
        app.get_as(Role::Admin, &format!("/api/v1/jobs/{job_id}"))
            .await
            .assert_status(200);
        for role in [Role::Official, Role::Archivist] {
            assert_forbidden(&app.get_as(role, &format!("/api/v1/jobs/{job_id}")).await);
        }
        app.get_anonymous(&format!("/api/v1/jobs/{job_id}"))
            .await
            .assert_error(401, "unauthenticated");
        app.get_as(
            Role::Clerk,
            "/api/v1/jobs/00000000-0000-4000-8000-000000000000",
        )
        .await
        .assert_error(404, "job-not-found");

        for job in &jobs {
            let finished = wait_for_job(&app, job["job_id"].as_str().unwrap()).await;
            assert_eq!(finished["state"], "done", "{finished}");
            assert_eq!(finished["result"]["version"], 2, "{finished}");
        }
        let text = app
            .get_as(
                Role::Archivist,
                &format!("/api/v1/documents/{id}/versions/2/text"),
            )
            .await;
        text.assert_status(200);
        let recognized: String = text.json()["text"].as_str().unwrap().nfc().collect();
        assert!(recognized.contains("QUYẾT ĐỊNH"), "{recognized}");
        assert!(text.json()["confidence"].as_f64().unwrap() > 50.0);
        app.get_as(
            Role::Clerk,
            &format!("/api/v1/documents/{id}/versions/1/text"),
        )
        .await
        .assert_error(404, "text-not-found");
        let record = app
            .get_as(Role::Clerk, &format!("/api/v1/documents/{id}"))
            .await;
        record.assert_status(200);
        let record = record.json();
        assert_eq!(record["versions"][1]["kind"], "ocr");
        assert_eq!(record["versions"][1]["media_type"], "application/pdf");
        // What the clerk typed wins over what OCR read.
        assert_eq!(
            record["versions"][1]["metadata"]["subject"],
            "Cấp giấy phép xây dựng"
        );
        // The dossier lists both, recognized.
        let dossier = app
            .get_as(Role::Clerk, &format!("/api/v1/dossiers/{code}"))
            .await;
        let documents = dossier.json()["documents"].clone();
        assert_eq!(documents.as_array().unwrap().len(), 2);
        assert!(
            documents
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["kind"] == "ocr" && d["has_text"] == true)
        );
        // OCR again: already recognized.
        app.post_json_as(
            Role::Clerk,
            &format!("/api/v1/documents/{id}/ocr"),
            &json!({}),
        )
        .await
        .assert_error(422, "ocr-not-applicable");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn versions_are_downloaded_previewed_edited_and_sent_for_signature() {
    let letter = sample("cong-van.pdf");
    let scan = sample("scan-quyet-dinh.png");
    for app in TestApp::all().await {
        seed_catalogue(&app).await;
        let code = new_dossier(&app, "Nguyễn Văn An").await;
        let response = upload(
            &app,
            Role::Clerk,
            Multipart::default()
                .text("dossier", &code)
                .text("role", "result")
                .file("file", "Công văn 35.pdf", "application/pdf", &letter),
        )
        .await;
        response.assert_status(201);
        assert_eq!(response.json()["jobs"], json!([]));
        let letter_id = response.json()["documents"][0]["id"].as_i64().unwrap();
        let sha256 = response.json()["documents"][0]["sha256"]
            .as_str()
            .unwrap()
            .to_owned();
        let scanned = upload(
            &app,
            Role::Clerk,
            Multipart::default()
                .text("dossier", &code)
                .text("role", "certified-copy")
                // A C1 control character (U+0085) travels as UTF-8 in the part header.
                .file("file", "../../etc/passwd\u{85}.png", "image/png", &scan),
        )
        .await;
        scanned.assert_status(201);
        let scanned = scanned.json();
        assert_eq!(scanned["documents"][0]["file"], "passwd.png", "{scanned}");
        let scan_id = scanned["documents"][0]["id"].as_i64().unwrap();

        // Download: the bytes as stored, named, typed and tagged.
        let content = format!("/api/v1/documents/{letter_id}/versions/1/content");
        let download = app.get_as(Role::Archivist, &content).await;
        download.assert_status(200);
        assert_eq!(download.body, letter);
        assert_eq!(download.headers[header::CONTENT_TYPE], "application/pdf");
        assert_eq!(
            download.headers[header::ETAG].to_str().unwrap(),
            format!("\"{sha256}\"")
        );
        let disposition = download.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"cong van 35.pdf\"")
                && disposition.ends_with("filename*=UTF-8''C%C3%B4ng%20v%C4%83n%2035.pdf"),
            "{disposition}"
        );
        let cached = app
            .send(
                app.as_token(Role::Archivist, Method::GET, &content)
                    .header(header::IF_NONE_MATCH, format!("\"{sha256}\""))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        cached.assert_status(304);
        app.get_as(
            Role::Clerk,
            &format!("/api/v1/documents/{letter_id}/versions/9/content"),
        )
        .await
        .assert_error(404, "version-not-found");
        app.get_as(Role::Clerk, "/api/v1/documents/999999/versions/1/content")
            .await
            .assert_error(404, "document-not-found");

        // Page previews: PNG, 1-based, bounded width.
        let preview = app
            .get_as(
                Role::Clerk,
                &format!("/api/v1/documents/{scan_id}/versions/1/pages/1?width=200"),
            )
            .await;
        preview.assert_status(200);
        assert_eq!(preview.headers[header::CONTENT_TYPE], "image/png");
        assert!(
            preview.headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .starts_with("private")
        );
        let image = image::load_from_memory(&preview.body).unwrap();
        assert_eq!(image.width(), 200);
        let pdf_preview = app
            .get_as(
                Role::Clerk,
                &format!("/api/v1/documents/{letter_id}/versions/1/pages/1"),
            )
            .await;
        if pdf_preview.status == 200 {
            assert!(pdf_preview.body.starts_with(b"\x89PNG"));
        } else {
            pdf_preview.assert_error(503, "preview-unavailable");
        }
        for bad in [
            "pages/0",
            "pages/2",
            "pages/1?width=0",
            "pages/1?width=5000",
        ] {
            app.get_as(
                Role::Clerk,
                &format!("/api/v1/documents/{scan_id}/versions/1/{bad}"),
            )
            .await
            .assert_error(422, "field-invalid");
        }
        app.get_as(
            Role::Clerk,
            &format!("/api/v1/documents/{scan_id}/versions/1/pages/1?w=3"),
        )
        .await
        .assert_error(400, "query-invalid");

        // Metadata: a new version; a stale edit conflicts; null clears.
        let metadata = format!("/api/v1/documents/{letter_id}/metadata");
        let edited = app
            .json_as(
                Role::Clerk,
                Method::PATCH,
                &metadata,
                &json!({"expected_version": 1, "metadata": {"Subject": "V/v bổ sung hồ sơ", "code_number": "35"}, "reason": "nhập trích yếu"}),
            )
            .await;
        edited.assert_status(200);
        let edited = edited.json();
        assert_eq!(edited["version"], 2);
        assert_eq!(edited["kind"], "metadata");
        assert_eq!(edited["sha256"], sha256.as_str());
        assert_eq!(edited["metadata"]["subject"], "V/v bổ sung hồ sơ");
        app.json_as(
            Role::Clerk,
            Method::PATCH,
            &metadata,
            &json!({"expected_version": 1, "metadata": {"subject": "khác"}, "reason": "sửa"}),
        )
        .await
        .assert_error(409, "version-conflict");
        let cleared = app
            .json_as(
                Role::Clerk,
                Method::PATCH,
                &metadata,
                &json!({"expected_version": 2, "metadata": {"subject": null}, "reason": "bỏ trích yếu"}),
            )
            .await;
        cleared.assert_status(200);
        assert_eq!(cleared.json()["version"], 3);
        assert!(cleared.json()["metadata"].get("subject").is_none());
        assert_eq!(cleared.json()["metadata"]["code_number"], "35");
        for (body, status, code) in [
            (
                json!({"expected_version": 3, "metadata": {"tittle": "x"}, "reason": "r"}),
                422,
                "metadata-invalid",
            ),
            (
                json!({"expected_version": 3, "metadata": "x", "reason": "r"}),
                400,
                "json-invalid",
            ),
            (
                json!({"expected_version": "3", "metadata": {}, "reason": "r"}),
                400,
                "json-invalid",
            ),
            (
                json!({"expected_version": 3, "metadata": {}, "reason": "r", "force": true}),
                400,
                "json-invalid",
            ),
            (
                json!({"expected_version": 3, "metadata": {}, "reason": ""}),
                422,
                "field-invalid",
            ),
        ] {
            app.json_as(Role::Clerk, Method::PATCH, &metadata, &body)
                .await
                .assert_error(status, code);
        }
        app.json_as(
            Role::Clerk,
            Method::PATCH,
            "/api/v1/documents/999999/metadata",
            &json!({"expected_version": 1, "metadata": {}, "reason": "r"}),
        )
        .await
        .assert_error(404, "document-not-found");
        let versions = app
            .get_as(Role::Clerk, &format!("/api/v1/documents/{letter_id}"))
            .await;
        assert_eq!(versions.json()["versions"].as_array().unwrap().len(), 3);

        // Signature requests, and what the official may then read.
        let requests = format!("/api/v1/documents/{letter_id}/sign-requests");
        let official = Role::Official;
        assert_forbidden(
            &app.get_as(official, &format!("/api/v1/documents/{letter_id}"))
                .await,
        );
        let requested = app
            .post_json_as(
                Role::Clerk,
                &requests,
                &json!({"official": "official1", "note": "ký gấp"}),
            )
            .await;
        requested.assert_status(201);
        assert_eq!(requested.json()["state"], "pending");
        assert_eq!(requested.json()["official_id"], app.user_ids[&official]);
        app.post_json_as(Role::Clerk, &requests, &json!({"official": "clerk1"}))
            .await
            .assert_error(422, "field-invalid");
        app.post_json_as(Role::Clerk, &requests, &json!({"official": "nobody"}))
            .await
            .assert_error(404, "user-not-found");
        app.post_json_as(
            Role::Clerk,
            "/api/v1/documents/999999/sign-requests",
            &json!({"official": "official1"}),
        )
        .await
        .assert_error(404, "document-not-found");
        let seen = app
            .get_as(official, &format!("/api/v1/documents/{letter_id}"))
            .await;
        seen.assert_status(200);
        assert_eq!(seen.json()["sign_requests"][0]["note"], "ký gấp");
        assert_eq!(seen.json()["document_id"], letter_id);
        app.get_as(
            official,
            &format!("/api/v1/documents/{letter_id}/versions/3/content"),
        )
        .await
        .assert_status(200);
        assert_forbidden(
            &app.get_as(official, &format!("/api/v1/documents/{scan_id}"))
                .await,
        );
        assert_forbidden(
            &app.get_as(
                official,
                &format!("/api/v1/documents/{scan_id}/versions/1/content"),
            )
            .await,
        );
        app.get_as(official, "/api/v1/documents/999999")
            .await
            .assert_error(404, "document-not-found");

        // Uploading a result straight to an official.
        let assigned = upload(
            &app,
            Role::Clerk,
            Multipart::default()
                .text("role", "result")
                .text("assign_to", "official1")
                .file("file", "ket-qua.txt", "text/plain", b"ket qua giai quyet"),
        )
        .await;
        assigned.assert_status(201);
        let assigned = assigned.json();
        assert_eq!(
            assigned["sign_requests"].as_array().unwrap().len(),
            1,
            "{assigned}"
        );
        let assigned_id = assigned["documents"][0]["id"].as_i64().unwrap();
        app.get_as(official, &format!("/api/v1/documents/{assigned_id}"))
            .await
            .assert_status(200);

        // Re-verification: stored with the others; an unsigned PDF has no signature.
        let verified = app
            .post_json_as(
                Role::Archivist,
                &format!("/api/v1/documents/{letter_id}/verify?offline=true"),
                &json!({}),
            )
            .await;
        verified.assert_status(200);
        assert_eq!(
            verified.json()["signatures"],
            json!([]),
            "{}",
            verified.text()
        );
        let reports = app
            .get_as(Role::Clerk, &format!("/api/v1/documents/{letter_id}"))
            .await;
        assert_eq!(reports.json()["reports"].as_array().unwrap().len(), 1);
        app.post_json_as(
            official,
            &format!("/api/v1/documents/{letter_id}/verify?offline=true"),
            &json!({}),
        )
        .await
        .assert_status(200);
        assert_forbidden(
            &app.post_json_as(
                official,
                &format!("/api/v1/documents/{scan_id}/verify"),
                &json!({}),
            )
            .await,
        );
        app.post_json_as(
            Role::Clerk,
            &format!("/api/v1/documents/{scan_id}/verify"),
            &json!({}),
        )
        .await
        .assert_error(422, "field-invalid");

        // OCR of what is no scan.
        app.post_json_as(
            Role::Clerk,
            &format!("/api/v1/documents/{assigned_id}/ocr"),
            &json!({}),
        )
        .await
        .assert_error(422, "ocr-not-applicable");
        app.post_json_as(Role::Clerk, "/api/v1/documents/999999/ocr", &json!({}))
            .await
            .assert_error(404, "document-not-found");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_damaged_blob_breaks_the_download_and_is_audited() {
    for app in TestApp::all().await {
        let unique = format!("noi dung rieng {}", uuid::Uuid::new_v4());
        let stored = upload(
            &app,
            Role::Clerk,
            Multipart::default().file("file", "rieng.txt", "text/plain", unique.as_bytes()),
        )
        .await;
        stored.assert_status(201);
        let id = stored.json()["documents"][0]["id"].as_i64().unwrap();
        let sha256 = stored.json()["documents"][0]["sha256"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = blob_path(&sha256).expect("the blob is in the test's store");
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(false);
        std::fs::set_permissions(&path, permissions).unwrap();
        // Same length, other bytes: only the digest can tell.
        std::fs::write(&path, unique.to_uppercase()).unwrap();

        let response = app
            .router
            .clone()
            .oneshot(
                app.as_token(
                    Role::Archivist,
                    Method::GET,
                    &format!("/api/v1/documents/{id}/versions/1/content"),
                )
                .body(Body::empty())
                .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "the body was already under way");
        let body = response.into_body().collect().await;
        assert!(
            body.is_err(),
            "a damaged copy must not download as complete"
        );
        let started = Instant::now();
        loop {
            let entries = app.pipeline.archive().audit_entries(0, 1000).await.unwrap();
            if entries
                .iter()
                .any(|e| e.action == "blob.unreadable" && e.object_id == sha256)
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no audit entry"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // A copy cut short breaks the download too (the intact part is not a document).
        std::fs::write(&path, &unique.as_bytes()[..unique.len() / 2]).unwrap();
        let response = app
            .router
            .clone()
            .oneshot(
                app.as_token(
                    Role::Clerk,
                    Method::GET,
                    &format!("/api/v1/documents/{id}/versions/1/content"),
                )
                .body(Body::empty())
                .unwrap(),
            )
            .await
            .unwrap();
        assert!(response.into_body().collect().await.is_err());
        // A missing copy is an error before the body starts.
        std::fs::remove_file(&path).unwrap();
        app.get_as(
            Role::Archivist,
            &format!("/api/v1/documents/{id}/versions/1/content"),
        )
        .await
        .assert_error(404, "blob-not-found");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_and_store_nothing() {
    for db in backends().await {
        // A small limit: 413, whether or not the client declared the length.
        let small = TestApp::new(
            db,
            HttpSettings {
                upload_limit_bytes: 1024,
                ..Default::default()
            },
        )
        .await;
        let form = Multipart::default().file(
            "file",
            "quyet-dinh.png",
            "image/png",
            &sample("scan-quyet-dinh.png"),
        );
        upload(&small, Role::Clerk, form)
            .await
            .assert_error(413, "upload-too-large");
        let (content_type, body) = Multipart::default()
            .file(
                "file",
                "quyet-dinh.png",
                "image/png",
                &sample("scan-quyet-dinh.png"),
            )
            .finish();
        small
            .send(
                small
                    .as_token(Role::Clerk, Method::POST, "/api/v1/documents")
                    .header(header::CONTENT_TYPE, content_type)
                    .header(header::CONTENT_LENGTH, body.len())
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .assert_error(413, "upload-too-large");
        assert!(!document_exists(&small, 1).await);
        small.cleanup().await;
    }
    for app in TestApp::all().await {
        seed_catalogue(&app).await;
        let code = new_dossier(&app, "Nguyễn Văn An").await;
        let file = || Multipart::default().file("file", "a.txt", "text/plain", b"noi dung");
        let malformed = app
            .send(
                app.as_token(Role::Clerk, Method::POST, "/api/v1/documents")
                    .header(header::CONTENT_TYPE, "multipart/form-data; boundary=xyz")
                    .body(Body::from("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nno end"))
                    .unwrap(),
            )
            .await;
        malformed.assert_error(400, "multipart-invalid");
        app.send(
            app.as_token(Role::Clerk, Method::POST, "/api/v1/documents")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await
        .assert_error(415, "unsupported-media-type");
        let refusals = [
            (
                file().text("dossier", "X99.999.99-261123-990099"),
                404,
                "dossier-not-found",
            ),
            (
                file().text("dossier", "H53/../x"),
                422,
                "dossier-code-invalid",
            ),
            (file().text("role", "draft"), 422, "field-invalid"),
            (file().text("ocr", "perhaps"), 422, "field-invalid"),
            (
                file().text("metadata", r#"{"tittle": "x"}"#),
                422,
                "metadata-invalid",
            ),
            (file().text("assign_to", "official1"), 422, "field-invalid"),
            (
                file().text("role", "result").text("assign_to", "nobody"),
                404,
                "user-not-found",
            ),
            (file().text("priority", "high"), 400, "multipart-invalid"),
            (
                Multipart::default().file("attachment", "a.txt", "text/plain", b"x"),
                400,
                "multipart-invalid",
            ),
            (
                Multipart::default().text("dossier", &code),
                400,
                "upload-file-missing",
            ),
            (
                Multipart::default().file("file", "rong.txt", "text/plain", b""),
                422,
                "input-unreadable",
            ),
        ];
        app.multipart_anonymous("/api/v1/documents", file())
            .await
            .assert_error(401, "unauthenticated");
        // A raw ASCII control character cannot even be parsed as a part header.
        let raw_control = Multipart::default().file(
            "file",
            "../../etc/passwd\u{7}.pdf",
            "application/pdf",
            b"%PDF-1.4",
        );
        upload(&app, Role::Clerk, raw_control)
            .await
            .assert_error(400, "multipart-invalid");
        for (form, status, error) in refusals {
            upload(&app, Role::Clerk, form)
                .await
                .assert_error(status, error);
        }
        assert!(!document_exists(&app, 1).await, "nothing was stored");
        // One bad file among good ones: the others are stored, the bad one reported.
        let mixed = upload(
            &app,
            Role::Clerk,
            Multipart::default()
                .text("dossier", &code)
                .file("file", "rong.txt", "text/plain", b"")
                .file("file", "tot.txt", "text/plain", b"noi dung tot"),
        )
        .await;
        mixed.assert_status(201);
        let mixed = mixed.json();
        assert_eq!(mixed["documents"].as_array().unwrap().len(), 1);
        assert_eq!(mixed["failed"][0]["file"], "rong.txt");
        assert_eq!(mixed["failed"][0]["error"]["code"], "input-unreadable");
        assert!(
            !mixed["failed"][0]["error"]["message_en"]
                .as_str()
                .unwrap()
                .contains("hoso-upload"),
            "the temporary file is not named: {mixed}"
        );
        app.cleanup().await;
    }
}

#[tokio::test]
async fn every_records_endpoint_refuses_the_roles_that_may_not_use_it() {
    let scan = sample("scan-quyet-dinh.png");
    for app in TestApp::all().await {
        seed_catalogue(&app).await;
        let code = new_dossier(&app, "Nguyễn Văn An").await;
        let stored = upload(
            &app,
            Role::Clerk,
            Multipart::default().text("dossier", &code).file(
                "file",
                "quyet-dinh.png",
                "image/png",
                &scan,
            ),
        )
        .await;
        stored.assert_status(201);
        let id = stored.json()["documents"][0]["id"].as_i64().unwrap();
        let job = app
            .post_json_as(
                Role::Clerk,
                &format!("/api/v1/documents/{id}/ocr"),
                &json!({}),
            )
            .await;
        job.assert_status(202);
        let job_id = job.json()["job"]["job_id"].as_str().unwrap().to_owned();

        let transition = json!({"to": "appraised"});
        let dossier_body = json!({"procedure": "1.001193", "applicant": {"name": "An"}});
        let edit = json!({"expected_version": 1, "metadata": {"subject": "x"}, "reason": "r"});
        let sign = json!({"official": "official1"});
        let empty = json!({});
        // (method, path, JSON body or multipart, roles that must get 403)
        let endpoints: Vec<(Method, String, Option<&Value>, Vec<Role>)> = vec![
            (
                Method::POST,
                "/api/v1/dossiers".into(),
                Some(&dossier_body),
                vec![Role::Official, Role::Archivist, Role::Admin],
            ),
            (
                Method::GET,
                "/api/v1/dossiers".into(),
                None,
                vec![Role::Official, Role::Admin],
            ),
            (
                Method::GET,
                format!("/api/v1/dossiers/{code}"),
                None,
                vec![Role::Official, Role::Admin],
            ),
            (
                Method::POST,
                format!("/api/v1/dossiers/{code}/transitions"),
                Some(&transition),
                vec![Role::Official, Role::Archivist, Role::Admin],
            ),
            (
                Method::GET,
                "/api/v1/procedures".into(),
                None,
                vec![Role::Official, Role::Admin],
            ),
            (
                Method::POST,
                "/api/v1/documents".into(),
                None,
                vec![Role::Official, Role::Archivist, Role::Admin],
            ),
            (
                Method::GET,
                format!("/api/v1/documents/{id}"),
                None,
                vec![Role::Official, Role::Admin],
            ),
            (
                Method::GET,
                format!("/api/v1/documents/{id}/versions/1/content"),
                None,
                vec![Role::Official, Role::Admin],
            ),
            (
                Method::GET,
                format!("/api/v1/documents/{id}/versions/1/text"),
                None,
                vec![Role::Official, Role::Admin],
            ),
            (
                Method::GET,
                format!("/api/v1/documents/{id}/versions/1/pages/1"),
                None,
                vec![Role::Official, Role::Admin],
            ),
            (
                Method::PATCH,
                format!("/api/v1/documents/{id}/metadata"),
                Some(&edit),
                vec![Role::Official, Role::Archivist, Role::Admin],
            ),
            (
                Method::POST,
                format!("/api/v1/documents/{id}/ocr"),
                Some(&empty),
                vec![Role::Official, Role::Archivist, Role::Admin],
            ),
            (
                Method::POST,
                format!("/api/v1/documents/{id}/sign-requests"),
                Some(&sign),
                vec![Role::Official, Role::Archivist, Role::Admin],
            ),
            (
                Method::POST,
                format!("/api/v1/documents/{id}/verify"),
                Some(&empty),
                vec![Role::Official, Role::Admin],
            ),
            (
                Method::GET,
                format!("/api/v1/jobs/{job_id}"),
                None,
                vec![Role::Official, Role::Archivist],
            ),
        ];
        for (method, path, body, forbidden) in &endpoints {
            let request = |builder: axum::http::request::Builder| -> Request<Body> {
                if path == "/api/v1/documents" {
                    let (content_type, bytes) = Multipart::default()
                        .text("dossier", &code)
                        .file("file", "x.txt", "text/plain", b"x")
                        .finish();
                    builder
                        .header(header::CONTENT_TYPE, content_type)
                        .body(Body::from(bytes))
                        .unwrap()
                } else if let Some(body) = body {
                    builder
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(body.to_string()))
                        .unwrap()
                } else {
                    builder.body(Body::empty()).unwrap()
                }
            };
            for role in forbidden {
                let response = app
                    .send(request(app.as_token(*role, method.clone(), path)))
                    .await;
                assert_eq!(
                    response.status,
                    403,
                    "{role:?} {method} {path}: {}",
                    response.text()
                );
                assert_forbidden(&response);
            }
            let anonymous = app
                .send(request(
                    Request::builder().method(method.clone()).uri(path.as_str()),
                ))
                .await;
            assert_eq!(anonymous.status, 401, "anonymous {method} {path}");
            anonymous.assert_error(401, "unauthenticated");
            if *method != Method::GET {
                // A cookie session without its CSRF token changes nothing.
                let session = &app.sessions[&Role::Clerk];
                let response = app
                    .send(request(
                        Request::builder()
                            .method(method.clone())
                            .uri(path.as_str())
                            .header(header::COOKIE, &session.cookie),
                    ))
                    .await;
                response.assert_error(403, "csrf-token-missing");
            }
        }
        // Nothing was written by the refused requests.
        let dossier = app
            .get_as(Role::Clerk, &format!("/api/v1/dossiers/{code}"))
            .await;
        assert_eq!(dossier.json()["dossier"]["status"], "received");
        assert_eq!(dossier.json()["documents"].as_array().unwrap().len(), 1);
        let listed = app.get_as(Role::Clerk, "/api/v1/dossiers").await;
        assert_eq!(listed.json()["dossiers"].as_array().unwrap().len(), 1);
        let record = app
            .get_as(Role::Clerk, &format!("/api/v1/documents/{id}"))
            .await;
        assert_eq!(record.json()["sign_requests"], json!([]));

        // A revoked token is no credential.
        let archive = app.pipeline.archive();
        let token = archive.tokens(app.user_ids[&Role::Clerk]).await.unwrap()[0].token_id;
        archive
            .revoke_token(token, "admin1", app.now())
            .await
            .unwrap();
        app.get_as(Role::Clerk, "/api/v1/dossiers")
            .await
            .assert_error(401, "token-invalid");
        // Let the OCR job finish before the database goes.
        let session = &app.sessions[&Role::Clerk];
        let started = Instant::now();
        loop {
            let job = app
                .send(
                    Request::get(format!("/api/v1/jobs/{job_id}"))
                        .header(header::COOKIE, &session.cookie)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            job.assert_status(200);
            let state = job.json()["state"].clone();
            if state == "done" || state == "failed" {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(180));
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        app.cleanup().await;
    }
}

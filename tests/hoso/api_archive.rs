//! The archive API on both backends: search with filters and snippets, statistics (JSON,
//! CSV, per month), dossier export as a streamed BagIt zip, audit verification (intact and
//! broken); bad parameters; and every role that must not use an endpoint getting 403 and no
//! data.

use std::io::Read;
use std::path::Path;

use hoso::archive::accounts::Role;
use hoso::archive::procedures::CatalogueFormat;
use serde_json::{Value, json};

use crate::api_support::{Multipart, TestApp, TestResponse};

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

/// A dossier received by the clerk with `cong-van.pdf` as its input document (metadata
/// given, so it is searchable at once); the dossier's code and the document's id.
async fn dossier_with_letter(app: &TestApp) -> (String, i64) {
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
    let created = app
        .post_json_as(
            Role::Clerk,
            "/api/v1/dossiers",
            &json!({"procedure": "1.001193", "applicant": {"name": "Trần Thị Bình"}}),
        )
        .await;
    created.assert_status(201);
    let code = created.json()["code"].as_str().unwrap().to_owned();
    let metadata = json!({
        "type_name": "Công văn",
        "code_number": "35",
        "code_notation": "UBND-VP",
        "subject": "Đề nghị bổ sung hồ sơ đăng ký khai sinh",
        "issued_date": "2026-01-08",
    });
    let form = Multipart::default()
        .text("dossier", &code)
        .text("role", "input")
        .text("metadata", &metadata.to_string())
        .file(
            "file",
            "cong-van.pdf",
            "application/pdf",
            &sample("cong-van.pdf"),
        );
    let uploaded = app
        .multipart_as(Role::Clerk, "/api/v1/documents", form)
        .await;
    uploaded.assert_status(201);
    let id = uploaded.json()["documents"][0]["id"].as_i64().unwrap();
    (code, id)
}

#[track_caller]
fn forbidden(response: &TestResponse) {
    response.assert_error(403, "forbidden");
}

#[tokio::test]
async fn search_finds_documents_without_diacritics_with_snippets_and_filters() {
    for app in TestApp::all().await {
        let (code, id) = dossier_with_letter(&app).await;
        for role in [Role::Archivist, Role::Clerk] {
            let response = app.get_as(role, "/api/v1/search?q=de+nghi+bo+sung").await;
            response.assert_status(200);
            let page = response.json();
            assert_eq!(page["page"], 1, "{page}");
            assert_eq!(page["per_page"], 20);
            let items = page["items"].as_array().unwrap();
            assert_eq!(items.len(), 1, "{page}");
            let hit = &items[0];
            assert_eq!(hit["id"], id);
            assert_eq!(hit["dossier_code"], code.as_str());
            let snippet = hit["snippet"].as_str().unwrap();
            let highlights = hit["highlights"].as_array().unwrap();
            assert!(!highlights.is_empty(), "{hit}");
            let [start, end] = [0, 1].map(|i| highlights[0][i].as_u64().unwrap() as usize);
            // The marked words are the accented ones of the text.
            assert!(
                ["Đề", "nghị", "bổ", "sung"].contains(&&snippet[start..end]),
                "{snippet:?} {highlights:?}"
            );
        }
        // Filters: the dossier (part of its code), the number, the role, a date range, page
        // size and counting; the page after the last is empty.
        let part = &code[code.len() - 6..];
        let filtered = app
            .get_as(
                Role::Archivist,
                &format!(
                    "/api/v1/search?q=&dossier={part}&number=35%2FUBND-VP&role=input&issued_from=01%2F01%2F2026&issued_to=2026-01-31&per_page=5&count=true&sort=relevance"
                ),
            )
            .await;
        filtered.assert_status(200);
        let filtered = filtered.json();
        assert_eq!(filtered["total"], 1, "{filtered}");
        assert_eq!(filtered["items"][0]["id"], id);
        let elsewhere = app
            .get_as(
                Role::Archivist,
                "/api/v1/search?q=de+nghi&role=result&signature=valid",
            )
            .await;
        elsewhere.assert_status(200);
        assert!(elsewhere.json()["items"].as_array().unwrap().is_empty());
        let later = app
            .get_as(
                Role::Archivist,
                "/api/v1/search?q=de+nghi&page=2&per_page=1",
            )
            .await;
        later.assert_status(200);
        assert_eq!(later.json()["offset"], 1);
        assert!(later.json()["items"].as_array().unwrap().is_empty());

        // Bad parameters: coded errors naming the parameter.
        for (query, status, code) in [
            ("role=nobody", 422, "field-invalid"),
            ("signature=maybe", 422, "field-invalid"),
            ("issued_from=31-12-2026", 422, "field-invalid"),
            ("sort=oldest", 422, "field-invalid"),
            ("page=0", 422, "field-invalid"),
            ("per_page=500", 422, "field-invalid"),
            ("page=100000", 422, "field-invalid"),
            ("colour=blue", 400, "query-invalid"),
        ] {
            let response = app
                .get_as(Role::Archivist, &format!("/api/v1/search?q=x&{query}"))
                .await;
            response.assert_error(status, code);
        }
        // Officials see only what is assigned to them and admins do not read the archive.
        for role in [Role::Official, Role::Admin] {
            forbidden(&app.get_as(role, "/api/v1/search?q=de+nghi").await);
        }
        app.get_anonymous("/api/v1/search?q=de+nghi")
            .await
            .assert_error(401, "unauthenticated");
        app.cleanup().await;
    }
}

fn this_month(app: &TestApp) -> (String, String) {
    let today = app.now().to_offset(time::macros::offset!(+7)).date();
    let first = today.replace_day(1).unwrap();
    (first.to_string(), today.to_string())
}

#[tokio::test]
async fn statistics_come_as_json_csv_and_per_month_for_archivists_and_admins() {
    for app in TestApp::all().await {
        dossier_with_letter(&app).await;
        let (from, to) = this_month(&app);
        for role in [Role::Archivist, Role::Admin] {
            let response = app
                .get_as(role, &format!("/api/v1/stats?from={from}&to={to}&by=field"))
                .await;
            response.assert_status(200);
            let stats = response.json();
            assert_eq!(stats["from"], from.as_str(), "{stats}");
            assert_eq!(stats["by"], "field");
            let total = &stats["total"];
            assert_eq!(total["received_in_person_or_postal"], 1, "{stats}");
            assert_eq!(total["input_digitized"], 1);
            assert_eq!(total["input_digitization_rate"], 100.0);
            assert_eq!(total["pending_in_time"], 1);
            assert_eq!(stats["rows"][0]["key"], "Hộ tịch");
        }
        // The same figures as CSV: header row, one row per group, then the total.
        let csv = app
            .get_as(
                Role::Archivist,
                &format!("/api/v1/stats?from={from}&to={to}&format=csv&by=procedure"),
            )
            .await;
        csv.assert_status(200);
        assert!(
            csv.headers[axum::http::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let text = csv.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].starts_with("from,to,scope,key,name,carried_over,"),
            "{text}"
        );
        assert!(
            lines[1].contains(",procedure,1.001193,Đăng ký khai sinh,"),
            "{text}"
        );
        assert!(lines[2].contains(",total,,,"), "{text}");

        // Per month: the year so far, the first and last months cut to the period.
        let today = app.now().to_offset(time::macros::offset!(+7)).date();
        let monthly = app
            .get_as(
                Role::Admin,
                &format!(
                    "/api/v1/stats/monthly?from={}-01-01&to={today}",
                    today.year()
                ),
            )
            .await;
        monthly.assert_status(200);
        let monthly = monthly.json();
        let months = monthly["months"].as_array().unwrap();
        assert_eq!(
            months.len(),
            usize::from(u8::from(today.month())),
            "{monthly}"
        );
        let last = months.last().unwrap();
        assert_eq!(last["to"], today.to_string());
        assert_eq!(last["received_total"], 1);
        assert_eq!(last["input_digitization_rate"], 100.0);
        if months.len() > 1 {
            assert_eq!(months[0]["received_total"], 0);
            assert_eq!(months[0]["on_time_rate"], Value::Null);
        }

        for (query, status, code) in [
            (format!("from={to}&to={from}-x"), 422, "field-invalid"),
            (
                "from=2026-03-01&to=2026-02-01".to_owned(),
                422,
                "field-invalid",
            ),
            (
                format!("from={from}&to={to}&by=colour"),
                422,
                "field-invalid",
            ),
            (
                format!("from={from}&to={to}&format=xml"),
                422,
                "field-invalid",
            ),
            (format!("from={from}"), 400, "query-invalid"),
        ] {
            app.get_as(Role::Archivist, &format!("/api/v1/stats?{query}"))
                .await
                .assert_error(status, code);
        }
        app.get_as(
            Role::Admin,
            "/api/v1/stats/monthly?from=2000-01-01&to=2026-01-01",
        )
        .await
        .assert_error(422, "field-invalid");
        for role in [Role::Clerk, Role::Official] {
            forbidden(
                &app.get_as(role, &format!("/api/v1/stats?from={from}&to={to}"))
                    .await,
            );
            forbidden(
                &app.get_as(role, &format!("/api/v1/stats/monthly?from={from}&to={to}"))
                    .await,
            );
        }
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_dossier_exports_as_a_streamed_bagit_zip_for_archivists_only() {
    for app in TestApp::all().await {
        let (code, _) = dossier_with_letter(&app).await;
        let response = app
            .get_as(Role::Archivist, &format!("/api/v1/dossiers/{code}/export"))
            .await;
        response.assert_status(200);
        let headers = &response.headers;
        assert_eq!(headers[axum::http::header::CONTENT_TYPE], "application/zip");
        assert_eq!(
            headers[axum::http::header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap(),
            format!("attachment; filename=\"{code}.zip\"")
        );
        assert_eq!(
            headers[axum::http::header::CONTENT_LENGTH]
                .to_str()
                .unwrap()
                .parse::<usize>()
                .unwrap(),
            response.body.len()
        );
        // A BagIt bag whose payload holds the letter, byte for byte.
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(response.body.clone())).unwrap();
        let names: Vec<String> = zip
            .file_names()
            .map(|name| name.unwrap().into_owned())
            .collect();
        assert!(names.iter().any(|n| n.ends_with("bagit.txt")), "{names:?}");
        let manifest_name = names
            .iter()
            .find(|n| n.ends_with("manifest-sha256.txt") && !n.contains("tag"))
            .unwrap()
            .clone();
        let mut manifest = String::new();
        zip.by_name(&manifest_name)
            .unwrap()
            .read_to_string(&mut manifest)
            .unwrap();
        let letter = hex::encode(openssl::sha::sha256(&sample("cong-van.pdf")));
        assert!(manifest.contains(&letter), "{manifest}");
        assert_eq!(
            response.headers["x-manifest-sha256"],
            hex::encode(openssl::sha::sha256(manifest.as_bytes())).as_str()
        );
        // The export is in the audit trail.
        let audit = app.pipeline.archive().audit_entries(0, 1000).await.unwrap();
        assert!(
            audit.iter().any(|e| e.action == "dossier.export"),
            "{audit:?}"
        );

        // A well-formed code of no dossier: the same day's 9999th.
        let missing = format!("{}9999", &code[..code.len() - 4]);
        app.get_as(
            Role::Archivist,
            &format!("/api/v1/dossiers/{missing}/export"),
        )
        .await
        .assert_error(404, "dossier-not-found");
        app.get_as(Role::Archivist, "/api/v1/dossiers/not-a-code/export")
            .await
            .assert_status(422);
        for role in [Role::Clerk, Role::Official, Role::Admin] {
            forbidden(
                &app.get_as(role, &format!("/api/v1/dossiers/{code}/export"))
                    .await,
            );
        }
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_audit_trail_verifies_and_a_tampered_entry_is_reported_not_an_error() {
    for app in TestApp::all().await {
        dossier_with_letter(&app).await;
        for role in [Role::Archivist, Role::Admin] {
            let response = app.get_as(role, "/api/v1/audit/verify").await;
            response.assert_status(200);
            let report = response.json();
            assert_eq!(report["ok"], true, "{report}");
            assert_eq!(report["intact"], true);
            assert!(report["entries"].as_u64().unwrap() > 3, "{report}");
            assert_eq!(report["first_broken"], Value::Null);
        }
        for role in [Role::Clerk, Role::Official] {
            forbidden(&app.get_as(role, "/api/v1/audit/verify").await);
        }
        // Someone with database access rewrites an entry (past the append-only trigger).
        let tamper = match app.db.backend() {
            "sqlite" => {
                "DROP TRIGGER audit_log_no_update;
                 UPDATE audit_log SET actor = 'someone else' WHERE seq = 2;"
            }
            _ => {
                "DROP TRIGGER audit_log_append_only ON audit_log;
                 UPDATE audit_log SET actor = 'someone else' WHERE seq = 2;"
            }
        };
        app.db.execute_raw(tamper).await.unwrap();
        let response = app.get_as(Role::Archivist, "/api/v1/audit/verify").await;
        response.assert_status(200);
        let report = response.json();
        assert_eq!(report["ok"], false, "{report}");
        assert_eq!(report["first_broken"]["seq"], 2, "{report}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_signing_verification_and_archive_endpoints_are_in_the_openapi_document() {
    let app = TestApp::new(crate::helpers::TestDb::sqlite(), Default::default()).await;
    let response = app.get_anonymous("/api/openapi.json").await;
    response.assert_status(200);
    let paths = response.json()["paths"].clone();
    for (path, method) in [
        ("/api/v1/sign/keys", "get"),
        ("/api/v1/sign/queue", "get"),
        ("/api/v1/sign/signed", "get"),
        ("/api/v1/sign/placement", "get"),
        ("/api/v1/sign", "post"),
        ("/api/v1/verify", "post"),
        ("/api/v1/verify/{sha256}", "get"),
        ("/api/v1/search", "get"),
        ("/api/v1/stats", "get"),
        ("/api/v1/stats/monthly", "get"),
        ("/api/v1/dossiers/{code}/export", "get"),
        ("/api/v1/audit/verify", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{path} {method}: {paths}");
    }
    // The public endpoints need no credentials.
    assert_eq!(paths["/api/v1/verify"]["post"]["security"], json!([{}]));
    // Roles without the permission are refused before their parameters are even read.
    app.get_as(Role::Clerk, "/api/v1/stats")
        .await
        .assert_error(403, "forbidden");
    app.get_as(Role::Official, "/api/v1/search?colour=blue")
        .await
        .assert_error(403, "forbidden");
    app.cleanup().await;
}

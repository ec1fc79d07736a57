//! Signing and public verification through the API on both backends: an official's keys,
//! queue and signed list, the preview placement, batch signing with one password (an
//! unassigned document refused on its own, the others signed and verified), wrong
//! passwords, other officials' keys and other roles refused with nothing stored; anonymous
//! verification of uploads (intact, tampered, garbage) with its rate limit, and the QR code
//! lookup.

use std::path::Path;

use axum::http::Method;
use hoso::archive::accounts::{KeyStorage, NewSigningKey, NewUser, Role};
use hoso::archive::documents::VersionKind;
use hoso::http::HttpSettings;
use serde_json::{Value, json};

use crate::api_support::{Multipart, PASSWORD, TestApp, TestResponse};
use crate::helpers::backends;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name),
    )
    .unwrap()
}

/// `cong-van.pdf` with one byte of its binary header comment changed: the same letter as
/// another document (duplicates of one content are one document).
fn letter(variant: u8) -> Vec<u8> {
    let mut bytes = sample("cong-van.pdf");
    assert_eq!(&bytes[9..10], b"%");
    bytes[12] = 0x80 + variant;
    bytes
}

/// Registers `p12` (password `test`) as a signing key of `user_id` with the sample
/// signature image; its id.
async fn add_key(app: &TestApp, user_id: i64, p12: &str) -> i64 {
    let original = std::fs::read(crate::pki::dir().join(p12)).unwrap();
    let (sealed, info) = hoso::auth::seal_pkcs12(&original, "test").unwrap();
    app.pipeline
        .archive()
        .add_signing_key(
            &NewSigningKey {
                user_id,
                name: format!("Chữ ký số {p12}"),
                storage: KeyStorage::Pkcs12 { sealed },
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

/// The clerk uploads letter `variant` as a result, asking `assign_to` to sign it; its id.
async fn upload_result(app: &TestApp, variant: u8, assign_to: Option<&str>) -> i64 {
    let mut form = Multipart::default().text("role", "result").text(
        "metadata",
        &json!({"type_name": "Công văn", "code_number": format!("{}", 35 + u32::from(variant)),
                    "code_notation": "UBND-VP", "subject": "Đề nghị bổ sung hồ sơ"})
        .to_string(),
    );
    if let Some(official) = assign_to {
        form = form.text("assign_to", official);
    }
    let form = form.file(
        "file",
        &format!("cong-van-{variant}.pdf"),
        "application/pdf",
        &letter(variant),
    );
    let response = app
        .multipart_as(Role::Clerk, "/api/v1/documents", form)
        .await;
    response.assert_status(201);
    response.json()["documents"][0]["id"].as_i64().unwrap()
}

fn sign_body(key_id: i64, password: &str, documents: &[i64]) -> Value {
    json!({
        "key_id": key_id,
        "password": password,
        "documents": documents.iter().map(|id| json!({"document_id": id})).collect::<Vec<_>>(),
        "appearance": {"kind": "official", "anchor": "CHỦ TỊCH", "reason": "Phê duyệt",
                       "location": "Tân Phú"},
        "level": "B-T",
    })
}

async fn versions(app: &TestApp, id: i64) -> usize {
    app.pipeline
        .archive()
        .document(id)
        .await
        .unwrap()
        .versions
        .len()
}

/// A second official with a key of their own (the EC test certificate).
async fn other_official(app: &TestApp) -> i64 {
    let user = app
        .pipeline
        .archive()
        .add_user(
            &NewUser {
                username: "official2".to_owned(),
                display_name: "Lê Văn Bảo".to_owned(),
                role: Role::Official,
                password_hash: hoso::auth::hash_password(PASSWORD).unwrap(),
            },
            "admin1",
            app.now(),
        )
        .await
        .unwrap();
    add_key(app, user.user_id, "official-ec.p12").await
}

async fn verify_upload(app: &TestApp, name: &str, bytes: &[u8]) -> TestResponse {
    app.multipart_anonymous(
        "/api/v1/verify",
        Multipart::default().file("file", name, "application/pdf", bytes),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_signs_a_batch_with_one_password_and_anyone_verifies_the_result() {
    let Some(services) = crate::pki::services() else {
        return;
    };
    for db in backends().await {
        let settings = HttpSettings {
            tsa_url: Some(format!("{}/", services.tsa)),
            public_url: Some("https://motcua.example.vn".to_owned()),
            ..HttpSettings::default()
        };
        let app = TestApp::new(db, settings).await;
        let official = app.user_ids[&Role::Official];
        let key = add_key(&app, official, "official.p12").await;
        let others_key = other_official(&app).await;

        // The official's keys, never their secret part.
        let keys = app.get_as(Role::Official, "/api/v1/sign/keys").await;
        keys.assert_status(200);
        let listed = keys.json();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed[0]["key_id"], key);
        assert_eq!(listed[0]["kind"], "pkcs12");
        assert_eq!(listed[0]["has_image"], true);
        assert!(!keys.text().contains("sealed"), "{listed}");

        let first = upload_result(&app, 1, Some("official1")).await;
        let second = upload_result(&app, 2, Some("official1")).await;
        let unassigned = upload_result(&app, 3, None).await;
        let later = upload_result(&app, 4, Some("official1")).await;

        // The queue: what is assigned and open, with the document's summary.
        let queue = app.get_as(Role::Official, "/api/v1/sign/queue").await;
        queue.assert_status(200);
        let queue = queue.json();
        let queued: Vec<i64> = queue
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["document"]["document_id"].as_i64().unwrap())
            .collect();
        assert_eq!(queued.len(), 3, "{queue}");
        for id in [first, second, later] {
            assert!(queued.contains(&id), "{queue}");
        }
        let item = &queue[0];
        assert_eq!(item["state"], "pending");
        assert!(
            item["requested_by"].as_str().unwrap().starts_with("clerk1"),
            "{item}"
        );
        assert_eq!(item["document"]["subject"], "Đề nghị bổ sung hồ sơ");
        assert_eq!(item["document"]["version"], 1);
        assert_eq!(item["document"]["media_type"], "application/pdf");
        assert!(
            item["document"]["number"]
                .as_str()
                .unwrap()
                .ends_with("/UBND-VP")
        );

        // Where the visible signature goes: under "CHỦ TỊCH", inside the page.
        let anchor = serde_urlencoded::to_string([("anchor", "CHỦ TỊCH")]).unwrap();
        let placed = app
            .get_as(
                Role::Official,
                &format!(
                    "/api/v1/sign/placement?document_id={first}&key_id={key}&appearance=official&{anchor}"
                ),
            )
            .await;
        placed.assert_status(200);
        let placement = &placed.json()["placement"];
        assert_eq!(placement["page"], 0, "{placement}");
        let [x0, y0, x1, y1] = [0, 1, 2, 3].map(|i| placement["rect"][i].as_f64().unwrap());
        let (width, height) = (
            placement["page_width"].as_f64().unwrap(),
            placement["page_height"].as_f64().unwrap(),
        );
        assert!(0.0 <= x0 && x0 < x1 && x1 <= width, "{placement}");
        assert!(0.0 <= y0 && y0 < y1 && y1 <= height, "{placement}");
        let invisible = app
            .get_as(
                Role::Official,
                &format!("/api/v1/sign/placement?document_id={first}&key_id={key}&appearance=none"),
            )
            .await;
        invisible.assert_status(200);
        assert_eq!(invisible.json()["placement"], Value::Null);
        // Not assigned: 403; not there at all: 404; another's key: 403.
        app.get_as(
            Role::Official,
            &format!("/api/v1/sign/placement?document_id={unassigned}&key_id={key}&{anchor}"),
        )
        .await
        .assert_error(403, "forbidden");
        app.get_as(
            Role::Official,
            &format!("/api/v1/sign/placement?document_id=987654&key_id={key}&{anchor}"),
        )
        .await
        .assert_error(404, "document-not-found");
        app.get_as(
            Role::Official,
            &format!("/api/v1/sign/placement?document_id={first}&key_id={others_key}&{anchor}"),
        )
        .await
        .assert_error(403, "forbidden");

        // A wrong password: nothing signed, nothing stored, the requests stay open.
        app.post_json_as(
            Role::Official,
            "/api/v1/sign",
            &sign_body(key, "sai", &[first]),
        )
        .await
        .assert_error(422, "signing-key-wrong-password");
        app.post_json_as(
            Role::Official,
            "/api/v1/sign",
            &sign_body(key, "te\u{0}st", &[first]),
        )
        .await
        .assert_error(422, "signing-key-wrong-password");
        assert_eq!(versions(&app, first).await, 1);
        // Another official's key, an unknown key: refused before any password is tried.
        app.post_json_as(
            Role::Official,
            "/api/v1/sign",
            &sign_body(others_key, "test", &[first]),
        )
        .await
        .assert_error(403, "forbidden");
        app.post_json_as(
            Role::Official,
            "/api/v1/sign",
            &sign_body(987_654, "test", &[first]),
        )
        .await
        .assert_error(404, "signing-key-not-found");
        // Other roles may not sign at all, even with the official's key id.
        for role in [Role::Clerk, Role::Archivist, Role::Admin] {
            app.post_json_as(role, "/api/v1/sign", &sign_body(key, "test", &[first]))
                .await
                .assert_error(403, "forbidden");
            // Refused before the body is read.
            app.post_json_as(role, "/api/v1/sign", &json!({"nonsense": true}))
                .await
                .assert_error(403, "forbidden");
            for path in [
                "/api/v1/sign/keys",
                "/api/v1/sign/queue",
                "/api/v1/sign/signed",
            ] {
                app.get_as(role, path).await.assert_error(403, "forbidden");
            }
            app.get_as(
                role,
                &format!("/api/v1/sign/placement?document_id={first}&key_id={key}&{anchor}"),
            )
            .await
            .assert_error(403, "forbidden");
        }
        assert_eq!(versions(&app, first).await, 1);

        // The batch: two assigned documents signed, the unassigned one refused on its own.
        // (A cookie session, as the pages send it.)
        let batch = app
            .send(
                app.as_session(Role::Official, Method::POST, "/api/v1/sign")
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(
                        sign_body(key, "test", &[first, unassigned, second]).to_string(),
                    ))
                    .unwrap(),
            )
            .await;
        batch.assert_status(200);
        let results = batch.json()["results"].clone();
        assert_eq!(results.as_array().unwrap().len(), 3, "{results}");
        assert_eq!(results[1]["document_id"], unassigned);
        assert_eq!(results[1]["ok"], false);
        assert_eq!(results[1]["status"], 403);
        assert_eq!(results[1]["error"]["code"], "forbidden");
        for (result, id) in [(&results[0], first), (&results[2], second)] {
            assert_eq!(result["document_id"], id, "{results}");
            assert_eq!(result["ok"], true, "{results}");
            assert_eq!(result["version"], 2);
            assert_eq!(result["indication"], "TOTAL-PASSED", "{results}");
            let record = app.pipeline.archive().document(id).await.unwrap();
            assert_eq!(record.versions[1].kind, VersionKind::Signed);
            assert_eq!(record.versions[1].created_by, "official1");
            assert_eq!(
                record.versions[1].sha256,
                result["sha256"].as_str().unwrap()
            );
        }
        assert_eq!(versions(&app, unassigned).await, 1);

        // The queue holds what is left; the signed list shows what was signed, newest first.
        let queue = app
            .get_as(Role::Official, "/api/v1/sign/queue")
            .await
            .json();
        assert_eq!(queue.as_array().unwrap().len(), 1, "{queue}");
        assert_eq!(queue[0]["document"]["document_id"], later);
        let signed = app.get_as(Role::Official, "/api/v1/sign/signed").await;
        signed.assert_status(200);
        let signed = signed.json();
        assert_eq!(signed.as_array().unwrap().len(), 2, "{signed}");
        for item in signed.as_array().unwrap() {
            assert_eq!(item["state"], "signed");
            assert_eq!(item["signed_version"], 2);
            assert_eq!(item["document"]["version"], 2);
        }
        // Signed once: the request is closed.
        let again = app
            .post_json_as(
                Role::Official,
                "/api/v1/sign",
                &sign_body(key, "test", &[first]),
            )
            .await;
        again.assert_status(200);
        assert_eq!(
            again.json()["results"][0]["error"]["code"],
            "sign-request-closed"
        );
        assert_eq!(versions(&app, first).await, 2);

        // Anyone verifies the signed copy; a changed byte in the signed range fails; garbage
        // is a coded error.
        let record = app.pipeline.archive().document(first).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("ban-sao.pdf");
        app.pipeline
            .copy_version_to(&record.versions[1], &copy, "test", app.now())
            .await
            .unwrap();
        let signed_bytes = std::fs::read(&copy).unwrap();
        let report = verify_upload(&app, "ket-qua.pdf", &signed_bytes).await;
        report.assert_status(200);
        let report = report.json();
        assert_eq!(report["indication"], "TOTAL-PASSED", "{report}");
        assert_eq!(report["file"], "ket-qua.pdf");
        assert_eq!(report["signatures"].as_array().unwrap().len(), 1);
        let summary_vi = report["summary_vi"].as_str().unwrap();
        assert!(summary_vi.starts_with("HỢP LỆ."), "{summary_vi}");
        assert!(summary_vi.contains("Chữ ký 1"), "{summary_vi}");
        assert!(
            report["summary_en"].as_str().unwrap().starts_with("VALID."),
            "{report}"
        );
        let mut tampered = signed_bytes.clone();
        let at = tampered
            .windows(8)
            .position(|w| w == b"595.2756")
            .expect("the MediaBox, inside the signed range");
        tampered[at + 7] = b'7';
        let report = verify_upload(&app, "ket-qua.pdf", &tampered).await;
        report.assert_status(200);
        let report = report.json();
        assert_eq!(report["indication"], "TOTAL-FAILED", "{report}");
        assert!(
            report["summary_vi"]
                .as_str()
                .unwrap()
                .starts_with("KHÔNG HỢP LỆ."),
            "{report}"
        );
        verify_upload(&app, "rac.pdf", b"this is not a PDF at all")
            .await
            .assert_error(422, "pdf-malformed");
        app.multipart_anonymous("/api/v1/verify", Multipart::default().text("x", "y"))
            .await
            .assert_error(400, "upload-file-missing");

        // The QR code's lookup: the content before signing leads to the signature.
        let original = &record.versions[0].sha256;
        let found = app
            .get_anonymous(&format!("/api/v1/verify/{original}"))
            .await;
        found.assert_status(200);
        let found = found.json();
        assert_eq!(found["found"], true, "{found}");
        let document = &found["documents"][0];
        assert_eq!(document["confidential"], false);
        assert_eq!(document["type_name"], "Công văn");
        assert_eq!(document["code_notation"], "UBND-VP");
        let signature = &document["signatures"][0];
        assert_eq!(signature["indication"], "TOTAL-PASSED", "{found}");
        assert_eq!(signature["level"], "B-T");
        assert_eq!(
            signature["version_sha256"],
            record.versions[1].sha256.as_str()
        );
        assert!(signature["signer"].as_str().unwrap().len() > 2, "{found}");
        assert!(signature["signed_at"].is_string(), "{found}");
        // Nothing of the file or the dossier beyond what is printed.
        let text = serde_json::to_string(&found).unwrap();
        assert!(
            !text.contains("cong-van-1.pdf") && !text.contains("clerk1"),
            "{text}"
        );
        let unknown = app
            .get_anonymous(&format!("/api/v1/verify/{}", "ab".repeat(32)))
            .await;
        unknown.assert_status(200);
        assert_eq!(unknown.json(), json!({"found": false, "documents": []}));
        app.get_anonymous("/api/v1/verify/not-a-hash")
            .await
            .assert_error(422, "field-invalid");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn public_verification_is_rate_limited_and_signing_without_a_tsa_stays_at_b_b() {
    for db in backends().await {
        let settings = HttpSettings {
            verify_per_minute: 3,
            ..HttpSettings::default()
        };
        let app = TestApp::new(db, settings).await;
        // Counted before the body is read, whatever the answer.
        for _ in 0..3 {
            verify_upload(&app, "rac.pdf", b"not a PDF")
                .await
                .assert_error(422, "pdf-malformed");
        }
        let refused = verify_upload(&app, "rac.pdf", b"not a PDF").await;
        refused.assert_error(429, "rate-limited");
        let retry: u64 = refused.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        app.get_anonymous(&format!("/api/v1/verify/{}", "ab".repeat(32)))
            .await
            .assert_error(429, "rate-limited");

        // No timestamp authority configured: B-T is refused with its own code, before the
        // password is tried; the default level is then B-B.
        let official = app.user_ids[&Role::Official];
        let key = add_key(&app, official, "official.p12").await;
        let id = upload_result(&app, 5, Some("official1")).await;
        app.post_json_as(
            Role::Official,
            "/api/v1/sign",
            &sign_body(key, "sai", &[id]),
        )
        .await
        .assert_error(422, "tsa-not-configured");
        // Bad batches: empty, a document twice, an unknown appearance, unknown fields.
        let mut body = sign_body(key, "test", &[]);
        body["level"] = json!("B-B");
        app.post_json_as(Role::Official, "/api/v1/sign", &body)
            .await
            .assert_error(422, "field-invalid");
        let mut body = sign_body(key, "test", &[id, id]);
        body["level"] = json!("B-B");
        app.post_json_as(Role::Official, "/api/v1/sign", &body)
            .await
            .assert_error(422, "field-invalid");
        let mut body = sign_body(key, "test", &[id]);
        body["level"] = json!("B-B");
        body["appearance"]["kind"] = json!("hologram");
        app.post_json_as(Role::Official, "/api/v1/sign", &body)
            .await
            .assert_error(422, "field-invalid");
        let mut body = sign_body(key, "test", &[id]);
        body["pin"] = json!("1234");
        app.post_json_as(Role::Official, "/api/v1/sign", &body)
            .await
            .assert_error(400, "json-invalid");
        // Every refused request left the document as it was.
        assert_eq!(versions(&app, id).await, 1);
        let mut body = sign_body(key, "test", &[id]);
        body.as_object_mut().unwrap().remove("level");
        body["appearance"] = json!({"kind": "none"});
        let signed = app
            .post_json_as(Role::Official, "/api/v1/sign", &body)
            .await;
        signed.assert_status(200);
        let result = &signed.json()["results"][0];
        assert_eq!(result["ok"], true, "{result}");
        // Signed at B-B (the level verification found), invisible.
        let record = app.pipeline.archive().document(id).await.unwrap();
        assert_eq!(record.versions.len(), 2);
        assert_eq!(record.versions[1].kind, VersionKind::Signed);
        assert_eq!(
            record.signatures.first().and_then(|s| s.level.as_deref()),
            Some("B-B"),
            "{record:?}"
        );
        app.cleanup().await;
    }
}

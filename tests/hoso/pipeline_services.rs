//! The pipeline services behind the HTTP API, on SQLite and PostgreSQL: OCR jobs (progress,
//! refusals, interrupted jobs), signing archived versions in batches (one failure does not
//! stop the others, stale versions refused), where a visible signature goes, verifying
//! uploads (intact, tampered, garbage) and page previews of stored scans and PDFs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoso::archive::documents::{
    DocumentMetadata, DocumentRole, NewDocument, VersionKind, display_file_name,
};
use hoso::archive::jobs::{JOB_INTERRUPTED, JobState};
use hoso::error::{Coded, Error};
use hoso::pades::key::{KeySigner, SoftwareKey};
use hoso::pades::layout::RequestKind;
use hoso::pades::sign::Level;
use hoso::pipeline::Pipeline;
use hoso::pipeline::ingest::IngestRequest;
use hoso::pipeline::sign::{AppearanceSettings, SignSettings, SignTarget};
use time::OffsetDateTime;

use crate::helpers::{TestDb, backends, hoso, pipeline, run};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

async fn trusting_pipeline(db: &TestDb) -> (Arc<Pipeline>, tempfile::TempDir) {
    let blob_dir = tempfile::tempdir().unwrap();
    let blobs = hoso::archive::blob::LocalBlobStore::open(blob_dir.path()).unwrap();
    let pipeline = Pipeline::new(db.archive().await, Arc::new(blobs), 2)
        .with_trust_dirs(vec![crate::pki::dir()]);
    (Arc::new(pipeline), blob_dir)
}

/// Stores `path` as a new document, without OCR; its id.
async fn ingest(pipeline: &Arc<Pipeline>, path: &Path, role: DocumentRole) -> i64 {
    let outcome = pipeline
        .ingest(
            IngestRequest {
                path: path.to_owned(),
                file_name: None,
                dossier: None,
                role,
                metadata: DocumentMetadata::default(),
                ocr: false,
                offline: true,
                actor: "một cửa".to_owned(),
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    assert!(!outcome.duplicate, "{outcome:?}");
    outcome.id
}

fn official_key() -> SoftwareKey {
    SoftwareKey::from_pkcs12_file(&crate::pki::dir().join("official.p12"), "test").unwrap()
}

fn code_of<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    result.expect_err("an error").code().to_owned()
}

/// `cong-van.pdf` signed at B-B by the test official (no network needed).
fn signed_sample(dir: &Path) -> PathBuf {
    let signed = dir.join("da-ky.pdf");
    let r = run(hoso().args([
        "sign",
        sample("cong-van.pdf").to_str().unwrap(),
        "-o",
        signed.to_str().unwrap(),
        "--p12",
        crate::pki::dir().join("official.p12").to_str().unwrap(),
        "--password-env",
        "HOSO_TEST_P12_PASSWORD",
        "--trust",
        crate::pki::dir().to_str().unwrap(),
        "--level",
        "B-B",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    signed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ocr_job_turns_a_stored_scan_into_a_searchable_version() {
    let dir = tempfile::tempdir().unwrap();
    let signed = signed_sample(dir.path());
    for db in backends().await {
        let (pipeline, _blobs) = pipeline(&db).await;
        let archive = pipeline.archive();
        let now = OffsetDateTime::now_utc();
        let scan = ingest(
            &pipeline,
            &sample("scan-quyet-dinh.png"),
            DocumentRole::Result,
        )
        .await;
        let job = pipeline.start_ocr_job(scan, "một cửa", now).await.unwrap();
        assert_eq!(job.kind, "ocr");
        assert_eq!(job.document_id, Some(scan));
        assert!(!job.state.is_finished(), "{job:?}");
        // A PNG has one page: known before the job runs.
        assert_eq!(job.progress_total, Some(1), "{job:?}");
        assert!(uuid::Uuid::parse_str(&job.job_id).is_ok());

        let started = Instant::now();
        let done = loop {
            let current = archive.job(&job.job_id).await.unwrap();
            if current.state.is_finished() {
                break current;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the job is still {:?} after 120 s",
                current.state
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(done.state, JobState::Done, "{done:?}");
        assert_eq!((done.progress_done, done.progress_total), (1, Some(1)));
        assert!(done.error_code.is_none());
        let result = done.result.clone().unwrap();
        assert_eq!(result["document_id"], scan);
        assert_eq!(result["version"], 2);
        assert_eq!(result["pages"], 1);
        assert!(result["characters"].as_u64().unwrap() > 500, "{result}");
        assert!(result["mean_confidence"].as_f64().unwrap() > 50.0);

        let record = archive.document(scan).await.unwrap();
        assert_eq!(record.versions.len(), 2);
        let ocr = &record.versions[1];
        assert_eq!(ocr.kind, VersionKind::Ocr);
        assert_eq!(ocr.version_id, result["version_id"].as_i64().unwrap());
        assert_eq!(ocr.media_type, "application/pdf");
        assert_eq!(ocr.metadata.page_count, Some(1));
        let text = archive.version_text(ocr.version_id).await.unwrap().unwrap();
        assert!(text.contains("Tân Phú"), "{text}");
        // The same OCR as ingest: the Decree 30 fields read from the page.
        assert_eq!(ocr.metadata.code_notation.as_deref(), Some("QĐ-UBND"));

        // Its newest version is the OCR output now: nothing more to recognize.
        let again = pipeline.start_ocr_job(scan, "một cửa", now).await;
        assert_eq!(code_of(again), "ocr-not-applicable");
        // A signed PDF, even one never verified (stored directly), keeps its signatures.
        let bytes = std::fs::read(&signed).unwrap();
        let blob = pipeline
            .store(&mut &bytes[..], "application/pdf", now)
            .await
            .unwrap();
        let stored = archive
            .add_document(
                &NewDocument {
                    dossier: None,
                    role: DocumentRole::Incoming,
                    sha256: blob.sha256.parse().unwrap(),
                    file_name: display_file_name("da-ky.pdf"),
                    metadata: DocumentMetadata::default(),
                    ocr: None,
                    actor: "văn thư".to_owned(),
                    reason: "tiếp nhận".to_owned(),
                },
                now,
            )
            .await
            .unwrap();
        let refused = pipeline
            .start_ocr_job(stored.document_id, "một cửa", now)
            .await;
        let error = refused.expect_err("a signed PDF is refused");
        assert_eq!(error.code(), "ocr-not-applicable");
        assert!(error.message_vi().contains("đã ký số"), "{error}");
        // Not a scan at all.
        let xml = dir.path().join(format!("to-khai-{}.xml", db.backend()));
        std::fs::write(&xml, "<?xml version=\"1.0\"?><to-khai/>").unwrap();
        let form = ingest(&pipeline, &xml, DocumentRole::Input).await;
        assert_eq!(
            code_of(pipeline.start_ocr_job(form, "một cửa", now).await),
            "ocr-not-applicable"
        );
        assert_eq!(
            code_of(pipeline.start_ocr_job(999_999, "một cửa", now).await),
            "document-not-found"
        );
        let random = uuid::Uuid::new_v4().to_string();
        let missing = archive.job(&random).await.expect_err("no such job");
        assert_eq!(missing.code(), "job-not-found");
        assert_eq!(
            archive.job("../../etc/passwd").await.unwrap_err().code(),
            "job-not-found"
        );
        // Refusals create no job and no version.
        assert_eq!(
            archive
                .document(stored.document_id)
                .await
                .unwrap()
                .versions
                .len(),
            1
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn jobs_of_a_stopped_process_are_marked_interrupted_and_ends_are_final() {
    for db in backends().await {
        let archive = db.archive().await;
        let t0 = OffsetDateTime::now_utc();
        let old = archive
            .create_job("ocr", None, "một cửa", t0)
            .await
            .unwrap();
        assert_eq!(old.state, JobState::Queued);
        let alive = archive
            .create_job("ocr", None, "một cửa", t0)
            .await
            .unwrap();
        archive
            .job_progress(&alive.job_id, 2, Some(5), t0 + time::Duration::seconds(50))
            .await
            .unwrap();
        let running = archive.job(&alive.job_id).await.unwrap();
        assert_eq!(
            (running.state, running.progress_done, running.progress_total),
            (JobState::Running, 2, Some(5))
        );
        // A minute later: the first job's process stopped long ago, the second beat 10 s ago.
        let marked = archive
            .fail_interrupted_jobs(t0 + time::Duration::seconds(60))
            .await
            .unwrap();
        assert_eq!(marked, 1, "{}", db.backend());
        let interrupted = archive.job(&old.job_id).await.unwrap();
        assert_eq!(interrupted.state, JobState::Failed);
        assert_eq!(interrupted.error_code.as_deref(), Some(JOB_INTERRUPTED));
        assert!(interrupted.error_message.unwrap().contains("gián đoạn"));
        // The first end wins: an interrupted job stays failed when its work reports late.
        archive
            .finish_job(&old.job_id, Ok(serde_json::json!({"late": true})), t0)
            .await
            .unwrap();
        assert_eq!(
            archive.job(&old.job_id).await.unwrap().state,
            JobState::Failed
        );
        archive
            .finish_job(
                &alive.job_id,
                Ok(serde_json::json!({"pages": 5})),
                t0 + time::Duration::seconds(61),
            )
            .await
            .unwrap();
        let done = archive.job(&alive.job_id).await.unwrap();
        assert_eq!(done.state, JobState::Done);
        assert_eq!(done.progress_done, 5);
        assert_eq!(done.result, Some(serde_json::json!({"pages": 5})));
        let json = serde_json::to_value(&done).unwrap();
        assert_eq!(json["state"], "done");
        // A job on a document that does not exist is refused.
        assert_eq!(
            archive
                .create_job("ocr", Some(424_242), "một cửa", t0)
                .await
                .unwrap_err()
                .code(),
            "document-not-found"
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_signs_each_pdf_as_a_new_version_and_reports_each_failure() {
    let Some(services) = crate::pki::services() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for db in backends().await {
        let (pipeline, _blobs) = trusting_pipeline(&db).await;
        let archive = pipeline.archive();
        let first = ingest(&pipeline, &sample("cong-van.pdf"), DocumentRole::Result).await;
        let second = ingest(&pipeline, &sample("cong-van.pdf"), DocumentRole::Outgoing).await;
        let image = ingest(&pipeline, &sample("chu-ky.png"), DocumentRole::Attachment).await;
        let settings = SignSettings {
            level: Level::BT,
            tsa_url: Some(format!("{}/", services.tsa)),
            reason: Some("Phê duyệt kết quả".to_owned()),
            location: Some("Tân Phú".to_owned()),
            ..SignSettings::default()
        };
        let targets = [
            SignTarget {
                document_id: first,
                expected_version: Some(1),
            },
            SignTarget {
                document_id: image,
                expected_version: None,
            },
            SignTarget {
                document_id: second,
                expected_version: None,
            },
        ];
        let now = OffsetDateTime::now_utc();
        let outcomes = pipeline
            .sign_versions(
                Box::new(official_key()),
                &targets,
                &settings,
                "Chủ tịch",
                now,
            )
            .await
            .unwrap();
        assert_eq!(outcomes.len(), 3);
        let image_error = outcomes[1].as_ref().expect_err("a PNG is not signed");
        assert_eq!(image_error.code(), "field-invalid");
        for (outcome, id) in [(&outcomes[0], first), (&outcomes[2], second)] {
            let outcome = outcome.as_ref().unwrap();
            assert_eq!((outcome.document_id, outcome.version), (id, 2));
            assert_eq!(outcome.level, "B-T");
            assert!(outcome.signer.contains("CN="), "{}", outcome.signer);
            assert_eq!(
                outcome.indication.as_deref(),
                Some("TOTAL-PASSED"),
                "{}",
                db.backend()
            );
            let record = archive.document(id).await.unwrap();
            assert_eq!(record.versions.len(), 2);
            assert_eq!(record.versions[1].kind, VersionKind::Signed);
            assert_eq!(record.versions[1].created_by, "Chủ tịch");
            assert_eq!(record.versions[1].sha256, outcome.sha256);
            // The re-verification was stored with the new version.
            assert!(
                record
                    .reports
                    .iter()
                    .any(|r| r.version_id == outcome.version_id && r.indication == "TOTAL-PASSED")
            );
        }
        assert_eq!(archive.document(image).await.unwrap().versions.len(), 1);

        // The official saw version 1, but the document is at version 2 now: nothing stored.
        let stale = pipeline
            .sign_versions(
                Box::new(official_key()),
                &[SignTarget {
                    document_id: first,
                    expected_version: Some(1),
                }],
                &settings,
                "Chủ tịch",
                now,
            )
            .await
            .unwrap();
        assert_eq!(
            code_of(stale.into_iter().next().unwrap()),
            "version-conflict"
        );
        assert_eq!(archive.document(first).await.unwrap().versions.len(), 2);
        // An unknown document is its own error too.
        let unknown = pipeline
            .sign_versions(
                Box::new(official_key()),
                &[SignTarget {
                    document_id: 987_654,
                    expected_version: None,
                }],
                &settings,
                "Chủ tịch",
                now,
            )
            .await
            .unwrap();
        assert_eq!(
            code_of(unknown.into_iter().next().unwrap()),
            "document-not-found"
        );

        // Verifying uploads: the signed result as stored, a copy with one byte changed in
        // the signed range, and garbage.
        let record = archive.document(first).await.unwrap();
        let signed = dir.path().join(format!("signed-{}.pdf", db.backend()));
        pipeline
            .copy_version_to(&record.versions[1], &signed, "ai đó", now)
            .await
            .unwrap();
        let report = pipeline
            .verify_file(&signed, "ket-qua.pdf", None, false, now)
            .await
            .unwrap();
        let indication = serde_json::to_value(report.indication).unwrap();
        assert_eq!(indication, "TOTAL-PASSED");
        assert_eq!(report.signatures.len(), 1);
        let mut bytes = std::fs::read(&signed).unwrap();
        let at = bytes
            .windows(8)
            .position(|w| w == b"595.2756")
            .expect("the MediaBox, inside the first signed range");
        bytes[at + 7] = b'7';
        let tampered = dir.path().join(format!("tampered-{}.pdf", db.backend()));
        std::fs::write(&tampered, &bytes).unwrap();
        let report = pipeline
            .verify_file(&tampered, "ket-qua.pdf", None, true, now)
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(report.indication).unwrap(),
            "TOTAL-FAILED"
        );
        let garbage = dir.path().join("rac.pdf");
        std::fs::write(&garbage, b"this is not a PDF at all").unwrap();
        let error = pipeline
            .verify_file(&garbage, "rac.pdf", None, true, now)
            .await
            .expect_err("garbage is refused");
        assert_eq!(error.code(), "pdf-malformed");
        assert_eq!(error.class(), hoso::error::ErrorClass::InvalidInput);
        let error = pipeline
            .verify_file(&dir.path().join("missing.pdf"), "x.pdf", None, true, now)
            .await
            .expect_err("a missing file is refused");
        assert_eq!(error.class(), hoso::error::ErrorClass::InvalidInput);
        // A detached signature that does not belong to the file: a verdict, not an error.
        let report = pipeline
            .verify_file(&garbage, "rac.pdf", Some(b"not a CMS".to_vec()), true, now)
            .await
            .unwrap();
        assert_ne!(
            serde_json::to_value(report.indication).unwrap(),
            "TOTAL-PASSED"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_official_signature_is_placed_under_its_anchor_inside_the_page() {
    for db in backends().await {
        let (pipeline, _blobs) = pipeline(&db).await;
        let letter = ingest(&pipeline, &sample("cong-van.pdf"), DocumentRole::Result).await;
        let key = official_key();
        let now = OffsetDateTime::now_utc();
        let settings = AppearanceSettings {
            kind: RequestKind::Official,
            image_png: Some(std::fs::read(sample("chu-ky.png")).unwrap()),
            anchor: Some("CHỦ TỊCH".to_owned()),
            ..AppearanceSettings::default()
        };
        let placement = pipeline
            .signature_placement(letter, &settings, key.certificate(), now)
            .await
            .unwrap()
            .expect("a visible signature");
        assert_eq!(placement.page, 0);
        assert!((placement.page_width - 595.0).abs() < 1.0, "{placement:?}");
        assert!((placement.page_height - 842.0).abs() < 1.0, "{placement:?}");
        let [x0, y0, x1, y1] = placement.rect;
        assert!(
            0.0 <= x0 && x0 < x1 && x1 <= placement.page_width,
            "{placement:?}"
        );
        assert!(
            0.0 <= y0 && y0 < y1 && y1 <= placement.page_height,
            "{placement:?}"
        );
        // Between the title and the name (samples/README.md: x 273–553, y 200–301).
        assert!(x0 >= 273.0 - 1.0 && x1 <= 553.0 + 1.0, "{placement:?}");
        assert!(y0 >= 175.0 && y1 <= 320.0, "{placement:?}");

        let invisible = AppearanceSettings::default();
        assert_eq!(
            pipeline
                .signature_placement(letter, &invisible, key.certificate(), now)
                .await
                .unwrap(),
            None
        );
        let nowhere = AppearanceSettings {
            anchor: Some("KHÔNG CÓ DÒNG NÀY".to_owned()),
            ..settings.clone()
        };
        let error = pipeline
            .signature_placement(letter, &nowhere, key.certificate(), now)
            .await
            .expect_err("the anchor is not on the page");
        assert_eq!(error.class(), hoso::error::ErrorClass::InvalidInput);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn previews_of_stored_scans_and_pdfs_are_bounded_pngs() {
    let dir = tempfile::tempdir().unwrap();
    // A two-page TIFF: a wide grey page and a tall colour one.
    let tiff = dir.path().join("hai-trang.tif");
    {
        let file = std::fs::File::create(&tiff).unwrap();
        let mut encoder = tiff::encoder::TiffEncoder::new(file).unwrap();
        encoder
            .write_image::<tiff::encoder::colortype::Gray8>(900, 600, &vec![128u8; 900 * 600])
            .unwrap();
        encoder
            .write_image::<tiff::encoder::colortype::RGB8>(300, 700, &vec![200u8; 300 * 700 * 3])
            .unwrap();
    }
    for db in backends().await {
        let (pipeline, _blobs) = pipeline(&db).await;
        let archive = pipeline.archive();
        let now = OffsetDateTime::now_utc();
        let png_of = |bytes: &[u8]| {
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
            image::load_from_memory(bytes).unwrap()
        };
        let scan = ingest(
            &pipeline,
            &sample("scan-quyet-dinh.png"),
            DocumentRole::Input,
        )
        .await;
        let letter = ingest(&pipeline, &sample("cong-van.pdf"), DocumentRole::Input).await;
        let pages = ingest(&pipeline, &tiff, DocumentRole::Input).await;
        let version = |id| async move { archive.document(id).await.unwrap().versions[0].clone() };
        let (scan, letter, pages) = (
            version(scan).await,
            version(letter).await,
            version(pages).await,
        );
        assert_eq!(pages.media_type, "image/tiff");

        let thumbnail = png_of(
            &pipeline
                .render_page(&scan, 0, 400, "ai đó", now)
                .await
                .unwrap(),
        );
        assert_eq!(thumbnail.width(), 400);
        // 2480 × 3508: the aspect is kept.
        assert_eq!(thumbnail.height(), 566);
        let preview = png_of(
            &pipeline
                .render_page(&letter, 0, 1200, "ai đó", now)
                .await
                .unwrap(),
        );
        assert!(
            preview.width() <= 1200 && preview.width() >= 1190,
            "{}",
            preview.width()
        );
        assert!((preview.height() as f64 / preview.width() as f64 - 842.0 / 595.0).abs() < 0.01);
        let small = png_of(
            &pipeline
                .render_page(&letter, 0, 400, "ai đó", now)
                .await
                .unwrap(),
        );
        assert!(small.width() <= 400);
        let second = png_of(
            &pipeline
                .render_page(&pages, 1, 400, "ai đó", now)
                .await
                .unwrap(),
        );
        // Never scaled up.
        assert_eq!((second.width(), second.height()), (300, 700));
        let first = png_of(
            &pipeline
                .render_page(&pages, 0, 400, "ai đó", now)
                .await
                .unwrap(),
        );
        assert_eq!((first.width(), first.height()), (400, 267));

        assert_eq!(pipeline.page_count(&scan).await.unwrap(), 1);
        assert_eq!(pipeline.page_count(&letter).await.unwrap(), 1);
        assert_eq!(pipeline.page_count(&pages).await.unwrap(), 2);
        for (version, page) in [(&scan, 1), (&letter, 1), (&pages, 2)] {
            let error = pipeline
                .render_page(version, page, 400, "ai đó", now)
                .await
                .expect_err("past the last page");
            assert_eq!(error.code(), "field-invalid", "{error}");
        }
        assert_eq!(
            code_of(pipeline.render_page(&scan, 0, 0, "ai đó", now).await),
            "field-invalid"
        );
        db.cleanup().await;
    }
}

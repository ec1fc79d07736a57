//! Documents and versions on SQLite and PostgreSQL: ingest, duplicates, versions with their
//! parents, metadata edits, stored verification reports, append-only rows, reads that find
//! a blob missing; and `hoso ingest` / `hoso document` / the inbox through the binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hoso::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use hoso::archive::documents::{
    DocumentMetadata, DocumentRole, NewDocument, NewVersion, OcrText, VersionKind,
};
use hoso::archive::dossiers::{Applicant, Channel, NewDossier};
use hoso::archive::procedures::CatalogueFormat;
use hoso::archive::{Archive, ArchiveError};
use hoso::digest::Sha256Digest;
use hoso::error::{Coded, Error};
use hoso::pipeline::Pipeline;
use hoso::pipeline::ingest::IngestRequest;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::helpers::{TestDb, backends, hoso, pipeline, run};

const NOW: OffsetDateTime = datetime!(2026-11-23 02:00 UTC);

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

async fn dossier(archive: &Archive) -> DossierCode {
    archive
        .import_procedures(
            "code,name,field,level,processing_days,competent_agency\n\
             1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n"
                .as_bytes(),
            CatalogueFormat::Csv,
            "c.csv",
            "quản trị",
            NOW,
        )
        .await
        .unwrap();
    let dossier = archive
        .create_dossier(
            &NewDossier {
                procedure: ProcedureCode::parse("1.001193").unwrap(),
                agency: AgencyCode::parse("H53.100.01").unwrap(),
                applicant: Applicant {
                    name: "Nguyễn Văn An".to_owned(),
                    id_number: None,
                    contact: None,
                },
                channel: Channel::InPerson,
                result_delivery: None,
                actor: "một cửa".to_owned(),
                note: None,
            },
            NOW,
        )
        .await
        .unwrap();
    DossierCode::parse(&dossier.code).unwrap()
}

async fn put(pipeline: &Pipeline, bytes: &[u8], media_type: &str) -> Sha256Digest {
    let record = pipeline
        .store(&mut &bytes[..], media_type, NOW)
        .await
        .unwrap();
    record.sha256.parse().unwrap()
}

fn new_document(dossier: Option<DossierCode>, sha256: Sha256Digest) -> NewDocument {
    NewDocument {
        dossier,
        role: DocumentRole::Input,
        sha256,
        file_name: "../../tờ khai.pdf".to_owned(),
        metadata: DocumentMetadata {
            type_name: Some("Tờ khai".to_owned()),
            ..DocumentMetadata::default()
        },
        ocr: None,
        actor: "một cửa".to_owned(),
        reason: "tiếp nhận".to_owned(),
    }
}

async fn audit_len(archive: &Archive) -> usize {
    archive.verify_audit().await.unwrap().entries as usize
}

#[tokio::test]
async fn versions_chain_to_their_parents_and_nothing_is_rewritten() {
    for db in backends().await {
        let (pipeline, _blobs) = pipeline(&db).await;
        let archive = pipeline.archive();
        let code = dossier(archive).await;
        let original = put(&pipeline, b"%PDF-1.4 scan", "application/pdf").await;
        let stored = archive
            .add_document(&new_document(Some(code.clone()), original), NOW)
            .await
            .unwrap();
        assert_eq!(
            (stored.version, stored.duplicate),
            (1, false),
            "{}",
            db.backend()
        );

        // The same content again in the same dossier and role: reported, not stored twice.
        let again = archive
            .add_document(&new_document(Some(code.clone()), original), NOW)
            .await
            .unwrap();
        assert!(again.duplicate);
        assert_eq!(again.document_id, stored.document_id);
        // As a result of the dossier it is another document (same blob).
        let mut as_result = new_document(Some(code.clone()), original);
        as_result.role = DocumentRole::Result;
        let other = archive.add_document(&as_result, NOW).await.unwrap();
        assert!(!other.duplicate);
        assert_ne!(other.document_id, stored.document_id);

        let ocr = put(&pipeline, b"%PDF-1.7 searchable", "application/pdf").await;
        let v2 = archive
            .add_version(
                &NewVersion {
                    document_id: stored.document_id,
                    parent_version: 1,
                    kind: VersionKind::Ocr,
                    sha256: ocr,
                    file_name: None,
                    metadata: None,
                    ocr: Some(OcrText {
                        text: "Tờ khai đăng ký khai sinh".to_owned(),
                        confidence: Some(91.5),
                    }),
                    actor: "máy".to_owned(),
                    reason: "OCR".to_owned(),
                },
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(v2.version, 2);
        // A stale parent is refused: someone else added a version meanwhile.
        let stale = archive
            .add_version(
                &NewVersion {
                    document_id: stored.document_id,
                    parent_version: 1,
                    kind: VersionKind::Metadata,
                    sha256: ocr,
                    file_name: None,
                    metadata: Some(DocumentMetadata::default()),
                    ocr: None,
                    actor: "x".to_owned(),
                    reason: "sửa".to_owned(),
                },
                NOW,
            )
            .await
            .unwrap_err();
        assert_eq!(stale.code(), "version-conflict");
        // A metadata version keeps its parent's content.
        let wrong = archive
            .add_version(
                &NewVersion {
                    document_id: stored.document_id,
                    parent_version: 2,
                    kind: VersionKind::Metadata,
                    sha256: original,
                    file_name: None,
                    metadata: Some(DocumentMetadata::default()),
                    ocr: None,
                    actor: "x".to_owned(),
                    reason: "sửa".to_owned(),
                },
                NOW,
            )
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), "field-invalid");
        let v3 = archive
            .add_version(
                &NewVersion {
                    document_id: stored.document_id,
                    parent_version: 2,
                    kind: VersionKind::Metadata,
                    sha256: ocr,
                    file_name: None,
                    metadata: Some(DocumentMetadata {
                        type_name: Some("Tờ khai".to_owned()),
                        subject: Some("Đăng ký khai sinh cho con".to_owned()),
                        ..DocumentMetadata::default()
                    }),
                    ocr: None,
                    actor: "văn thư".to_owned(),
                    reason: "bổ sung trích yếu".to_owned(),
                },
                NOW,
            )
            .await
            .unwrap();

        let record = archive.document(stored.document_id).await.unwrap();
        assert_eq!(record.document.dossier_code.as_deref(), Some(code.as_str()));
        let kinds: Vec<_> = record.versions.iter().map(|v| v.kind).collect();
        assert_eq!(
            kinds,
            [
                VersionKind::Original,
                VersionKind::Ocr,
                VersionKind::Metadata
            ]
        );
        assert_eq!(record.versions[0].file_name, "tờ khai.pdf");
        assert_eq!(record.versions[1].file_name, "tờ khai.pdf");
        assert_eq!(
            record.versions[1].parent_version_id,
            Some(record.versions[0].version_id)
        );
        assert_eq!(
            record.versions[2].parent_version_id,
            Some(record.versions[1].version_id)
        );
        // The metadata version carries the text forward, and the original is untouched.
        assert!(record.versions[2].has_text && !record.versions[0].has_text);
        assert_eq!(record.versions[0].metadata.subject, None);
        assert_eq!(
            archive
                .version_text(v3.version_id)
                .await
                .unwrap()
                .as_deref(),
            Some("Tờ khai đăng ký khai sinh")
        );
        assert_eq!(record.versions[0].sha256, original.to_hex());

        // The rows cannot be changed or removed behind the archive's back.
        for sql in [
            "UPDATE document_versions SET sha256 = 'x' WHERE version = 1",
            "DELETE FROM document_versions",
            "UPDATE documents SET role = 'result'",
            "DELETE FROM documents",
        ] {
            assert!(
                db.execute_raw(sql).await.is_err(),
                "{sql} on {}",
                db.backend()
            );
        }
        let verification = archive.verify_audit().await.unwrap();
        assert!(verification.intact);
        let actions: Vec<String> = archive
            .audit_entries(0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        for action in ["document.ingest", "document.ocr", "document.metadata_edit"] {
            assert!(
                actions.iter().any(|a| a == action),
                "{action} in {actions:?}"
            );
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_written() {
    for db in backends().await {
        let (pipeline, _blobs) = pipeline(&db).await;
        let archive = pipeline.archive();
        let code = dossier(archive).await;
        let sha = put(&pipeline, b"content", "text/plain").await;
        let before = audit_len(archive).await;

        let unknown = DossierCode::parse("H53.100.01-261123-539999").unwrap();
        let e = archive
            .add_document(&new_document(Some(unknown), sha), NOW)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "dossier-not-found");

        let never_stored = Sha256Digest::of(b"never stored");
        let e = archive
            .add_document(&new_document(Some(code.clone()), never_stored), NOW)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "blob-not-found");

        let mut long = new_document(Some(code.clone()), sha);
        long.metadata.code_number = Some("1".repeat(12));
        let e = archive.add_document(&long, NOW).await.unwrap_err();
        assert!(matches!(e, ArchiveError::MetadataInvalid { .. }), "{e}");

        // One bad document in a batch: none of the batch is stored.
        let good = new_document(Some(code.clone()), sha);
        let bad = new_document(Some(code.clone()), never_stored);
        assert!(archive.add_documents(&[good, bad], NOW).await.is_err());
        assert!(archive.dossier_documents(&code).await.unwrap().is_empty());

        let e = archive.document(424_242).await.unwrap_err();
        assert_eq!(e.code(), "document-not-found");
        assert_eq!(audit_len(archive).await, before, "{}", db.backend());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_missing_blob_is_a_clear_error_and_an_audit_event() {
    for db in backends().await {
        let (pipeline, blobs) = pipeline(&db).await;
        let archive = pipeline.archive();
        let sha = put(&pipeline, b"%PDF-1.4 only copy", "application/pdf").await;
        let stored = archive
            .add_document(&new_document(None, sha), NOW)
            .await
            .unwrap();
        let version = archive.document(stored.document_id).await.unwrap().versions[0].clone();
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("copy.pdf");
        pipeline
            .copy_version_to(&version, &target, "lưu trữ", NOW)
            .await
            .unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"%PDF-1.4 only copy");
        // The output is never overwritten.
        assert!(
            pipeline
                .copy_version_to(&version, &target, "lưu trữ", NOW)
                .await
                .is_err()
        );

        let local = hoso::archive::blob::LocalBlobStore::open(blobs.path()).unwrap();
        std::fs::remove_file(local.path_of(&sha)).unwrap();
        let e = pipeline
            .copy_version_to(&version, &out.path().join("again.pdf"), "lưu trữ", NOW)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "blob-not-found", "{e}");
        assert!(!out.path().join("again.pdf").exists());
        let last = archive.audit_entries(0, 100).await.unwrap().pop().unwrap();
        assert_eq!(last.action, "blob.unreadable");
        assert_eq!(last.object_id, sha.to_hex());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn confidential_documents_record_every_read() {
    let db = TestDb::sqlite();
    let (pipeline, _blobs) = pipeline(&db).await;
    let archive = pipeline.archive();
    let sha = put(&pipeline, b"secret", "text/plain").await;
    let mut new = new_document(None, sha);
    new.metadata = DocumentMetadata::from_json(r#"{"confidentiality":"confidential"}"#).unwrap();
    let stored = archive.add_document(&new, NOW).await.unwrap();
    let version_id = stored.version_id;
    archive
        .open_version(version_id, "lưu trữ", NOW)
        .await
        .unwrap();
    let last = archive.audit_entries(0, 100).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("document.view", "lưu trữ")
    );
    db.cleanup().await;
}

/// An `Arc<Pipeline>` with the test PKI trusted.
async fn trusting_pipeline(db: &TestDb) -> (Arc<Pipeline>, tempfile::TempDir) {
    let blob_dir = tempfile::tempdir().unwrap();
    let blobs = hoso::archive::blob::LocalBlobStore::open(blob_dir.path()).unwrap();
    let pipeline = Pipeline::new(db.archive().await, Arc::new(blobs), 2)
        .with_trust_dirs(vec![crate::pki::dir()]);
    (Arc::new(pipeline), blob_dir)
}

#[tokio::test]
async fn ingest_verifies_signed_pdfs_and_stores_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let signed = dir.path().join("signed.pdf");
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
    for db in backends().await {
        let (pipeline, _blobs) = trusting_pipeline(&db).await;
        let outcome = pipeline
            .ingest(
                IngestRequest {
                    path: signed.clone(),
                    file_name: None,
                    dossier: None,
                    role: DocumentRole::Incoming,
                    metadata: DocumentMetadata::default(),
                    ocr: false,
                    offline: true,
                    actor: "văn thư".to_owned(),
                },
                OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        let signatures = outcome.signatures.expect("a report");
        assert_eq!(signatures.count, 1);
        let record = pipeline.archive().document(outcome.id).await.unwrap();
        assert_eq!(record.reports.len(), 1);
        assert_eq!(record.signatures.len(), 1);
        assert_eq!(record.signatures[0].indication, signatures.indication);
        // Intact and from the trusted test CA; offline, revocation is unknown.
        assert_ne!(signatures.indication, "TOTAL-FAILED", "{}", db.backend());
        let json = pipeline
            .archive()
            .report_json(record.reports[0].report_id)
            .await
            .unwrap();
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(report["sha256"], outcome.sha256);

        // Re-checking appends a second report; the first is kept.
        let version = record.versions[0].clone();
        pipeline
            .reverify(&version, true, "lưu trữ", OffsetDateTime::now_utc())
            .await
            .unwrap();
        let record = pipeline.archive().document(outcome.id).await.unwrap();
        assert_eq!(record.reports.len(), 2);

        // A report about other content is refused.
        let e = pipeline
            .archive()
            .record_verification(
                version.version_id,
                &hoso_report_of_other_content(),
                "x",
                NOW,
            )
            .await;
        assert!(matches!(e, Err(ArchiveError::FieldInvalid { .. })), "{e:?}");
        db.cleanup().await;
    }
}

/// A verification report of the unsigned sample (other content than the signed file).
fn hoso_report_of_other_content() -> hoso::verify::Report {
    let trust = hoso::trust::TrustStore::load(&[crate::pki::dir()]).unwrap();
    let bytes = std::fs::read(sample("cong-van.pdf")).unwrap();
    hoso::verify::verify_pdf(
        &bytes,
        "cong-van.pdf",
        &hoso::verify::VerifyOptions {
            trust: &trust,
            at: NOW,
            offline: true,
            policy: hoso::verify::Policy::Strict,
            supplied: Default::default(),
        },
    )
    .unwrap()
}

fn data_args(data: &Path) -> Vec<String> {
    vec!["--data-dir".to_owned(), data.display().to_string()]
}

#[test]
fn ingest_ocr_show_get_and_edit_through_the_binary() {
    let data = tempfile::tempdir().unwrap();
    let d = data_args(data.path());
    let r = run(hoso().args(&d).args([
        "ingest",
        sample("scan-quyet-dinh.png").to_str().unwrap(),
        sample("cong-van.pdf").to_str().unwrap(),
        "--role",
        "incoming",
        "--ocr",
        "--metadata",
        r#"{"organ_name":"UBND xã Tân Phú"}"#,
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let docs = out["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    let scan = &docs[0];
    for field in ["id", "sha256", "version"] {
        assert!(!scan[field].is_null(), "{field} in {scan}");
    }
    assert_eq!(scan["version"], 2, "the OCR output is version 2");
    assert!(scan["ocr"]["characters"].as_u64().unwrap() > 200);
    let id = scan["id"].as_i64().unwrap().to_string();

    let r = run(hoso()
        .args(&d)
        .args(["document", "show", &id, "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let record: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let versions = record["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["kind"], "original");
    assert_eq!(versions[0]["media_type"], "image/png");
    assert_eq!(versions[1]["kind"], "ocr");
    assert_eq!(versions[1]["media_type"], "application/pdf");
    assert_eq!(versions[1]["file_name"], "scan-quyet-dinh.pdf");
    // What the clerk typed wins; what OCR read fills the rest.
    assert_eq!(versions[1]["metadata"]["organ_name"], "UBND xã Tân Phú");
    assert!(
        versions[1]["metadata"]["type_name"].is_string(),
        "{}",
        versions[1]
    );
    assert!(record.get("ocr_text").is_none() && versions[1].get("ocr_text").is_none());

    let r = run(hoso().args(&d).args(["document", "text", &id]));
    assert!(
        r.stdout.to_lowercase().contains("quyết định"),
        "{}",
        r.stdout
    );

    let original = data.path().join("original.png");
    let r = run(hoso().args(&d).args([
        "document",
        "get",
        &id,
        "--version",
        "1",
        "-o",
        original.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read(&original).unwrap(),
        std::fs::read(sample("scan-quyet-dinh.png")).unwrap(),
        "the original is kept byte for byte"
    );

    let r = run(hoso().args(&d).args([
        "document",
        "edit",
        &id,
        "--metadata",
        r#"{"subject":"Về việc công nhận kết quả"}"#,
        "--reason",
        "bổ sung trích yếu",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let edited: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(edited["version"], 3);

    // Duplicate upload: reported, nothing new.
    let r = run(hoso().args(&d).args([
        "ingest",
        sample("scan-quyet-dinh.png").to_str().unwrap(),
        "--role",
        "incoming",
        "--format",
        "json",
    ]));
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["documents"][0]["duplicate"], true);
    assert_eq!(out["documents"][0]["id"].as_i64().unwrap().to_string(), id);

    // Bad input: exit 1 for the file that failed, the good one is stored.
    let r = run(hoso().args(&d).args([
        "ingest",
        "/nonexistent/scan.png",
        sample("chu-ky.png").to_str().unwrap(),
        "--role",
        "attachment",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["documents"].as_array().unwrap().len(), 1);
    assert_eq!(out["failed"].as_array().unwrap().len(), 1);
    for (args, code) in [
        (vec!["--dossier", "not-a-code"], "dossier-code-invalid"),
        (
            vec!["--dossier", "H53.100.01-261123-530001"],
            "dossier-not-found",
        ),
        (
            vec!["--metadata", r#"{"page_count":"two"}"#],
            "metadata-invalid",
        ),
        (vec!["--metadata", r#"{"unknown":1}"#], "metadata-invalid"),
    ] {
        let r = run(hoso()
            .args(&d)
            .args(["ingest", sample("chu-ky.png").to_str().unwrap()])
            .args(&args));
        assert_ne!(r.code, 0, "{args:?}");
        assert!(r.stderr.contains(code), "{args:?}: {}", r.stderr);
    }
    let r = run(hoso().args(&d).args(["audit", "verify"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[tokio::test]
async fn the_inbox_takes_each_file_once_and_files_it_away() {
    use hoso::pipeline::inbox::{InboxOptions, scan_once};
    for db in backends().await {
        let (pipeline, _blobs) = pipeline(&db).await;
        let code = dossier(pipeline.archive()).await;
        let inbox = tempfile::tempdir().unwrap();
        let dossier_dir = inbox.path().join(code.as_str());
        std::fs::create_dir_all(&dossier_dir).unwrap();
        std::fs::copy(sample("chu-ky.png"), dossier_dir.join("giấy tờ.png")).unwrap();
        std::fs::copy(
            sample("cong-van.pdf"),
            inbox.path().join("công văn đến.pdf"),
        )
        .unwrap();
        std::fs::write(inbox.path().join("scan.pdf.part"), b"half written").unwrap();
        let unknown = inbox.path().join("H53.100.01-261123-530999");
        std::fs::create_dir_all(&unknown).unwrap();
        std::fs::write(unknown.join("lost.pdf"), b"%PDF-1.4 x").unwrap();
        let mut options = InboxOptions::new(inbox.path().to_owned());
        options.settle = std::time::Duration::ZERO;
        options.ocr = false;

        let results = scan_once(&pipeline, &options).await.unwrap();
        assert_eq!(results.len(), 3, "{results:?}");
        let stored: Vec<_> = results.iter().filter(|r| r.stored.is_some()).collect();
        assert_eq!(stored.len(), 2, "{results:?}");
        let refused: Vec<_> = results.iter().filter(|r| r.error_code.is_some()).collect();
        assert_eq!(refused[0].error_code.as_deref(), Some("dossier-not-found"));
        let reason =
            std::fs::read_to_string(format!("{}.reason.txt", refused[0].moved_to.display()))
                .unwrap();
        assert!(reason.contains("dossier-not-found") && reason.contains("Không tìm thấy hồ sơ"));
        for r in &results {
            assert!(r.moved_to.exists(), "{}", r.moved_to.display());
        }
        let documents = pipeline.archive().dossier_documents(&code).await.unwrap();
        assert_eq!(documents.len(), 1);
        assert_eq!(documents[0].document.role, DocumentRole::Input);
        assert_eq!(documents[0].versions[0].file_name, "giấy tờ.png");
        // The partial file stays; a second pass takes nothing twice.
        assert!(inbox.path().join("scan.pdf.part").exists());
        assert!(scan_once(&pipeline, &options).await.unwrap().is_empty());

        // A file left in processing/ by a crash is taken again, and recognized.
        let leftover = inbox
            .path()
            .join("processing")
            .join(format!("1-deadbeef__{}__giấy tờ.png", code.as_str()));
        std::fs::copy(sample("chu-ky.png"), &leftover).unwrap();
        assert!(
            scan_once(&pipeline, &options).await.unwrap().is_empty(),
            "only at start"
        );
        let again = hoso::pipeline::inbox::recover(&pipeline, &options)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert!(again[0].stored.as_ref().unwrap().duplicate);
        assert_eq!(
            pipeline
                .archive()
                .dossier_documents(&code)
                .await
                .unwrap()
                .len(),
            1
        );
        db.cleanup().await;
    }
}

#[test]
fn error_codes_of_the_document_layer_are_stable() {
    let e = Error::from(ArchiveError::VersionConflict {
        document_id: 1,
        expected: 1,
        latest: 2,
    });
    assert_eq!(e.code(), "version-conflict");
    assert!(e.message_vi().contains("phiên bản mới"));
}

#[tokio::test]
async fn preserve_extends_what_nears_expiry_to_b_lta_as_a_new_version() {
    use hoso::pipeline::preserve::PreserveOptions;
    let Some(services) = crate::pki::services() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let signed = dir.path().join("ket-qua.pdf");
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
        "B-T",
        "--tsa",
        &format!("{}/", services.tsa),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for db in backends().await {
        let (pipeline, _blobs) = trusting_pipeline(&db).await;
        let now = OffsetDateTime::now_utc();
        let stored = pipeline
            .ingest(
                IngestRequest {
                    path: signed.clone(),
                    file_name: None,
                    dossier: None,
                    role: DocumentRole::Result,
                    metadata: DocumentMetadata::default(),
                    // OCR would make an unsigned copy the newest version: skipped.
                    ocr: true,
                    offline: false,
                    actor: "văn thư".to_owned(),
                },
                now,
            )
            .await
            .unwrap();
        assert_eq!(
            stored.signatures.as_ref().unwrap().indication,
            "TOTAL-PASSED"
        );
        assert!(
            stored.ocr_skipped.is_some() && stored.version == 1,
            "{stored:?}"
        );
        // A metadata correction keeps the document under preservation (same content).
        let sha: Sha256Digest = stored.sha256.parse().unwrap();
        pipeline
            .archive()
            .add_version(
                &NewVersion {
                    document_id: stored.id,
                    parent_version: 1,
                    kind: VersionKind::Metadata,
                    sha256: sha,
                    file_name: None,
                    metadata: Some(DocumentMetadata {
                        subject: Some("Cấp giấy phép xây dựng".to_owned()),
                        ..DocumentMetadata::default()
                    }),
                    ocr: None,
                    actor: "văn thư".to_owned(),
                    reason: "trích yếu".to_owned(),
                },
                now,
            )
            .await
            .unwrap();
        let mut options = PreserveOptions {
            horizon: time::Duration::ZERO,
            tsa_url: Some(format!("{}/", services.tsa)),
            dry_run: false,
            actor: "lưu trữ".to_owned(),
        };
        // Nothing expires today: nothing to do.
        let report = pipeline.preserve(&options, now).await.unwrap();
        assert_eq!(
            (report.checked, report.due.len()),
            (1, 0),
            "{}",
            db.backend()
        );

        // Within a horizon past the signer certificate's expiry: listed by a dry run only.
        options.horizon = time::Duration::days(365 * 40);
        options.dry_run = true;
        let report = pipeline.preserve(&options, now).await.unwrap();
        assert_eq!(report.due.len(), 1);
        assert_eq!(report.due[0].what, "signer");
        assert!(report.extended.is_empty());
        assert_eq!(
            pipeline
                .archive()
                .document(stored.id)
                .await
                .unwrap()
                .versions
                .len(),
            2
        );

        options.dry_run = false;
        let report = pipeline.preserve(&options, now).await.unwrap();
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert_eq!(report.extended.len(), 1);
        assert_eq!(report.extended[0].indication, "TOTAL-PASSED");
        let record = pipeline.archive().document(stored.id).await.unwrap();
        assert_eq!(record.versions.len(), 3);
        assert_eq!(record.versions[2].kind, VersionKind::Extended);
        assert_eq!(
            record.versions[2].metadata.subject.as_deref(),
            Some("Cấp giấy phép xây dựng")
        );
        // The extension appends to the signed bytes: the original is a prefix.
        let out = dir.path().join(format!("extended-{}.pdf", db.backend()));
        pipeline
            .copy_version_to(&record.versions[2], &out, "lưu trữ", now)
            .await
            .unwrap();
        assert!(
            std::fs::read(&out)
                .unwrap()
                .starts_with(&std::fs::read(&signed).unwrap())
        );
        let levels: Vec<_> = record.signatures.iter().map(|s| s.level.clone()).collect();
        assert!(levels.contains(&Some("B-LTA".to_owned())), "{levels:?}");
        // Now the archive timestamp's TSA certificate is the deadline.
        options.dry_run = true;
        let report = pipeline.preserve(&options, now).await.unwrap();
        assert_eq!(report.due[0].what, "timestamp");
        db.cleanup().await;
    }
}

#[test]
fn an_archived_result_is_signed_as_its_next_version() {
    let Some(_services) = crate::pki::services() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let d = data_args(data.path());
    let trust = crate::pki::dir();
    let r = run(hoso().args(&d).args([
        "ingest",
        sample("cong-van.pdf").to_str().unwrap(),
        "--role",
        "outgoing",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let id = out["documents"][0]["id"].as_i64().unwrap().to_string();
    let r = run(hoso().args(&d).args([
        "sign",
        "--document",
        &id,
        "--p12",
        trust.join("official.p12").to_str().unwrap(),
        "--password-env",
        "HOSO_TEST_P12_PASSWORD",
        "--trust",
        trust.to_str().unwrap(),
        "--level",
        "B-B",
        "--actor",
        "Chủ tịch",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(hoso().args(&d).args([
        "--trust",
        trust.to_str().unwrap(),
        "document",
        "show",
        &id,
        "--format",
        "json",
    ]));
    let record: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let versions = record["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["kind"], "signed");
    assert_eq!(versions[1]["created_by"], "Chủ tịch");
    assert_eq!(
        record["signatures"].as_array().unwrap().len(),
        1,
        "{record}"
    );
    assert_ne!(record["signatures"][0]["indication"], "TOTAL-FAILED");
    // The original stays as it was; the signed version verifies on its own.
    let signed = data.path().join("signed.pdf");
    let r = run(hoso()
        .args(&d)
        .args(["document", "get", &id, "-o", signed.to_str().unwrap()]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(hoso().args([
        "verify",
        signed.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
        "--offline",
        "--policy",
        "lenient",
    ]));
    assert_ne!(r.code, 1, "{}", r.stdout);
    // Only PDFs can be signed.
    let r = run(hoso().args(&d).args([
        "ingest",
        sample("chu-ky.png").to_str().unwrap(),
        "--role",
        "attachment",
        "--format",
        "json",
    ]));
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let png = out["documents"][0]["id"].as_i64().unwrap().to_string();
    let r = run(hoso().args(&d).args([
        "sign",
        "--document",
        &png,
        "--p12",
        trust.join("official.p12").to_str().unwrap(),
        "--password-env",
        "HOSO_TEST_P12_PASSWORD",
    ]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("field-invalid"), "{}", r.stderr);
}

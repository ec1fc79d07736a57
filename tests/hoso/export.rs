//! `hoso export` / `hoso import` on SQLite and PostgreSQL: a dossier with two documents
//! (a 3 MB scan with a metadata edit, a PDF signed by `hoso sign` with its stored
//! verification report) written as a BagIt bag to a folder and to a zip, checked line by line
//! here and by the Library of Congress `bagit.py --validate`, imported into an empty archive
//! on the other backend, exported again and compared file by file; tampered bags, an
//! existing code and an occupied target are refused with nothing stored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hoso::archive::Archive;
use hoso::archive::blob::LocalBlobStore;
use hoso::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use hoso::archive::documents::{
    DocumentMetadata, DocumentRecord, DocumentRole, NewDocument, NewVersion, OcrText, VersionKind,
};
use hoso::archive::dossiers::{Applicant, Channel, DossierStatus, NewDossier, Transition};
use hoso::archive::procedures::CatalogueFormat;
use hoso::config::DatabaseTarget;
use hoso::digest::Sha256Digest;
use hoso::error::Coded;
use hoso::pipeline::Pipeline;
use hoso::trust::TrustStore;
use hoso::verify::status::EvidencePool;
use hoso::verify::{Policy, VerifyOptions, verify_pdf};
use serde_json::Value;
use tempfile::TempDir;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::helpers::{TestDb, backends, hoso, in_ci, pipeline, run};

/// Monday 23 November 2026, 09:00 in Vietnam.
const NOW: OffsetDateTime = datetime!(2026-11-23 02:00 UTC);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample letter signed B-B by the test PKI's official key (no TSA needed).
fn signed_sample(dir: &Path) -> PathBuf {
    let output = dir.join("signed.pdf");
    let r = run(hoso()
        .arg("sign")
        .arg(root().join("samples/cong-van.pdf"))
        .arg("-o")
        .arg(&output)
        .arg("--trust")
        .arg(root().join("certs/test-pki"))
        .args(["--password-env", "HOSO_TEST_P12_PASSWORD"])
        .arg("--p12")
        .arg(root().join("certs/test-pki/official.p12"))
        .args(["--level", "B-B"]));
    assert_eq!(r.code, 0, "signing failed: {}", r.stderr);
    output
}

/// 3 MB that do not compress, so the scan crosses many 256 KiB chunks and is stored as is.
fn scan_bytes() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..3 * 1024 * 1024 + 17)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

async fn put(
    pipeline: &Pipeline,
    bytes: &[u8],
    media_type: &str,
    at: OffsetDateTime,
) -> Sha256Digest {
    let record = pipeline
        .store(&mut &bytes[..], media_type, at)
        .await
        .unwrap();
    record.sha256.parse().unwrap()
}

/// Dossier 1 of the day at H53.100.01, appraised, with two documents of two versions each
/// (a metadata edit; a signature with its verification report), and a checkpoint.
async fn build_dossier(pipeline: &Pipeline, signed: &Path) -> DossierCode {
    let archive = pipeline.archive();
    archive
        .import_procedures(
            "code,name,field,level,processing_days,competent_agency\n\
             1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n"
                .as_bytes(),
            CatalogueFormat::Csv,
            "catalogue.csv",
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
                    name: "Nguyễn Thị Bình".to_owned(),
                    id_number: Some("001203004567".to_owned()),
                    contact: Some("0912 345 678".to_owned()),
                },
                channel: Channel::InPerson,
                result_delivery: None,
                actor: "cán bộ một cửa".to_owned(),
                note: Some("đủ giấy tờ".to_owned()),
            },
            NOW,
        )
        .await
        .unwrap();
    let code = DossierCode::parse(&dossier.code).unwrap();
    let at = |minutes: i64| NOW + Duration::minutes(minutes);

    let scan = put(pipeline, &scan_bytes(), "image/tiff", at(1)).await;
    let first = archive
        .add_document(
            &NewDocument {
                dossier: Some(code.clone()),
                role: DocumentRole::Input,
                sha256: scan,
                file_name: "Tờ khai khai sinh.tif".to_owned(),
                metadata: DocumentMetadata {
                    type_name: Some("Tờ khai".to_owned()),
                    issued_date: Some(time::macros::date!(2026 - 11 - 20)),
                    ..DocumentMetadata::default()
                },
                ocr: Some(OcrText {
                    text: "TỜ KHAI ĐĂNG KÝ KHAI SINH\nHọ, chữ đệm, tên: Nguyễn Văn Cường"
                        .to_owned(),
                    confidence: Some(87.25),
                }),
                actor: "cán bộ một cửa".to_owned(),
                reason: "tiếp nhận".to_owned(),
            },
            at(1),
        )
        .await
        .unwrap();
    archive
        .add_version(
            &NewVersion {
                document_id: first.document_id,
                parent_version: 1,
                kind: VersionKind::Metadata,
                sha256: scan,
                file_name: None,
                metadata: Some(DocumentMetadata {
                    type_name: Some("Tờ khai".to_owned()),
                    subject: Some("Đăng ký khai sinh cho con".to_owned()),
                    issued_date: Some(time::macros::date!(2026 - 11 - 20)),
                    page_count: Some(1),
                    confidentiality: Some(hoso::archive::documents::Confidentiality::Normal),
                    ..DocumentMetadata::default()
                }),
                ocr: None,
                actor: "văn thư".to_owned(),
                reason: "bổ sung trích yếu".to_owned(),
            },
            at(2),
        )
        .await
        .unwrap();

    let letter = std::fs::read(root().join("samples/cong-van.pdf")).unwrap();
    let letter = put(pipeline, &letter, "application/pdf", at(3)).await;
    let second = archive
        .add_document(
            &NewDocument {
                dossier: Some(code.clone()),
                role: DocumentRole::Result,
                sha256: letter,
                file_name: "cong-van.pdf".to_owned(),
                metadata: DocumentMetadata {
                    type_name: Some("Công văn".to_owned()),
                    code_number: Some("12".to_owned()),
                    code_notation: Some("UBND-VP".to_owned()),
                    ..DocumentMetadata::default()
                },
                ocr: None,
                actor: "chuyên viên".to_owned(),
                reason: "dự thảo kết quả".to_owned(),
            },
            at(3),
        )
        .await
        .unwrap();
    let signed_bytes = std::fs::read(signed).unwrap();
    let signed_sha = put(pipeline, &signed_bytes, "application/pdf", at(4)).await;
    let v2 = archive
        .add_version(
            &NewVersion {
                document_id: second.document_id,
                parent_version: 1,
                kind: VersionKind::Signed,
                sha256: signed_sha,
                file_name: Some("cong-van-da-ky.pdf".to_owned()),
                metadata: None,
                ocr: None,
                actor: "chủ tịch".to_owned(),
                reason: "ký ban hành".to_owned(),
            },
            at(4),
        )
        .await
        .unwrap();
    let trust = TrustStore::load(&[root().join("certs/test-pki")]).unwrap();
    let report = verify_pdf(
        &signed_bytes,
        "cong-van-da-ky.pdf",
        &VerifyOptions {
            trust: &trust,
            at: at(5),
            offline: true,
            policy: Policy::Strict,
            supplied: EvidencePool::default(),
        },
    )
    .unwrap();
    assert_eq!(report.signatures.len(), 1);
    archive
        .record_verification(v2.version_id, &report, "văn thư", at(5))
        .await
        .unwrap();
    archive
        .advance_dossier(
            &code,
            &Transition {
                to: DossierStatus::Appraised,
                actor: "chuyên viên".to_owned(),
                note: Some("hợp lệ".to_owned()),
            },
            at(6),
        )
        .await
        .unwrap();
    archive.create_checkpoint("quản trị", at(7)).await.unwrap();
    code
}

/// A fresh database on the other backend when both are there (SQLite ↔ PostgreSQL).
async fn other_backend(db: &TestDb) -> TestDb {
    if db.backend() == "sqlite"
        && let Some(pg) = TestDb::postgres().await
    {
        return pg;
    }
    TestDb::sqlite()
}

fn sha256_hex(bytes: &[u8]) -> String {
    // openssl, not hoso's digest module: an independent computation.
    hex::encode(openssl::sha::sha256(bytes))
}

/// Every regular file under `dir`, by path from `dir` with `/`.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let relative = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .replace('\\', "/");
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn parse_manifest(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|line| {
            let (digest, path) = line.split_once("  ").expect("`digest  path`");
            (path.to_owned(), digest.to_owned())
        })
        .collect()
}

/// The bag checked from first principles (RFC 8493): every manifest line's digest
/// recomputed, the manifest covering exactly the payload, the Payload-Oxum, the tag
/// manifest, the declaration and the bag-info fields. Returns the bag-info fields.
fn check_bag(bag: &Path) -> BTreeMap<String, String> {
    let all = files(bag);
    assert_eq!(
        String::from_utf8(all["bagit.txt"].clone()).unwrap(),
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    );
    let manifest = parse_manifest(std::str::from_utf8(&all["manifest-sha256.txt"]).unwrap());
    let payload: BTreeMap<&String, &Vec<u8>> =
        all.iter().filter(|(p, _)| p.starts_with("data/")).collect();
    assert_eq!(
        manifest.keys().collect::<Vec<_>>(),
        payload.keys().copied().collect::<Vec<_>>(),
        "the manifest lists exactly the payload"
    );
    for (path, digest) in &manifest {
        assert_eq!(&sha256_hex(&all[path]), digest, "{path}");
    }
    let tags = parse_manifest(std::str::from_utf8(&all["tagmanifest-sha256.txt"]).unwrap());
    assert_eq!(
        tags.keys().collect::<Vec<_>>(),
        ["bag-info.txt", "bagit.txt", "manifest-sha256.txt"]
    );
    for (path, digest) in &tags {
        assert_eq!(&sha256_hex(&all[path]), digest, "{path}");
    }
    let info: BTreeMap<String, String> = std::str::from_utf8(&all["bag-info.txt"])
        .unwrap()
        .lines()
        .map(|l| {
            let (label, value) = l.split_once(": ").unwrap();
            (label.to_owned(), value.to_owned())
        })
        .collect();
    let octets: usize = payload.values().map(|b| b.len()).sum();
    assert_eq!(info["Payload-Oxum"], format!("{octets}.{}", payload.len()));
    assert_eq!(info["Source-Organization"], "H53.100.01");
    assert!(
        time::Date::parse(
            &info["Bagging-Date"],
            time::macros::format_description!("[year]-[month]-[day]")
        )
        .is_ok()
    );
    assert!(info["Bag-Software-Agent"].starts_with("hoso "));
    assert_eq!(info["Hoso-Package-Format"], "hoso-dossier/1");
    info
}

/// `bagit.py --validate` (scripts/peers-venv), the reference implementation's check.
fn bagit_peer(bag: &Path) {
    let tool = root().join(".venv/bin/bagit.py");
    if !tool.exists() {
        assert!(!in_ci(), "bagit.py is required in CI (scripts/peers-venv)");
        eprintln!("SKIPPED part: no .venv/bin/bagit.py (run scripts/peers-venv)");
        return;
    }
    let r = run(std::process::Command::new(&tool).arg("--validate").arg(bag));
    assert_eq!(r.code, 0, "bagit.py: {}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("is valid"), "{}", r.stderr);
}

/// Unpacks with Python's zipfile (another implementation than the one that wrote it).
fn unzip(zip: &Path, into: &Path) {
    let r = run(std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
        ])
        .arg(zip)
        .arg(into));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// document.json without the ids that are necessarily local to the exporting archive.
fn without_local_ids(json: &[u8]) -> Value {
    let mut value: Value = serde_json::from_slice(json).unwrap();
    value.as_object_mut().unwrap().remove("document_id");
    for version in value["versions"].as_array_mut().unwrap() {
        version.as_object_mut().unwrap().remove("version_id");
    }
    for report in value["reports"].as_array_mut().unwrap() {
        report.as_object_mut().unwrap().remove("report_id");
    }
    value
}

fn audit_lines(bag: &Path) -> Vec<Value> {
    std::fs::read_to_string(bag.join("data/audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A record with its archive-local ids blanked, for comparing two archives.
fn portable(mut record: DocumentRecord) -> DocumentRecord {
    record.document.document_id = 0;
    for v in &mut record.versions {
        v.version_id = 0;
        v.document_id = 0;
        v.parent_version_id = v.parent_version_id.map(|_| 0);
    }
    for r in &mut record.reports {
        r.report_id = 0;
        r.version_id = 0;
    }
    for s in &mut record.signatures {
        s.report_id = 0;
    }
    record
}

async fn blob_pipeline(db: &TestDb) -> (Arc<Pipeline>, TempDir) {
    pipeline(db).await
}

fn objects_in(blob_dir: &Path) -> usize {
    let dir = blob_dir.join("sha256");
    if !dir.exists() {
        return 0;
    }
    files(&dir).len()
}

#[tokio::test]
async fn export_to_folder_and_zip_then_import_on_the_other_backend_round_trips() {
    let work = tempfile::tempdir().unwrap();
    let signed = signed_sample(work.path());
    for db in backends().await {
        let backend = db.backend();
        let (source, _source_blobs) = blob_pipeline(&db).await;
        let code = build_dossier(&source, &signed).await;
        let out = tempfile::tempdir().unwrap();

        // Folder.
        let bag = out.path().join("bag");
        let exported = source
            .archive()
            .export_dossier(
                source.blobs(),
                &code,
                &bag,
                "lưu trữ viên",
                NOW + Duration::hours(1),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                exported.documents,
                exported.versions,
                exported.reports,
                exported.package
            ),
            (2, 4, 1, "directory"),
            "{backend}"
        );
        let info = check_bag(&bag);
        assert_eq!(info["External-Identifier"], code.as_str());
        bagit_peer(&bag);
        let manifest = std::fs::read(bag.join("manifest-sha256.txt")).unwrap();
        assert_eq!(exported.manifest_sha256, sha256_hex(&manifest));
        let payload = files(&bag.join("data"));
        assert_eq!(
            payload.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "audit.jsonl",
                "documents/1/document.json",
                &format!("documents/1/v1-{}.tif", &sha256_hex(&scan_bytes())[..12]),
                "documents/2/document.json",
                "documents/2/reports/1.json",
                &format!(
                    "documents/2/v1-{}.pdf",
                    &sha256_hex(&std::fs::read(root().join("samples/cong-van.pdf")).unwrap())[..12]
                ),
                &format!(
                    "documents/2/v2-{}.pdf",
                    &sha256_hex(&std::fs::read(&signed).unwrap())[..12]
                ),
                "dossier.json",
            ]
        );
        // The exact bytes of every version: the metadata edit shares the scan's file.
        let first: Value = serde_json::from_slice(&payload["documents/1/document.json"]).unwrap();
        assert_eq!(first["versions"][0]["file"], first["versions"][1]["file"]);
        assert_eq!(first["versions"][1]["kind"], "metadata");
        assert_eq!(
            first["versions"][1]["metadata"]["subject"],
            "Đăng ký khai sinh cho con"
        );
        let scan_file = first["versions"][0]["file"].as_str().unwrap();
        assert_eq!(std::fs::read(bag.join(scan_file)).unwrap(), scan_bytes());
        let second: Value = serde_json::from_slice(&payload["documents/2/document.json"]).unwrap();
        let report_id = second["reports"][0]["report_id"].as_i64().unwrap();
        assert_eq!(
            std::str::from_utf8(&payload["documents/2/reports/1.json"]).unwrap(),
            source.archive().report_json(report_id).await.unwrap()
        );
        assert_eq!(
            second["reports"][0]["signatures"].as_array().unwrap().len(),
            1
        );
        let dossier: Value = serde_json::from_slice(&payload["dossier.json"]).unwrap();
        assert_eq!(dossier["dossier"]["status"], "appraised");
        assert_eq!(dossier["events"].as_array().unwrap().len(), 2);
        // The audit trail of the dossier and its documents, chained, then the checkpoint.
        let lines = audit_lines(&bag);
        let actions: Vec<&str> = lines.iter().filter_map(|l| l["action"].as_str()).collect();
        for action in [
            "dossier.create",
            "document.ingest",
            "document.metadata_edit",
            "document.sign",
            "document.verify",
            "dossier.advance",
        ] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
        assert_eq!(lines.last().unwrap()["record"], "checkpoint");
        let chain = info["Hoso-Audit-Chain"].clone();
        assert!(lines.iter().all(|l| l["chain"] == chain.as_str()));

        // Zip (a second export: its audit trail has the first export in it).
        let zip = out.path().join("goi.zip");
        let zipped = source
            .archive()
            .export_dossier(
                source.blobs(),
                &code,
                &zip,
                "lưu trữ viên",
                NOW + Duration::hours(2),
            )
            .await
            .unwrap();
        assert_eq!(zipped.package, "zip");
        let unzipped = out.path().join("unzipped");
        unzip(&zip, &unzipped);
        let zip_bag = unzipped.join(code.as_str());
        check_bag(&zip_bag);
        bagit_peer(&zip_bag);
        let zip_payload = files(&zip_bag.join("data"));
        for (path, bytes) in &payload {
            if path != "audit.jsonl" {
                assert_eq!(&zip_payload[path], bytes, "{path}");
            }
        }
        let zip_lines = audit_lines(&zip_bag);
        assert_eq!(zip_lines.len(), lines.len() + 1);
        let export_entry = zip_lines
            .iter()
            .find(|l| l["action"] == "dossier.export")
            .expect("the first export is in the second's trail");
        let details: Value =
            serde_json::from_str(export_entry["details"].as_str().unwrap()).unwrap();
        assert_eq!(
            details["manifest_sha256"],
            exported.manifest_sha256.as_str()
        );
        assert_eq!(details["package"], "directory");

        // Import into an empty archive on the other backend.
        let dest_db = other_backend(&db).await;
        let (dest, dest_blobs) = blob_pipeline(&dest_db).await;
        let scratch = tempfile::tempdir().unwrap();
        let imported = dest
            .archive()
            .import_dossier(
                dest.blobs(),
                &bag,
                scratch.path(),
                "lưu trữ tỉnh",
                NOW + Duration::days(1),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                imported.documents,
                imported.versions,
                imported.reports,
                imported.blobs,
                imported.blobs_new
            ),
            (2, 4, 1, 3, 3),
            "{backend} → {}",
            dest_db.backend()
        );
        assert_eq!(imported.manifest_sha256, exported.manifest_sha256);
        assert_eq!(
            imported.procedure,
            hoso::archive::bagit::ProcedureOutcome::Inserted
        );
        assert_eq!(objects_in(dest_blobs.path()), 3);

        // The same dossier, procedure, history, documents, versions, texts and reports.
        let a = source.archive().dossier(&code).await.unwrap();
        let b = dest.archive().dossier(&code).await.unwrap();
        assert_eq!(a.dossier, b.dossier);
        assert_eq!(a.events, b.events);
        assert_eq!(
            (
                &a.procedure.code,
                &a.procedure.name,
                a.procedure.processing_days,
                a.procedure.created_at
            ),
            (
                &b.procedure.code,
                &b.procedure.name,
                b.procedure.processing_days,
                b.procedure.created_at
            )
        );
        let docs_a = source.archive().dossier_documents(&code).await.unwrap();
        let docs_b = dest.archive().dossier_documents(&code).await.unwrap();
        assert_eq!(docs_a.len(), docs_b.len());
        for (da, db_) in docs_a.iter().zip(&docs_b) {
            for (va, vb) in da.versions.iter().zip(&db_.versions) {
                assert_eq!(
                    source.archive().version_text(va.version_id).await.unwrap(),
                    dest.archive().version_text(vb.version_id).await.unwrap()
                );
            }
            for (ra, rb) in da.reports.iter().zip(&db_.reports) {
                assert_eq!(
                    source.archive().report_json(ra.report_id).await.unwrap(),
                    dest.archive().report_json(rb.report_id).await.unwrap()
                );
            }
            assert_eq!(portable(da.clone()), portable(db_.clone()));
        }

        // Exported again from there: the same payload but for local ids and the new
        // archive's own audit entries after the source's.
        let again = out.path().join("again");
        dest.archive()
            .export_dossier(
                dest.blobs(),
                &code,
                &again,
                "lưu trữ tỉnh",
                NOW + Duration::days(2),
            )
            .await
            .unwrap();
        check_bag(&again);
        let payload_again = files(&again.join("data"));
        assert_eq!(
            payload.keys().collect::<Vec<_>>(),
            payload_again.keys().collect::<Vec<_>>()
        );
        for (path, bytes) in &payload {
            let other = &payload_again[path];
            if path.ends_with("document.json") {
                assert_eq!(without_local_ids(bytes), without_local_ids(other), "{path}");
            } else if path == "audit.jsonl" {
                assert!(
                    other.starts_with(bytes),
                    "the source's lines come first, verbatim"
                );
                let tail: Vec<Value> = std::str::from_utf8(&other[bytes.len()..])
                    .unwrap()
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect();
                assert!(tail.iter().all(|l| l["chain"] != chain.as_str()));
                assert!(tail.iter().any(|l| l["action"] == "dossier.import"));
            } else {
                assert_eq!(bytes, other, "{path}");
            }
        }
        assert!(source.archive().verify_audit().await.unwrap().intact);
        assert!(dest.archive().verify_audit().await.unwrap().intact);

        // The imported code's number is taken: the next dossier of that agency and day
        // gets the one after it.
        let next = dest
            .archive()
            .create_dossier(
                &NewDossier {
                    procedure: ProcedureCode::parse("1.001193").unwrap(),
                    agency: AgencyCode::parse("H53.100.01").unwrap(),
                    applicant: Applicant {
                        name: "Trần Văn Dũng".to_owned(),
                        id_number: None,
                        contact: None,
                    },
                    channel: Channel::Online,
                    result_delivery: None,
                    actor: "cán bộ một cửa".to_owned(),
                    note: None,
                },
                NOW + Duration::hours(3),
            )
            .await
            .unwrap();
        assert_eq!(
            next.code,
            DossierCode::new(
                &AgencyCode::parse("H53.100.01").unwrap(),
                time::macros::date!(2026 - 11 - 23),
                2
            )
            .as_str()
        );
        assert_eq!(code.as_str(), "H53.100.01-261123-530001");

        // The zip imports too, into a third archive whose catalogue already has the
        // procedure with other content: that entry is kept, the dossier keeps its own due date.
        let third_db = TestDb::sqlite();
        let (third, _third_blobs) = blob_pipeline(&third_db).await;
        third
            .archive()
            .import_procedures(
                "code,name,processing_days\n1.001193,Đăng ký khai sinh (sửa đổi),5\n".as_bytes(),
                CatalogueFormat::Csv,
                "catalogue.csv",
                "quản trị",
                NOW,
            )
            .await
            .unwrap();
        let from_zip = third
            .archive()
            .import_dossier(
                third.blobs(),
                &zip,
                scratch.path(),
                "lưu trữ",
                NOW + Duration::days(1),
            )
            .await
            .unwrap();
        assert_eq!(from_zip.manifest_sha256, zipped.manifest_sha256);
        assert_eq!(
            from_zip.procedure,
            hoso::archive::bagit::ProcedureOutcome::ExistingDiffers
        );
        let c = third.archive().dossier(&code).await.unwrap();
        assert_eq!(c.dossier, a.dossier);
        assert_eq!(c.procedure.processing_days, 5);
        assert_eq!(
            std::fs::read_dir(scratch.path()).unwrap().count(),
            0,
            "the unpacked zip is removed"
        );

        // A code already in the archive is refused, and nothing more is written.
        let entries = dest.archive().verify_audit().await.unwrap().entries;
        let again = dest
            .archive()
            .import_dossier(
                dest.blobs(),
                &bag,
                scratch.path(),
                "lưu trữ tỉnh",
                NOW + Duration::days(3),
            )
            .await
            .unwrap_err();
        assert_eq!(again.code(), "dossier-exists");
        assert!(again.message_vi().contains(code.as_str()));
        assert_eq!(
            dest.archive().verify_audit().await.unwrap().entries,
            entries
        );

        third_db.cleanup().await;
        dest_db.cleanup().await;
        db.cleanup().await;
    }
}

/// Copies a bag folder.
fn copy_dir(from: &Path, to: &Path) {
    for (path, bytes) in files(from) {
        let target = to.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
}

/// Rewrites the manifest, Payload-Oxum and tag manifest after a change, as a careful forger
/// would: only hoso's own content checks can then tell.
fn reseal(bag: &Path) {
    let all = files(bag);
    let payload: BTreeMap<&String, &Vec<u8>> =
        all.iter().filter(|(p, _)| p.starts_with("data/")).collect();
    let manifest: String = payload
        .iter()
        .map(|(p, b)| format!("{}  {p}\n", sha256_hex(b)))
        .collect();
    std::fs::write(bag.join("manifest-sha256.txt"), &manifest).unwrap();
    let octets: usize = payload.values().map(|b| b.len()).sum();
    let info = std::fs::read_to_string(bag.join("bag-info.txt")).unwrap();
    let info: String = info
        .lines()
        .map(|l| {
            if l.starts_with("Payload-Oxum:") {
                format!("Payload-Oxum: {octets}.{}\n", payload.len())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(bag.join("bag-info.txt"), &info).unwrap();
    let tags: String = ["bag-info.txt", "bagit.txt", "manifest-sha256.txt"]
        .iter()
        .map(|p| {
            format!(
                "{}  {p}\n",
                sha256_hex(&std::fs::read(bag.join(p)).unwrap())
            )
        })
        .collect();
    std::fs::write(bag.join("tagmanifest-sha256.txt"), tags).unwrap();
}

#[tokio::test]
async fn tampered_bags_an_existing_code_and_an_occupied_target_are_refused_with_nothing_stored() {
    let work = tempfile::tempdir().unwrap();
    let signed = signed_sample(work.path());
    for db in backends().await {
        let backend = db.backend();
        let (source, source_blobs) = blob_pipeline(&db).await;
        let code = build_dossier(&source, &signed).await;
        let out = tempfile::tempdir().unwrap();
        let bag = out.path().join("bag");
        source
            .archive()
            .export_dossier(source.blobs(), &code, &bag, "lưu trữ viên", NOW)
            .await
            .unwrap();
        let zip = out.path().join("bag.zip");
        source
            .archive()
            .export_dossier(source.blobs(), &code, &zip, "lưu trữ viên", NOW)
            .await
            .unwrap();
        let scan_file = files(&bag.join("data/documents/1"))
            .into_keys()
            .find(|p| p.ends_with(".tif"))
            .map(|p| format!("data/documents/1/{p}"))
            .unwrap();

        /// A change to a copy of the bag, the error code expected, and for fixity failures
        /// the problem's English and Vietnamese words.
        type Tamper = Box<dyn Fn(&Path)>;
        type Expected = (&'static str, Option<(&'static str, &'static str)>);
        let scan = scan_file.clone();
        let scan_again = scan_file.clone();
        let cases: Vec<(&str, Tamper, Expected)> = vec![
            (
                "one byte changed",
                Box::new(move |b: &Path| {
                    let path = b.join(&scan);
                    let mut bytes = std::fs::read(&path).unwrap();
                    bytes[1_000_000] ^= 0x01;
                    std::fs::write(&path, bytes).unwrap();
                }),
                ("package-fixity-failed", Some(("changed", "bị thay đổi"))),
            ),
            (
                "a file removed",
                Box::new(|b: &Path| {
                    std::fs::remove_file(b.join("data/documents/2/reports/1.json")).unwrap()
                }),
                ("package-fixity-failed", Some(("missing", "bị thiếu"))),
            ),
            (
                "an extra file",
                Box::new(|b: &Path| {
                    std::fs::write(b.join("data/documents/2/ghi-chu.txt"), "thêm").unwrap()
                }),
                (
                    "package-fixity-failed",
                    Some(("untracked", "không có trong manifest")),
                ),
            ),
            (
                "an extra file, resealed",
                Box::new(|b: &Path| {
                    std::fs::write(b.join("data/documents/2/ghi-chu.txt"), "thêm").unwrap();
                    reseal(b);
                }),
                ("package-invalid", None),
            ),
            (
                "a version's bytes replaced, resealed",
                Box::new(move |b: &Path| {
                    std::fs::write(b.join(&scan_again), b"other bytes").unwrap();
                    reseal(b);
                }),
                ("package-invalid", None),
            ),
            (
                "an audit entry altered, resealed",
                Box::new(|b: &Path| {
                    let audit = b.join("data/audit.jsonl");
                    let text = std::fs::read_to_string(&audit).unwrap();
                    assert!(text.contains("cán bộ một cửa"));
                    std::fs::write(&audit, text.replacen("cán bộ một cửa", "người khác", 1))
                        .unwrap();
                    reseal(b);
                }),
                ("package-invalid", None),
            ),
        ];
        let dest_db = other_backend(&db).await;
        let (dest, dest_blobs) = blob_pipeline(&dest_db).await;
        let scratch = tempfile::tempdir().unwrap();
        for (name, tamper, (expected, problem)) in &cases {
            let copy = tempfile::tempdir().unwrap();
            copy_dir(&bag, copy.path());
            tamper(copy.path());
            let e = dest
                .archive()
                .import_dossier(dest.blobs(), copy.path(), scratch.path(), "lưu trữ", NOW)
                .await
                .unwrap_err();
            assert_eq!(e.code(), *expected, "{backend} {name}: {e}");
            if let Some((english, vietnamese)) = problem {
                assert!(e.to_string().contains(english), "{name}: {e}");
                assert!(
                    e.message_vi().contains(vietnamese),
                    "{name}: {}",
                    e.message_vi()
                );
                assert!(
                    e.message_vi().contains("chưa nhập gì"),
                    "{}",
                    e.message_vi()
                );
            }
            assert_eq!(
                dest.archive().verify_audit().await.unwrap().entries,
                0,
                "{name}"
            );
            assert!(dest.archive().dossier(&code).await.is_err(), "{name}");
            assert_eq!(
                objects_in(dest_blobs.path()),
                0,
                "{name}: no content stored"
            );
        }
        // A zip with a byte changed inside a stored version.
        let mut zip_bytes = std::fs::read(&zip).unwrap();
        let needle = &scan_bytes()[2_000_000..2_000_032];
        let at = zip_bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("the scan is stored uncompressed");
        zip_bytes[at + 5] ^= 0x80;
        let bad_zip = out.path().join("bad.zip");
        std::fs::write(&bad_zip, zip_bytes).unwrap();
        let e = dest
            .archive()
            .import_dossier(dest.blobs(), &bad_zip, scratch.path(), "lưu trữ", NOW)
            .await
            .unwrap_err();
        assert!(
            ["package-fixity-failed", "package-invalid"].contains(&e.code()),
            "{e}"
        );
        assert_eq!(objects_in(dest_blobs.path()), 0);
        assert_eq!(dest.archive().verify_audit().await.unwrap().entries, 0);
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);

        // Into the archive that already has the dossier.
        let entries = source.archive().verify_audit().await.unwrap().entries;
        let objects = objects_in(source_blobs.path());
        let e = source
            .archive()
            .import_dossier(source.blobs(), &bag, scratch.path(), "lưu trữ", NOW)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "dossier-exists");
        assert_eq!(
            source.archive().verify_audit().await.unwrap().entries,
            entries
        );
        assert_eq!(objects_in(source_blobs.path()), objects);

        // An occupied target is left as it was, with no export recorded and no leftovers.
        std::fs::write(out.path().join("occupied.zip"), b"keep").unwrap();
        for target in [bag.clone(), out.path().join("occupied.zip")] {
            let before = files(out.path());
            let e = source
                .archive()
                .export_dossier(source.blobs(), &code, &target, "lưu trữ viên", NOW)
                .await
                .unwrap_err();
            assert_eq!(e.code(), "export-target-exists", "{}", target.display());
            assert_eq!(files(out.path()), before);
        }
        assert_eq!(
            source.archive().verify_audit().await.unwrap().entries,
            entries
        );
        // An empty folder is a fine target.
        let empty = out.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        source
            .archive()
            .export_dossier(source.blobs(), &code, &empty, "lưu trữ viên", NOW)
            .await
            .unwrap();
        check_bag(&empty);
        let leftovers: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        dest_db.cleanup().await;
        db.cleanup().await;
    }
}

/// A data folder for the binary: SQLite in it, blobs under `blobs/` as `hoso` keeps them.
async fn data_dir_pipeline(dir: &Path) -> Arc<Pipeline> {
    let archive = Archive::connect(&DatabaseTarget::Sqlite {
        path: dir.join("hoso.db"),
    })
    .await
    .unwrap();
    let blobs = LocalBlobStore::open(dir.join("blobs")).unwrap();
    Arc::new(Pipeline::new(archive, Arc::new(blobs), 2))
}

#[tokio::test]
async fn the_binary_exports_a_zip_and_imports_it_once() {
    let work = tempfile::tempdir().unwrap();
    let signed = signed_sample(work.path());
    let source_dir = work.path().join("source");
    let source = data_dir_pipeline(&source_dir).await;
    let code = build_dossier(&source, &signed).await;
    source.close().await;
    let cli = |data: &Path| {
        let mut command = hoso();
        command
            .env("HOSO_DATA_DIR", data)
            .env(
                "HOSO_DATABASE_URL",
                format!("sqlite:{}", data.join("hoso.db").display()),
            )
            .env("HOSO_ACTOR", "lưu trữ viên");
        command
    };
    let zip = work.path().join("ho-so.zip");
    let r = run(cli(&source_dir)
        .args(["export", "--dossier", code.as_str(), "-o"])
        .arg(&zip)
        .args(["--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let exported: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(exported["package"], "zip");
    assert_eq!(exported["payload_files"], 8);
    assert!(zip.is_file());

    let r = run(cli(&source_dir)
        .args(["export", "--dossier", code.as_str(), "-o"])
        .arg(&zip));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("export-target-exists"), "{}", r.stderr);

    let dest_dir = work.path().join("dest");
    let r = run(cli(&dest_dir).arg("import").arg(&zip));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(code.as_str()), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(exported["manifest_sha256"].as_str().unwrap()),
        "{}",
        r.stdout
    );
    let r = run(cli(&dest_dir)
        .arg("import")
        .arg(&zip)
        .args(["--format", "json"]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("lỗi [dossier-exists]"), "{}", r.stderr);
    let r = run(cli(&dest_dir).args(["dossier", "show", code.as_str(), "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let shown: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(shown["status"], "appraised");
    let r = run(cli(&dest_dir).args(["audit", "verify"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

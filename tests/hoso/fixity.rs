//! Fixity checks on both backends: a byte flipped, a blob deleted, a stray object dropped in
//! the store are reported exactly as changed / missing / untracked (archive.md §5.2
//! "fixity drift"); samples; paging and capped lists; the `hoso fixity` command.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use hoso::archive::ArchiveError;
use hoso::archive::blob::{
    BlobReader, BlobStore, ListedObject, LocalBlobStore, StoredBlob, blob_key,
};
use hoso::archive::fixity::{FixityOptions, FixityReport, LIST_CAP};
use hoso::digest::Sha256Digest;
use hoso::pipeline::Pipeline;
use time::macros::datetime;

use crate::helpers::{TestDb, backends, hoso, pipeline, run};

const NOW: time::OffsetDateTime = datetime!(2026-11-24 01:00 UTC);

fn full(jobs: usize) -> FixityOptions {
    FixityOptions {
        sample: None,
        actor: "lưu trữ viên".to_owned(),
        jobs,
    }
}

fn sample(n: usize) -> FixityOptions {
    FixityOptions {
        sample: Some(n),
        ..full(2)
    }
}

async fn store(pipeline: &Pipeline, bytes: &[u8]) -> Sha256Digest {
    let record = pipeline
        .store(
            &mut std::io::Cursor::new(bytes.to_vec()),
            "application/pdf",
            NOW,
        )
        .await
        .unwrap();
    record.sha256.parse().unwrap()
}

/// Blobs are published read-only; damage comes from outside hoso's rules.
fn make_writable(path: &Path) {
    let mut permissions = std::fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(path, permissions).unwrap();
}

/// Writes `bytes` at `key` in the object area, as someone with access to the disk could.
fn drop_object(blob_dir: &Path, key: &str, bytes: &[u8]) {
    let path = blob_dir.join("sha256").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The local store without its blocking opener: blobs are read through `open`.
struct AsyncOnly(LocalBlobStore);

#[async_trait::async_trait]
impl BlobStore for AsyncOnly {
    async fn put(
        &self,
        body: &mut (dyn tokio::io::AsyncRead + Send + Unpin),
    ) -> Result<StoredBlob, ArchiveError> {
        self.0.put(body).await
    }
    async fn open(&self, sha256: &Sha256Digest) -> Result<BlobReader, ArchiveError> {
        self.0.open(sha256).await
    }
    async fn contains(&self, sha256: &Sha256Digest) -> Result<bool, ArchiveError> {
        self.0.contains(sha256).await
    }
    async fn check_writable(&self) -> Result<(), ArchiveError> {
        self.0.check_writable().await
    }
    async fn list(
        &self,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ListedObject>, ArchiveError> {
        self.0.list(start_after, limit).await
    }
}

async fn last_audit_entry(db: &TestDb) -> hoso::archive::audit::AuditEntry {
    let archive = db.archive().await;
    let entries = archive.audit_entries(0, 100_000).await.unwrap();
    archive.close().await;
    entries.last().cloned().expect("an audit entry")
}

fn content(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| ((i * 31 + j * 7) % 251) as u8).collect()
}

#[tokio::test]
async fn fixity_reports_changed_missing_and_untracked_exactly() {
    for db in backends().await {
        let (pipeline, blob_dir) = pipeline(&db).await;
        let backend = db.backend();
        // Blob 1 spans several read chunks, so the flipped byte sits mid-stream.
        let sizes = [10_000, 2_500_000, 40_000, 70_000, 5_000, 1];
        let mut digests = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            digests.push(store(&pipeline, &content(i, *size)).await);
        }
        let total_bytes: u64 = sizes.iter().map(|s| *s as u64).sum();

        let intact = pipeline
            .archive()
            .check_fixity(pipeline.blobs(), full(2), NOW)
            .await
            .unwrap();
        assert!(intact.intact, "{backend}: {intact:?}");
        assert_eq!((intact.checked, intact.ok), (6, 6), "{backend}");
        assert_eq!(intact.bytes_hashed, total_bytes);
        assert!(intact.changed.is_empty() && intact.missing.is_empty());
        assert!(intact.untracked.is_empty() && !intact.sampled);

        let store_of = LocalBlobStore::open(blob_dir.path()).unwrap();
        // Blob 1: one byte flipped in the middle.
        let flipped_path = store_of.path_of(&digests[1]);
        make_writable(&flipped_path);
        let mut flipped = std::fs::read(&flipped_path).unwrap();
        flipped[1_234_567] ^= 0x01;
        std::fs::write(&flipped_path, &flipped).unwrap();
        // Blob 2: gone.
        std::fs::remove_file(store_of.path_of(&digests[2])).unwrap();
        // Blob 3: cut short.
        let truncated_path = store_of.path_of(&digests[3]);
        make_writable(&truncated_path);
        std::fs::write(&truncated_path, &content(3, 70_000)[..69_000]).unwrap();
        // Blob 4: its name now holds a folder, which opens but cannot be read.
        let unreadable_path = store_of.path_of(&digests[4]);
        std::fs::remove_file(&unreadable_path).unwrap();
        std::fs::create_dir(&unreadable_path).unwrap();
        // A valid blob nobody recorded, and a file that is not a blob at all.
        let stray = Sha256Digest::of(b"stray bytes");
        drop_object(blob_dir.path(), &blob_key(&stray), b"stray bytes");
        drop_object(blob_dir.path(), "ab/Nguyen Van A.txt", b"note");

        // A store without a blocking opener (as a remote one) is read through `open`, and
        // must be found in the same state.
        let async_only = AsyncOnly(store_of.clone());
        let through_open = pipeline
            .archive()
            .check_fixity(&async_only, full(2), NOW)
            .await
            .unwrap();
        let report = pipeline
            .archive()
            .check_fixity(pipeline.blobs(), full(3), NOW)
            .await
            .unwrap();
        assert_eq!(
            (
                &through_open.changed,
                &through_open.missing,
                &through_open.untracked
            ),
            (&report.changed, &report.missing, &report.untracked),
            "{backend}"
        );
        assert!(!report.intact, "{backend}");
        assert_eq!((report.checked, report.ok), (6, 2), "{backend}: {report:?}");
        let mut changed_expected = vec![
            digests[1].to_hex(),
            digests[3].to_hex(),
            digests[4].to_hex(),
        ];
        changed_expected.sort();
        let changed: Vec<&str> = report.changed.iter().map(|c| c.sha256.as_str()).collect();
        assert_eq!(changed, changed_expected, "{backend}");
        assert_eq!(report.changed_total, 3);
        let by_name = |d: &Sha256Digest| {
            report
                .changed
                .iter()
                .find(|c| c.sha256 == d.to_hex())
                .unwrap()
                .clone()
        };
        let flipped_entry = by_name(&digests[1]);
        assert_eq!(flipped_entry.found_size, 2_500_000);
        assert_eq!(flipped_entry.recorded_size, 2_500_000);
        assert_eq!(
            flipped_entry.found_sha256,
            Some(Sha256Digest::of(&flipped).to_hex())
        );
        let truncated_entry = by_name(&digests[3]);
        assert_eq!(
            (truncated_entry.recorded_size, truncated_entry.found_size),
            (70_000, 69_000)
        );
        let unreadable_entry = by_name(&digests[4]);
        assert!(unreadable_entry.found_sha256.is_none());
        assert!(
            unreadable_entry.read_error.is_some(),
            "{unreadable_entry:?}"
        );
        assert_eq!(report.missing, vec![digests[2].to_hex()], "{backend}");
        assert_eq!(report.missing_total, 1);
        let untracked: Vec<(&str, Option<&str>)> = report
            .untracked
            .iter()
            .map(|u| (u.key.as_str(), u.sha256.as_deref()))
            .collect();
        let (stray_key, stray_hex) = (blob_key(&stray), stray.to_hex());
        let mut expected = vec![
            (stray_key.as_str(), Some(stray_hex.as_str())),
            ("ab/Nguyen Van A.txt", None),
        ];
        expected.sort();
        assert_eq!(untracked, expected, "{backend}");
        assert_eq!((report.untracked_total, report.untracked_other), (2, 1));
        assert_eq!(
            report.bytes_hashed,
            10_000 + 2_500_000 + 69_000 + 1,
            "every byte read, the folder none"
        );

        // One audit entry per run; the chain still verifies.
        let entry = last_audit_entry(&db).await;
        assert_eq!(entry.seq, report.audit_seq);
        assert_eq!(
            (
                entry.action.as_str(),
                entry.object_kind.as_str(),
                entry.object_id.as_str()
            ),
            ("fixity.check", "blob_store", "all")
        );
        assert_eq!(entry.actor, "lưu trữ viên");
        let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
        assert_eq!(details["checked"], 6);
        assert_eq!(details["ok"], 2);
        assert_eq!(details["changed"], 3);
        assert_eq!(details["missing"], 1);
        assert_eq!(details["untracked"], 2);
        assert_eq!(details["untracked_other"], 1);
        assert_eq!(
            details["changed_sha256"],
            serde_json::json!(changed_expected)
        );
        assert_eq!(
            details["missing_sha256"],
            serde_json::json!([digests[2].to_hex()])
        );
        assert_eq!(
            details["untracked_sha256"],
            serde_json::json!([stray.to_hex()])
        );
        assert!(
            !entry.details.contains("Nguyen"),
            "file names found in the store stay out of the permanent log"
        );
        let archive = db.archive().await;
        let verification = archive.verify_audit().await.unwrap();
        assert!(verification.intact, "{backend}: {verification:?}");
        assert_eq!(verification.last_seq, Some(report.audit_seq));
        archive.close().await;

        // Nothing was repaired or removed.
        assert_eq!(std::fs::read(&flipped_path).unwrap(), flipped);
        assert!(!store_of.path_of(&digests[2]).exists());
        assert!(store_of.path_of(&stray).exists());
        assert!(blob_dir.path().join("sha256/ab/Nguyen Van A.txt").exists());
        pipeline.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_sample_checks_n_random_blobs_and_repeated_samples_cover_the_store() {
    for db in backends().await {
        let (pipeline, blob_dir) = pipeline(&db).await;
        let backend = db.backend();
        // Recorded but never stored: every blob a sample picks shows up as missing, which
        // shows which ones it picked.
        let mut recorded = BTreeSet::new();
        for i in 0..30 {
            let sha = Sha256Digest::of(format!("trang {i}").as_bytes());
            pipeline
                .archive()
                .record_blob(&sha, 10, "image/png", NOW)
                .await
                .unwrap();
            recorded.insert(sha.to_hex());
        }
        let stray = Sha256Digest::of(b"stray");
        drop_object(blob_dir.path(), &blob_key(&stray), b"stray");

        let mut covered = BTreeSet::new();
        let mut choices = BTreeSet::new();
        for _ in 0..8 {
            let report = pipeline
                .archive()
                .check_fixity(pipeline.blobs(), sample(5), NOW)
                .await
                .unwrap();
            assert!(report.sampled, "{backend}");
            assert_eq!((report.checked, report.recorded), (5, 30), "{backend}");
            assert_eq!(report.missing_total, 5);
            let picked: BTreeSet<String> = report.missing.iter().cloned().collect();
            assert_eq!(picked.len(), 5, "five different blobs");
            assert!(picked.is_subset(&recorded));
            assert_eq!(
                report.untracked_total, 0,
                "a sample does not list the store"
            );
            covered.extend(picked.iter().cloned());
            choices.insert(picked.into_iter().collect::<Vec<_>>());
        }
        // Eight equal draws of 5 out of 30 would have odds of 1 in 142 506^7.
        assert!(
            choices.len() > 1,
            "{backend}: the sample is the same every run"
        );
        assert!(covered.len() > 5);

        let entry = last_audit_entry(&db).await;
        assert_eq!(entry.object_id, "sample");
        let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
        assert_eq!(details["sampled"], true);
        assert_eq!(details["checked"], 5);

        let everything = pipeline
            .archive()
            .check_fixity(pipeline.blobs(), sample(1_000), NOW)
            .await
            .unwrap();
        assert_eq!(
            everything.checked, 30,
            "a sample larger than the archive checks it all"
        );

        let refused = pipeline
            .archive()
            .check_fixity(pipeline.blobs(), sample(0), NOW)
            .await
            .unwrap_err();
        assert!(matches!(
            refused,
            ArchiveError::FieldInvalid {
                field: "sample",
                ..
            }
        ));
        let no_actor = FixityOptions {
            actor: "  ".to_owned(),
            ..full(1)
        };
        assert!(
            pipeline
                .archive()
                .check_fixity(pipeline.blobs(), no_actor, NOW)
                .await
                .is_err()
        );
        pipeline.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn fixity_pages_past_a_thousand_rows_and_objects_and_caps_its_lists() {
    for db in backends().await {
        let (pipeline, blob_dir) = pipeline(&db).await;
        let backend = db.backend();
        let store_of = LocalBlobStore::open(blob_dir.path()).unwrap();
        // 1 100 rows (more than one page of the table): the even ones hold the wrong 3
        // bytes (changed), the odd ones nothing (missing).
        let names: Vec<Sha256Digest> = (0..1_100)
            .map(|i| Sha256Digest::of(format!("row {i}").as_bytes()))
            .collect();
        let values: Vec<String> = names
            .iter()
            .map(|d| format!("('{d}', 3, 'text/plain', '2026-11-24 01:00:00+00:00')"))
            .collect();
        db.execute_raw(&format!(
            "INSERT INTO blob (sha256, size_bytes, media_type, first_stored_at) VALUES {}",
            values.join(", ")
        ))
        .await
        .unwrap();
        for name in names.iter().step_by(2) {
            let path = store_of.path_of(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"abc").unwrap();
        }
        // 1 200 untracked blobs: more than a listing page and than a report list holds.
        let strays: Vec<Sha256Digest> = (0..1_200)
            .map(|i| Sha256Digest::of(format!("stray {i}").as_bytes()))
            .collect();
        for stray in &strays {
            drop_object(blob_dir.path(), &blob_key(stray), b"x");
        }

        let report: FixityReport = pipeline
            .archive()
            .check_fixity(pipeline.blobs(), full(2), NOW)
            .await
            .unwrap();
        assert_eq!(
            (report.checked, report.recorded, report.ok),
            (1_100, 1_100, 0),
            "{backend}"
        );
        assert_eq!((report.changed_total, report.missing_total), (550, 550));
        assert_eq!((report.changed.len(), report.missing.len()), (550, 550));
        let abc = Sha256Digest::of(b"abc").to_hex();
        assert!(
            report
                .changed
                .iter()
                .all(|c| c.found_sha256.as_deref() == Some(abc.as_str()))
        );
        let mut odd: Vec<String> = names
            .iter()
            .skip(1)
            .step_by(2)
            .map(|d| d.to_hex())
            .collect();
        odd.sort();
        assert_eq!(report.missing, odd);
        assert_eq!(report.untracked_total, 1_200, "{backend}");
        assert_eq!(report.untracked.len(), LIST_CAP);
        let stray_names: BTreeSet<String> = strays.iter().map(|d| d.to_hex()).collect();
        assert!(
            report
                .untracked
                .iter()
                .all(|u| stray_names.contains(u.sha256.as_deref().unwrap())),
            "no recorded blob is taken for untracked"
        );
        assert_eq!(report.bytes_hashed, 550 * 3);

        let entry = last_audit_entry(&db).await;
        let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
        assert_eq!(details["untracked"], 1_200);
        assert_eq!(
            details["untracked_sha256"].as_array().unwrap().len(),
            LIST_CAP
        );
        assert_eq!(details["missing_sha256"].as_array().unwrap().len(), 550);
        pipeline.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn hoso_fixity_exit_codes_and_json() {
    for db in backends().await {
        let dir = tempfile::tempdir().unwrap();
        let blob_dir = dir.path().join("blobs");
        let blobs = LocalBlobStore::open(&blob_dir).unwrap();
        let pipeline = Pipeline::new(db.archive().await, Arc::new(blobs.clone()), 2);
        let mut digests = Vec::new();
        for i in 0..3 {
            digests.push(store(&pipeline, &content(i, 50_000 + i)).await);
        }
        pipeline.close().await;
        let url = db.url();
        let cli = |args: &[&str]| {
            let mut command = hoso();
            command
                .arg("fixity")
                .args(args)
                .env("HOSO_DATA_DIR", dir.path())
                .env("HOSO_DATABASE_URL", &url);
            run(&mut command)
        };
        let json = |out: &crate::helpers::Run| -> serde_json::Value {
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
        };

        let intact = cli(&["--format", "json", "--actor", "lưu trữ viên"]);
        assert_eq!(intact.code, 0, "{}", intact.stderr);
        let report = json(&intact);
        assert_eq!(report["checked"], 3);
        assert_eq!(report["ok"], 3);
        assert_eq!(report["intact"], true);
        assert_eq!(report["sampled"], false);
        assert_eq!(report["bytes_hashed"], 150_003);
        assert!(report["seconds"].as_f64().unwrap() >= 0.0);
        for list in ["changed", "missing", "untracked"] {
            assert_eq!(report[list], serde_json::json!([]), "{list}");
        }
        let text = cli(&[]);
        assert_eq!(text.code, 0, "{}", text.stderr);
        assert!(
            text.stdout.contains("nguyên vẹn (ok): 3"),
            "{}",
            text.stdout
        );

        // Untracked alone: the records are intact, exit 0 with a warning.
        let stray = Sha256Digest::of(b"stray");
        drop_object(&blob_dir, &blob_key(&stray), b"stray");
        let untracked = cli(&["--format", "json"]);
        assert_eq!(untracked.code, 0, "{}", untracked.stderr);
        assert!(
            untracked.stderr.contains("cảnh báo"),
            "{}",
            untracked.stderr
        );
        assert_eq!(json(&untracked)["untracked"][0]["sha256"], stray.to_hex());

        let damaged_path = blobs.path_of(&digests[0]);
        make_writable(&damaged_path);
        let mut bytes = std::fs::read(&damaged_path).unwrap();
        bytes[0] ^= 0x80;
        std::fs::write(&damaged_path, &bytes).unwrap();
        let damaged = cli(&["--format", "json"]);
        assert_eq!(damaged.code, 1, "{}", damaged.stderr);
        assert!(
            damaged.stderr.contains("lỗi [fixity-failed]"),
            "{}",
            damaged.stderr
        );
        let report = json(&damaged);
        assert_eq!(report["intact"], false);
        assert_eq!(report["changed"][0]["sha256"], digests[0].to_hex());
        assert_eq!(report["ok"], 2);
        let text = cli(&[]);
        assert_eq!(text.code, 1);
        assert!(
            text.stdout
                .contains(&format!("BỊ THAY ĐỔI (changed): {}", digests[0])),
            "{}",
            text.stdout
        );

        let sampled = cli(&["--sample", "2", "--format", "json"]);
        let report = json(&sampled);
        assert_eq!(report["sampled"], true);
        assert_eq!(report["checked"], 2);
        let picked_damaged = report["changed_total"] == 1;
        assert_eq!(
            sampled.code,
            if picked_damaged { 1 } else { 0 },
            "{}",
            sampled.stderr
        );

        let usage = cli(&["--sample", "0"]);
        assert_eq!(usage.code, 2, "{}", usage.stderr);

        let mut audit = hoso();
        audit
            .args(["audit", "verify"])
            .env("HOSO_DATA_DIR", dir.path())
            .env("HOSO_DATABASE_URL", &url);
        let verified = run(&mut audit);
        assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
        let archive = db.archive().await;
        let checks = archive
            .audit_entries(0, 100_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "fixity.check")
            .count();
        assert_eq!(checks, 6, "one audit entry per run");
        archive.close().await;
        db.cleanup().await;
    }
}

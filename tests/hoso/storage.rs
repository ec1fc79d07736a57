//! The archive and blob store on both database backends.

use hoso::digest::Sha256Digest;
use time::macros::datetime;
use tokio::io::AsyncReadExt;

use crate::helpers::{backends, pipeline};

#[tokio::test]
async fn migrations_apply_on_start_and_again_without_harm() {
    for db in backends().await {
        let first = db.archive().await;
        first.ping().await.unwrap();
        first.close().await;
        // A second start (or a second replica) finds the schema current.
        let second = db.archive().await;
        second.ping().await.unwrap();
        second.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_first_record_of_a_blob_is_kept() {
    for db in backends().await {
        let archive = db.archive().await;
        let sha = Sha256Digest::of(b"scan page 1");
        let first_at = datetime!(2026-11-22 08:00 UTC);
        let first = archive
            .record_blob(&sha, 11, "image/png", first_at)
            .await
            .unwrap();
        assert_eq!(first.sha256, sha.to_hex());
        assert_eq!(first.first_stored_at, first_at);
        let again = archive
            .record_blob(
                &sha,
                11,
                "application/octet-stream",
                datetime!(2026-11-23 09:00 UTC),
            )
            .await
            .unwrap();
        assert_eq!(
            again,
            first,
            "{}: a later record must not change the first",
            archive.backend()
        );
        assert!(
            archive
                .blob(&Sha256Digest::of(b"other"))
                .await
                .unwrap()
                .is_none()
        );
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn pipeline_streams_uploads_into_the_store_and_the_archive() {
    for db in backends().await {
        let (pipeline, _blob_dir) = pipeline(&db).await;
        // 3 MiB, larger than the copy buffer, so the upload arrives in several chunks.
        let content: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let now = datetime!(2026-11-22 10:30 UTC);
        let record = pipeline
            .store(
                &mut std::io::Cursor::new(content.clone()),
                "application/pdf",
                now,
            )
            .await
            .unwrap();
        assert_eq!(record.sha256, Sha256Digest::of(&content).to_hex());
        assert_eq!(record.size_bytes, content.len() as i64);

        let mut back = Vec::new();
        let sha: Sha256Digest = record.sha256.parse().unwrap();
        pipeline
            .blobs()
            .open(&sha)
            .await
            .unwrap()
            .read_to_end(&mut back)
            .await
            .unwrap();
        assert!(
            back == content,
            "stored bytes differ on {}",
            pipeline.archive().backend()
        );

        let duplicate = pipeline
            .store(
                &mut std::io::Cursor::new(content),
                "application/pdf",
                datetime!(2026-12-01 0:00 UTC),
            )
            .await
            .unwrap();
        assert_eq!(duplicate, record);
        pipeline.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn blocking_work_runs_within_the_job_limit() {
    let db = crate::helpers::TestDb::sqlite();
    let (pipeline, _blob_dir) = pipeline(&db).await;
    let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (pipeline, running, peak) = (pipeline.clone(), running.clone(), peak.clone());
            tokio::spawn(async move {
                pipeline
                    .run_blocking(move || {
                        use std::sync::atomic::Ordering::SeqCst;
                        let now = running.fetch_add(1, SeqCst) + 1;
                        peak.fetch_max(now, SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(30));
                        running.fetch_sub(1, SeqCst);
                        Ok(())
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let peak = peak.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (1..=2).contains(&peak),
        "pipeline built with 2 jobs ran {peak} at once"
    );
}

//! OCR jobs: a stored scan becomes a searchable PDF/A version in the background, while the
//! caller (the API's 202) polls the job row (`archive::jobs`) from any replica.
//!
//! 1. Checked before the job exists: the document exists, its newest version is a scan
//!    (PNG, JPEG, TIFF or PDF), not signed (a searchable copy would drop the signatures) and
//!    not already the output of OCR; the content is copied out and checked against its
//!    digest; the pages are counted (a PDF's from its newest revision, a TIFF's frames).
//! 2. A task runs the same OCR step as `ingest --ocr` (`ingest::ocr_version`): the result is
//!    the document's next version (`ocr`) with text, confidence and Decree 30 metadata.
//! 3. Meanwhile the job row gets the pages written, at most every [`PROGRESS_INTERVAL`],
//!    and a heartbeat every [`JOB_HEARTBEAT`] even while the job waits for a CPU permit; at
//!    the end, the result (or the error's code and messages).
//!
//! The pipeline is the async edge, so the task reads the clock itself (`now_utc`) for the
//! times it records after the call returned.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::Pipeline;
use super::ingest::{OcrTarget, is_scan};
use super::preview::PageSource;
use crate::archive::ArchiveError;
use crate::archive::documents::{DocumentRecord, VersionKind};
use crate::archive::jobs::{JOB_HEARTBEAT, JOB_STALE_AFTER, Job, JobFailure};
use crate::error::{Coded, Error, Result};

/// Progress is written to the job row at most this often.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// What the OCR step reported last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Progress {
    /// The OCR step holds its CPU permit and runs.
    started: bool,
    /// Pages written.
    done: usize,
}

fn refused(document_id: i64, reason: &'static str, reason_vi: &'static str) -> Error {
    Error::Archive(ArchiveError::OcrNotApplicable {
        document_id,
        reason,
        reason_vi,
    })
}

/// Whether `path` carries a PDF signature (`/ByteRange`), read through a read-only mapping.
fn carries_signature(path: &Path) -> Result<bool> {
    let file = std::fs::File::open(path).map_err(|e| super::ingest::io_failed(path, &e))?;
    let bytes = crate::verify::map_file(&file).map_err(|e| super::ingest::io_failed(path, &e))?;
    Ok(memchr::memmem::find(&bytes, b"/ByteRange").is_some())
}

/// Refuses what OCR must not touch, from the record alone (module documentation, step 1).
fn check_ocrable(record: &DocumentRecord) -> Result<()> {
    let document_id = record.document.document_id;
    let latest = record
        .latest()
        .ok_or_else(|| Error::Task(format!("document {document_id} has no version")))?;
    if !is_scan(&latest.media_type) {
        return Err(refused(
            document_id,
            "its newest version is not a scan (PNG, JPEG, TIFF or PDF)",
            "phiên bản mới nhất không phải ảnh quét (PNG, JPEG, TIFF hoặc PDF)",
        ));
    }
    let signed = matches!(latest.kind, VersionKind::Signed | VersionKind::Extended)
        || record.signatures.iter().any(|s| s.kind == "signature");
    if signed {
        return Err(signed_refusal(document_id));
    }
    let already = record
        .versions
        .iter()
        .any(|v| v.kind == VersionKind::Ocr && v.sha256 == latest.sha256);
    if already {
        return Err(refused(
            document_id,
            "its newest version is already the searchable PDF made by OCR",
            "phiên bản mới nhất đã là bản PDF tìm kiếm được do OCR tạo ra",
        ));
    }
    Ok(())
}

fn signed_refusal(document_id: i64) -> Error {
    refused(
        document_id,
        "it is a signed PDF: a searchable copy would drop the signatures",
        "tệp PDF đã ký số, bản nhận dạng chữ sẽ làm mất chữ ký",
    )
}

/// The job row's end for `outcome`.
fn failure_of(error: &Error) -> JobFailure {
    (
        error.code().to_owned(),
        error.message_vi(),
        error.to_string(),
    )
}

impl Pipeline {
    /// Creates a job and starts OCR of the newest version of `document_id` in the
    /// background (module documentation); returns the queued job at once.
    ///
    /// # Errors
    /// `document-not-found`; `ocr-not-applicable` (not a scan, signed, already OCRed);
    /// the content missing or damaged; `pdf-malformed`/`image-corrupt` when its pages cannot
    /// be counted; database failure. Nothing is created then. Errors of the OCR itself end
    /// up in the job.
    pub async fn start_ocr_job(
        self: &Arc<Self>,
        document_id: i64,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Job> {
        let record = self.archive.document(document_id).await?;
        check_ocrable(&record)?;
        let latest = record
            .latest()
            .cloned()
            .ok_or_else(|| Error::Task(format!("document {document_id} has no version")))?;
        let staged = self.stage_version(&latest, actor, now).await?;
        let kind = PageSource::of(&latest.media_type)
            .ok_or_else(|| Error::Task(format!("{} has no pages", latest.media_type)))?;
        let (path, name) = (staged.path().to_owned(), latest.file_name.clone());
        // Reading the file through once is I/O, not CPU work: no permit, which a queue of
        // OCR jobs may hold for minutes.
        let (signed, total) = tokio::task::spawn_blocking(move || -> Result<(bool, usize)> {
            let signed = kind == PageSource::Pdf && carries_signature(&path)?;
            let total = if signed { 0 } else { kind.count(&path, &name)? };
            Ok((signed, total))
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))??;
        if signed {
            return Err(signed_refusal(document_id));
        }
        let job = self
            .archive
            .create_job("ocr", Some(document_id), actor, now)
            .await?;
        let total = i64::try_from(total).ok();
        self.archive.job_heartbeat(&job.job_id, total, now).await?;
        let target = OcrTarget {
            document_id,
            parent_version: latest.version,
            metadata: latest.metadata.clone(),
            title: latest.metadata.subject.clone().or_else(|| {
                Path::new(&latest.file_name)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            }),
            actor: actor.to_owned(),
        };
        let pipeline = self.clone();
        let job_id = job.job_id.clone();
        tokio::spawn(async move {
            pipeline.run_ocr_job(job_id, staged, target, total).await;
        });
        self.archive.job(&job.job_id).await.map_err(Error::from)
    }

    /// The background part of [`Pipeline::start_ocr_job`]: runs the OCR step in a task of
    /// its own (a panic there fails the job instead of leaving it running), writes progress
    /// and heartbeats while it runs, then the end.
    async fn run_ocr_job(
        self: Arc<Self>,
        job_id: String,
        staged: tempfile::NamedTempFile,
        target: OcrTarget,
        total: Option<i64>,
    ) {
        let (report, mut progress) = watch::channel(Progress::default());
        let pipeline = self.clone();
        let mut work = tokio::spawn(async move {
            let on_page = Box::new(move |done: usize| {
                report.send_replace(Progress {
                    started: true,
                    done,
                });
            });
            let started = OffsetDateTime::now_utc();
            let outcome = pipeline
                .ocr_version(
                    staged.path(),
                    &target,
                    on_page,
                    &OffsetDateTime::now_utc,
                    started,
                )
                .await;
            drop(staged);
            outcome.map(|(version, summary)| {
                json!({
                    "document_id": version.document_id,
                    "version": version.version,
                    "version_id": version.version_id,
                    "pages": summary.pages,
                    "mean_confidence": summary.mean_confidence,
                    "characters": summary.characters,
                })
            })
        });
        let mut ticker = tokio::time::interval(PROGRESS_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let heartbeat = Duration::from_secs(JOB_HEARTBEAT.whole_seconds().unsigned_abs());
        let mut written = Progress::default();
        let mut written_at = tokio::time::Instant::now();
        let joined = loop {
            tokio::select! {
                joined = &mut work => break joined,
                _ = ticker.tick() => {
                    let current = *progress.borrow_and_update();
                    if current == written && written_at.elapsed() < heartbeat {
                        continue;
                    }
                    let now = OffsetDateTime::now_utc();
                    let done = i64::try_from(current.done).unwrap_or(i64::MAX);
                    let result = if current.started {
                        self.archive.job_progress(&job_id, done, total, now).await
                    } else {
                        self.archive.job_heartbeat(&job_id, total, now).await
                    };
                    if let Err(e) = result {
                        tracing::warn!(job = %job_id, "cannot record job progress: {e}");
                    }
                    written = current;
                    written_at = tokio::time::Instant::now();
                }
            }
        };
        let outcome = match joined {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) => {
                tracing::warn!(job = %job_id, code = e.code(), "OCR job failed: {e}");
                Err(failure_of(&e))
            }
            Err(e) => {
                tracing::error!(job = %job_id, "OCR job task failed: {e}");
                Err(failure_of(&Error::Task(e.to_string())))
            }
        };
        if let Err(e) = self
            .archive
            .finish_job(&job_id, outcome, OffsetDateTime::now_utc())
            .await
        {
            // The row stays queued/running; the sweep marks it interrupted later.
            tracing::error!(job = %job_id, "cannot record the end of the job: {e}");
        }
    }

    /// Starts a task that marks jobs of stopped processes as failed (`job-interrupted`) now
    /// and every [`JOB_STALE_AFTER`] for as long as the runtime lives (`hoso serve`).
    pub fn spawn_job_sweeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let pipeline = self.clone();
        tokio::spawn(async move {
            let period = Duration::from_secs(JOB_STALE_AFTER.whole_seconds().unsigned_abs());
            loop {
                match pipeline
                    .archive
                    .fail_interrupted_jobs(OffsetDateTime::now_utc())
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!("{n} interrupted job(s) marked failed"),
                    Err(e) => tracing::warn!("cannot look for interrupted jobs: {e}"),
                }
                tokio::time::sleep(period).await;
            }
        })
    }
}

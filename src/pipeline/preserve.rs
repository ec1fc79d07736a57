//! Preservation (`hoso preserve`): keeps signed documents verifiable for as long as they are
//! kept (vn-standards.md §4.7).
//!
//! A signature stays provable after its certificate expires only if validation data and an
//! archive timestamp were added while everything was still valid; that timestamp must in
//! turn be renewed before its own TSA certificate expires. So for each signed document,
//! from the newest stored verification report of its newest version:
//!
//! - with a document timestamp: the newest one's TSA certificate expiry is the deadline;
//! - without: the earliest expiry of a signer certificate.
//!
//! Documents whose deadline falls within the horizon are extended to B-LTA (validation data
//! for every signature and timestamp, then a new document timestamp) as a new version
//! (`extended`), which is verified and its report stored. The older versions stay.

use std::sync::Arc;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::Pipeline;
use crate::archive::documents::{NewVersion, SignedVersion, VersionKind};
use crate::error::{Coded, Error, Result};
use crate::pades::key::DigestAlgorithm;
use crate::pades::sign::{ExtendOptions, Level, extend_file};

/// Documents read per page from the archive.
const PAGE: i64 = 500;

#[derive(Debug, Clone)]
pub struct PreserveOptions {
    /// Extend what expires within this long.
    pub horizon: Duration,
    /// Time-stamping authority for the archive timestamps.
    pub tsa_url: Option<String>,
    /// Only list what would be extended.
    pub dry_run: bool,
    pub actor: String,
}

/// Why a document needs (or needed) renewal.
#[derive(Debug, Clone, Serialize)]
pub struct Deadline {
    pub document_id: i64,
    pub version: i64,
    #[serde(with = "crate::archive::calendar::vn_time")]
    pub expires_at: OffsetDateTime,
    /// `timestamp` (the newest archive timestamp's TSA certificate) or `signer` (a signer
    /// certificate, no archive timestamp yet).
    pub what: &'static str,
    pub subject: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Extended {
    pub document_id: i64,
    pub version: i64,
    pub sha256: String,
    pub indication: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreserveFailure {
    pub document_id: i64,
    pub code: String,
    pub message_vi: String,
    pub message: String,
}

#[derive(Debug, Default, Serialize)]
pub struct PreserveReport {
    /// Signed documents looked at.
    pub checked: usize,
    /// Those due within the horizon.
    pub due: Vec<Deadline>,
    pub extended: Vec<Extended>,
    pub failed: Vec<PreserveFailure>,
}

fn parse_time(value: &serde_json::Value) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(
        value.as_str()?,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()
}

/// The deadline of one signed version, from its stored report (module documentation).
pub fn deadline_of(signed: &SignedVersion) -> Option<Deadline> {
    let report: serde_json::Value = serde_json::from_str(&signed.report).ok()?;
    let signatures = report["signatures"].as_array()?;
    let newest_timestamp = signatures
        .iter()
        .filter(|s| s["kind"] == "document-timestamp")
        .filter_map(|s| Some((parse_time(&s["timestamp_time"])?, s)))
        .max_by_key(|(at, _)| *at);
    let (what, chosen) = match newest_timestamp {
        Some((_, s)) => ("timestamp", s),
        None => (
            "signer",
            signatures
                .iter()
                .filter(|s| s["kind"] == "signature")
                .filter(|s| parse_time(&s["signer"]["not_after"]).is_some())
                .min_by_key(|s| parse_time(&s["signer"]["not_after"]))?,
        ),
    };
    Some(Deadline {
        document_id: signed.document_id,
        version: signed.version,
        expires_at: parse_time(&chosen["signer"]["not_after"])?,
        what,
        subject: chosen["signer"]["subject"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
    })
}

impl Pipeline {
    /// Finds signed documents due for renewal and extends them (module documentation).
    ///
    /// # Errors
    /// Database failure while listing. A document that cannot be extended is reported in
    /// `failed` and the others go on.
    pub async fn preserve(
        self: &Arc<Self>,
        options: &PreserveOptions,
        now: OffsetDateTime,
    ) -> Result<PreserveReport> {
        let mut report = PreserveReport::default();
        let mut after = 0;
        loop {
            let page = self.archive.signed_documents(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.document_id;
            for signed in page {
                report.checked += 1;
                let Some(deadline) = deadline_of(&signed) else {
                    continue;
                };
                if deadline.expires_at > now + options.horizon {
                    continue;
                }
                report.due.push(deadline);
                if options.dry_run {
                    continue;
                }
                match self.extend_version(&signed, options, now).await {
                    Ok(extended) => report.extended.push(extended),
                    Err(e) => report.failed.push(PreserveFailure {
                        document_id: signed.document_id,
                        code: e.code().to_owned(),
                        message_vi: e.message_vi(),
                        message: e.to_string(),
                    }),
                }
            }
        }
        Ok(report)
    }

    async fn extend_version(
        self: &Arc<Self>,
        signed: &SignedVersion,
        options: &PreserveOptions,
        now: OffsetDateTime,
    ) -> Result<Extended> {
        let record = self.archive.document(signed.document_id).await?;
        let version = record
            .versions
            .iter()
            .find(|v| v.version_id == signed.version_id)
            .cloned()
            .ok_or_else(|| Error::Task(format!("version {} vanished", signed.version_id)))?;
        let work = tempfile::tempdir().map_err(|e| Error::Task(e.to_string()))?;
        let input = work.path().join("input.pdf");
        self.copy_version_to(&version, &input, &options.actor, now)
            .await?;
        let output = work.path().join("extended.pdf");
        let trust = self.trust()?;
        let extend = ExtendOptions {
            level: Level::BLTA,
            digest: DigestAlgorithm::Sha256,
            tsa_url: options.tsa_url.clone(),
            allow_untrusted: false,
            supplied: Default::default(),
        };
        let (input_path, output_path) = (input.clone(), output.clone());
        self.run_blocking(move || {
            extend_file(&input_path, &output_path, &trust, &extend, now).map_err(Error::from)
        })
        .await?;
        let blob = {
            let mut file = tokio::fs::File::open(&output)
                .await
                .map_err(|e| Error::Task(format!("{}: {e}", output.display())))?;
            self.store(&mut file, "application/pdf", now).await?
        };
        let stored = self
            .archive
            .add_version(
                &NewVersion {
                    document_id: signed.document_id,
                    parent_version: signed.version,
                    kind: VersionKind::Extended,
                    sha256: blob
                        .sha256
                        .parse()
                        .map_err(|_| Error::Task("stored digest is not hex".to_owned()))?,
                    file_name: None,
                    metadata: None,
                    ocr: None,
                    actor: options.actor.clone(),
                    reason: "gia hạn lưu trữ dài hạn: bổ sung dữ liệu kiểm tra và dấu thời gian \
                             lưu trữ (B-LTA renewal)"
                        .to_owned(),
                },
                now,
            )
            .await?;
        let new_version = self
            .archive
            .document(signed.document_id)
            .await?
            .versions
            .into_iter()
            .find(|v| v.version_id == stored.version_id)
            .ok_or_else(|| Error::Task("the new version vanished".to_owned()))?;
        // Offline: the extension just embedded the validation data it fetched, and checking
        // the new version with that alone proves it is self-sufficient.
        let verdict = self
            .reverify(&new_version, true, &options.actor, now)
            .await?;
        let indication = serde_json::to_value(verdict.indication)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        drop(work);
        Ok(Extended {
            document_id: signed.document_id,
            version: stored.version,
            sha256: stored.sha256,
            indication,
        })
    }
}

//! Background jobs: work the API starts and answers for later (OCR of a stored scan), kept in
//! the database so that any replica can report on a job whichever replica runs it.
//!
//! Jobs are operational state, not records: a row is updated as the work progresses, without
//! audit entries and without the archive-wide write lock (one plain `UPDATE` of one row). What
//! a job produces (a new document version) is a record, written and audited by the usual
//! document functions.
//!
//! A running job's row is touched at least every [`JOB_HEARTBEAT`]; a queued or running job
//! whose row has not changed for [`JOB_STALE_AFTER`] belonged to a process that stopped, and
//! [`Archive::fail_interrupted_jobs`] marks it failed (`job-interrupted`).

use serde::Serialize;
use time::OffsetDateTime;

use super::dossiers::checked_actor;
use super::{Archive, ArchiveError, Db, stored_time};

/// How often a running job's row is touched, progress or not.
pub const JOB_HEARTBEAT: time::Duration = time::Duration::seconds(5);
/// A queued or running job untouched for this long was interrupted (its process stopped).
pub const JOB_STALE_AFTER: time::Duration = time::Duration::seconds(30);
/// The code stored for a job whose process stopped before it finished.
pub const JOB_INTERRUPTED: &str = "job-interrupted";

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Done or failed: the row will not change again.
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed)
    }
}

/// One job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// UUID v4 (not guessable).
    pub job_id: String,
    /// What the job does: `ocr`.
    pub kind: String,
    pub state: JobState,
    pub document_id: Option<i64>,
    /// Units (pages) done, and in all once known.
    pub progress_done: i64,
    pub progress_total: Option<i64>,
    /// What a done job produced.
    pub result: Option<serde_json::Value>,
    /// Why a failed job failed: stable code, Vietnamese message, English message.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_message_en: Option<String>,
    pub created_by: String,
    #[serde(with = "super::calendar::vn_time")]
    pub created_at: OffsetDateTime,
    #[serde(with = "super::calendar::vn_time")]
    pub updated_at: OffsetDateTime,
}

/// A failure as a job stores it: (code, Vietnamese message, English message).
pub type JobFailure = (String, String, String);

#[derive(sqlx::FromRow)]
struct JobRow {
    job_id: String,
    kind: String,
    state: String,
    document_id: Option<i64>,
    progress_done: i64,
    progress_total: Option<i64>,
    result: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    error_message_en: Option<String>,
    created_by: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl JobRow {
    fn into_job(self) -> Result<Job, ArchiveError> {
        let corrupt = |what: String| ArchiveError::Corrupt { what };
        let state = JobState::parse(&self.state)
            .ok_or_else(|| corrupt(format!("job {} has state {:?}", self.job_id, self.state)))?;
        let result = self
            .result
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(format!("job {} result: {e}", self.job_id)))?;
        Ok(Job {
            job_id: self.job_id,
            kind: self.kind,
            state,
            document_id: self.document_id,
            progress_done: self.progress_done,
            progress_total: self.progress_total,
            result,
            error_code: self.error_code,
            error_message: self.error_message,
            error_message_en: self.error_message_en,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const SELECT_JOB: &str = "SELECT job_id, kind, state, document_id, progress_done, progress_total,
     result, error_code, error_message, error_message_en, created_by, created_at, updated_at
 FROM jobs WHERE job_id = $1";

/// Messages longer than this are cut (a job row is not a log).
const MAX_MESSAGE_CHARS: usize = 2000;

fn clipped(text: &str) -> String {
    text.chars().take(MAX_MESSAGE_CHARS).collect()
}

fn job_not_found(job_id: &str) -> ArchiveError {
    ArchiveError::JobNotFound {
        job_id: job_id.chars().take(64).collect(),
    }
}

/// A job id as stored (lowercase hyphenated UUID), or `None` when `text` is not one.
fn canonical_id(text: &str) -> Option<String> {
    uuid::Uuid::parse_str(text)
        .ok()
        .map(|id| id.hyphenated().to_string())
}

impl Archive {
    /// Records a new queued job of `kind` (e.g. `ocr`) on `document_id`.
    ///
    /// # Errors
    /// [`ArchiveError::FieldInvalid`] (kind or actor), [`ArchiveError::DocumentNotFound`]
    /// (no such document), [`ArchiveError::Database`].
    pub async fn create_job(
        &self,
        kind: &str,
        document_id: Option<i64>,
        created_by: &str,
        now: OffsetDateTime,
    ) -> Result<Job, ArchiveError> {
        let actor = checked_actor(created_by)?;
        if kind.is_empty() || kind.len() > 32 || !kind.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(ArchiveError::FieldInvalid {
                field: "kind",
                value: kind.to_owned(),
                reason: "expected 1 to 32 lowercase letters".to_owned(),
            });
        }
        let now = stored_time(now);
        let job_id = uuid::Uuid::new_v4().hyphenated().to_string();
        let inserted = on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO jobs (job_id, kind, state, document_id, progress_done, created_by,
                     created_at, updated_at)
                 VALUES ($1, $2, 'queued', $3, 0, $4, $5, $5)",
            )
            .bind(&job_id)
            .bind(kind)
            .bind(document_id)
            .bind(&actor)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        });
        match inserted {
            Ok(()) => {}
            // The only foreign key: the document.
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return Err(ArchiveError::DocumentNotFound {
                    document_id: document_id.unwrap_or_default(),
                });
            }
            Err(e) => return Err(e.into()),
        }
        self.job(&job_id).await
    }

    /// The job `job_id`.
    ///
    /// # Errors
    /// [`ArchiveError::JobNotFound`] (also for a malformed id), [`ArchiveError::Database`].
    pub async fn job(&self, job_id: &str) -> Result<Job, ArchiveError> {
        let Some(id) = canonical_id(job_id) else {
            return Err(job_not_found(job_id));
        };
        let row = on_db!(&self.db, pool => {
            sqlx::query_as::<_, JobRow>(SELECT_JOB)
                .bind(&id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| job_not_found(job_id))?.into_job()
    }

    /// Records progress of a queued or running job (which is running from then on): `done`
    /// units of `total` (`None`: not known yet, the stored total is kept). Also the
    /// heartbeat of a running job. A finished job is left as it is.
    ///
    /// # Errors
    /// [`ArchiveError::JobNotFound`], [`ArchiveError::Database`].
    pub async fn job_progress(
        &self,
        job_id: &str,
        done: i64,
        total: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        let id = canonical_id(job_id).ok_or_else(|| job_not_found(job_id))?;
        let now = stored_time(now);
        let changed = on_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE jobs SET state = 'running', progress_done = $2,
                     progress_total = COALESCE($3, progress_total), updated_at = $4
                 WHERE job_id = $1 AND state IN ('queued', 'running')",
            )
            .bind(&id)
            .bind(done.max(0))
            .bind(total.map(|t| t.max(0)))
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if changed == 0 {
            // Finished meanwhile (or interrupted by a sweep): not an error, unless unknown.
            self.job(&id).await?;
        }
        Ok(())
    }

    /// Touches a queued or running job without changing its state: the heartbeat of a job
    /// waiting for its turn, and `total` once known (`None` keeps the stored total).
    ///
    /// # Errors
    /// [`ArchiveError::JobNotFound`], [`ArchiveError::Database`].
    pub async fn job_heartbeat(
        &self,
        job_id: &str,
        total: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        let id = canonical_id(job_id).ok_or_else(|| job_not_found(job_id))?;
        let now = stored_time(now);
        let changed = on_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE jobs SET progress_total = COALESCE($2, progress_total), updated_at = $3
                 WHERE job_id = $1 AND state IN ('queued', 'running')",
            )
            .bind(&id)
            .bind(total.map(|t| t.max(0)))
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if changed == 0 {
            self.job(&id).await?;
        }
        Ok(())
    }

    /// Ends a job: `Ok(result)` (state `done`, progress complete) or `Err((code, message_vi,
    /// message_en))` (state `failed`). A job already finished is left as it is (the first end
    /// wins: a job marked interrupted stays so).
    ///
    /// # Errors
    /// [`ArchiveError::JobNotFound`], [`ArchiveError::Database`].
    pub async fn finish_job(
        &self,
        job_id: &str,
        outcome: Result<serde_json::Value, JobFailure>,
        now: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        let id = canonical_id(job_id).ok_or_else(|| job_not_found(job_id))?;
        let now = stored_time(now);
        let changed = match &outcome {
            Ok(result) => {
                let json = result.to_string();
                on_db!(&self.db, pool => {
                    sqlx::query(
                        "UPDATE jobs SET state = 'done', result = $2,
                             progress_done = COALESCE(progress_total, progress_done),
                             updated_at = $3
                         WHERE job_id = $1 AND state IN ('queued', 'running')",
                    )
                    .bind(&id)
                    .bind(&json)
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
                })
            }
            Err((code, message_vi, message_en)) => on_db!(&self.db, pool => {
                sqlx::query(
                    "UPDATE jobs SET state = 'failed', error_code = $2, error_message = $3,
                         error_message_en = $4, updated_at = $5
                     WHERE job_id = $1 AND state IN ('queued', 'running')",
                )
                .bind(&id)
                .bind(clipped(code))
                .bind(clipped(message_vi))
                .bind(clipped(message_en))
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
            }),
        };
        if changed == 0 {
            self.job(&id).await?;
        }
        Ok(())
    }

    /// Marks failed (`job-interrupted`) every queued or running job untouched for
    /// [`JOB_STALE_AFTER`] before `now`: its process stopped (a restart, a crash). Run at
    /// service start and then every [`JOB_STALE_AFTER`] (a process that stopped just before
    /// the start leaves jobs that look alive for a little while); jobs of other live replicas
    /// keep their heartbeat and are not touched. Returns how many were marked.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn fail_interrupted_jobs(&self, now: OffsetDateTime) -> Result<u64, ArchiveError> {
        let now = stored_time(now);
        let before = now - JOB_STALE_AFTER;
        let changed = on_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE jobs SET state = 'failed', error_code = $1, error_message = $2,
                     error_message_en = $3, updated_at = $4
                 WHERE state IN ('queued', 'running') AND updated_at < $5",
            )
            .bind(JOB_INTERRUPTED)
            .bind(
                "Tác vụ bị gián đoạn do dịch vụ khởi động lại; hãy chạy lại.",
            )
            .bind("the job was interrupted when the service stopped; start it again")
            .bind(now)
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_read_in_their_stored_form_only_when_they_are_uuids() {
        let id = "6F9619FF-8B86-D011-B42D-00C04FC964FF";
        assert_eq!(
            canonical_id(id).as_deref(),
            Some("6f9619ff-8b86-d011-b42d-00c04fc964ff")
        );
        for bad in ["", "1", "../jobs", "6f9619ff8b86d011b42d00c04fc964ffx"] {
            assert_eq!(canonical_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn states_round_trip() {
        for state in [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
        ] {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        assert_eq!(JobState::parse("cancelled"), None);
        assert!(JobState::Failed.is_finished() && !JobState::Running.is_finished());
    }
}

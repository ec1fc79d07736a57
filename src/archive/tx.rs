//! Every statement of the records model (procedures, holidays, dossiers, audit), written once
//! and implemented for a transaction on either backend by `impl_tx!`.
//!
//! The operations themselves (`procedures::import`, `dossiers::create`, `audit::append`, …)
//! are plain functions generic over [`Tx`], so their logic is written once and every step
//! of one operation runs in one transaction.
//!
//! Writers are serialized: [`Begin::begin_write`] takes SQLite's write lock at `BEGIN
//! IMMEDIATE` and, on PostgreSQL, a transaction-level advisory lock before anything else.
//! Each write appends to the audit chain, which has one head, so two writers could not
//! proceed side by side anyway; taking the lock first (rather than at the audit insert)
//! also means no writer ever waits on a row lock while holding the chain.

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Database, Postgres, Sqlite, Transaction};
use time::{Date, OffsetDateTime};

use super::audit::{AuditEntry, Checkpoint};
use super::calendar::Holiday;
use super::dossiers::{DossierRow, EventRow};
use super::procedures::{Procedure, ProcedureEntry};

/// Key of the PostgreSQL advisory lock held by every write transaction ("hoso" in ASCII).
const WRITE_LOCK_KEY: i64 = 0x686f_736f;

/// Opening transactions; the one place where the two backends differ.
pub(super) trait Begin {
    type Db: Database;
    /// A transaction that may write; writers run one at a time (module documentation).
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;
    /// A transaction that reads one consistent snapshot.
    async fn begin_read(&self) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;
}

impl Begin for PgPool {
    type Db = Postgres;

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = uncancellable({
            let pool = self.clone();
            async move { pool.begin_with("BEGIN").await }
        })
        .await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK_KEY)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    async fn begin_read(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        uncancellable({
            let pool = self.clone();
            async move {
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
            }
        })
        .await
    }
}

impl Begin for SqlitePool {
    type Db = Sqlite;

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        // IMMEDIATE: the write lock is taken now (waiting up to busy_timeout), not at the
        // first write, where a reader-turned-writer would fail with SQLITE_BUSY at once.
        uncancellable({
            let pool = self.clone();
            async move { pool.begin_with("BEGIN IMMEDIATE").await }
        })
        .await
    }

    async fn begin_read(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        uncancellable({
            let pool = self.clone();
            async move { pool.begin_with("BEGIN").await }
        })
        .await
    }
}

/// Runs a `BEGIN` to completion even when the caller goes away (a client disconnecting drops
/// its request's future). sqlx 0.9.0 counts a transaction only once the BEGIN has answered
/// (transact-rs/sqlx#4393): a BEGIN cancelled in flight returned its connection to the pool
/// still inside a transaction, and later writes on it failed (`read-only transaction`,
/// `current transaction is aborted`). On its own task the BEGIN finishes, and a transaction
/// nobody receives is dropped, which queues its ROLLBACK.
pub(super) async fn uncancellable<T: Send + 'static>(
    begin: impl std::future::Future<Output = Result<T, sqlx::Error>> + Send + 'static,
) -> Result<T, sqlx::Error> {
    tokio::spawn(begin)
        .await
        .map_err(|e| sqlx::Error::Io(std::io::Error::other(format!("BEGIN task failed: {e}"))))?
}

/// The statements, on an open transaction.
pub(super) trait Tx {
    async fn procedure(&mut self, code: &str) -> Result<Option<Procedure>, sqlx::Error>;
    async fn procedure_by_id(&mut self, id: i64) -> Result<Option<Procedure>, sqlx::Error>;
    async fn insert_procedure(
        &mut self,
        entry: &ProcedureEntry,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error>;
    async fn update_procedure(
        &mut self,
        entry: &ProcedureEntry,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error>;

    async fn holidays_between(&mut self, from: Date, to: Date)
    -> Result<Vec<Holiday>, sqlx::Error>;
    /// False when the day was already a holiday.
    async fn insert_holiday(
        &mut self,
        day: Date,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<bool, sqlx::Error>;
    /// False when the day was not a holiday.
    async fn delete_holiday(&mut self, day: Date) -> Result<bool, sqlx::Error>;

    /// The next daily sequence number of `agency` on `day`, from 1.
    async fn next_sequence(&mut self, agency: &str, day: Date) -> Result<i64, sqlx::Error>;
    /// Inserts `row` (its `dossier_id` is ignored) and returns the new id.
    async fn insert_dossier(&mut self, row: &DossierRow) -> Result<i64, sqlx::Error>;
    async fn dossier(&mut self, code: &str) -> Result<Option<DossierRow>, sqlx::Error>;
    /// Writes the state columns of `row` if the stored status is still `from`; the number
    /// of rows changed.
    async fn update_dossier_state(
        &mut self,
        row: &DossierRow,
        from: &str,
    ) -> Result<u64, sqlx::Error>;
    async fn insert_event(&mut self, event: &EventRow) -> Result<(), sqlx::Error>;
    async fn events(&mut self, dossier_id: i64) -> Result<Vec<EventRow>, sqlx::Error>;

    /// `(seq, hash)` of the last audit entry.
    async fn audit_head(&mut self) -> Result<Option<(i64, String)>, sqlx::Error>;
    async fn insert_audit(&mut self, entry: &AuditEntry) -> Result<(), sqlx::Error>;
    /// Up to `limit` entries after `after_seq`, in order.
    async fn audit_page(
        &mut self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, sqlx::Error>;
    async fn checkpoints(&mut self) -> Result<Vec<Checkpoint>, sqlx::Error>;
    /// Inserts `checkpoint` (its id is ignored) and returns the new id.
    async fn insert_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<i64, sqlx::Error>;
}

// Column lists shared by several statements, as macros so that `concat!` makes each
// statement one `&'static str`.
macro_rules! procedure_columns {
    () => {
        "procedure_id, code, name, field, level, processing_days, competent_agency, \
         created_at, updated_at"
    };
}

macro_rules! dossier_columns {
    () => {
        "dossier_id, code, procedure_id, agency_code, applicant_name, applicant_id_number, \
         applicant_contact, channel, result_delivery, status, received_at, due_at, \
         resolved_at, outcome, returned_at, created_at, updated_at"
    };
}

/// Implements [`Tx`] for a transaction on `$db`: the same text, type-checked per backend.
macro_rules! impl_tx {
    ($db:ty) => {
        impl Tx for Transaction<'_, $db> {
            async fn procedure(&mut self, code: &str) -> Result<Option<Procedure>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    procedure_columns!(),
                    " FROM procedures WHERE code = $1"
                ))
                .bind(code)
                .fetch_optional(&mut **self)
                .await
            }

            async fn procedure_by_id(&mut self, id: i64) -> Result<Option<Procedure>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    procedure_columns!(),
                    " FROM procedures WHERE procedure_id = $1"
                ))
                .bind(id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn insert_procedure(
                &mut self,
                entry: &ProcedureEntry,
                now: OffsetDateTime,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO procedures (code, name, field, level, processing_days,
                         competent_agency, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(entry.code.as_str())
                .bind(&entry.name)
                .bind(&entry.field)
                .bind(&entry.level)
                .bind(i64::from(entry.processing_days))
                .bind(&entry.competent_agency)
                .bind(now)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn update_procedure(
                &mut self,
                entry: &ProcedureEntry,
                now: OffsetDateTime,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE procedures SET name = $2, field = $3, level = $4,
                         processing_days = $5, competent_agency = $6, updated_at = $7
                     WHERE code = $1",
                )
                .bind(entry.code.as_str())
                .bind(&entry.name)
                .bind(&entry.field)
                .bind(&entry.level)
                .bind(i64::from(entry.processing_days))
                .bind(&entry.competent_agency)
                .bind(now)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn holidays_between(
                &mut self,
                from: Date,
                to: Date,
            ) -> Result<Vec<Holiday>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT day, name, created_at FROM holidays
                     WHERE day >= $1 AND day <= $2 ORDER BY day",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&mut **self)
                .await
            }

            async fn insert_holiday(
                &mut self,
                day: Date,
                name: &str,
                now: OffsetDateTime,
            ) -> Result<bool, sqlx::Error> {
                let done = sqlx::query(
                    "INSERT INTO holidays (day, name, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (day) DO NOTHING",
                )
                .bind(day)
                .bind(name)
                .bind(now)
                .execute(&mut **self)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_holiday(&mut self, day: Date) -> Result<bool, sqlx::Error> {
                let done = sqlx::query("DELETE FROM holidays WHERE day = $1")
                    .bind(day)
                    .execute(&mut **self)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn next_sequence(&mut self, agency: &str, day: Date) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO dossier_sequences (agency_code, day, last_sequence)
                     VALUES ($1, $2, 1)
                     ON CONFLICT (agency_code, day)
                     DO UPDATE SET last_sequence = dossier_sequences.last_sequence + 1
                     RETURNING last_sequence",
                )
                .bind(agency)
                .bind(day)
                .fetch_one(&mut **self)
                .await
            }

            async fn insert_dossier(&mut self, row: &DossierRow) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO dossiers (code, procedure_id, agency_code, applicant_name,
                         applicant_id_number, applicant_contact, channel, result_delivery,
                         status, received_at, due_at, resolved_at, outcome, returned_at,
                         created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                         $15, $16)
                     RETURNING dossier_id",
                )
                .bind(&row.code)
                .bind(row.procedure_id)
                .bind(&row.agency_code)
                .bind(&row.applicant_name)
                .bind(&row.applicant_id_number)
                .bind(&row.applicant_contact)
                .bind(&row.channel)
                .bind(&row.result_delivery)
                .bind(&row.status)
                .bind(row.received_at)
                .bind(row.due_at)
                .bind(row.resolved_at)
                .bind(&row.outcome)
                .bind(row.returned_at)
                .bind(row.created_at)
                .bind(row.updated_at)
                .fetch_one(&mut **self)
                .await
            }

            async fn dossier(&mut self, code: &str) -> Result<Option<DossierRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    dossier_columns!(),
                    " FROM dossiers WHERE code = $1"
                ))
                .bind(code)
                .fetch_optional(&mut **self)
                .await
            }

            async fn update_dossier_state(
                &mut self,
                row: &DossierRow,
                from: &str,
            ) -> Result<u64, sqlx::Error> {
                let done = sqlx::query(
                    "UPDATE dossiers SET status = $2, resolved_at = $3, outcome = $4,
                         returned_at = $5, updated_at = $6
                     WHERE dossier_id = $1 AND status = $7",
                )
                .bind(row.dossier_id)
                .bind(&row.status)
                .bind(row.resolved_at)
                .bind(&row.outcome)
                .bind(row.returned_at)
                .bind(row.updated_at)
                .bind(from)
                .execute(&mut **self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn insert_event(&mut self, event: &EventRow) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO dossier_events (dossier_id, from_status, to_status, actor, at,
                         note)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(event.dossier_id)
                .bind(&event.from_status)
                .bind(&event.to_status)
                .bind(&event.actor)
                .bind(event.at)
                .bind(&event.note)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn events(&mut self, dossier_id: i64) -> Result<Vec<EventRow>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT dossier_id, from_status, to_status, actor, at, note
                     FROM dossier_events WHERE dossier_id = $1 ORDER BY event_id",
                )
                .bind(dossier_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn audit_head(&mut self) -> Result<Option<(i64, String)>, sqlx::Error> {
                sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut **self)
                    .await
            }

            async fn insert_audit(&mut self, entry: &AuditEntry) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO audit_log (seq, at, actor, action, object_kind, object_id,
                         details, prev_hash, hash)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(entry.seq)
                .bind(entry.at)
                .bind(&entry.actor)
                .bind(&entry.action)
                .bind(&entry.object_kind)
                .bind(&entry.object_id)
                .bind(&entry.details)
                .bind(&entry.prev_hash)
                .bind(&entry.hash)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn audit_page(
                &mut self,
                after_seq: i64,
                limit: i64,
            ) -> Result<Vec<AuditEntry>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT seq, at, actor, action, object_kind, object_id, details, prev_hash,
                         hash
                     FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after_seq)
                .bind(limit)
                .fetch_all(&mut **self)
                .await
            }

            async fn checkpoints(&mut self) -> Result<Vec<Checkpoint>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT checkpoint_id, first_seq, last_seq, root_hash, created_at,
                         created_by, tsa_token
                     FROM audit_checkpoints ORDER BY checkpoint_id",
                )
                .fetch_all(&mut **self)
                .await
            }

            async fn insert_checkpoint(
                &mut self,
                checkpoint: &Checkpoint,
            ) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO audit_checkpoints (first_seq, last_seq, root_hash, created_at,
                         created_by, tsa_token)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     RETURNING checkpoint_id",
                )
                .bind(checkpoint.first_seq)
                .bind(checkpoint.last_seq)
                .bind(&checkpoint.root_hash)
                .bind(checkpoint.created_at)
                .bind(&checkpoint.created_by)
                .bind(&checkpoint.tsa_token)
                .fetch_one(&mut **self)
                .await
            }
        }
    };
}

impl_tx!(Postgres);
impl_tx!(Sqlite);

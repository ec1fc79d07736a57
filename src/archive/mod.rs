//! Archive: where everything is kept. The only module that writes SQL.
//!
//! Two parts:
//! - the metadata database ([`Archive`]): SQLite by default (one file in the data dir), or
//!   PostgreSQL when `HOSO_DATABASE_URL` is a `postgres://` URL. Migrations for each backend
//!   live in `migrations/<backend>/` and are applied at start.
//! - the content store ([`blob::BlobStore`]): bytes named by their SHA-256, written atomically
//!   and never overwritten.
//!
//! Queries are written once and run on either backend through [`on_db!`]; where the SQL
//! dialects differ (full-text search, later), the two arms are written out.

pub mod blob;

use std::path::PathBuf;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;

use crate::config::DatabaseTarget;
use crate::digest::Sha256Digest;
use crate::error::{Coded, ErrorClass};

/// A connection pool to one of the two supported backends.
#[derive(Clone)]
enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs the same expression against whichever pool is configured; `$pool` is bound to the
/// concrete pool type in each arm, so the query is type-checked once per backend.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Postgres($pool) => $body,
            Db::Sqlite($pool) => $body,
        }
    };
}

/// The metadata database.
#[derive(Clone)]
pub struct Archive {
    db: Db,
}

/// A row of the `blob` table: content known to the archive.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BlobRecord {
    pub sha256: String,
    pub size_bytes: i64,
    pub media_type: String,
    pub first_stored_at: OffsetDateTime,
}

impl Archive {
    /// Connects, creating the SQLite file (and its folder) when needed, and applies pending
    /// migrations. Several replicas may start at once on PostgreSQL: sqlx serialises
    /// migrations with an advisory lock.
    ///
    /// # Errors
    /// [`ArchiveError::Database`] when the database is unreachable, [`ArchiveError::Migrate`]
    /// when the schema cannot be brought up to date.
    pub async fn connect(target: &DatabaseTarget) -> Result<Self, ArchiveError> {
        let db = match target {
            DatabaseTarget::Sqlite { path } => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| ArchiveError::DataDir {
                        path: parent.to_owned(),
                        source,
                    })?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    // WAL lets readers (search) run while a writer commits; FULL makes each
                    // commit durable before it is acknowledged.
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
                Db::Sqlite(pool)
            }
            DatabaseTarget::Postgres { url } => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                sqlx::migrate!("./migrations/postgres").run(&pool).await?;
                Db::Postgres(pool)
            }
        };
        Ok(Archive { db })
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Postgres(_) => "postgres",
            Db::Sqlite(_) => "sqlite",
        }
    }

    /// A round trip to the database, for readiness checks.
    ///
    /// # Errors
    /// [`ArchiveError::Database`] when the database does not answer.
    pub async fn ping(&self) -> Result<(), ArchiveError> {
        on_db!(&self.db, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Records that `sha256` is in the blob store. Idempotent: the first record wins (its
    /// media type and time are kept), later calls return it unchanged.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn record_blob(
        &self,
        sha256: &Sha256Digest,
        size_bytes: u64,
        media_type: &str,
        now: OffsetDateTime,
    ) -> Result<BlobRecord, ArchiveError> {
        let size = i64::try_from(size_bytes).map_err(|_| ArchiveError::TooLarge { size_bytes })?;
        let hex = sha256.to_hex();
        on_db!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO blob (sha256, size_bytes, media_type, first_stored_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING",
            )
            .bind(&hex)
            .bind(size)
            .bind(media_type)
            .bind(now)
            .execute(pool)
            .await?;
        });
        self.blob(sha256)
            .await?
            .ok_or(ArchiveError::BlobNotFound { sha256: *sha256 })
    }

    /// The record of `sha256`, if the archive has it.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn blob(&self, sha256: &Sha256Digest) -> Result<Option<BlobRecord>, ArchiveError> {
        let hex = sha256.to_hex();
        let record = on_db!(&self.db, pool => {
            sqlx::query_as::<_, BlobRecord>(
                "SELECT sha256, size_bytes, media_type, first_stored_at FROM blob WHERE sha256 = $1",
            )
            .bind(&hex)
            .fetch_optional(pool)
            .await?
        });
        Ok(record)
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        on_db!(&self.db, pool => pool.close().await);
    }
}

/// Failures of the archive (database and blob store).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("blob {sha256} is not in the store")]
    BlobNotFound { sha256: Sha256Digest },
    #[error("stored blob {sha256} is damaged: {reason}")]
    BlobDamaged {
        sha256: Sha256Digest,
        reason: String,
    },
    #[error("blob store I/O failed at {path}: {source}")]
    BlobIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot create data folder {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("content of {size_bytes} bytes is too large to record")]
    TooLarge { size_bytes: u64 },
    #[error("reading the upload failed: {0}")]
    Upload(std::io::Error),
}

impl Coded for ArchiveError {
    fn code(&self) -> &'static str {
        match self {
            ArchiveError::BlobNotFound { .. } => "blob-not-found",
            ArchiveError::BlobDamaged { .. } => "blob-damaged",
            ArchiveError::BlobIo { .. } => "storage-io-failed",
            ArchiveError::Database(_) => "database-error",
            ArchiveError::DataDir { .. } => "data-dir-unusable",
            ArchiveError::Migrate(_) => "database-migration-failed",
            ArchiveError::TooLarge { .. } => "content-too-large",
            ArchiveError::Upload(_) => "upload-interrupted",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            ArchiveError::BlobNotFound { .. } => ErrorClass::NotFound,
            ArchiveError::Database(e) if is_connection_error(e) => ErrorClass::Unavailable,
            ArchiveError::DataDir { .. } => ErrorClass::Unavailable,
            ArchiveError::TooLarge { .. } | ArchiveError::Upload(_) => ErrorClass::InvalidInput,
            ArchiveError::BlobDamaged { .. }
            | ArchiveError::BlobIo { .. }
            | ArchiveError::Database(_)
            | ArchiveError::Migrate(_) => ErrorClass::Internal,
        }
    }

    fn message_vi(&self) -> String {
        match self {
            ArchiveError::BlobNotFound { sha256 } => {
                format!("Không tìm thấy nội dung {sha256} trong kho lưu trữ.")
            }
            ArchiveError::BlobDamaged { sha256, .. } => {
                format!("Nội dung {sha256} trong kho lưu trữ đã bị hỏng.")
            }
            ArchiveError::BlobIo { .. } => "Lỗi đọc/ghi kho lưu trữ tệp.".to_owned(),
            ArchiveError::Database(e) if is_connection_error(e) => {
                "Không kết nối được cơ sở dữ liệu.".to_owned()
            }
            ArchiveError::Database(_) => "Lỗi cơ sở dữ liệu.".to_owned(),
            ArchiveError::DataDir { path, .. } => {
                format!("Không tạo được thư mục dữ liệu {}.", path.display())
            }
            ArchiveError::Migrate(_) => "Không cập nhật được cấu trúc cơ sở dữ liệu.".to_owned(),
            ArchiveError::TooLarge { .. } => "Tệp quá lớn.".to_owned(),
            ArchiveError::Upload(_) => "Tải tệp lên bị gián đoạn.".to_owned(),
        }
    }
}

fn is_connection_error(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
    )
}

//! Archive: where everything is kept. The only module that writes SQL.
//!
//! Two parts:
//! - the metadata database ([`Archive`]): SQLite by default (one file in the data dir), or
//!   PostgreSQL when `HOSO_DATABASE_URL` is a `postgres://` URL. Migrations for each backend
//!   live in `migrations/<backend>/` and are applied at start.
//! - the content store ([`blob::BlobStore`]): bytes named by their SHA-256, written atomically
//!   and never overwritten.
//!
//! The records model (issue #6): [`procedures`] (the TTHC catalogue), [`dossiers`] (receipt,
//! codes from [`codes`], due dates from [`calendar`], status steps), and [`audit`] (the
//! hash-chained trail every write appends to, in the same transaction). Their statements
//! live in `tx` (one text per statement, implemented for both backends); the operations are
//! functions over a transaction, so one operation is one transaction.
//!
//! Queries are written once and run on either backend through [`on_db!`]; where the SQL
//! dialects differ (full-text search, later), the two arms are written out.
//!
//! Stored times are UTC in whole seconds ([`stored_time`]): PostgreSQL keeps microseconds
//! and SQLite keeps text, and whole seconds read back identically from both (and sort as
//! text in SQLite).

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

pub mod accounts;
pub mod audit;
pub mod bagit;
pub mod calendar;
pub mod codes;
pub mod documents;
pub mod dossiers;
pub mod fixity;
pub mod jobs;
pub mod procedures;
pub mod public;
pub mod search;
pub mod stats;
pub mod trust_anchors;
mod tx;

/// `at` as the archive stores it: UTC, whole seconds.
pub fn stored_time(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(0).unwrap_or(at)
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

/// Failures of the archive (database, blob store and the records kept in them).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("agency code {value:?} is invalid (expected e.g. H53.100.01 or 000.00.31.H19)")]
    AgencyCodeInvalid { value: String },
    #[error("the audit chain is broken at entry {seq} ({})", reason.as_str())]
    AuditChainBroken {
        seq: i64,
        reason: audit::BreakReason,
    },
    #[error("the audit log is empty: there is nothing to checkpoint")]
    AuditEmpty,
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
    #[error("{} row(s) of the catalogue are invalid, nothing was imported: {}", problems.len(), row_list(problems, |p| format!("line {}: {}", p.line, p.issue)))]
    CatalogueInvalid {
        problems: Vec<procedures::RowProblem>,
    },
    #[error("the procedure catalogue cannot be read: {reason}")]
    CatalogueUnreadable { reason: String },
    #[error("stored data is inconsistent: {what}")]
    Corrupt { what: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot create data folder {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("dossier code {value:?} is invalid (expected AGENCY-YYMMDD-AANNNN)")]
    DossierCodeInvalid { value: String },
    #[error("no dossier {code}")]
    DossierNotFound { code: String },
    #[error("dossier {code} is already in this archive")]
    DossierExists { code: String },
    #[error("{path} already exists and is not empty: export writes only to a new folder or file")]
    ExportTargetExists { path: PathBuf },
    #[error("dossier package I/O failed at {path}: {source}")]
    PackageIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read dossier package {path}: {reason}")]
    PackageUnreadable { path: PathBuf, reason: String },
    #[error("the dossier package is invalid, nothing was imported: {reason}")]
    PackageInvalid { reason: String },
    #[error("the dossier package fails its fixity check, nothing was imported: {}", row_list(problems, |p| format!("{} {}", p.path, p.problem.as_str())))]
    PackageFixity { problems: Vec<bagit::FixityProblem> },
    #[error("no document {document_id}")]
    DocumentNotFound { document_id: i64 },
    #[error("document metadata is invalid: {reason}")]
    MetadataInvalid { reason: String },
    #[error("no document version {version_id}")]
    VersionNotFound { version_id: i64 },
    #[error("version {version} of document {document_id} has no recognized text")]
    TextNotFound { document_id: i64, version: i64 },
    #[error("document {document_id} is at version {latest}, not {expected}: reload and try again")]
    VersionConflict {
        document_id: i64,
        expected: i64,
        latest: i64,
    },
    #[error("fixity check found {changed} changed and {missing} missing blob(s)")]
    FixityFailed { changed: u64, missing: u64 },
    #[error("invalid {field} {value:?}: {reason}")]
    FieldInvalid {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("{day} is already a holiday")]
    HolidayExists { day: time::Date },
    #[error("{day} is not a holiday")]
    HolidayNotFound { day: time::Date },
    #[error("no job {job_id}")]
    JobNotFound { job_id: String },
    #[error("document {document_id} cannot be OCRed: {reason}")]
    OcrNotApplicable {
        document_id: i64,
        reason: &'static str,
        reason_vi: &'static str,
    },
    #[error("page previews are unavailable: {reason}")]
    PreviewUnavailable { reason: String },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("procedure code {value:?} is invalid (expected d.dddddd, e.g. 1.001193)")]
    ProcedureCodeInvalid { value: String },
    #[error("no procedure {code} in the catalogue (import it with `hoso procedure import`)")]
    ProcedureNotFound { code: String },
    #[error("content of {size_bytes} bytes is too large to record")]
    TooLarge { size_bytes: u64 },
    #[error("dossier {code} cannot go from {} to {} (allowed: {})", from.as_str(), to.as_str(), allowed_steps(*from))]
    TransitionInvalid {
        code: String,
        from: dossiers::DossierStatus,
        to: dossiers::DossierStatus,
    },
    #[error("reading the upload failed: {0}")]
    Upload(std::io::Error),
    #[error("user {username} already exists")]
    UserExists { username: String },
    #[error("no user {user}")]
    UserNotFound { user: String },
    #[error("user {username} is disabled")]
    UserDisabled { username: String },
    #[error("no API token {token_id}")]
    TokenNotFound { token_id: i64 },
    #[error("user {username} already has a signing key named {name:?}")]
    SigningKeyExists { username: String, name: String },
    #[error("no signing key {key_id}")]
    SigningKeyNotFound { key_id: i64 },
    #[error("no signature request {request_id}")]
    SignRequestNotFound { request_id: i64 },
    #[error("signature request {request_id} is already {state}")]
    SignRequestClosed { request_id: i64, state: String },
}

impl Coded for ArchiveError {
    fn code(&self) -> &'static str {
        match self {
            ArchiveError::AgencyCodeInvalid { .. } => "agency-code-invalid",
            ArchiveError::AuditChainBroken { .. } => "audit-chain-broken",
            ArchiveError::AuditEmpty => "audit-log-empty",
            ArchiveError::BlobNotFound { .. } => "blob-not-found",
            ArchiveError::BlobDamaged { .. } => "blob-damaged",
            ArchiveError::BlobIo { .. } => "storage-io-failed",
            ArchiveError::CatalogueInvalid { .. } => "procedure-catalogue-invalid",
            ArchiveError::CatalogueUnreadable { .. } => "procedure-catalogue-unreadable",
            ArchiveError::Corrupt { .. } => "archive-data-inconsistent",
            ArchiveError::Database(_) => "database-error",
            ArchiveError::DataDir { .. } => "data-dir-unusable",
            ArchiveError::DossierCodeInvalid { .. } => "dossier-code-invalid",
            ArchiveError::DossierNotFound { .. } => "dossier-not-found",
            ArchiveError::DossierExists { .. } => "dossier-exists",
            ArchiveError::ExportTargetExists { .. } => "export-target-exists",
            ArchiveError::PackageIo { .. } => "package-io-failed",
            ArchiveError::PackageUnreadable { .. } => "package-unreadable",
            ArchiveError::PackageInvalid { .. } => "package-invalid",
            ArchiveError::PackageFixity { .. } => "package-fixity-failed",
            ArchiveError::DocumentNotFound { .. } => "document-not-found",
            ArchiveError::MetadataInvalid { .. } => "metadata-invalid",
            ArchiveError::VersionNotFound { .. } => "version-not-found",
            ArchiveError::TextNotFound { .. } => "text-not-found",
            ArchiveError::VersionConflict { .. } => "version-conflict",
            ArchiveError::FieldInvalid { .. } => "field-invalid",
            ArchiveError::FixityFailed { .. } => "fixity-failed",
            ArchiveError::HolidayExists { .. } => "holiday-exists",
            ArchiveError::HolidayNotFound { .. } => "holiday-not-found",
            ArchiveError::JobNotFound { .. } => "job-not-found",
            ArchiveError::OcrNotApplicable { .. } => "ocr-not-applicable",
            ArchiveError::PreviewUnavailable { .. } => "preview-unavailable",
            ArchiveError::Migrate(_) => "database-migration-failed",
            ArchiveError::ProcedureCodeInvalid { .. } => "procedure-code-invalid",
            ArchiveError::ProcedureNotFound { .. } => "procedure-not-found",
            ArchiveError::TooLarge { .. } => "content-too-large",
            ArchiveError::TransitionInvalid { .. } => "dossier-transition-invalid",
            ArchiveError::Upload(_) => "upload-interrupted",
            ArchiveError::UserExists { .. } => "user-exists",
            ArchiveError::UserNotFound { .. } => "user-not-found",
            ArchiveError::UserDisabled { .. } => "user-disabled",
            ArchiveError::TokenNotFound { .. } => "token-not-found",
            ArchiveError::SigningKeyExists { .. } => "signing-key-exists",
            ArchiveError::SigningKeyNotFound { .. } => "signing-key-not-found",
            ArchiveError::SignRequestNotFound { .. } => "sign-request-not-found",
            ArchiveError::SignRequestClosed { .. } => "sign-request-closed",
        }
    }

    fn class(&self) -> ErrorClass {
        match self {
            ArchiveError::BlobNotFound { .. }
            | ArchiveError::DossierNotFound { .. }
            | ArchiveError::DocumentNotFound { .. }
            | ArchiveError::VersionNotFound { .. }
            | ArchiveError::TextNotFound { .. }
            | ArchiveError::HolidayNotFound { .. }
            | ArchiveError::JobNotFound { .. }
            | ArchiveError::ProcedureNotFound { .. } => ErrorClass::NotFound,
            ArchiveError::OcrNotApplicable { .. } => ErrorClass::InvalidInput,
            ArchiveError::PreviewUnavailable { .. } => ErrorClass::Unavailable,
            ArchiveError::AgencyCodeInvalid { .. }
            | ArchiveError::AuditEmpty
            | ArchiveError::CatalogueInvalid { .. }
            | ArchiveError::CatalogueUnreadable { .. }
            | ArchiveError::DossierCodeInvalid { .. }
            | ArchiveError::FieldInvalid { .. }
            | ArchiveError::MetadataInvalid { .. }
            | ArchiveError::ProcedureCodeInvalid { .. } => ErrorClass::InvalidInput,
            ArchiveError::PackageUnreadable { .. }
            | ArchiveError::PackageInvalid { .. }
            | ArchiveError::PackageFixity { .. } => ErrorClass::InvalidInput,
            ArchiveError::PackageIo { .. } => ErrorClass::Internal,
            ArchiveError::DossierExists { .. }
            | ArchiveError::ExportTargetExists { .. }
            | ArchiveError::HolidayExists { .. }
            | ArchiveError::TransitionInvalid { .. }
            | ArchiveError::VersionConflict { .. } => ErrorClass::Conflict,
            ArchiveError::AuditChainBroken { .. }
            | ArchiveError::Corrupt { .. }
            | ArchiveError::FixityFailed { .. } => ErrorClass::Internal,
            ArchiveError::Database(e) if is_connection_error(e) => ErrorClass::Unavailable,
            ArchiveError::DataDir { .. } => ErrorClass::Unavailable,
            ArchiveError::TooLarge { .. } | ArchiveError::Upload(_) => ErrorClass::InvalidInput,
            ArchiveError::BlobDamaged { .. }
            | ArchiveError::BlobIo { .. }
            | ArchiveError::Database(_)
            | ArchiveError::Migrate(_) => ErrorClass::Internal,
            ArchiveError::UserNotFound { .. }
            | ArchiveError::TokenNotFound { .. }
            | ArchiveError::SigningKeyNotFound { .. }
            | ArchiveError::SignRequestNotFound { .. } => ErrorClass::NotFound,
            ArchiveError::UserExists { .. }
            | ArchiveError::UserDisabled { .. }
            | ArchiveError::SigningKeyExists { .. }
            | ArchiveError::SignRequestClosed { .. } => ErrorClass::Conflict,
        }
    }

    fn message_vi(&self) -> String {
        match self {
            ArchiveError::AgencyCodeInvalid { value } => format!(
                "Mã định danh cơ quan {value:?} không đúng định dạng (ví dụ H53.100.01 hoặc 000.00.31.H19)."
            ),
            ArchiveError::AuditChainBroken { seq, reason } => format!(
                "Nhật ký kiểm toán bị phá vỡ tại bản ghi số {seq}: {}.",
                reason.label_vi()
            ),
            ArchiveError::AuditEmpty => {
                "Nhật ký kiểm toán chưa có bản ghi nào để lập điểm kiểm tra.".to_owned()
            }
            ArchiveError::CatalogueInvalid { problems } => format!(
                "Danh mục thủ tục có {} dòng không hợp lệ, chưa nhập dòng nào: {}.",
                problems.len(),
                row_list(problems, |p| format!("dòng {}: {}", p.line, p.issue.message_vi()))
            ),
            ArchiveError::CatalogueUnreadable { .. } => {
                "Không đọc được tệp danh mục thủ tục (cần CSV hoặc JSON, mã UTF-8, có cột mã, tên và thời hạn giải quyết).".to_owned()
            }
            ArchiveError::Corrupt { .. } => "Dữ liệu lưu trữ không nhất quán.".to_owned(),
            ArchiveError::DossierCodeInvalid { value } => format!(
                "Mã hồ sơ {value:?} không đúng định dạng (MÃ-CƠ-QUAN-YYMMDD-AANNNN)."
            ),
            ArchiveError::DossierNotFound { code } => format!("Không tìm thấy hồ sơ {code}."),
            ArchiveError::DossierExists { code } => {
                format!("Hồ sơ {code} đã có trong kho lưu trữ này; không nhập lại.")
            }
            ArchiveError::ExportTargetExists { path } => format!(
                "{} đã tồn tại và không rỗng; hãy chọn thư mục hoặc tệp .zip mới để xuất.",
                path.display()
            ),
            ArchiveError::PackageIo { path, .. } => {
                format!("Lỗi đọc/ghi gói hồ sơ tại {}.", path.display())
            }
            ArchiveError::PackageUnreadable { path, .. } => format!(
                "Không đọc được gói hồ sơ {} (cần thư mục BagIt hoặc tệp .zip do hoso xuất).",
                path.display()
            ),
            ArchiveError::PackageInvalid { reason } => {
                format!("Gói hồ sơ không hợp lệ, chưa nhập gì: {reason}.")
            }
            ArchiveError::PackageFixity { problems } => format!(
                "Gói hồ sơ không toàn vẹn ({} lỗi), chưa nhập gì: {}.",
                problems.len(),
                row_list(problems, |p| format!("{}: {}", p.path, p.problem.label_vi()))
            ),
            ArchiveError::DocumentNotFound { document_id } => {
                format!("Không tìm thấy tài liệu số {document_id}.")
            }
            ArchiveError::MetadataInvalid { reason } => {
                format!("Siêu dữ liệu văn bản không hợp lệ: {reason}.")
            }
            ArchiveError::VersionNotFound { version_id } => {
                format!("Không tìm thấy phiên bản tài liệu số {version_id}.")
            }
            ArchiveError::TextNotFound {
                document_id,
                version,
            } => format!(
                "Phiên bản {version} của tài liệu số {document_id} chưa có văn bản nhận dạng (OCR)."
            ),
            ArchiveError::VersionConflict {
                document_id,
                latest,
                ..
            } => format!(
                "Tài liệu số {document_id} vừa có phiên bản mới ({latest}); hãy tải lại rồi thực hiện lại."
            ),
            ArchiveError::FieldInvalid { field, value, .. } => {
                format!("Giá trị {value:?} của trường `{field}` không hợp lệ.")
            }
            ArchiveError::FixityFailed { changed, missing } => format!(
                "Kiểm tra toàn vẹn phát hiện {changed} nội dung bị thay đổi và {missing} nội dung bị mất trong kho lưu trữ."
            ),
            ArchiveError::HolidayExists { day } => format!("Ngày {day} đã là ngày nghỉ."),
            ArchiveError::HolidayNotFound { day } => format!("Ngày {day} không phải ngày nghỉ đã khai báo."),
            ArchiveError::JobNotFound { job_id } => format!("Không tìm thấy tác vụ {job_id}."),
            ArchiveError::OcrNotApplicable {
                document_id,
                reason_vi,
                ..
            } => format!("Không nhận dạng chữ (OCR) được tài liệu số {document_id}: {reason_vi}."),
            ArchiveError::PreviewUnavailable { .. } => {
                "Tạm thời không tạo được ảnh xem trước trang; hãy thử lại sau.".to_owned()
            }
            ArchiveError::ProcedureCodeInvalid { value } => format!(
                "Mã thủ tục {value:?} không đúng định dạng (d.dddddd, ví dụ 1.001193)."
            ),
            ArchiveError::ProcedureNotFound { code } => format!(
                "Không có thủ tục {code} trong danh mục (nhập bằng `hoso procedure import`)."
            ),
            ArchiveError::TransitionInvalid { code, from, to } => format!(
                "Hồ sơ {code} đang ở trạng thái \"{}\", không chuyển sang \"{}\" được.",
                from.label_vi(),
                to.label_vi()
            ),
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
            ArchiveError::UserExists { username } => {
                format!("Tên đăng nhập {username} đã có người dùng.")
            }
            ArchiveError::UserNotFound { user } => format!("Không tìm thấy người dùng {user}."),
            ArchiveError::UserDisabled { username } => {
                format!("Tài khoản {username} đã bị khóa.")
            }
            ArchiveError::TokenNotFound { token_id } => {
                format!("Không tìm thấy mã truy cập API số {token_id}.")
            }
            ArchiveError::SigningKeyExists { username, name } => {
                format!("Người dùng {username} đã có khóa ký số tên \"{name}\".")
            }
            ArchiveError::SigningKeyNotFound { key_id } => {
                format!("Không tìm thấy khóa ký số số {key_id}.")
            }
            ArchiveError::SignRequestNotFound { request_id } => {
                format!("Không tìm thấy yêu cầu ký số {request_id}.")
            }
            ArchiveError::SignRequestClosed { request_id, .. } => {
                format!("Yêu cầu ký số {request_id} đã được xử lý (đã ký hoặc đã từ chối).")
            }
        }
    }
}

/// The first rows of a list for a message, and how many more there are.
fn row_list<T>(items: &[T], show: impl Fn(&T) -> String) -> String {
    const SHOWN: usize = 20;
    let mut text: Vec<String> = items.iter().take(SHOWN).map(show).collect();
    if items.len() > SHOWN {
        text.push(format!("… (+{})", items.len() - SHOWN));
    }
    text.join("; ")
}

fn allowed_steps(from: dossiers::DossierStatus) -> String {
    let steps: Vec<&str> = from.next_steps().iter().map(|s| s.as_str()).collect();
    if steps.is_empty() {
        "none, the dossier is closed".to_owned()
    } else {
        steps.join(", ")
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

//! Dossier packages (issue #6): `hoso export` writes one dossier, with every version of every
//! document, as a BagIt bag (RFC 8493, version 1.0); `hoso import` checks such a bag and
//! recreates the dossier in another (empty) archive, losslessly.
//!
//! ```text
//! bagit.txt                    BagIt-Version 1.0, UTF-8
//! bag-info.txt                 Source-Organization (agency code), External-Identifier (dossier
//!                              code), Bagging-Date, Payload-Oxum, Bag-Software-Agent, Hoso-*
//! manifest-sha256.txt          SHA-256 of every payload file
//! tagmanifest-sha256.txt       SHA-256 of the three files above
//! data/dossier.json            the dossier, its procedure, its status events, its documents
//! data/documents/<n>/document.json   document n of the dossier (1, 2, … in order of creation):
//!                              role, origin, every version with its metadata and OCR text,
//!                              every verification report's summary and signatures
//! data/documents/<n>/v<V>-<sha256 prefix>.<ext>   the exact bytes of version V (a version
//!                              with its parent's content, e.g. a metadata edit, names the
//!                              parent's file)
//! data/documents/<n>/reports/<k>.json   the k-th stored verification report, verbatim
//! data/audit.jsonl             the audit entries about the dossier and its documents, one JSON
//!                              object a line with the chain they come from, seq, prev_hash and
//!                              hash; the chain's latest checkpoint head last
//! ```
//!
//! Folders are numbered by position, not by database id, and files by version and content,
//! so the payload of a dossier exported, imported elsewhere and exported again is the same
//! file for file: only the fields that are necessarily local differ (`document_id`,
//! `version_id`, `report_id`: the ids of the exporting archive), and `audit.jsonl` gains the
//! importing archive's own entries after the source's. Where a document was first created is
//! kept in its `origin` (that archive's chain and ids), carried verbatim through every move.
//!
//! A chain is named by the hash of its entry 1. Imported entries cannot join this archive's
//! chain (their seq and prev_hash belong to the source), so they are kept verbatim apart
//! (`imported_audit`) and exported again ahead of this archive's entries. Import checks that
//! each imported entry matches its hash and links to the one before it when both are there.
//!
//! Export reads one consistent snapshot, streams each version from the blob store into the
//! package (never whole in memory: a writer thread takes chunks through a bounded channel),
//! checking its SHA-256 on the way, builds the package beside its target and publishes it
//! (rename, or hard link for a zip, so nothing existing is ever overwritten) inside the
//! transaction that records the `dossier.export` audit entry. Import verifies every manifest
//! line, the Payload-Oxum and the tag manifest, refuses missing, extra and unknown files, puts
//! the versions into the blob store (deduplicated by SHA-256), then writes everything in one
//! transaction with a `dossier.import` audit entry.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Sqlite, Transaction};
use time::{Date, OffsetDateTime};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use super::audit::{AuditEntry, AuditRecord, Checkpoint, append};
use super::blob::BlobStore;
use super::calendar::VIETNAM;
use super::codes::{AgencyCode, DossierCode, ProcedureCode};
use super::documents::{
    DocumentMetadata, DocumentRole, DocumentTx, ReportRow, SignatureRow, VersionKind, VersionRow,
};
use super::dossiers::{DossierRow, DossierStatus, EventRow, checked_actor};
use super::procedures::Procedure;
use super::search::SearchTx;
use super::tx::{Begin, Tx};
use super::{Archive, ArchiveError, Db, stored_time};
use crate::digest::{Sha256Digest, Sha256Hasher};

/// `Hoso-Package-Format` and the `format` of `data/dossier.json`.
pub const PACKAGE_FORMAT: &str = "hoso-dossier/1";
const DOCUMENT_FORMAT: &str = "hoso-document/1";
/// Bytes per chunk streamed to the package writer; with [`CHANNEL_DEPTH`] chunks in flight,
/// memory stays under 1.5 MiB whatever the size of a version.
const CHUNK: usize = 256 * 1024;
const CHANNEL_DEPTH: usize = 4;
/// Largest JSON file of a package read into memory (dossier.json, document.json, a report,
/// audit.jsonl); an OCR text of a 1,000-page scan is a few MB.
const MAX_JSON_BYTES: u64 = 256 * 1024 * 1024;
/// Tag files (manifests, bag-info) extracted from a zip beyond the declared payload.
const MAX_TAG_BYTES: u64 = 64 * 1024 * 1024;

// ---- the package's JSON ------------------------------------------------------------------
// Times are RFC 3339 in Vietnam time (UTC+7), whole seconds, as stored.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DossierFile {
    format: String,
    dossier: DossierPart,
    procedure: ProcedurePart,
    events: Vec<EventPart>,
    /// `data/documents/<n>/document.json` of each document, in order.
    documents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DossierPart {
    code: String,
    agency_code: String,
    applicant_name: String,
    applicant_id_number: Option<String>,
    applicant_contact: Option<String>,
    channel: String,
    result_delivery: String,
    status: String,
    #[serde(with = "time::serde::rfc3339")]
    received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    due_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    resolved_at: Option<OffsetDateTime>,
    outcome: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    returned_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcedurePart {
    code: String,
    name: String,
    field: Option<String>,
    level: Option<String>,
    processing_days: i64,
    competent_agency: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventPart {
    from_status: Option<String>,
    to_status: String,
    actor: String,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentFile {
    format: String,
    /// Local: the id in the exporting archive.
    document_id: i64,
    origin: Origin,
    role: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    created_by: String,
    versions: Vec<VersionPart>,
    reports: Vec<ReportPart>,
}

/// Where a document was first created: that archive's chain and the ids it had there (the
/// ids its audit entries name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Origin {
    chain: String,
    document_id: i64,
    /// By version number.
    version_ids: Vec<i64>,
    /// In the order of `reports`.
    report_ids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionPart {
    version: i64,
    /// Local.
    version_id: i64,
    parent_version: Option<i64>,
    kind: String,
    sha256: String,
    /// The payload file holding the bytes, from the bag's root.
    file: String,
    file_name: String,
    media_type: String,
    size_bytes: i64,
    metadata: DocumentMetadata,
    ocr_text: Option<String>,
    ocr_confidence: Option<f64>,
    reason: String,
    created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportPart {
    /// Local.
    report_id: i64,
    /// The payload file holding the report JSON as stored.
    file: String,
    version: i64,
    indication: String,
    subindication: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    validation_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    checked_at: OffsetDateTime,
    checked_by: String,
    signatures: Vec<SignaturePart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignaturePart {
    field_name: String,
    kind: String,
    signer: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    signing_time: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    timestamp_time: Option<OffsetDateTime>,
    level: Option<String>,
    indication: String,
    subindication: Option<String>,
}

/// One line of `data/audit.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum AuditLine {
    Entry {
        /// The hash of entry 1 of the chain this entry belongs to.
        chain: String,
        seq: i64,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        actor: String,
        action: String,
        object_kind: String,
        object_id: String,
        /// The exact JSON text that was hashed.
        details: String,
        prev_hash: String,
        hash: String,
    },
    /// The chain's latest Merkle tree head when the package was made.
    Checkpoint {
        chain: String,
        checkpoint_id: i64,
        first_seq: i64,
        last_seq: i64,
        root_hash: String,
        #[serde(with = "time::serde::rfc3339")]
        created_at: OffsetDateTime,
        created_by: String,
    },
}

fn vn(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(VIETNAM)
}

// ---- reports -------------------------------------------------------------------------------

/// What `export` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    pub dossier: String,
    pub target: String,
    /// `directory` or `zip`.
    pub package: &'static str,
    /// Payload files (under `data/`) and their bytes (the Payload-Oxum).
    pub payload_files: u64,
    pub payload_bytes: u64,
    /// Everything written: payload and tag files (before zip compression).
    pub files: u64,
    pub bytes: u64,
    /// SHA-256 of `manifest-sha256.txt`: names the exact payload.
    pub manifest_sha256: String,
    pub documents: u64,
    pub versions: u64,
    pub reports: u64,
    /// Lines of data/audit.jsonl: audit entries about the dossier and its documents (the
    /// source archives' first when it was imported) and checkpoint heads.
    pub audit_lines: u64,
    /// The `dossier.export` audit entry.
    pub audit_seq: i64,
}

/// What `import` did with the procedure of the dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcedureOutcome {
    /// It was not in this archive's catalogue: added as the package describes it.
    Inserted,
    /// The catalogue had it, the same.
    Existing,
    /// The catalogue had it with other content: this archive's entry is kept.
    ExistingDiffers,
}

/// What `import` stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub dossier: String,
    pub source: String,
    pub source_organization: Option<String>,
    pub manifest_sha256: String,
    pub payload_files: u64,
    pub payload_bytes: u64,
    pub documents: u64,
    pub versions: u64,
    pub reports: u64,
    /// Distinct contents, and how many of them the blob store did not have yet.
    pub blobs: u64,
    pub blobs_new: u64,
    /// Lines of the source's audit.jsonl kept (entries and checkpoint heads).
    pub audit_lines: u64,
    pub procedure: ProcedureOutcome,
    /// The `dossier.import` audit entry.
    pub audit_seq: i64,
}

/// One file of a bag that is not as its manifest says (Archivematica's fixity words).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixityProblem {
    pub path: String,
    pub problem: FixityKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixityKind {
    /// Its SHA-256 is not the manifest's.
    Changed,
    /// In the manifest, not in the bag.
    Missing,
    /// In the bag's payload, not in the manifest.
    Untracked,
    /// A link, device or other non-file where a file should be.
    NotAFile,
    /// The Payload-Oxum of bag-info.txt does not match the payload.
    PayloadOxum,
}

impl FixityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FixityKind::Changed => "changed",
            FixityKind::Missing => "missing",
            FixityKind::Untracked => "untracked",
            FixityKind::NotAFile => "not-a-file",
            FixityKind::PayloadOxum => "payload-oxum",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            FixityKind::Changed => "nội dung bị thay đổi",
            FixityKind::Missing => "bị thiếu",
            FixityKind::Untracked => "không có trong manifest",
            FixityKind::NotAFile => "không phải tệp thông thường",
            FixityKind::PayloadOxum => "Payload-Oxum không khớp",
        }
    }
}

fn invalid(reason: impl Into<String>) -> ArchiveError {
    ArchiveError::PackageInvalid {
        reason: reason.into(),
    }
}

fn package_io(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::PackageIo {
        path: path.to_owned(),
        source,
    }
}

fn corrupt(what: String) -> ArchiveError {
    ArchiveError::Corrupt { what }
}

// ---- statements ----------------------------------------------------------------------------

/// The statements of export and import, on an open transaction of either backend: reads of
/// whole rows, and inserts that take stored values (times, codes, statuses) as they are.
pub(super) trait BagTx: Tx + DocumentTx + SearchTx {
    async fn audit_of_object(
        &mut self,
        kind: &str,
        id: &str,
    ) -> Result<Vec<AuditEntry>, sqlx::Error>;
    /// The hash of entry 1: the name of this archive's chain.
    async fn chain_id(&mut self) -> Result<Option<String>, sqlx::Error>;
    async fn latest_checkpoint(&mut self) -> Result<Option<Checkpoint>, sqlx::Error>;
    async fn report_rows(&mut self, document_id: i64) -> Result<Vec<ReportRow>, sqlx::Error>;
    async fn origin_of(&mut self, document_id: i64) -> Result<Option<String>, sqlx::Error>;
    async fn imported_audit_lines(&mut self, dossier_id: i64) -> Result<Vec<String>, sqlx::Error>;
    /// Inserts `procedure` (its id is ignored) with its own times; the new id.
    async fn insert_stored_procedure(&mut self, procedure: &Procedure) -> Result<i64, sqlx::Error>;
    /// Makes the last sequence number of `agency` on `day` at least `sequence`.
    async fn raise_sequence(
        &mut self,
        agency: &str,
        day: Date,
        sequence: i64,
    ) -> Result<(), sqlx::Error>;
    async fn insert_blob_row(
        &mut self,
        sha256: &str,
        size_bytes: i64,
        media_type: &str,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error>;
    async fn insert_origin(&mut self, document_id: i64, origin: &str) -> Result<(), sqlx::Error>;
    async fn insert_imported_audit(
        &mut self,
        dossier_id: i64,
        position: i64,
        line: &str,
    ) -> Result<(), sqlx::Error>;
}

macro_rules! impl_bag_tx {
    ($db:ty) => {
        impl BagTx for Transaction<'_, $db> {
            async fn audit_of_object(
                &mut self,
                kind: &str,
                id: &str,
            ) -> Result<Vec<AuditEntry>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT seq, at, actor, action, object_kind, object_id, details, prev_hash,
                         hash
                     FROM audit_log WHERE object_kind = $1 AND object_id = $2 ORDER BY seq",
                )
                .bind(kind)
                .bind(id)
                .fetch_all(&mut **self)
                .await
            }

            async fn chain_id(&mut self) -> Result<Option<String>, sqlx::Error> {
                sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = 1")
                    .fetch_optional(&mut **self)
                    .await
            }

            async fn latest_checkpoint(&mut self) -> Result<Option<Checkpoint>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT checkpoint_id, first_seq, last_seq, root_hash, created_at,
                         created_by, tsa_token
                     FROM audit_checkpoints ORDER BY checkpoint_id DESC LIMIT 1",
                )
                .fetch_optional(&mut **self)
                .await
            }

            async fn report_rows(
                &mut self,
                document_id: i64,
            ) -> Result<Vec<ReportRow>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT r.report_id, r.version_id, r.indication, r.subindication,
                         r.validation_time, r.checked_at, r.checked_by, r.report
                     FROM verification_reports r
                     JOIN document_versions v ON v.version_id = r.version_id
                     WHERE v.document_id = $1 ORDER BY r.report_id",
                )
                .bind(document_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn origin_of(&mut self, document_id: i64) -> Result<Option<String>, sqlx::Error> {
                sqlx::query_scalar("SELECT origin FROM imported_documents WHERE document_id = $1")
                    .bind(document_id)
                    .fetch_optional(&mut **self)
                    .await
            }

            async fn imported_audit_lines(
                &mut self,
                dossier_id: i64,
            ) -> Result<Vec<String>, sqlx::Error> {
                sqlx::query_scalar(
                    "SELECT line FROM imported_audit WHERE dossier_id = $1 ORDER BY position",
                )
                .bind(dossier_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn insert_stored_procedure(
                &mut self,
                procedure: &Procedure,
            ) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO procedures (code, name, field, level, processing_days,
                         competent_agency, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     RETURNING procedure_id",
                )
                .bind(&procedure.code)
                .bind(&procedure.name)
                .bind(&procedure.field)
                .bind(&procedure.level)
                .bind(procedure.processing_days)
                .bind(&procedure.competent_agency)
                .bind(procedure.created_at)
                .bind(procedure.updated_at)
                .fetch_one(&mut **self)
                .await
            }

            async fn raise_sequence(
                &mut self,
                agency: &str,
                day: Date,
                sequence: i64,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO dossier_sequences (agency_code, day, last_sequence)
                     VALUES ($1, $2, $3)
                     ON CONFLICT (agency_code, day) DO UPDATE SET last_sequence =
                         CASE WHEN dossier_sequences.last_sequence < excluded.last_sequence
                              THEN excluded.last_sequence
                              ELSE dossier_sequences.last_sequence END",
                )
                .bind(agency)
                .bind(day)
                .bind(sequence)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn insert_blob_row(
                &mut self,
                sha256: &str,
                size_bytes: i64,
                media_type: &str,
                now: OffsetDateTime,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO blob (sha256, size_bytes, media_type, first_stored_at)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING",
                )
                .bind(sha256)
                .bind(size_bytes)
                .bind(media_type)
                .bind(now)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn insert_origin(
                &mut self,
                document_id: i64,
                origin: &str,
            ) -> Result<(), sqlx::Error> {
                sqlx::query("INSERT INTO imported_documents (document_id, origin) VALUES ($1, $2)")
                    .bind(document_id)
                    .bind(origin)
                    .execute(&mut **self)
                    .await
                    .map(|_| ())
            }

            async fn insert_imported_audit(
                &mut self,
                dossier_id: i64,
                position: i64,
                line: &str,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO imported_audit (dossier_id, position, line) VALUES ($1, $2, $3)",
                )
                .bind(dossier_id)
                .bind(position)
                .bind(line)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }
        }
    };
}

impl_bag_tx!(Postgres);
impl_bag_tx!(Sqlite);

// ---- export: reading the snapshot ----------------------------------------------------------

/// Everything of a dossier but the bytes of its versions, read in one transaction.
struct Snapshot {
    dossier: DossierFile,
    documents: Vec<DocumentSnapshot>,
    audit_lines: Vec<String>,
    chain: String,
    audit_head: Option<(i64, String)>,
}

struct DocumentSnapshot {
    path: String,
    file: DocumentFile,
    /// `(payload path, report JSON as stored)`.
    reports: Vec<(String, String)>,
    /// Each distinct content once: `(payload path, sha256, size)`.
    contents: Vec<(String, Sha256Digest, u64)>,
}

/// `pdf` from `Tờ khai.PDF`, else from the media type, else `bin`: only for reading the
/// package with ordinary tools; the version's own file name is in document.json.
fn extension(file_name: &str, media_type: &str) -> String {
    let from_name = file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| {
            (1..=8).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    from_name.unwrap_or_else(|| {
        match media_type {
            "application/pdf" => "pdf",
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/tiff" => "tif",
            "application/json" => "json",
            "text/plain" => "txt",
            _ => "bin",
        }
        .to_owned()
    })
}

async fn read_snapshot<T: BagTx>(tx: &mut T, code: &DossierCode) -> Result<Snapshot, ArchiveError> {
    let row = tx
        .dossier(code.as_str())
        .await?
        .ok_or_else(|| ArchiveError::DossierNotFound {
            code: code.as_str().to_owned(),
        })?;
    let procedure = tx
        .procedure_by_id(row.procedure_id)
        .await?
        .ok_or_else(|| corrupt(format!("dossier {} has no procedure", row.code)))?;
    let events = tx.events(row.dossier_id).await?;
    let chain = tx
        .chain_id()
        .await?
        .ok_or_else(|| corrupt("the audit log is empty".to_owned()))?;

    let mut documents = Vec::new();
    let mut local_entries: BTreeMap<i64, AuditEntry> = BTreeMap::new();
    for entry in tx.audit_of_object("dossier", &row.code).await? {
        local_entries.insert(entry.seq, entry);
    }
    for (index, document_id) in tx
        .dossier_document_ids(row.dossier_id)
        .await?
        .into_iter()
        .enumerate()
    {
        let path = format!("data/documents/{}", index + 1);
        let document = tx
            .document_row(document_id)
            .await?
            .ok_or(ArchiveError::DocumentNotFound { document_id })?;
        let versions = tx.version_rows(document_id).await?;
        let report_rows = tx.report_rows(document_id).await?;
        let origin = match tx.origin_of(document_id).await? {
            Some(text) => serde_json::from_str::<Origin>(&text)
                .map_err(|e| corrupt(format!("origin of document {document_id}: {e}")))?,
            None => Origin {
                chain: chain.clone(),
                document_id,
                version_ids: versions.iter().map(|v| v.version_id).collect(),
                report_ids: report_rows.iter().map(|r| r.report_id).collect(),
            },
        };
        let number_of: HashMap<i64, i64> =
            versions.iter().map(|v| (v.version_id, v.version)).collect();
        let mut file_of: HashMap<String, String> = HashMap::new();
        let mut contents = Vec::new();
        let mut version_parts = Vec::with_capacity(versions.len());
        for v in &versions {
            let file = match file_of.get(&v.sha256) {
                Some(file) => file.clone(),
                None => {
                    let file = format!(
                        "{path}/v{}-{}.{}",
                        v.version,
                        v.sha256.get(..12).unwrap_or(&v.sha256),
                        extension(&v.file_name, &v.media_type)
                    );
                    let sha = v
                        .sha256
                        .parse::<Sha256Digest>()
                        .map_err(|_| corrupt(format!("version {} sha256", v.version_id)))?;
                    let size = u64::try_from(v.size_bytes)
                        .map_err(|_| corrupt(format!("version {} size", v.version_id)))?;
                    contents.push((file.clone(), sha, size));
                    file_of.insert(v.sha256.clone(), file.clone());
                    file
                }
            };
            let version = v.to_version()?;
            version_parts.push(VersionPart {
                version: v.version,
                version_id: v.version_id,
                parent_version: v
                    .parent_version_id
                    .map(|id| {
                        number_of.get(&id).copied().ok_or_else(|| {
                            corrupt(format!("version {} has a foreign parent", v.version_id))
                        })
                    })
                    .transpose()?,
                kind: v.kind.clone(),
                sha256: v.sha256.clone(),
                file,
                file_name: v.file_name.clone(),
                media_type: v.media_type.clone(),
                size_bytes: v.size_bytes,
                metadata: version.metadata,
                ocr_text: v.ocr_text.clone(),
                ocr_confidence: v.ocr_confidence,
                reason: v.reason.clone(),
                created_by: v.created_by.clone(),
                created_at: vn(v.created_at),
            });
        }
        let mut reports = Vec::new();
        let mut report_parts = Vec::new();
        for (k, r) in report_rows.into_iter().enumerate() {
            let file = format!("{path}/reports/{}.json", k + 1);
            let signatures = tx
                .signatures_of(r.report_id)
                .await?
                .into_iter()
                .map(|s| SignaturePart {
                    field_name: s.field_name,
                    kind: s.kind,
                    signer: s.signer,
                    signing_time: s.signing_time.map(vn),
                    timestamp_time: s.timestamp_time.map(vn),
                    level: s.level,
                    indication: s.indication,
                    subindication: s.subindication,
                })
                .collect();
            report_parts.push(ReportPart {
                report_id: r.report_id,
                file: file.clone(),
                version: number_of.get(&r.version_id).copied().ok_or_else(|| {
                    corrupt(format!("report {} of another document", r.report_id))
                })?,
                indication: r.indication,
                subindication: r.subindication,
                validation_time: vn(r.validation_time),
                checked_at: vn(r.checked_at),
                checked_by: r.checked_by,
                signatures,
            });
            reports.push((file, r.report));
        }
        for entry in tx
            .audit_of_object("document", &document_id.to_string())
            .await?
        {
            local_entries.insert(entry.seq, entry);
        }
        documents.push(DocumentSnapshot {
            path: path.clone(),
            file: DocumentFile {
                format: DOCUMENT_FORMAT.to_owned(),
                document_id,
                origin,
                role: document.role,
                created_at: vn(document.created_at),
                created_by: document.created_by,
                versions: version_parts,
                reports: report_parts,
            },
            reports,
            contents,
        });
    }

    let mut audit_lines = tx.imported_audit_lines(row.dossier_id).await?;
    let to_line = |line: &AuditLine| {
        serde_json::to_string(line).map_err(|e| corrupt(format!("audit line: {e}")))
    };
    for entry in local_entries.into_values() {
        audit_lines.push(to_line(&AuditLine::Entry {
            chain: chain.clone(),
            seq: entry.seq,
            at: vn(entry.at),
            actor: entry.actor,
            action: entry.action,
            object_kind: entry.object_kind,
            object_id: entry.object_id,
            details: entry.details,
            prev_hash: entry.prev_hash,
            hash: entry.hash,
        })?);
    }
    if let Some(checkpoint) = tx.latest_checkpoint().await? {
        audit_lines.push(to_line(&AuditLine::Checkpoint {
            chain: chain.clone(),
            checkpoint_id: checkpoint.checkpoint_id,
            first_seq: checkpoint.first_seq,
            last_seq: checkpoint.last_seq,
            root_hash: checkpoint.root_hash,
            created_at: vn(checkpoint.created_at),
            created_by: checkpoint.created_by,
        })?);
    }
    let audit_head = tx.audit_head().await?;

    let dossier = DossierFile {
        format: PACKAGE_FORMAT.to_owned(),
        dossier: DossierPart {
            code: row.code.clone(),
            agency_code: row.agency_code.clone(),
            applicant_name: row.applicant_name.clone(),
            applicant_id_number: row.applicant_id_number.clone(),
            applicant_contact: row.applicant_contact.clone(),
            channel: row.channel.clone(),
            result_delivery: row.result_delivery.clone(),
            status: row.status.clone(),
            received_at: vn(row.received_at),
            due_at: vn(row.due_at),
            resolved_at: row.resolved_at.map(vn),
            outcome: row.outcome.clone(),
            returned_at: row.returned_at.map(vn),
            created_at: vn(row.created_at),
            updated_at: vn(row.updated_at),
        },
        procedure: ProcedurePart {
            code: procedure.code,
            name: procedure.name,
            field: procedure.field,
            level: procedure.level,
            processing_days: procedure.processing_days,
            competent_agency: procedure.competent_agency,
            created_at: vn(procedure.created_at),
            updated_at: vn(procedure.updated_at),
        },
        events: events
            .into_iter()
            .map(|e| EventPart {
                from_status: e.from_status,
                to_status: e.to_status,
                actor: e.actor,
                at: vn(e.at),
                note: e.note,
            })
            .collect(),
        documents: documents
            .iter()
            .map(|d| format!("{}/document.json", d.path))
            .collect(),
    };
    Ok(Snapshot {
        dossier,
        documents,
        audit_lines,
        chain,
        audit_head,
    })
}

// ---- export: writing the package -----------------------------------------------------------

/// A directory or a zip file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PackageKind {
    Directory,
    Zip,
}

impl PackageKind {
    fn of(target: &Path) -> Self {
        match target.extension() {
            Some(ext) if ext.eq_ignore_ascii_case("zip") => PackageKind::Zip,
            _ => PackageKind::Directory,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            PackageKind::Directory => "directory",
            PackageKind::Zip => "zip",
        }
    }
}

/// Refuses a target that holds something: an existing file, or a folder that is not empty.
fn check_target_free(target: &Path) -> Result<(), ArchiveError> {
    let taken = match std::fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(package_io(target)(e)),
        Ok(meta) if meta.is_dir() => std::fs::read_dir(target)
            .map_err(package_io(target))?
            .next()
            .is_some(),
        Ok(_) => true,
    };
    if taken {
        return Err(ArchiveError::ExportTargetExists {
            path: target.to_owned(),
        });
    }
    Ok(())
}

/// The package being written beside its target; removed unless published.
struct Staging {
    path: PathBuf,
    kind: PackageKind,
}

impl Staging {
    fn create(target: &Path, kind: PackageKind) -> Result<Self, ArchiveError> {
        let name = target
            .file_name()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ArchiveError::FieldInvalid {
                field: "output",
                value: target.display().to_string(),
                reason: "expected a folder or a .zip file name".to_owned(),
            })?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(package_io(&parent))?;
        let path = parent.join(format!(
            ".{}.{}.part",
            name.to_string_lossy(),
            uuid::Uuid::new_v4().simple()
        ));
        if kind == PackageKind::Directory {
            std::fs::create_dir(&path).map_err(package_io(&path))?;
        }
        Ok(Staging { path, kind })
    }

    /// Gives the finished package its name without ever replacing anything: rename(2)
    /// fails on a non-empty folder, and a hard link on any existing name.
    fn publish(&self, target: &Path) -> Result<(), ArchiveError> {
        let taken = |e: &std::io::Error| {
            matches!(
                e.kind(),
                std::io::ErrorKind::AlreadyExists
                    | std::io::ErrorKind::DirectoryNotEmpty
                    | std::io::ErrorKind::NotADirectory
                    | std::io::ErrorKind::IsADirectory
            )
        };
        let result = match self.kind {
            PackageKind::Directory => std::fs::rename(&self.path, target),
            PackageKind::Zip => std::fs::hard_link(&self.path, target),
        };
        match result {
            Ok(()) => {}
            Err(e) if taken(&e) => {
                return Err(ArchiveError::ExportTargetExists {
                    path: target.to_owned(),
                });
            }
            Err(e) => return Err(package_io(target)(e)),
        }
        if self.kind == PackageKind::Zip {
            let _ = std::fs::remove_file(&self.path);
        }
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = match self.kind {
            PackageKind::Directory => std::fs::remove_dir_all(&self.path),
            PackageKind::Zip => std::fs::remove_file(&self.path),
        };
    }
}

fn unpublish(target: &Path, kind: PackageKind) {
    let _ = match kind {
        PackageKind::Directory => std::fs::remove_dir_all(target),
        PackageKind::Zip => std::fs::remove_file(target),
    };
}

fn sync_dir(dir: &Path) -> Result<(), ArchiveError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(package_io(dir))
}

/// Where the writer thread puts files.
trait Sink: Send {
    /// Starts the file at `path` (from the bag's root); `content` is a version's bytes
    /// (already compressed formats, stored as they are in a zip) of `size` bytes.
    fn begin(&mut self, path: &str, content: Option<u64>) -> std::io::Result<()>;
    fn data(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    fn end(&mut self) -> std::io::Result<()>;
    /// Makes everything durable.
    fn finish(self: Box<Self>) -> std::io::Result<()>;
}

struct DirSink {
    root: PathBuf,
    current: Option<std::fs::File>,
    dirs: BTreeSet<PathBuf>,
}

impl Sink for DirSink {
    fn begin(&mut self, path: &str, _content: Option<u64>) -> std::io::Result<()> {
        let full = self.root.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
            for dir in parent.ancestors() {
                if !dir.starts_with(&self.root) || !self.dirs.insert(dir.to_owned()) {
                    break;
                }
            }
        }
        self.current = Some(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(full)?,
        );
        Ok(())
    }

    fn data(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.current {
            Some(file) => file.write_all(bytes),
            None => Err(std::io::Error::other("data outside a file")),
        }
    }

    fn end(&mut self) -> std::io::Result<()> {
        match self.current.take() {
            Some(file) => file.sync_all(),
            None => Ok(()),
        }
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        // Deepest first, so each folder's entry is on disk after its contents'.
        for dir in self.dirs.iter().rev() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        std::fs::File::open(&self.root)?.sync_all()
    }
}

struct ZipSink {
    writer: zip::ZipWriter<std::fs::File>,
    /// The bag's folder inside the zip (RFC 8493 §4: one top-level folder).
    prefix: String,
}

impl Sink for ZipSink {
    fn begin(&mut self, path: &str, content: Option<u64>) -> std::io::Result<()> {
        use zip::write::SimpleFileOptions;
        let options = SimpleFileOptions::default()
            .compression_method(match content {
                Some(_) => zip::CompressionMethod::Stored,
                None => zip::CompressionMethod::Deflated,
            })
            .large_file(content.is_some_and(|size| size >= u64::from(u32::MAX) - 65_536))
            .unix_permissions(0o644);
        self.writer
            .start_file(format!("{}/{path}", self.prefix), options)
            .map_err(std::io::Error::other)
    }

    fn data(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)
    }

    fn end(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        let file = self.writer.finish().map_err(std::io::Error::other)?;
        file.sync_all()
    }
}

enum Piece {
    Begin(String, Option<u64>),
    Data(Vec<u8>),
    End,
}

fn run_sink(mut sink: Box<dyn Sink>, mut pieces: mpsc::Receiver<Piece>) -> std::io::Result<()> {
    while let Some(piece) = pieces.blocking_recv() {
        match piece {
            Piece::Begin(path, content) => sink.begin(&path, content)?,
            Piece::Data(bytes) => sink.data(&bytes)?,
            Piece::End => sink.end()?,
        }
    }
    sink.finish()
}

/// The async side of the writer thread: streams files to it and keeps their digests.
struct PackageWriter {
    pieces: Option<mpsc::Sender<Piece>>,
    thread: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    path: PathBuf,
    files: u64,
    bytes: u64,
}

impl PackageWriter {
    fn start(sink: Box<dyn Sink>, path: &Path) -> Self {
        let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
        let thread = tokio::task::spawn_blocking(move || run_sink(sink, receiver));
        PackageWriter {
            pieces: Some(sender),
            thread: Some(thread),
            path: path.to_owned(),
            files: 0,
            bytes: 0,
        }
    }

    async fn send(&mut self, piece: Piece) -> Result<(), ArchiveError> {
        let sent = match &self.pieces {
            Some(pieces) => pieces.send(piece).await.is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            Err(self.stop().await.err().unwrap_or_else(|| {
                package_io(&self.path)(std::io::Error::other("the package writer stopped"))
            }))
        }
    }

    /// Waits for the writer thread: its error, if it failed.
    async fn stop(&mut self) -> Result<(), ArchiveError> {
        self.pieces = None;
        match self.thread.take() {
            Some(thread) => match thread.await {
                Ok(result) => result.map_err(package_io(&self.path)),
                Err(e) => Err(package_io(&self.path)(std::io::Error::other(e))),
            },
            None => Ok(()),
        }
    }

    async fn bytes(
        &mut self,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<(Sha256Digest, u64), ArchiveError> {
        let digest = Sha256Digest::of(&bytes);
        let size = bytes.len() as u64;
        self.send(Piece::Begin(path.to_owned(), None)).await?;
        self.send(Piece::Data(bytes)).await?;
        self.send(Piece::End).await?;
        self.files += 1;
        self.bytes += size;
        Ok((digest, size))
    }

    /// Streams `sha256` from the blob store into `path`, checking that the bytes are the
    /// ones named.
    async fn blob(
        &mut self,
        blobs: &dyn BlobStore,
        path: &str,
        sha256: &Sha256Digest,
        size: u64,
    ) -> Result<(), ArchiveError> {
        let mut reader = blobs.open(sha256).await?;
        self.send(Piece::Begin(path.to_owned(), Some(size))).await?;
        let mut hasher = Sha256Hasher::new();
        let mut read = 0u64;
        loop {
            let mut chunk = vec![0u8; CHUNK];
            let n = reader
                .read(&mut chunk)
                .await
                .map_err(|source| ArchiveError::BlobIo {
                    path: PathBuf::from(sha256.to_hex()),
                    source,
                })?;
            if n == 0 {
                break;
            }
            chunk.truncate(n);
            hasher.update(&chunk);
            read += n as u64;
            self.send(Piece::Data(chunk)).await?;
        }
        let digest = hasher.finish();
        if digest != *sha256 || read != size {
            return Err(ArchiveError::BlobDamaged {
                sha256: *sha256,
                reason: format!("read {read} bytes with SHA-256 {digest}, expected {size} bytes"),
            });
        }
        self.send(Piece::End).await?;
        self.files += 1;
        self.bytes += size;
        Ok(())
    }
}

fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, ArchiveError> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|e| corrupt(format!("package JSON: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A manifest: `<sha256>  <path>` a line, sorted by path (RFC 8493 §2.1.3; hoso's paths
/// never need percent-encoding).
fn manifest_text(entries: &BTreeMap<String, (Sha256Digest, u64)>) -> String {
    entries
        .iter()
        .map(|(path, (digest, _))| format!("{}  {path}\n", digest.to_hex()))
        .collect()
}

/// What the written package holds.
struct Written {
    payload_files: u64,
    payload_bytes: u64,
    files: u64,
    bytes: u64,
    manifest_sha256: Sha256Digest,
}

async fn write_package(
    blobs: &dyn BlobStore,
    snapshot: &Snapshot,
    staging: &Staging,
    code: &DossierCode,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Written, ArchiveError> {
    let sink: Box<dyn Sink> = match staging.kind {
        PackageKind::Directory => Box::new(DirSink {
            root: staging.path.clone(),
            current: None,
            dirs: BTreeSet::new(),
        }),
        PackageKind::Zip => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&staging.path)
                .map_err(package_io(&staging.path))?;
            Box::new(ZipSink {
                writer: zip::ZipWriter::new(file),
                prefix: code.as_str().to_owned(),
            })
        }
    };
    let mut writer = PackageWriter::start(sink, &staging.path);
    let result = write_files(&mut writer, blobs, snapshot, actor, now).await;
    let stopped = writer.stop().await;
    let (payload, manifest_sha256) = result?;
    stopped?;
    Ok(Written {
        payload_files: payload.len() as u64,
        payload_bytes: payload.values().map(|(_, size)| size).sum(),
        files: writer.files,
        bytes: writer.bytes,
        manifest_sha256,
    })
}

type Payload = BTreeMap<String, (Sha256Digest, u64)>;

async fn write_files(
    writer: &mut PackageWriter,
    blobs: &dyn BlobStore,
    snapshot: &Snapshot,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(Payload, Sha256Digest), ArchiveError> {
    let mut tags: Payload = BTreeMap::new();
    let bagit = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_vec();
    tags.insert(
        "bagit.txt".to_owned(),
        writer.bytes("bagit.txt", bagit).await?,
    );

    let mut payload: Payload = BTreeMap::new();
    let path = "data/dossier.json";
    payload.insert(
        path.to_owned(),
        writer.bytes(path, json_bytes(&snapshot.dossier)?).await?,
    );
    for document in &snapshot.documents {
        let path = format!("{}/document.json", document.path);
        let entry = writer.bytes(&path, json_bytes(&document.file)?).await?;
        payload.insert(path, entry);
        for (path, sha256, size) in &document.contents {
            writer.blob(blobs, path, sha256, *size).await?;
            payload.insert(path.clone(), (*sha256, *size));
        }
        for (path, json) in &document.reports {
            let entry = writer.bytes(path, json.clone().into_bytes()).await?;
            payload.insert(path.clone(), entry);
        }
    }
    let audit: String = snapshot
        .audit_lines
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let path = "data/audit.jsonl";
    payload.insert(
        path.to_owned(),
        writer.bytes(path, audit.into_bytes()).await?,
    );

    let octets: u64 = payload.values().map(|(_, size)| size).sum();
    let d = &snapshot.dossier.dossier;
    let mut info = vec![
        ("Source-Organization", d.agency_code.clone()),
        ("External-Identifier", d.code.clone()),
        (
            "External-Description",
            format!(
                "Hồ sơ {} — thủ tục {} {}",
                d.code, snapshot.dossier.procedure.code, snapshot.dossier.procedure.name
            ),
        ),
        ("Bagging-Date", vn(now).date().to_string()),
        ("Payload-Oxum", format!("{octets}.{}", payload.len())),
        (
            "Bag-Software-Agent",
            format!("hoso {}", env!("CARGO_PKG_VERSION")),
        ),
        ("Hoso-Package-Format", PACKAGE_FORMAT.to_owned()),
        ("Hoso-Procedure", snapshot.dossier.procedure.code.clone()),
        (
            "Hoso-Exported-At",
            vn(now)
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| corrupt(e.to_string()))?,
        ),
        ("Hoso-Exported-By", actor.to_owned()),
        ("Hoso-Audit-Chain", snapshot.chain.clone()),
    ];
    if let Some((seq, hash)) = &snapshot.audit_head {
        info.push(("Hoso-Audit-Head", format!("{seq} {hash}")));
    }
    let info: String = info
        .into_iter()
        // A label's value is one line; nothing hoso stores has a line break there, but a
        // stray one must not start a line of its own.
        .map(|(label, value)| format!("{label}: {}\n", value.replace(['\r', '\n'], " ")))
        .collect();
    tags.insert(
        "bag-info.txt".to_owned(),
        writer.bytes("bag-info.txt", info.into_bytes()).await?,
    );
    let manifest = manifest_text(&payload);
    let manifest_entry = writer
        .bytes("manifest-sha256.txt", manifest.into_bytes())
        .await?;
    tags.insert("manifest-sha256.txt".to_owned(), manifest_entry);
    writer
        .bytes("tagmanifest-sha256.txt", manifest_text(&tags).into_bytes())
        .await?;
    Ok((payload, manifest_entry.0))
}

impl Archive {
    /// Writes dossier `code` as a BagIt package at `target` (a folder, or a zip file when the
    /// name ends in `.zip`), with the bytes of every version from `blobs`, and records a
    /// `dossier.export` audit entry with the manifest's SHA-256. The package appears at
    /// `target` complete or not at all, and nothing existing is replaced.
    ///
    /// # Errors
    /// [`ArchiveError::DossierNotFound`], [`ArchiveError::ExportTargetExists`] (a file, or a
    /// folder that is not empty), [`ArchiveError::BlobNotFound`] / [`ArchiveError::BlobDamaged`]
    /// (a version's content is missing or not what was stored), [`ArchiveError::PackageIo`],
    /// [`ArchiveError::Database`]; nothing is left at `target` then.
    pub async fn export_dossier(
        &self,
        blobs: &dyn BlobStore,
        code: &DossierCode,
        target: &Path,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<ExportReport, ArchiveError> {
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        let kind = PackageKind::of(target);
        check_target_free(target)?;
        let snapshot = on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let snapshot = read_snapshot(&mut tx, code).await?;
            tx.rollback().await?;
            snapshot
        });
        let staging = Staging::create(target, kind)?;
        let written = write_package(blobs, &snapshot, &staging, code, &actor, now).await?;
        let versions: usize = snapshot
            .documents
            .iter()
            .map(|d| d.file.versions.len())
            .sum();
        let reports: usize = snapshot.documents.iter().map(|d| d.reports.len()).sum();
        let manifest_sha256 = written.manifest_sha256.to_hex();
        let details = serde_json::json!({
            "package": kind.as_str(),
            "format": PACKAGE_FORMAT,
            "manifest_sha256": manifest_sha256,
            "payload_files": written.payload_files,
            "payload_bytes": written.payload_bytes,
            "documents": snapshot.documents.len(),
            "versions": versions,
            "reports": reports,
        });
        // Published inside the transaction of its audit entry: a package exists only if its
        // export was recorded (a failed commit takes it away again).
        let audit_seq = on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let entry = append(&mut tx, AuditRecord {
                actor: &actor,
                action: "dossier.export",
                object_kind: "dossier",
                object_id: code.as_str(),
                details,
            }, now).await?;
            staging.publish(target)?;
            if let Err(e) = tx.commit().await {
                unpublish(target, kind);
                return Err(e.into());
            }
            entry.seq
        });
        Ok(ExportReport {
            dossier: code.as_str().to_owned(),
            target: target.display().to_string(),
            package: kind.as_str(),
            payload_files: written.payload_files,
            payload_bytes: written.payload_bytes,
            files: written.files,
            bytes: written.bytes,
            manifest_sha256,
            documents: snapshot.documents.len() as u64,
            versions: versions as u64,
            reports: reports as u64,
            audit_lines: snapshot.audit_lines.len() as u64,
            audit_seq,
        })
    }
}

// ---- import: reading and checking the bag --------------------------------------------------

/// A bag whose payload matched its manifest.
struct VerifiedBag {
    root: PathBuf,
    info: Vec<(String, String)>,
    /// Payload path → (SHA-256, size).
    payload: Payload,
    manifest_sha256: Sha256Digest,
}

impl VerifiedBag {
    fn info(&self, label: &str) -> Option<&str> {
        self.info
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(label))
            .map(|(_, v)| v.as_str())
    }
}

fn hash_file(path: &Path) -> std::io::Result<(Sha256Digest, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256Hasher::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((hasher.finish(), size))
}

fn read_text(path: &Path, limit: u64) -> Result<String, ArchiveError> {
    let file = std::fs::File::open(path).map_err(package_io(path))?;
    let mut text = String::new();
    file.take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    if text.len() as u64 > limit {
        return Err(invalid(format!(
            "{} is larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(text)
}

/// RFC 8493 §2.2.2: `Label: value`, continuation lines start with white space.
fn parse_bag_info(text: &str) -> Result<Vec<(String, String)>, ArchiveError> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match fields.last_mut() {
                Some((_, value)) => {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                None => return Err(invalid("bag-info.txt starts with a continuation line")),
            }
            continue;
        }
        let (label, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bag-info.txt line {line:?} has no label")))?;
        fields.push((label.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(fields)
}

/// A manifest path as written (percent-encoded CR, LF and `%`), decoded and checked to stay
/// inside the bag.
fn manifest_path(encoded: &str) -> Result<String, ArchiveError> {
    let mut path = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(at) = rest.find('%') {
        path.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 3).unwrap_or("");
        path.push(match code.to_ascii_uppercase().as_str() {
            "0A" => '\n',
            "0D" => '\r',
            "25" => '%',
            _ => return Err(invalid(format!("bad escape in manifest path {encoded:?}"))),
        });
        rest = &rest[at + 3..];
    }
    path.push_str(rest);
    let safe = !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if !safe {
        return Err(invalid(format!("manifest path {encoded:?} leaves the bag")));
    }
    Ok(path)
}

fn parse_manifest(text: &str, name: &str) -> Result<BTreeMap<String, Sha256Digest>, ArchiveError> {
    let mut entries = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let (digest, path) = line
            .split_once([' ', '\t'])
            .ok_or_else(|| invalid(format!("{name}: line {line:?} has no path")))?;
        let digest = (digest.len() == 64)
            .then(|| digest.parse::<Sha256Digest>().ok())
            .flatten()
            .ok_or_else(|| invalid(format!("{name}: {digest:?} is not a SHA-256")))?;
        let path = manifest_path(path.trim_start_matches([' ', '\t']))?;
        if entries.insert(path.clone(), digest).is_some() {
            return Err(invalid(format!("{name} lists {path} twice")));
        }
    }
    Ok(entries)
}

/// Every regular file under `dir`, as bag paths; anything else is a problem.
fn walk_payload(
    root: &Path,
    dir: &Path,
    files: &mut BTreeSet<String>,
    problems: &mut Vec<FixityProblem>,
) -> Result<(), ArchiveError> {
    for entry in std::fs::read_dir(dir).map_err(package_io(dir))? {
        let entry = entry.map_err(package_io(dir))?;
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let kind = entry.file_type().map_err(package_io(&path))?;
        if kind.is_dir() {
            walk_payload(root, &path, files, problems)?;
        } else if kind.is_file() && path.to_str().is_some() {
            files.insert(relative);
        } else {
            problems.push(FixityProblem {
                path: relative,
                problem: FixityKind::NotAFile,
            });
        }
    }
    Ok(())
}

/// Checks the bag at `root`: bagit.txt, every line of manifest-sha256.txt, the Payload-Oxum,
/// tagmanifest-sha256.txt when present; refuses missing, changed and unlisted payload files.
fn verify_bag(root: &Path) -> Result<VerifiedBag, ArchiveError> {
    let declaration = read_text(&root.join("bagit.txt"), 4096)
        .map_err(|_| invalid("no readable bagit.txt: this is not a BagIt bag"))?;
    let declaration = parse_bag_info(&declaration)?;
    let version = declaration
        .iter()
        .find(|(l, _)| l == "BagIt-Version")
        .map(|(_, v)| v.as_str());
    if !matches!(version, Some("1.0" | "0.97")) {
        return Err(invalid(format!("unsupported BagIt-Version {version:?}")));
    }
    let info_path = root.join("bag-info.txt");
    let info = parse_bag_info(&read_text(&info_path, 1 << 20)?)?;
    let manifest_file = root.join("manifest-sha256.txt");
    if !manifest_file.is_file() {
        return Err(invalid("no manifest-sha256.txt"));
    }
    let manifest_text = read_text(&manifest_file, MAX_TAG_BYTES)?;
    let manifest_sha256 = Sha256Digest::of(manifest_text.as_bytes());
    let manifest = parse_manifest(&manifest_text, "manifest-sha256.txt")?;

    let mut problems = Vec::new();
    let mut on_disk = BTreeSet::new();
    let data = root.join("data");
    if data.is_dir() {
        walk_payload(root, &data, &mut on_disk, &mut problems)?;
    }
    let mut payload = BTreeMap::new();
    for (path, expected) in &manifest {
        if !path.starts_with("data/") {
            return Err(invalid(format!(
                "manifest-sha256.txt lists {path} outside data/"
            )));
        }
        if !on_disk.contains(path) {
            if !problems.iter().any(|p| &p.path == path) {
                problems.push(FixityProblem {
                    path: path.clone(),
                    problem: FixityKind::Missing,
                });
            }
            continue;
        }
        let full = root.join(path);
        let (digest, size) = hash_file(&full).map_err(package_io(&full))?;
        if digest != *expected {
            problems.push(FixityProblem {
                path: path.clone(),
                problem: FixityKind::Changed,
            });
        }
        payload.insert(path.clone(), (digest, size));
    }
    for path in on_disk.difference(&manifest.keys().cloned().collect()) {
        problems.push(FixityProblem {
            path: path.clone(),
            problem: FixityKind::Untracked,
        });
    }
    let oxum = info
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case("Payload-Oxum"))
        .map(|(_, v)| v.clone());
    let actual = format!(
        "{}.{}",
        payload.values().map(|(_, size)| size).sum::<u64>(),
        payload.len()
    );
    if problems.is_empty() && oxum.as_deref() != Some(actual.as_str()) {
        problems.push(FixityProblem {
            path: "bag-info.txt".to_owned(),
            problem: FixityKind::PayloadOxum,
        });
    }
    let tag_manifest = root.join("tagmanifest-sha256.txt");
    if tag_manifest.is_file() {
        let text = read_text(&tag_manifest, MAX_TAG_BYTES)?;
        for (path, expected) in parse_manifest(&text, "tagmanifest-sha256.txt")? {
            let full = root.join(&path);
            match hash_file(&full) {
                Ok((digest, _)) if digest == expected => {}
                Ok(_) => problems.push(FixityProblem {
                    path,
                    problem: FixityKind::Changed,
                }),
                Err(_) => problems.push(FixityProblem {
                    path,
                    problem: FixityKind::Missing,
                }),
            }
        }
    }
    if !problems.is_empty() {
        return Err(ArchiveError::PackageFixity { problems });
    }
    Ok(VerifiedBag {
        root: root.to_owned(),
        info,
        payload,
        manifest_sha256,
    })
}

/// Unpacks the zip at `zip_path` into `into` (safe names only, regular files only, no more
/// bytes than each entry declares, in all no more than its payload and tag files can need)
/// and returns the bag's folder.
fn extract_zip(zip_path: &Path, into: &Path) -> Result<PathBuf, ArchiveError> {
    let unreadable = |reason: String| ArchiveError::PackageUnreadable {
        path: zip_path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(zip_path).map_err(|e| unreadable(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| unreadable(e.to_string()))?;
    let mut declared = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| unreadable(e.to_string()))?;
        declared = declared.saturating_add(entry.size());
    }
    // The payload is at most the declared sizes; a zip bomb declares little and inflates.
    let budget = declared.min(u64::MAX - MAX_TAG_BYTES) + MAX_TAG_BYTES;
    let mut written = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| unreadable(e.to_string()))?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let relative = entry
            .enclosed_name()
            .filter(|p| p.components().all(|c| matches!(c, Component::Normal(_))))
            .ok_or_else(|| invalid(format!("zip entry {name:?} leaves the bag")))?;
        if entry.encrypted() || entry.is_symlink() {
            return Err(invalid(format!(
                "zip entry {name:?} is encrypted or a link"
            )));
        }
        let full = into.join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&full).map_err(package_io(&full))?;
            continue;
        }
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(package_io(parent))?;
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&full)
            .map_err(|_| invalid(format!("zip entry {name:?} appears twice")))?;
        let size = entry.size();
        let copied = std::io::copy(&mut (&mut entry).take(size + 1), &mut out)
            .map_err(|e| invalid(format!("zip entry {name:?}: {e}")))?;
        written += copied;
        if copied > size || written > budget {
            return Err(invalid(format!(
                "zip entry {name:?} is larger than it declares"
            )));
        }
    }
    if into.join("bagit.txt").is_file() {
        return Ok(into.to_owned());
    }
    let mut folders = std::fs::read_dir(into)
        .map_err(package_io(into))?
        .filter_map(Result::ok)
        .map(|e| e.path());
    match (folders.next(), folders.next()) {
        (Some(only), None) if only.join("bagit.txt").is_file() => Ok(only),
        _ => Err(invalid(
            "the zip holds no bag (bagit.txt at its root or in one folder)",
        )),
    }
}

/// The content of a verified bag, checked to be a hoso dossier package.
struct Package {
    dossier: DossierFile,
    documents: Vec<(DocumentFile, Vec<String>)>,
    audit_lines: Vec<String>,
}

const CHANNELS: [&str; 3] = ["in_person", "online", "postal"];
const DELIVERIES: [&str; 3] = ["desk", "postal", "online"];
const INDICATIONS: [&str; 3] = ["TOTAL-PASSED", "TOTAL-FAILED", "INDETERMINATE"];

fn read_json<T: serde::de::DeserializeOwned>(
    bag: &VerifiedBag,
    path: &str,
) -> Result<T, ArchiveError> {
    let text = read_text(&bag.root.join(path), MAX_JSON_BYTES)?;
    serde_json::from_str(&text).map_err(|e| invalid(format!("{path}: {e}")))
}

fn read_package(bag: &VerifiedBag) -> Result<Package, ArchiveError> {
    let format = bag.info("Hoso-Package-Format");
    if format != Some(PACKAGE_FORMAT) {
        return Err(invalid(format!(
            "not a hoso dossier package (Hoso-Package-Format {format:?}, expected {PACKAGE_FORMAT})"
        )));
    }
    let mut expected: BTreeSet<String> = BTreeSet::new();
    let mut claim = |path: &str| -> Result<(), ArchiveError> {
        if !bag.payload.contains_key(path) {
            return Err(invalid(format!("{path} is named but not in the payload")));
        }
        expected.insert(path.to_owned());
        Ok(())
    };
    claim("data/dossier.json")?;
    claim("data/audit.jsonl")?;
    let dossier: DossierFile = read_json(bag, "data/dossier.json")?;
    if dossier.format != PACKAGE_FORMAT {
        return Err(invalid(format!(
            "data/dossier.json format {:?}",
            dossier.format
        )));
    }
    let d = &dossier.dossier;
    let code =
        DossierCode::parse(&d.code).map_err(|value| ArchiveError::DossierCodeInvalid { value })?;
    if code.as_str() != d.code || bag.info("External-Identifier") != Some(d.code.as_str()) {
        return Err(invalid("External-Identifier is not the dossier's code"));
    }
    AgencyCode::parse(&d.agency_code)
        .ok()
        .filter(|a| a.as_str() == d.agency_code)
        .ok_or_else(|| ArchiveError::AgencyCodeInvalid {
            value: d.agency_code.clone(),
        })?;
    ProcedureCode::parse(&dossier.procedure.code)
        .map_err(|value| ArchiveError::ProcedureCodeInvalid { value })?;
    let statuses_ok = DossierStatus::parse(&d.status).is_some()
        && d.outcome
            .as_deref()
            .is_none_or(|o| matches!(o, "approved" | "rejected"))
        && CHANNELS.contains(&d.channel.as_str())
        && DELIVERIES.contains(&d.result_delivery.as_str())
        && dossier.events.iter().all(|e| {
            DossierStatus::parse(&e.to_status).is_some()
                && e.from_status
                    .as_deref()
                    .is_none_or(|s| DossierStatus::parse(s).is_some())
        })
        && dossier
            .events
            .first()
            .is_some_and(|e| e.from_status.is_none())
        && (0..=i64::from(super::procedures::MAX_PROCESSING_DAYS))
            .contains(&dossier.procedure.processing_days)
        && !d.applicant_name.trim().is_empty()
        && !dossier.procedure.name.trim().is_empty();
    if !statuses_ok {
        return Err(invalid(
            "data/dossier.json has an unknown status, channel or procedure value",
        ));
    }

    let mut documents = Vec::new();
    for (index, path) in dossier.documents.iter().enumerate() {
        let folder = format!("data/documents/{}", index + 1);
        if *path != format!("{folder}/document.json") {
            return Err(invalid(format!(
                "document {} should be {folder}/document.json",
                index + 1
            )));
        }
        claim(path)?;
        let document: DocumentFile = read_json(bag, path)?;
        if document.format != DOCUMENT_FORMAT || DocumentRole::parse(&document.role).is_none() {
            return Err(invalid(format!("{path}: unknown format or role")));
        }
        for (i, v) in document.versions.iter().enumerate() {
            let number = i as i64 + 1;
            let parent_ok = match v.parent_version {
                None => number == 1,
                Some(parent) => parent >= 1 && parent < number,
            };
            if v.version != number || !parent_ok || VersionKind::parse(&v.kind).is_none() {
                return Err(invalid(format!("{path}: version {number} is out of order")));
            }
            if !v.file.starts_with(&format!("{folder}/")) {
                return Err(invalid(format!("{path}: {} is outside its folder", v.file)));
            }
            claim(&v.file)?;
            let (digest, size) = bag.payload[&v.file];
            if digest.to_hex() != v.sha256 || i64::try_from(size).ok() != Some(v.size_bytes) {
                return Err(invalid(format!(
                    "{path}: version {number} is not the content of {}",
                    v.file
                )));
            }
            v.metadata
                .clone()
                .checked()
                .map_err(|e| invalid(format!("{path}: version {number}: {e}")))?;
            if v.ocr_confidence
                .is_some_and(|c| !(0.0..=100.0).contains(&c))
                || v.ocr_text.as_deref().is_some_and(|t| t.contains('\0'))
            {
                return Err(invalid(format!("{path}: version {number}: bad OCR fields")));
            }
        }
        if document.versions.is_empty() {
            return Err(invalid(format!("{path}: a document without versions")));
        }
        let mut reports = Vec::new();
        for report in &document.reports {
            let version = usize::try_from(report.version - 1)
                .ok()
                .and_then(|i| document.versions.get(i))
                .ok_or_else(|| invalid(format!("{path}: a report of no version")))?;
            let known = INDICATIONS.contains(&report.indication.as_str())
                && report
                    .signatures
                    .iter()
                    .all(|s| INDICATIONS.contains(&s.indication.as_str()));
            if !known || !report.file.starts_with(&format!("{folder}/reports/")) {
                return Err(invalid(format!(
                    "{path}: report {} is malformed",
                    report.file
                )));
            }
            claim(&report.file)?;
            let text = read_text(&bag.root.join(&report.file), MAX_JSON_BYTES)?;
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| invalid(format!("{}: {e}", report.file)))?;
            if json["sha256"].as_str() != Some(version.sha256.as_str()) {
                return Err(invalid(format!(
                    "{} is the report of other content than version {}",
                    report.file, report.version
                )));
            }
            reports.push(text);
        }
        documents.push((document, reports));
    }
    let unknown: Vec<&String> = bag
        .payload
        .keys()
        .filter(|p| !expected.contains(*p))
        .collect();
    if !unknown.is_empty() {
        return Err(invalid(format!(
            "payload files that belong to nothing in the package: {}",
            unknown
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let audit = read_text(&bag.root.join("data/audit.jsonl"), MAX_JSON_BYTES)?;
    let audit_lines: Vec<String> = audit.lines().map(str::to_owned).collect();
    check_audit_lines(&audit_lines)?;
    Ok(Package {
        dossier,
        documents,
        audit_lines,
    })
}

/// Each entry must match its own hash, link to the entry before it in its chain when that
/// one is present, and entry 1 must be its chain's name.
fn check_audit_lines(lines: &[String]) -> Result<(), ArchiveError> {
    let mut last: HashMap<String, (i64, String)> = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        let parsed: AuditLine = serde_json::from_str(line)
            .map_err(|e| invalid(format!("data/audit.jsonl line {}: {e}", i + 1)))?;
        let AuditLine::Entry {
            chain,
            seq,
            at,
            actor,
            action,
            object_kind,
            object_id,
            details,
            prev_hash,
            hash,
        } = parsed
        else {
            continue;
        };
        let entry = AuditEntry {
            seq,
            at,
            actor,
            action,
            object_kind,
            object_id,
            details,
            prev_hash,
            hash,
        };
        let bad = |what: &str| {
            invalid(format!(
                "data/audit.jsonl line {}: entry {seq} {what}",
                i + 1
            ))
        };
        if entry.compute_hash().map(|h| h.to_hex()) != Some(entry.hash.clone()) {
            return Err(bad("does not match its hash"));
        }
        if seq == 1 && entry.hash != chain {
            return Err(bad("is not the first entry of its chain"));
        }
        if let Some((previous, previous_hash)) = last.get(&chain) {
            if seq <= *previous {
                return Err(bad("is out of order"));
            }
            if seq == previous + 1 && entry.prev_hash != *previous_hash {
                return Err(bad("does not follow the entry before it"));
            }
        }
        last.insert(chain, (seq, entry.hash));
    }
    Ok(())
}

/// The day and daily number in a dossier code (`H53.100.01-261123-530007` → 2026-11-23, 7).
fn code_sequence(code: &DossierCode, agency: &AgencyCode) -> Option<(Date, i64)> {
    let rest = code
        .as_str()
        .strip_prefix(agency.as_str())?
        .strip_prefix('-')?;
    let (yymmdd, tail) = rest.split_once('-')?;
    let number = |range: std::ops::Range<usize>| yymmdd.get(range)?.parse::<u8>().ok();
    let day = Date::from_calendar_date(
        2000 + i32::from(number(0..2)?),
        time::Month::try_from(number(2..4)?).ok()?,
        number(4..6)?,
    )
    .ok()?;
    // Current-form agencies put two system digits before the number; which is the case
    // shows in whether the code rebuilds.
    [2usize, 0].into_iter().find_map(|skip| {
        let n: u64 = tail.get(skip..)?.parse().ok()?;
        (DossierCode::new(agency, day, n) == *code).then_some((day, i64::try_from(n).ok()?))
    })
}

fn enum_text<T: Serialize>(value: Option<T>) -> Option<String> {
    value.and_then(|v| match serde_json::to_value(v) {
        Ok(serde_json::Value::String(text)) => Some(text),
        _ => None,
    })
}

async fn import_into<T: BagTx>(
    tx: &mut T,
    package: &Package,
    bag: &VerifiedBag,
    blobs_new: u64,
    source: &str,
    actor: &str,
    now: OffsetDateTime,
) -> Result<ImportReport, ArchiveError> {
    let d = &package.dossier.dossier;
    if tx.dossier(&d.code).await?.is_some() {
        return Err(ArchiveError::DossierExists {
            code: d.code.clone(),
        });
    }
    let p = &package.dossier.procedure;
    let wanted = Procedure {
        procedure_id: 0,
        code: p.code.clone(),
        name: p.name.clone(),
        field: p.field.clone(),
        level: p.level.clone(),
        processing_days: p.processing_days,
        competent_agency: p.competent_agency.clone(),
        created_at: stored_time(p.created_at),
        updated_at: stored_time(p.updated_at),
    };
    let (procedure_id, procedure) = match tx.procedure(&p.code).await? {
        Some(existing) => {
            let same = existing.name == wanted.name
                && existing.field == wanted.field
                && existing.level == wanted.level
                && existing.processing_days == wanted.processing_days
                && existing.competent_agency == wanted.competent_agency;
            let outcome = if same {
                ProcedureOutcome::Existing
            } else {
                ProcedureOutcome::ExistingDiffers
            };
            (existing.procedure_id, outcome)
        }
        None => (
            tx.insert_stored_procedure(&wanted).await?,
            ProcedureOutcome::Inserted,
        ),
    };
    let row = DossierRow {
        dossier_id: 0,
        code: d.code.clone(),
        procedure_id,
        agency_code: d.agency_code.clone(),
        applicant_name: d.applicant_name.clone(),
        applicant_id_number: d.applicant_id_number.clone(),
        applicant_contact: d.applicant_contact.clone(),
        channel: d.channel.clone(),
        result_delivery: d.result_delivery.clone(),
        status: d.status.clone(),
        received_at: stored_time(d.received_at),
        due_at: stored_time(d.due_at),
        resolved_at: d.resolved_at.map(stored_time),
        outcome: d.outcome.clone(),
        returned_at: d.returned_at.map(stored_time),
        created_at: stored_time(d.created_at),
        updated_at: stored_time(d.updated_at),
    };
    let dossier_id = tx.insert_dossier(&row).await?;
    for e in &package.dossier.events {
        tx.insert_event(&EventRow {
            dossier_id,
            from_status: e.from_status.clone(),
            to_status: e.to_status.clone(),
            actor: e.actor.clone(),
            at: stored_time(e.at),
            note: e.note.clone(),
        })
        .await?;
    }
    // A dossier received later on the same day must not be given this code again.
    let code =
        DossierCode::parse(&d.code).map_err(|value| ArchiveError::DossierCodeInvalid { value })?;
    let agency = AgencyCode::parse(&d.agency_code)
        .map_err(|value| ArchiveError::AgencyCodeInvalid { value })?;
    let (day, sequence) = code_sequence(&code, &agency)
        .ok_or_else(|| invalid(format!("dossier code {code} is not of agency {agency}")))?;
    tx.raise_sequence(agency.as_str(), day, sequence).await?;

    let mut contents: BTreeSet<&str> = BTreeSet::new();
    let (mut versions, mut reports) = (0u64, 0u64);
    for (document, report_texts) in &package.documents {
        for v in &document.versions {
            if contents.insert(&v.sha256) {
                tx.insert_blob_row(&v.sha256, v.size_bytes, &v.media_type, now)
                    .await?;
            }
        }
        let document_id = tx
            .insert_document(
                Some(dossier_id),
                &document.role,
                &document.created_by,
                stored_time(document.created_at),
            )
            .await?;
        let mut ids: Vec<i64> = Vec::with_capacity(document.versions.len());
        for v in &document.versions {
            let m = &v.metadata;
            let row = VersionRow {
                version_id: 0,
                document_id,
                version: v.version,
                parent_version_id: v
                    .parent_version
                    .and_then(|n| ids.get((n - 1) as usize).copied()),
                kind: v.kind.clone(),
                sha256: v.sha256.clone(),
                file_name: v.file_name.clone(),
                media_type: v.media_type.clone(),
                size_bytes: v.size_bytes,
                type_name: m.type_name.clone(),
                code_number: m.code_number.clone(),
                code_notation: m.code_notation.clone(),
                issued_date: m.issued_date,
                organ_name: m.organ_name.clone(),
                subject: m.subject.clone(),
                language: m.language.clone(),
                page_count: m.page_count.map(i64::from),
                description: m.description.clone(),
                signer_position: m.signer_position.clone(),
                signer_name: m.signer_name.clone(),
                urgency: enum_text(m.urgency),
                confidentiality: enum_text(m.confidentiality),
                ocr_text: v.ocr_text.clone(),
                ocr_confidence: v.ocr_confidence,
                reason: v.reason.clone(),
                created_by: v.created_by.clone(),
                created_at: stored_time(v.created_at),
            };
            ids.push(tx.insert_version(&row).await?);
            versions += 1;
        }
        for (report, text) in document.reports.iter().zip(report_texts) {
            let version_id = ids[(report.version - 1) as usize];
            let report_id = tx
                .insert_report(&ReportRow {
                    report_id: 0,
                    version_id,
                    indication: report.indication.clone(),
                    subindication: report.subindication.clone(),
                    validation_time: stored_time(report.validation_time),
                    checked_at: stored_time(report.checked_at),
                    checked_by: report.checked_by.clone(),
                    report: text.clone(),
                })
                .await?;
            for s in &report.signatures {
                tx.insert_signature(
                    report_id,
                    &SignatureRow {
                        report_id,
                        field_name: s.field_name.clone(),
                        kind: s.kind.clone(),
                        signer: s.signer.clone(),
                        signing_time: s.signing_time.map(stored_time),
                        timestamp_time: s.timestamp_time.map(stored_time),
                        level: s.level.clone(),
                        indication: s.indication.clone(),
                        subindication: s.subindication.clone(),
                    },
                )
                .await?;
            }
            reports += 1;
        }
        let origin =
            serde_json::to_string(&document.origin).map_err(|e| corrupt(format!("origin: {e}")))?;
        tx.insert_origin(document_id, &origin).await?;
        super::search::reindex(tx, document_id).await?;
    }
    for (i, line) in package.audit_lines.iter().enumerate() {
        tx.insert_imported_audit(dossier_id, i as i64 + 1, line)
            .await?;
    }
    let manifest_sha256 = bag.manifest_sha256.to_hex();
    let payload_bytes: u64 = bag.payload.values().map(|(_, size)| size).sum();
    let source_chain = package
        .documents
        .first()
        .map(|(document, _)| document.origin.chain.clone());
    let entry = append(
        tx,
        AuditRecord {
            actor,
            action: "dossier.import",
            object_kind: "dossier",
            object_id: &d.code,
            details: serde_json::json!({
                "format": PACKAGE_FORMAT,
                "manifest_sha256": manifest_sha256,
                "source_organization": bag.info("Source-Organization"),
                "source_chain": bag.info("Hoso-Audit-Chain").map(str::to_owned).or(source_chain),
                "payload_files": bag.payload.len(),
                "payload_bytes": payload_bytes,
                "documents": package.documents.len(),
                "versions": versions,
                "reports": reports,
                "blobs": contents.len(),
                "blobs_new": blobs_new,
                "audit_lines": package.audit_lines.len(),
                "procedure": procedure,
            }),
        },
        now,
    )
    .await?;
    Ok(ImportReport {
        dossier: d.code.clone(),
        source: source.to_owned(),
        source_organization: bag.info("Source-Organization").map(str::to_owned),
        manifest_sha256,
        payload_files: bag.payload.len() as u64,
        payload_bytes,
        documents: package.documents.len() as u64,
        versions,
        reports,
        blobs: contents.len() as u64,
        blobs_new,
        audit_lines: package.audit_lines.len() as u64,
        procedure,
        audit_seq: entry.seq,
    })
}

impl Archive {
    /// Imports the dossier package at `source` (a bag folder, or a zip of one) written by
    /// [`Archive::export_dossier`]: the bag is verified first (every manifest line, the
    /// Payload-Oxum, the tag manifest; no missing, extra or unknown file), then the versions
    /// go into `blobs` (deduplicated by SHA-256), then the procedure (when this archive lacks
    /// it), the dossier with its code, status, times and events, every document, version
    /// and report, and the source's audit lines are written in one transaction with a
    /// `dossier.import` audit entry. A zip is unpacked into a temporary folder under
    /// `scratch`.
    ///
    /// # Errors
    /// [`ArchiveError::PackageUnreadable`], [`ArchiveError::PackageFixity`],
    /// [`ArchiveError::PackageInvalid`], [`ArchiveError::DossierExists`],
    /// [`ArchiveError::BlobIo`], [`ArchiveError::Database`]; nothing is recorded then (content
    /// already put in the blob store stays there, unreferenced, as after an interrupted
    /// upload).
    pub async fn import_dossier(
        &self,
        blobs: &dyn BlobStore,
        source: &Path,
        scratch: &Path,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<ImportReport, ArchiveError> {
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        let unreadable = |reason: String| ArchiveError::PackageUnreadable {
            path: source.to_owned(),
            reason,
        };
        let meta = tokio::fs::metadata(source)
            .await
            .map_err(|e| unreadable(e.to_string()))?;
        let mut _unpacked = None;
        let root = if meta.is_dir() {
            source.to_owned()
        } else {
            std::fs::create_dir_all(scratch).map_err(package_io(scratch))?;
            let dir = tempfile::Builder::new()
                .prefix(".hoso-import-")
                .tempdir_in(scratch)
                .map_err(package_io(scratch))?;
            let (zip, into) = (source.to_owned(), dir.path().to_owned());
            let root = blocking(move || extract_zip(&zip, &into)).await?;
            _unpacked = Some(dir);
            root
        };
        let (bag, package) = blocking(move || {
            let bag = verify_bag(&root)?;
            let package = read_package(&bag)?;
            Ok((bag, package))
        })
        .await?;
        let code = &package.dossier.dossier.code;
        let exists = on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let exists = tx.dossier(code).await?.is_some();
            tx.rollback().await?;
            exists
        });
        if exists {
            return Err(ArchiveError::DossierExists { code: code.clone() });
        }
        let mut blobs_new = 0;
        let mut put: BTreeSet<&str> = BTreeSet::new();
        for (document, _) in &package.documents {
            for v in &document.versions {
                if !put.insert(&v.sha256) {
                    continue;
                }
                let path = bag.root.join(&v.file);
                let mut file = tokio::fs::File::open(&path)
                    .await
                    .map_err(package_io(&path))?;
                let stored = blobs.put(&mut file).await?;
                // The file was checked a moment ago; anything else now was changed since.
                if stored.sha256.to_hex() != v.sha256 {
                    return Err(ArchiveError::PackageFixity {
                        problems: vec![FixityProblem {
                            path: v.file.clone(),
                            problem: FixityKind::Changed,
                        }],
                    });
                }
                blobs_new += u64::from(stored.newly_stored);
            }
        }
        let source_text = source.display().to_string();
        let report = on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let report =
                import_into(&mut tx, &package, &bag, blobs_new, &source_text, &actor, now).await?;
            tx.commit().await?;
            report
        });
        Ok(report)
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ArchiveError> + Send + 'static,
) -> Result<T, ArchiveError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ArchiveError::PackageIo {
            path: PathBuf::new(),
            source: std::io::Error::other(e),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_are_decoded_and_kept_inside_the_bag() {
        assert_eq!(manifest_path("data/a%25b.txt").unwrap(), "data/a%b.txt");
        assert_eq!(manifest_path("data/x%0Ay").unwrap(), "data/x\ny");
        for bad in [
            "/etc/passwd",
            "data/../bag-info.txt",
            "data//x",
            "data/%zz",
            "data\\x",
            "",
        ] {
            assert!(manifest_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn bag_info_keeps_labels_in_order_and_joins_continuation_lines() {
        let info = parse_bag_info("Source-Organization: H53.100.01\nExternal-Description: Hồ sơ\n  tiếp theo\nPayload-Oxum: 12.3\n").unwrap();
        assert_eq!(
            info,
            vec![
                ("Source-Organization".to_owned(), "H53.100.01".to_owned()),
                (
                    "External-Description".to_owned(),
                    "Hồ sơ tiếp theo".to_owned()
                ),
                ("Payload-Oxum".to_owned(), "12.3".to_owned()),
            ]
        );
        assert!(parse_bag_info("no label here").is_err());
    }

    #[test]
    fn dossier_codes_give_back_their_day_and_number() {
        let current = AgencyCode::parse("H53.100.01").unwrap();
        let code = DossierCode::new(&current, time::macros::date!(2026 - 11 - 23), 12);
        assert_eq!(
            code_sequence(&code, &current),
            Some((time::macros::date!(2026 - 11 - 23), 12))
        );
        let legacy = AgencyCode::parse("000.00.31.H19").unwrap();
        let code = DossierCode::parse("000.00.31.H19-230612-0003").unwrap();
        assert_eq!(
            code_sequence(&code, &legacy),
            Some((time::macros::date!(2023 - 06 - 12), 3))
        );
        assert_eq!(code_sequence(&code, &current), None);
    }

    #[test]
    fn extensions_come_from_the_name_or_the_media_type() {
        assert_eq!(extension("Tờ khai.PDF", "application/pdf"), "pdf");
        assert_eq!(extension("scan", "image/png"), "png");
        assert_eq!(extension("a.tar.gz", "application/gzip"), "gz");
        assert_eq!(extension("x.đ", "application/octet-stream"), "bin");
    }

    #[test]
    fn a_tampered_audit_line_is_refused() {
        let mut entry = AuditEntry {
            seq: 1,
            at: time::macros::datetime!(2026-11-23 02:15 UTC),
            actor: "cán bộ".to_owned(),
            action: "dossier.create".to_owned(),
            object_kind: "dossier".to_owned(),
            object_id: "H53.100.01-261123-530001".to_owned(),
            details: "{}".to_owned(),
            prev_hash: "0".repeat(64),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash().unwrap().to_hex();
        let line = |actor: &str| {
            serde_json::to_string(&AuditLine::Entry {
                chain: entry.hash.clone(),
                seq: 1,
                at: vn(entry.at),
                actor: actor.to_owned(),
                action: entry.action.clone(),
                object_kind: entry.object_kind.clone(),
                object_id: entry.object_id.clone(),
                details: entry.details.clone(),
                prev_hash: entry.prev_hash.clone(),
                hash: entry.hash.clone(),
            })
            .unwrap()
        };
        check_audit_lines(&[line("cán bộ")]).unwrap();
        let err = check_audit_lines(&[line("người khác")]).unwrap_err();
        assert!(err.to_string().contains("does not match its hash"), "{err}");
    }
}

//! Documents and their versions: the papers of a dossier (scans, results, certified copies),
//! an office's outgoing and incoming letters, and every version each went through.
//!
//! A version's bytes never change. OCR output, each signature, each LTV extension and each
//! metadata correction is a new version pointing at its parent, with who, when and why
//! (`document_versions` is append-only, like `documents`). A version carries the Decree
//! 30/2020 metadata as known at that version (vn-standards.md §1.7) and, after OCR, the
//! recognized text; verification reports are stored per version and can be re-run.
//!
//! Every write is one transaction with its audit entry, and refreshes the document's search
//! entry (`search::reindex`) in the same transaction, so search never sees half a document.

use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Sqlite, Transaction};
use time::{Date, OffsetDateTime};
use unicode_normalization::UnicodeNormalization;

use super::audit::{AuditRecord, append};
use super::codes::DossierCode;
use super::dossiers::checked_actor;
use super::tx::{Begin, Tx};
use super::{Archive, ArchiveError, Db, stored_time};
use crate::digest::Sha256Digest;
use crate::verify::{Indication, Report};

/// What a document is in its dossier or in the office's correspondence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentRole {
    /// Thành phần hồ sơ: a paper the applicant handed in (usually scanned).
    Input,
    /// Kết quả giải quyết: the result the office issues.
    Result,
    /// Văn bản đi.
    Outgoing,
    /// Văn bản đến.
    Incoming,
    /// Bản sao điện tử có chứng thực.
    CertifiedCopy,
    /// Phụ lục, tài liệu kèm theo.
    Attachment,
}

impl DocumentRole {
    pub const ALL: [DocumentRole; 6] = [
        DocumentRole::Input,
        DocumentRole::Result,
        DocumentRole::Outgoing,
        DocumentRole::Incoming,
        DocumentRole::CertifiedCopy,
        DocumentRole::Attachment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentRole::Input => "input",
            DocumentRole::Result => "result",
            DocumentRole::Outgoing => "outgoing",
            DocumentRole::Incoming => "incoming",
            DocumentRole::CertifiedCopy => "certified_copy",
            DocumentRole::Attachment => "attachment",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            DocumentRole::Input => "thành phần hồ sơ",
            DocumentRole::Result => "kết quả giải quyết",
            DocumentRole::Outgoing => "văn bản đi",
            DocumentRole::Incoming => "văn bản đến",
            DocumentRole::CertifiedCopy => "bản sao chứng thực",
            DocumentRole::Attachment => "tài liệu kèm theo",
        }
    }
}

/// How a version came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionKind {
    /// The upload, exactly as received.
    Original,
    /// The searchable PDF made from the parent by OCR.
    Ocr,
    /// The parent with one more signature.
    Signed,
    /// The parent extended with validation data and an archive timestamp (B-LT/B-LTA).
    Extended,
    /// Same content as the parent, corrected metadata.
    Metadata,
}

impl VersionKind {
    pub const ALL: [VersionKind; 5] = [
        VersionKind::Original,
        VersionKind::Ocr,
        VersionKind::Signed,
        VersionKind::Extended,
        VersionKind::Metadata,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VersionKind::Original => "original",
            VersionKind::Ocr => "ocr",
            VersionKind::Signed => "signed",
            VersionKind::Extended => "extended",
            VersionKind::Metadata => "metadata",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Mức độ khẩn (Decree 30 Art. 8 and Appendix I).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Normal,
    /// Khẩn
    Urgent,
    /// Thượng khẩn
    VeryUrgent,
    /// Hỏa tốc
    Flash,
}

/// Độ mật.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidentiality {
    Normal,
    /// Mật
    Confidential,
    /// Tối mật
    Secret,
    /// Tuyệt mật
    TopSecret,
}

impl Urgency {
    fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Urgent => "urgent",
            Urgency::VeryUrgent => "very_urgent",
            Urgency::Flash => "flash",
        }
    }
}

impl Confidentiality {
    fn as_str(self) -> &'static str {
        match self {
            Confidentiality::Normal => "normal",
            Confidentiality::Confidential => "confidential",
            Confidentiality::Secret => "secret",
            Confidentiality::TopSecret => "top_secret",
        }
    }
}

/// The Decree 30/2020 metadata of a document (Appendix VI; vn-standards.md §1.7). JSON keys
/// are these names or the Decree's tags (`TypeName`, `CodeNumber`, …); unknown keys are
/// refused, so a typo is not silently dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentMetadata {
    /// Tên loại văn bản (Quyết định, Công văn, Giấy khai sinh, …), ≤ 100 characters.
    #[serde(default, alias = "TypeName", skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// Số của văn bản, ≤ 11.
    #[serde(default, alias = "CodeNumber", skip_serializing_if = "Option::is_none")]
    pub code_number: Option<String>,
    /// Ký hiệu của văn bản (QĐ-UBND), ≤ 30.
    #[serde(
        default,
        alias = "CodeNotation",
        skip_serializing_if = "Option::is_none"
    )]
    pub code_notation: Option<String>,
    /// Ngày, tháng, năm văn bản (YYYY-MM-DD).
    #[serde(
        default,
        alias = "IssuedDate",
        with = "iso_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub issued_date: Option<Date>,
    /// Tên cơ quan, tổ chức ban hành, ≤ 200.
    #[serde(default, alias = "OrganName", skip_serializing_if = "Option::is_none")]
    pub organ_name: Option<String>,
    /// Trích yếu nội dung, ≤ 500.
    #[serde(default, alias = "Subject", skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Ngôn ngữ, ≤ 30 (e.g. `vi`, `Tiếng Việt`).
    #[serde(default, alias = "Language", skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Số trang.
    #[serde(default, alias = "PageAmount", skip_serializing_if = "Option::is_none")]
    pub page_count: Option<u32>,
    /// Ghi chú, ≤ 500.
    #[serde(
        default,
        alias = "Description",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// Chức vụ người ký, ≤ 100.
    #[serde(default, alias = "Position", skip_serializing_if = "Option::is_none")]
    pub signer_position: Option<String>,
    /// Họ tên người ký, ≤ 50.
    #[serde(default, alias = "FullName", skip_serializing_if = "Option::is_none")]
    pub signer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidentiality: Option<Confidentiality>,
}

mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::macros::format_description;

    pub fn serialize<S: Serializer>(day: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match day {
            Some(day) => s.serialize_str(&day.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|text| {
            let text = text.trim();
            // ISO first; the Vietnamese dd/mm/yyyy as clerks write it is accepted too.
            Date::parse(text, format_description!("[year]-[month]-[day]"))
                .or_else(|_| Date::parse(text, format_description!("[day]/[month]/[year]")))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "ngày {text:?} không hợp lệ (date: expected YYYY-MM-DD or dd/mm/yyyy)"
                    ))
                })
        })
        .transpose()
    }
}

impl DocumentMetadata {
    /// Parses metadata given as JSON text (`--metadata`, the API).
    ///
    /// # Errors
    /// [`ArchiveError::MetadataInvalid`] naming the problem (unknown key, wrong type, bad
    /// date, too long).
    pub fn from_json(text: &str) -> Result<Self, ArchiveError> {
        // A byte-order mark (Windows editors) is not content.
        let text = text.trim_start_matches('\u{feff}');
        let metadata: DocumentMetadata =
            serde_json::from_str(text).map_err(|e| ArchiveError::MetadataInvalid {
                reason: e.to_string(),
            })?;
        metadata.checked()
    }

    /// `self` changed by the JSON object `patch`: a key with a value sets that field, a key
    /// with `null` (or an empty string) clears it, absent keys are kept. Keys as in
    /// [`DocumentMetadata::from_json`].
    ///
    /// # Errors
    /// [`ArchiveError::MetadataInvalid`].
    pub fn patched(&self, patch: &str) -> Result<Self, ArchiveError> {
        const TAGS: [(&str, &str); 11] = [
            ("TypeName", "type_name"),
            ("CodeNumber", "code_number"),
            ("CodeNotation", "code_notation"),
            ("IssuedDate", "issued_date"),
            ("OrganName", "organ_name"),
            ("Subject", "subject"),
            ("Language", "language"),
            ("PageAmount", "page_count"),
            ("Description", "description"),
            ("Position", "signer_position"),
            ("FullName", "signer_name"),
        ];
        let invalid = |reason: String| ArchiveError::MetadataInvalid { reason };
        let patch: serde_json::Value = serde_json::from_str(patch.trim_start_matches('\u{feff}'))
            .map_err(|e| invalid(e.to_string()))?;
        let serde_json::Value::Object(patch) = patch else {
            return Err(invalid("expected a JSON object".to_owned()));
        };
        let mut merged = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        for (key, value) in patch {
            let key = TAGS
                .iter()
                .find(|(tag, _)| *tag == key)
                .map_or(key.clone(), |(_, name)| (*name).to_owned());
            if value.is_null() {
                merged.remove(&key);
            } else {
                merged.insert(key, value);
            }
        }
        Self::from_json(&serde_json::Value::Object(merged).to_string())
    }

    /// Trimmed NFC text within the Decree's lengths, without control characters; empty
    /// strings become absent.
    ///
    /// # Errors
    /// [`ArchiveError::MetadataInvalid`].
    pub fn checked(self) -> Result<Self, ArchiveError> {
        fn field(
            name: &'static str,
            value: Option<String>,
            max_chars: usize,
        ) -> Result<Option<String>, ArchiveError> {
            let Some(value) = value else { return Ok(None) };
            let value: String = value.trim().nfc().collect();
            if value.chars().count() > max_chars {
                return Err(ArchiveError::MetadataInvalid {
                    reason: format!("{name} is longer than {max_chars} characters"),
                });
            }
            if value.chars().any(|c| c.is_control() && c != '\n') {
                return Err(ArchiveError::MetadataInvalid {
                    reason: format!("{name} contains control characters"),
                });
            }
            Ok((!value.is_empty()).then_some(value))
        }
        if self.page_count.is_some_and(|n| n > 100_000) {
            return Err(ArchiveError::MetadataInvalid {
                reason: "page_count is larger than 100000".to_owned(),
            });
        }
        Ok(DocumentMetadata {
            type_name: field("type_name", self.type_name, 100)?,
            code_number: field("code_number", self.code_number, 11)?,
            code_notation: field("code_notation", self.code_notation, 30)?,
            issued_date: self.issued_date,
            organ_name: field("organ_name", self.organ_name, 200)?,
            subject: field("subject", self.subject, 500)?,
            language: field("language", self.language, 30)?,
            page_count: self.page_count,
            description: field("description", self.description, 500)?,
            signer_position: field("signer_position", self.signer_position, 100)?,
            signer_name: field("signer_name", self.signer_name, 50)?,
            urgency: self.urgency,
            confidentiality: self.confidentiality,
        })
    }

    /// `self` with the gaps filled from `other` (what the clerk typed wins over what OCR
    /// found).
    pub fn or(self, other: DocumentMetadata) -> DocumentMetadata {
        DocumentMetadata {
            type_name: self.type_name.or(other.type_name),
            code_number: self.code_number.or(other.code_number),
            code_notation: self.code_notation.or(other.code_notation),
            issued_date: self.issued_date.or(other.issued_date),
            organ_name: self.organ_name.or(other.organ_name),
            subject: self.subject.or(other.subject),
            language: self.language.or(other.language),
            page_count: self.page_count.or(other.page_count),
            description: self.description.or(other.description),
            signer_position: self.signer_position.or(other.signer_position),
            signer_name: self.signer_name.or(other.signer_name),
            urgency: self.urgency.or(other.urgency),
            confidentiality: self.confidentiality.or(other.confidentiality),
        }
    }

    /// Whether reading this document is itself an audited event.
    pub fn is_confidential(&self) -> bool {
        self.confidentiality
            .is_some_and(|c| c != Confidentiality::Normal)
    }
}

/// Recognized text of a whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrText {
    pub text: String,
    /// Mean word confidence, 0–100.
    pub confidence: Option<f64>,
}

/// A document to create, with its first version. The content must already be in the blob
/// store and recorded (`Pipeline::store` / [`Archive::record_blob`]).
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub dossier: Option<DossierCode>,
    pub role: DocumentRole,
    pub sha256: Sha256Digest,
    /// The name the file came with; cleaned by [`display_file_name`].
    pub file_name: String,
    pub metadata: DocumentMetadata,
    pub ocr: Option<OcrText>,
    pub actor: String,
    pub reason: String,
}

/// A new version of an existing document.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub document_id: i64,
    /// The version this one derives from; it must be the newest (otherwise someone else
    /// added a version meanwhile: [`ArchiveError::VersionConflict`]).
    pub parent_version: i64,
    pub kind: VersionKind,
    pub sha256: Sha256Digest,
    /// `None`: the parent's name (with `.pdf` for OCR output).
    pub file_name: Option<String>,
    /// `None`: the parent's metadata, unchanged.
    pub metadata: Option<DocumentMetadata>,
    /// `None`: the parent's text, unchanged.
    pub ocr: Option<OcrText>,
    pub actor: String,
    pub reason: String,
}

/// What a write stored (or found already stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredVersion {
    pub document_id: i64,
    pub version_id: i64,
    pub version: i64,
    pub sha256: String,
    /// True when the same content was already a document of this dossier (or, without a
    /// dossier, a dossier-less document) with this role:
    /// nothing new was created and this is the existing document.
    pub duplicate: bool,
}

/// A row of `documents`, with its dossier's code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    pub document_id: i64,
    pub dossier_code: Option<String>,
    pub role: DocumentRole,
    #[serde(with = "super::calendar::vn_time")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// One version, without its OCR text (lists never carry full text).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Version {
    pub version_id: i64,
    pub document_id: i64,
    pub version: i64,
    pub parent_version_id: Option<i64>,
    pub kind: VersionKind,
    pub sha256: String,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub metadata: DocumentMetadata,
    pub ocr_confidence: Option<f64>,
    pub has_text: bool,
    pub reason: String,
    pub created_by: String,
    #[serde(with = "super::calendar::vn_time")]
    pub created_at: OffsetDateTime,
}

/// The summary of one stored verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ReportSummary {
    pub report_id: i64,
    pub version_id: i64,
    pub indication: String,
    pub subindication: Option<String>,
    #[serde(with = "super::calendar::vn_time")]
    pub validation_time: OffsetDateTime,
    #[serde(with = "super::calendar::vn_time")]
    pub checked_at: OffsetDateTime,
    pub checked_by: String,
}

/// One signature as a stored report found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SignatureRow {
    pub report_id: i64,
    pub field_name: String,
    pub kind: String,
    pub signer: Option<String>,
    #[serde(with = "super::calendar::vn_time::option")]
    pub signing_time: Option<OffsetDateTime>,
    #[serde(with = "super::calendar::vn_time::option")]
    pub timestamp_time: Option<OffsetDateTime>,
    pub level: Option<String>,
    pub indication: String,
    pub subindication: Option<String>,
}

/// The newest version of a signed document with its newest verification report (JSON), for
/// preservation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignedVersion {
    pub document_id: i64,
    pub version: i64,
    pub version_id: i64,
    pub report_id: i64,
    pub report: String,
}

/// A document with every version (oldest first), and the reports of its versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentRecord {
    #[serde(flatten)]
    pub document: Document,
    pub versions: Vec<Version>,
    pub reports: Vec<ReportSummary>,
    /// Signatures of the newest report of the newest version that has one.
    pub signatures: Vec<SignatureRow>,
}

impl DocumentRecord {
    pub fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }
}

/// The name shown for an uploaded file: its last path component, NFC, without control or
/// path characters, at most 200 characters. Never used as a path (blobs are named by hash).
pub fn display_file_name(name: &str) -> String {
    let base = name
        .rsplit(['/', '\\'])
        .find(|part| !part.trim().is_empty())
        .unwrap_or("");
    let cleaned: String = base
        .nfc()
        .filter(|c| {
            // Bidirectional controls can make `gpj.exe` display as `exe.jpg`.
            !c.is_control()
                && !matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        "tep-khong-ten".to_owned()
    } else {
        cleaned
    }
}

// ---- statements ----------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct DocumentRow {
    pub document_id: i64,
    pub role: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub dossier_code: Option<String>,
}

/// A row of `verification_reports`, as stored (import writes them back as they were).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct ReportRow {
    pub report_id: i64,
    pub version_id: i64,
    pub indication: String,
    pub subindication: Option<String>,
    pub validation_time: OffsetDateTime,
    pub checked_at: OffsetDateTime,
    pub checked_by: String,
    pub report: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct VersionRow {
    pub version_id: i64,
    pub document_id: i64,
    pub version: i64,
    pub parent_version_id: Option<i64>,
    pub kind: String,
    pub sha256: String,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub type_name: Option<String>,
    pub code_number: Option<String>,
    pub code_notation: Option<String>,
    pub issued_date: Option<Date>,
    pub organ_name: Option<String>,
    pub subject: Option<String>,
    pub language: Option<String>,
    pub page_count: Option<i64>,
    pub description: Option<String>,
    pub signer_position: Option<String>,
    pub signer_name: Option<String>,
    pub urgency: Option<String>,
    pub confidentiality: Option<String>,
    pub ocr_text: Option<String>,
    pub ocr_confidence: Option<f64>,
    pub reason: String,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

macro_rules! version_columns {
    () => {
        "version_id, document_id, version, parent_version_id, kind, sha256, file_name, \
         media_type, size_bytes, type_name, code_number, code_notation, issued_date, organ_name, \
         subject, language, page_count, description, signer_position, signer_name, urgency, \
         confidentiality, ocr_text, ocr_confidence, reason, created_by, created_at"
    };
}

/// The statements of this module, on an open transaction of either backend.
pub(super) trait DocumentTx: Tx {
    async fn dossier_id(&mut self, code: &str) -> Result<Option<i64>, sqlx::Error>;
    async fn blob_row(&mut self, sha256: &str) -> Result<Option<(i64, String)>, sqlx::Error>;
    /// A document of `dossier_id` (or of no dossier) with `role` that has a version with
    /// `sha256`.
    async fn duplicate_of(
        &mut self,
        dossier_id: Option<i64>,
        role: &str,
        sha256: &str,
    ) -> Result<Option<i64>, sqlx::Error>;
    async fn insert_document(
        &mut self,
        dossier_id: Option<i64>,
        role: &str,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<i64, sqlx::Error>;
    async fn insert_version(&mut self, row: &VersionRow) -> Result<i64, sqlx::Error>;
    async fn document_row(&mut self, document_id: i64) -> Result<Option<DocumentRow>, sqlx::Error>;
    async fn version_rows(&mut self, document_id: i64) -> Result<Vec<VersionRow>, sqlx::Error>;
    async fn version_row(&mut self, version_id: i64) -> Result<Option<VersionRow>, sqlx::Error>;
    async fn latest_version_row(
        &mut self,
        document_id: i64,
    ) -> Result<Option<VersionRow>, sqlx::Error>;
    /// Inserts `report` (its `report_id` is ignored); the new id.
    async fn insert_report(&mut self, report: &ReportRow) -> Result<i64, sqlx::Error>;
    async fn insert_signature(
        &mut self,
        report_id: i64,
        row: &SignatureRow,
    ) -> Result<(), sqlx::Error>;
    async fn report_summaries(
        &mut self,
        document_id: i64,
    ) -> Result<Vec<ReportSummary>, sqlx::Error>;
    async fn signatures_of(&mut self, report_id: i64) -> Result<Vec<SignatureRow>, sqlx::Error>;
    async fn report_json(&mut self, report_id: i64) -> Result<Option<String>, sqlx::Error>;
    async fn dossier_document_ids(&mut self, dossier_id: i64) -> Result<Vec<i64>, sqlx::Error>;
    /// The newest version of each document after `after_document_id` with the newest report
    /// about its content (a metadata version shares its parent's content and reports),
    /// where that report found signatures.
    async fn signed_latest_versions(
        &mut self,
        after_document_id: i64,
        limit: i64,
    ) -> Result<Vec<SignedVersion>, sqlx::Error>;
}

macro_rules! impl_document_tx {
    ($db:ty) => {
        impl DocumentTx for Transaction<'_, $db> {
            async fn dossier_id(&mut self, code: &str) -> Result<Option<i64>, sqlx::Error> {
                sqlx::query_scalar("SELECT dossier_id FROM dossiers WHERE code = $1")
                    .bind(code)
                    .fetch_optional(&mut **self)
                    .await
            }

            async fn blob_row(
                &mut self,
                sha256: &str,
            ) -> Result<Option<(i64, String)>, sqlx::Error> {
                sqlx::query_as("SELECT size_bytes, media_type FROM blob WHERE sha256 = $1")
                    .bind(sha256)
                    .fetch_optional(&mut **self)
                    .await
            }

            async fn duplicate_of(
                &mut self,
                dossier_id: Option<i64>,
                role: &str,
                sha256: &str,
            ) -> Result<Option<i64>, sqlx::Error> {
                // In a dossier: from its few documents (index on dossier_id), each checked
                // for the digest; the same content may be in thousands of other dossiers (a
                // common form).
                if let Some(dossier_id) = dossier_id {
                    return sqlx::query_scalar(
                        "SELECT d.document_id FROM documents d
                         WHERE d.dossier_id = $1 AND d.role = $2
                           AND EXISTS (SELECT 1 FROM document_versions v
                                       WHERE v.document_id = d.document_id AND v.sha256 = $3)
                         ORDER BY d.document_id LIMIT 1",
                    )
                    .bind(dossier_id)
                    .bind(role)
                    .bind(sha256)
                    .fetch_optional(&mut **self)
                    .await;
                }
                // Without a dossier: the documents with this content (an index, a handful),
                // then each by its key. Two statements rather than a join: after a bulk load
                // PostgreSQL's statistics can claim a handful of dossier-less documents and
                // it then hashes all of them for every upload.
                let candidates: Vec<i64> = sqlx::query_scalar(
                    "SELECT DISTINCT document_id FROM document_versions WHERE sha256 = $1
                     ORDER BY document_id LIMIT 1000",
                )
                .bind(sha256)
                .fetch_all(&mut **self)
                .await?;
                for candidate in candidates {
                    let found: Option<i64> = sqlx::query_scalar(
                        "SELECT document_id FROM documents
                         WHERE document_id = $1 AND role = $2 AND dossier_id IS NULL",
                    )
                    .bind(candidate)
                    .bind(role)
                    .fetch_optional(&mut **self)
                    .await?;
                    if found.is_some() {
                        return Ok(found);
                    }
                }
                Ok(None)
            }

            async fn insert_document(
                &mut self,
                dossier_id: Option<i64>,
                role: &str,
                actor: &str,
                now: OffsetDateTime,
            ) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO documents (dossier_id, role, created_at, created_by)
                     VALUES ($1, $2, $3, $4) RETURNING document_id",
                )
                .bind(dossier_id)
                .bind(role)
                .bind(now)
                .bind(actor)
                .fetch_one(&mut **self)
                .await
            }

            async fn insert_version(&mut self, row: &VersionRow) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO document_versions (document_id, version, parent_version_id,
                         kind, sha256, file_name, media_type, size_bytes, type_name,
                         code_number, code_notation, issued_date, organ_name, subject,
                         language, page_count, description, signer_position, signer_name,
                         urgency, confidentiality, ocr_text, ocr_confidence, reason,
                         created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                         $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)
                     RETURNING version_id",
                )
                .bind(row.document_id)
                .bind(row.version)
                .bind(row.parent_version_id)
                .bind(&row.kind)
                .bind(&row.sha256)
                .bind(&row.file_name)
                .bind(&row.media_type)
                .bind(row.size_bytes)
                .bind(&row.type_name)
                .bind(&row.code_number)
                .bind(&row.code_notation)
                .bind(row.issued_date)
                .bind(&row.organ_name)
                .bind(&row.subject)
                .bind(&row.language)
                .bind(row.page_count)
                .bind(&row.description)
                .bind(&row.signer_position)
                .bind(&row.signer_name)
                .bind(&row.urgency)
                .bind(&row.confidentiality)
                .bind(&row.ocr_text)
                .bind(row.ocr_confidence)
                .bind(&row.reason)
                .bind(&row.created_by)
                .bind(row.created_at)
                .fetch_one(&mut **self)
                .await
            }

            async fn document_row(
                &mut self,
                document_id: i64,
            ) -> Result<Option<DocumentRow>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT d.document_id, d.role, d.created_at, d.created_by,
                         s.code AS dossier_code
                     FROM documents d LEFT JOIN dossiers s ON s.dossier_id = d.dossier_id
                     WHERE d.document_id = $1",
                )
                .bind(document_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn version_rows(
                &mut self,
                document_id: i64,
            ) -> Result<Vec<VersionRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    version_columns!(),
                    " FROM document_versions WHERE document_id = $1 ORDER BY version"
                ))
                .bind(document_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn version_row(
                &mut self,
                version_id: i64,
            ) -> Result<Option<VersionRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    version_columns!(),
                    " FROM document_versions WHERE version_id = $1"
                ))
                .bind(version_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn latest_version_row(
                &mut self,
                document_id: i64,
            ) -> Result<Option<VersionRow>, sqlx::Error> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    version_columns!(),
                    " FROM document_versions WHERE document_id = $1
                      ORDER BY version DESC LIMIT 1"
                ))
                .bind(document_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn insert_report(&mut self, report: &ReportRow) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "INSERT INTO verification_reports (version_id, indication, subindication,
                         validation_time, checked_at, checked_by, report)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING report_id",
                )
                .bind(report.version_id)
                .bind(&report.indication)
                .bind(&report.subindication)
                .bind(report.validation_time)
                .bind(report.checked_at)
                .bind(&report.checked_by)
                .bind(&report.report)
                .fetch_one(&mut **self)
                .await
            }

            async fn insert_signature(
                &mut self,
                report_id: i64,
                row: &SignatureRow,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO signatures (report_id, field_name, kind, signer, signing_time,
                         timestamp_time, level, indication, subindication)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(report_id)
                .bind(&row.field_name)
                .bind(&row.kind)
                .bind(&row.signer)
                .bind(row.signing_time)
                .bind(row.timestamp_time)
                .bind(&row.level)
                .bind(&row.indication)
                .bind(&row.subindication)
                .execute(&mut **self)
                .await
                .map(|_| ())
            }

            async fn report_summaries(
                &mut self,
                document_id: i64,
            ) -> Result<Vec<ReportSummary>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT r.report_id, r.version_id, r.indication, r.subindication,
                         r.validation_time, r.checked_at, r.checked_by
                     FROM verification_reports r
                     JOIN document_versions v ON v.version_id = r.version_id
                     WHERE v.document_id = $1 ORDER BY r.report_id",
                )
                .bind(document_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn signatures_of(
                &mut self,
                report_id: i64,
            ) -> Result<Vec<SignatureRow>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT report_id, field_name, kind, signer, signing_time, timestamp_time,
                         level, indication, subindication
                     FROM signatures WHERE report_id = $1 ORDER BY signature_id",
                )
                .bind(report_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn report_json(&mut self, report_id: i64) -> Result<Option<String>, sqlx::Error> {
                sqlx::query_scalar("SELECT report FROM verification_reports WHERE report_id = $1")
                    .bind(report_id)
                    .fetch_optional(&mut **self)
                    .await
            }

            async fn dossier_document_ids(
                &mut self,
                dossier_id: i64,
            ) -> Result<Vec<i64>, sqlx::Error> {
                sqlx::query_scalar(
                    "SELECT document_id FROM documents WHERE dossier_id = $1 ORDER BY document_id",
                )
                .bind(dossier_id)
                .fetch_all(&mut **self)
                .await
            }

            async fn signed_latest_versions(
                &mut self,
                after_document_id: i64,
                limit: i64,
            ) -> Result<Vec<SignedVersion>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT v.document_id, v.version, v.version_id, r.report_id, r.report
                     FROM document_versions v
                     JOIN document_versions c
                       ON c.document_id = v.document_id AND c.sha256 = v.sha256
                     JOIN verification_reports r ON r.version_id = c.version_id
                     WHERE v.document_id > $1
                       AND v.version = (SELECT max(version) FROM document_versions l
                                        WHERE l.document_id = v.document_id)
                       AND r.report_id = (
                           SELECT max(n.report_id) FROM verification_reports n
                           JOIN document_versions o ON o.version_id = n.version_id
                           WHERE o.document_id = v.document_id AND o.sha256 = v.sha256)
                       AND EXISTS (SELECT 1 FROM signatures s WHERE s.report_id = r.report_id)
                     ORDER BY v.document_id LIMIT $2",
                )
                .bind(after_document_id)
                .bind(limit)
                .fetch_all(&mut **self)
                .await
            }
        }
    };
}

impl_document_tx!(Postgres);
impl_document_tx!(Sqlite);

fn indication_text(indication: Indication) -> &'static str {
    match indication {
        Indication::TotalPassed => "TOTAL-PASSED",
        Indication::TotalFailed => "TOTAL-FAILED",
        Indication::Indeterminate => "INDETERMINATE",
    }
}

/// The serde name of a unit enum value (`HASH_FAILURE`), as the JSON report writes it.
fn enum_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn corrupt(what: String) -> ArchiveError {
    ArchiveError::Corrupt { what }
}

impl VersionRow {
    fn metadata(&self) -> Result<DocumentMetadata, ArchiveError> {
        fn enum_of<T: serde::de::DeserializeOwned>(
            text: &Option<String>,
        ) -> Result<Option<T>, ArchiveError> {
            text.as_deref()
                .map(|t| {
                    serde_json::from_value(serde_json::Value::String(t.to_owned()))
                        .map_err(|_| corrupt(format!("unknown metadata value {t:?}")))
                })
                .transpose()
        }
        Ok(DocumentMetadata {
            type_name: self.type_name.clone(),
            code_number: self.code_number.clone(),
            code_notation: self.code_notation.clone(),
            issued_date: self.issued_date,
            organ_name: self.organ_name.clone(),
            subject: self.subject.clone(),
            language: self.language.clone(),
            page_count: self.page_count.and_then(|n| u32::try_from(n).ok()),
            description: self.description.clone(),
            signer_position: self.signer_position.clone(),
            signer_name: self.signer_name.clone(),
            urgency: enum_of(&self.urgency)?,
            confidentiality: enum_of(&self.confidentiality)?,
        })
    }

    fn set_metadata(&mut self, m: &DocumentMetadata) {
        self.type_name = m.type_name.clone();
        self.code_number = m.code_number.clone();
        self.code_notation = m.code_notation.clone();
        self.issued_date = m.issued_date;
        self.organ_name = m.organ_name.clone();
        self.subject = m.subject.clone();
        self.language = m.language.clone();
        self.page_count = m.page_count.map(i64::from);
        self.description = m.description.clone();
        self.signer_position = m.signer_position.clone();
        self.signer_name = m.signer_name.clone();
        self.urgency = m.urgency.map(|u| u.as_str().to_owned());
        self.confidentiality = m.confidentiality.map(|c| c.as_str().to_owned());
    }

    pub(super) fn to_version(&self) -> Result<Version, ArchiveError> {
        Ok(Version {
            version_id: self.version_id,
            document_id: self.document_id,
            version: self.version,
            parent_version_id: self.parent_version_id,
            kind: VersionKind::parse(&self.kind)
                .ok_or_else(|| corrupt(format!("unknown version kind {:?}", self.kind)))?,
            sha256: self.sha256.clone(),
            file_name: self.file_name.clone(),
            media_type: self.media_type.clone(),
            size_bytes: self.size_bytes,
            metadata: self.metadata()?,
            ocr_confidence: self.ocr_confidence,
            has_text: self.ocr_text.as_deref().is_some_and(|t| !t.is_empty()),
            reason: self.reason.clone(),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
        })
    }
}

impl DocumentRow {
    fn to_document(&self) -> Result<Document, ArchiveError> {
        Ok(Document {
            document_id: self.document_id,
            dossier_code: self.dossier_code.clone(),
            role: DocumentRole::parse(&self.role)
                .ok_or_else(|| corrupt(format!("unknown document role {:?}", self.role)))?,
            created_at: self.created_at,
            created_by: self.created_by.clone(),
        })
    }
}

fn checked_reason(reason: &str) -> Result<String, ArchiveError> {
    let reason: String = reason.trim().nfc().collect();
    if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(ArchiveError::FieldInvalid {
            field: "reason",
            value: reason,
            reason: "expected 1 to 500 characters without control characters".to_owned(),
        });
    }
    Ok(reason)
}

fn checked_ocr(ocr: Option<OcrText>) -> Result<Option<OcrText>, ArchiveError> {
    let Some(ocr) = ocr else { return Ok(None) };
    if ocr.confidence.is_some_and(|c| !(0.0..=100.0).contains(&c)) {
        return Err(ArchiveError::FieldInvalid {
            field: "ocr_confidence",
            value: format!("{:?}", ocr.confidence),
            reason: "expected 0 to 100".to_owned(),
        });
    }
    // NUL cannot be stored in PostgreSQL text; OCR never produces it on purpose.
    let text = ocr.text.replace('\0', "");
    Ok(Some(OcrText {
        text,
        confidence: ocr.confidence,
    }))
}

/// Creates a document and its first version in the caller's transaction.
pub(super) async fn insert_new<T: DocumentTx + super::search::SearchTx>(
    tx: &mut T,
    new: &NewDocument,
    now: OffsetDateTime,
) -> Result<StoredVersion, ArchiveError> {
    let sha = new.sha256.to_hex();
    let dossier_id = match &new.dossier {
        Some(code) => Some(tx.dossier_id(code.as_str()).await?.ok_or_else(|| {
            ArchiveError::DossierNotFound {
                code: code.as_str().to_owned(),
            }
        })?),
        None => None,
    };
    let (size_bytes, media_type) = tx
        .blob_row(&sha)
        .await?
        .ok_or(ArchiveError::BlobNotFound { sha256: new.sha256 })?;
    if let Some(existing) = tx.duplicate_of(dossier_id, new.role.as_str(), &sha).await? {
        let latest = tx
            .latest_version_row(existing)
            .await?
            .ok_or_else(|| corrupt(format!("document {existing} has no version")))?;
        return Ok(StoredVersion {
            document_id: existing,
            version_id: latest.version_id,
            version: latest.version,
            sha256: latest.sha256,
            duplicate: true,
        });
    }
    let document_id = tx
        .insert_document(dossier_id, new.role.as_str(), &new.actor, now)
        .await?;
    let mut row = VersionRow {
        version_id: 0,
        document_id,
        version: 1,
        parent_version_id: None,
        kind: VersionKind::Original.as_str().to_owned(),
        sha256: sha.clone(),
        file_name: display_file_name(&new.file_name),
        media_type,
        size_bytes,
        type_name: None,
        code_number: None,
        code_notation: None,
        issued_date: None,
        organ_name: None,
        subject: None,
        language: None,
        page_count: None,
        description: None,
        signer_position: None,
        signer_name: None,
        urgency: None,
        confidentiality: None,
        ocr_text: new.ocr.as_ref().map(|o| o.text.clone()),
        ocr_confidence: new.ocr.as_ref().and_then(|o| o.confidence),
        reason: new.reason.clone(),
        created_by: new.actor.clone(),
        created_at: now,
    };
    row.set_metadata(&new.metadata);
    let version_id = tx.insert_version(&row).await?;
    let mut details = serde_json::json!({
        "role": new.role.as_str(),
        "version": 1,
        "version_id": version_id,
        "sha256": sha,
        "size_bytes": size_bytes,
        "reason": new.reason,
    });
    if let Some(code) = &new.dossier {
        details["dossier"] = serde_json::Value::String(code.as_str().to_owned());
    }
    append(
        tx,
        AuditRecord {
            actor: &new.actor,
            action: "document.ingest",
            object_kind: "document",
            object_id: &document_id.to_string(),
            details,
        },
        now,
    )
    .await?;
    super::search::reindex(tx, document_id).await?;
    Ok(StoredVersion {
        document_id,
        version_id,
        version: 1,
        sha256: sha,
        duplicate: false,
    })
}

async fn insert_version<T: DocumentTx + super::search::SearchTx>(
    tx: &mut T,
    new: &NewVersion,
    now: OffsetDateTime,
) -> Result<StoredVersion, ArchiveError> {
    tx.document_row(new.document_id)
        .await?
        .ok_or(ArchiveError::DocumentNotFound {
            document_id: new.document_id,
        })?;
    let parent = tx
        .latest_version_row(new.document_id)
        .await?
        .ok_or_else(|| corrupt(format!("document {} has no version", new.document_id)))?;
    if parent.version != new.parent_version {
        return Err(ArchiveError::VersionConflict {
            document_id: new.document_id,
            expected: new.parent_version,
            latest: parent.version,
        });
    }
    let sha = new.sha256.to_hex();
    if new.kind == VersionKind::Metadata && sha != parent.sha256 {
        return Err(ArchiveError::FieldInvalid {
            field: "sha256",
            value: sha,
            reason: "a metadata version keeps its parent's content".to_owned(),
        });
    }
    let (size_bytes, media_type) = tx
        .blob_row(&sha)
        .await?
        .ok_or(ArchiveError::BlobNotFound { sha256: new.sha256 })?;
    let file_name = match &new.file_name {
        Some(name) => display_file_name(name),
        None if new.kind == VersionKind::Ocr => pdf_name(&parent.file_name),
        None => parent.file_name.clone(),
    };
    let mut row = VersionRow {
        version_id: 0,
        version: parent.version + 1,
        parent_version_id: Some(parent.version_id),
        kind: new.kind.as_str().to_owned(),
        sha256: sha.clone(),
        file_name,
        media_type,
        size_bytes,
        reason: new.reason.clone(),
        created_by: new.actor.clone(),
        created_at: now,
        ..parent.clone()
    };
    if let Some(metadata) = &new.metadata {
        row.set_metadata(metadata);
    }
    if let Some(ocr) = &new.ocr {
        row.ocr_text = Some(ocr.text.clone());
        row.ocr_confidence = ocr.confidence;
    }
    let version_id = tx.insert_version(&row).await?;
    let mut details = serde_json::json!({
        "version": row.version,
        "version_id": version_id,
        "parent_version_id": parent.version_id,
        "kind": new.kind.as_str(),
        "sha256": sha,
        "reason": new.reason,
    });
    if new.metadata.is_some() {
        let before = parent.metadata()?;
        let after = row.metadata()?;
        details["metadata_before"] = serde_json::to_value(&before).unwrap_or_default();
        details["metadata_after"] = serde_json::to_value(&after).unwrap_or_default();
    }
    let action = match new.kind {
        VersionKind::Original => "document.version",
        VersionKind::Ocr => "document.ocr",
        VersionKind::Signed => "document.sign",
        VersionKind::Extended => "document.extend",
        VersionKind::Metadata => "document.metadata_edit",
    };
    append(
        tx,
        AuditRecord {
            actor: &new.actor,
            action,
            object_kind: "document",
            object_id: &new.document_id.to_string(),
            details,
        },
        now,
    )
    .await?;
    super::search::reindex(tx, new.document_id).await?;
    Ok(StoredVersion {
        document_id: new.document_id,
        version_id,
        version: row.version,
        sha256: sha,
        duplicate: false,
    })
}

/// `scan.tif` → `scan.pdf`.
fn pdf_name(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.eq_ignore_ascii_case("pdf") => {
            format!("{stem}.pdf")
        }
        Some(_) => name.to_owned(),
        None => format!("{name}.pdf"),
    }
}

async fn record_report<T: DocumentTx + super::search::SearchTx>(
    tx: &mut T,
    version_id: i64,
    report: &Report,
    actor: &str,
    now: OffsetDateTime,
) -> Result<i64, ArchiveError> {
    let version = tx
        .version_row(version_id)
        .await?
        .ok_or(ArchiveError::VersionNotFound { version_id })?;
    if report.sha256 != version.sha256 {
        return Err(ArchiveError::FieldInvalid {
            field: "report",
            value: report.sha256.clone(),
            reason: format!("the report is of other content than version {version_id}"),
        });
    }
    let json = serde_json::to_string(report).map_err(|e| corrupt(e.to_string()))?;
    let report_id = tx
        .insert_report(&ReportRow {
            report_id: 0,
            version_id,
            indication: indication_text(report.indication).to_owned(),
            subindication: report.subindication.map(|s| enum_text(&s)),
            validation_time: stored_time(report.validation_time),
            checked_at: now,
            checked_by: actor.to_owned(),
            report: json,
        })
        .await?;
    for signature in &report.signatures {
        let row = SignatureRow {
            report_id,
            field_name: signature.field.clone(),
            kind: enum_text(&signature.kind),
            signer: signature.signer.as_ref().map(|s| s.subject.clone()),
            signing_time: signature.signing_time.map(stored_time),
            timestamp_time: signature.timestamp_time.map(stored_time),
            level: signature.level.clone(),
            indication: indication_text(signature.indication).to_owned(),
            subindication: signature.subindication.map(|s| enum_text(&s)),
        };
        tx.insert_signature(report_id, &row).await?;
    }
    append(
        tx,
        AuditRecord {
            actor,
            action: "document.verify",
            object_kind: "document",
            object_id: &version.document_id.to_string(),
            details: serde_json::json!({
                "version_id": version_id,
                "report_id": report_id,
                "indication": indication_text(report.indication),
                "signatures": report.signatures.len(),
            }),
        },
        now,
    )
    .await?;
    super::search::reindex(tx, version.document_id).await?;
    Ok(report_id)
}

async fn read_record<T: DocumentTx>(
    tx: &mut T,
    document_id: i64,
) -> Result<DocumentRecord, ArchiveError> {
    let document = tx
        .document_row(document_id)
        .await?
        .ok_or(ArchiveError::DocumentNotFound { document_id })?
        .to_document()?;
    let versions = tx
        .version_rows(document_id)
        .await?
        .iter()
        .map(VersionRow::to_version)
        .collect::<Result<Vec<_>, _>>()?;
    let reports = tx.report_summaries(document_id).await?;
    let signatures = match reports.last() {
        Some(last) => tx.signatures_of(last.report_id).await?,
        None => Vec::new(),
    };
    Ok(DocumentRecord {
        document,
        versions,
        reports,
        signatures,
    })
}

impl Archive {
    /// Stores a new document with its first version (the content as received), in one
    /// transaction with its audit entry and search entry. Content already stored as a
    /// document of the same dossier and role is not stored twice: the existing document is
    /// returned with `duplicate: true`.
    ///
    /// # Errors
    /// [`ArchiveError::DossierNotFound`], [`ArchiveError::BlobNotFound`] (content not
    /// recorded first), [`ArchiveError::MetadataInvalid`], [`ArchiveError::FieldInvalid`],
    /// [`ArchiveError::Database`]; nothing is written then.
    pub async fn add_document(
        &self,
        new: &NewDocument,
        now: OffsetDateTime,
    ) -> Result<StoredVersion, ArchiveError> {
        let new = checked_new_document(new)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let stored = insert_new(&mut tx, &new, now).await?;
            tx.commit().await?;
            Ok(stored)
        })
    }

    /// Stores many documents in one transaction (imports, benchmarks): all or none.
    ///
    /// # Errors
    /// As [`Archive::add_document`], for the first failing document.
    pub async fn add_documents(
        &self,
        new: &[NewDocument],
        now: OffsetDateTime,
    ) -> Result<Vec<StoredVersion>, ArchiveError> {
        let new = new
            .iter()
            .map(checked_new_document)
            .collect::<Result<Vec<_>, _>>()?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let mut stored = Vec::with_capacity(new.len());
            for document in &new {
                stored.push(insert_new(&mut tx, document, now).await?);
            }
            tx.commit().await?;
            Ok(stored)
        })
    }

    /// Adds a version derived from the document's newest version.
    ///
    /// # Errors
    /// [`ArchiveError::DocumentNotFound`], [`ArchiveError::VersionConflict`] (the parent is
    /// no longer the newest), [`ArchiveError::BlobNotFound`], [`ArchiveError::MetadataInvalid`],
    /// [`ArchiveError::FieldInvalid`], [`ArchiveError::Database`].
    pub async fn add_version(
        &self,
        new: &NewVersion,
        now: OffsetDateTime,
    ) -> Result<StoredVersion, ArchiveError> {
        let new = NewVersion {
            metadata: new
                .metadata
                .clone()
                .map(DocumentMetadata::checked)
                .transpose()?,
            ocr: checked_ocr(new.ocr.clone())?,
            actor: checked_actor(&new.actor)?,
            reason: checked_reason(&new.reason)?,
            ..new.clone()
        };
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let stored = insert_version(&mut tx, &new, now).await?;
            tx.commit().await?;
            Ok(stored)
        })
    }

    /// Stores the verification `report` of version `version_id` (its content must be what
    /// was verified) with one row per signature; earlier reports are kept.
    ///
    /// # Errors
    /// [`ArchiveError::VersionNotFound`], [`ArchiveError::FieldInvalid`] (the report is of
    /// other content), [`ArchiveError::Database`].
    pub async fn record_verification(
        &self,
        version_id: i64,
        report: &Report,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<i64, ArchiveError> {
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let id = record_report(&mut tx, version_id, report, &actor, now).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// A document with its versions, reports and latest signatures.
    ///
    /// # Errors
    /// [`ArchiveError::DocumentNotFound`], [`ArchiveError::Database`].
    pub async fn document(&self, document_id: i64) -> Result<DocumentRecord, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let record = read_record(&mut tx, document_id).await?;
            tx.commit().await?;
            Ok(record)
        })
    }

    /// The documents of a dossier, oldest first.
    ///
    /// # Errors
    /// [`ArchiveError::DossierNotFound`], [`ArchiveError::Database`].
    pub async fn dossier_documents(
        &self,
        code: &DossierCode,
    ) -> Result<Vec<DocumentRecord>, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let dossier_id = tx.dossier_id(code.as_str()).await?.ok_or_else(|| {
                ArchiveError::DossierNotFound { code: code.as_str().to_owned() }
            })?;
            let mut records = Vec::new();
            for id in tx.dossier_document_ids(dossier_id).await? {
                records.push(read_record(&mut tx, id).await?);
            }
            tx.commit().await?;
            Ok(records)
        })
    }

    /// Up to `limit` signed documents after `after_document_id` (by id): their newest
    /// version and its newest report. Pages keep memory bounded on a large archive.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn signed_documents(
        &self,
        after_document_id: i64,
        limit: i64,
    ) -> Result<Vec<SignedVersion>, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let rows = tx.signed_latest_versions(after_document_id, limit).await?;
            tx.commit().await?;
            Ok(rows)
        })
    }

    /// The full text of version `version_id` (not in lists: it can be long).
    ///
    /// # Errors
    /// [`ArchiveError::VersionNotFound`], [`ArchiveError::Database`].
    pub async fn version_text(&self, version_id: i64) -> Result<Option<String>, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let row = tx.version_row(version_id).await?
                .ok_or(ArchiveError::VersionNotFound { version_id })?;
            tx.commit().await?;
            Ok(row.ocr_text)
        })
    }

    /// The stored JSON of report `report_id` (the `hoso verify --format json` document).
    ///
    /// # Errors
    /// [`ArchiveError::Corrupt`] when absent, [`ArchiveError::Database`].
    pub async fn report_json(&self, report_id: i64) -> Result<String, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let json = tx.report_json(report_id).await?
                .ok_or_else(|| corrupt(format!("no report {report_id}")))?;
            tx.commit().await?;
            Ok(json)
        })
    }

    /// Looks version `version_id` up for reading its content, and records the access in the
    /// audit trail when the document is confidential (or when its content is missing from
    /// the blob store, which the caller reports with `missing_blob`).
    ///
    /// # Errors
    /// [`ArchiveError::VersionNotFound`], [`ArchiveError::Database`].
    pub async fn open_version(
        &self,
        version_id: i64,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Version, ArchiveError> {
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let version = tx.version_row(version_id).await?
                .ok_or(ArchiveError::VersionNotFound { version_id })?
                .to_version()?;
            tx.commit().await?;
            if version.metadata.is_confidential() {
                let mut tx = pool.begin_write().await?;
                append(&mut tx, AuditRecord {
                    actor: &actor,
                    action: "document.view",
                    object_kind: "document",
                    object_id: &version.document_id.to_string(),
                    details: serde_json::json!({
                        "version_id": version_id,
                        "sha256": version.sha256,
                        "confidentiality": version.metadata.confidentiality,
                    }),
                }, now).await?;
                tx.commit().await?;
            }
            Ok(version)
        })
    }

    /// Records that the content of version `version_id` was not found (or was damaged)
    /// when someone tried to read it.
    ///
    /// # Errors
    /// [`ArchiveError::Database`].
    pub async fn record_missing_blob(
        &self,
        version: &Version,
        actor: &str,
        problem: &ArchiveError,
        now: OffsetDateTime,
    ) -> Result<(), ArchiveError> {
        let actor = checked_actor(actor)?;
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            append(&mut tx, AuditRecord {
                actor: &actor,
                action: "blob.unreadable",
                object_kind: "blob",
                object_id: &version.sha256,
                details: serde_json::json!({
                    "document_id": version.document_id,
                    "version_id": version.version_id,
                    "error": crate::error::Coded::code(problem),
                }),
            }, now).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

fn checked_new_document(new: &NewDocument) -> Result<NewDocument, ArchiveError> {
    Ok(NewDocument {
        metadata: new.metadata.clone().checked()?,
        ocr: checked_ocr(new.ocr.clone())?,
        actor: checked_actor(&new.actor)?,
        reason: checked_reason(&new.reason)?,
        ..new.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_keep_the_base_name_only() {
        assert_eq!(display_file_name("../../etc/passwd"), "passwd");
        assert_eq!(display_file_name("C:\\scans\\Tờ khai.pdf"), "Tờ khai.pdf");
        assert_eq!(display_file_name("a\u{0}b\nc.pdf"), "abc.pdf");
        assert_eq!(display_file_name("..."), "tep-khong-ten");
        assert_eq!(display_file_name(""), "tep-khong-ten");
        assert_eq!(display_file_name("dir/"), "dir");
        assert_eq!(display_file_name(&"x".repeat(400)).chars().count(), 200);
        assert_eq!(
            display_file_name("hoa-don\u{202e}gpj.exe"),
            "hoa-dongpj.exe"
        );
    }

    #[test]
    fn metadata_accepts_decree_tags_and_refuses_unknown_keys() {
        let m = DocumentMetadata::from_json(
            r#"{"TypeName":"Quyết định","CodeNumber":"12","code_notation":"QĐ-UBND",
                "IssuedDate":"05/03/2026","page_count":2,"confidentiality":"confidential"}"#,
        )
        .unwrap();
        assert_eq!(m.type_name.as_deref(), Some("Quyết định"));
        assert_eq!(m.issued_date, Some(time::macros::date!(2026 - 03 - 05)));
        assert!(m.is_confidential());
        for bad in [
            r#"{"tittle":"x"}"#,
            r#"{"page_count":"two"}"#,
            r#"{"issued_date":"31/02/2026"}"#,
            r#"{"code_number":"123456789012"}"#,
            r#"{"urgency":"tomorrow"}"#,
            "[1,2]",
        ] {
            let e = DocumentMetadata::from_json(bad).unwrap_err();
            assert_eq!(crate::error::Coded::code(&e), "metadata-invalid", "{bad}");
        }
    }

    #[test]
    fn ocr_output_is_named_pdf() {
        assert_eq!(pdf_name("to-khai.tif"), "to-khai.pdf");
        assert_eq!(pdf_name("a.PDF"), "a.PDF");
        assert_eq!(pdf_name("scan"), "scan.pdf");
    }

    #[test]
    fn a_patch_sets_clears_and_keeps_fields() {
        let base = DocumentMetadata::from_json(
            r#"{"subject":"Cũ","signer_name":"Nguyễn Văn A","confidentiality":"secret"}"#,
        )
        .unwrap();
        let patched = base
            .patched("\u{feff}{\"Subject\":\"Mới\",\"confidentiality\":null,\"signer_name\":\"\"}")
            .unwrap();
        assert_eq!(patched.subject.as_deref(), Some("Mới"));
        assert_eq!(patched.confidentiality, None);
        assert_eq!(patched.signer_name, None);
        assert!(base.patched("[]").is_err());
        assert!(base.patched(r#"{"page_count":-1}"#).is_err());
    }
}

//! What anyone may learn about an archived document from the QR code printed on its signed
//! copy (`GET /api/v1/verify/{sha256}`, the public page `/verify/{sha256}`); no sign-in.
//!
//! The QR code of a visible signature (`pades::layout`) encodes `{public_url}/verify/{sha256}`
//! with the SHA-256 of the document as it was *before* that signature. [`Archive::public_lookup`]
//! finds the versions with that content and, for each document holding one, the newest
//! signed (or extended) version made from it on, with the signatures its newest verification
//! report found and the verdict on each.
//!
//! Only what the paper shows anyway comes back: the type, number, notation and date of the
//! document, who signed it when, and the archive's verdict. Never the OCR text, file names,
//! dossier codes, applicant data or who handled it. A confidential document (any version
//! marked with a độ mật other than normal) shows not even that: only that it exists and its
//! signatures. Nothing is written (the lookup is not an audited read: nothing secret is shown).

use serde::Serialize;
use sqlx::{Postgres, Sqlite, Transaction};
use time::{Date, OffsetDateTime};

use super::documents::DocumentTx;
use super::tx::Begin;
use super::{Archive, ArchiveError, Db};
use crate::digest::Sha256Digest;

/// Most documents one lookup lists (the same content can be in several dossiers).
pub const MAX_DOCUMENTS: i64 = 20;

/// The answer to a QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicLookup {
    /// Some version of some document has this content.
    pub found: bool,
    /// At most [`MAX_DOCUMENTS`], oldest document first.
    pub documents: Vec<PublicDocument>,
}

/// One document with that content: what is printed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicDocument {
    /// Confidential: the fields below are left out (`None`), the signatures are shown.
    pub confidential: bool,
    /// Tên loại văn bản, from the newest version's metadata.
    pub type_name: Option<String>,
    /// Số.
    pub code_number: Option<String>,
    /// Ký hiệu.
    pub code_notation: Option<String>,
    /// Ngày văn bản (`YYYY-MM-DD`).
    #[serde(serialize_with = "iso_day")]
    pub issued_date: Option<Date>,
    /// The signatures of the newest signed version from this content on (empty when it was
    /// never signed here, or the signed version was never verified).
    pub signatures: Vec<PublicSignature>,
}

/// One signature as the archive's newest verification of the signed version found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicSignature {
    /// The signer certificate's common name (else its whole subject).
    pub signer: Option<String>,
    /// The time a timestamp proves, else the time the signer claims.
    #[serde(with = "super::calendar::vn_time::option")]
    pub signed_at: Option<OffsetDateTime>,
    /// PAdES level (B-B … B-LTA).
    pub level: Option<String>,
    /// `TOTAL-PASSED`, `TOTAL-FAILED` or `INDETERMINATE`.
    pub indication: String,
    /// SHA-256 of the signed version (what a downloaded copy must hash to).
    pub version_sha256: String,
    /// When the archive checked it.
    #[serde(with = "super::calendar::vn_time")]
    pub checked_at: OffsetDateTime,
}

#[allow(clippy::ref_option)] // serde's serialize_with signature
fn iso_day<S: serde::Serializer>(day: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match day {
        Some(day) => s.collect_str(day),
        None => s.serialize_none(),
    }
}

/// The common name in a subject as `trust` writes it (`CN=…, O=…, C=VN`).
fn common_name(subject: &str) -> String {
    subject
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .map_or_else(|| subject.to_owned(), str::to_owned)
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct MatchRow {
    document_id: i64,
    version: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct FactsRow {
    type_name: Option<String>,
    code_number: Option<String>,
    code_notation: Option<String>,
    issued_date: Option<Date>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ReportRef {
    report_id: i64,
    checked_at: OffsetDateTime,
}

/// The statements of this module, on an open transaction of either backend.
trait PublicTx: DocumentTx {
    /// Each document with a version of content `sha256`, with its first such version.
    async fn content_matches(
        &mut self,
        sha256: &str,
        limit: i64,
    ) -> Result<Vec<MatchRow>, sqlx::Error>;
    /// The newest version's Decree 30 fields.
    async fn newest_facts(&mut self, document_id: i64) -> Result<Option<FactsRow>, sqlx::Error>;
    /// Versions marked confidential (any độ mật but normal).
    async fn confidential_versions(&mut self, document_id: i64) -> Result<i64, sqlx::Error>;
    /// SHA-256 of the newest signed or extended version numbered `from_version` or later.
    async fn newest_signed_from(
        &mut self,
        document_id: i64,
        from_version: i64,
    ) -> Result<Option<String>, sqlx::Error>;
    /// The newest report about content `sha256` of the document.
    async fn newest_report_of(
        &mut self,
        document_id: i64,
        sha256: &str,
    ) -> Result<Option<ReportRef>, sqlx::Error>;
}

macro_rules! impl_public_tx {
    ($db:ty) => {
        impl PublicTx for Transaction<'_, $db> {
            async fn content_matches(
                &mut self,
                sha256: &str,
                limit: i64,
            ) -> Result<Vec<MatchRow>, sqlx::Error> {
                // The sha256 index finds the versions; a document holds few of them.
                sqlx::query_as(
                    "SELECT document_id, MIN(version) AS version FROM document_versions
                     WHERE sha256 = $1 GROUP BY document_id ORDER BY document_id LIMIT $2",
                )
                .bind(sha256)
                .bind(limit)
                .fetch_all(&mut **self)
                .await
            }

            async fn newest_facts(
                &mut self,
                document_id: i64,
            ) -> Result<Option<FactsRow>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT type_name, code_number, code_notation, issued_date
                     FROM document_versions WHERE document_id = $1
                     ORDER BY version DESC LIMIT 1",
                )
                .bind(document_id)
                .fetch_optional(&mut **self)
                .await
            }

            async fn confidential_versions(&mut self, document_id: i64) -> Result<i64, sqlx::Error> {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM document_versions
                     WHERE document_id = $1 AND confidentiality IS NOT NULL
                         AND confidentiality <> 'normal'",
                )
                .bind(document_id)
                .fetch_one(&mut **self)
                .await
            }

            async fn newest_signed_from(
                &mut self,
                document_id: i64,
                from_version: i64,
            ) -> Result<Option<String>, sqlx::Error> {
                sqlx::query_scalar(
                    "SELECT sha256 FROM document_versions
                     WHERE document_id = $1 AND version >= $2 AND kind IN ('signed', 'extended')
                     ORDER BY version DESC LIMIT 1",
                )
                .bind(document_id)
                .bind(from_version)
                .fetch_optional(&mut **self)
                .await
            }

            async fn newest_report_of(
                &mut self,
                document_id: i64,
                sha256: &str,
            ) -> Result<Option<ReportRef>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT r.report_id, r.checked_at FROM verification_reports r
                     JOIN document_versions v ON v.version_id = r.version_id
                     WHERE v.document_id = $1 AND v.sha256 = $2
                     ORDER BY r.report_id DESC LIMIT 1",
                )
                .bind(document_id)
                .bind(sha256)
                .fetch_optional(&mut **self)
                .await
            }
        }
    };
}

impl_public_tx!(Sqlite);
impl_public_tx!(Postgres);

async fn lookup<T: PublicTx>(tx: &mut T, sha256: &str) -> Result<PublicLookup, ArchiveError> {
    let matches = tx.content_matches(sha256, MAX_DOCUMENTS).await?;
    let mut documents = Vec::with_capacity(matches.len());
    for found in &matches {
        let confidential = tx.confidential_versions(found.document_id).await? > 0;
        let facts = if confidential {
            None
        } else {
            tx.newest_facts(found.document_id).await?
        };
        let mut signatures = Vec::new();
        if let Some(signed) = tx
            .newest_signed_from(found.document_id, found.version)
            .await?
            && let Some(report) = tx.newest_report_of(found.document_id, &signed).await?
        {
            for row in tx.signatures_of(report.report_id).await? {
                if row.kind != "signature" {
                    // Document timestamps have no signer to show.
                    continue;
                }
                signatures.push(PublicSignature {
                    signer: row.signer.as_deref().map(common_name),
                    signed_at: row.timestamp_time.or(row.signing_time),
                    level: row.level,
                    indication: row.indication,
                    version_sha256: signed.clone(),
                    checked_at: report.checked_at,
                });
            }
        }
        let facts = facts.unwrap_or(FactsRow {
            type_name: None,
            code_number: None,
            code_notation: None,
            issued_date: None,
        });
        documents.push(PublicDocument {
            confidential,
            type_name: facts.type_name,
            code_number: facts.code_number,
            code_notation: facts.code_notation,
            issued_date: facts.issued_date,
            signatures,
        });
    }
    Ok(PublicLookup {
        found: !documents.is_empty(),
        documents,
    })
}

impl Archive {
    /// What the archive shows anyone about the documents whose content (at some version) has
    /// SHA-256 `sha256` (module documentation), from one consistent snapshot.
    ///
    /// # Errors
    /// [`ArchiveError::Database`]. Unknown content is `found: false`, not an error.
    pub async fn public_lookup(&self, sha256: &Sha256Digest) -> Result<PublicLookup, ArchiveError> {
        let sha256 = sha256.to_hex();
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let found = lookup(&mut tx, &sha256).await?;
            tx.rollback().await?;
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signer_is_shown_by_common_name() {
        assert_eq!(
            common_name("CN=Nguyễn Văn An, O=UBND Phường Tân Phú, C=VN"),
            "Nguyễn Văn An"
        );
        assert_eq!(common_name("O=UBND, C=VN"), "O=UBND, C=VN");
    }
}

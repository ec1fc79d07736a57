//! Ingest: a file becomes a document of the archive.
//!
//! 1. The bytes stream into the blob store under their SHA-256 (never whole in memory) and
//!    become version 1 (`original`) of a new document, or are recognized as a document the
//!    dossier already has (same content, same role: reported as a duplicate, nothing new).
//! 2. A PDF that carries signatures is verified and the report stored with that version,
//!    so the archive knows from day one whether what it received was intact.
//! 3. With OCR, scans (PDF, PNG, JPEG, TIFF) become a searchable PDF stored as version 2
//!    (`ocr`), with the recognized text and the Decree 30 metadata read from the first page
//!    (what the clerk typed wins over what OCR found).
//!
//! The same function serves `hoso ingest`, the inbox watcher and the HTTP API, so every
//! entry point stores documents the same way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use super::Pipeline;
use crate::archive::codes::DossierCode;
use crate::archive::documents::{
    DocumentMetadata, DocumentRole, NewDocument, NewVersion, OcrText, StoredVersion, VersionKind,
    display_file_name,
};
use crate::digitize::{DigitizeOptions, Digitized, digitize};
use crate::error::{Coded, Error, Result};
use crate::ocr::{OcrError, OcrSettings};
use crate::verify::{Policy, VerifyOptions, verify_pdf};

/// One file to ingest.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub path: PathBuf,
    /// The name to show; `None`: the path's file name.
    pub file_name: Option<String>,
    pub dossier: Option<DossierCode>,
    pub role: DocumentRole,
    pub metadata: DocumentMetadata,
    /// Recognize scans into a searchable PDF version.
    pub ocr: bool,
    /// Verify signed PDFs without fetching OCSP/CRL/AIA.
    pub offline: bool,
    pub actor: String,
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
pub struct IngestOutcome {
    pub file: String,
    /// The document's id.
    pub id: i64,
    /// Content and number of the newest version stored for it.
    pub sha256: String,
    pub version: i64,
    pub version_id: i64,
    /// The content was already a document of this dossier with this role.
    pub duplicate: bool,
    pub media_type: String,
    pub size_bytes: i64,
    /// Every version this ingest created, oldest first (empty for a duplicate).
    pub versions: Vec<StoredVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocr: Option<OcrSummary>,
    /// Why `--ocr` made no OCR version (a signed PDF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocr_skipped: Option<String>,
    /// A duplicate ingested with metadata: the metadata was not applied (use `hoso document
    /// edit`).
    pub metadata_ignored: bool,
    /// The verdict on the signatures the file carried, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures: Option<SignatureSummary>,
}

/// Which document an OCR step adds its version to, and what it records.
#[derive(Debug, Clone)]
pub(super) struct OcrTarget {
    pub document_id: i64,
    /// The newest version when OCR starts: the new version's parent.
    pub parent_version: i64,
    /// What the clerk typed or what is stored: wins over what OCR reads.
    pub metadata: DocumentMetadata,
    /// The searchable PDF's title.
    pub title: Option<String>,
    pub actor: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OcrSummary {
    pub pages: usize,
    pub mean_confidence: Option<f64>,
    pub characters: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignatureSummary {
    pub count: usize,
    pub indication: String,
    pub report_id: i64,
}

/// Passes a stream through while looking for `/ByteRange` (the mark of a PDF signature), so
/// that unsigned uploads are known as such without reading them a second time.
struct SignatureProbe<R> {
    inner: R,
    found: bool,
    /// The last bytes of the previous chunk: the mark may straddle two reads.
    tail: Vec<u8>,
}

const SIGNATURE_MARK: &[u8] = b"/ByteRange";

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for SignatureProbe<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = &polled
            && !self.found
        {
            let fresh = &buf.filled()[before..];
            let mut window = std::mem::take(&mut self.tail);
            window.extend_from_slice(&fresh[..fresh.len().min(SIGNATURE_MARK.len())]);
            let found = memchr::memmem::find(&window, SIGNATURE_MARK).is_some()
                || memchr::memmem::find(fresh, SIGNATURE_MARK).is_some();
            let keep = fresh.len().min(SIGNATURE_MARK.len() - 1);
            self.tail = fresh[fresh.len() - keep..].to_vec();
            self.found = found;
        }
        polled
    }
}

/// Media types hoso recognizes by their first bytes; anything else is stored as
/// `application/octet-stream` (or by a known extension: XML forms, detached signatures).
pub fn sniff_media_type(head: &[u8], name: &str) -> &'static str {
    if head.starts_with(b"%PDF-") {
        return "application/pdf";
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return "image/png";
    }
    if head.starts_with(b"\xff\xd8\xff") {
        return "image/jpeg";
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return "image/tiff";
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "xml" => "application/xml",
        "p7s" => "application/pkcs7-signature",
        "json" => "application/json",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

pub(super) fn is_scan(media_type: &str) -> bool {
    matches!(
        media_type,
        "application/pdf" | "image/png" | "image/jpeg" | "image/tiff"
    )
}

/// The metadata OCR read, in the archive's terms.
fn metadata_from_ocr(digitized: &Digitized) -> DocumentMetadata {
    let found = &digitized.metadata;
    DocumentMetadata {
        type_name: found.document_type.clone(),
        code_number: found.number.clone(),
        code_notation: found.symbol.clone(),
        issued_date: found.issue_date,
        organ_name: found.issuing_agency.clone(),
        subject: found.r#abstract.clone(),
        page_count: u32::try_from(digitized.page_count).ok(),
        ..DocumentMetadata::default()
    }
    .checked()
    // A field OCR read too long (a garbled line) is dropped rather than failing the ingest.
    .unwrap_or_else(|_| DocumentMetadata {
        page_count: u32::try_from(digitized.page_count).ok(),
        issued_date: found.issue_date,
        ..DocumentMetadata::default()
    })
}

fn mean_confidence(digitized: &Digitized) -> Option<f64> {
    let confidences: Vec<f64> = digitized
        .pages
        .iter()
        .filter_map(|p| p.ocr.as_ref().map(|r| f64::from(r.mean_confidence)))
        .collect();
    (!confidences.is_empty()).then(|| confidences.iter().sum::<f64>() / confidences.len() as f64)
}

pub(super) fn io_failed(path: &Path, e: &std::io::Error) -> Error {
    Error::Ocr(OcrError::Unreadable {
        file: path.display().to_string(),
        reason: e.to_string(),
    })
}

impl Pipeline {
    /// Ingests one file (module documentation). `now` is the time recorded for every
    /// version and audit entry.
    ///
    /// # Errors
    /// The file unreadable, unknown dossier, invalid metadata, storage or database failure,
    /// OCR failure. What was stored before the failure stays (a stored original is never
    /// rolled back because OCR failed later; the error says so).
    pub async fn ingest(
        self: &Arc<Self>,
        request: IngestRequest,
        now: OffsetDateTime,
    ) -> Result<IngestOutcome> {
        let display = display_file_name(&request.file_name.clone().unwrap_or_else(|| {
            request
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        }));
        // An unknown dossier is refused before anything is stored.
        if let Some(code) = &request.dossier {
            self.archive.dossier(code).await?;
        }
        // Checked before opening: opening a FIFO would wait for a writer for ever.
        let metadata = tokio::fs::metadata(&request.path)
            .await
            .map_err(|e| io_failed(&request.path, &e))?;
        if !metadata.is_file() {
            return Err(io_failed(
                &request.path,
                &std::io::Error::other("not a regular file"),
            ));
        }
        if metadata.len() == 0 {
            return Err(io_failed(
                &request.path,
                &std::io::Error::other("the file is empty"),
            ));
        }
        let mut file = tokio::fs::File::open(&request.path)
            .await
            .map_err(|e| io_failed(&request.path, &e))?;
        let mut head = [0u8; 8];
        let head_len = {
            use tokio::io::{AsyncReadExt, AsyncSeekExt};
            let n = file
                .read(&mut head)
                .await
                .map_err(|e| io_failed(&request.path, &e))?;
            file.seek(std::io::SeekFrom::Start(0))
                .await
                .map_err(|e| io_failed(&request.path, &e))?;
            n
        };
        let media_type = sniff_media_type(&head[..head_len], &display);
        let mut probe = SignatureProbe {
            inner: file,
            found: false,
            tail: Vec::new(),
        };
        let blob = self.store(&mut probe, media_type, now).await?;
        let carries_signature = probe.found;
        drop(probe);
        let sha256: crate::digest::Sha256Digest = blob
            .sha256
            .parse()
            .map_err(|_| Error::Task(format!("stored digest {} is not hex", blob.sha256)))?;
        let stored = self
            .archive
            .add_document(
                &NewDocument {
                    dossier: request.dossier.clone(),
                    role: request.role,
                    sha256,
                    file_name: display.clone(),
                    metadata: request.metadata.clone(),
                    ocr: None,
                    actor: request.actor.clone(),
                    reason: "tiếp nhận tệp (file received)".to_owned(),
                },
                now,
            )
            .await?;
        let mut outcome = IngestOutcome {
            file: display.clone(),
            id: stored.document_id,
            sha256: stored.sha256.clone(),
            version: stored.version,
            version_id: stored.version_id,
            duplicate: stored.duplicate,
            media_type: media_type.to_owned(),
            size_bytes: blob.size_bytes,
            versions: Vec::new(),
            ocr: None,
            ocr_skipped: None,
            signatures: None,
            metadata_ignored: stored.duplicate && request.metadata != DocumentMetadata::default(),
        };
        if !stored.duplicate {
            outcome.versions.push(stored.clone());
        }
        // What this document still lacks: a duplicate finishes what an interrupted or failed
        // earlier ingest left undone (its verification, its OCR version).
        let record = self.archive.document(stored.document_id).await?;
        let Some(with_content) = record.versions.iter().find(|v| v.sha256 == blob.sha256) else {
            return Err(Error::Task("the stored version vanished".to_owned()));
        };
        let content_version_id = with_content.version_id;
        let verified = record
            .reports
            .iter()
            .any(|r| r.version_id == content_version_id);
        let needs_verify = media_type == "application/pdf" && carries_signature && !verified;
        let needs_ocr = request.ocr
            && is_scan(media_type)
            && !record.versions.iter().any(|v| v.kind == VersionKind::Ocr);
        if !needs_verify && !needs_ocr {
            return Ok(outcome);
        }
        // Later steps read the archive's own copy, checked against its digest, never the
        // caller's path again: the file there may change or vanish meanwhile.
        let staged = self.stage(with_content).await?;
        let mut signed = record.signatures.iter().any(|s| s.kind == "signature");
        if needs_verify {
            outcome.signatures = self
                .verify_stored(staged.path(), &display, content_version_id, &request, now)
                .await?;
            signed |= outcome.signatures.as_ref().is_some_and(|s| s.count > 0);
        }
        if needs_ocr && signed {
            // A searchable copy would drop the signatures, and the newest version is what
            // people open: the signed original stays the newest.
            outcome.ocr_skipped = Some(
                "tệp đã ký số: không tạo bản OCR để giữ chữ ký (signed PDF: not OCRed, the signed \
                 version stays the newest)"
                    .to_owned(),
            );
        } else if needs_ocr {
            let target = OcrTarget {
                document_id: stored.document_id,
                parent_version: record.latest().map_or(stored.version, |v| v.version),
                metadata: request.metadata.clone(),
                title: request.metadata.subject.clone().or_else(|| {
                    Path::new(&request.path)
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                }),
                actor: request.actor.clone(),
            };
            let (version, summary) = self
                .ocr_version(staged.path(), &target, Box::new(|_| {}), &move || now, now)
                .await?;
            outcome.sha256 = version.sha256.clone();
            outcome.version = version.version;
            outcome.version_id = version.version_id;
            outcome.versions.push(version);
            outcome.ocr = Some(summary);
        }
        Ok(outcome)
    }

    /// Verifies a PDF that carries signatures and stores the report with `version_id`.
    async fn verify_stored(
        self: &Arc<Self>,
        path: &Path,
        display: &str,
        version_id: i64,
        request: &IngestRequest,
        now: OffsetDateTime,
    ) -> Result<Option<SignatureSummary>> {
        let path = path.to_owned();
        // Called only for content that carries `/ByteRange` (seen while it was stored).
        // The document is archived as received whatever happens here; a verification that
        // cannot run is logged, and `hoso document verify` (or the next ingest) retries.
        let trust = match self.trust() {
            Ok(trust) => trust,
            Err(e) => {
                let file_name = display.to_owned();
                tracing::warn!(file = %file_name, code = e.code(), "không kiểm tra được chữ ký (signatures not checked): {e}");
                return Ok(None);
            }
        };
        let name = display.to_owned();
        let offline = request.offline;
        let report = self
            .run_blocking(move || {
                let file = std::fs::File::open(&path).map_err(|e| io_failed(&path, &e))?;
                let bytes = crate::verify::map_file(&file).map_err(|e| io_failed(&path, &e))?;
                let options = VerifyOptions {
                    trust: &trust,
                    at: now,
                    offline,
                    policy: Policy::Strict,
                    supplied: crate::verify::status::EvidencePool::default(),
                };
                match verify_pdf(&bytes, &name, &options) {
                    Ok(report) => Ok(Some(report)),
                    Err(e) => {
                        tracing::warn!(file = %name, "không kiểm tra được chữ ký (signatures not checked): {e}");
                        Ok(None)
                    }
                }
            })
            .await?;
        let Some(report) = report.filter(|r| !r.signatures.is_empty()) else {
            return Ok(None);
        };
        let report_id = self
            .archive
            .record_verification(version_id, &report, &request.actor, now)
            .await?;
        let indication = serde_json::to_value(report.indication)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Ok(Some(SignatureSummary {
            count: report.signatures.len(),
            indication,
            report_id,
        }))
    }

    /// OCRs `source` (a private staged copy of a stored scan) into a searchable PDF/A and
    /// stores it as the next version of `target.document_id`, with the recognized text, the
    /// mean confidence and the Decree 30 metadata (what `target.metadata` holds wins over what
    /// OCR read). `on_page` is told 0 when the work starts (after waiting for a CPU permit),
    /// then the number of each page written; `finished` gives the time recorded for the new
    /// version (ingest: its own `now`; a job: the clock when OCR ends). Shared by ingest and
    /// OCR jobs (`pipeline::jobs`).
    pub(super) async fn ocr_version(
        self: &Arc<Self>,
        source: &Path,
        target: &OcrTarget,
        on_page: Box<dyn Fn(usize) + Send>,
        finished: &(dyn Fn() -> OffsetDateTime + Sync),
        now: OffsetDateTime,
    ) -> Result<(StoredVersion, OcrSummary)> {
        let output = tempfile::Builder::new()
            .prefix(".hoso-ingest-")
            .suffix(".pdf")
            .tempfile()
            .map_err(|e| io_failed(source, &e))?;
        let output_path = output.path().to_owned();
        let input = source.to_owned();
        let engines = self.engines.clone();
        let options = DigitizeOptions {
            ocr: OcrSettings {
                languages: engines.languages().clone(),
                ..OcrSettings::default()
            },
            jobs: self.jobs,
            info: crate::pdf::searchable::DocumentInfo {
                title: target.title.clone(),
                created: Some(now),
                pdfa: true,
            },
        };
        // One OCR job holds one permit; its pages run on `jobs` threads inside.
        let digitized = self
            .run_blocking(move || {
                // Started: the permit is held (a job shows `running` from here).
                on_page(0);
                digitize(&[input], &output_path, &options, &engines, &*on_page)
            })
            .await?;
        let now = finished();
        let mut pdf = tokio::fs::File::open(output.path())
            .await
            .map_err(|e| io_failed(output.path(), &e))?;
        let blob = self.store(&mut pdf, "application/pdf", now).await?;
        drop(output);
        let sha256 = blob
            .sha256
            .parse()
            .map_err(|_| Error::Task(format!("stored digest {} is not hex", blob.sha256)))?;
        let text = digitized.text();
        let summary = OcrSummary {
            pages: digitized.page_count,
            mean_confidence: mean_confidence(&digitized),
            characters: text.chars().count(),
        };
        let metadata = target.metadata.clone().or(metadata_from_ocr(&digitized));
        let version = self
            .archive
            .add_version(
                &NewVersion {
                    document_id: target.document_id,
                    parent_version: target.parent_version,
                    kind: VersionKind::Ocr,
                    sha256,
                    file_name: None,
                    metadata: Some(metadata),
                    ocr: Some(OcrText {
                        text,
                        confidence: summary.mean_confidence,
                    }),
                    actor: target.actor.clone(),
                    reason: format!(
                        "số hóa: nhận dạng ký tự {} trang (OCR, {} pages)",
                        summary.pages, summary.pages
                    ),
                },
                now,
            )
            .await?;
        Ok((version, summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_signature_mark_is_seen_across_reads() {
        use tokio::io::AsyncReadExt;
        for (content, split, expected) in [
            (&b"%PDF-1.7 ... /ByteRange [0 10 20 30]"[..], 14usize, true),
            (b"%PDF-1.7 ... /ByteRange [0 10 20 30]", 17, true),
            (b"%PDF-1.7 ... /Byte Range", 15, false),
            (b"no mark here", 3, false),
        ] {
            let (first, second) = content.split_at(split);
            let reader = tokio::io::AsyncReadExt::chain(first, second);
            let mut probe = SignatureProbe {
                inner: reader,
                found: false,
                tail: Vec::new(),
            };
            let mut sink = Vec::new();
            probe.read_to_end(&mut sink).await.unwrap();
            assert_eq!(sink, content);
            assert_eq!(probe.found, expected, "{split}");
        }
    }

    #[test]
    fn media_types_come_from_content_first() {
        assert_eq!(sniff_media_type(b"%PDF-1.7", "x.png"), "application/pdf");
        assert_eq!(sniff_media_type(b"\x89PNG\r\n\x1a\n", "x"), "image/png");
        assert_eq!(sniff_media_type(b"II*\0abcd", "scan"), "image/tiff");
        assert_eq!(sniff_media_type(b"\xff\xd8\xff\xe0", "a.pdf"), "image/jpeg");
        assert_eq!(sniff_media_type(b"<?xml", "to-khai.XML"), "application/xml");
        assert_eq!(sniff_media_type(b"", "x"), "application/octet-stream");
    }
}

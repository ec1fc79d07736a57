//! Document operations that the API, the pages and the CLI share beyond one archive call:
//! receiving a batch of uploaded files, and editing a document's metadata.
//!
//! Receiving ([`Pipeline::receive_files`]):
//! 1. what applies to the whole batch is checked before anything is stored: the dossier
//!    exists, the official asked to sign is an active official (and only results are
//!    signed);
//! 2. each file goes through [`Pipeline::ingest`] (stored, deduplicated, signed PDFs
//!    verified) without OCR; one file failing does not stop the others, and ingest never
//!    leaves a file half stored;
//! 3. with OCR, each stored scan gets a background job ([`Pipeline::start_ocr_job`]) whose
//!    result lands as the document's next version; what OCR must not touch (a signed PDF,
//!    a document already recognized) is said in the outcome's `ocr_skipped`;
//! 4. with an official named, each stored result gets a signature request.
//!
//! Editing metadata ([`Pipeline::edit_metadata`]) adds a `metadata` version over the same
//! content, refused when the document moved past the version the editor saw.

use std::path::PathBuf;
use std::sync::Arc;

use time::OffsetDateTime;

use super::Pipeline;
use super::ingest::{IngestOutcome, IngestRequest, is_scan};
use crate::archive::ArchiveError;
use crate::archive::accounts::{Role, SignRequest, User};
use crate::archive::codes::DossierCode;
use crate::archive::documents::{
    DocumentMetadata, DocumentRole, NewVersion, StoredVersion, VersionKind,
};
use crate::archive::jobs::Job;
use crate::error::{Coded, Error, Result};
use crate::ocr::OcrError;

/// One received file: a temporary file the caller owns until the call returns.
#[derive(Debug, Clone)]
pub struct ReceivedFile {
    pub path: PathBuf,
    /// The name to show (cleaned again by ingest).
    pub file_name: String,
}

/// What applies to every file of one upload.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub dossier: Option<DossierCode>,
    pub role: DocumentRole,
    pub metadata: DocumentMetadata,
    /// Recognize stored scans in background jobs.
    pub ocr: bool,
    /// The username of the official asked to sign (results only).
    pub assign_to: Option<String>,
    pub actor: String,
}

/// A file that was not stored, and why.
#[derive(Debug)]
pub struct FileFailure {
    pub file: String,
    pub error: Error,
}

/// What became of an upload.
#[derive(Debug, Default)]
pub struct Received {
    /// The stored (or already stored) documents, in upload order.
    pub documents: Vec<IngestOutcome>,
    /// The OCR jobs started, one per recognized document.
    pub jobs: Vec<Job>,
    /// The signature requests made (or already open).
    pub sign_requests: Vec<SignRequest>,
    /// Files not stored, and stored files whose signature request could not be made.
    pub failed: Vec<FileFailure>,
}

impl Pipeline {
    /// The active official called `username`, for a signature request.
    ///
    /// # Errors
    /// [`ArchiveError::UserNotFound`], [`ArchiveError::UserDisabled`],
    /// [`ArchiveError::FieldInvalid`] for a user who is not an official, database failure.
    pub async fn official(&self, username: &str) -> Result<User> {
        let (user, _) = self.archive.user_by_name(username).await?.ok_or_else(|| {
            ArchiveError::UserNotFound {
                user: username.chars().take(64).collect(),
            }
        })?;
        if user.role != Role::Official {
            return Err(Error::Archive(ArchiveError::FieldInvalid {
                field: "official",
                value: user.username,
                reason: format!("is a {}, not an official", user.role.as_str()),
            }));
        }
        if user.disabled {
            return Err(Error::Archive(ArchiveError::UserDisabled {
                username: user.username,
            }));
        }
        Ok(user)
    }

    /// Receives `files` into the archive (module documentation); `now` is recorded for
    /// every version, job and audit entry.
    ///
    /// # Errors
    /// Only what concerns the whole batch, before anything is stored: `dossier-not-found`,
    /// `user-not-found`, `user-disabled`, `field-invalid` (an official asked to sign what is
    /// not a result, or a user who is not an official), database failure. Each file's own
    /// failure is in [`Received::failed`].
    pub async fn receive_files(
        self: &Arc<Self>,
        files: &[ReceivedFile],
        receipt: &Receipt,
        now: OffsetDateTime,
    ) -> Result<Received> {
        if let Some(code) = &receipt.dossier {
            self.archive.dossier(code).await?;
        }
        let official = match &receipt.assign_to {
            Some(username) => {
                if receipt.role != DocumentRole::Result {
                    return Err(Error::Archive(ArchiveError::FieldInvalid {
                        field: "assign_to",
                        value: username.clone(),
                        reason: format!(
                            "only results are sent for signature, not {} documents",
                            receipt.role.as_str()
                        ),
                    }));
                }
                Some(self.official(username).await?)
            }
            None => None,
        };
        let mut received = Received::default();
        for file in files {
            // Said here with the client's name: ingest's message would name the temporary
            // file.
            let empty = tokio::fs::metadata(&file.path)
                .await
                .is_ok_and(|m| m.len() == 0);
            if empty {
                received.failed.push(FileFailure {
                    file: file.file_name.clone(),
                    error: Error::Ocr(OcrError::Unreadable {
                        file: file.file_name.clone(),
                        reason: "the file is empty".to_owned(),
                    }),
                });
                continue;
            }
            let request = IngestRequest {
                path: file.path.clone(),
                file_name: Some(file.file_name.clone()),
                dossier: receipt.dossier.clone(),
                role: receipt.role,
                metadata: receipt.metadata.clone(),
                ocr: false,
                offline: false,
                actor: receipt.actor.clone(),
            };
            let mut outcome = match self.ingest(request, now).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    received.failed.push(FileFailure {
                        file: file.file_name.clone(),
                        error,
                    });
                    continue;
                }
            };
            if receipt.ocr && is_scan(&outcome.media_type) {
                match self.start_ocr_job(outcome.id, &receipt.actor, now).await {
                    Ok(job) => received.jobs.push(job),
                    Err(error) => {
                        // Stored all the same; the clerk sees why it was not recognized.
                        if !matches!(error, Error::Archive(ArchiveError::OcrNotApplicable { .. })) {
                            tracing::warn!(
                                document = outcome.id,
                                code = error.code(),
                                "OCR job not started: {error}"
                            );
                        }
                        outcome.ocr_skipped = Some(format!("{} ({error})", error.message_vi()));
                    }
                }
            }
            if let Some(official) = &official {
                match self
                    .archive
                    .request_signature(outcome.id, official.user_id, None, &receipt.actor, now)
                    .await
                {
                    Ok(request) => received.sign_requests.push(request),
                    Err(error) => received.failed.push(FileFailure {
                        file: file.file_name.clone(),
                        error: error.into(),
                    }),
                }
            }
            received.documents.push(outcome);
        }
        Ok(received)
    }

    /// Adds a `metadata` version to `document_id`: its newest metadata changed by the JSON
    /// object `patch` (see `DocumentMetadata::patched`: `null` clears a field), over the
    /// same content. With `expected_version`, refused unless that is still the newest
    /// version (someone else changed the document meanwhile).
    ///
    /// # Errors
    /// `document-not-found`, `version-conflict`, `metadata-invalid`, `field-invalid`
    /// (reason, actor), database failure; nothing is written then.
    pub async fn edit_metadata(
        &self,
        document_id: i64,
        expected_version: Option<i64>,
        patch: &str,
        reason: &str,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<StoredVersion> {
        let record = self.archive.document(document_id).await?;
        let latest = record
            .latest()
            .ok_or_else(|| Error::Task(format!("document {document_id} has no version")))?;
        if let Some(expected) = expected_version
            && expected != latest.version
        {
            return Err(Error::Archive(ArchiveError::VersionConflict {
                document_id,
                expected,
                latest: latest.version,
            }));
        }
        let changed = latest.metadata.patched(patch)?;
        let stored = self
            .archive
            .add_version(
                &NewVersion {
                    document_id,
                    parent_version: latest.version,
                    kind: VersionKind::Metadata,
                    sha256: latest.sha256.parse().map_err(|_| {
                        Error::Task(format!("stored digest {} is not hex", latest.sha256))
                    })?,
                    file_name: None,
                    metadata: Some(changed),
                    ocr: None,
                    actor: actor.to_owned(),
                    reason: reason.to_owned(),
                },
                now,
            )
            .await?;
        Ok(stored)
    }
}

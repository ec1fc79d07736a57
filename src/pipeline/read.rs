//! Reading stored versions back: to a file (`hoso document get`, downloads) and for
//! re-verification. The bytes are checked against their name while they stream, so a
//! damaged copy is never handed out as the document; a missing or damaged blob is an error
//! for the reader and an audit event for the archivist.

use std::path::Path;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Pipeline;
use crate::archive::ArchiveError;
use crate::archive::documents::Version;
use crate::digest::{Sha256Digest, Sha256Hasher};
use crate::error::{Error, Result};
use crate::verify::{Policy, Report, VerifyOptions, verify_pdf};

fn write_failed(path: &Path, e: std::io::Error) -> Error {
    Error::Archive(ArchiveError::BlobIo {
        path: path.to_owned(),
        source: e,
    })
}

impl Pipeline {
    /// Streams `version`'s content into `file`, checking its SHA-256 on the way.
    async fn copy_checked(
        &self,
        version: &Version,
        durable: bool,
        file: &std::fs::File,
        path: &Path,
    ) -> Result<()> {
        let sha256: Sha256Digest = version
            .sha256
            .parse()
            .map_err(|_| Error::Task(format!("stored digest {} is not hex", version.sha256)))?;
        let mut reader = self.blobs.open(&sha256).await?;
        let mut out =
            tokio::fs::File::from_std(file.try_clone().map_err(|e| write_failed(path, e))?);
        let mut hasher = Sha256Hasher::new();
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buffer).await.map_err(|e| {
                Error::Archive(ArchiveError::BlobIo {
                    path: path.to_owned(),
                    source: e,
                })
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n])
                .await
                .map_err(|e| write_failed(path, e))?;
        }
        out.flush().await.map_err(|e| write_failed(path, e))?;
        if durable {
            out.sync_all().await.map_err(|e| write_failed(path, e))?;
        }
        let found = hasher.finish();
        if found != sha256 {
            return Err(Error::Archive(ArchiveError::BlobDamaged {
                sha256,
                reason: format!("content now hashes to {found}"),
            }));
        }
        Ok(())
    }

    /// A private copy of `version`'s content in a temporary file (removed when dropped), for
    /// steps that need a file: nobody else can change or truncate it while it is read.
    pub(super) async fn stage(&self, version: &Version) -> Result<tempfile::NamedTempFile> {
        let temp = tempfile::Builder::new()
            .prefix(".hoso-stage-")
            .tempfile()
            .map_err(|e| write_failed(Path::new("."), e))?;
        // A private temporary copy: no fsync, it never outlives the process.
        self.copy_checked(version, false, temp.as_file(), temp.path())
            .await?;
        Ok(temp)
    }

    /// Records an unreadable blob in the audit trail, then hands the error back.
    async fn unreadable(
        &self,
        version: &Version,
        actor: &str,
        error: Error,
        now: OffsetDateTime,
    ) -> Error {
        if let Error::Archive(
            problem @ (ArchiveError::BlobNotFound { .. } | ArchiveError::BlobDamaged { .. }),
        ) = &error
            && let Err(e) = self
                .archive
                .record_missing_blob(version, actor, problem, now)
                .await
        {
            tracing::error!("cannot record the unreadable blob in the audit trail: {e}");
        }
        error
    }

    /// Writes `version`'s content to `output`, which must not exist; written to a temporary
    /// file beside it and renamed when complete and checked.
    ///
    /// # Errors
    /// `output` exists or cannot be written; the content is missing or damaged in the store
    /// (recorded in the audit trail).
    pub async fn copy_version_to(
        &self,
        version: &Version,
        output: &Path,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let directory = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if output.exists() {
            return Err(write_failed(
                output,
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the output file exists"),
            ));
        }
        let temp = tempfile::Builder::new()
            .prefix(".hoso-get-")
            .suffix(".part")
            .tempfile_in(directory)
            .map_err(|e| write_failed(output, e))?;
        if let Err(e) = self
            .copy_checked(version, true, temp.as_file(), temp.path())
            .await
        {
            return Err(self.unreadable(version, actor, e, now).await);
        }
        temp.persist_noclobber(output)
            .map_err(|e| write_failed(output, e.error))?;
        Ok(())
    }

    /// Verifies the signatures of a stored version again (at `now`, with today's revocation
    /// data unless `offline`) and stores the new report beside the earlier ones.
    ///
    /// # Errors
    /// The content missing or damaged; the version not a readable PDF; database failure.
    pub async fn reverify(
        self: &Arc<Self>,
        version: &Version,
        offline: bool,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Report> {
        let temp = tempfile::Builder::new()
            .prefix(".hoso-verify-")
            .tempfile()
            .map_err(|e| write_failed(Path::new("."), e))?;
        if let Err(e) = self
            .copy_checked(version, false, temp.as_file(), temp.path())
            .await
        {
            return Err(self.unreadable(version, actor, e, now).await);
        }
        let trust = self.trust()?;
        let name = version.file_name.clone();
        let path = temp.path().to_owned();
        let report = self
            .run_blocking(move || {
                let file = std::fs::File::open(&path).map_err(|e| write_failed(&path, e))?;
                let bytes = crate::verify::map_file(&file).map_err(|e| write_failed(&path, e))?;
                let options = VerifyOptions {
                    trust: &trust,
                    at: now,
                    offline,
                    policy: Policy::Strict,
                    supplied: crate::verify::status::EvidencePool::default(),
                };
                verify_pdf(&bytes, &name, &options).map_err(|e| {
                    Error::Archive(ArchiveError::FieldInvalid {
                        field: "document",
                        value: name.clone(),
                        reason: format!("cannot be verified: {e}"),
                    })
                })
            })
            .await?;
        drop(temp);
        self.archive
            .record_verification(version.version_id, &report, actor, now)
            .await?;
        Ok(report)
    }
}

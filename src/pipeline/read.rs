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

/// A stored version's content as it streams out of the blob store
/// ([`Pipeline::open_version_stream`]): the recorded size is read, hashed on the way; the
/// read that brings the last bytes checks the digest before handing them out, so damaged
/// content ends in an error instead of its last bytes, and a reader never receives a whole
/// damaged file that looks complete. (A store copy longer than recorded whose first bytes
/// are the content is served correctly; `hoso fixity` reports it.)
pub struct VersionReader {
    inner: tokio::io::Take<crate::archive::blob::BlobReader>,
    hasher: Option<Sha256Hasher>,
    expected: Sha256Digest,
    size: u64,
    read: u64,
    /// Who is told of damage: the audit trail, once.
    report: Option<DamageReport>,
}

struct DamageReport {
    pipeline: Arc<Pipeline>,
    version: Version,
    actor: String,
    now: OffsetDateTime,
}

impl VersionReader {
    /// The error for damaged content, recorded in the audit trail (in a task of its own: a
    /// read cannot wait for the database).
    fn damaged(&mut self, reason: String) -> std::io::Error {
        let problem = ArchiveError::BlobDamaged {
            sha256: self.expected,
            reason: reason.clone(),
        };
        tracing::error!(sha256 = %self.expected, "damaged content found while streaming: {reason}");
        if let Some(report) = self.report.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let DamageReport {
                    pipeline,
                    version,
                    actor,
                    now,
                } = report;
                if let Err(e) = pipeline
                    .archive
                    .record_missing_blob(&version, &actor, &problem, now)
                    .await
                {
                    tracing::error!("cannot record the damaged blob in the audit trail: {e}");
                }
            });
        }
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("stored content {} is damaged: {reason}", self.expected),
        )
    }
}

impl tokio::io::AsyncRead for VersionReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        let this = &mut *self;
        let Some(hasher) = this.hasher.as_mut() else {
            // Finished (checked), or failed: nothing more.
            return Poll::Ready(Ok(()));
        };
        let before = buf.filled().len();
        match std::pin::Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => {
                this.hasher = None;
                return Poll::Ready(Err(e));
            }
            Poll::Ready(Ok(())) => {}
        }
        let fresh = &buf.filled()[before..];
        hasher.update(fresh);
        this.read += fresh.len() as u64;
        let ended = fresh.is_empty();
        if ended && this.read < this.size {
            this.hasher = None;
            let reason = format!("{} of {} bytes", this.read, this.size);
            return Poll::Ready(Err(this.damaged(reason)));
        }
        if this.read == this.size {
            let found = this.hasher.take().map(Sha256Hasher::finish);
            if found != Some(this.expected) {
                buf.set_filled(before);
                let reason = format!(
                    "content now hashes to {}",
                    found.map(|f| f.to_hex()).unwrap_or_default()
                );
                return Poll::Ready(Err(this.damaged(reason)));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl Pipeline {
    /// Opens `version`'s content for streaming out (downloads): the bytes are checked
    /// against the version's SHA-256 and size while they pass (see [`VersionReader`]); a
    /// mismatch is an I/O error at the end of the stream and an audit entry
    /// (`blob.unreadable`). Confidential reads are audited by the caller through
    /// `Archive::open_version`, as for `hoso document get`.
    ///
    /// # Errors
    /// The content missing from the store (recorded in the audit trail), the stored digest
    /// unreadable.
    pub async fn open_version_stream(
        self: &Arc<Self>,
        version: &Version,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<VersionReader> {
        let sha256: Sha256Digest = version
            .sha256
            .parse()
            .map_err(|_| Error::Task(format!("stored digest {} is not hex", version.sha256)))?;
        let size = u64::try_from(version.size_bytes)
            .map_err(|_| Error::Task(format!("stored size {} is negative", version.size_bytes)))?;
        let reader = match self.blobs.open(&sha256).await {
            Ok(reader) => reader,
            Err(e) => return Err(self.unreadable(version, actor, e.into(), now).await),
        };
        Ok(VersionReader {
            inner: reader.take(size),
            hasher: Some(Sha256Hasher::new()),
            expected: sha256,
            size,
            read: 0,
            report: Some(DamageReport {
                pipeline: self.clone(),
                version: version.clone(),
                actor: actor.to_owned(),
                now,
            }),
        })
    }
}

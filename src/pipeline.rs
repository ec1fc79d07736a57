//! Pipeline: the one place where async code meets blocking work.
//!
//! Flow of a document (filled in by issues #3–#6):
//! 1. an upload streams into the blob store (`store`), never held whole in memory;
//! 2. CPU-bound stages (OCR, PDF building, signing, verification) run on blocking threads
//!    through [`Pipeline::run_blocking`], at most `jobs` at once;
//! 3. results are new blobs, recorded in the archive.
//!
//! HTTP handlers, CLI commands and the inbox watcher all call these functions, so every entry
//! point gets the same limits and the same bookkeeping.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::io::AsyncRead;
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::archive::blob::{BlobStore, LocalBlobStore};
use crate::archive::{Archive, BlobRecord};
use crate::config::Config;
use crate::error::{Error, Result};

/// Shared handles of a running hoso: the archive, the blob store and the CPU budget.
pub struct Pipeline {
    archive: Archive,
    blobs: Arc<dyn BlobStore>,
    cpu_permits: Arc<Semaphore>,
}

/// Outcome of each readiness check; `None` means healthy.
#[derive(Debug)]
pub struct Readiness {
    pub database: Option<Error>,
    pub blob_store: Option<Error>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.database.is_none() && self.blob_store.is_none()
    }
}

impl Pipeline {
    /// Opens the archive (applying migrations) and the local blob store from `config`.
    ///
    /// # Errors
    /// Database unreachable, migrations failing, or the data folder not writable.
    pub async fn open(config: &Config) -> Result<Self> {
        let archive = Archive::connect(&config.database).await?;
        let blobs = LocalBlobStore::open(config.blob_dir())?;
        Ok(Self::new(archive, Arc::new(blobs), config.jobs))
    }

    /// Assembles a pipeline from parts (tests use this with their own database).
    pub fn new(archive: Archive, blobs: Arc<dyn BlobStore>, jobs: usize) -> Self {
        Self {
            archive,
            blobs,
            cpu_permits: Arc::new(Semaphore::new(jobs.max(1))),
        }
    }

    pub fn archive(&self) -> &Archive {
        &self.archive
    }

    pub fn blobs(&self) -> &dyn BlobStore {
        self.blobs.as_ref()
    }

    /// Streams `body` into the blob store and records it in the archive. Storing the same
    /// content twice returns the first record.
    ///
    /// # Errors
    /// Storage or database failures; the upload breaking off midway.
    pub async fn store(
        &self,
        body: &mut (dyn AsyncRead + Send + Unpin),
        media_type: &str,
        now: OffsetDateTime,
    ) -> Result<BlobRecord> {
        let stored = self.blobs.put(body).await?;
        let record = self
            .archive
            .record_blob(&stored.sha256, stored.size_bytes, media_type, now)
            .await?;
        Ok(record)
    }

    /// Runs CPU-bound or blocking `work` on a blocking thread, waiting for one of the `jobs`
    /// permits first so that a burst of requests queues instead of oversubscribing the cores.
    /// The caller's tracing span (with its request id) follows the work.
    ///
    /// # Errors
    /// The work's own error, or [`Error::Task`] if it panicked.
    pub async fn run_blocking<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce() -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .cpu_permits
            .acquire()
            .await
            .map_err(|_| Error::Task("the CPU job limiter is closed".to_owned()))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .instrument(tracing::Span::current())
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    /// Checks the database and the blob store, for `/readyz`.
    pub async fn readiness(&self) -> Readiness {
        let (database, blob_store) = tokio::join!(self.archive.ping(), self.blobs.check_writable());
        Readiness {
            database: database.err().map(Error::from),
            blob_store: blob_store.err().map(Error::from),
        }
    }

    /// Waits for database connections to be returned and closes them.
    pub async fn close(&self) {
        self.archive.close().await;
    }
}

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

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use tokio::io::AsyncRead;
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::archive::blob::{BlobStore, LocalBlobStore};
use crate::archive::{Archive, BlobRecord};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ocr::{EnginePool, Languages};
use crate::trust::TrustStore;

pub mod documents;
pub mod inbox;
pub mod ingest;
pub mod jobs;
pub mod preserve;
pub mod preview;
mod read;
pub mod sign;
pub mod trust_admin;
pub mod verify;

pub use read::VersionReader;

/// Shared handles of a running hoso: the archive, the blob store and the CPU budget.
pub struct Pipeline {
    archive: Archive,
    blobs: Arc<dyn BlobStore>,
    cpu_permits: Arc<Semaphore>,
    jobs: usize,
    /// Tesseract engines, created on first use and reused by every OCR job.
    engines: Arc<EnginePool>,
    trust_dirs: Vec<PathBuf>,
    /// The trust folder administrators change through the service (`trust_admin`), read
    /// after `trust_dirs` when it exists; `{data_dir}/trust` in a configured service.
    managed_trust_dir: Option<PathBuf>,
    /// The trust store, loaded on first use (a signed upload) and kept.
    trust: Mutex<Option<Arc<TrustStore>>>,
    /// The configuration the pipeline was opened with (`None` when assembled from parts).
    config: Option<Config>,
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
        let mut pipeline = Self::new(archive, Arc::new(blobs), config.jobs)
            .with_ocr_languages(config.ocr_languages.clone())
            .with_trust_dirs(config.trust_dirs.clone())
            .with_managed_trust_dir(config.data_dir.join("trust"));
        pipeline.config = Some(config.clone());
        Ok(pipeline)
    }

    /// Assembles a pipeline from parts (tests use this with their own database); OCR in the
    /// default languages, no trust anchors until [`Pipeline::with_trust_dirs`].
    pub fn new(archive: Archive, blobs: Arc<dyn BlobStore>, jobs: usize) -> Self {
        Self {
            archive,
            blobs,
            cpu_permits: Arc::new(Semaphore::new(jobs.max(1))),
            jobs: jobs.max(1),
            engines: Arc::new(EnginePool::new(Languages::default())),
            trust_dirs: Vec::new(),
            managed_trust_dir: None,
            trust: Mutex::new(None),
            config: None,
        }
    }

    /// OCR in `languages` (e.g. `vie+eng`).
    #[must_use]
    pub fn with_ocr_languages(mut self, languages: Languages) -> Self {
        self.engines = Arc::new(EnginePool::new(languages));
        self
    }

    /// Trust anchors for verifying signed uploads, loaded from `dirs` when first needed.
    #[must_use]
    pub fn with_trust_dirs(mut self, dirs: Vec<PathBuf>) -> Self {
        self.trust_dirs = dirs;
        self
    }

    /// How many CPU-bound jobs run at once.
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    pub fn engines(&self) -> &Arc<EnginePool> {
        &self.engines
    }

    /// The configuration this pipeline was opened with ([`Pipeline::open`]); `None` when it
    /// was assembled from parts.
    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref()
    }

    /// The trust store (the trust folders, then the managed folder when it exists), loaded
    /// once and kept until [`Pipeline::reload_trust`].
    ///
    /// # Errors
    /// A trust folder that cannot be read, or a certificate in it that does not parse.
    pub fn trust(&self) -> Result<Arc<TrustStore>> {
        let mut slot = self
            .trust
            .lock()
            .map_err(|_| Error::Task("trust store lock poisoned".to_owned()))?;
        if let Some(store) = slot.as_ref() {
            return Ok(store.clone());
        }
        let mut dirs = self.trust_dirs.clone();
        dirs.extend(
            self.managed_trust_dir
                .clone()
                .filter(|dir| dir.is_dir() && !self.trust_dirs.contains(dir)),
        );
        let loaded = TrustStore::load(&dirs);
        crate::trust::clear_openssl_errors();
        let store = Arc::new(loaded?);
        *slot = Some(store.clone());
        Ok(store)
    }

    /// Forgets the loaded trust store: the next [`Pipeline::trust`] reads the folders again
    /// (after an anchor was added to or removed from the managed folder). Work already
    /// holding the old store finishes with it.
    pub fn reload_trust(&self) {
        *self.trust.lock().unwrap_or_else(|e| e.into_inner()) = None;
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
        tokio::task::spawn_blocking(move || {
            let result = span.in_scope(work);
            crate::trust::clear_openssl_errors();
            result
        })
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

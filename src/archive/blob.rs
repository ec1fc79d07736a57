//! Content-addressed blob store: bytes named by their SHA-256.
//!
//! Rules every backend keeps:
//! - a blob is written in full before it becomes visible under its name (no reader ever sees
//!   half a file), and it is durable when `put` returns;
//! - a name, once written, is never overwritten: the same content is stored once
//!   (deduplicated), and nothing can replace it with other bytes;
//! - uploads stream through; memory use does not grow with the size of the content.
//!
//! [`LocalBlobStore`] keeps blobs on a local disk. An S3-compatible backend for several
//! replicas implements the same [`BlobStore`] trait.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::ArchiveError;
use crate::digest::{Sha256Digest, Sha256Hasher};

/// What `put` stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBlob {
    pub sha256: Sha256Digest,
    pub size_bytes: u64,
    /// False when identical content was already stored (deduplicated).
    pub newly_stored: bool,
}

/// A readable blob.
pub type BlobReader = Box<dyn AsyncRead + Send + Unpin>;

/// A blob to read from blocking code (a `spawn_blocking` thread), never from async code.
pub type BlockingBlobReader = Box<dyn std::io::Read + Send>;

/// Opens blobs on blocking threads; it holds what it needs, so long-lived worker threads can
/// keep it without borrowing the store.
pub type BlockingOpener =
    Arc<dyn Fn(&Sha256Digest) -> Result<BlockingBlobReader, ArchiveError> + Send + Sync>;

/// Storage for immutable content named by SHA-256.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Streams `body` into the store and returns its digest and size.
    async fn put(
        &self,
        body: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<StoredBlob, ArchiveError>;

    /// Opens a stored blob for reading.
    async fn open(&self, sha256: &Sha256Digest) -> Result<BlobReader, ArchiveError>;

    /// How to open blobs directly on blocking threads, for work that reads many of them there
    /// and spends CPU on every byte (fixity re-hashing), when the store can: the local store
    /// opens plain files, with no hand-over to the async runtime per blob or per read. `None`
    /// (the default): blobs are read through [`BlobStore::open`].
    fn blocking_opener(&self) -> Option<BlockingOpener> {
        None
    }

    /// Whether the store holds `sha256`.
    async fn contains(&self, sha256: &Sha256Digest) -> Result<bool, ArchiveError>;

    /// Proves the store accepts writes right now (readiness check).
    async fn check_writable(&self) -> Result<(), ArchiveError>;

    /// Up to `limit` objects of the store whose keys come after `start_after` (from the first
    /// when `None`), in key order; an empty page is the end. Every object is listed, not only
    /// blobs, so that fixity checks see whatever else was put there (archive.md §5.1).
    /// Paging by key keeps memory bounded for any store size, as S3's `ListObjectsV2` with
    /// `start-after` does.
    async fn list(
        &self,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ListedObject>, ArchiveError>;
}

/// An object found by [`BlobStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Where it is in the store (`ab/cd/abcd…` for a blob); pass it as `start_after` to list
    /// what follows.
    pub key: String,
    /// The blob it holds when the key is a blob's own name (the key [`blob_key`] gives);
    /// `None` for anything else (a name that is not a digest, a blob filed under another
    /// folder), which [`BlobStore::open`] would never find.
    pub sha256: Option<Sha256Digest>,
}

/// The key of the blob named `sha256`: `ab/cd/abcd…` (two levels of 256 folders, so no
/// folder grows past a few thousand entries at millions of blobs).
pub fn blob_key(sha256: &Sha256Digest) -> String {
    let hex = sha256.to_hex();
    format!("{}/{}/{hex}", &hex[0..2], &hex[2..4])
}

/// The blob a key names, if it is exactly a blob's key.
fn blob_of_key(key: &str) -> Option<Sha256Digest> {
    let name = key.rsplit('/').next()?;
    let sha256: Sha256Digest = name.parse().ok()?;
    (blob_key(&sha256) == key).then_some(sha256)
}

/// Blobs as read-only files under `root/sha256/ab/cd/abcd…`, written through `root/tmp/`.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

/// Leftover temporary files older than this are from a crashed writer and are removed at
/// start; younger ones may belong to another process (a CLI ingest beside the server).
const STALE_TEMP_AGE: Duration = Duration::from_secs(24 * 3600);

const COPY_BUFFER: usize = 256 * 1024;

impl LocalBlobStore {
    /// Opens (creating when needed) a store rooted at `root`.
    ///
    /// # Errors
    /// [`ArchiveError::DataDir`] when the folders cannot be created.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, ArchiveError> {
        let store = Self { root: root.into() };
        for dir in [store.objects_dir(), store.tmp_dir()] {
            std::fs::create_dir_all(&dir).map_err(|source| ArchiveError::DataDir {
                path: dir.clone(),
                source,
            })?;
        }
        store.remove_stale_temp_files();
        Ok(store)
    }

    /// Where the blob named `sha256` lives (whether or not it exists).
    pub fn path_of(&self, sha256: &Sha256Digest) -> PathBuf {
        self.objects_dir().join(blob_key(sha256))
    }

    fn objects_dir(&self) -> PathBuf {
        self.root.join("sha256")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn remove_stale_temp_files(&self) {
        let Ok(entries) = std::fs::read_dir(self.tmp_dir()) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| now.duration_since(modified).ok());
            if age.is_some_and(|age| age > STALE_TEMP_AGE) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Deletes the temporary file unless it was published: every early return and every `?`
/// cleans up after itself.
struct TempFile {
    path: PathBuf,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A blob that is not there is not found; any other failure to open it is an I/O error.
fn open_error(sha256: &Sha256Digest, path: PathBuf, error: std::io::Error) -> ArchiveError {
    if error.kind() == ErrorKind::NotFound {
        ArchiveError::BlobNotFound { sha256: *sha256 }
    } else {
        ArchiveError::BlobIo {
            path,
            source: error,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::BlobIo {
        path: path.to_owned(),
        source,
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(
        &self,
        body: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<StoredBlob, ArchiveError> {
        let temp = TempFile {
            path: self
                .tmp_dir()
                .join(format!("{}.part", uuid::Uuid::new_v4())),
        };
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp.path)
            .await
            .map_err(io_error(&temp.path))?;
        let mut hasher = Sha256Hasher::new();
        let mut size_bytes = 0u64;
        let mut buffer = vec![0u8; COPY_BUFFER];
        loop {
            let n = body.read(&mut buffer).await.map_err(ArchiveError::Upload)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            file.write_all(&buffer[..n])
                .await
                .map_err(io_error(&temp.path))?;
            size_bytes += n as u64;
        }
        file.flush().await.map_err(io_error(&temp.path))?;
        // Durable before visible: the data reaches the disk before the name points at it.
        file.sync_all().await.map_err(io_error(&temp.path))?;
        drop(file);
        let sha256 = hasher.finish();
        let target = self.path_of(&sha256);
        let newly_stored = tokio::task::spawn_blocking(move || publish(&temp, &target))
            .await
            .map_err(|e| ArchiveError::BlobIo {
                path: PathBuf::new(),
                source: std::io::Error::other(e),
            })??;
        if !newly_stored {
            let existing = tokio::fs::metadata(self.path_of(&sha256))
                .await
                .map_err(io_error(&self.path_of(&sha256)))?;
            if existing.len() != size_bytes {
                return Err(ArchiveError::BlobDamaged {
                    sha256,
                    reason: format!(
                        "stored size {} differs from content size {size_bytes}",
                        existing.len()
                    ),
                });
            }
        }
        Ok(StoredBlob {
            sha256,
            size_bytes,
            newly_stored,
        })
    }

    async fn open(&self, sha256: &Sha256Digest) -> Result<BlobReader, ArchiveError> {
        let path = self.path_of(sha256);
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(Box::new(file)),
            Err(e) => Err(open_error(sha256, path, e)),
        }
    }

    fn blocking_opener(&self) -> Option<BlockingOpener> {
        let store = self.clone();
        Some(Arc::new(move |sha256: &Sha256Digest| {
            let path = store.path_of(sha256);
            match std::fs::File::open(&path) {
                Ok(file) => Ok(Box::new(file) as BlockingBlobReader),
                Err(e) => Err(open_error(sha256, path, e)),
            }
        }))
    }

    async fn contains(&self, sha256: &Sha256Digest) -> Result<bool, ArchiveError> {
        let path = self.path_of(sha256);
        tokio::fs::try_exists(&path).await.map_err(io_error(&path))
    }

    async fn check_writable(&self) -> Result<(), ArchiveError> {
        let probe = TempFile {
            path: self
                .tmp_dir()
                .join(format!("ready-{}.probe", uuid::Uuid::new_v4())),
        };
        let mut file = tokio::fs::File::create(&probe.path)
            .await
            .map_err(io_error(&probe.path))?;
        file.write_all(b"ok").await.map_err(io_error(&probe.path))?;
        file.sync_all().await.map_err(io_error(&probe.path))?;
        Ok(())
    }

    async fn list(
        &self,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ListedObject>, ArchiveError> {
        let objects = self.objects_dir();
        let after: Option<Vec<String>> =
            start_after.map(|key| key.split('/').map(str::to_owned).collect());
        tokio::task::spawn_blocking(move || {
            let mut listed = Vec::new();
            list_dir(&objects, "", after.as_deref(), limit, &mut listed)?;
            Ok(listed)
        })
        .await
        .map_err(|e| ArchiveError::BlobIo {
            path: PathBuf::new(),
            source: std::io::Error::other(e),
        })?
    }
}

/// Appends to `listed` the files under `dir` (whose key is `prefix`), depth first with each
/// folder's entries in name order, skipping every key up to and including `after` (given as
/// the components left below `dir`), until `listed` holds `limit`. Keys therefore come in the
/// order of their components, which for blobs is the order of their digests. Symbolic links
/// are listed as they are, never followed.
fn list_dir(
    dir: &Path,
    prefix: &str,
    after: Option<&[String]>,
    limit: usize,
    listed: &mut Vec<ListedObject>,
) -> Result<(), ArchiveError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // A folder that is not there holds nothing (the whole area, when the disk is gone:
        // the blobs then show up as missing, not as an error here).
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(ArchiveError::BlobIo {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut children = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let file_type = entry.file_type().map_err(io_error(&entry.path()))?;
        // Keys are text; a name that is not UTF-8 is listed by its lossy form.
        let name = entry.file_name().to_string_lossy().into_owned();
        children.push((name, file_type.is_dir(), entry.path()));
    }
    children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (name, is_dir, path) in children {
        if listed.len() >= limit {
            break;
        }
        let below = match after {
            Some([first, rest @ ..]) => match name.cmp(first) {
                std::cmp::Ordering::Less => continue,
                // The folder holding the last key listed: resume inside it.
                std::cmp::Ordering::Equal if is_dir && !rest.is_empty() => Some(rest),
                // The last key listed itself (or, if it was a file, what took its name since).
                std::cmp::Ordering::Equal if !is_dir => continue,
                _ => None,
            },
            _ => None,
        };
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if is_dir {
            list_dir(&path, &key, below, limit, listed)?;
        } else {
            let sha256 = blob_of_key(&key);
            listed.push(ListedObject { key, sha256 });
        }
    }
    Ok(())
}

/// Gives the finished temporary file its content name. A hard link fails when the name
/// exists, so an existing blob is never replaced (rename would silently overwrite it).
/// Returns whether the content was new.
fn publish(temp: &TempFile, target: &Path) -> Result<bool, ArchiveError> {
    let shard = target.parent().unwrap_or(target);
    std::fs::create_dir_all(shard).map_err(io_error(shard))?;
    let mut permissions = std::fs::metadata(&temp.path)
        .map_err(io_error(&temp.path))?
        .permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&temp.path, permissions).map_err(io_error(&temp.path))?;
    match std::fs::hard_link(&temp.path, target) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(false),
        Err(source) => {
            return Err(ArchiveError::BlobIo {
                path: target.to_owned(),
                source,
            });
        }
    }
    // The new name is durable only once its directory entry is on disk, and a new shard
    // folder only once its parent's entry is.
    // (Always, not only when this call created the shard: a concurrent writer may have
    // created it an instant earlier without having synced it yet.)
    for dir in shard.ancestors().take(3) {
        sync_dir(dir)?;
    }
    Ok(true)
}

fn sync_dir(dir: &Path) -> Result<(), ArchiveError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn put_bytes(store: &LocalBlobStore, bytes: &[u8]) -> StoredBlob {
        store
            .put(&mut std::io::Cursor::new(bytes.to_vec()))
            .await
            .expect("put succeeds")
    }

    #[tokio::test]
    async fn content_is_stored_under_its_sha256_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let stored = put_bytes(&store, "Quyết định số 12/QĐ-UBND".as_bytes()).await;
        assert_eq!(
            stored.sha256,
            Sha256Digest::of("Quyết định số 12/QĐ-UBND".as_bytes())
        );
        assert!(stored.newly_stored);
        let mut back = Vec::new();
        store
            .open(&stored.sha256)
            .await
            .unwrap()
            .read_to_end(&mut back)
            .await
            .unwrap();
        assert_eq!(back, "Quyết định số 12/QĐ-UBND".as_bytes());
        assert!(store.contains(&stored.sha256).await.unwrap());
    }

    #[tokio::test]
    async fn identical_content_is_stored_once_and_never_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let first = put_bytes(&store, b"same bytes").await;
        let path = store.path_of(&first.sha256);
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let second = put_bytes(&store, b"same bytes").await;
        assert_eq!(first.sha256, second.sha256);
        assert!(!second.newly_stored);
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified
        );
        assert!(std::fs::metadata(&path).unwrap().permissions().readonly());
        // No temporary files are left behind.
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }

    #[tokio::test]
    async fn a_damaged_stored_copy_is_reported_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let stored = put_bytes(&store, b"original").await;
        let path = store.path_of(&stored.sha256);
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(false);
        std::fs::set_permissions(&path, permissions).unwrap();
        std::fs::write(&path, b"truncated").unwrap();
        let err = store
            .put(&mut std::io::Cursor::new(b"original".to_vec()))
            .await
            .unwrap_err();
        assert!(matches!(err, ArchiveError::BlobDamaged { .. }), "{err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), b"truncated");
    }

    #[tokio::test]
    async fn a_missing_blob_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let absent = Sha256Digest::of(b"never stored");
        assert!(matches!(
            store.open(&absent).await,
            Err(ArchiveError::BlobNotFound { .. })
        ));
        assert!(!store.contains(&absent).await.unwrap());
    }

    #[tokio::test]
    async fn a_failing_upload_leaves_nothing_behind() {
        struct Broken;
        impl AsyncRead for Broken {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                _: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Err(std::io::Error::new(
                    ErrorKind::ConnectionReset,
                    "client went away",
                )))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let err = store.put(&mut Broken).await.unwrap_err();
        assert!(matches!(err, ArchiveError::Upload(_)));
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }

    #[tokio::test]
    async fn readiness_probe_writes_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        store.check_writable().await.unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }

    #[tokio::test]
    async fn listing_pages_through_blobs_in_digest_order_and_shows_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let mut digests = Vec::new();
        for i in 0..40 {
            digests.push(
                put_bytes(&store, format!("trang {i}").as_bytes())
                    .await
                    .sha256,
            );
        }
        digests.sort();
        // What else an operator might leave in the object area: a note, a blob under the
        // wrong folder, an upper-case name, a nested folder.
        let objects = dir.path().join("sha256");
        let misfiled = Sha256Digest::of(b"misfiled").to_hex();
        let upper = Sha256Digest::of(b"upper").to_hex().to_uppercase();
        for (relative, bytes) in [
            ("ghi-chu.txt".to_owned(), b"note".as_slice()),
            (format!("00/00/{misfiled}"), b"misfiled".as_slice()),
            (
                format!("{}/{}/{upper}", &upper[0..2], &upper[2..4]),
                b"upper".as_slice(),
            ),
            ("ff/extra/deep.bin".to_owned(), b"deep".as_slice()),
        ] {
            let path = objects.join(&relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }

        let mut listed = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list(after.as_deref(), 7).await.unwrap();
            assert!(page.len() <= 7);
            let Some(last) = page.last() else { break };
            after = Some(last.key.clone());
            listed.extend(page);
        }
        let blobs: Vec<Sha256Digest> = listed.iter().filter_map(|o| o.sha256).collect();
        assert_eq!(blobs, digests, "every blob once, in digest order");
        for object in listed.iter().filter(|o| o.sha256.is_some()) {
            assert_eq!(object.key, blob_key(&object.sha256.unwrap()));
        }
        let mut others: Vec<&str> = listed
            .iter()
            .filter(|o| o.sha256.is_none())
            .map(|o| o.key.as_str())
            .collect();
        others.sort_unstable();
        let mut expected = vec![
            "ghi-chu.txt".to_owned(),
            format!("00/00/{misfiled}"),
            format!("{}/{}/{upper}", &upper[0..2], &upper[2..4]),
            "ff/extra/deep.bin".to_owned(),
        ];
        expected.sort_unstable();
        assert_eq!(others, expected);
        assert_eq!(listed.len(), 44, "nothing listed twice across pages");
    }

    #[tokio::test]
    async fn listing_an_empty_or_vanished_store_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        assert!(store.list(None, 10).await.unwrap().is_empty());
        std::fs::remove_dir(dir.path().join("sha256")).unwrap();
        assert!(store.list(None, 10).await.unwrap().is_empty());
    }
}

//! Fixity: the stored bytes are re-hashed and compared with their names and recorded sizes,
//! and the differences reported the way Archivematica's Storage Service does (archive.md
//! §1.4, §5.1):
//!
//! - **changed**: recorded, present, but the bytes no longer hash to the blob's name, their
//!   size differs from the recorded one, or they cannot be read to the end;
//! - **missing**: recorded in the `blob` table but not in the store;
//! - **untracked**: in the store but not in the `blob` table (a crash between storing and
//!   recording, or a file put there by hand). Only a full run looks for these; a sample does
//!   not list the store. An upload caught between being stored and being recorded shows up
//!   here too; a second run tells it from a real orphan.
//!
//! A run reads the `blob` table in pages and the store in pages, so memory does not grow with
//! the archive; each blob is streamed through SHA-256 on a blocking thread, `jobs` at once.
//! Damage is reported, never repaired: nothing is rewritten or deleted. Each run appends one
//! `fixity.check` audit entry (PREMIS "fixity check") with the counts and the digests found
//! (at most [`LIST_CAP`] of each). The audit entry names untracked objects only by digest:
//! other keys are counted, not recorded, since a file name put there by hand may carry
//! personal data and audit entries are never removed.
//!
//! A sample run picks `n` blobs uniformly at random, a different choice each run, so that
//! repeated runs cover the store: selection sampling (Knuth, TAOCP vol. 2 §3.4.2, Algorithm
//! S) over the pages, which takes exactly `n` while holding none of the rest.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::io::Read;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use serde::Serialize;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::audit::{AuditRecord, append};
use super::blob::{BlobReader, BlobStore, BlockingBlobReader, BlockingOpener, ListedObject};
use super::dossiers::checked_actor;
use super::tx::Begin;
use super::{Archive, ArchiveError, Db};
use crate::digest::{Sha256Digest, Sha256Hasher};

/// Rows of the `blob` table read per query.
const PAGE: i64 = 1_000;
/// Store objects listed per call.
const LIST_PAGE: usize = 1_000;
/// Digests looked up in the `blob` table per query. The statement always has this many
/// placeholders (a short batch repeats its last digest), so it is one text, prepared once.
const LOOKUP_BATCH: usize = 200;
/// Entries kept in each list of a report and of its audit entry; the totals count them all.
pub const LIST_CAP: usize = 1_000;
/// Bytes read per step while hashing (at most, and at least).
const READ_CHUNK: usize = 1 << 20;
const MIN_READ_CHUNK: usize = 8 << 10;
/// A batch for one hashing thread closes at this many blobs or bytes (measured: one
/// hand-over per 1 KB blob cost more CPU than hashing it).
const BATCH_BLOBS: usize = 64;
const BATCH_BYTES: u64 = 16 << 20;

static LOOKUP_SQL: LazyLock<String> = LazyLock::new(|| {
    let placeholders: Vec<String> = (1..=LOOKUP_BATCH).map(|i| format!("${i}")).collect();
    format!(
        "SELECT sha256 FROM blob WHERE sha256 IN ({})",
        placeholders.join(", ")
    )
});

/// What to check and who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixityOptions {
    /// Check this many blobs chosen at random instead of all of them (and skip the search
    /// for untracked objects).
    pub sample: Option<usize>,
    /// Who runs the check, for the audit entry.
    pub actor: String,
    /// Blobs hashed at once (at least 1).
    pub jobs: usize,
}

/// A recorded blob whose stored bytes are not what was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedBlob {
    /// Its name (and recorded digest).
    pub sha256: String,
    pub recorded_size: i64,
    /// Bytes read (up to the error, if reading failed).
    pub found_size: u64,
    /// The digest of the bytes found; `None` when they could not all be read.
    pub found_sha256: Option<String>,
    /// Why the bytes could not be read to the end (a failing disk, lost permissions).
    pub read_error: Option<String>,
}

/// An object in the store that the archive has no record of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UntrackedObject {
    /// Its key in the store (`ab/cd/abcd…` for a blob).
    pub key: String,
    /// The blob it is named as; `None` for an object that is not named as a blob.
    pub sha256: Option<String>,
}

/// The outcome of one fixity run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixityReport {
    /// A random sample rather than every blob (no search for untracked objects then).
    pub sampled: bool,
    /// Blobs recorded in the archive (counted at the start of a sample; seen by a full run).
    pub recorded: u64,
    /// Blobs looked at: `ok` + changed + missing.
    pub checked: u64,
    /// Blobs whose bytes still hash to their name and have the recorded size.
    pub ok: u64,
    /// No blob changed or missing (untracked objects do not make the records less intact).
    pub intact: bool,
    /// The first [`LIST_CAP`] changed blobs, by digest.
    pub changed: Vec<ChangedBlob>,
    pub changed_total: u64,
    /// The first [`LIST_CAP`] missing blobs' digests, sorted.
    pub missing: Vec<String>,
    pub missing_total: u64,
    /// The first [`LIST_CAP`] untracked objects, by key.
    pub untracked: Vec<UntrackedObject>,
    pub untracked_total: u64,
    /// Of the untracked objects, those not named as blobs.
    pub untracked_other: u64,
    /// Bytes read and hashed.
    pub bytes_hashed: u64,
    /// Wall time of the run.
    pub seconds: f64,
    /// The `fixity.check` audit entry that records this run.
    pub audit_seq: i64,
}

impl Archive {
    /// Re-hashes the blobs recorded in the archive (all, or a random sample) from `blobs`,
    /// looks for untracked objects on a full run, and appends one `fixity.check` audit entry
    /// (module documentation). Hashing runs on `jobs` of the runtime's blocking threads.
    ///
    /// # Errors
    /// [`ArchiveError::FieldInvalid`] for an empty actor or a sample of 0,
    /// [`ArchiveError::Database`], [`ArchiveError::BlobIo`] when the store cannot be listed.
    /// Damage found is a result, not an error: it is in the report.
    pub async fn check_fixity(
        &self,
        blobs: &dyn BlobStore,
        options: FixityOptions,
        now: OffsetDateTime,
    ) -> Result<FixityReport, ArchiveError> {
        let actor = checked_actor(&options.actor)?;
        if options.sample == Some(0) {
            return Err(ArchiveError::FieldInvalid {
                field: "sample",
                value: "0".to_owned(),
                reason: "a sample needs at least one blob".to_owned(),
            });
        }
        // A duration, not a point in time: the monotonic clock cannot make results differ.
        let started = Instant::now();
        let mut tally = Tally::default();
        let recorded = self
            .check_recorded(blobs, options.sample, options.jobs.max(1), &mut tally)
            .await?;
        if options.sample.is_none() {
            self.find_untracked(blobs, &mut tally).await?;
        }
        let mut report = tally.into_report(options.sample.is_some(), recorded);
        report.seconds = started.elapsed().as_secs_f64();
        report.audit_seq = self.record_check(&actor, &report, now).await?;
        Ok(report)
    }

    /// Hashes every recorded blob, or the sample; returns how many blobs are recorded.
    async fn check_recorded(
        &self,
        blobs: &dyn BlobStore,
        sample: Option<usize>,
        jobs: usize,
        tally: &mut Tally,
    ) -> Result<u64, ArchiveError> {
        let mut sampler = match sample {
            Some(wanted) => Some(Sampler::new(wanted as u64, self.count_blobs().await?)),
            None => None,
        };
        let opener = blobs.blocking_opener();
        let mut hashers = Hashers::start(jobs);
        let mut batch = Batch::default();
        let mut after = String::new();
        let mut seen = 0u64;
        'pages: while !sampler.as_ref().is_some_and(Sampler::done) {
            let page = self.blob_page(&after).await?;
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            for (name, recorded_size) in page {
                seen += 1;
                if let Some(sampler) = &mut sampler {
                    if sampler.done() {
                        break 'pages;
                    }
                    if !sampler.take() {
                        continue;
                    }
                }
                // A name that is not a digest (a damaged row) names nothing the store has.
                let Ok(sha256) = name.parse::<Sha256Digest>() else {
                    tally.add(Outcome::Missing(name));
                    continue;
                };
                let source = match &opener {
                    Some(opener) => Source::Open(opener.clone()),
                    None => match blobs.open(&sha256).await {
                        Ok(reader) => Source::Opened(Box::new(BridgedReader {
                            runtime: Handle::current(),
                            reader,
                        })),
                        Err(ArchiveError::BlobNotFound { .. }) => {
                            tally.add(Outcome::Missing(name));
                            continue;
                        }
                        Err(error) => {
                            tally.add(Outcome::unreadable(name, sha256, recorded_size, &error));
                            continue;
                        }
                    },
                };
                batch.push(Job {
                    name,
                    sha256,
                    recorded_size,
                    source,
                });
                if batch.is_full() {
                    hashers.send(std::mem::take(&mut batch), tally).await?;
                }
            }
        }
        if !batch.jobs.is_empty() {
            hashers.send(batch, tally).await?;
        }
        hashers.finish(tally).await?;
        Ok(sampler.map_or(seen, |s| s.total))
    }

    /// Lists the whole store and counts what the `blob` table does not know.
    async fn find_untracked(
        &self,
        blobs: &dyn BlobStore,
        tally: &mut Tally,
    ) -> Result<(), ArchiveError> {
        let mut after: Option<String> = None;
        loop {
            let page = blobs.list(after.as_deref(), LIST_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.key.clone());
            let named: Vec<String> = page
                .iter()
                .filter_map(|object| object.sha256.map(|d| d.to_hex()))
                .collect();
            // Looked up right after listing (not against pages read earlier), so a blob
            // stored and recorded while the run went on is not taken for untracked.
            let recorded = self.recorded_among(&named).await?;
            for object in page {
                let known = object
                    .sha256
                    .is_some_and(|d| recorded.contains(&d.to_hex()));
                if !known {
                    tally.add_untracked(object);
                }
            }
        }
        Ok(())
    }

    async fn count_blobs(&self) -> Result<u64, ArchiveError> {
        let count: i64 = on_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT count(*) FROM blob")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Up to [`PAGE`] `(sha256, size_bytes)` rows after `after`, by digest.
    async fn blob_page(&self, after: &str) -> Result<Vec<(String, i64)>, ArchiveError> {
        let page = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT sha256, size_bytes FROM blob WHERE sha256 > $1 ORDER BY sha256 LIMIT $2",
            )
            .bind(after)
            .bind(PAGE)
            .fetch_all(pool)
            .await?
        });
        Ok(page)
    }

    /// Which of `digests` (hex) the `blob` table records.
    async fn recorded_among(&self, digests: &[String]) -> Result<HashSet<String>, ArchiveError> {
        let mut recorded = HashSet::new();
        for batch in digests.chunks(LOOKUP_BATCH) {
            let Some(last) = batch.last() else { continue };
            let found: Vec<String> = on_db!(&self.db, pool => {
                let mut query = sqlx::query_scalar(LOOKUP_SQL.as_str());
                for i in 0..LOOKUP_BATCH {
                    query = query.bind(batch.get(i).unwrap_or(last));
                }
                query.fetch_all(pool).await?
            });
            recorded.extend(found);
        }
        Ok(recorded)
    }

    /// Appends the `fixity.check` audit entry for `report`; its sequence number.
    async fn record_check(
        &self,
        actor: &str,
        report: &FixityReport,
        now: OffsetDateTime,
    ) -> Result<i64, ArchiveError> {
        let untracked_named: Vec<&str> = report
            .untracked
            .iter()
            .filter_map(|object| object.sha256.as_deref())
            .collect();
        let details = serde_json::json!({
            "sampled": report.sampled,
            "recorded": report.recorded,
            "checked": report.checked,
            "ok": report.ok,
            "changed": report.changed_total,
            "missing": report.missing_total,
            "untracked": report.untracked_total,
            "bytes_hashed": report.bytes_hashed,
            "changed_sha256": report.changed.iter().map(|c| &c.sha256).collect::<Vec<_>>(),
            "missing_sha256": report.missing,
            "untracked_other": report.untracked_other,
            "untracked_sha256": untracked_named,
        });
        let record = AuditRecord {
            actor,
            action: "fixity.check",
            object_kind: "blob_store",
            object_id: if report.sampled { "sample" } else { "all" },
            details,
        };
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let entry = append(&mut tx, record, now).await?;
            tx.commit().await?;
            Ok(entry.seq)
        })
    }
}

/// Blobs handed to a hashing thread together, so that the hand-over between threads is paid
/// once for many small blobs; a batch closes at [`BATCH_BLOBS`] blobs or [`BATCH_BYTES`].
#[derive(Default)]
struct Batch {
    jobs: Vec<Job>,
    bytes: u64,
}

impl Batch {
    fn push(&mut self, job: Job) {
        self.bytes += u64::try_from(job.recorded_size).unwrap_or(0);
        self.jobs.push(job);
    }

    fn is_full(&self) -> bool {
        self.jobs.len() >= BATCH_BLOBS || self.bytes >= BATCH_BYTES
    }
}

/// A blob to hash.
struct Job {
    name: String,
    sha256: Sha256Digest,
    recorded_size: i64,
    source: Source,
}

/// Where a hashing thread gets a blob's bytes.
enum Source {
    /// It opens the blob itself, through the store's [`BlockingOpener`].
    Open(BlockingOpener),
    /// The store has no blocking opener: the blob was opened on the runtime.
    Opened(BlockingBlobReader),
}

/// What a hashing thread found for one blob.
enum Outcome {
    Read(Hashed),
    Missing(String),
}

impl Outcome {
    fn unreadable(
        name: String,
        sha256: Sha256Digest,
        recorded_size: i64,
        error: &ArchiveError,
    ) -> Self {
        Outcome::Read(Hashed {
            name,
            sha256,
            recorded_size,
            found_size: 0,
            found: Err(error.to_string()),
        })
    }
}

/// One blob read through.
struct Hashed {
    name: String,
    sha256: Sha256Digest,
    recorded_size: i64,
    found_size: u64,
    /// The digest of the bytes, or why they could not all be read.
    found: Result<Sha256Digest, String>,
}

impl Job {
    /// Opens (if need be) and hashes the blob, on this blocking thread.
    fn run(self, buffer: &mut Vec<u8>) -> Outcome {
        let reader = match self.source {
            Source::Opened(reader) => reader,
            Source::Open(opener) => match opener(&self.sha256) {
                Ok(reader) => reader,
                Err(ArchiveError::BlobNotFound { .. }) => return Outcome::Missing(self.name),
                Err(error) => {
                    return Outcome::unreadable(self.name, self.sha256, self.recorded_size, &error);
                }
            },
        };
        // Sized to the blob when it is small: thousands of small blobs would otherwise each
        // clear a full chunk.
        let chunk = usize::try_from(self.recorded_size)
            .map_or(READ_CHUNK, |size| size.clamp(MIN_READ_CHUNK, READ_CHUNK));
        if buffer.len() < chunk {
            buffer.resize(chunk, 0);
        }
        let (found_size, found) = hash_stream(reader, &mut buffer[..chunk]);
        Outcome::Read(Hashed {
            name: self.name,
            sha256: self.sha256,
            recorded_size: self.recorded_size,
            found_size,
            found,
        })
    }
}

/// SHA-256 of everything `reader` gives, read through `buffer`; the bytes read, and the
/// digest or why reading stopped.
fn hash_stream(
    mut reader: BlockingBlobReader,
    buffer: &mut [u8],
) -> (u64, Result<Sha256Digest, String>) {
    let mut hasher = Sha256Hasher::new();
    let mut size = 0u64;
    loop {
        match reader.read(buffer) {
            Ok(0) => return (size, Ok(hasher.finish())),
            Ok(n) => {
                hasher.update(&buffer[..n]);
                size += n as u64;
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return (size, Err(error.to_string())),
        }
    }
}

/// An async blob reader read from a blocking thread, each read run on `runtime`.
struct BridgedReader {
    runtime: Handle,
    reader: BlobReader,
}

impl Read for BridgedReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        self.runtime.block_on(self.reader.read(buffer))
    }
}

/// `jobs` long-lived blocking threads that hash batches of blobs. Batches go in through a
/// channel of `jobs` places, so reading the table never runs far ahead of hashing (memory
/// stays bounded); outcomes come back through another, drained at every hand-over.
struct Hashers {
    batches: mpsc::Sender<Batch>,
    outcomes: mpsc::UnboundedReceiver<Vec<Outcome>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Hashers {
    fn start(jobs: usize) -> Self {
        let (batches, queue) = mpsc::channel::<Batch>(jobs);
        // One worker waits on the queue at a time; the others wait for the lock.
        let queue = Arc::new(Mutex::new(queue));
        let (finished, outcomes) = mpsc::unbounded_channel();
        let workers = (0..jobs)
            .map(|_| {
                let (queue, finished) = (queue.clone(), finished.clone());
                tokio::task::spawn_blocking(move || {
                    let mut buffer = Vec::new();
                    loop {
                        let next = match queue.lock() {
                            Ok(mut queue) => queue.blocking_recv(),
                            Err(_) => None,
                        };
                        let Some(batch) = next else { break };
                        let done = batch.jobs.into_iter().map(|job| job.run(&mut buffer));
                        if finished.send(done.collect()).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        Self {
            batches,
            outcomes,
            workers,
        }
    }

    async fn send(&mut self, batch: Batch, tally: &mut Tally) -> Result<(), ArchiveError> {
        while let Ok(outcomes) = self.outcomes.try_recv() {
            outcomes.into_iter().for_each(|outcome| tally.add(outcome));
        }
        self.batches
            .send(batch)
            .await
            .map_err(|_| ArchiveError::Corrupt {
                what: "the fixity hashing threads stopped".to_owned(),
            })
    }

    /// Waits for every batch sent and adds the outcomes.
    async fn finish(self, tally: &mut Tally) -> Result<(), ArchiveError> {
        let Hashers {
            batches,
            mut outcomes,
            workers,
        } = self;
        // Closing the queue lets the workers end once it is empty.
        drop(batches);
        while let Some(done) = outcomes.recv().await {
            done.into_iter().for_each(|outcome| tally.add(outcome));
        }
        for worker in workers {
            worker.await.map_err(|e| ArchiveError::Corrupt {
                what: format!("a fixity hashing thread failed: {e}"),
            })?;
        }
        Ok(())
    }
}

/// Counts and the first [`LIST_CAP`] entries of each list.
#[derive(Default)]
struct Tally {
    checked: u64,
    ok: u64,
    bytes_hashed: u64,
    changed: Vec<ChangedBlob>,
    changed_total: u64,
    missing: Vec<String>,
    missing_total: u64,
    untracked: Vec<UntrackedObject>,
    untracked_total: u64,
    untracked_other: u64,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Read(hashed) => self.add_read(hashed),
            Outcome::Missing(name) => self.add_missing(name),
        }
    }

    fn add_read(&mut self, hashed: Hashed) {
        self.checked += 1;
        self.bytes_hashed += hashed.found_size;
        let size_matches = u64::try_from(hashed.recorded_size) == Ok(hashed.found_size);
        if size_matches && hashed.found.as_ref() == Ok(&hashed.sha256) {
            self.ok += 1;
            return;
        }
        self.changed_total += 1;
        if self.changed.len() < LIST_CAP {
            let (found_sha256, read_error) = match hashed.found {
                Ok(digest) => (Some(digest.to_hex()), None),
                Err(error) => (None, Some(error)),
            };
            self.changed.push(ChangedBlob {
                sha256: hashed.name,
                recorded_size: hashed.recorded_size,
                found_size: hashed.found_size,
                found_sha256,
                read_error,
            });
        }
    }

    fn add_missing(&mut self, name: String) {
        self.checked += 1;
        self.missing_total += 1;
        if self.missing.len() < LIST_CAP {
            self.missing.push(name);
        }
    }

    fn add_untracked(&mut self, object: ListedObject) {
        self.untracked_total += 1;
        if object.sha256.is_none() {
            self.untracked_other += 1;
        }
        if self.untracked.len() < LIST_CAP {
            self.untracked.push(UntrackedObject {
                key: object.key,
                sha256: object.sha256.map(|d| d.to_hex()),
            });
        }
    }

    fn into_report(mut self, sampled: bool, recorded: u64) -> FixityReport {
        // Hashing finishes out of order; reports read best sorted.
        self.changed.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        self.missing.sort();
        self.untracked.sort_by(|a, b| a.key.cmp(&b.key));
        FixityReport {
            sampled,
            recorded,
            checked: self.checked,
            ok: self.ok,
            intact: self.changed_total == 0 && self.missing_total == 0,
            changed: self.changed,
            changed_total: self.changed_total,
            missing: self.missing,
            missing_total: self.missing_total,
            untracked: self.untracked,
            untracked_total: self.untracked_total,
            untracked_other: self.untracked_other,
            bytes_hashed: self.bytes_hashed,
            seconds: 0.0,
            audit_seq: 0,
        }
    }
}

/// Selection sampling (Algorithm S): the `t`-th of `total` rows is taken with probability
/// (wanted − taken) / (total − t), which takes exactly `wanted` rows, each with the same
/// chance, in one pass.
struct Sampler {
    wanted: u64,
    taken: u64,
    /// Rows counted at the start.
    total: u64,
    seen: u64,
    random: SplitMix64,
}

impl Sampler {
    fn new(wanted: u64, total: u64) -> Self {
        Self::with_seed(wanted, total, fresh_seed())
    }

    fn with_seed(wanted: u64, total: u64, seed: u64) -> Self {
        Self {
            wanted,
            taken: 0,
            total,
            seen: 0,
            random: SplitMix64(seed),
        }
    }

    fn done(&self) -> bool {
        self.taken >= self.wanted
    }

    /// Whether to take the next row.
    fn take(&mut self) -> bool {
        let needed = self.wanted - self.taken;
        // Rows recorded after the count make more rows than counted: the last ones are then
        // taken for sure rather than the sample coming out short.
        let remaining = self.total.saturating_sub(self.seen).max(needed);
        self.seen += 1;
        // A uniform integer below `remaining` (Lemire's multiply-shift; the bias, below
        // remaining / 2^64, does not matter for picking blobs to check).
        let draw = (u128::from(self.random.next()) * u128::from(remaining)) >> 64;
        let take = draw < u128::from(needed);
        if take {
            self.taken += 1;
        }
        take
    }
}

/// A seed that differs from run to run: the standard library seeds its hash keys from the
/// operating system's random source. Picking blobs to check needs no cryptographic quality.
fn fresh_seed() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(0x6669_7869_7479_u64)
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small, fast generator, good enough for sampling.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picks(wanted: u64, total: u64, seed: u64) -> Vec<u64> {
        let mut sampler = Sampler::with_seed(wanted, total, seed);
        (0..total).filter(|_| sampler.take()).collect()
    }

    #[test]
    fn a_sample_takes_exactly_the_number_wanted() {
        for (wanted, total) in [(1, 1), (1, 1000), (7, 10), (10, 10), (500, 1000), (3, 2)] {
            for seed in 0..50 {
                let picked = picks(wanted, total, seed);
                assert_eq!(
                    picked.len() as u64,
                    wanted.min(total),
                    "{wanted} of {total}, seed {seed}"
                );
            }
        }
    }

    #[test]
    fn every_row_has_the_same_chance() {
        // 20 000 samples of 3 of 10: each row is expected 6 000 times; a biased sampler
        // (e.g. one favouring the first or last rows) lands far outside ±5 %.
        let mut counts = [0u32; 10];
        for seed in 0..20_000 {
            for row in picks(3, 10, seed) {
                counts[row as usize] += 1;
            }
        }
        for (row, count) in counts.iter().enumerate() {
            assert!(
                (5_700..=6_300).contains(count),
                "row {row} taken {count} times: {counts:?}"
            );
        }
    }

    #[test]
    fn rows_recorded_after_the_count_still_give_a_full_sample() {
        // Counted 5, but 8 rows come: the sampler still stops at the number wanted.
        for seed in 0..100 {
            let mut sampler = Sampler::with_seed(4, 5, seed);
            let taken = (0..8).filter(|_| !sampler.done() && sampler.take()).count();
            assert_eq!(taken, 4, "seed {seed}");
        }
    }

    #[test]
    fn fresh_seeds_differ() {
        assert_ne!(fresh_seed(), fresh_seed());
    }

    #[test]
    fn the_lookup_statement_has_one_placeholder_per_digest() {
        assert!(LOOKUP_SQL.ends_with(&format!("${LOOKUP_BATCH})")));
        assert_eq!(LOOKUP_SQL.matches('$').count(), LOOKUP_BATCH);
    }
}

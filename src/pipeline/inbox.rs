//! The inbox: a folder scanners drop files into (`hoso serve --inbox DIR`).
//!
//! ```text
//! DIR/file.pdf                    → an incoming document of no dossier (role `incoming`)
//! DIR/<dossier code>/scan.tif     → an input paper of that dossier
//! DIR/processing/                 files taken, being ingested
//! DIR/done/YYYY-MM-DD/            ingested files, each with NAME.json (what was stored)
//! DIR/failed/YYYY-MM-DD/          refused files, each with NAME.reason.txt (why, vi + en)
//! ```
//!
//! Each file is taken exactly once: it is claimed by renaming it into `processing/` (an
//! atomic rename on one filesystem, so two watchers, or two replicas sharing the folder,
//! can never both take it). A file still being written is left alone until it has not
//! changed for `settle`. Files left in `processing/` by a crash are ingested again at the
//! next start; ingest recognizes content the archive already has, so nothing is stored
//! twice. Hidden files and partial downloads (`.part`, `.tmp`, `.crdownload`) are skipped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::Pipeline;
use super::ingest::{IngestOutcome, IngestRequest};
use crate::archive::codes::DossierCode;
use crate::archive::documents::{DocumentMetadata, DocumentRole};
use crate::error::{Coded, Error, Result};

const PROCESSING: &str = "processing";
const DONE: &str = "done";
const FAILED: &str = "failed";
/// Separates the claim token, the dossier code (or [`NO_DOSSIER`]) and the file name in
/// `processing/`.
const SEPARATOR: &str = "__";
/// Stands for "no dossier" in a claimed name (no dossier code is `-`, and unlike `_` it
/// cannot run into the separator).
const NO_DOSSIER: &str = "-";
/// The longest original name kept in a claimed name (token ≈ 20 bytes, dossier code ≈ 30).
const MAX_NAME_BYTES: usize = 150;

/// How the inbox is watched.
#[derive(Debug, Clone)]
pub struct InboxOptions {
    pub dir: PathBuf,
    /// Time between scans of the folder.
    pub poll: Duration,
    /// A file must be unchanged this long before it is taken.
    pub settle: Duration,
    pub ocr: bool,
    /// Verify signed PDFs without network fetches.
    pub offline: bool,
    /// Recorded as who stored the documents.
    pub actor: String,
}

impl InboxOptions {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            poll: Duration::from_secs(2),
            settle: Duration::from_secs(2),
            ocr: true,
            offline: false,
            actor: "hộp thư quét (scanner inbox)".to_owned(),
        }
    }
}

/// The fate of one file.
#[derive(Debug, Serialize)]
pub struct InboxResult {
    pub file: String,
    pub dossier: Option<String>,
    /// Where the file is now (under done/ or failed/).
    pub moved_to: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<IngestOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

fn folder_error(path: &Path, e: &std::io::Error) -> Error {
    Error::Archive(crate::archive::ArchiveError::BlobIo {
        path: path.to_owned(),
        source: std::io::Error::new(e.kind(), e.to_string()),
    })
}

/// Creates the inbox's folders.
///
/// # Errors
/// A folder that cannot be created.
pub fn prepare(dir: &Path) -> Result<()> {
    for sub in [PROCESSING, DONE, FAILED] {
        let path = dir.join(sub);
        std::fs::create_dir_all(&path).map_err(|e| folder_error(&path, &e))?;
    }
    Ok(())
}

fn is_candidate_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !name.starts_with('.')
        && !name.starts_with('~')
        && ![".part", ".tmp", ".crdownload", ".partial", ".reason.txt"]
            .iter()
            .any(|suffix| lower.ends_with(suffix))
}

fn settled(metadata: &std::fs::Metadata, settle: Duration, now: SystemTime) -> bool {
    metadata.is_file()
        && metadata
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= settle)
}

/// Files ready to take: `(path, dossier folder name)`, oldest name first.
fn ready_files(options: &InboxOptions) -> Result<Vec<(PathBuf, Option<String>)>> {
    let now = SystemTime::now();
    let mut ready = Vec::new();
    let entries = std::fs::read_dir(&options.dir).map_err(|e| folder_error(&options.dir, &e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        // A symbolic link to a folder is not a dossier folder (it could point anywhere).
        let is_real_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_real_dir {
            if [PROCESSING, DONE, FAILED].contains(&name.as_str()) || name.starts_with('.') {
                continue;
            }
            let Ok(inner) = std::fs::read_dir(entry.path()) else {
                continue;
            };
            for file in inner.flatten() {
                let file_name = file.file_name().to_string_lossy().into_owned();
                if is_candidate_name(&file_name)
                    && file
                        .metadata()
                        .is_ok_and(|m| settled(&m, options.settle, now))
                {
                    ready.push((file.path(), Some(name.clone())));
                }
            }
        } else if !metadata.is_dir()
            && is_candidate_name(&name)
            && settled(&metadata, options.settle, now)
        {
            ready.push((entry.path(), None));
        }
    }
    ready.sort();
    Ok(ready)
}

/// Claims `path` by renaming it into processing/; `None` when someone else took it first.
fn claim(options: &InboxOptions, path: &Path, dossier: Option<&str>) -> Result<Option<PathBuf>> {
    let name = bounded_name(
        &path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    let token = format!(
        "{}-{}",
        OffsetDateTime::now_utc().unix_timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let claimed = options.dir.join(PROCESSING).join(format!(
        "{token}{SEPARATOR}{}{SEPARATOR}{name}",
        dossier.unwrap_or(NO_DOSSIER)
    ));
    match std::fs::rename(path, &claimed) {
        Ok(()) => Ok(Some(claimed)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(folder_error(path, &e)),
    }
}

/// `name` within [`MAX_NAME_BYTES`], its extension kept: the claim token and dossier code
/// must fit beside it in one file name (255 bytes on most filesystems).
fn bounded_name(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_owned();
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| e.len() <= 10)
        .unwrap_or("");
    let mut stem: String = String::new();
    for c in name.chars() {
        // "…" is 3 bytes, the dot 1.
        if stem.len() + c.len_utf8() + extension.len() + 4 > MAX_NAME_BYTES {
            break;
        }
        stem.push(c);
    }
    if extension.is_empty() {
        format!("{stem}…")
    } else {
        format!("{stem}….{extension}")
    }
}

/// `(token, dossier, original name)` of a claimed file.
fn parse_claimed(path: &Path) -> Option<(String, Option<String>, String)> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let mut parts = name.splitn(3, SEPARATOR);
    let token = parts.next()?.to_owned();
    let dossier = parts.next()?;
    let original = parts.next()?.to_owned();
    let dossier = (dossier != NO_DOSSIER).then(|| dossier.to_owned());
    Some((token, dossier, original))
}

/// Moves a processed file to `done/` or `failed/` under today's folder, next to `note`
/// (NAME.json or NAME.reason.txt). Never overwrites: the claim token keeps names apart.
fn file_away(
    options: &InboxOptions,
    claimed: &Path,
    token: &str,
    original: &str,
    outcome: &str,
    (note_suffix, note): (&str, &[u8]),
    today: time::Date,
) -> Result<PathBuf> {
    let folder = options.dir.join(outcome).join(today.to_string());
    std::fs::create_dir_all(&folder).map_err(|e| folder_error(&folder, &e))?;
    let target = folder.join(format!("{token}{SEPARATOR}{original}"));
    let note_path = folder.join(format!("{token}{SEPARATOR}{original}{note_suffix}"));
    std::fs::write(&note_path, note).map_err(|e| folder_error(&note_path, &e))?;
    std::fs::rename(claimed, &target).map_err(|e| folder_error(claimed, &e))?;
    Ok(target)
}

fn reason_text(error: &Error) -> String {
    format!(
        "mã lỗi (code): {}\n{}\n{}\n",
        error.code(),
        error.message_vi(),
        error
    )
}

/// Ingests one claimed file and files it away.
async fn process(
    pipeline: &Arc<Pipeline>,
    options: &InboxOptions,
    claimed: PathBuf,
) -> Result<InboxResult> {
    let now = OffsetDateTime::now_utc();
    let today = crate::archive::calendar::local_date(now);
    let Some((token, dossier, original)) = parse_claimed(&claimed) else {
        // Not a name this watcher gives: someone put it there by hand.
        let name = claimed
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let error = Error::Task(format!(
            "{name}: not taken by the inbox (files are dropped in the inbox folder, not in processing/)"
        ));
        let moved_to = file_away(
            options,
            &claimed,
            "unknown",
            &bounded_name(&name),
            FAILED,
            (".reason.txt", reason_text(&error).as_bytes()),
            today,
        )?;
        return Ok(InboxResult {
            file: name,
            dossier: None,
            moved_to,
            stored: None,
            error_code: Some(error.code().to_owned()),
        });
    };
    let result = async {
        // Only regular files: a symbolic link could make hoso archive any file it can read.
        let is_regular = std::fs::symlink_metadata(&claimed).is_ok_and(|m| m.file_type().is_file());
        if !is_regular {
            return Err(Error::Ocr(crate::ocr::OcrError::Unreadable {
                file: original.clone(),
                reason: "not a regular file (a link or a special file)".to_owned(),
            }));
        }
        let dossier_code = dossier
            .as_deref()
            .map(|code| {
                DossierCode::parse(code).map_err(|_| {
                    Error::Archive(crate::archive::ArchiveError::DossierCodeInvalid {
                        value: code.to_owned(),
                    })
                })
            })
            .transpose()?;
        let role = if dossier_code.is_some() {
            DocumentRole::Input
        } else {
            DocumentRole::Incoming
        };
        pipeline
            .ingest(
                IngestRequest {
                    path: claimed.clone(),
                    file_name: Some(original.clone()),
                    dossier: dossier_code,
                    role,
                    metadata: DocumentMetadata::default(),
                    ocr: options.ocr,
                    offline: options.offline,
                    actor: options.actor.clone(),
                },
                now,
            )
            .await
    }
    .await;
    match result {
        Ok(stored) => {
            let note = serde_json::to_vec_pretty(&stored).unwrap_or_default();
            let moved_to = file_away(
                options,
                &claimed,
                &token,
                &original,
                DONE,
                (".json", &note),
                today,
            )?;
            tracing::info!(file = %original, document = stored.id, version = stored.version, "đã lưu tệp từ hộp thư (inbox file stored)");
            Ok(InboxResult {
                file: original,
                dossier,
                moved_to,
                stored: Some(stored),
                error_code: None,
            })
        }
        Err(error) if error.class() == crate::error::ErrorClass::Unavailable => {
            // The database or the store is down: not the file's fault. It goes back where it
            // was dropped and is tried again at a later pass.
            let back = match &dossier {
                Some(code) => options.dir.join(code),
                None => options.dir.clone(),
            };
            let mut target = back.join(&original);
            if target.exists() {
                target = back.join(format!("{token}{SEPARATOR}{original}"));
            }
            std::fs::rename(&claimed, &target).map_err(|e| folder_error(&claimed, &e))?;
            tracing::warn!(file = %original, code = error.code(), "hộp thư quét: sẽ thử lại (inbox: will retry): {error}");
            Ok(InboxResult {
                file: original,
                dossier,
                moved_to: target,
                stored: None,
                error_code: Some(error.code().to_owned()),
            })
        }
        Err(error) => {
            let moved_to = file_away(
                options,
                &claimed,
                &token,
                &original,
                FAILED,
                (".reason.txt", reason_text(&error).as_bytes()),
                today,
            )?;
            tracing::warn!(file = %original, code = error.code(), "không lưu được tệp từ hộp thư (inbox file refused): {error}");
            Ok(InboxResult {
                file: original,
                dossier,
                moved_to,
                stored: None,
                error_code: Some(error.code().to_owned()),
            })
        }
    }
}

/// Ingests one claimed file; an error of the inbox folders themselves is logged and the
/// pass goes on with the next file (one bad entry never stops the inbox).
async fn process_logged(
    pipeline: &Arc<Pipeline>,
    options: &InboxOptions,
    claimed: PathBuf,
    results: &mut Vec<InboxResult>,
) {
    match process(pipeline, options, claimed.clone()).await {
        Ok(result) => results.push(result),
        Err(e) => {
            tracing::error!(file = %claimed.display(), code = e.code(), "hộp thư quét lỗi (inbox failed): {e}")
        }
    }
}

/// Takes again the files an interrupted run left in processing/. Run once at start, before
/// any pass: each is re-claimed under a new name first, so that of two watchers starting
/// together only one takes it. Ingest recognizes content already stored.
///
/// # Errors
/// The inbox folders unusable.
pub async fn recover(pipeline: &Arc<Pipeline>, options: &InboxOptions) -> Result<Vec<InboxResult>> {
    prepare(&options.dir)?;
    let processing = options.dir.join(PROCESSING);
    let mut leftovers: Vec<PathBuf> = std::fs::read_dir(&processing)
        .map_err(|e| folder_error(&processing, &e))?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .map(|e| e.path())
        .collect();
    leftovers.sort();
    let mut results = Vec::new();
    for leftover in leftovers {
        let renamed = match parse_claimed(&leftover) {
            Some((_, dossier, original)) => {
                let token = format!(
                    "{}-{}",
                    OffsetDateTime::now_utc().unix_timestamp(),
                    &uuid::Uuid::new_v4().simple().to_string()[..8]
                );
                let target = processing.join(format!(
                    "{token}{SEPARATOR}{}{SEPARATOR}{original}",
                    dossier.as_deref().unwrap_or(NO_DOSSIER)
                ));
                match std::fs::rename(&leftover, &target) {
                    Ok(()) => target,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        tracing::error!(file = %leftover.display(), "hộp thư quét lỗi (inbox failed): {e}");
                        continue;
                    }
                }
            }
            None => leftover,
        };
        process_logged(pipeline, options, renamed, &mut results).await;
    }
    Ok(results)
}

/// One pass over the files dropped since the last: each settled file is claimed and
/// ingested, until `stop` says to stop (checked before each file).
async fn scan(
    pipeline: &Arc<Pipeline>,
    options: &InboxOptions,
    stop: &(dyn Fn() -> bool + Send + Sync),
) -> Result<Vec<InboxResult>> {
    prepare(&options.dir)?;
    let mut results = Vec::new();
    for (path, dossier) in ready_files(options)? {
        if stop() {
            break;
        }
        match claim(options, &path, dossier.as_deref()) {
            Ok(Some(claimed)) => process_logged(pipeline, options, claimed, &mut results).await,
            Ok(None) => {}
            Err(e) => {
                tracing::error!(file = %path.display(), code = e.code(), "hộp thư quét lỗi (inbox failed): {e}")
            }
        }
    }
    Ok(results)
}

/// One pass over the files dropped since the last (module documentation).
///
/// # Errors
/// The inbox folders unusable. A file that cannot be ingested is not an error here: it is
/// moved to failed/ with its reason.
pub async fn scan_once(
    pipeline: &Arc<Pipeline>,
    options: &InboxOptions,
) -> Result<Vec<InboxResult>> {
    scan(pipeline, options, &|| false).await
}

/// Watches the inbox until `stop` turns true, finishing the file in hand first.
pub async fn watch(
    pipeline: Arc<Pipeline>,
    options: InboxOptions,
    mut stop: watch::Receiver<bool>,
) {
    tracing::info!(dir = %options.dir.display(), "đang theo dõi hộp thư quét (watching the scanner inbox)");
    if let Err(e) = recover(&pipeline, &options).await {
        tracing::error!(code = e.code(), "hộp thư quét lỗi (inbox failed): {e}");
    }
    loop {
        if *stop.borrow() {
            break;
        }
        let stopping = stop.clone();
        if let Err(e) = scan(&pipeline, &options, &|| *stopping.borrow()).await {
            tracing::error!(code = e.code(), "hộp thư quét lỗi (inbox failed): {e}");
        }
        tokio::select! {
            _ = tokio::time::sleep(options.poll) => {}
            _ = stop.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_and_hidden_files_are_left_alone() {
        assert!(is_candidate_name("to-khai.pdf"));
        assert!(!is_candidate_name(".scan.tif"));
        assert!(!is_candidate_name("scan.tif.part"));
        assert!(!is_candidate_name("x.CRDOWNLOAD"));
        assert!(!is_candidate_name("~lock"));
    }

    #[test]
    fn claimed_names_round_trip() {
        let p = PathBuf::from("/in/processing/17-abcd__H53.100.01-261123-0001__tờ khai__1.pdf");
        let (token, dossier, original) = parse_claimed(&p).unwrap();
        assert_eq!(token, "17-abcd");
        assert_eq!(dossier.as_deref(), Some("H53.100.01-261123-0001"));
        assert_eq!(original, "tờ khai__1.pdf");
        let p = PathBuf::from(format!(
            "/in/processing/17-abcd{SEPARATOR}{NO_DOSSIER}{SEPARATOR}_a.pdf"
        ));
        assert_eq!(parse_claimed(&p).unwrap().1, None);
        assert_eq!(parse_claimed(&p).unwrap().2, "_a.pdf");
        let long = format!("{}.pdf", "tờ khai ".repeat(40));
        let bounded = bounded_name(&long);
        assert!(
            bounded.len() <= MAX_NAME_BYTES && bounded.ends_with(".pdf"),
            "{bounded}"
        );
    }
}

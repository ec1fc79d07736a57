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
        if metadata.is_dir() {
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
        } else if is_candidate_name(&name) && settled(&metadata, options.settle, now) {
            ready.push((entry.path(), None));
        }
    }
    ready.sort();
    Ok(ready)
}

/// Claims `path` by renaming it into processing/; `None` when someone else took it first.
fn claim(options: &InboxOptions, path: &Path, dossier: Option<&str>) -> Result<Option<PathBuf>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
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
    note_suffix: &str,
    note: &[u8],
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
    let Some((token, dossier, original)) = parse_claimed(&claimed) else {
        return Err(Error::Task(format!(
            "unexpected file in the inbox's processing folder: {}",
            claimed.display()
        )));
    };
    let now = OffsetDateTime::now_utc();
    let today = crate::archive::calendar::local_date(now);
    let result = async {
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
                options, &claimed, &token, &original, DONE, ".json", &note, today,
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
        Err(error) => {
            let moved_to = file_away(
                options,
                &claimed,
                &token,
                &original,
                FAILED,
                ".reason.txt",
                reason_text(&error).as_bytes(),
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

/// One pass: files left in processing/ by an interrupted run, then every settled new file.
///
/// # Errors
/// The inbox folders unusable. A file that cannot be ingested is not an error here: it is
/// moved to failed/ with its reason.
pub async fn scan_once(
    pipeline: &Arc<Pipeline>,
    options: &InboxOptions,
) -> Result<Vec<InboxResult>> {
    prepare(&options.dir)?;
    let mut results = Vec::new();
    let processing = options.dir.join(PROCESSING);
    let mut leftovers: Vec<PathBuf> = std::fs::read_dir(&processing)
        .map_err(|e| folder_error(&processing, &e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    leftovers.sort();
    for claimed in leftovers {
        results.push(process(pipeline, options, claimed).await?);
    }
    for (path, dossier) in ready_files(options)? {
        if let Some(claimed) = claim(options, &path, dossier.as_deref())? {
            results.push(process(pipeline, options, claimed).await?);
        }
    }
    Ok(results)
}

/// Watches the inbox until `stop` turns true, finishing the file in hand first.
pub async fn watch(
    pipeline: Arc<Pipeline>,
    options: InboxOptions,
    mut stop: watch::Receiver<bool>,
) {
    tracing::info!(dir = %options.dir.display(), "đang theo dõi hộp thư quét (watching the scanner inbox)");
    loop {
        if *stop.borrow() {
            break;
        }
        if let Err(e) = scan_once(&pipeline, &options).await {
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
    }
}

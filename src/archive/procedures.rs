//! The procedure catalogue (danh mục thủ tục hành chính): parsing a CSV or JSON export into
//! validated rows, and importing them (upsert by national code) in one transaction.
//!
//! An import is all or nothing: when any row is invalid, every bad row is reported with its
//! line number and nothing is written, so a catalogue is never half imported.
//!
//! Columns (CSV header or JSON keys; case, spaces and diacritics as written in Vietnamese are
//! accepted): `code` (mã thủ tục), `name` (tên thủ tục), `processing_days` (thời hạn giải
//! quyết, working days: `5`, `05` or `5 ngày làm việc`) are required; `field` (lĩnh vực),
//! `level` (cấp thực hiện) and `competent_agency` (cơ quan có thẩm quyền) are optional; other
//! columns are ignored. CSV may be comma- or semicolon-separated (Excel in a Vietnamese
//! locale writes `;`), UTF-8 with or without a byte-order mark. JSON is an array of objects,
//! or an object whose `procedures` key holds one.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;

use super::audit::{AuditRecord, append};
use super::codes::ProcedureCode;
use super::tx::{Begin, Tx};
use super::{Archive, ArchiveError, Db, stored_time};
use crate::digest::Sha256Digest;

/// Longest processing time accepted, in working days (about four years).
pub const MAX_PROCESSING_DAYS: u32 = 1000;

/// A procedure as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Procedure {
    #[serde(skip)]
    pub procedure_id: i64,
    pub code: String,
    pub name: String,
    pub field: Option<String>,
    pub level: Option<String>,
    pub processing_days: i64,
    pub competent_agency: Option<String>,
    #[serde(with = "super::calendar::vn_time")]
    pub created_at: OffsetDateTime,
    #[serde(with = "super::calendar::vn_time")]
    pub updated_at: OffsetDateTime,
}

/// One valid row of a catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureEntry {
    pub code: ProcedureCode,
    pub name: String,
    pub field: Option<String>,
    pub level: Option<String>,
    pub processing_days: u32,
    pub competent_agency: Option<String>,
}

impl ProcedureEntry {
    fn same_as(&self, stored: &Procedure) -> bool {
        self.name == stored.name
            && self.field == stored.field
            && self.level == stored.level
            && i64::from(self.processing_days) == stored.processing_days
            && self.competent_agency == stored.competent_agency
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogueFormat {
    Csv,
    Json,
}

impl CatalogueFormat {
    /// From the file name (`.csv`, `.json`), else from the first character of the content.
    pub fn detect(file_name: &str, content: &[u8]) -> Self {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            return CatalogueFormat::Json;
        }
        if lower.ends_with(".csv") {
            return CatalogueFormat::Csv;
        }
        let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
        match content.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[' | b'{') => CatalogueFormat::Json,
            _ => CatalogueFormat::Csv,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The file name as given.
    pub source: String,
    pub sha256: String,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// The audit entry that records the import.
    pub audit_seq: i64,
}

/// A bad row: its line in the file (1 is the CSV header) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub line: u64,
    #[serde(flatten)]
    pub issue: RowIssue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum RowIssue {
    CodeInvalid { value: String },
    DaysInvalid { value: String },
    Duplicate { code: String, first_line: u64 },
    Missing { column: &'static str },
    NotAnObject,
    TooLong { column: &'static str },
    Unreadable { reason: String },
    WrongType { column: &'static str },
}

impl RowIssue {
    pub fn message_vi(&self) -> String {
        match self {
            RowIssue::CodeInvalid { value } => {
                format!("mã thủ tục {value:?} sai định dạng (d.dddddd, ví dụ 1.001193)")
            }
            RowIssue::DaysInvalid { value } => format!(
                "thời hạn giải quyết {value:?} không phải số ngày làm việc từ 0 đến {MAX_PROCESSING_DAYS}"
            ),
            RowIssue::Duplicate { code, first_line } => {
                format!("mã thủ tục {code} trùng với dòng {first_line}")
            }
            RowIssue::Missing { column } => format!("thiếu {}", column_vi(column)),
            RowIssue::NotAnObject => "phần tử không phải đối tượng JSON".to_owned(),
            RowIssue::TooLong { column } => format!("{} quá dài", column_vi(column)),
            RowIssue::Unreadable { reason } => format!("không đọc được dòng ({reason})"),
            RowIssue::WrongType { column } => format!("{} sai kiểu dữ liệu", column_vi(column)),
        }
    }
}

impl std::fmt::Display for RowIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowIssue::CodeInvalid { value } => {
                write!(f, "invalid procedure code {value:?} (expected d.dddddd)")
            }
            RowIssue::DaysInvalid { value } => write!(
                f,
                "processing_days {value:?} is not a number of working days from 0 to {MAX_PROCESSING_DAYS}"
            ),
            RowIssue::Duplicate { code, first_line } => {
                write!(f, "code {code} already given on line {first_line}")
            }
            RowIssue::Missing { column } => write!(f, "{column} is missing"),
            RowIssue::NotAnObject => f.write_str("element is not a JSON object"),
            RowIssue::TooLong { column } => write!(f, "{column} is too long"),
            RowIssue::Unreadable { reason } => write!(f, "unreadable row: {reason}"),
            RowIssue::WrongType { column } => write!(f, "{column} has the wrong type"),
        }
    }
}

fn column_vi(column: &str) -> &'static str {
    match column {
        "code" => "mã thủ tục",
        "name" => "tên thủ tục",
        "processing_days" => "thời hạn giải quyết",
        "field" => "lĩnh vực",
        "level" => "cấp thực hiện",
        _ => "cơ quan có thẩm quyền",
    }
}

/// The columns hoso reads, and the header names it knows them by (NFC, lower case, spaces
/// and hyphens as `_`).
const COLUMNS: [(&str, &[&str]); 6] = [
    (
        "code",
        &[
            "code",
            "ma",
            "mã",
            "ma_thu_tuc",
            "mã_thủ_tục",
            "ma_tthc",
            "mã_tthc",
        ],
    ),
    (
        "name",
        &[
            "name",
            "ten",
            "tên",
            "ten_thu_tuc",
            "tên_thủ_tục",
            "ten_tthc",
            "tên_tthc",
        ],
    ),
    ("field", &["field", "linh_vuc", "lĩnh_vực"]),
    (
        "level",
        &["level", "cap", "cấp", "cap_thuc_hien", "cấp_thực_hiện"],
    ),
    (
        "processing_days",
        &[
            "processing_days",
            "so_ngay",
            "số_ngày",
            "thoi_han_giai_quyet",
            "thời_hạn_giải_quyết",
        ],
    ),
    (
        "competent_agency",
        &[
            "competent_agency",
            "agency",
            "co_quan",
            "cơ_quan",
            "co_quan_thuc_hien",
            "cơ_quan_thực_hiện",
            "co_quan_co_tham_quyen",
            "cơ_quan_có_thẩm_quyền",
        ],
    ),
];

/// The column a header names, if hoso reads it.
fn column_of(header: &str) -> Option<&'static str> {
    let key: String = header
        .trim()
        .nfc()
        .flat_map(char::to_lowercase)
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect();
    COLUMNS
        .iter()
        .find(|(_, names)| names.contains(&key.as_str()))
        .map(|(column, _)| *column)
}

/// Parses a whole catalogue into valid rows with their line numbers.
///
/// # Errors
/// [`ArchiveError::CatalogueUnreadable`] when the file as a whole cannot be read (not UTF-8,
/// not JSON, a required column missing, no rows); [`ArchiveError::CatalogueInvalid`] with
/// every bad row otherwise.
pub fn parse_catalogue(
    content: &[u8],
    format: CatalogueFormat,
) -> Result<Vec<(u64, ProcedureEntry)>, ArchiveError> {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let rows = match format {
        CatalogueFormat::Csv => csv_rows(content)?,
        CatalogueFormat::Json => json_rows(content)?,
    };
    if rows.is_empty() {
        return Err(ArchiveError::CatalogueUnreadable {
            reason: "the catalogue has no rows".to_owned(),
        });
    }
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
    for (line, row) in rows {
        match row.and_then(RawRow::validate) {
            Ok(entry) => match first_line_of.get(entry.code.as_str()) {
                Some(&first_line) => problems.push(RowProblem {
                    line,
                    issue: RowIssue::Duplicate {
                        code: entry.code.to_string(),
                        first_line,
                    },
                }),
                None => {
                    first_line_of.insert(entry.code.to_string(), line);
                    entries.push((line, entry));
                }
            },
            Err(issue) => problems.push(RowProblem { line, issue }),
        }
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(ArchiveError::CatalogueInvalid { problems })
    }
}

/// A row as read, before validation: column → text (JSON numbers already as text).
#[derive(Default)]
struct RawRow(HashMap<&'static str, String>);

impl RawRow {
    fn validate(mut self) -> Result<ProcedureEntry, RowIssue> {
        let mut take = |column: &'static str, max_chars: usize| -> Result<_, RowIssue> {
            let value: String = self
                .0
                .remove(column)
                .unwrap_or_default()
                .trim()
                .nfc()
                .collect();
            match value.chars().count() {
                0 => Ok(None),
                n if n > max_chars => Err(RowIssue::TooLong { column }),
                _ => Ok(Some(value)),
            }
        };
        let code = take("code", 50)?.ok_or(RowIssue::Missing { column: "code" })?;
        let code = ProcedureCode::parse(&code).map_err(|value| RowIssue::CodeInvalid { value })?;
        let name = take("name", 2000)?.ok_or(RowIssue::Missing { column: "name" })?;
        let days = take("processing_days", 50)?.ok_or(RowIssue::Missing {
            column: "processing_days",
        })?;
        let processing_days = parse_days(&days).ok_or(RowIssue::DaysInvalid { value: days })?;
        Ok(ProcedureEntry {
            code,
            name,
            field: take("field", 500)?,
            level: take("level", 200)?,
            processing_days,
            competent_agency: take("competent_agency", 500)?,
        })
    }
}

/// `5`, `05`, `5 ngày làm việc` (the unit as catalogues print it) → 5.
fn parse_days(text: &str) -> Option<u32> {
    let lower = text.to_lowercase();
    let number = lower
        .strip_suffix("ngày làm việc")
        .map(str::trim_end)
        .unwrap_or(&lower);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number
        .parse::<u32>()
        .ok()
        .filter(|days| *days <= MAX_PROCESSING_DAYS)
}

type ParsedRows = Vec<(u64, Result<RawRow, RowIssue>)>;

fn csv_rows(content: &[u8]) -> Result<ParsedRows, ArchiveError> {
    let first_line = content.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if !first_line.contains(&b',') && first_line.contains(&b';') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(content);
    let headers = reader
        .headers()
        .map_err(|e| ArchiveError::CatalogueUnreadable {
            reason: format!("line 1 (header): {e}"),
        })?
        .clone();
    let mut columns: Vec<Option<&'static str>> = Vec::new();
    for header in &headers {
        let column = column_of(header);
        if column.is_some() && columns.contains(&column) {
            return Err(ArchiveError::CatalogueUnreadable {
                reason: format!("line 1 (header): column {header:?} given twice"),
            });
        }
        columns.push(column);
    }
    for required in ["code", "name", "processing_days"] {
        if !columns.contains(&Some(required)) {
            return Err(ArchiveError::CatalogueUnreadable {
                reason: format!("line 1 (header): no {required} column"),
            });
        }
    }
    // Lines are counted from byte offsets: csv's own line counter does not count blank lines.
    let line_at = |byte: u64| line_of(content, byte as usize);
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let before = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = line_at(record.position().map_or(before, |p| p.byte()));
                if record.iter().all(|field| field.trim().is_empty()) {
                    continue;
                }
                let mut row = RawRow::default();
                for (column, value) in columns.iter().zip(record.iter()) {
                    if let Some(column) = column {
                        row.0.insert(column, value.to_owned());
                    }
                }
                rows.push((line, Ok(row)));
            }
            Err(e) => {
                let line = line_at(e.position().map_or(before, |p| p.byte()));
                let utf8 = matches!(e.kind(), csv::ErrorKind::Utf8 { .. });
                let reason = if utf8 {
                    "not UTF-8 text".to_owned()
                } else {
                    e.to_string()
                };
                rows.push((line, Err(RowIssue::Unreadable { reason })));
                if !utf8 {
                    break;
                }
            }
        }
    }
    Ok(rows)
}

/// The 1-based line of byte `offset` in `content`, skipping blank lines before a record.
fn line_of(content: &[u8], offset: usize) -> u64 {
    let mut offset = offset.min(content.len());
    while content
        .get(offset)
        .is_some_and(|b| *b == b'\n' || *b == b'\r')
    {
        offset += 1;
    }
    content[..offset].iter().filter(|b| **b == b'\n').count() as u64 + 1
}

fn json_rows(content: &[u8]) -> Result<ParsedRows, ArchiveError> {
    #[derive(serde::Deserialize)]
    struct Wrapped<'a> {
        #[serde(borrow)]
        procedures: Vec<&'a RawValue>,
    }
    let text = std::str::from_utf8(content).map_err(|e| ArchiveError::CatalogueUnreadable {
        reason: format!("not UTF-8 text: {e}"),
    })?;
    let elements = serde_json::from_str::<Vec<&RawValue>>(text)
        .or_else(|first| {
            serde_json::from_str::<Wrapped<'_>>(text)
                .map(|w| w.procedures)
                .map_err(|_| first)
        })
        .map_err(|e| ArchiveError::CatalogueUnreadable {
            reason: format!(
                "not a JSON array of procedures (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        })?;
    let rows = elements
        .into_iter()
        .map(|raw| {
            let offset = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
            (line_of(content, offset), json_row(raw))
        })
        .collect();
    Ok(rows)
}

fn json_row(raw: &RawValue) -> Result<RawRow, RowIssue> {
    let value: serde_json::Value =
        serde_json::from_str(raw.get()).map_err(|e| RowIssue::Unreadable {
            reason: e.to_string(),
        })?;
    let serde_json::Value::Object(object) = value else {
        return Err(RowIssue::NotAnObject);
    };
    let mut row = RawRow::default();
    for (key, value) in object {
        let Some(column) = column_of(&key) else {
            continue;
        };
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(text) => text,
            serde_json::Value::Number(n) if column == "processing_days" => n.to_string(),
            _ => return Err(RowIssue::WrongType { column }),
        };
        row.0.insert(column, text);
    }
    Ok(row)
}

impl Archive {
    /// Imports a procedure catalogue: new codes are inserted, known codes updated when a value
    /// differs; one audit entry records the file's SHA-256 and the codes touched.
    ///
    /// # Errors
    /// [`ArchiveError::CatalogueUnreadable`] / [`ArchiveError::CatalogueInvalid`] (nothing
    /// written), [`ArchiveError::FieldInvalid`] for a bad actor, [`ArchiveError::Database`].
    pub async fn import_procedures(
        &self,
        content: &[u8],
        format: CatalogueFormat,
        source: &str,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<ImportReport, ArchiveError> {
        let actor = super::dossiers::checked_actor(actor)?;
        let entries = parse_catalogue(content, format)?;
        let sha256 = Sha256Digest::of(content).to_hex();
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let report = import(&mut tx, &entries, source, &sha256, &actor, now).await?;
            tx.commit().await?;
            Ok(report)
        })
    }

    /// The procedure with national code `code`.
    ///
    /// # Errors
    /// [`ArchiveError::ProcedureCodeInvalid`], [`ArchiveError::ProcedureNotFound`],
    /// [`ArchiveError::Database`].
    pub async fn procedure(&self, code: &str) -> Result<Procedure, ArchiveError> {
        let code = ProcedureCode::parse(code)
            .map_err(|value| ArchiveError::ProcedureCodeInvalid { value })?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let procedure = tx.procedure(code.as_str()).await?;
            tx.rollback().await?;
            procedure.ok_or_else(|| ArchiveError::ProcedureNotFound { code: code.to_string() })
        })
    }
}

async fn import<T: Tx>(
    tx: &mut T,
    entries: &[(u64, ProcedureEntry)],
    source: &str,
    sha256: &str,
    actor: &str,
    now: OffsetDateTime,
) -> Result<ImportReport, ArchiveError> {
    let mut inserted = Vec::new();
    let mut updated = Vec::new();
    for (_, entry) in entries {
        match tx.procedure(entry.code.as_str()).await? {
            None => {
                tx.insert_procedure(entry, now).await?;
                inserted.push(entry.code.as_str());
            }
            Some(stored) if !entry.same_as(&stored) => {
                tx.update_procedure(entry, now).await?;
                updated.push(entry.code.as_str());
            }
            Some(_) => {}
        }
    }
    let rows = entries.len() as u64;
    let unchanged = rows - inserted.len() as u64 - updated.len() as u64;
    let entry = append(
        tx,
        AuditRecord {
            actor,
            action: "procedure.import",
            object_kind: "catalogue",
            object_id: sha256,
            details: serde_json::json!({
                "source": source,
                "rows": rows,
                "inserted": inserted,
                "updated": updated,
                "unchanged": unchanged,
            }),
        },
        now,
    )
    .await?;
    Ok(ImportReport {
        source: source.to_owned(),
        sha256: sha256.to_owned(),
        rows,
        inserted: inserted.len() as u64,
        updated: updated.len() as u64,
        unchanged,
        audit_seq: entry.seq,
    })
}

// ---- listing ------------------------------------------------------------------------------

/// Most procedures one [`Archive::procedures`] call returns.
pub const MAX_PROCEDURE_PAGE: usize = 200;
/// Rows read per round trip while matching (done in Rust: the folding of `search::fold` has
/// no SQL equivalent on SQLite; a catalogue holds a few thousand rows).
const PROCEDURE_SCAN_PAGE: i64 = 500;

trait ListTx {
    async fn procedure_page(
        &mut self,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Procedure>, sqlx::Error>;
}

macro_rules! impl_list_tx {
    ($db:ty) => {
        impl ListTx for sqlx::Transaction<'_, $db> {
            async fn procedure_page(
                &mut self,
                limit: i64,
                offset: i64,
            ) -> Result<Vec<Procedure>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT procedure_id, code, name, field, level, processing_days,
                         competent_agency, created_at, updated_at
                     FROM procedures ORDER BY code LIMIT $1 OFFSET $2",
                )
                .bind(limit)
                .bind(offset)
                .fetch_all(&mut **self)
                .await
            }
        }
    };
}

impl_list_tx!(sqlx::Postgres);
impl_list_tx!(sqlx::Sqlite);

/// Whether `procedure` answers the folded, space-normalized `needle`: its code starts with
/// it, or its name or field contains it.
fn procedure_matches(procedure: &Procedure, needle: &str) -> bool {
    let folded = |text: &str| {
        super::search::fold(text)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    procedure.code.starts_with(needle)
        || folded(&procedure.name).contains(needle)
        || procedure
            .field
            .as_deref()
            .is_some_and(|field| folded(field).contains(needle))
}

async fn matching<T: ListTx>(
    tx: &mut T,
    needle: &str,
    limit: usize,
) -> Result<Vec<Procedure>, ArchiveError> {
    let mut found = Vec::new();
    let mut offset = 0;
    loop {
        let rows = tx.procedure_page(PROCEDURE_SCAN_PAGE, offset).await?;
        let last_page = (rows.len() as i64) < PROCEDURE_SCAN_PAGE;
        for procedure in rows {
            if needle.is_empty() || procedure_matches(&procedure, needle) {
                found.push(procedure);
                if found.len() == limit {
                    return Ok(found);
                }
            }
        }
        if last_page {
            return Ok(found);
        }
        offset += PROCEDURE_SCAN_PAGE;
    }
}

impl Archive {
    /// Procedures of the catalogue for a picker, by code: those whose code starts with
    /// `query` or whose name or field contains it, compared folded (`khai sinh` finds
    /// `Đăng ký khai sinh`); every procedure when `query` is blank. At most `limit`
    /// (1 to [`MAX_PROCEDURE_PAGE`]; larger values are lowered to it).
    ///
    /// # Errors
    /// [`ArchiveError::FieldInvalid`] (a limit of 0, a query longer than 200 characters),
    /// [`ArchiveError::Database`].
    pub async fn procedures(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Procedure>, ArchiveError> {
        if limit == 0 {
            return Err(ArchiveError::FieldInvalid {
                field: "limit",
                value: limit.to_string(),
                reason: "at least 1".to_owned(),
            });
        }
        if query.chars().count() > 200 {
            return Err(ArchiveError::FieldInvalid {
                field: "q",
                value: query.chars().take(200).collect(),
                reason: "longer than 200 characters".to_owned(),
            });
        }
        let needle = super::search::fold(query)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let limit = limit.min(MAX_PROCEDURE_PAGE);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let found = matching(&mut tx, &needle, limit).await?;
            tx.commit().await?;
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(result: Result<Vec<(u64, ProcedureEntry)>, ArchiveError>) -> Vec<RowProblem> {
        match result {
            Err(ArchiveError::CatalogueInvalid { problems }) => problems,
            other => panic!("expected row problems, got {other:?}"),
        }
    }

    #[test]
    fn csv_rows_are_read_with_vietnamese_headers_and_line_numbers() {
        let csv = "\u{feff}Mã thủ tục;Tên thủ tục;Lĩnh vực;Thời hạn giải quyết;Ghi chú\n\
                   1.001193;Đăng ký khai sinh;Hộ tịch;05 ngày làm việc;x\n\
                   \n\
                   2.002710;\"Cấp giấy phép; xây dựng\";Xây dựng;15;\n";
        let rows = parse_catalogue(csv.as_bytes(), CatalogueFormat::Csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 2);
        assert_eq!(rows[0].1.code.as_str(), "1.001193");
        assert_eq!(rows[0].1.processing_days, 5);
        assert_eq!(rows[0].1.field.as_deref(), Some("Hộ tịch"));
        assert_eq!(rows[0].1.level, None);
        assert_eq!(rows[1].0, 4);
        assert_eq!(rows[1].1.name, "Cấp giấy phép; xây dựng");
    }

    #[test]
    fn every_bad_csv_row_is_reported_by_the_line_it_starts_on() {
        let csv = "code,name,processing_days\n\
                   1.001193,\"Tên có\nxuống dòng\",5\n\
                   1.00119,Sai mã,5\n\
                   1.001194,,5\n\
                   1.001195,Thời hạn lạ,năm ngày\n\
                   1.001193,Trùng mã,5\n";
        let found = problems(parse_catalogue(csv.as_bytes(), CatalogueFormat::Csv));
        let lines: Vec<(u64, &RowIssue)> = found.iter().map(|p| (p.line, &p.issue)).collect();
        assert_eq!(
            lines,
            vec![
                (
                    4,
                    &RowIssue::CodeInvalid {
                        value: "1.00119".to_owned()
                    }
                ),
                (5, &RowIssue::Missing { column: "name" }),
                (
                    6,
                    &RowIssue::DaysInvalid {
                        value: "năm ngày".to_owned()
                    }
                ),
                (
                    7,
                    &RowIssue::Duplicate {
                        code: "1.001193".to_owned(),
                        first_line: 2
                    }
                ),
            ]
        );
    }

    #[test]
    fn a_header_without_a_required_column_is_refused_whole() {
        let result = parse_catalogue(b"code,name\n1.001193,x\n", CatalogueFormat::Csv);
        assert!(matches!(
            result,
            Err(ArchiveError::CatalogueUnreadable { .. })
        ));
        let latin1 = b"code,name,processing_days\n1.001193,\xe9,5\n";
        let found = problems(parse_catalogue(latin1, CatalogueFormat::Csv));
        assert_eq!(found[0].line, 2);
        assert!(matches!(found[0].issue, RowIssue::Unreadable { .. }));
    }

    #[test]
    fn json_rows_are_located_by_line_and_type_checked() {
        let json = r#"{"procedures": [
  {"code": "1.001193", "name": "Đăng ký khai sinh", "processing_days": 5,
   "field": "Hộ tịch"},
  {"code": "1.0011", "name": "Sai", "processing_days": 3},
  {"code": "2.002710", "name": "Giấy phép", "processing_days": [1]},
  "1.001194"
]}"#;
        let found = problems(parse_catalogue(json.as_bytes(), CatalogueFormat::Json));
        let lines: Vec<u64> = found.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![4, 5, 6]);
        assert_eq!(
            found[1].issue,
            RowIssue::WrongType {
                column: "processing_days"
            }
        );
        assert_eq!(found[2].issue, RowIssue::NotAnObject);

        let good = r#"[{"code": "1.001193", "name": "Khai sinh", "processing_days": "3"}]"#;
        let rows = parse_catalogue(good.as_bytes(), CatalogueFormat::Json).unwrap();
        assert_eq!(rows[0].1.processing_days, 3);
    }

    #[test]
    fn the_format_is_taken_from_the_name_then_the_content() {
        assert_eq!(
            CatalogueFormat::detect("a.JSON", b"x"),
            CatalogueFormat::Json
        );
        assert_eq!(
            CatalogueFormat::detect("a.csv", b"[]"),
            CatalogueFormat::Csv
        );
        assert_eq!(
            CatalogueFormat::detect("-", b"\xEF\xBB\xBF  [{}]"),
            CatalogueFormat::Json
        );
        assert_eq!(
            CatalogueFormat::detect("a.txt", b"code,"),
            CatalogueFormat::Csv
        );
    }
}

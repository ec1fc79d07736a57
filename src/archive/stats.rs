//! Statistics of dossier handling for a period (`hoso stats`, vn-standards.md §5): the
//! counters of the TT 01/2018 report template (received, resolved early / on time / late,
//! pending in time / overdue), the on-time rates, and the digitization indicators of
//! Decision 766 (digitized dossiers, digitized results, digitally signed results).
//!
//! # The period
//! `[from, to]` are Vietnam calendar dates, both included: the period runs from `from`
//! 00:00:00 to `to` 23:59:59 Vietnam time (UTC+7). Stored times are whole seconds, so "at or
//! before 23:59:59" leaves nothing out.
//!
//! # What is counted (per dossier)
//! A dossier is *closed* when it is resolved — approved or rejected, at `resolved_at` — or
//! withdrawn, at the time of its `withdrawn` event in `dossier_events`. `returned` (the result
//! handed over) does not change anything here: the decision was taken at `resolved_at`.
//! - `carried_over`: received before the period and not closed before it starts;
//! - `received_online`, `received_in_person_or_postal`: received within the period, by
//!   channel; `received_total = carried_over + received_online + received_in_person_or_postal`;
//! - resolved within the period (`resolved_at` in it), split by the due time `due_at`:
//!   `resolved_early` when the Vietnam date of `resolved_at` is before that of `due_at`,
//!   `resolved_on_time` on the due date at or before `due_at`, `resolved_late` after
//!   `due_at`; `resolved_total` is their sum, also split into `resolved_approved` and
//!   `resolved_rejected`;
//! - `withdrawn`: withdrawn within the period ("rút hồ sơ" in the TT 01/2018 template). A
//!   withdrawal is not a resolution: it is neither on time nor late, so it is counted apart
//!   and left out of both on-time rates;
//! - pending at the end of the period (not closed by then): `pending_in_time` when `due_at`
//!   is at or after the end of the period (due on the last day or later),
//!   `pending_overdue` otherwise; `pending_total` is their sum.
//!
//! Every dossier counted is either closed within the period or still pending at its end, so
//! `received_total = resolved_total + withdrawn + pending_total` (the §5.1 balance check with
//! withdrawals as their own term); `carried_over` of a period equals `pending_total` of the
//! period before it.
//!
//! # Rates
//! Percentages rounded to two decimals; `None` (JSON `null`) when the denominator is 0.
//! - `on_time_rate` (report template): `(early + on_time) / resolved_total × 100`;
//! - `on_time_rate_system` (system-wide, as used for Decision 766):
//!   `(early + on_time + pending_in_time) / (received_total − withdrawn) × 100`. §5.1's
//!   `received_total` is `completed + pending` (its balance check), which a withdrawn
//!   dossier is neither, hence `− withdrawn`;
//! - `input_digitization_rate`: dossiers received within the period in person or by post
//!   that have at least one `input` document / those dossiers (`received_in_person_or_postal`).
//!   Online dossiers need no digitization (TT 03/2025 Art. 5(2)(a)) and are left out;
//! - `result_digitization_rate`: dossiers approved within the period that have a `result`
//!   document (`result_digitized`) / dossiers approved within the period
//!   (`resolved_approved`). A refusal is not a TTHC result;
//! - `signed_result_share`: of those `result_digitized` dossiers, the ones with at least one
//!   result document whose newest content carries a valid signature (`results_signed`).
//!   "Carries a signature" prefers the archive's own verdict: when a verification report is
//!   stored for that content (a version of the document with the same SHA-256), the newest
//!   such report decides, and it must have found at least one signature that is
//!   TOTAL-PASSED; with no stored report, the content counts as signed when a version of the
//!   document with that SHA-256 was made by signing or extending (kind `signed` or
//!   `extended`). A later OCR or other content change therefore makes the result unsigned,
//!   while a metadata-only version keeps the verdict of the content it repeats.
//!
//! # As of the end of the period
//! Everything is judged with what was stored by the end of the period: documents, versions
//! and verification reports created later are ignored, like dossier steps taken later.
//! Dossier steps, documents, versions and reports are append-only, so running the report
//! for a past period again gives the same numbers.
//!
//! # Grouping
//! `by`: the procedure's field (lĩnh vực; `None` for procedures without one), the procedure
//! (code, with its name), or the unit (the handling agency's code on the dossier). Groups
//! partition the dossiers, so the total row is the sum of the group rows; rows are sorted by
//! key (bytewise, so both backends give the same order), the group without a key last.
//!
//! # SQL
//! One aggregate statement per grouping, run in one read transaction: a `facts` CTE derives
//! each dossier's closing time and document flags (EXISTS over the indexed
//! `documents(dossier_id)`), the outer query counts with `COUNT(CASE WHEN … THEN 1 END)` and
//! `GROUP BY`. The text is the same on both backends except the expression for "the Vietnam
//! date of an instant" (SQLite keeps times as RFC 3339 text, PostgreSQL as TIMESTAMPTZ);
//! period bounds are bound as UTC `OffsetDateTime` values and compared in SQL.

use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Sqlite, Transaction};
use time::{Date, OffsetDateTime, Time, UtcOffset};

use super::calendar::{VIETNAM, end_of_day};
use super::tx::Begin;
use super::{Archive, ArchiveError, Db};

/// How to split the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// Lĩnh vực of the procedure (e.g. Hộ tịch).
    Field,
    /// Thủ tục hành chính, by its national code.
    Procedure,
    /// Đơn vị: the handling agency (mã định danh) of the dossier.
    Unit,
}

impl Grouping {
    pub const ALL: [Grouping; 3] = [Grouping::Field, Grouping::Procedure, Grouping::Unit];

    pub fn as_str(self) -> &'static str {
        match self {
            Grouping::Field => "field",
            Grouping::Procedure => "procedure",
            Grouping::Unit => "unit",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == text)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Grouping::Field => "lĩnh vực",
            Grouping::Procedure => "thủ tục",
            Grouping::Unit => "đơn vị",
        }
    }
}

/// The period (Vietnam dates, both included) and the grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsQuery {
    pub from: Date,
    pub to: Date,
    pub by: Option<Grouping>,
}

/// The counters and rates of one group, or of everything (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    /// The field, procedure code or agency code; `None` for the total, and for procedures
    /// without a field.
    pub key: Option<String>,
    /// The procedure's name (grouping by procedure only).
    pub name: Option<String>,
    pub carried_over: u64,
    pub received_online: u64,
    pub received_in_person_or_postal: u64,
    pub received_total: u64,
    pub resolved_early: u64,
    pub resolved_on_time: u64,
    pub resolved_late: u64,
    pub resolved_total: u64,
    pub resolved_approved: u64,
    pub resolved_rejected: u64,
    pub withdrawn: u64,
    pub pending_in_time: u64,
    pub pending_overdue: u64,
    pub pending_total: u64,
    /// Of `received_in_person_or_postal`: those with an `input` document.
    pub input_digitized: u64,
    /// Of `resolved_approved`: those with a `result` document.
    pub result_digitized: u64,
    /// Of `result_digitized`: those with a validly signed result.
    pub results_signed: u64,
    /// `(early + on_time) / resolved_total × 100`.
    pub on_time_rate: Option<f64>,
    /// `(early + on_time + pending_in_time) / (received_total − withdrawn) × 100`.
    pub on_time_rate_system: Option<f64>,
    /// `input_digitized / received_in_person_or_postal × 100`.
    pub input_digitization_rate: Option<f64>,
    /// `result_digitized / resolved_approved × 100`.
    pub result_digitization_rate: Option<f64>,
    /// `results_signed / result_digitized × 100`.
    pub signed_result_share: Option<f64>,
}

/// The statistics of a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statistics {
    #[serde(with = "super::calendar::iso_date")]
    pub from: Date,
    #[serde(with = "super::calendar::iso_date")]
    pub to: Date,
    pub by: Option<Grouping>,
    /// One row per group (empty without a grouping).
    pub rows: Vec<StatsRow>,
    pub total: StatsRow,
}

/// `100 × part / whole`, rounded to two decimals; `None` when `whole` is 0.
pub fn rate(part: u64, whole: u64) -> Option<f64> {
    if whole == 0 {
        return None;
    }
    // Counts are far below 2^53, so the conversions are exact.
    let percent = part as f64 * 100.0 / whole as f64;
    Some((percent * 100.0).round() / 100.0)
}

/// The counters one statement returns per group.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub(super) struct CounterRow {
    pub group_key: Option<String>,
    pub group_name: Option<String>,
    pub carried_over: i64,
    pub received_online: i64,
    pub received_in_person_or_postal: i64,
    pub resolved_early: i64,
    pub resolved_on_time: i64,
    pub resolved_late: i64,
    pub resolved_approved: i64,
    pub resolved_rejected: i64,
    pub withdrawn: i64,
    pub pending_in_time: i64,
    pub pending_overdue: i64,
    pub input_digitized: i64,
    pub result_digitized: i64,
    pub results_signed: i64,
}

impl CounterRow {
    fn add(&mut self, other: &CounterRow) {
        self.carried_over += other.carried_over;
        self.received_online += other.received_online;
        self.received_in_person_or_postal += other.received_in_person_or_postal;
        self.resolved_early += other.resolved_early;
        self.resolved_on_time += other.resolved_on_time;
        self.resolved_late += other.resolved_late;
        self.resolved_approved += other.resolved_approved;
        self.resolved_rejected += other.resolved_rejected;
        self.withdrawn += other.withdrawn;
        self.pending_in_time += other.pending_in_time;
        self.pending_overdue += other.pending_overdue;
        self.input_digitized += other.input_digitized;
        self.result_digitized += other.result_digitized;
        self.results_signed += other.results_signed;
    }

    fn to_row(&self) -> Result<StatsRow, ArchiveError> {
        let count = |value: i64| {
            u64::try_from(value).map_err(|_| ArchiveError::Corrupt {
                what: format!("negative count {value} in the statistics"),
            })
        };
        let carried_over = count(self.carried_over)?;
        let received_online = count(self.received_online)?;
        let received_in_person_or_postal = count(self.received_in_person_or_postal)?;
        let resolved_early = count(self.resolved_early)?;
        let resolved_on_time = count(self.resolved_on_time)?;
        let resolved_late = count(self.resolved_late)?;
        let resolved_approved = count(self.resolved_approved)?;
        let resolved_rejected = count(self.resolved_rejected)?;
        let withdrawn = count(self.withdrawn)?;
        let pending_in_time = count(self.pending_in_time)?;
        let pending_overdue = count(self.pending_overdue)?;
        let input_digitized = count(self.input_digitized)?;
        let result_digitized = count(self.result_digitized)?;
        let results_signed = count(self.results_signed)?;
        let received_total = carried_over + received_online + received_in_person_or_postal;
        let resolved_total = resolved_early + resolved_on_time + resolved_late;
        let pending_total = pending_in_time + pending_overdue;
        Ok(StatsRow {
            key: self.group_key.clone(),
            name: self.group_name.clone(),
            carried_over,
            received_online,
            received_in_person_or_postal,
            received_total,
            resolved_early,
            resolved_on_time,
            resolved_late,
            resolved_total,
            resolved_approved,
            resolved_rejected,
            withdrawn,
            pending_in_time,
            pending_overdue,
            pending_total,
            input_digitized,
            result_digitized,
            results_signed,
            on_time_rate: rate(resolved_early + resolved_on_time, resolved_total),
            on_time_rate_system: rate(
                resolved_early + resolved_on_time + pending_in_time,
                resolved_total + pending_total,
            ),
            input_digitization_rate: rate(input_digitized, received_in_person_or_postal),
            result_digitization_rate: rate(result_digitized, resolved_approved),
            signed_result_share: rate(results_signed, result_digitized),
        })
    }
}

/// The statistics statement. `$1` is the start of the period, `$2` its last second (both UTC
/// instants). `$day_open`/`$day_close` wrap a column into its Vietnam calendar date (the one
/// backend-specific piece); `$key`/`$name` name the group and `$group_by` is the GROUP BY
/// clause (empty for the total).
///
/// `facts` keeps the dossiers that matter for the period: received by its end and not
/// resolved before its start (withdrawals before the start are dropped in the outer WHERE,
/// once their time is known). The signature test takes, per result document, its newest
/// version stored by the end of the period and asks the newest stored report of that
/// content (COALESCE: NULL when there is none), else the kinds of the versions with that
/// content.
macro_rules! statistics_sql {
    ($day_open:literal, $day_close:literal, $key:literal, $name:literal, $group_by:literal) => {
        concat!(
            "WITH facts AS (
    SELECT d.procedure_id, d.agency_code, d.channel, d.received_at, d.due_at,
        d.resolved_at, d.outcome,
        CASE WHEN d.status = 'withdrawn' THEN
            (SELECT MIN(e.at) FROM dossier_events e
             WHERE e.dossier_id = d.dossier_id AND e.to_status = 'withdrawn')
        END AS withdrawn_at,
        CASE WHEN ",
            $day_open,
            "d.resolved_at",
            $day_close,
            " < ",
            $day_open,
            "d.due_at",
            $day_close,
            " THEN 1 ELSE 0 END AS before_due_day,
        CASE WHEN d.channel <> 'online' AND d.received_at >= $1 AND EXISTS (
            SELECT 1 FROM documents doc
            WHERE doc.dossier_id = d.dossier_id AND doc.role = 'input'
                AND doc.created_at <= $2)
        THEN 1 ELSE 0 END AS has_input,
        CASE WHEN d.outcome = 'approved' AND d.resolved_at <= $2 AND EXISTS (
            SELECT 1 FROM documents doc
            WHERE doc.dossier_id = d.dossier_id AND doc.role = 'result'
                AND doc.created_at <= $2)
        THEN 1 ELSE 0 END AS has_result,
        CASE WHEN d.outcome = 'approved' AND d.resolved_at <= $2 AND EXISTS (
            SELECT 1 FROM documents doc
            JOIN document_versions v ON v.document_id = doc.document_id
            WHERE doc.dossier_id = d.dossier_id AND doc.role = 'result'
                AND doc.created_at <= $2
                AND v.version = (SELECT MAX(v2.version) FROM document_versions v2
                                 WHERE v2.document_id = doc.document_id
                                     AND v2.created_at <= $2)
                AND COALESCE(
                    (SELECT CASE WHEN EXISTS (
                                SELECT 1 FROM signatures s
                                WHERE s.report_id = r.report_id
                                    AND s.indication = 'TOTAL-PASSED')
                            THEN 1 ELSE 0 END
                     FROM verification_reports r
                     JOIN document_versions rv ON rv.version_id = r.version_id
                     WHERE rv.document_id = doc.document_id AND rv.sha256 = v.sha256
                         AND r.checked_at <= $2
                     ORDER BY r.report_id DESC LIMIT 1),
                    (SELECT CASE WHEN EXISTS (
                                SELECT 1 FROM document_versions kv
                                WHERE kv.document_id = doc.document_id
                                    AND kv.sha256 = v.sha256
                                    AND kv.kind IN ('signed', 'extended')
                                    AND kv.created_at <= $2)
                            THEN 1 ELSE 0 END)
                ) = 1)
        THEN 1 ELSE 0 END AS has_signed_result
    FROM dossiers d
    WHERE d.received_at <= $2 AND (d.resolved_at IS NULL OR d.resolved_at >= $1)
)
SELECT ",
            $key,
            " AS group_key, ",
            $name,
            " AS group_name,
    COUNT(CASE WHEN f.received_at < $1 THEN 1 END) AS carried_over,
    COUNT(CASE WHEN f.received_at >= $1 AND f.channel = 'online' THEN 1 END)
        AS received_online,
    COUNT(CASE WHEN f.received_at >= $1 AND f.channel <> 'online' THEN 1 END)
        AS received_in_person_or_postal,
    COUNT(CASE WHEN f.resolved_at <= $2 AND f.resolved_at <= f.due_at
        AND f.before_due_day = 1 THEN 1 END) AS resolved_early,
    COUNT(CASE WHEN f.resolved_at <= $2 AND f.resolved_at <= f.due_at
        AND f.before_due_day = 0 THEN 1 END) AS resolved_on_time,
    COUNT(CASE WHEN f.resolved_at <= $2 AND f.resolved_at > f.due_at THEN 1 END)
        AS resolved_late,
    COUNT(CASE WHEN f.resolved_at <= $2 AND f.outcome = 'approved' THEN 1 END)
        AS resolved_approved,
    COUNT(CASE WHEN f.resolved_at <= $2 AND f.outcome = 'rejected' THEN 1 END)
        AS resolved_rejected,
    COUNT(CASE WHEN f.withdrawn_at <= $2 THEN 1 END) AS withdrawn,
    COUNT(CASE WHEN (f.resolved_at IS NULL OR f.resolved_at > $2)
        AND (f.withdrawn_at IS NULL OR f.withdrawn_at > $2)
        AND f.due_at >= $2 THEN 1 END) AS pending_in_time,
    COUNT(CASE WHEN (f.resolved_at IS NULL OR f.resolved_at > $2)
        AND (f.withdrawn_at IS NULL OR f.withdrawn_at > $2)
        AND f.due_at < $2 THEN 1 END) AS pending_overdue,
    COUNT(CASE WHEN f.has_input = 1 THEN 1 END) AS input_digitized,
    COUNT(CASE WHEN f.has_result = 1 THEN 1 END) AS result_digitized,
    COUNT(CASE WHEN f.has_signed_result = 1 THEN 1 END) AS results_signed
FROM facts f
JOIN procedures p ON p.procedure_id = f.procedure_id
WHERE f.withdrawn_at IS NULL OR f.withdrawn_at >= $1
",
            $group_by
        )
    };
}

/// The statements for one backend, given its "Vietnam date of a column" wrapping.
macro_rules! statistics_statements {
    ($day_open:literal, $day_close:literal) => {
        [
            statistics_sql!(
                $day_open,
                $day_close,
                "CAST(NULL AS TEXT)",
                "CAST(NULL AS TEXT)",
                ""
            ),
            statistics_sql!(
                $day_open,
                $day_close,
                "p.field",
                "CAST(NULL AS TEXT)",
                "GROUP BY p.field"
            ),
            statistics_sql!(
                $day_open,
                $day_close,
                "p.code",
                "p.name",
                "GROUP BY p.code, p.name"
            ),
            statistics_sql!(
                $day_open,
                $day_close,
                "f.agency_code",
                "CAST(NULL AS TEXT)",
                "GROUP BY f.agency_code"
            ),
        ]
    };
}

/// SQLite: times are RFC 3339 text in UTC, which `date()` reads ('Z' included).
const SQLITE_STATEMENTS: [&str; 4] = statistics_statements!("date(", ", '+7 hours')");
/// PostgreSQL: TIMESTAMPTZ; taken to UTC wall time first so the session time zone plays no
/// part (a POSIX zone name such as 'UTC+7' would mean UTC−7).
const POSTGRES_STATEMENTS: [&str; 4] = statistics_statements!(
    "CAST((",
    " AT TIME ZONE 'UTC') + INTERVAL '7 hours' AS DATE)"
);

fn statement_index(by: Option<Grouping>) -> usize {
    match by {
        None => 0,
        Some(Grouping::Field) => 1,
        Some(Grouping::Procedure) => 2,
        Some(Grouping::Unit) => 3,
    }
}

/// The statements of this module, on an open transaction of either backend.
pub(super) trait StatsTx {
    /// One row per group (one row in all without a grouping), counted between `start` and
    /// `last` (both included).
    async fn counter_rows(
        &mut self,
        by: Option<Grouping>,
        start: OffsetDateTime,
        last: OffsetDateTime,
    ) -> Result<Vec<CounterRow>, sqlx::Error>;
}

macro_rules! impl_stats_tx {
    ($db:ty, $statements:expr) => {
        impl StatsTx for Transaction<'_, $db> {
            async fn counter_rows(
                &mut self,
                by: Option<Grouping>,
                start: OffsetDateTime,
                last: OffsetDateTime,
            ) -> Result<Vec<CounterRow>, sqlx::Error> {
                sqlx::query_as($statements[statement_index(by)])
                    .bind(start)
                    .bind(last)
                    .fetch_all(&mut **self)
                    .await
            }
        }
    };
}

impl_stats_tx!(Sqlite, SQLITE_STATEMENTS);
impl_stats_tx!(Postgres, POSTGRES_STATEMENTS);

/// The first and the last second of the period, as UTC instants.
///
/// # Errors
/// [`ArchiveError::FieldInvalid`] when `from` is after `to` or a date is outside 1900–9999.
pub fn period_bounds(
    from: Date,
    to: Date,
) -> Result<(OffsetDateTime, OffsetDateTime), ArchiveError> {
    for (field, day) in [("from", from), ("to", to)] {
        if !(1900..=9999).contains(&day.year()) {
            return Err(ArchiveError::FieldInvalid {
                field,
                value: day.to_string(),
                reason: "expected a date from 1900-01-01 to 9999-12-31".to_owned(),
            });
        }
    }
    if from > to {
        return Err(ArchiveError::FieldInvalid {
            field: "from",
            value: from.to_string(),
            reason: format!("the period starts after it ends ({to})"),
        });
    }
    let start = from
        .with_time(Time::MIDNIGHT)
        .assume_offset(VIETNAM)
        .to_offset(UtcOffset::UTC);
    Ok((start, end_of_day(to)))
}

async fn statistics<T: StatsTx>(
    tx: &mut T,
    query: &StatsQuery,
) -> Result<Statistics, ArchiveError> {
    let (start, last) = period_bounds(query.from, query.to)?;
    let groups = tx.counter_rows(query.by, start, last).await?;
    let mut sum = CounterRow::default();
    for group in &groups {
        sum.add(group);
    }
    let mut rows = Vec::new();
    if query.by.is_some() {
        rows = groups
            .iter()
            .map(CounterRow::to_row)
            .collect::<Result<Vec<_>, _>>()?;
        // None last, then bytewise: the same order on both backends whatever their collation.
        rows.sort_by(|a, b| match (&a.key, &b.key) {
            (Some(a), Some(b)) => a.as_bytes().cmp(b.as_bytes()),
            (a, b) => a.is_none().cmp(&b.is_none()),
        });
    }
    Ok(Statistics {
        from: query.from,
        to: query.to,
        by: query.by,
        rows,
        total: sum.to_row()?,
    })
}

// ---- CSV and months -----------------------------------------------------------------------

/// The columns of [`Statistics::to_csv`], in order; [`csv_values`] gives a row's values.
pub const CSV_HEADER: [&str; 27] = [
    "from",
    "to",
    "scope",
    "key",
    "name",
    "carried_over",
    "received_online",
    "received_in_person_or_postal",
    "received_total",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "resolved_total",
    "resolved_approved",
    "resolved_rejected",
    "withdrawn",
    "pending_in_time",
    "pending_overdue",
    "pending_total",
    "input_digitized",
    "result_digitized",
    "results_signed",
    "on_time_rate",
    "on_time_rate_system",
    "input_digitization_rate",
    "result_digitization_rate",
    "signed_result_share",
];

/// One CSV record: `scope` is the grouping (`field`, `procedure`, `unit`) or `total`; a
/// missing key, name or rate is an empty field.
fn csv_values(stats: &Statistics, scope: &str, row: &StatsRow) -> [String; 27] {
    let rate = |r: Option<f64>| r.map(|r| r.to_string()).unwrap_or_default();
    [
        stats.from.to_string(),
        stats.to.to_string(),
        scope.to_owned(),
        row.key.clone().unwrap_or_default(),
        row.name.clone().unwrap_or_default(),
        row.carried_over.to_string(),
        row.received_online.to_string(),
        row.received_in_person_or_postal.to_string(),
        row.received_total.to_string(),
        row.resolved_early.to_string(),
        row.resolved_on_time.to_string(),
        row.resolved_late.to_string(),
        row.resolved_total.to_string(),
        row.resolved_approved.to_string(),
        row.resolved_rejected.to_string(),
        row.withdrawn.to_string(),
        row.pending_in_time.to_string(),
        row.pending_overdue.to_string(),
        row.pending_total.to_string(),
        row.input_digitized.to_string(),
        row.result_digitized.to_string(),
        row.results_signed.to_string(),
        rate(row.on_time_rate),
        rate(row.on_time_rate_system),
        rate(row.input_digitization_rate),
        rate(row.result_digitization_rate),
        rate(row.signed_result_share),
    ]
}

impl Statistics {
    /// The statistics as CSV (`hoso stats --format csv`, `GET /api/v1/stats?format=csv`):
    /// UTF-8, a header row of [`CSV_HEADER`] names, one row per group then the total; a
    /// missing key, name or rate is an empty field.
    ///
    /// # Errors
    /// None in practice (the writer writes to memory); an I/O error of the CSV writer.
    pub fn to_csv(&self) -> std::io::Result<String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(CSV_HEADER)?;
        let scope = self.by.map(Grouping::as_str).unwrap_or("total");
        for row in &self.rows {
            writer.write_record(csv_values(self, scope, row))?;
        }
        writer.write_record(csv_values(self, "total", &self.total))?;
        let bytes = writer.into_inner().map_err(|e| e.into_error())?;
        String::from_utf8(bytes).map_err(std::io::Error::other)
    }
}

/// Longest span [`Archive::monthly_statistics`] covers, in months (ten years).
pub const MAX_MONTHS: usize = 120;

/// The rates of one calendar month (the dashboard's charts), computed by
/// [`Archive::statistics`] for that month's days within the period asked for, with the same
/// formulas (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyRow {
    /// `YYYY-MM`.
    pub month: String,
    /// The month's days within the period (the first and last months may be partial).
    #[serde(with = "super::calendar::iso_date")]
    pub from: Date,
    #[serde(with = "super::calendar::iso_date")]
    pub to: Date,
    pub received_total: u64,
    pub resolved_total: u64,
    pub on_time_rate: Option<f64>,
    pub on_time_rate_system: Option<f64>,
    pub input_digitization_rate: Option<f64>,
    pub result_digitization_rate: Option<f64>,
    pub signed_result_share: Option<f64>,
}

/// The months of `[from, to]`, each as its first and last day within the period.
///
/// # Errors
/// [`ArchiveError::FieldInvalid`] for a period that is not one (as [`period_bounds`]) or
/// longer than [`MAX_MONTHS`].
pub fn months_of(from: Date, to: Date) -> Result<Vec<(Date, Date)>, ArchiveError> {
    period_bounds(from, to)?;
    let mut months = Vec::new();
    let mut start = from;
    loop {
        let (year, month) = (start.year(), start.month());
        let last_of_month =
            Date::from_calendar_date(year, month, month.length(year)).map_err(|e| {
                ArchiveError::FieldInvalid {
                    field: "from",
                    value: start.to_string(),
                    reason: e.to_string(),
                }
            })?;
        let end = last_of_month.min(to);
        months.push((start, end));
        if months.len() > MAX_MONTHS {
            return Err(ArchiveError::FieldInvalid {
                field: "to",
                value: to.to_string(),
                reason: format!("the period is longer than {MAX_MONTHS} months"),
            });
        }
        match end.next_day() {
            Some(next) if end < to => start = next,
            _ => break,
        }
    }
    Ok(months)
}

impl Archive {
    /// The statistics of a period, per group and in total (module documentation), from one
    /// consistent snapshot of the database.
    ///
    /// # Errors
    /// [`ArchiveError::FieldInvalid`] (the period), [`ArchiveError::Database`].
    pub async fn statistics(&self, query: &StatsQuery) -> Result<Statistics, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let stats = statistics(&mut tx, query).await?;
            tx.rollback().await?;
            Ok(stats)
        })
    }

    /// The rates of each month of `[from, to]` (first and last months cut to the period),
    /// oldest first, from one consistent snapshot of the database.
    ///
    /// # Errors
    /// [`ArchiveError::FieldInvalid`] (the period, see [`months_of`]),
    /// [`ArchiveError::Database`].
    pub async fn monthly_statistics(
        &self,
        from: Date,
        to: Date,
    ) -> Result<Vec<MonthlyRow>, ArchiveError> {
        let months = months_of(from, to)?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let mut rows = Vec::with_capacity(months.len());
            for &(from, to) in &months {
                let stats = statistics(&mut tx, &StatsQuery { from, to, by: None }).await?;
                let total = stats.total;
                rows.push(MonthlyRow {
                    month: format!("{:04}-{:02}", from.year(), u8::from(from.month())),
                    from,
                    to,
                    received_total: total.received_total,
                    resolved_total: total.resolved_total,
                    on_time_rate: total.on_time_rate,
                    on_time_rate_system: total.on_time_rate_system,
                    input_digitization_rate: total.input_digitization_rate,
                    result_digitization_rate: total.result_digitization_rate,
                    signed_result_share: total.signed_result_share,
                });
            }
            tx.rollback().await?;
            Ok(rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn rates_are_percentages_rounded_to_two_decimals_and_none_without_a_denominator() {
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(3, 0), None);
        assert_eq!(rate(0, 5), Some(0.0));
        assert_eq!(rate(2, 3), Some(66.67));
        assert_eq!(rate(1, 3), Some(33.33));
        assert_eq!(rate(7, 7), Some(100.0));
    }

    #[test]
    fn the_period_runs_from_midnight_to_the_last_second_in_vietnam() {
        let (start, last) = period_bounds(date!(2026 - 01 - 01), date!(2026 - 03 - 31)).unwrap();
        assert_eq!(start, datetime!(2025-12-31 17:00 UTC));
        assert_eq!(last, datetime!(2026-03-31 16:59:59 UTC));
        assert_eq!(start.offset(), UtcOffset::UTC);
        let one_day = period_bounds(date!(2026 - 02 - 10), date!(2026 - 02 - 10)).unwrap();
        assert_eq!(one_day.1 - one_day.0, time::Duration::seconds(86_399));
        for (from, to) in [
            (date!(2026 - 04 - 01), date!(2026 - 03 - 31)),
            (date!(1899 - 12 - 31), date!(2026 - 03 - 31)),
        ] {
            assert!(matches!(
                period_bounds(from, to),
                Err(ArchiveError::FieldInvalid { .. })
            ));
        }
    }

    #[test]
    fn each_grouping_has_its_statement_on_both_backends() {
        for by in [
            None,
            Some(Grouping::Field),
            Some(Grouping::Procedure),
            Some(Grouping::Unit),
        ] {
            let sqlite = SQLITE_STATEMENTS[statement_index(by)];
            let postgres = POSTGRES_STATEMENTS[statement_index(by)];
            assert_eq!(sqlite.contains("GROUP BY"), by.is_some());
            // Only the date expression differs.
            assert_eq!(
                sqlite.replace("date(", "").replace(", '+7 hours')", ""),
                postgres
                    .replace("CAST((", "")
                    .replace(" AT TIME ZONE 'UTC') + INTERVAL '7 hours' AS DATE)", "")
            );
        }
        for g in Grouping::ALL {
            assert_eq!(Grouping::parse(g.as_str()), Some(g));
        }
    }

    #[test]
    fn months_cover_the_period_cut_at_both_ends() {
        let months = months_of(date!(2025 - 11 - 15), date!(2026 - 02 - 10)).unwrap();
        assert_eq!(
            months,
            vec![
                (date!(2025 - 11 - 15), date!(2025 - 11 - 30)),
                (date!(2025 - 12 - 01), date!(2025 - 12 - 31)),
                (date!(2026 - 01 - 01), date!(2026 - 01 - 31)),
                (date!(2026 - 02 - 01), date!(2026 - 02 - 10)),
            ]
        );
        assert_eq!(
            months_of(date!(2024 - 02 - 01), date!(2024 - 02 - 29)).unwrap(),
            vec![(date!(2024 - 02 - 01), date!(2024 - 02 - 29))]
        );
        assert_eq!(
            months_of(date!(2026 - 03 - 31), date!(2026 - 03 - 31))
                .unwrap()
                .len(),
            1
        );
        assert!(months_of(date!(2016 - 01 - 01), date!(2025 - 12 - 31)).is_ok());
        assert!(months_of(date!(2016 - 01 - 01), date!(2026 - 01 - 01)).is_err());
        assert!(months_of(date!(2026 - 02 - 01), date!(2026 - 01 - 31)).is_err());
    }
}

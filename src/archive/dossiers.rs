//! Dossiers (hồ sơ TTHC): receipt with a national dossier code and a due date, the status
//! steps with who and when, and the record shown to clerks.
//!
//! Steps (vn-standards.md §3.4: tiếp nhận → thẩm định → phê duyệt → trả kết quả), as allowed
//! by [`DossierStatus::can_become`]:
//!
//! ```text
//! received             → appraised, supplement_requested, rejected, withdrawn
//! supplement_requested → received (the papers arrived), rejected, withdrawn
//! appraised            → approved, supplement_requested, rejected, withdrawn
//! approved, rejected   → returned
//! returned, withdrawn  (closed)
//! ```
//!
//! Each creation and each step is one transaction: the dossier row, its event row and its
//! audit entry are written together or not at all.

use std::collections::BTreeSet;

use serde::Serialize;
use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;

use super::audit::{AuditRecord, append};
use super::calendar::{due_date, due_window_end, end_of_day, local_date};
use super::codes::{AgencyCode, DossierCode, ProcedureCode};
use super::procedures::Procedure;
use super::tx::{Begin, Tx};
use super::{Archive, ArchiveError, Db, stored_time};

/// Where a dossier stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DossierStatus {
    /// Tiếp nhận: received at the desk (or online), complete.
    Received,
    /// Yêu cầu bổ sung, hoàn thiện hồ sơ: waiting for papers from the applicant.
    SupplementRequested,
    /// Thẩm định: examined by the processing unit.
    Appraised,
    /// Phê duyệt: the result is signed.
    Approved,
    /// Từ chối giải quyết: refused, with reasons.
    Rejected,
    /// Trả kết quả: the result (or the refusal) was handed over.
    Returned,
    /// Rút hồ sơ: withdrawn by the applicant.
    Withdrawn,
}

impl DossierStatus {
    pub const ALL: [DossierStatus; 7] = [
        DossierStatus::Received,
        DossierStatus::SupplementRequested,
        DossierStatus::Appraised,
        DossierStatus::Approved,
        DossierStatus::Rejected,
        DossierStatus::Returned,
        DossierStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DossierStatus::Received => "received",
            DossierStatus::SupplementRequested => "supplement_requested",
            DossierStatus::Appraised => "appraised",
            DossierStatus::Approved => "approved",
            DossierStatus::Rejected => "rejected",
            DossierStatus::Returned => "returned",
            DossierStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            DossierStatus::Received => "đã tiếp nhận",
            DossierStatus::SupplementRequested => "yêu cầu bổ sung",
            DossierStatus::Appraised => "đã thẩm định",
            DossierStatus::Approved => "đã phê duyệt",
            DossierStatus::Rejected => "từ chối giải quyết",
            DossierStatus::Returned => "đã trả kết quả",
            DossierStatus::Withdrawn => "đã rút hồ sơ",
        }
    }

    /// The steps allowed from here (the module documentation draws them).
    pub fn next_steps(self) -> &'static [DossierStatus] {
        use DossierStatus::*;
        match self {
            Received => &[Appraised, SupplementRequested, Rejected, Withdrawn],
            SupplementRequested => &[Received, Rejected, Withdrawn],
            Appraised => &[Approved, SupplementRequested, Rejected, Withdrawn],
            Approved | Rejected => &[Returned],
            Returned | Withdrawn => &[],
        }
    }

    pub fn can_become(self, to: DossierStatus) -> bool {
        self.next_steps().contains(&to)
    }
}

/// How the dossier was submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Trực tiếp at the desk.
    InPerson,
    /// Trực tuyến, through the public service portal.
    Online,
    /// Qua bưu chính công ích.
    Postal,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::InPerson => "in_person",
            Channel::Online => "online",
            Channel::Postal => "postal",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Channel::InPerson, Channel::Online, Channel::Postal]
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

/// Where the applicant takes the result (Đăng ký nhận kết quả tại, BM.01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultDelivery {
    Desk,
    Postal,
    Online,
}

impl ResultDelivery {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultDelivery::Desk => "desk",
            ResultDelivery::Postal => "postal",
            ResultDelivery::Online => "online",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            ResultDelivery::Desk,
            ResultDelivery::Postal,
            ResultDelivery::Online,
        ]
        .into_iter()
        .find(|d| d.as_str() == text)
    }

    /// The way back matching the way in, when the applicant did not choose.
    pub fn for_channel(channel: Channel) -> Self {
        match channel {
            Channel::InPerson => ResultDelivery::Desk,
            Channel::Online => ResultDelivery::Online,
            Channel::Postal => ResultDelivery::Postal,
        }
    }
}

/// Who submits the dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    pub name: String,
    /// Số định danh cá nhân (CCCD), passport, or tax / enterprise code.
    pub id_number: Option<String>,
    /// Address, phone, e-mail.
    pub contact: Option<String>,
}

/// A dossier to receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDossier {
    pub procedure: ProcedureCode,
    /// The handling agency, whose daily sequence numbers the dossier.
    pub agency: AgencyCode,
    pub applicant: Applicant,
    pub channel: Channel,
    /// Default: [`ResultDelivery::for_channel`].
    pub result_delivery: Option<ResultDelivery>,
    /// The clerk who receives it.
    pub actor: String,
    pub note: Option<String>,
}

/// A step to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub to: DossierStatus,
    pub actor: String,
    pub note: Option<String>,
}

/// A row of `dossiers`, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct DossierRow {
    pub dossier_id: i64,
    pub code: String,
    pub procedure_id: i64,
    pub agency_code: String,
    pub applicant_name: String,
    pub applicant_id_number: Option<String>,
    pub applicant_contact: Option<String>,
    pub channel: String,
    pub result_delivery: String,
    pub status: String,
    pub received_at: OffsetDateTime,
    pub due_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    pub outcome: Option<String>,
    pub returned_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A row of `dossier_events`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct EventRow {
    pub dossier_id: i64,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor: String,
    pub at: OffsetDateTime,
    pub note: Option<String>,
}

/// A dossier. Times serialize as RFC 3339 in Vietnam time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dossier {
    pub code: String,
    pub procedure_code: String,
    pub agency_code: String,
    pub applicant_name: String,
    pub applicant_id_number: Option<String>,
    pub applicant_contact: Option<String>,
    pub channel: Channel,
    pub result_delivery: ResultDelivery,
    pub status: DossierStatus,
    #[serde(with = "super::calendar::vn_time")]
    pub received_at: OffsetDateTime,
    /// End of the last working day of the procedure's processing time.
    #[serde(with = "super::calendar::vn_time")]
    pub due_at: OffsetDateTime,
    #[serde(with = "super::calendar::vn_time::option")]
    pub resolved_at: Option<OffsetDateTime>,
    pub outcome: Option<DossierStatus>,
    #[serde(with = "super::calendar::vn_time::option")]
    pub returned_at: Option<OffsetDateTime>,
    #[serde(with = "super::calendar::vn_time")]
    pub created_at: OffsetDateTime,
    #[serde(with = "super::calendar::vn_time")]
    pub updated_at: OffsetDateTime,
}

/// One step in a dossier's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DossierEvent {
    /// `None` for the receipt.
    pub from: Option<DossierStatus>,
    pub to: DossierStatus,
    pub actor: String,
    #[serde(with = "super::calendar::vn_time")]
    pub at: OffsetDateTime,
    pub note: Option<String>,
}

/// A dossier with its procedure and history (`hoso dossier show`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DossierRecord {
    #[serde(flatten)]
    pub dossier: Dossier,
    pub procedure: Procedure,
    pub events: Vec<DossierEvent>,
}

fn corrupt(what: String) -> ArchiveError {
    ArchiveError::Corrupt { what }
}

fn status_of(text: &str) -> Result<DossierStatus, ArchiveError> {
    DossierStatus::parse(text).ok_or_else(|| corrupt(format!("unknown dossier status {text:?}")))
}

impl DossierRow {
    fn to_dossier(&self, procedure_code: &str) -> Result<Dossier, ArchiveError> {
        Ok(Dossier {
            code: self.code.clone(),
            procedure_code: procedure_code.to_owned(),
            agency_code: self.agency_code.clone(),
            applicant_name: self.applicant_name.clone(),
            applicant_id_number: self.applicant_id_number.clone(),
            applicant_contact: self.applicant_contact.clone(),
            channel: Channel::parse(&self.channel)
                .ok_or_else(|| corrupt(format!("unknown channel {:?}", self.channel)))?,
            result_delivery: ResultDelivery::parse(&self.result_delivery).ok_or_else(|| {
                corrupt(format!(
                    "unknown result delivery {:?}",
                    self.result_delivery
                ))
            })?,
            status: status_of(&self.status)?,
            received_at: self.received_at,
            due_at: self.due_at,
            resolved_at: self.resolved_at,
            outcome: self.outcome.as_deref().map(status_of).transpose()?,
            returned_at: self.returned_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl EventRow {
    fn to_event(&self) -> Result<DossierEvent, ArchiveError> {
        Ok(DossierEvent {
            from: self.from_status.as_deref().map(status_of).transpose()?,
            to: status_of(&self.to_status)?,
            actor: self.actor.clone(),
            at: self.at,
            note: self.note.clone(),
        })
    }
}

/// Trimmed NFC text of at most `max_chars` characters without control characters, or
/// `None` when empty.
fn clean_text(
    field: &'static str,
    text: &str,
    max_chars: usize,
) -> Result<Option<String>, ArchiveError> {
    let value: String = text.trim().nfc().collect();
    let invalid = |reason: &str| ArchiveError::FieldInvalid {
        field,
        value: value.clone(),
        reason: reason.to_owned(),
    };
    if value.chars().count() > max_chars {
        return Err(invalid(&format!("longer than {max_chars} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid("contains control characters"));
    }
    Ok((!value.is_empty()).then_some(value))
}

/// The name of whoever acts (a clerk's account name), checked for the audit trail.
///
/// # Errors
/// [`ArchiveError::FieldInvalid`] when empty, longer than 200 characters or with control
/// characters.
pub fn checked_actor(actor: &str) -> Result<String, ArchiveError> {
    clean_text("actor", actor, 200)?.ok_or_else(|| ArchiveError::FieldInvalid {
        field: "actor",
        value: String::new(),
        reason: "empty".to_owned(),
    })
}

/// The applicant with every field checked: a name is required; an ID number is 5–20
/// letters, digits or `-` (CCCD has 12 digits, an enterprise code 10 or 13).
fn checked_applicant(applicant: &Applicant) -> Result<Applicant, ArchiveError> {
    let name =
        clean_text("applicant", &applicant.name, 200)?.ok_or(ArchiveError::FieldInvalid {
            field: "applicant",
            value: String::new(),
            reason: "empty".to_owned(),
        })?;
    let id_number = match applicant.id_number.as_deref() {
        Some(text) => clean_text("id_number", text, 20)?
            .map(|id| {
                if id.len() >= 5 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    Ok(id.to_ascii_uppercase())
                } else {
                    Err(ArchiveError::FieldInvalid {
                        field: "id_number",
                        value: id,
                        reason: "expected 5 to 20 letters, digits or '-'".to_owned(),
                    })
                }
            })
            .transpose()?,
        None => None,
    };
    let contact = match applicant.contact.as_deref() {
        Some(text) => clean_text("contact", text, 500)?,
        None => None,
    };
    Ok(Applicant {
        name,
        id_number,
        contact,
    })
}

fn checked_note(note: Option<&str>) -> Result<Option<String>, ArchiveError> {
    note.map(|text| clean_text("note", text, 2000))
        .transpose()
        .map(Option::flatten)
}

impl Archive {
    /// Receives a dossier: gives it the next code of its agency and day, computes its due
    /// date from the procedure's working days and the configured holidays
    /// (`calendar`), and records the receipt event and its audit entry, all in one
    /// transaction. `now` is the time of receipt.
    ///
    /// # Errors
    /// [`ArchiveError::ProcedureNotFound`], [`ArchiveError::FieldInvalid`] (applicant, actor,
    /// note), [`ArchiveError::Database`]. On error nothing is written and no sequence number
    /// is used up.
    pub async fn create_dossier(
        &self,
        new: &NewDossier,
        now: OffsetDateTime,
    ) -> Result<Dossier, ArchiveError> {
        let new = NewDossier {
            applicant: checked_applicant(&new.applicant)?,
            actor: checked_actor(&new.actor)?,
            note: checked_note(new.note.as_deref())?,
            ..new.clone()
        };
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let dossier = create(&mut tx, &new, now).await?;
            tx.commit().await?;
            Ok(dossier)
        })
    }

    /// Moves a dossier one step (see [`DossierStatus::next_steps`]), recording who and when.
    ///
    /// # Errors
    /// [`ArchiveError::DossierNotFound`], [`ArchiveError::TransitionInvalid`],
    /// [`ArchiveError::FieldInvalid`], [`ArchiveError::Database`]; nothing is written then.
    pub async fn advance_dossier(
        &self,
        code: &DossierCode,
        step: &Transition,
        now: OffsetDateTime,
    ) -> Result<DossierRecord, ArchiveError> {
        let step = Transition {
            to: step.to,
            actor: checked_actor(&step.actor)?,
            note: checked_note(step.note.as_deref())?,
        };
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            advance(&mut tx, code, &step, now).await?;
            let record = record(&mut tx, code).await?;
            tx.commit().await?;
            Ok(record)
        })
    }

    /// The dossier `code` with its procedure and every event.
    ///
    /// # Errors
    /// [`ArchiveError::DossierNotFound`], [`ArchiveError::Database`].
    pub async fn dossier(&self, code: &DossierCode) -> Result<DossierRecord, ArchiveError> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let record = record(&mut tx, code).await?;
            tx.rollback().await?;
            Ok(record)
        })
    }
}

async fn create<T: Tx>(
    tx: &mut T,
    new: &NewDossier,
    now: OffsetDateTime,
) -> Result<Dossier, ArchiveError> {
    let procedure = tx.procedure(new.procedure.as_str()).await?.ok_or_else(|| {
        ArchiveError::ProcedureNotFound {
            code: new.procedure.to_string(),
        }
    })?;
    let days = u32::try_from(procedure.processing_days)
        .map_err(|_| corrupt(format!("procedure {} has negative days", procedure.code)))?;
    let received = local_date(now);
    let mut widenings = 0;
    let due = loop {
        let window_end = due_window_end(received, days, widenings);
        let holidays: BTreeSet<_> = tx
            .holidays_between(received, window_end)
            .await?
            .into_iter()
            .map(|h| h.day)
            .collect();
        let due = due_date(received, days, &holidays);
        if due <= window_end {
            break due;
        }
        widenings += 1;
    };
    let sequence = tx.next_sequence(new.agency.as_str(), received).await?;
    let code = DossierCode::new(&new.agency, received, sequence.unsigned_abs());
    let delivery = new
        .result_delivery
        .unwrap_or_else(|| ResultDelivery::for_channel(new.channel));
    let mut row = DossierRow {
        dossier_id: 0,
        code: code.to_string(),
        procedure_id: procedure.procedure_id,
        agency_code: new.agency.to_string(),
        applicant_name: new.applicant.name.clone(),
        applicant_id_number: new.applicant.id_number.clone(),
        applicant_contact: new.applicant.contact.clone(),
        channel: new.channel.as_str().to_owned(),
        result_delivery: delivery.as_str().to_owned(),
        status: DossierStatus::Received.as_str().to_owned(),
        received_at: now,
        due_at: end_of_day(due),
        resolved_at: None,
        outcome: None,
        returned_at: None,
        created_at: now,
        updated_at: now,
    };
    row.dossier_id = tx.insert_dossier(&row).await?;
    tx.insert_event(&EventRow {
        dossier_id: row.dossier_id,
        from_status: None,
        to_status: row.status.clone(),
        actor: new.actor.clone(),
        at: now,
        note: new.note.clone(),
    })
    .await?;
    append(
        tx,
        AuditRecord {
            actor: &new.actor,
            action: "dossier.create",
            object_kind: "dossier",
            object_id: &row.code,
            details: serde_json::json!({
                "procedure": procedure.code,
                "agency": row.agency_code,
                "channel": row.channel,
                "status": row.status,
                "due_date": due.to_string(),
            }),
        },
        now,
    )
    .await?;
    row.to_dossier(&procedure.code)
}

async fn advance<T: Tx>(
    tx: &mut T,
    code: &DossierCode,
    step: &Transition,
    now: OffsetDateTime,
) -> Result<(), ArchiveError> {
    let mut row =
        tx.dossier(code.as_str())
            .await?
            .ok_or_else(|| ArchiveError::DossierNotFound {
                code: code.to_string(),
            })?;
    let from = status_of(&row.status)?;
    if !from.can_become(step.to) {
        return Err(ArchiveError::TransitionInvalid {
            code: code.to_string(),
            from,
            to: step.to,
        });
    }
    row.status = step.to.as_str().to_owned();
    row.updated_at = now;
    match step.to {
        DossierStatus::Approved | DossierStatus::Rejected => {
            row.resolved_at = Some(now);
            row.outcome = Some(step.to.as_str().to_owned());
        }
        DossierStatus::Returned => row.returned_at = Some(now),
        _ => {}
    }
    // Writers are serialized (tx.rs), so the status read above is still current; the
    // condition in the UPDATE makes that an invariant rather than an assumption.
    if tx.update_dossier_state(&row, from.as_str()).await? != 1 {
        return Err(corrupt(format!("dossier {code} changed during a step")));
    }
    tx.insert_event(&EventRow {
        dossier_id: row.dossier_id,
        from_status: Some(from.as_str().to_owned()),
        to_status: row.status.clone(),
        actor: step.actor.clone(),
        at: now,
        note: step.note.clone(),
    })
    .await?;
    append(
        tx,
        AuditRecord {
            actor: &step.actor,
            action: "dossier.advance",
            object_kind: "dossier",
            object_id: code.as_str(),
            details: serde_json::json!({
                "from": from.as_str(),
                "to": step.to.as_str(),
                "note": step.note,
            }),
        },
        now,
    )
    .await?;
    Ok(())
}

async fn record<T: Tx>(tx: &mut T, code: &DossierCode) -> Result<DossierRecord, ArchiveError> {
    let row = tx
        .dossier(code.as_str())
        .await?
        .ok_or_else(|| ArchiveError::DossierNotFound {
            code: code.to_string(),
        })?;
    let procedure = tx
        .procedure_by_id(row.procedure_id)
        .await?
        .ok_or_else(|| corrupt(format!("dossier {code} has no procedure")))?;
    let events = tx
        .events(row.dossier_id)
        .await?
        .iter()
        .map(EventRow::to_event)
        .collect::<Result<_, _>>()?;
    Ok(DossierRecord {
        dossier: row.to_dossier(&procedure.code)?,
        procedure,
        events,
    })
}

// ---- listing ------------------------------------------------------------------------------

/// Which dossiers [`Archive::list_dossiers`] returns, newest received first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierFilter {
    pub status: Option<DossierStatus>,
    /// National procedure code, e.g. `1.001193`.
    pub procedure_code: Option<String>,
    /// Received at or after.
    pub received_from: Option<OffsetDateTime>,
    /// Received at or before.
    pub received_to: Option<OffsetDateTime>,
    /// Part of the applicant's name, compared folded (`nguyen van` finds `Nguyễn Văn An`).
    pub applicant: Option<String>,
    /// 1 to [`MAX_DOSSIER_PAGE`]; larger values are lowered to it.
    pub limit: i64,
    pub offset: i64,
}

/// Most dossiers one [`Archive::list_dossiers`] call returns.
pub const MAX_DOSSIER_PAGE: i64 = 200;
/// Rows read per round trip while filtering by applicant (which is done in Rust: the folding
/// of `search::fold` has no SQL equivalent on SQLite).
const APPLICANT_SCAN_PAGE: i64 = 500;

impl Default for DossierFilter {
    fn default() -> Self {
        DossierFilter {
            status: None,
            procedure_code: None,
            received_from: None,
            received_to: None,
            applicant: None,
            limit: 50,
            offset: 0,
        }
    }
}

/// A row of `dossiers` with its procedure's code.
#[derive(Debug, Clone, sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    row: DossierRow,
    procedure_code: String,
}

/// The filter's SQL parameters.
struct ListParams {
    status: Option<&'static str>,
    procedure_code: Option<String>,
    received_from: Option<OffsetDateTime>,
    received_to: Option<OffsetDateTime>,
}

trait ListTx {
    async fn dossier_page(
        &mut self,
        params: &ListParams,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ListedRow>, sqlx::Error>;
}

macro_rules! impl_list_tx {
    ($db:ty) => {
        impl ListTx for sqlx::Transaction<'_, $db> {
            async fn dossier_page(
                &mut self,
                params: &ListParams,
                limit: i64,
                offset: i64,
            ) -> Result<Vec<ListedRow>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT d.dossier_id, d.code, d.procedure_id, d.agency_code,
                         d.applicant_name, d.applicant_id_number, d.applicant_contact,
                         d.channel, d.result_delivery, d.status, d.received_at, d.due_at,
                         d.resolved_at, d.outcome, d.returned_at, d.created_at, d.updated_at,
                         p.code AS procedure_code
                     FROM dossiers d JOIN procedures p ON p.procedure_id = d.procedure_id
                     WHERE ($1 IS NULL OR d.status = $1)
                       AND ($2 IS NULL OR p.code = $2)
                       AND ($3 IS NULL OR d.received_at >= $3)
                       AND ($4 IS NULL OR d.received_at <= $4)
                     ORDER BY d.received_at DESC, d.dossier_id DESC
                     LIMIT $5 OFFSET $6",
                )
                .bind(params.status)
                .bind(&params.procedure_code)
                .bind(params.received_from)
                .bind(params.received_to)
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

/// The applicant search form: folded, single spaces.
fn applicant_key(text: &str) -> String {
    super::search::fold(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn list<T: ListTx>(
    tx: &mut T,
    params: &ListParams,
    applicant: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<ListedRow>, ArchiveError> {
    let Some(needle) = applicant else {
        return Ok(tx.dossier_page(params, limit, offset).await?);
    };
    let mut found = Vec::new();
    let mut skip = offset;
    let mut page_offset = 0;
    loop {
        let rows = tx
            .dossier_page(params, APPLICANT_SCAN_PAGE, page_offset)
            .await?;
        let last_page = (rows.len() as i64) < APPLICANT_SCAN_PAGE;
        for row in rows {
            if !applicant_key(&row.row.applicant_name).contains(needle) {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(row);
            if found.len() as i64 == limit {
                return Ok(found);
            }
        }
        if last_page {
            return Ok(found);
        }
        page_offset += APPLICANT_SCAN_PAGE;
    }
}

impl Archive {
    /// Dossiers matching `filter`, newest received first, one page (`limit`, `offset`).
    /// The applicant filter is a folded substring match, evaluated in Rust over the
    /// dossiers the other filters leave (narrow it with dates on a large archive).
    ///
    /// # Errors
    /// [`ArchiveError::FieldInvalid`] (limit below 1, negative offset, an applicant text
    /// longer than 200 characters), [`ArchiveError::ProcedureCodeInvalid`],
    /// [`ArchiveError::Database`].
    pub async fn list_dossiers(
        &self,
        filter: &DossierFilter,
    ) -> Result<Vec<Dossier>, ArchiveError> {
        let invalid =
            |field: &'static str, value: String, reason: &str| ArchiveError::FieldInvalid {
                field,
                value,
                reason: reason.to_owned(),
            };
        if filter.limit < 1 {
            return Err(invalid("limit", filter.limit.to_string(), "at least 1"));
        }
        if filter.offset < 0 {
            return Err(invalid("offset", filter.offset.to_string(), "negative"));
        }
        let limit = filter.limit.min(MAX_DOSSIER_PAGE);
        let procedure_code = match filter.procedure_code.as_deref().map(str::trim) {
            Some(code) if !code.is_empty() => Some(
                ProcedureCode::parse(code)
                    .map_err(|value| ArchiveError::ProcedureCodeInvalid { value })?
                    .to_string(),
            ),
            _ => None,
        };
        let applicant = match filter.applicant.as_deref() {
            Some(text) if text.chars().count() > 200 => {
                return Err(invalid(
                    "applicant",
                    text.to_owned(),
                    "longer than 200 characters",
                ));
            }
            Some(text) => Some(applicant_key(text)).filter(|key| !key.is_empty()),
            None => None,
        };
        let params = ListParams {
            status: filter.status.map(DossierStatus::as_str),
            procedure_code,
            received_from: filter.received_from.map(stored_time),
            received_to: filter.received_to.map(stored_time),
        };
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_read().await?;
            let rows = list(&mut tx, &params, applicant.as_deref(), limit, filter.offset).await?;
            tx.commit().await?;
            rows.iter()
                .map(|listed| listed.row.to_dossier(&listed.procedure_code))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steps_follow_the_one_stop_process_and_end_states_are_final() {
        use DossierStatus::*;
        assert!(Received.can_become(Appraised));
        assert!(Appraised.can_become(Approved));
        assert!(Approved.can_become(Returned));
        assert!(SupplementRequested.can_become(Received));
        assert!(Rejected.can_become(Returned));
        assert!(
            !Received.can_become(Approved),
            "appraisal cannot be skipped"
        );
        assert!(!Received.can_become(Received));
        assert!(
            !Approved.can_become(Withdrawn),
            "no withdrawal after the decision"
        );
        for end in [Returned, Withdrawn] {
            assert!(end.next_steps().is_empty());
        }
        for status in DossierStatus::ALL {
            assert_eq!(DossierStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn applicants_are_cleaned_and_checked() {
        let applicant = checked_applicant(&Applicant {
            name: "  Nguyễn Văn An ".to_owned(),
            id_number: Some("001203004567".to_owned()),
            contact: Some(" ".to_owned()),
        })
        .unwrap();
        assert_eq!(applicant.name, "Nguyễn Văn An");
        assert_eq!(applicant.contact, None);
        for (name, id) in [("", None), ("An", Some("12 34")), ("An", Some("1234"))] {
            let result = checked_applicant(&Applicant {
                name: name.to_owned(),
                id_number: id.map(str::to_owned),
                contact: None,
            });
            assert!(
                matches!(result, Err(ArchiveError::FieldInvalid { .. })),
                "{name:?} {id:?}"
            );
        }
        assert!(checked_actor("a\u{7}b").is_err());
    }
}

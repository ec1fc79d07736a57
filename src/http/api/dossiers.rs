//! Dossiers through the API: receive one (`POST /dossiers`: code and due date from the
//! archive's calendar), list them with filters, read one with its history and documents,
//! move it a step; and the procedure catalogue the new-dossier form picks from.
//!
//! Clerks receive and move dossiers (`DossierWrite`); clerks and archivists read them
//! (`DossierRead`); officials and admins do neither.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::archive::ArchiveError;
use crate::archive::calendar::{VIETNAM, end_of_day};
use crate::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use crate::archive::documents::DocumentRecord;
use crate::archive::dossiers::{
    Applicant, Channel, Dossier, DossierEvent, DossierFilter, DossierRecord, DossierStatus,
    NewDossier, ResultDelivery, Transition,
};
use crate::archive::procedures::Procedure;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::authz::Permission;
use crate::http::error::HttpError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_dossier, list_dossiers))
        .routes(routes!(dossier))
        .routes(routes!(transition))
        .routes(routes!(procedures))
}

/// How far back a dossier's receipt may be dated (entered late, e.g. from the postal tray).
const MAX_BACKDATE: time::Duration = time::Duration::days(30);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantBody {
    /// Full name of the person or organization.
    pub name: String,
    /// CCCD, passport, or tax / enterprise code.
    pub id_number: Option<String>,
    /// Address, phone or e-mail.
    pub contact: Option<String>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ChannelBody {
    #[serde(alias = "in-person")]
    InPerson,
    Online,
    Postal,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryBody {
    Desk,
    Postal,
    Online,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDossier {
    /// National procedure code, e.g. `1.001193`.
    pub procedure: String,
    pub applicant: ApplicantBody,
    /// How it was submitted; default `in_person`.
    pub channel: Option<ChannelBody>,
    /// Where the result goes; default: as it came.
    pub result_delivery: Option<DeliveryBody>,
    /// When it was handed in (RFC 3339), when that was before now (at most 30 days);
    /// default: now. The code's date and the due date count from it.
    pub received_at: Option<String>,
    /// A note for the receipt event.
    pub note: Option<String>,
}

#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StatusBody {
    Received,
    #[serde(alias = "supplement-requested")]
    SupplementRequested,
    Appraised,
    Approved,
    Rejected,
    Returned,
    Withdrawn,
}

impl From<StatusBody> for DossierStatus {
    fn from(status: StatusBody) -> Self {
        match status {
            StatusBody::Received => DossierStatus::Received,
            StatusBody::SupplementRequested => DossierStatus::SupplementRequested,
            StatusBody::Appraised => DossierStatus::Appraised,
            StatusBody::Approved => DossierStatus::Approved,
            StatusBody::Rejected => DossierStatus::Rejected,
            StatusBody::Returned => DossierStatus::Returned,
            StatusBody::Withdrawn => DossierStatus::Withdrawn,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    /// The next status (`received → appraised → approved → returned`, …).
    pub to: StatusBody,
    /// Why, or what was decided.
    pub note: Option<String>,
    /// `approved` or `rejected`, as a check: the step must lead to (or, for `returned`,
    /// hand over) that outcome.
    pub outcome: Option<StatusBody>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DossierQuery {
    /// `received`, `supplement_requested`, `appraised`, `approved`, `rejected`, `returned`,
    /// `withdrawn`.
    pub status: Option<String>,
    /// National procedure code.
    pub procedure: Option<String>,
    /// Received on or after: a day (`2026-11-23`, Vietnam time) or an RFC 3339 time.
    pub from: Option<String>,
    /// Received on or before: a day (to its end) or an RFC 3339 time.
    pub to: Option<String>,
    /// Part of the applicant's name, with or without diacritics.
    pub applicant: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProcedureQuery {
    /// Start of a code, or words of the name or field (diacritics optional).
    pub q: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct DossierList {
    /// Newest received first.
    #[schema(value_type = Vec<Object>)]
    pub dossiers: Vec<Dossier>,
}

#[derive(Serialize, ToSchema)]
pub struct ProcedureList {
    /// By code: `code`, `name`, `field`, `level`, `processing_days`, `competent_agency`.
    #[schema(value_type = Vec<Object>)]
    pub procedures: Vec<Procedure>,
}

/// A document in a dossier's list: what it is and its newest version.
#[derive(Serialize, ToSchema)]
pub struct DocumentSummary {
    pub document_id: i64,
    /// input, result, outgoing, incoming, certified_copy, attachment.
    pub role: String,
    /// Newest version: number, kind (original, ocr, metadata, signed, extended), name.
    pub version: i64,
    pub kind: String,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Trích yếu, when known.
    pub subject: Option<String>,
    pub has_text: bool,
    /// The newest verification of a signed version: TOTAL-PASSED, TOTAL-FAILED, …
    pub indication: Option<String>,
    pub created_by: String,
    /// RFC 3339, Vietnam time.
    pub created_at: String,
}

impl DocumentSummary {
    fn of(record: &DocumentRecord) -> Option<Self> {
        let latest = record.latest()?;
        Some(DocumentSummary {
            document_id: record.document.document_id,
            role: record.document.role.as_str().to_owned(),
            version: latest.version,
            kind: latest.kind.as_str().to_owned(),
            file_name: latest.file_name.clone(),
            media_type: latest.media_type.clone(),
            size_bytes: latest.size_bytes,
            sha256: latest.sha256.clone(),
            subject: latest.metadata.subject.clone(),
            has_text: latest.has_text,
            indication: record.reports.last().map(|r| r.indication.clone()),
            created_by: record.document.created_by.clone(),
            created_at: vn_rfc3339(record.document.created_at),
        })
    }
}

/// A dossier with its procedure, history and documents.
#[derive(Serialize, ToSchema)]
pub struct DossierDetail {
    #[schema(value_type = Object)]
    pub dossier: Dossier,
    #[schema(value_type = Object)]
    pub procedure: Procedure,
    /// Oldest first; the first is the receipt.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<DossierEvent>,
    /// Oldest first.
    pub documents: Vec<DocumentSummary>,
}

fn vn_rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(VIETNAM).format(&Rfc3339).unwrap_or_default()
}

fn query_invalid(reason: String) -> Error {
    Error::Http(HttpError::QueryInvalid { reason })
}

pub(super) fn dossier_code(text: &str) -> Result<DossierCode> {
    DossierCode::parse(text)
        .map_err(|value| Error::Archive(ArchiveError::DossierCodeInvalid { value }))
}

/// A day (`YYYY-MM-DD`, Vietnam time: its start, or its end with `end`) or an RFC 3339 time,
/// in the years 1900 to 9999 (UTC) as `archive::stats` and the search take them: beyond, it
/// is no time both databases store (or, before -9999 in UTC, no time at all).
fn query_time(name: &str, text: &str, end: bool) -> Result<OffsetDateTime> {
    let text = text.trim();
    let storable = |at: OffsetDateTime| {
        at.checked_to_offset(time::UtcOffset::UTC)
            .filter(|utc| (1900..=9999).contains(&utc.year()))
            .map(|_| at)
            .ok_or_else(|| {
                query_invalid(format!(
                    "{name}={text:?} is out of range (years 1900 to 9999)"
                ))
            })
    };
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return storable(at);
    }
    let day = Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        query_invalid(format!(
            "{name}={text:?} is neither a day (YYYY-MM-DD) nor an RFC 3339 time"
        ))
    })?;
    storable(if end {
        end_of_day(day)
    } else {
        day.midnight().assume_offset(VIETNAM)
    })
}

/// The agency new dossiers are numbered for.
fn agency(state: &AppState) -> Result<AgencyCode> {
    match &state.settings.agency_code {
        Some(code) => Ok(code.clone()),
        None => AgencyCode::parse(crate::config::TEST_AGENCY_CODE)
            .map_err(|value| Error::Archive(ArchiveError::AgencyCodeInvalid { value })),
    }
}

/// Tiếp nhận hồ sơ / receive a dossier: a new code and the due date by the office's calendar.
#[utoipa::path(post, path = "/dossiers", tag = "dossiers", request_body = CreateDossier,
    responses(
        (status = 201, description = "The dossier: code, due_at, status, …", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such procedure", body = ErrorBody),
        (status = 422, description = "Invalid applicant, code or time", body = ErrorBody),
    ))]
async fn create_dossier(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateDossier>,
) -> Result<(StatusCode, Json<Dossier>)> {
    caller.require(Permission::DossierWrite)?;
    let now = state.now();
    let received_at = match body.received_at.as_deref() {
        None => now,
        Some(text) => {
            let invalid = |reason: &str| {
                Error::Archive(ArchiveError::FieldInvalid {
                    field: "received_at",
                    value: text.to_owned(),
                    reason: reason.to_owned(),
                })
            };
            let at = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| {
                invalid("expected an RFC 3339 time, e.g. 2026-11-23T09:00:00+07:00")
            })?;
            if at > now {
                return Err(invalid("in the future"));
            }
            if now - at > MAX_BACKDATE {
                return Err(invalid("more than 30 days ago"));
            }
            at
        }
    };
    let new = NewDossier {
        procedure: ProcedureCode::parse(&body.procedure)
            .map_err(|value| ArchiveError::ProcedureCodeInvalid { value })?,
        agency: agency(&state)?,
        applicant: Applicant {
            name: body.applicant.name,
            id_number: body.applicant.id_number,
            contact: body.applicant.contact,
        },
        channel: match body.channel.unwrap_or(ChannelBody::InPerson) {
            ChannelBody::InPerson => Channel::InPerson,
            ChannelBody::Online => Channel::Online,
            ChannelBody::Postal => Channel::Postal,
        },
        result_delivery: body.result_delivery.map(|d| match d {
            DeliveryBody::Desk => ResultDelivery::Desk,
            DeliveryBody::Postal => ResultDelivery::Postal,
            DeliveryBody::Online => ResultDelivery::Online,
        }),
        actor: caller.actor(),
        note: body.note,
    };
    // The receipt's time is the dossier's (its code's day, its due date).
    let dossier = state
        .pipeline
        .archive()
        .create_dossier(&new, received_at)
        .await?;
    Ok((StatusCode::CREATED, Json(dossier)))
}

/// Danh sách hồ sơ / list dossiers, newest received first.
#[utoipa::path(get, path = "/dossiers", tag = "dossiers", params(DossierQuery),
    responses(
        (status = 200, body = DossierList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn list_dossiers(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DossierQuery>,
) -> Result<Json<DossierList>> {
    caller.require(Permission::DossierRead)?;
    let status = match query.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            DossierStatus::parse(&text.replace('-', "_"))
                .ok_or_else(|| query_invalid(format!("status={text:?} is not a dossier status")))?,
        ),
    };
    let filter = DossierFilter {
        status,
        procedure_code: query.procedure,
        received_from: query
            .from
            .as_deref()
            .map(|t| query_time("from", t, false))
            .transpose()?,
        received_to: query
            .to
            .as_deref()
            .map(|t| query_time("to", t, true))
            .transpose()?,
        applicant: query.applicant,
        limit: query.limit.unwrap_or(50),
        offset: query.offset.unwrap_or(0),
    };
    let dossiers = state.pipeline.archive().list_dossiers(&filter).await?;
    Ok(Json(DossierList { dossiers }))
}

/// Xem hồ sơ / a dossier with its procedure, history and documents.
#[utoipa::path(get, path = "/dossiers/{code}", tag = "dossiers",
    params(("code" = String, Path, description = "Dossier code, e.g. H53.100.01-261123-530001")),
    responses(
        (status = 200, body = DossierDetail),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn dossier(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<DossierDetail>> {
    caller.require(Permission::DossierRead)?;
    let code = dossier_code(&code)?;
    let archive = state.pipeline.archive();
    let record = archive.dossier(&code).await?;
    let documents = archive
        .dossier_documents(&code)
        .await?
        .iter()
        .filter_map(DocumentSummary::of)
        .collect();
    let DossierRecord {
        dossier,
        procedure,
        events,
    } = record;
    Ok(Json(DossierDetail {
        dossier,
        procedure,
        events,
        documents,
    }))
}

/// Chuyển bước / move a dossier to its next status.
#[utoipa::path(post, path = "/dossiers/{code}/transitions", tag = "dossiers",
    params(("code" = String, Path, description = "Dossier code")),
    request_body = TransitionBody,
    responses(
        (status = 200, description = "The dossier, with its procedure and events", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not a step from its status (`dossier-transition-invalid`)", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<TransitionBody>,
) -> Result<Json<DossierRecord>> {
    caller.require(Permission::DossierWrite)?;
    let code = dossier_code(&code)?;
    let archive = state.pipeline.archive();
    let to = DossierStatus::from(body.to);
    if let Some(outcome) = body.outcome.map(DossierStatus::from) {
        // Only a decision has an outcome; a hand-over hands over the one recorded.
        let leads_to = match to {
            DossierStatus::Approved | DossierStatus::Rejected => Some(to),
            DossierStatus::Returned => archive.dossier(&code).await?.dossier.outcome,
            _ => None,
        };
        if leads_to != Some(outcome) {
            return Err(Error::Archive(ArchiveError::FieldInvalid {
                field: "outcome",
                value: outcome.as_str().to_owned(),
                reason: format!("the step to {} does not lead to it", to.as_str()),
            }));
        }
    }
    let step = Transition {
        to,
        actor: caller.actor(),
        note: body.note,
    };
    let record = archive.advance_dossier(&code, &step, state.now()).await?;
    Ok(Json(record))
}

/// Danh mục thủ tục / procedures of the catalogue, for the new-dossier form.
#[utoipa::path(get, path = "/procedures", tag = "dossiers", params(ProcedureQuery),
    responses(
        (status = 200, body = ProcedureList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn procedures(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ProcedureQuery>,
) -> Result<Json<ProcedureList>> {
    if !caller.may(Permission::DossierRead) {
        caller.require(Permission::DossierWrite)?;
    }
    let procedures = state
        .pipeline
        .archive()
        .procedures(
            query.q.as_deref().unwrap_or_default(),
            query.limit.unwrap_or(50),
        )
        .await?;
    Ok(Json(ProcedureList { procedures }))
}

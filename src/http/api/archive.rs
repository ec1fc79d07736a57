//! The archive as a whole: search (`GET /search`), the office's statistics (`GET /stats`,
//! `GET /stats/monthly`), dossier export as a BagIt zip (`GET /dossiers/{code}/export`) and
//! the audit trail's verification (`GET /audit/verify`).
//!
//! Each is the archive's own function (the CLI's `hoso search`, `stats`, `export` and
//! `audit verify` call the same), behind the permission of the role table: search for clerks
//! and archivists, statistics and the audit for archivists and admins, export for
//! archivists.

use std::path::Path as FsPath;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiPath, ErrorBody, query_of};
use crate::archive::ArchiveError;
use crate::archive::audit::AuditVerification;
use crate::archive::codes::DossierCode;
use crate::archive::search::{SearchPage, SearchParams, SearchQuery, parse_day};
use crate::archive::stats::{Grouping, MonthlyRow};
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::authz::Permission;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(stats))
        .routes(routes!(stats_monthly))
        .routes(routes!(export))
        .routes(routes!(audit_verify))
}

/// A page of results, with the page number asked for.
#[derive(Serialize)]
struct SearchResponse {
    /// 1-based.
    page: u32,
    per_page: u32,
    #[serde(flatten)]
    results: SearchPage,
}

/// Tìm kiếm / search: words without diacritics match (`dong da` finds `Đống Đa`), documents
/// with the accents as typed first; filters all hold. Items carry a snippet with the
/// matched words' byte ranges (`highlights`), never the full text.
#[utoipa::path(get, path = "/search", tag = "archive",
    params(
        ("q" = Option<String>, Query, description = "Words; \"…\" keeps a phrase together"),
        ("procedure" = Option<String>, Query, description = "National procedure code, e.g. 1.001193"),
        ("field" = Option<String>, Query, description = "Lĩnh vực, diacritics optional"),
        ("dossier" = Option<String>, Query, description = "Dossier code, whole or part"),
        ("number" = Option<String>, Query, description = "Số, ký hiệu: 12/QĐ-UBND, 12 or QĐ-UBND"),
        ("agency" = Option<String>, Query, description = "Words of the issuing agency"),
        ("signer" = Option<String>, Query, description = "Words of the signer's name or position"),
        ("role" = Option<String>, Query, description = "input, result, outgoing, incoming, certified_copy, attachment"),
        ("signature" = Option<String>, Query, description = "valid, invalid, indeterminate, unsigned, unverified"),
        ("issued_from" = Option<String>, Query, description = "YYYY-MM-DD or dd/mm/yyyy"),
        ("issued_to" = Option<String>, Query),
        ("stored_from" = Option<String>, Query),
        ("stored_to" = Option<String>, Query),
        ("sort" = Option<String>, Query, description = "newest (default) or relevance"),
        ("page" = Option<u32>, Query, description = "1-based, default 1"),
        ("per_page" = Option<u32>, Query, description = "1 to 200, default 20"),
        ("count" = Option<bool>, Query, description = "Also count the matches (up to 10000)"),
    ),
    responses(
        (status = 200, description = "A page of results (SearchPage)", body = serde_json::Value),
        (status = 403, body = ErrorBody),
        (status = 422, description = "A filter or the page is invalid", body = ErrorBody),
    ))]
async fn search(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Json<serde_json::Value>> {
    caller.require(Permission::Search)?;
    let params: SearchParams = query_of(&uri)?;
    let query = SearchQuery::from_params(&params)?;
    let results = state.pipeline.archive().search(&query).await?;
    let response = SearchResponse {
        page: query.offset / query.limit + 1,
        per_page: query.limit,
        results,
    };
    Ok(Json(serde_json::to_value(response).map_err(json_failed)?))
}

fn json_failed(e: serde_json::Error) -> Error {
    Error::Task(format!("cannot serialize the response: {e}"))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct StatsParams {
    /// First day of the period (Vietnam date, included): YYYY-MM-DD or dd/mm/yyyy.
    from: String,
    /// Last day of the period (included).
    to: String,
    /// field, procedure or unit: one row per group, plus the total.
    by: Option<String>,
    /// json (default) or csv.
    format: Option<String>,
}

fn day(field: &'static str, text: &str) -> Result<time::Date> {
    parse_day(text).ok_or_else(|| {
        Error::Archive(ArchiveError::FieldInvalid {
            field,
            value: text.chars().take(40).collect(),
            reason: "expected YYYY-MM-DD or dd/mm/yyyy".to_owned(),
        })
    })
}

/// Thống kê / statistics of a period (vn-standards §5: received, resolved early / on time /
/// late, pending, withdrawn; on-time, digitization and digital-signature rates), as JSON or
/// CSV (`format=csv`: the same columns as `hoso stats --format csv`).
#[utoipa::path(get, path = "/stats", tag = "archive", params(StatsParams),
    responses(
        (status = 200, description = "Statistics (JSON), or text/csv", body = serde_json::Value),
        (status = 403, body = ErrorBody),
        (status = 422, description = "Not a period, or an unknown grouping or format", body = ErrorBody),
    ))]
async fn stats(State(state): State<AppState>, caller: Caller, uri: Uri) -> Result<Response> {
    caller.require(Permission::Stats)?;
    let params: StatsParams = query_of(&uri)?;
    let from = day("from", &params.from)?;
    let to = day("to", &params.to)?;
    let by = match params
        .by
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        None => None,
        Some(text) => Some(Grouping::parse(text).ok_or_else(|| {
            Error::Archive(ArchiveError::FieldInvalid {
                field: "by",
                value: text.chars().take(40).collect(),
                reason: "expected field, procedure or unit".to_owned(),
            })
        })?),
    };
    let csv = match params.format.as_deref().map(str::trim) {
        None | Some("" | "json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(Error::Archive(ArchiveError::FieldInvalid {
                field: "format",
                value: other.chars().take(40).collect(),
                reason: "expected json or csv".to_owned(),
            }));
        }
    };
    let query = crate::archive::stats::StatsQuery { from, to, by };
    let statistics = state.pipeline.archive().statistics(&query).await?;
    if !csv {
        return Ok(Json(statistics).into_response());
    }
    let text = statistics
        .to_csv()
        .map_err(|e| Error::Task(format!("cannot write CSV: {e}")))?;
    let disposition = format!("attachment; filename=\"thong-ke-{from}-{to}.csv\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        text,
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MonthlyParams {
    /// First day (YYYY-MM-DD or dd/mm/yyyy); the first month may be partial.
    from: String,
    /// Last day; at most 120 months after `from`.
    to: String,
}

#[derive(Serialize, ToSchema)]
struct Monthly {
    #[schema(value_type = String)]
    from: String,
    #[schema(value_type = String)]
    to: String,
    /// One row per month, oldest first.
    #[schema(value_type = Vec<Object>)]
    months: Vec<MonthlyRow>,
}

/// Thống kê theo tháng / the rates of each month of a period, for the dashboard's charts
/// (on-time, digitization and digital-signature rates, same formulas as `/stats`).
#[utoipa::path(get, path = "/stats/monthly", tag = "archive", params(MonthlyParams),
    responses(
        (status = 200, body = Monthly),
        (status = 403, body = ErrorBody),
        (status = 422, description = "Not a period, or longer than 120 months", body = ErrorBody),
    ))]
async fn stats_monthly(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Json<Monthly>> {
    caller.require(Permission::Stats)?;
    let params: MonthlyParams = query_of(&uri)?;
    let from = day("from", &params.from)?;
    let to = day("to", &params.to)?;
    let months = state
        .pipeline
        .archive()
        .monthly_statistics(from, to)
        .await?;
    Ok(Json(Monthly {
        from: from.to_string(),
        to: to.to_string(),
        months,
    }))
}

/// Xuất hồ sơ / a dossier as a BagIt package (zip), streamed: written to a temporary file
/// by the archive (with its `dossier.export` audit entry), sent, then removed.
#[utoipa::path(get, path = "/dossiers/{code}/export", tag = "archive",
    params(("code" = String, Path, description = "Dossier code, e.g. H53.100.01-261123-530001")),
    responses(
        (status = 200, description = "The BagIt zip", content_type = "application/zip", body = Vec<u8>),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such dossier", body = ErrorBody),
    ))]
async fn export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Response> {
    caller.require(Permission::Export)?;
    let code = DossierCode::parse(&code)
        .map_err(|value| Error::Archive(ArchiveError::DossierCodeInvalid { value }))?;
    let dir = tempfile::Builder::new()
        .prefix(".hoso-export-")
        .tempdir()
        .map_err(|e| Error::Task(format!("cannot create a temporary folder: {e}")))?;
    let name = format!("{}.zip", code.as_str());
    let target = dir.path().join(&name);
    let pipeline = &state.pipeline;
    let report = pipeline
        .archive()
        .export_dossier(
            pipeline.blobs(),
            &code,
            &target,
            &caller.actor(),
            state.now(),
        )
        .await?;
    let (file, size) = open(&target).await?;
    let mut response = Body::from_stream(file_chunks(file, dir)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(super::documents::PRIVATE),
    );
    // Dossier codes are letters, digits, dots and dashes: safe in a quoted file name.
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&report.manifest_sha256) {
        headers.insert("x-manifest-sha256", value);
    }
    Ok(response)
}

async fn open(path: &FsPath) -> Result<(tokio::fs::File, u64)> {
    let failed = |e: std::io::Error| {
        Error::Archive(ArchiveError::PackageIo {
            path: path.to_owned(),
            source: e,
        })
    };
    let file = tokio::fs::File::open(path).await.map_err(failed)?;
    let size = file.metadata().await.map_err(failed)?.len();
    Ok((file, size))
}

/// Size of the chunks a file is sent in.
const CHUNK: usize = 64 * 1024;

/// The file's bytes in chunks; `dir` (holding it) is removed when the stream ends or the
/// client goes away.
fn file_chunks(
    file: tokio::fs::File,
    dir: tempfile::TempDir,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures_util::stream::unfold(Some((file, dir)), |state| async move {
        let (mut file, dir) = state?;
        let mut buffer = vec![0u8; CHUNK];
        match file.read(&mut buffer).await {
            Ok(0) => {
                drop((file, dir));
                None
            }
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(Bytes::from(buffer)), Some((file, dir))))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

#[derive(Serialize, ToSchema)]
struct AuditReport {
    /// The chain and every checkpoint are as written.
    ok: bool,
    /// Entries checked, last entry, checkpoints, first broken entry.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    verification: AuditVerification,
}

/// Kiểm tra nhật ký / recomputes the audit hash chain and its checkpoints; a broken chain is
/// an answer (`ok: false` with the first broken entry), not an error.
#[utoipa::path(get, path = "/audit/verify", tag = "archive",
    responses(
        (status = 200, body = AuditReport),
        (status = 403, body = ErrorBody),
    ))]
async fn audit_verify(State(state): State<AppState>, caller: Caller) -> Result<Json<AuditReport>> {
    caller.require(Permission::AuditVerify)?;
    let verification = state.pipeline.archive().verify_audit().await?;
    Ok(Json(AuditReport {
        ok: verification.intact,
        verification,
    }))
}

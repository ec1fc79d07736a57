//! Administration pages: `/admin` (users, the administrator's own API tokens, signing keys,
//! trust anchors, the procedure catalogue) and `/admin/stats` (the office's statistics
//! dashboard, for administrators and archivists).
//!
//! The lists are read on the server from the archive and the pipeline (the same functions
//! the admin API uses); every change goes through the admin API from `app.js`
//! (`form[data-api]`, `button[data-api]`), so the checks, the audit entries and the error
//! codes are the API's. A secret (a new API token) is shown once, in the page, and never
//! again.
//!
//! The dashboard shows the vn-standards §5 figures of a period by field (archive
//! `statistics`), and charts drawn on the server ([`super::charts`]): the on-time,
//! digitization and digital-signature rates by month (archive `monthly_statistics`) and by
//! field.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use time::{Date, Month, OffsetDateTime};

use super::archive::{day, error_line, when};
use super::charts::{Bar, bar_chart, column_chart, percent};
use super::{Lang, PageCtx, PageError, layout, role_label};
use crate::archive::ArchiveError;
use crate::archive::accounts::{ApiToken, Role, Scope, SigningKey, User};
use crate::archive::calendar::local_date;
use crate::archive::search::parse_day;
use crate::archive::stats::{Grouping, MonthlyRow, Statistics, StatsQuery, StatsRow};
use crate::error::{Coded, Error};
use crate::http::AppState;
use crate::http::api::tokens::role_may_hold;
use crate::http::authz::Permission;
use crate::http::error::status_of;
use crate::pipeline::trust_admin::AnchorEntry;

/// The administration routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin_page))
        .route("/admin/stats", get(stats_page))
}

// ---- /admin ---------------------------------------------------------------------------------

/// The scopes a token of `role` may hold (the API refuses the others).
fn useful_scopes(role: Role) -> Vec<Scope> {
    Scope::ALL
        .into_iter()
        .filter(|scope| role_may_hold(role, *scope))
        .collect()
}

fn scope_label(lang: Lang, scope: Scope) -> &'static str {
    match scope {
        Scope::Read => lang.tr("đọc", "read"),
        Scope::Write => lang.tr("ghi", "write"),
        Scope::Sign => lang.tr("ký số", "sign"),
        Scope::Admin => lang.tr("quản trị", "administer"),
    }
}

/// Shown under a form when the API answers (filled by `app.js`).
fn form_status() -> Markup {
    html! { p.form-status role="status" {} }
}

async fn admin_page(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, PageError> {
    let caller = ctx.require(Permission::Admin)?;
    let archive = state.pipeline.archive();
    let users = archive.users().await.map_err(|e| ctx.error(e))?;
    let tokens = archive
        .tokens(caller.user.user_id)
        .await
        .map_err(|e| ctx.error(e))?;
    let keys = archive.all_signing_keys().await.map_err(|e| ctx.error(e))?;
    // The trust store may fail to load (a damaged file in a trust folder): the rest of the
    // page still works, and the error is shown where the anchors would be.
    let anchors = state.pipeline.trust_anchors();
    let now = state.now();
    let body = html! {
        div data-page="admin" {
            noscript { p.notice { (ctx.tr("Các thao tác quản trị cần JavaScript.", "Administration needs JavaScript.")) } }
            nav.toc.no-print {
                a href="#users" { (ctx.tr("Người dùng", "Users")) }
                a href="#tokens" { (ctx.tr("Mã truy cập API", "API tokens")) }
                a href="#keys" { (ctx.tr("Khóa ký số", "Signing keys")) }
                a href="#trust" { (ctx.tr("Chứng thư tin cậy", "Trust anchors")) }
                a href="#procedures" { (ctx.tr("Danh mục thủ tục", "Procedure catalogue")) }
                a href="/admin/stats" { (ctx.tr("Thống kê", "Statistics")) }
            }
            (users_section(&ctx, &users, caller.user.user_id))
            (tokens_section(&ctx, caller.role(), &tokens, now))
            (keys_section(&ctx, &keys, &users, now))
            (trust_section(&ctx, anchors.as_deref(), now))
            (catalogue_section(&ctx))
        }
    };
    Ok(layout(&ctx, ctx.tr("Quản trị", "Administration"), body))
}

fn users_section(ctx: &PageCtx, users: &[User], own_id: i64) -> Markup {
    let lang = ctx.lang;
    html! {
        section #users .card {
            h2 { (ctx.tr("Người dùng", "Users")) }
            table #users-table {
                thead { tr {
                    th { (ctx.tr("Tên đăng nhập", "User name")) }
                    th { (ctx.tr("Họ tên", "Name")) }
                    th { (ctx.tr("Vai trò", "Role")) }
                    th { (ctx.tr("Trạng thái", "Status")) }
                    th { (ctx.tr("Đổi mật khẩu lúc", "Password changed")) }
                    th.no-print {}
                } }
                tbody {
                    @for user in users {
                        tr.user data-username=(user.username) {
                            td { (user.username) }
                            td { (user.display_name) }
                            td { (role_label(lang, user.role)) }
                            td {
                                @if user.disabled { span.bad { (ctx.tr("đã khóa", "disabled")) } }
                                @else { span.ok { (ctx.tr("hoạt động", "active")) } }
                            }
                            td { (when(user.password_changed_at)) }
                            td.no-print {
                                @let url = format!("/api/v1/admin/users/{}", user.username);
                                @if user.user_id == own_id {
                                    span.muted.small { (ctx.tr("(bạn)", "(you)")) }
                                } @else if user.disabled {
                                    button.secondary.toggle-user type="button" data-api=(url) data-method="PATCH"
                                        data-body="{\"disabled\":false}" { (ctx.tr("Mở khóa", "Enable")) }
                                } @else {
                                    button.secondary.toggle-user type="button" data-api=(url) data-method="PATCH"
                                        data-body="{\"disabled\":true}"
                                        data-confirm=(ctx.tr("Khóa tài khoản này? Các phiên và mã truy cập của người dùng sẽ bị hủy.",
                                                             "Disable this account? Its sessions and API tokens end.")) {
                                        (ctx.tr("Khóa", "Disable"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.grid2 {
                form #user-form .subcard data-api="/api/v1/admin/users" data-method="POST" {
                    h3 { (ctx.tr("Thêm người dùng", "Add a user")) }
                    label { (ctx.tr("Tên đăng nhập", "User name"))
                        input name="username" required pattern="[a-z0-9][a-z0-9._\\-]{1,63}" autocomplete="off"; }
                    label { (ctx.tr("Họ tên", "Full name")) input name="display_name"; }
                    label { (ctx.tr("Vai trò", "Role"))
                        select name="role" required {
                            @for role in Role::ALL { option value=(role.as_str()) { (role_label(lang, role)) } }
                        }
                    }
                    label { (ctx.tr("Mật khẩu (ít nhất 10 ký tự)", "Password (at least 10 characters)"))
                        input name="password" type="password" required minlength="10" autocomplete="new-password"; }
                    p.muted.small { (ctx.tr("Không đổi được vai trò của tài khoản đã có: hãy tạo tài khoản mới.",
                                            "An account's role cannot be changed: create a new account.")) }
                    button type="submit" { (ctx.tr("Thêm", "Add")) }
                    (form_status())
                }
                form #password-form .subcard data-api="/api/v1/admin/users/{username}" data-method="PATCH" {
                    h3 { (ctx.tr("Đặt lại mật khẩu", "Reset a password")) }
                    label { (ctx.tr("Người dùng", "User"))
                        select name="username" data-path required {
                            @for user in users { option value=(user.username) { (user.username) " — " (user.display_name) } }
                        }
                    }
                    label { (ctx.tr("Mật khẩu mới", "New password"))
                        input name="password" type="password" required minlength="10" autocomplete="new-password"; }
                    p.muted.small { (ctx.tr("Các phiên đăng nhập của người dùng sẽ kết thúc.", "The user's sessions end.")) }
                    button type="submit" { (ctx.tr("Đặt lại", "Reset")) }
                    (form_status())
                }
            }
        }
    }
}

fn tokens_section(ctx: &PageCtx, role: Role, tokens: &[ApiToken], now: OffsetDateTime) -> Markup {
    let lang = ctx.lang;
    html! {
        section #tokens .card {
            h2 { (ctx.tr("Mã truy cập API của tôi", "My API tokens")) }
            @if tokens.is_empty() {
                p.muted { (ctx.tr("Chưa có mã truy cập nào.", "No API tokens yet.")) }
            } @else {
                table #tokens-table {
                    thead { tr {
                        th { (ctx.tr("Tên", "Name")) }
                        th { (ctx.tr("Quyền", "Scopes")) }
                        th { (ctx.tr("Tạo lúc", "Created")) }
                        th { (ctx.tr("Hết hạn", "Expires")) }
                        th { (ctx.tr("Dùng lần cuối", "Last used")) }
                        th.no-print {}
                    } }
                    tbody {
                        @for token in tokens {
                            @let live = token.revoked_at.is_none() && token.expires_at.is_none_or(|at| at > now);
                            tr.token data-token-id=(token.token_id) {
                                td { (token.name) }
                                td { (token.scopes.iter().map(|s| scope_label(lang, *s)).collect::<Vec<_>>().join(", ")) }
                                td { (when(token.created_at)) }
                                td { @match token.expires_at { Some(at) => (when(at)), None => (ctx.tr("không hết hạn", "never")) } }
                                td { @match token.last_used_at { Some(at) => (when(at)), None => "—" } }
                                td.no-print {
                                    @if let Some(at) = token.revoked_at {
                                        span.muted { (ctx.tr("đã thu hồi", "revoked")) " " (when(at)) }
                                    } @else if !live {
                                        span.muted { (ctx.tr("đã hết hạn", "expired")) }
                                    } @else {
                                        button.secondary.revoke-token type="button"
                                            data-api={ "/api/v1/tokens/" (token.token_id) } data-method="DELETE"
                                            data-confirm=(ctx.tr("Thu hồi mã này? Các chương trình đang dùng nó sẽ bị từ chối.",
                                                                 "Revoke this token? Programs using it will be refused.")) {
                                            (ctx.tr("Thu hồi", "Revoke"))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form #token-form .subcard data-api="/api/v1/tokens" data-method="POST" data-after="token" {
                h3 { (ctx.tr("Tạo mã truy cập", "Create a token")) }
                div.grid3 {
                    label { (ctx.tr("Tên (để nhận ra)", "Name (to recognize it)")) input name="name" required; }
                    fieldset.scopes {
                        legend { (ctx.tr("Quyền", "Scopes")) }
                        @for scope in useful_scopes(role) {
                            label.inline {
                                input type="checkbox" name="scopes" value=(scope.as_str()) checked[scope == Scope::Read];
                                " " (scope_label(lang, scope))
                            }
                        }
                    }
                    label { (ctx.tr("Hiệu lực (ngày, để trống: không hết hạn)", "Valid for (days; empty: no expiry)"))
                        input name="days" type="number" min="1" max="3650" value="90"; }
                }
                button type="submit" { (ctx.tr("Tạo mã", "Create")) }
                (form_status())
                div #token-secret .notice hidden {
                    p { strong { (ctx.tr("Mã chỉ hiện một lần. Hãy sao chép và cất giữ an toàn:", "Shown only once. Copy it and keep it safe:")) } }
                    code #token-value {}
                }
            }
        }
    }
}

fn keys_section(ctx: &PageCtx, keys: &[SigningKey], users: &[User], now: OffsetDateTime) -> Markup {
    let names: HashMap<i64, &str> = users
        .iter()
        .map(|u| (u.user_id, u.username.as_str()))
        .collect();
    let officials: Vec<&User> = users
        .iter()
        .filter(|u| u.role == Role::Official && !u.disabled)
        .collect();
    html! {
        section #keys .card {
            h2 { (ctx.tr("Khóa ký số", "Signing keys")) }
            @if keys.is_empty() {
                p.muted { (ctx.tr("Chưa có khóa ký số nào.", "No signing keys yet.")) }
            } @else {
                table #keys-table {
                    thead { tr {
                        th { (ctx.tr("Người ký", "Official")) }
                        th { (ctx.tr("Tên khóa", "Key name")) }
                        th { (ctx.tr("Loại", "Kind")) }
                        th { (ctx.tr("Chứng thư", "Certificate")) }
                        th { (ctx.tr("Hết hạn", "Expires")) }
                        th { (ctx.tr("Ảnh chữ ký", "Signature image")) }
                        th.no-print {}
                    } }
                    tbody {
                        @for key in keys {
                            tr.key data-key-id=(key.key_id) {
                                td { (names.get(&key.user_id).copied().unwrap_or("?")) }
                                td { (key.name) }
                                td { (key.kind) }
                                td.small { (key.subject) }
                                td {
                                    (when(key.not_after))
                                    @if key.not_after <= now { " " span.bad { (ctx.tr("đã hết hạn", "expired")) } }
                                    @else if key.not_after <= now + time::Duration::days(30) {
                                        " " span.warn { (ctx.tr("sắp hết hạn", "expires soon")) }
                                    }
                                }
                                td { @if key.has_image { (ctx.tr("có", "yes")) } @else { "—" } }
                                td.no-print {
                                    @let url = format!("/api/v1/admin/keys/{}", key.key_id);
                                    @if key.disabled {
                                        span.muted { (ctx.tr("đã khóa", "disabled")) } " "
                                        button.secondary.toggle-key type="button" data-api=(url) data-method="PATCH"
                                            data-body="{\"disabled\":false}" { (ctx.tr("Mở khóa", "Enable")) }
                                    } @else {
                                        button.secondary.toggle-key type="button" data-api=(url) data-method="PATCH"
                                            data-body="{\"disabled\":true}"
                                            data-confirm=(ctx.tr("Khóa không cho ký bằng khóa này?", "Disable signing with this key?")) {
                                            (ctx.tr("Khóa", "Disable"))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form #key-form .subcard data-api="/api/v1/admin/keys" data-method="POST" enctype="multipart/form-data" {
                h3 { (ctx.tr("Thêm khóa PKCS#12 cho lãnh đạo", "Add a PKCS#12 key for an official")) }
                div.grid3 {
                    label { (ctx.tr("Lãnh đạo ký duyệt", "Official"))
                        select name="user" required {
                            @for user in &officials { option value=(user.username) { (user.display_name) " (" (user.username) ")" } }
                        }
                    }
                    label { (ctx.tr("Tên khóa", "Key name")) input name="name" required placeholder=(ctx.tr("Chữ ký số 2026", "Signing key 2026")); }
                    label { (ctx.tr("Tệp PKCS#12 (.p12, .pfx)", "PKCS#12 file (.p12, .pfx)"))
                        input name="p12" type="file" accept=".p12,.pfx,application/x-pkcs12" required; }
                    label { (ctx.tr("Mật khẩu của tệp", "The file's password"))
                        input name="password" type="password" autocomplete="off"; }
                    label { (ctx.tr("Ảnh chữ ký (PNG, tùy chọn)", "Signature image (PNG, optional)"))
                        input name="image" type="file" accept="image/png"; }
                }
                p.muted.small { (ctx.tr("Mật khẩu không được lưu: khóa được niêm phong bằng chính mật khẩu đó và lãnh đạo nhập lại khi ký.",
                                        "The password is not stored: the key is sealed under it and the official types it when signing.")) }
                @if officials.is_empty() {
                    p.notice { (ctx.tr("Chưa có tài khoản lãnh đạo ký duyệt nào.", "There is no official account yet.")) }
                }
                div.progress hidden { span {} }
                button type="submit" { (ctx.tr("Thêm khóa", "Add the key")) }
                (form_status())
            }
        }
    }
}

fn trust_section(
    ctx: &PageCtx,
    anchors: Result<&[AnchorEntry], &Error>,
    now: OffsetDateTime,
) -> Markup {
    html! {
        section #trust .card {
            h2 { (ctx.tr("Chứng thư gốc tin cậy", "Trust anchors")) }
            @match anchors {
                Err(error) => (error_line(ctx.lang, error)),
                Ok(anchors) => {
                    table #trust-table {
                        thead { tr {
                            th { (ctx.tr("Chủ thể", "Subject")) }
                            th { "SHA-256" }
                            th { (ctx.tr("Hết hạn", "Expires")) }
                            th { (ctx.tr("Thư mục", "Folder")) }
                            th.no-print {}
                        } }
                        tbody {
                            @for anchor in anchors {
                                @let fingerprint = anchor.fingerprint.to_hex();
                                tr.anchor data-sha256=(fingerprint) {
                                    td.small { (anchor.subject) }
                                    td { code.sha title=(fingerprint) { (fingerprint.get(..16).unwrap_or(&fingerprint)) "…" } }
                                    td { (when(anchor.not_after))
                                        @if anchor.not_after <= now { " " span.bad { (ctx.tr("đã hết hạn", "expired")) } } }
                                    td.small { (anchor.folder.display().to_string())
                                        @if anchor.managed { " " span.muted { (ctx.tr("(quản lý qua trang này)", "(managed here)")) } } }
                                    td.no-print {
                                        @if anchor.managed {
                                            button.secondary.remove-anchor type="button"
                                                data-api={ "/api/v1/admin/trust/" (fingerprint) } data-method="DELETE"
                                                data-confirm=(ctx.tr("Bỏ tin cậy chứng thư này?", "Stop trusting this certificate?")) {
                                                (ctx.tr("Gỡ bỏ", "Remove"))
                                            }
                                        } @else {
                                            span.muted.small { (ctx.tr("cấu hình, chỉ đọc", "configured, read-only")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form #trust-form .subcard data-api="/api/v1/admin/trust" data-method="POST" enctype="multipart/form-data" {
                h3 { (ctx.tr("Thêm chứng thư gốc (PEM hoặc DER)", "Add a root certificate (PEM or DER)")) }
                label { (ctx.tr("Tệp chứng thư", "Certificate files"))
                    input name="certificate" type="file" multiple required accept=".pem,.crt,.cer,.der"; }
                button type="submit" { (ctx.tr("Thêm", "Add")) }
                (form_status())
            }
        }
    }
}

fn catalogue_section(ctx: &PageCtx) -> Markup {
    html! {
        section #procedures .card {
            h2 { (ctx.tr("Danh mục thủ tục hành chính", "Procedure catalogue")) }
            p.muted { (ctx.tr(
                "Tệp CSV (mã, tên, lĩnh vực, cấp, số ngày giải quyết, cơ quan) hoặc JSON. Nếu có dòng sai, không dòng nào được nhập.",
                "A CSV (code, name, field, level, processing days, agency) or JSON file. If any row is invalid, nothing is imported.")) }
            form #catalogue-form data-api="/api/v1/admin/procedures" data-method="POST" data-after="catalogue" enctype="multipart/form-data" {
                label { (ctx.tr("Tệp danh mục", "Catalogue file"))
                    input name="catalogue" type="file" required accept=".csv,.json,text/csv,application/json"; }
                button type="submit" { (ctx.tr("Nhập danh mục", "Import")) }
                (form_status())
            }
            div #catalogue-report {}
        }
    }
}

// ---- /admin/stats ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
    #[allow(dead_code)]
    lang: Option<String>,
}

/// The period asked for, by default from the first of January to today (Vietnam).
fn period(query: &PeriodQuery, now: OffsetDateTime) -> Result<(Date, Date), ArchiveError> {
    let today = local_date(now);
    let parse = |field: &'static str, value: &Option<String>, default: Date| match value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => Ok(default),
        Some(text) => parse_day(text).ok_or_else(|| ArchiveError::FieldInvalid {
            field,
            value: text.chars().take(40).collect(),
            reason: "expected YYYY-MM-DD or dd/mm/yyyy".to_owned(),
        }),
    };
    let start_of_year = Date::from_calendar_date(today.year(), Month::January, 1).unwrap_or(today);
    Ok((
        parse("from", &query.from, start_of_year)?,
        parse("to", &query.to, today)?,
    ))
}

async fn stats_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, PageError> {
    ctx.require(Permission::Stats)?;
    let archive = state.pipeline.archive();
    let figures: Result<(Date, Date, Statistics, Vec<MonthlyRow>), Error> = async {
        let (from, to) = period(&query, state.now())?;
        let by_field = archive
            .statistics(&StatsQuery {
                from,
                to,
                by: Some(Grouping::Field),
            })
            .await?;
        let monthly = archive.monthly_statistics(from, to).await?;
        Ok((from, to, by_field, monthly))
    }
    .await;
    let (from_value, to_value) = match &figures {
        Ok((from, to, ..)) => (from.to_string(), to.to_string()),
        Err(_) => (
            query.from.clone().unwrap_or_default(),
            query.to.clone().unwrap_or_default(),
        ),
    };
    let body = html! {
        div data-page="stats" {
            form #stats-form .card.no-print method="get" action="/admin/stats" {
                div.search-row {
                    label { (ctx.tr("Từ ngày", "From")) input #stats-from type="date" name="from" value=(from_value); }
                    label { (ctx.tr("Đến ngày", "To")) input #stats-to type="date" name="to" value=(to_value); }
                    button type="submit" { (ctx.tr("Xem", "Show")) }
                    @if figures.is_ok() {
                        a.button.secondary #stats-csv
                            href={ "/api/v1/stats?by=field&format=csv&from=" (from_value) "&to=" (to_value) } {
                            (ctx.tr("Tải CSV", "Download CSV"))
                        }
                    }
                }
            }
            @match &figures {
                Err(error) => (error_line(ctx.lang, error)),
                Ok((from, to, stats, monthly)) => {
                    p.muted #stats-period {
                        (ctx.tr("Kỳ báo cáo", "Period")) ": " (day(*from)) " – " (day(*to))
                    }
                    (stats_table(&ctx, stats))
                    (charts(&ctx, stats, monthly))
                }
            }
        }
    };
    let mut response = layout(
        &ctx,
        ctx.tr("Thống kê giải quyết hồ sơ", "Dossier statistics"),
        body,
    );
    if let Err(error) = &figures {
        *response.status_mut() = status_of(error.class());
    }
    Ok(response)
}

fn field_name(lang: Lang, row: &StatsRow) -> String {
    row.key
        .clone()
        .unwrap_or_else(|| lang.tr("(chưa phân lĩnh vực)", "(no field)").to_owned())
}

fn stats_table(ctx: &PageCtx, stats: &Statistics) -> Markup {
    let lang = ctx.lang;
    let row_cells = |row: &StatsRow| {
        html! {
            td.num { (row.received_total) }
            td.num { (row.resolved_total) }
            td.num { (row.resolved_early) }
            td.num { (row.resolved_on_time) }
            td.num { (row.resolved_late) }
            td.num.pending-in-time { (row.pending_in_time) }
            td.num.pending-overdue.bad[row.pending_overdue > 0] { (row.pending_overdue) }
            td.num { (percent(lang, row.on_time_rate)) }
            td.num { (percent(lang, row.input_digitization_rate)) }
            td.num { (percent(lang, row.result_digitization_rate)) }
            td.num { (percent(lang, row.signed_result_share)) }
        }
    };
    html! {
        section.card {
            h2 { (ctx.tr("Tình hình giải quyết theo lĩnh vực", "Dossiers by field")) }
            div.table-scroll {
                table #stats-table {
                    // Two header rows, as the report form groups them: resolved (total, early,
                    // on time, late) and pending (in time, overdue), so a pending dossier
                    // that is not overdue never reads as one overdue.
                    thead {
                        tr {
                            th rowspan="2" { (ctx.tr("Lĩnh vực", "Field")) }
                            th.num rowspan="2" { (ctx.tr("Tiếp nhận", "Received")) }
                            th.group colspan="4" { (ctx.tr("Đã giải quyết", "Resolved")) }
                            th.group colspan="2" { (ctx.tr("Đang giải quyết", "Pending")) }
                            th.num rowspan="2" { (ctx.tr("Tỷ lệ đúng hạn", "On-time rate")) }
                            th.num rowspan="2" { (ctx.tr("Số hóa hồ sơ", "Dossiers digitized")) }
                            th.num rowspan="2" { (ctx.tr("Số hóa kết quả", "Results digitized")) }
                            th.num rowspan="2" { (ctx.tr("Kết quả ký số", "Results signed")) }
                        }
                        tr {
                            th.num { (ctx.tr("Tổng", "Total")) }
                            th.num { (ctx.tr("Trước hạn", "Early")) }
                            th.num { (ctx.tr("Đúng hạn", "On time")) }
                            th.num { (ctx.tr("Trễ hạn", "Late")) }
                            th.num { (ctx.tr("Trong hạn", "In time")) }
                            th.num { (ctx.tr("Quá hạn", "Overdue")) }
                        }
                    }
                    tbody {
                        @for row in &stats.rows {
                            tr.field-row { th scope="row" { (field_name(lang, row)) } (row_cells(row)) }
                        }
                    }
                    tfoot {
                        tr #stats-total { th scope="row" { (ctx.tr("Tổng cộng", "Total")) } (row_cells(&stats.total)) }
                    }
                }
            }
            p.muted.small { (ctx.tr(
                "Tỷ lệ đúng hạn = (trước hạn + đúng hạn) / đã giải quyết. Số hóa hồ sơ: hồ sơ nộp trực tiếp hoặc qua bưu chính có thành phần hồ sơ điện tử. Kết quả ký số: kết quả điện tử có chữ ký số hợp lệ. \"—\": không có hồ sơ để tính.",
                "On-time rate = (early + on time) / resolved. Dossiers digitized: in-person or postal dossiers with electronic papers. Results signed: electronic results with a valid digital signature. \"—\": nothing to count.")) }
        }
    }
}

/// `MM/YYYY`.
fn month_label(row: &MonthlyRow) -> String {
    format!("{:02}/{}", u8::from(row.from.month()), row.from.year())
}

fn charts(ctx: &PageCtx, stats: &Statistics, monthly: &[MonthlyRow]) -> Markup {
    let lang = ctx.lang;
    let resolved = |n: u64| format!("{n} {}", lang.tr("hồ sơ đã giải quyết", "resolved"));
    let received = |n: u64| format!("{n} {}", lang.tr("hồ sơ tiếp nhận", "received"));
    let by_month = |value: fn(&MonthlyRow) -> Option<f64>,
                    detail: &dyn Fn(&MonthlyRow) -> String| {
        monthly
            .iter()
            .map(|row| Bar::new(month_label(row), value(row), detail(row)))
            .collect::<Vec<_>>()
    };
    let by_field = |value: fn(&StatsRow) -> Option<f64>, detail: &dyn Fn(&StatsRow) -> String| {
        stats
            .rows
            .iter()
            .map(|row| Bar::new(field_name(lang, row), value(row), detail(row)))
            .collect::<Vec<_>>()
    };
    html! {
        section.card #stats-charts {
            h2 { (ctx.tr("Biểu đồ", "Charts")) }
            div.grid2.charts {
                (column_chart(lang, "chart-on-time-month", ctx.tr("Tỷ lệ giải quyết đúng hạn theo tháng", "On-time rate by month"),
                    &by_month(|r| r.on_time_rate, &|r| resolved(r.resolved_total))))
                (bar_chart(lang, "chart-on-time-field", ctx.tr("Tỷ lệ giải quyết đúng hạn theo lĩnh vực", "On-time rate by field"),
                    &by_field(|r| r.on_time_rate, &|r| format!("{} / {}", r.resolved_early + r.resolved_on_time, r.resolved_total))))
                (column_chart(lang, "chart-digitization-month", ctx.tr("Tỷ lệ số hóa hồ sơ theo tháng", "Digitization rate by month"),
                    &by_month(|r| r.input_digitization_rate, &|r| received(r.received_total))))
                (bar_chart(lang, "chart-digitization-field", ctx.tr("Tỷ lệ số hóa hồ sơ theo lĩnh vực", "Digitization rate by field"),
                    &by_field(|r| r.input_digitization_rate, &|r| format!("{} / {}", r.input_digitized, r.received_in_person_or_postal))))
                (column_chart(lang, "chart-signature-month", ctx.tr("Tỷ lệ kết quả được ký số theo tháng", "Digitally signed results by month"),
                    &by_month(|r| r.signed_result_share, &|r| resolved(r.resolved_total))))
                (bar_chart(lang, "chart-signature-field", ctx.tr("Tỷ lệ kết quả được ký số theo lĩnh vực", "Digitally signed results by field"),
                    &by_field(|r| r.signed_result_share, &|r| format!("{} / {}", r.results_signed, r.result_digitized))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn the_period_defaults_to_this_year_until_today_in_vietnam() {
        // 31 December 20:00 UTC is already 1 January in Vietnam.
        let now = datetime!(2026-12-31 20:00 UTC);
        let (from, to) = period(&PeriodQuery::default(), now).unwrap();
        assert_eq!((from, to), (date!(2027 - 01 - 01), date!(2027 - 01 - 01)));
        let asked = PeriodQuery {
            from: Some("01/03/2026".to_owned()),
            to: Some("2026-03-31".to_owned()),
            lang: None,
        };
        assert_eq!(
            period(&asked, now).unwrap(),
            (date!(2026 - 03 - 01), date!(2026 - 03 - 31))
        );
        let bad = PeriodQuery {
            from: Some("hôm qua".to_owned()),
            ..PeriodQuery::default()
        };
        assert!(matches!(
            period(&bad, now),
            Err(ArchiveError::FieldInvalid { field: "from", .. })
        ));
    }

    #[test]
    fn administrators_get_read_and_admin_scopes_only() {
        assert_eq!(useful_scopes(Role::Admin), vec![Scope::Read, Scope::Admin]);
        assert_eq!(useful_scopes(Role::Clerk), vec![Scope::Read, Scope::Write]);
        assert_eq!(
            useful_scopes(Role::Official),
            vec![Scope::Read, Scope::Sign]
        );
    }
}

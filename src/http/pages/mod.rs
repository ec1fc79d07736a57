//! Web pages, server-rendered with maud (HTML checked at compile time, escaped by default),
//! Vietnamese by default with an English switch (`?lang=en`, remembered in a cookie).
//!
//! - [`PageCtx`] (an extractor) carries the language, the signed-in caller (if any) and the
//!   CSRF token every form embeds as `_csrf`;
//! - [`layout`] wraps a page body in the common frame (header, role menu, language switch);
//! - [`PageError`] renders any [`Error`] as an HTML page with the same code and messages as
//!   the API, and turns "not signed in" into a redirect to the login page.
//!
//! Scripts are static files under `/assets/` (the content policy forbids inline scripts);
//! forms work without them, scripts add drag and drop, progress and previews.

pub mod admin;
pub mod archive;
pub mod charts;
pub mod clerk;
pub mod official;
pub mod public;
pub mod receipt;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use super::AppState;
use super::auth::{self, Caller, ClientIp, ExpiredSession};
use super::authz::Permission;
use super::error::{HttpError, status_of};
use crate::archive::accounts::Role;
use crate::error::{Coded, Error, ErrorClass};

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// `vi` or `en` text.
    pub fn tr<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// What every page handler needs: language, caller, and where the page is.
#[derive(Clone)]
pub struct PageCtx {
    pub lang: Lang,
    pub caller: Option<Caller>,
    pub path: String,
    /// `?lang=` was given: the cookie is set on the response.
    pub set_lang: bool,
}

impl PageCtx {
    pub fn tr<'a>(&self, vi: &'a str, en: &'a str) -> &'a str {
        self.lang.tr(vi, en)
    }

    pub fn csrf(&self) -> &str {
        self.caller.as_ref().map_or("", Caller::csrf_token)
    }

    /// The signed-in caller, or the redirect to the login page.
    ///
    /// # Errors
    /// [`HttpError::NotSignedIn`] (rendered as a redirect by [`PageError`]).
    pub fn caller(&self) -> Result<&Caller, PageError> {
        self.caller
            .as_ref()
            .ok_or_else(|| PageError::new(self, Error::Http(HttpError::NotSignedIn)))
    }

    /// The caller, allowed `permission`.
    ///
    /// # Errors
    /// Not signed in (redirect), or 403 as a page.
    pub fn require(&self, permission: Permission) -> Result<&Caller, PageError> {
        let caller = self.caller()?;
        caller
            .require(permission)
            .map_err(|e| PageError::new(self, e))?;
        Ok(caller)
    }

    /// Wraps `error` for this page.
    pub fn error(&self, error: impl Into<Error>) -> PageError {
        PageError::new(self, error.into())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query_lang = parts.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("lang="))
                .map(str::to_owned)
        });
        let chosen = query_lang
            .as_deref()
            .or_else(|| auth::cookie(&parts.headers, "lang"));
        let lang = if chosen == Some("en") {
            Lang::En
        } else {
            Lang::Vi
        };
        let mut caller = parts.extensions.get::<Caller>().cloned();
        // Pages are for people: an API token does not open them.
        if caller
            .as_ref()
            .is_some_and(|c| matches!(c.via, auth::Via::Token { .. }))
        {
            caller = None;
        }
        let expired = parts.extensions.get::<ExpiredSession>().is_some();
        let mut path = parts.uri.path().to_owned();
        if expired && caller.is_none() {
            path.push_str("?expired=1");
        }
        Ok(PageCtx {
            lang,
            caller,
            path,
            set_lang: query_lang.is_some(),
        })
    }
}

/// Any error of a page handler, rendered as HTML (module documentation).
pub struct PageError {
    lang: Lang,
    path: String,
    error: Error,
}

impl PageError {
    pub fn new(ctx: &PageCtx, error: Error) -> Self {
        PageError {
            lang: ctx.lang,
            path: ctx.path.clone(),
            error,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if self.error.class() == ErrorClass::Unauthenticated
            && !matches!(self.error, Error::Http(HttpError::LoginFailed))
        {
            let next = url_encode(&self.path);
            let expired = matches!(self.error, Error::Http(HttpError::SessionExpired))
                || self.path.contains("expired=1");
            let to = if expired {
                format!("/login?expired=1&next={next}")
            } else {
                format!("/login?next={next}")
            };
            return Redirect::to(&to).into_response();
        }
        let status = status_of(self.error.class());
        let body = super::error::error_body(&self.error);
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let message_en = body["error"]["message_en"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let lang = self.lang;
        let markup = html! {
            (DOCTYPE)
            html lang=(lang.code()) {
                head { meta charset="utf-8"; title { "hoso — " (lang.tr("Lỗi", "Error")) } link rel="stylesheet" href="/assets/app.css"; }
                body { main.narrow {
                    h1 { (lang.tr("Không thực hiện được", "Could not be done")) }
                    p.error-box { strong { (message) } br; span.muted { (message_en) } }
                    p.muted { (lang.tr("Mã lỗi", "Error code")) ": " code.error-code { (self.error.code()) } }
                    p { a href="/" { (lang.tr("Về trang chính", "Back to the start page")) } }
                } }
            }
        };
        (status, markup).into_response()
    }
}

impl From<(PageCtx, Error)> for PageError {
    fn from((ctx, error): (PageCtx, Error)) -> Self {
        PageError::new(&ctx, error)
    }
}

/// Percent-encodes a path for a query value.
pub fn url_encode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// The menu entries each role sees.
fn menu(ctx: &PageCtx) -> Vec<(&'static str, &'static str)> {
    let Some(caller) = &ctx.caller else {
        return vec![("/verify", ctx.tr("Kiểm tra văn bản", "Verify a document"))];
    };
    let mut items = Vec::new();
    let role = caller.role();
    if matches!(role, Role::Clerk) {
        items.push(("/clerk", ctx.tr("Tiếp nhận hồ sơ", "Receive dossiers")));
    }
    if matches!(role, Role::Official) {
        items.push((
            "/official",
            ctx.tr("Văn bản chờ ký", "Awaiting my signature"),
        ));
    }
    if caller.may(Permission::Search) {
        items.push(("/archive", ctx.tr("Tra cứu", "Search")));
    }
    if caller.may(Permission::Admin) {
        items.push(("/admin", ctx.tr("Quản trị", "Administration")));
    }
    if caller.may(Permission::Stats) {
        items.push(("/admin/stats", ctx.tr("Thống kê", "Statistics")));
    }
    items.push(("/verify", ctx.tr("Kiểm tra văn bản", "Verify a document")));
    items
}

/// The common frame of every page.
pub fn layout(ctx: &PageCtx, title: &str, body: Markup) -> Response {
    let other = match ctx.lang {
        Lang::Vi => ("en", "English"),
        Lang::En => ("vi", "Tiếng Việt"),
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — hoso" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body data-csrf=(ctx.csrf()) data-lang=(ctx.lang.code()) {
                header.top {
                    a.brand href="/" { "hoso" span.muted { " · " (ctx.tr("Một cửa", "One-stop office")) } }
                    nav { @let items = menu(ctx); @let current = current_item(&items, &ctx.path); @for (href, label) in items {
                        a href=(href) class=[(Some(href) == current).then_some("active")] { (label) }
                    } }
                    div.who {
                        @if let Some(caller) = &ctx.caller {
                            span { (caller.user.display_name) " (" (role_label(ctx.lang, caller.role())) ")" }
                            form method="post" action="/logout" {
                                input type="hidden" name="_csrf" value=(ctx.csrf());
                                button.link type="submit" { (ctx.tr("Đăng xuất", "Sign out")) }
                            }
                        } @else {
                            a href="/login" { (ctx.tr("Đăng nhập", "Sign in")) }
                        }
                        a.lang href={ "?lang=" (other.0) } { (other.1) }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    };
    let mut response = markup.into_response();
    if ctx.set_lang {
        let cookie = format!(
            "lang={}; Path=/; SameSite=Lax; Max-Age=31536000",
            ctx.lang.code()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The menu entry of `path`: the longest entry it starts with (`/admin/stats` is Statistics,
/// not Administration).
fn current_item(items: &[(&'static str, &'static str)], path: &str) -> Option<&'static str> {
    items
        .iter()
        .map(|(href, _)| *href)
        .filter(|href| path == *href || path.starts_with(&format!("{href}/")))
        .max_by_key(|href| href.len())
}

pub fn role_label(lang: Lang, role: Role) -> &'static str {
    match role {
        Role::Clerk => lang.tr("cán bộ tiếp nhận", "clerk"),
        Role::Official => lang.tr("lãnh đạo ký duyệt", "official"),
        Role::Archivist => lang.tr("lưu trữ viên", "archivist"),
        Role::Admin => lang.tr("quản trị", "administrator"),
    }
}

/// The pages' routes; each area adds its own.
pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", axum::routing::post(logout_submit))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .merge(admin::router())
        .merge(archive::router())
        .merge(public::router())
        .merge(clerk::router())
        .merge(official::router())
        .merge(receipt::router())
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("assets/app.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("assets/app.js"),
    )
        .into_response()
}

/// The start page of each role.
async fn home(ctx: PageCtx) -> Result<Response, PageError> {
    let caller = ctx.caller()?;
    let to = match caller.role() {
        Role::Clerk => "/clerk",
        Role::Official => "/official",
        Role::Archivist => "/archive",
        Role::Admin => "/admin",
    };
    Ok(Redirect::to(to).into_response())
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

fn login_form(ctx: &PageCtx, next: &str, notice: Option<(&str, String)>) -> Response {
    let body = html! {
        @if let Some((class, text)) = notice { p class=(class) { (text) } }
        form.card.narrow method="post" action="/login" {
            input type="hidden" name="next" value=(next);
            label { (ctx.tr("Tên đăng nhập", "User name")) input name="username" autocomplete="username" required autofocus; }
            label { (ctx.tr("Mật khẩu", "Password")) input name="password" type="password" autocomplete="current-password" required; }
            button type="submit" { (ctx.tr("Đăng nhập", "Sign in")) }
        }
        p.muted { (ctx.tr("Người dân kiểm tra văn bản không cần đăng nhập: ", "Citizens verify documents without signing in: ")) a href="/verify" { "/verify" } }
    };
    layout(ctx, ctx.tr("Đăng nhập", "Sign in"), body)
}

async fn login_page(
    ctx: PageCtx,
    axum::extract::Query(query): axum::extract::Query<LoginQuery>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    let notice = query.expired.is_some().then(|| {
        (
            "notice",
            ctx.tr(
                "Phiên làm việc đã hết hạn; hãy đăng nhập lại.",
                "Your session expired; please sign in again.",
            )
            .to_owned(),
        )
    });
    login_form(&ctx, &next, notice)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Extension(ClientIp(client)): Extension<ClientIp>,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    match auth::login(&state, &form.username, &form.password, client).await {
        Ok(session) => {
            let mut response = Redirect::to(&next).into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, session.cookie);
            response
        }
        Err(error) => {
            let status = status_of(error.class());
            let text = format!("{} [{}]", error.message_vi(), error.code());
            let text = if ctx.lang == Lang::En {
                format!("{error} [{}]", error.code())
            } else {
                text
            };
            let mut response = login_form(&ctx, &next, Some(("error-box", text)));
            *response.status_mut() = status;
            response
        }
    }
}

async fn logout_submit(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    match auth::logout(&state, &headers).await {
        Ok(cookie) => {
            let mut response = Redirect::to("/login").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.code()).into_response(),
    }
}

/// Only a local path is followed after login (no open redirect to another site).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// A `<script>`-free way to pass JSON to a page's script: an element's data attribute.
pub fn json_attr(value: &serde_json::Value) -> String {
    value.to_string()
}

/// Unused-import guard for helpers that build raw markup (kept for SVG charts and QR codes).
pub fn raw(svg: String) -> PreEscaped<String> {
    PreEscaped(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/archive?q=x")), "/archive?q=x");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}

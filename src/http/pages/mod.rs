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
pub mod archive_document;
pub mod archive_dossier;
pub mod charts;
pub mod clerk;
pub mod clerk_document;
pub mod clerk_dossier;
pub mod official;
pub mod public;
pub mod receipt;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
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
    /// The request's path.
    pub path: String,
    /// Where this page is found again with a GET (path and query, without `lang`): the
    /// language switch leads there, and so does signing in after a redirect to the login
    /// page. A page shown in answer to a form post names its address with [`PageCtx::at`];
    /// until then it is `/`.
    pub here: String,
    /// `?lang=` was given: the cookie is set on the response.
    pub set_lang: bool,
    /// A session cookie came, but its session had ended.
    pub expired: bool,
}

impl PageCtx {
    pub fn tr<'a>(&self, vi: &'a str, en: &'a str) -> &'a str {
        self.lang.tr(vi, en)
    }

    /// This context for a page whose address is `here` (a page shown in answer to a post).
    #[must_use]
    pub fn at(&self, here: impl Into<String>) -> PageCtx {
        PageCtx {
            here: here.into(),
            ..self.clone()
        }
    }

    /// This page in `lang`: its address with `lang=` added to the query.
    pub fn lang_href(&self, lang: Lang) -> String {
        let separator = if self.here.contains('?') { '&' } else { '?' };
        format!("{}{separator}lang={}", self.here, lang.code())
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
        let query = parts.uri.query().unwrap_or_default();
        let query_lang = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("lang="))
            .map(str::to_owned);
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
        let expired = caller.is_none() && parts.extensions.get::<ExpiredSession>().is_some();
        let path = parts.uri.path().to_owned();
        let here = if matches!(parts.method, Method::GET | Method::HEAD) {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| !pair.is_empty() && *pair != "lang" && !pair.starts_with("lang="))
                .collect();
            if kept.is_empty() {
                path.clone()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        } else {
            "/".to_owned()
        };
        Ok(PageCtx {
            lang,
            caller,
            path,
            here,
            set_lang: query_lang.is_some(),
            expired,
        })
    }
}

/// Any error of a page handler, rendered as HTML (module documentation).
pub struct PageError {
    lang: Lang,
    /// Where to come back after signing in.
    next: String,
    expired: bool,
    error: Error,
}

impl PageError {
    pub fn new(ctx: &PageCtx, error: Error) -> Self {
        PageError {
            lang: ctx.lang,
            next: ctx.here.clone(),
            expired: ctx.expired,
            error,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if self.error.class() == ErrorClass::Unauthenticated
            && !matches!(self.error, Error::Http(HttpError::LoginFailed))
        {
            let next = url_encode(&self.next);
            let expired =
                matches!(self.error, Error::Http(HttpError::SessionExpired)) || self.expired;
            let to = if expired {
                format!("/login?expired=1&next={next}")
            } else {
                format!("/login?next={next}")
            };
            return Redirect::to(&to).into_response();
        }
        let status = status_of(self.error.class());
        let lang = self.lang;
        // The page's language first, the other below it.
        let other = match lang {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        };
        let message = error_message(lang, &self.error);
        let message_other = error_message(other, &self.error);
        let markup = html! {
            (DOCTYPE)
            html lang=(lang.code()) {
                head { meta charset="utf-8"; title { "hoso — " (lang.tr("Lỗi", "Error")) } link rel="stylesheet" href="/assets/app.css"; }
                body { main.narrow {
                    h1 { (lang.tr("Không thực hiện được", "Could not be done")) }
                    p.error-box { strong { (message) } br; span.muted lang=(other.code()) { (message_other) } }
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

/// The message of `error` in `lang`, as the API gives it: an internal error says only that
/// it was logged (its details, a database's or a file system's words, stay in the log).
pub fn error_message(lang: Lang, error: &Error) -> String {
    let body = super::error::error_body(error);
    let key = match lang {
        Lang::Vi => "message",
        Lang::En => "message_en",
    };
    body["error"][key].as_str().unwrap_or_default().to_owned()
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
        Lang::Vi => (Lang::En, "English"),
        Lang::En => (Lang::Vi, "Tiếng Việt"),
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
                        a.lang href=(ctx.lang_href(other.0)) hreflang=(other.0.code()) { (other.1) }
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

/// The login form; a missing field is an empty one (a failed login shown on the page, not
/// axum's plain-text rejection).
#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
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
    // The form shown again is the login page's (its language switch keeps `next`).
    let ctx = ctx.at(format!("/login?next={}", url_encode(&next)));
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
            let text = format!("{} [{}]", error_message(ctx.lang, &error), error.code());
            let mut response = login_form(&ctx, &next, Some(("error-box", text)));
            *response.status_mut() = status;
            response
        }
    }
}

async fn logout_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: axum::http::HeaderMap,
) -> Response {
    match auth::logout(&state, &headers).await {
        Ok(cookie) => {
            let mut response = Redirect::to("/login").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(error) => ctx.error(error).into_response(),
    }
}

/// Only a path on this site is followed after login (no open redirect to another site): it
/// starts with one `/`, and holds printable ASCII only, no `\`. Browsers drop tabs and line
/// breaks from a `Location` and read `\` as `/`, so `/<TAB>/evil.example` or
/// `/\evil.example` would lead to another host.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Markup made on the server that is already HTML: only for the QR code's SVG, which
/// [`receipt::qr_svg`] builds from numbers and an escaped title.
pub(crate) fn raw(svg: String) -> PreEscaped<String> {
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
        // Browsers drop tabs and line breaks from a Location and read `\` as `/`.
        for evil in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\\evil.example",
            "/ /evil.example",
            "/\u{0}x",
            "/clerk\u{a0}",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil:?}");
        }
        assert_eq!(
            safe_next(Some("/clerk/dossiers/X99.999.99-261206-0001?ok=created")),
            "/clerk/dossiers/X99.999.99-261206-0001?ok=created"
        );
    }
}

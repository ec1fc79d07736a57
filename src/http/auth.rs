//! Authentication: who is calling, on every request, once.
//!
//! [`authenticate`] (a middleware over the whole router) reads either an API token
//! (`Authorization: Bearer hst_…`) or the session cookie, looks it up by its SHA-256 (secrets
//! are hashed at rest), and leaves a [`Caller`] in the request for handlers to extract. It
//! also enforces CSRF protection for cookie sessions: a state-changing request must carry the
//! session's token, in the `x-csrf-token` header (scripts, `fetch`) or the `_csrf` field of a
//! form. Token requests need no CSRF token (a browser never attaches them by itself).
//!
//! Sessions slide: each use pushes the idle expiry forward (written at most once a minute),
//! never past the absolute lifetime.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use super::AppState;
use super::authz::{Permission, role_allows};
use super::error::HttpError;
use crate::archive::accounts::{Role, Scope, User};
use crate::auth::{new_secret, secret_digest, verify_password};
use crate::error::{Error, Result};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "hoso_session";
/// Header carrying the CSRF token of a cookie session.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest urlencoded form read to find its `_csrf` field.
const FORM_LIMIT: usize = 256 * 1024;

/// The signed-in user of a request and how they proved it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub enum Via {
    Session { csrf_token: String },
    Token { token_id: i64, scopes: Vec<Scope> },
}

impl Caller {
    /// Allowed by the role and, for a token, by its scopes; 403 otherwise.
    ///
    /// # Errors
    /// [`HttpError::Forbidden`].
    pub fn require(&self, permission: Permission) -> Result<()> {
        let scoped = match &self.via {
            Via::Session { .. } => true,
            Via::Token { scopes, .. } => scopes.contains(&permission.scope()),
        };
        if scoped && role_allows(self.user.role, permission) {
            Ok(())
        } else {
            Err(Error::Http(HttpError::Forbidden {
                action: permission.action(),
            }))
        }
    }

    /// Whether the role and scopes allow `permission` (for showing or hiding page parts).
    pub fn may(&self, permission: Permission) -> bool {
        self.require(permission).is_ok()
    }

    /// The name written in audit entries: the user, and the token when one was used.
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Session { .. } => self.user.username.clone(),
            Via::Token { token_id, .. } => format!("{} (token {token_id})", self.user.username),
        }
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    /// The CSRF token pages embed in their forms (empty for token callers).
    pub fn csrf_token(&self) -> &str {
        match &self.via {
            Via::Session { csrf_token } => csrf_token,
            Via::Token { .. } => "",
        }
    }
}

/// Left in the request when a session cookie came but named no live session, so that pages
/// can say "your session expired" rather than "sign in".
#[derive(Debug, Clone, Copy)]
pub struct ExpiredSession;

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        if parts.extensions.get::<ExpiredSession>().is_some() {
            return Err(Error::Http(HttpError::SessionExpired));
        }
        Err(Error::Http(HttpError::NotSignedIn))
    }
}

/// `Option<Caller>` for routes open to everyone that show more to the signed-in.
pub struct MaybeCaller(pub Option<Caller>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeCaller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(MaybeCaller(parts.extensions.get::<Caller>().cloned()))
    }
}

/// The value of cookie `name` in `headers`.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The client's address (the socket peer; `None` in in-process tests), left in every request
/// by [`authenticate`]: `Extension<ClientIp>`.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

fn client_ip(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Routes a forged cross-site request gains nothing from: signing in (no session to protect
/// yet; login CSRF is blocked by the SameSite=Strict cookie) and public verification (stores
/// nothing, open to everyone anyway).
fn csrf_exempt(method: &Method, path: &str) -> bool {
    method == Method::POST
        && matches!(
            path,
            "/login" | "/api/v1/session" | "/verify" | "/api/v1/verify"
        )
}

/// The middleware (module documentation).
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = ClientIp(client_ip(request.extensions()));
    request.extensions_mut().insert(client);
    match identify(&state, &mut request).await {
        Ok(request) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

async fn identify(state: &AppState, request: &mut Request) -> Result<Request> {
    let now = state.now();
    let archive = state.pipeline.archive();
    let headers = request.headers();
    if let Some(token) = bearer_token(headers)? {
        let (user, token) = archive
            .token(&secret_digest(token), now)
            .await?
            .ok_or(Error::Http(HttpError::TokenInvalid))?;
        let caller = Caller {
            user,
            via: Via::Token {
                token_id: token.token_id,
                scopes: token.scopes,
            },
        };
        let mut request = std::mem::replace(request, Request::new(Body::empty()));
        request.extensions_mut().insert(caller);
        return Ok(request);
    }
    let mut request = std::mem::replace(request, Request::new(Body::empty()));
    let Some(secret) = cookie(request.headers(), SESSION_COOKIE).map(str::to_owned) else {
        return Ok(request);
    };
    let digest = secret_digest(&secret);
    let Some(session) = archive.session(&digest, now).await? else {
        request.extensions_mut().insert(ExpiredSession);
        return Ok(request);
    };
    if is_state_changing(request.method()) && !csrf_exempt(request.method(), request.uri().path()) {
        request = check_csrf(request, &session.csrf_token).await?;
    }
    if now - session.last_seen_at > time::Duration::minutes(1) {
        let expires_at = state.settings.session_expiry(session.created_at, now);
        archive.touch_session(&digest, now, expires_at).await?;
    }
    request.extensions_mut().insert(Caller {
        user: session.user,
        via: Via::Session {
            csrf_token: session.csrf_token,
        },
    });
    Ok(request)
}

/// The token of an `Authorization: Bearer …` header, the scheme in any case (RFC 9110
/// §11.1). `None` without the header or with another scheme (the Basic credentials of a
/// reverse proxy, which browsers repeat on every request): the session cookie decides then.
///
/// # Errors
/// [`HttpError::TokenInvalid`] for a Bearer header without a token.
fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bytes = value.as_bytes().trim_ascii_start();
    let (scheme, rest) = match bytes.iter().position(|b| *b == b' ' || *b == b'\t') {
        Some(at) => (&bytes[..at], &bytes[at..]),
        None => (bytes, &b""[..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Ok(None);
    }
    std::str::from_utf8(rest)
        .ok()
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(Some)
        .ok_or(Error::Http(HttpError::TokenInvalid))
}

/// Passes a state-changing cookie request only with the session's CSRF token (header, or the
/// `_csrf` field of an urlencoded form, after which the form is handed on unchanged).
async fn check_csrf(request: Request, expected: &str) -> Result<Request> {
    let matches = |sent: &str| constant_time_eq(sent.as_bytes(), expected.as_bytes());
    if let Some(sent) = request.headers().get(CSRF_HEADER) {
        return if sent.to_str().is_ok_and(matches) {
            Ok(request)
        } else {
            Err(Error::Http(HttpError::CsrfInvalid))
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(Error::Http(HttpError::CsrfMissing));
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        Error::Http(HttpError::PayloadTooLarge {
            limit_bytes: FORM_LIMIT as u64,
        })
    })?;
    let sent = form_urlencoded_field(&bytes, "_csrf").ok_or(Error::Http(HttpError::CsrfMissing))?;
    if !matches(&sent) {
        return Err(Error::Http(HttpError::CsrfInvalid));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The first value of `name` in an urlencoded body.
fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a, b)
}

/// A new session for a user whose password was just checked.
pub struct NewSession {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
    /// The `Set-Cookie` value.
    pub cookie: HeaderValue,
}

/// Checks a user name and password (rate-limited per client and name) and opens a session.
///
/// # Errors
/// [`HttpError::RateLimited`] after too many failures, [`HttpError::LoginFailed`] for a wrong
/// name or password or a disabled account (one message for all three, so names cannot be
/// probed), database failures.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    client: Option<IpAddr>,
) -> Result<NewSession> {
    let now = state.now();
    // User names are at most 64 characters: a longer one cannot match, and the counter's
    // key stays small whatever a client sends.
    let limiter_key = format!(
        "{}|{}",
        client.map(|ip| ip.to_string()).unwrap_or_default(),
        username.chars().take(65).collect::<String>().to_lowercase()
    );
    // Counted before the (slow) password check: guesses sent at once cannot all start
    // before the first failure is recorded. A success forgets them.
    state.limits.login.hit(&limiter_key)?;
    let archive = state.pipeline.archive();
    let found = archive.user_by_name(username).await?;
    let password = password.to_owned();
    // argon2 is deliberately slow: off the async threads. A dummy hash is checked for an
    // unknown user so both cases take the same time.
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, dummy_hash()),
    };
    let ok = state
        .pipeline
        .run_blocking(move || Ok(verify_password(&password, &hash)))
        .await?;
    let remote = client.map(|ip| ip.to_string()).unwrap_or_default();
    let user = match user {
        Some(user) if ok && !user.disabled => user,
        _ => {
            archive.record_login(username, false, &remote, now).await?;
            return Err(Error::Http(HttpError::LoginFailed));
        }
    };
    state.limits.login.succeed(&limiter_key);
    archive
        .record_login(&user.username, true, &remote, now)
        .await?;
    let secret = new_secret("hs_");
    let csrf_token = new_secret("");
    let expires_at = state.settings.session_expiry(now, now);
    archive
        .create_session(
            user.user_id,
            &secret_digest(&secret),
            &csrf_token,
            now,
            expires_at,
        )
        .await?;
    let cookie = session_cookie(
        &secret,
        state.settings.cookie_secure,
        Some(state.settings.session_max),
    );
    Ok(NewSession {
        user,
        csrf_token,
        expires_at,
        cookie,
    })
}

/// Closes the session of this request, if any; returns the cookie that clears it.
///
/// # Errors
/// Database failures.
pub async fn logout(state: &AppState, headers: &HeaderMap) -> Result<HeaderValue> {
    if let Some(secret) = cookie(headers, SESSION_COOKIE) {
        state
            .pipeline
            .archive()
            .delete_session(&secret_digest(secret))
            .await?;
    }
    Ok(session_cookie("", state.settings.cookie_secure, None))
}

/// `Set-Cookie` for the session: HttpOnly (no script reads it), SameSite=Strict (no other
/// site's page can make the browser send it), Secure unless configured off for plain-HTTP
/// test networks; `None` for `max_age` clears it.
fn session_cookie(secret: &str, secure: bool, max_age: Option<Duration>) -> HeaderValue {
    let age = max_age.map_or(0, |age| age.as_secs());
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}{secure}"
    );
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("hoso_session=; Max-Age=0"))
}

/// An argon2id hash of a random password, checked when the user name is unknown.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| crate::auth::hash_password(&new_secret("")).unwrap_or_default())
        .clone()
}

/// Fixed-window counters of attempts (login, signing-key passwords) or requests (public
/// verification), per key. Per process: with several replicas each counts its own share.
pub struct RateLimits {
    pub login: Limiter,
    pub verify: Limiter,
    /// Attempts to open a signing key with its password or PIN, per key: as many as login
    /// attempts, in the same window (a stolen session must not guess the second factor).
    pub signing_key: Limiter,
}

impl RateLimits {
    pub fn new(login_failures: u32, verify_per_minute: u32) -> Self {
        RateLimits {
            login: Limiter::new(login_failures, Duration::from_secs(15 * 60)),
            verify: Limiter::new(verify_per_minute, Duration::from_secs(60)),
            signing_key: Limiter::new(login_failures, Duration::from_secs(15 * 60)),
        }
    }
}

pub struct Limiter {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Entries kept before expired ones are swept.
const LIMITER_SWEEP_AT: usize = 10_000;

impl Limiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Limiter {
            limit,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Refuses when `key` has reached the limit in the current window.
    ///
    /// # Errors
    /// [`HttpError::RateLimited`] with the seconds until the window ends.
    pub fn check(&self, key: &str) -> Result<()> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((start, count)) = counts.get(key)
            && *count >= self.limit
            && start.elapsed() < self.window
        {
            let retry_after_secs = self.window.saturating_sub(start.elapsed()).as_secs().max(1);
            return Err(Error::Http(HttpError::RateLimited { retry_after_secs }));
        }
        Ok(())
    }

    /// Counts one event for `key`.
    pub fn fail(&self, key: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= LIMITER_SWEEP_AT {
            let window = self.window;
            counts.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = counts.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }

    /// Forgets `key` (a successful login clears its failures).
    pub fn succeed(&self, key: &str) {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Counts one attempt and refuses it past the limit, in one step (concurrent attempts
    /// cannot all pass a check before any is counted).
    ///
    /// # Errors
    /// [`HttpError::RateLimited`] (a refused attempt is not counted).
    pub fn hit(&self, key: &str) -> Result<()> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= LIMITER_SWEEP_AT {
            let window = self.window;
            counts.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = counts.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= self.limit {
            let retry_after_secs = self
                .window
                .saturating_sub(entry.0.elapsed())
                .as_secs()
                .max(1);
            return Err(Error::Http(HttpError::RateLimited { retry_after_secs }));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_refuses_past_the_limit_and_forgets_on_success() {
        let limiter = Limiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            limiter.check("a").unwrap();
            limiter.fail("a");
        }
        assert!(limiter.check("a").is_err());
        assert!(limiter.check("b").is_ok());
        limiter.succeed("a");
        assert!(limiter.check("a").is_ok());
    }

    #[test]
    fn cookies_and_form_fields_are_found() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; hoso_session=hs_x; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("hs_x"));
        assert_eq!(
            form_urlencoded_field(b"x=1&_csrf=abc%2Bd", "_csrf").as_deref(),
            Some("abc+d")
        );
    }

    #[test]
    fn the_dummy_hash_is_a_real_hash_of_nothing_guessable() {
        assert!(dummy_hash().starts_with("$argon2id$"));
        assert!(!verify_password("", &dummy_hash()));
    }
}

//! HTTP interface: the only module that knows axum.
//!
//! [`app`] builds the router (tests drive it in-process); [`serve`] binds it to a socket and
//! runs until SIGINT or SIGTERM, then stops accepting, lets in-flight requests finish, and
//! returns. Every request gets an `x-request-id` (kept if the client sent one), which appears
//! in every log line of that request and in the response.

pub mod api;
pub mod auth;
pub mod authz;
pub mod error;
mod health;
pub mod metrics;
pub mod pages;
pub mod upload;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use time::OffsetDateTime;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::pipeline::Pipeline;

/// State shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub pipeline: Arc<Pipeline>,
    pub settings: Arc<HttpSettings>,
    pub limits: Arc<auth::RateLimits>,
    /// The time handlers pass to the pipeline as `now` (tests move it to expire sessions).
    pub clock: Arc<dyn Fn() -> OffsetDateTime + Send + Sync>,
}

impl AppState {
    /// Default settings and the real clock.
    pub fn new(pipeline: Arc<Pipeline>) -> Self {
        Self::with_settings(pipeline, HttpSettings::default())
    }

    pub fn with_settings(pipeline: Arc<Pipeline>, settings: HttpSettings) -> Self {
        let limits = auth::RateLimits::new(settings.login_failures, settings.verify_per_minute);
        AppState {
            pipeline,
            settings: Arc::new(settings),
            limits: Arc::new(limits),
            clock: Arc::new(OffsetDateTime::now_utc),
        }
    }

    #[must_use]
    pub fn with_clock(
        mut self,
        clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static,
    ) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Now, by the state's clock.
    pub fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }
}

/// What `hoso serve` can be told about the web side.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest upload accepted, per request (413 beyond it, before the body is read when the
    /// client declares its length).
    pub upload_limit_bytes: u64,
    /// Mark the session cookie Secure (browsers then send it over HTTPS and to localhost only).
    pub cookie_secure: bool,
    /// A session ends after this long without a request…
    pub session_idle: Duration,
    /// …and after this long in any case.
    pub session_max: Duration,
    /// The address citizens reach (printed in QR codes); `None`: the request's Host.
    pub public_url: Option<String>,
    /// Time-stamping authority for signatures made through the service (B-T and above).
    pub tsa_url: Option<String>,
    /// Failed logins per client and user name in 15 minutes before 429.
    pub login_failures: u32,
    /// Public verifications per client per minute.
    pub verify_per_minute: u32,
    /// The handling agency whose codes new dossiers get (`agency_code` of the
    /// configuration); `None`: the test code X99.999.99.
    pub agency_code: Option<crate::archive::codes::AgencyCode>,
    /// Largest file anyone (signed in or not) may send to public verification.
    pub public_verify_limit_bytes: u64,
    /// PKCS#11 modules administrators may register keys on through the API (loading a module
    /// runs its code in the service, so the list is the operator's, on the command line).
    pub pkcs11_modules: Vec<std::path::PathBuf>,
}

/// Debian's SoftHSM2 and OpenSC modules; vendors' token modules are added with
/// `hoso serve --pkcs11-module PATH`.
pub const DEFAULT_PKCS11_MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so",
];

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            upload_limit_bytes: 512 * 1024 * 1024,
            cookie_secure: true,
            session_idle: Duration::from_secs(30 * 60),
            session_max: Duration::from_secs(12 * 3600),
            public_url: None,
            tsa_url: None,
            login_failures: 5,
            verify_per_minute: 30,
            agency_code: None,
            public_verify_limit_bytes: 100 * 1024 * 1024,
            pkcs11_modules: DEFAULT_PKCS11_MODULES
                .iter()
                .map(std::path::PathBuf::from)
                .collect(),
        }
    }
}

impl HttpSettings {
    /// When a session used at `now` expires: idle timeout, capped by the absolute lifetime.
    pub fn session_expiry(
        &self,
        created_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> OffsetDateTime {
        let idle = now + self.session_idle;
        let max = created_at + self.session_max;
        idle.min(max)
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The complete router with its middleware.
pub fn app(state: AppState) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .and_then(|id| id.header_value().to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", id = %request_id, method = %request.method(), path = %request.uri().path())
    })
    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO));
    Router::new()
        .merge(health::router())
        .merge(api::router(&state))
        .merge(pages::router(&state))
        .merge(metrics::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(state.clone(), auth::authenticate))
        .layer(from_fn(metrics::track))
        .layer(from_fn(security_headers))
        .with_state(state)
        // Layers run bottom-up on the way in: the id is set first, then traced, then echoed.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Headers every response carries: no MIME sniffing, no framing by other sites, no referrer
/// leaking dossier codes, and a content policy that runs only our own scripts.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
             script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ));
    response
}

async fn method_not_allowed() -> impl IntoResponse {
    let body = serde_json::json!({ "error": {
        "code": "method-not-allowed",
        "message": "Địa chỉ này không nhận phương thức (GET, POST…) đã dùng.",
        "message_en": "This route does not accept that method.",
    }});
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body))
}

async fn not_found() -> impl IntoResponse {
    let body = serde_json::json!({ "error": {
        "code": "route-not-found",
        "message": "Không có địa chỉ này trên máy chủ hoso.",
        "message_en": "No such route.",
    }});
    (StatusCode::NOT_FOUND, axum::Json(body))
}

/// Serves `state` on `listen` until a shutdown signal arrives.
///
/// `on_bound` is called with the actual address once the socket is bound (port 0 picks a
/// free port), so callers can print the URL.
///
/// # Errors
/// The address cannot be bound, or the server fails.
pub async fn serve(
    listen: SocketAddr,
    state: AppState,
    on_bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    serve_until(listen, state, on_bound, shutdown_signal()).await
}

/// Like [`serve`], but stops (gracefully) when `shutdown` resolves instead of on a signal:
/// for embedding the server, e.g. the browser tests.
///
/// # Errors
/// The address cannot be bound, or the server fails.
pub async fn serve_until(
    listen: SocketAddr,
    state: AppState,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    on_bound(listener.local_addr()?);
    // The peer address feeds the rate limits.
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Resolves on Ctrl-C or SIGTERM (what systemd and container runtimes send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("tín hiệu dừng: đang hoàn tất các yêu cầu dở dang (shutting down gracefully)");
}

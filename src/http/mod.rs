//! HTTP interface: the only module that knows axum.
//!
//! [`app`] builds the router (tests drive it in-process); [`serve`] binds it to a socket and
//! runs until SIGINT or SIGTERM, then stops accepting, lets in-flight requests finish, and
//! returns. Every request gets an `x-request-id` (kept if the client sent one), which appears
//! in every log line of that request and in the response.

pub mod error;
mod health;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::IntoResponse;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::pipeline::Pipeline;

/// State shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub pipeline: Arc<Pipeline>,
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
        .fallback(not_found)
        .with_state(state)
        // Layers run bottom-up on the way in: the id is set first, then traced, then echoed.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
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
    let listener = tokio::net::TcpListener::bind(listen).await?;
    on_bound(listener.local_addr()?);
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
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

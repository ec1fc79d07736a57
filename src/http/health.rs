//! Liveness and readiness, for load balancers and orchestrators.
//!
//! - `GET /healthz`: the process answers (no dependency is touched).
//! - `GET /readyz`: the database answers and the blob store accepts writes; 503 otherwise,
//!   with the failing check named.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use super::AppState;
use super::error::error_body;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let readiness = state.pipeline.readiness().await;
    let check = |failure: &Option<crate::Error>| match failure {
        None => json!("ok"),
        Some(error) => error_body(error)["error"].clone(),
    };
    let body = json!({
        "status": if readiness.is_ready() { "ready" } else { "not-ready" },
        "database": state.pipeline.archive().backend(),
        "checks": {
            "database": check(&readiness.database),
            "blob_store": check(&readiness.blob_store),
        },
    });
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

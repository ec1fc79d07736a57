//! The HTTP interface, driven in-process through the router.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::helpers::{TestDb, backends, pipeline};
use hoso::http::{AppState, app};

async fn get(
    router: axum::Router,
    path: &str,
    request_id: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::get(path);
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let response = router
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, id, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn healthz_answers_with_a_request_id() {
    let db = TestDb::sqlite();
    let (pipeline, _dir) = pipeline(&db).await;
    let router = app(AppState::new(pipeline));
    let (status, id, body) = get(router.clone(), "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert!(
        id.is_some_and(|id| id.len() == 36),
        "a UUID request id is generated"
    );
    let (_, id, _) = get(router, "/healthz", Some("counter-7-abc")).await;
    assert_eq!(
        id.as_deref(),
        Some("counter-7-abc"),
        "a client's request id is kept"
    );
}

#[tokio::test]
async fn readyz_reports_each_backend_ready() {
    for db in backends().await {
        let (pipeline, _dir) = pipeline(&db).await;
        let backend = pipeline.archive().backend();
        let (status, _, body) = get(app(AppState::new(pipeline.clone())), "/readyz", None).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(body["status"], "ready");
        assert_eq!(body["database"], backend);
        assert_eq!(body["checks"]["database"], "ok");
        assert_eq!(body["checks"]["blob_store"], "ok");
        pipeline.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn readyz_is_503_with_a_stable_code_when_the_database_is_gone() {
    let db = TestDb::sqlite();
    let (pipeline, _dir) = pipeline(&db).await;
    pipeline.close().await;
    let (status, _, body) = get(app(AppState::new(pipeline)), "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "not-ready");
    assert_eq!(body["checks"]["database"]["code"], "database-error");
    assert_eq!(
        body["checks"]["database"]["message"],
        "Không kết nối được cơ sở dữ liệu."
    );
    assert_eq!(body["checks"]["blob_store"], "ok");
}

#[tokio::test]
async fn unknown_routes_get_a_json_404() {
    let db = TestDb::sqlite();
    let (pipeline, _dir) = pipeline(&db).await;
    let (status, _, body) = get(app(AppState::new(pipeline)), "/no/such/page", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "route-not-found");
}

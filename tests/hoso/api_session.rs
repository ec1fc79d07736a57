//! Signing in and out, sessions, tokens, CSRF and the OpenAPI document.

use axum::body::Body;
use axum::http::{Method, Request, header};
use hoso::archive::accounts::Role;
use hoso::http::HttpSettings;

use crate::api_support::{PASSWORD, ROLES, TestApp};
use crate::helpers::TestDb;

#[tokio::test]
async fn sessions_and_tokens_identify_the_caller() {
    for app in TestApp::all().await {
        for role in ROLES {
            let by_token = app.get_as(role, "/api/v1/me").await;
            by_token.assert_status(200);
            assert_eq!(by_token.json()["role"], role.as_str());
            assert_eq!(by_token.json()["via"], "token");
            let by_cookie = app
                .send(
                    app.as_session(role, Method::GET, "/api/v1/me")
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            by_cookie.assert_status(200);
            assert_eq!(by_cookie.json()["via"], "session");
        }
        app.get_anonymous("/api/v1/me")
            .await
            .assert_error(401, "unauthenticated");
        // A forged or replayed-after-logout cookie is a closed session.
        let session = app.sessions[&Role::Clerk].clone();
        let logout = app
            .send(
                app.as_session(Role::Clerk, Method::DELETE, "/api/v1/session")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        logout.assert_status(204);
        assert!(
            logout.headers[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        let replayed = app
            .send(
                Request::get("/api/v1/me")
                    .header(header::COOKIE, &session.cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        replayed.assert_error(401, "session-expired");
        let bad_token = app
            .send(
                Request::get("/api/v1/me")
                    .header(header::AUTHORIZATION, "Bearer hst_00")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        bad_token.assert_error(401, "token-invalid");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_secure_by_default() {
    let db = TestDb::sqlite();
    let app = TestApp::new(db, HttpSettings::default()).await;
    // TestApp turns Secure off for plain-HTTP tests; the default settings keep it on.
    assert!(HttpSettings::default().cookie_secure);
    let response = app
        .send(
            Request::post("/api/v1/session")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(
                    r#"{{"username":"clerk1","password":"{PASSWORD}"}}"#
                )))
                .unwrap(),
        )
        .await;
    response.assert_status(200);
    let cookie = response.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    app.cleanup().await;
}

#[tokio::test]
async fn a_cookie_session_needs_its_csrf_token_to_change_anything() {
    let db = TestDb::sqlite();
    let app = TestApp::new(db, HttpSettings::default()).await;
    let session = app.sessions[&Role::Clerk].clone();
    let without = app
        .send(
            Request::delete("/api/v1/session")
                .header(header::COOKIE, &session.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    without.assert_error(403, "csrf-token-missing");
    let wrong = app
        .send(
            Request::delete("/api/v1/session")
                .header(header::COOKIE, &session.cookie)
                .header("x-csrf-token", "0000")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    wrong.assert_error(403, "csrf-token-invalid");
    // A form post carries it as a field.
    let form = app
        .send(
            Request::post("/logout")
                .header(header::COOKIE, &session.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("_csrf={}", session.csrf)))
                .unwrap(),
        )
        .await;
    form.assert_status(303);
    app.cleanup().await;
}

#[tokio::test]
async fn sessions_expire_when_idle() {
    let db = TestDb::sqlite();
    let app = TestApp::new(db, HttpSettings::default()).await;
    app.advance(time::Duration::minutes(20));
    let alive = app
        .send(
            app.as_session(Role::Archivist, Method::GET, "/api/v1/me")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    alive.assert_status(200);
    // Used at 20 min: the idle expiry slid to 50 min.
    app.advance(time::Duration::minutes(25));
    app.send(
        app.as_session(Role::Archivist, Method::GET, "/api/v1/me")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .assert_status(200);
    app.advance(time::Duration::minutes(31));
    app.send(
        app.as_session(Role::Archivist, Method::GET, "/api/v1/me")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .assert_error(401, "session-expired");
    // Pages send the person to the login page, saying why.
    let page = app
        .send(
            app.as_session(Role::Archivist, Method::GET, "/")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status.as_u16(), 303, "{}", page.text());
    assert!(
        page.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login?expired=1")
    );
    app.cleanup().await;
}

#[tokio::test]
async fn logins_are_rate_limited_and_wrong_passwords_say_nothing_about_the_name() {
    let db = TestDb::sqlite();
    let app = TestApp::new(db, HttpSettings::default()).await;
    let attempt = |user: &'static str, password: &'static str| {
        Request::post("/api/v1/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(format!(
                r#"{{"username":"{user}","password":"{password}"}}"#
            )))
            .unwrap()
    };
    app.send(attempt("nobody", "x"))
        .await
        .assert_error(401, "login-failed");
    for _ in 0..5 {
        app.send(attempt("clerk1", "wrong"))
            .await
            .assert_error(401, "login-failed");
    }
    let limited = app.send(attempt("clerk1", PASSWORD)).await;
    limited.assert_error(429, "rate-limited");
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
    app.send(attempt("archivist1", PASSWORD))
        .await
        .assert_status(200);
    app.cleanup().await;
}

#[tokio::test]
async fn the_openapi_document_and_its_page_are_served() {
    let db = TestDb::sqlite();
    let app = TestApp::new(db, HttpSettings::default()).await;
    let document = app.get_anonymous("/api/openapi.json").await;
    document.assert_status(200);
    let json = document.json();
    assert!(json["openapi"].as_str().unwrap().starts_with("3."));
    assert!(
        json["paths"]["/api/v1/session"]["post"].is_object(),
        "{json}"
    );
    assert!(json["paths"]["/api/v1/me"]["get"].is_object());
    let page = app.get_anonymous("/api/docs/").await;
    page.assert_status(200);
    assert!(page.text().contains("swagger"));
    app.cleanup().await;
}

#[tokio::test]
async fn metrics_are_for_admins() {
    let db = TestDb::sqlite();
    let app = TestApp::new(db, HttpSettings::default()).await;
    app.get_as(Role::Clerk, "/metrics")
        .await
        .assert_error(403, "forbidden");
    let metrics = app.get_as(Role::Admin, "/metrics").await;
    metrics.assert_status(200);
    assert!(
        metrics.text().contains("hoso_http_requests_total"),
        "{}",
        metrics.text()
    );
    app.cleanup().await;
}

#[tokio::test]
async fn malformed_json_and_unknown_fields_get_coded_errors() {
    let db = TestDb::sqlite();
    let app = TestApp::new(db, HttpSettings::default()).await;
    for body in [
        "{not json",
        r#"{"username":"a","password":"b","admin":true}"#,
        r#"{"username":1,"password":"b"}"#,
    ] {
        app.send(
            Request::post("/api/v1/session")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .assert_error(400, "json-invalid");
    }
    app.send(
        Request::post("/api/v1/session")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("x"))
            .unwrap(),
    )
    .await
    .assert_error(415, "unsupported-media-type");
    app.cleanup().await;
}

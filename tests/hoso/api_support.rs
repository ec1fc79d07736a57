//! The service under test, in process: [`TestApp`] holds a router over a fresh archive (one
//! per backend, see [`TestApp::all`]) with one user per role, each with a session and an API
//! token, and a clock the test can move.
//!
//! ```ignore
//! for app in TestApp::all().await {
//!     let response = app.get_as(Role::Archivist, "/api/v1/search?q=x").await;
//!     response.assert_status(200);
//!     let forbidden = app.post_json_as(Role::Official, "/api/v1/dossiers", &json!({..})).await;
//!     forbidden.assert_error(403, "forbidden");
//!     app.cleanup().await;
//! }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use hoso::archive::accounts::{NewUser, Role, Scope};
use hoso::http::{AppState, HttpSettings, app};
use hoso::pipeline::Pipeline;
use http_body_util::BodyExt;
use serde_json::Value;
use tempfile::TempDir;
use time::OffsetDateTime;
use tower::ServiceExt;

use crate::helpers::{TestDb, backends, pipeline};

/// Every test user's password.
pub const PASSWORD: &str = "mat-khau-thu-nghiem-1";

pub const ROLES: [Role; 4] = [Role::Clerk, Role::Official, Archivist, Role::Admin];
use Role::Archivist;

/// How a request proves who sends it.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub pipeline: Arc<Pipeline>,
    pub db: TestDb,
    _blobs: TempDir,
    clock: Arc<Mutex<OffsetDateTime>>,
    pub tokens: HashMap<Role, String>,
    pub sessions: HashMap<Role, Session>,
    pub user_ids: HashMap<Role, i64>,
}

/// A response, read whole.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), status {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(500)])
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body[..self.body.len().min(800)])
        );
        self
    }

    /// The project's error body with `code`, a Vietnamese and an English message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        self.assert_status(status);
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
                && body["error"]["message_en"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
}

/// A multipart body under construction.
pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Default for Multipart {
    fn default() -> Self {
        Multipart {
            boundary: format!("hoso-test-{}", uuid::Uuid::new_v4().simple()),
            body: Vec::new(),
        }
    }
}

impl Multipart {
    #[must_use]
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self
    }

    #[must_use]
    pub fn file(mut self, name: &str, file_name: &str, content_type: &str, bytes: &[u8]) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// `(content type, body)`.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            self.body,
        )
    }
}

impl TestApp {
    /// One app per backend (SQLite always; PostgreSQL when reachable, always in CI).
    pub async fn all() -> Vec<TestApp> {
        let mut apps = Vec::new();
        for db in backends().await {
            apps.push(TestApp::new(db, HttpSettings::default()).await);
        }
        apps
    }

    /// An app over `db` with `settings` (cookies not Secure: the tests speak plain HTTP).
    pub async fn new(db: TestDb, mut settings: HttpSettings) -> TestApp {
        settings.cookie_secure = false;
        let (pipeline, blobs) = pipeline(&db).await;
        let pipeline = Arc::new(
            Arc::try_unwrap(pipeline)
                .ok()
                .expect("the pipeline is not shared yet")
                .with_trust_dirs(vec![
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certs/test-pki"),
                ]),
        );
        let clock = Arc::new(Mutex::new(OffsetDateTime::now_utc()));
        let shared = clock.clone();
        let state = AppState::with_settings(pipeline.clone(), settings)
            .with_clock(move || *shared.lock().unwrap());
        let router = app(state.clone());
        let mut test = TestApp {
            router,
            state,
            pipeline,
            db,
            _blobs: blobs,
            clock,
            tokens: HashMap::new(),
            sessions: HashMap::new(),
            user_ids: HashMap::new(),
        };
        let now = test.now();
        let hash = hoso::auth::hash_password(PASSWORD).unwrap();
        for role in ROLES {
            let username = Self::username(role);
            let user = test
                .pipeline
                .archive()
                .add_user(
                    &NewUser {
                        username: username.clone(),
                        display_name: format!("Nguyễn Văn {}", role.as_str()),
                        role,
                        password_hash: hash.clone(),
                    },
                    "test",
                    now,
                )
                .await
                .unwrap();
            test.user_ids.insert(role, user.user_id);
            let secret = hoso::auth::new_secret("hst_");
            test.pipeline
                .archive()
                .create_token(
                    user.user_id,
                    "test",
                    &[Scope::Read, Scope::Write, Scope::Sign, Scope::Admin],
                    &hoso::auth::secret_digest(&secret),
                    None,
                    "test",
                    now,
                )
                .await
                .unwrap();
            test.tokens.insert(role, secret);
            let session = test.login(&username, PASSWORD).await;
            test.sessions.insert(role, session);
        }
        test
    }

    /// `clerk1`, `official1`, …
    pub fn username(role: Role) -> String {
        format!("{}1", role.as_str())
    }

    pub fn now(&self) -> OffsetDateTime {
        *self.clock.lock().unwrap()
    }

    /// Moves the service's clock forward.
    pub fn advance(&self, by: time::Duration) {
        *self.clock.lock().unwrap() += by;
    }

    /// Signs in through the API and returns the cookie and CSRF token.
    pub async fn login(&self, username: &str, password: &str) -> Session {
        let response = self
            .send(
                Request::post("/api/v1/session")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(
                        serde_json::json!({"username": username, "password": password}).to_string(),
                    ))
                    .unwrap(),
            )
            .await;
        response.assert_status(200);
        let cookie = response
            .headers
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        Session {
            cookie,
            csrf: response.json()["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// A request as `role` with its API token.
    pub fn as_token(&self, role: Role, method: Method, path: &str) -> axum::http::request::Builder {
        Request::builder().method(method).uri(path).header(
            header::AUTHORIZATION,
            format!("Bearer {}", self.tokens[&role]),
        )
    }

    /// A request as `role` with its session cookie and CSRF token.
    pub fn as_session(
        &self,
        role: Role,
        method: Method,
        path: &str,
    ) -> axum::http::request::Builder {
        let session = &self.sessions[&role];
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, &session.cookie)
            .header("x-csrf-token", &session.csrf)
    }

    pub async fn get_as(&self, role: Role, path: &str) -> TestResponse {
        self.send(
            self.as_token(role, Method::GET, path)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn get_anonymous(&self, path: &str) -> TestResponse {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    pub async fn json_as(
        &self,
        role: Role,
        method: Method,
        path: &str,
        body: &Value,
    ) -> TestResponse {
        self.send(
            self.as_token(role, method, path)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn post_json_as(&self, role: Role, path: &str, body: &Value) -> TestResponse {
        self.json_as(role, Method::POST, path, body).await
    }

    pub async fn multipart_as(&self, role: Role, path: &str, form: Multipart) -> TestResponse {
        let (content_type, body) = form.finish();
        self.send(
            self.as_token(role, Method::POST, path)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    pub async fn multipart_anonymous(&self, path: &str, form: Multipart) -> TestResponse {
        let (content_type, body) = form.finish();
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    pub async fn cleanup(self) {
        self.pipeline.close().await;
        self.db.cleanup().await;
    }
}

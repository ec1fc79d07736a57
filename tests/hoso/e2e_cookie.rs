//! The default settings (`hoso serve` as `scripts/start` runs it: Secure session cookie, plain
//! HTTP on 127.0.0.1) must let a browser sign in: browsers treat loopback as a secure context.

use std::sync::Arc;

use hoso::http::{AppState, HttpSettings};
use time::OffsetDateTime;

use crate::api_support::{PASSWORD, TestApp};
use crate::browser::{Chromedriver, Screenshots, Server, Tab};
use crate::helpers::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_secure_cookie_signs_in_over_loopback() {
    let Some(driver) = Chromedriver::start() else {
        return;
    };
    let app = TestApp::new(TestDb::sqlite(), HttpSettings::default()).await;
    let settings = HttpSettings::default();
    assert!(settings.cookie_secure);
    let state =
        AppState::with_settings(app.pipeline.clone(), settings).with_clock(OffsetDateTime::now_utc);
    let server = Server::start(state).await;
    let tab = Tab::open(&driver, &server.base, Arc::new(Screenshots::new("cookie"))).await;
    tab.login("archivist1", PASSWORD).await;
    tab.goto("/archive").await;
    let path = tab.path().await;
    assert!(
        path.starts_with("/archive"),
        "signed in with a Secure cookie over http://127.0.0.1, but the browser is at {path}"
    );
    tab.close().await;
    server.stop().await;
    app.cleanup().await;
}

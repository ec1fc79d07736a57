//! The browser harness of the end-to-end tests: the service served for real on a loopback
//! port, Debian's headless Chromium driven through chromedriver (WebDriver, via fantoccini),
//! and screenshots of every step.
//!
//! ```ignore
//! let Some(driver) = Chromedriver::start() else { return };   // skipped visibly outside CI
//! let app = TestApp::new(db, settings).await;                   // users, keys, catalogue…
//! let server = Server::start(app.state.clone()).await;          // http://127.0.0.1:PORT
//! let shots = Arc::new(Screenshots::new("sqlite"));
//! let tab = Tab::open(&driver, &server.base, shots.clone()).await;
//! tab.goto("/login").await;
//! tab.fill("input[name=username]", "clerk1").await;
//! tab.screenshot("login").await;                                // NN-sqlite-login.png
//! tab.close().await;
//! server.stop().await;
//! ```
//!
//! - [`Chromedriver`] runs `chromedriver --port=N` in a process group of its own and kills
//!   that group when dropped (also when the test panics), so no browser is left behind.
//! - [`Server`] runs `hoso::http::serve_until` on 127.0.0.1:0 in a tokio task.
//! - [`Tab`] is one browser session (its own cookies: a new `Tab` is a new person); its
//!   helpers wait with a timeout and, when something never appears, save a `FAILED-…`
//!   screenshot and panic with the page's address and text.
//! - [`Screenshots`] writes numbered PNGs to `$CARGO_TARGET_DIR/e2e-screenshots/` (or
//!   `target/e2e-screenshots/`), never into the source tree.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hoso::http::AppState;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::helpers::in_ci;

const CHROMIUM: &str = "/usr/bin/chromium";

/// How long a page may take to show something ordinary (not OCR or signing).
pub const SHORT: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------------------------------
// chromedriver
// ------------------------------------------------------------------------------------------

/// A running chromedriver; dropping it kills it and the browsers it started.
pub struct Chromedriver {
    child: Child,
    pub url: String,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it answers. `None` (with a visible
    /// message) when Chromium or chromedriver is missing outside CI; in CI that fails.
    pub fn start() -> Option<Chromedriver> {
        let driver = which("chromedriver");
        let missing = match (&driver, Path::new(CHROMIUM).is_file()) {
            (None, _) => Some("chromedriver not found"),
            (_, false) => Some("chromium not found at /usr/bin/chromium"),
            _ => None,
        };
        if let Some(what) = missing {
            assert!(
                !in_ci(),
                "the browser tests need Chromium and chromedriver in CI ({what}); \
                 scripts/install-deps installs them"
            );
            eprintln!("SKIPPED (browser tests): {what}");
            return None;
        }
        let port = free_port();
        let mut command = Command::new(driver.unwrap());
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        // Its own process group: the browsers it starts die with it (see Drop).
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("chromedriver starts");
        let driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {address} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(driver)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any Chromium a failed test did not close.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

// ------------------------------------------------------------------------------------------
// the service
// ------------------------------------------------------------------------------------------

/// `hoso::http::serve_until` on a loopback port, in a task of the test's runtime.
pub struct Server {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start(state: AppState) -> Server {
        let (bound_tx, bound_rx) = oneshot::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let task = tokio::spawn(hoso::http::serve_until(
            listen,
            state,
            move |address| {
                let _ = bound_tx.send(address);
            },
            async move {
                let _ = shutdown_rx.await;
            },
        ));
        let address = match bound_rx.await {
            Ok(address) => address,
            Err(_) => panic!("the server did not bind: {:?}", task.await),
        };
        Server {
            base: format!("http://{address}"),
            shutdown: Some(shutdown_tx),
            task: Some(task),
        }
    }

    /// Graceful stop (in-flight requests finish; at most 10 s).
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            match tokio::time::timeout(Duration::from_secs(10), task).await {
                Ok(result) => result
                    .expect("the server task did not panic")
                    .expect("the server ran without an error"),
                Err(_) => abort.abort(),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

// ------------------------------------------------------------------------------------------
// screenshots
// ------------------------------------------------------------------------------------------

/// Numbered PNGs of one run in the screenshots folder.
pub struct Screenshots {
    pub dir: PathBuf,
    prefix: String,
    next: AtomicUsize,
}

impl Screenshots {
    /// `$CARGO_TARGET_DIR/e2e-screenshots` (else `target/e2e-screenshots`); files of an
    /// earlier run with the same `prefix` are removed first.
    pub fn new(prefix: &str) -> Screenshots {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
        let dir = target.join("e2e-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".png") && name.contains(&format!("-{prefix}-")) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Screenshots {
            dir,
            prefix: prefix.to_owned(),
            next: AtomicUsize::new(1),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{n:02}-{}-{name}.png", self.prefix))
    }
}

// ------------------------------------------------------------------------------------------
// a browser session
// ------------------------------------------------------------------------------------------

/// One headless Chromium session (its own cookies) on the served app.
pub struct Tab {
    pub client: Client,
    pub base: String,
    shots: Arc<Screenshots>,
}

impl Tab {
    /// A new browser: 1366×768, Vietnamese.
    pub async fn open(driver: &Chromedriver, base: &str, shots: Arc<Screenshots>) -> Tab {
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--window-size=1366,768", "--lang=vi"],
                "prefs": {"intl.accept_languages": "vi,vi-VN"},
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("a Chromium session through {}: {e}", driver.url));
        Tab {
            client,
            base: base.to_owned(),
            shots,
        }
    }

    /// Ends the browser session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Saves a PNG of the viewport as `NN-prefix-name.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = self.shots.path(name);
        match self.client.screenshot().await {
            Ok(png) => std::fs::write(&path, png).unwrap(),
            Err(e) => eprintln!("e2e: screenshot {name} failed: {e}"),
        }
        eprintln!("e2e: screenshot {}", path.display());
        path
    }

    /// A PNG of the whole page's height (the window is resized for it, then restored).
    pub async fn screenshot_full(&self, name: &str) -> PathBuf {
        let height = self
            .js("return Math.min(document.documentElement.scrollHeight, 4000)")
            .await
            .as_u64()
            .unwrap_or(768)
            .max(768);
        let _ = self.client.set_window_size(1366, height as u32).await;
        let path = self.screenshot(name).await;
        let _ = self.client.set_window_size(1366, 768).await;
        path
    }

    /// Screenshot, then panic with where the page is and what it says.
    pub async fn fail(&self, what: &str) -> ! {
        let shot = self
            .screenshot(&format!("FAILED-{}", file_safe(what)))
            .await;
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let text = self.body_text().await;
        let text: String = text.chars().take(3000).collect();
        panic!(
            "e2e: {what}\n  page: {url}\n  screenshot: {}\n  page text:\n{text}",
            shot.display()
        );
    }

    /// Runs `script` (a function body: `return …`) in the page.
    pub async fn js(&self, script: &str) -> Value {
        self.js_with(script, Vec::new()).await
    }

    pub async fn js_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    pub async fn body_text(&self) -> String {
        self.client
            .execute(
                "return document.body ? document.body.innerText : ''",
                Vec::new(),
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Polls `script` every 250 ms until it returns something other than null, false, 0 or
    /// an empty string, and returns that; after `timeout`, [`Tab::fail`] with `what`.
    pub async fn wait_js(&self, what: &str, script: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(value) = self.client.execute(script, Vec::new()).await {
                let truthy = match &value {
                    Value::Null => false,
                    Value::Bool(b) => *b,
                    Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
                    Value::String(s) => !s.is_empty(),
                    _ => true,
                };
                if truthy {
                    return value;
                }
            }
            if Instant::now() >= deadline {
                self.fail(&format!("timed out after {timeout:?} waiting for {what}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The first element matching `css`, waiting for it to exist and be shown.
    pub async fn wait_css(&self, css: &str, timeout: Duration) -> Element {
        let script = format!(
            "const e = document.querySelector({}); \
             return !!(e && (e.offsetParent !== null || getComputedStyle(e).position === 'fixed' \
                             || e.getClientRects().length > 0));",
            js_string(css)
        );
        self.wait_js(&format!("a visible `{css}`"), &script, timeout)
            .await;
        self.find(css).await
    }

    /// The first element matching `css`, which must exist now.
    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => self.fail(&format!("no `{css}` on the page ({e})")).await,
        }
    }

    /// Visible text of the first `css` (waits for it).
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_css(css, SHORT).await;
        element.text().await.unwrap_or_default()
    }

    /// Clicks the first visible `css` (scrolled into view first).
    pub async fn click(&self, css: &str) {
        let element = self.wait_css(css, SHORT).await;
        let _ = self
            .client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(&element).unwrap()],
            )
            .await;
        if let Err(e) = element.click().await {
            self.fail(&format!("click on `{css}` failed: {e}")).await;
        }
    }

    /// Replaces the value of the input `css` with `text` by typing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_css(css, SHORT).await;
        let _ = element.clear().await;
        if let Err(e) = element.send_keys(text).await {
            self.fail(&format!("typing into `{css}` failed: {e}")).await;
        }
    }

    /// Chooses the `<option>` of the select `css` whose value is `value`.
    pub async fn select_value(&self, css: &str, value: &str) {
        let element = self.wait_css(css, SHORT).await;
        if let Err(e) = element.select_by_value(value).await {
            self.fail(&format!("no option {value:?} in `{css}` ({e})"))
                .await;
        }
    }

    /// Gives files to the `<input type=file>` matching `css` (it may be hidden: a drop
    /// zone's input usually is), as a person choosing them in the file dialog would.
    pub async fn choose_files(&self, css: &str, files: &[&Path]) {
        let element = self.find(css).await;
        let paths: Vec<String> = files
            .iter()
            .map(|path| {
                std::fs::canonicalize(path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                    .display()
                    .to_string()
            })
            .collect();
        if let Err(e) = element.send_keys(&paths.join("\n")).await {
            self.fail(&format!("choosing files in `{css}` failed: {e}"))
                .await;
        }
    }

    /// Waits until the shown page's path starts with `prefix`.
    pub async fn wait_path(&self, prefix: &str, timeout: Duration) {
        let script = format!(
            "return location.pathname.startsWith({}) && document.readyState === 'complete';",
            js_string(prefix)
        );
        self.wait_js(&format!("the page {prefix}"), &script, timeout)
            .await;
    }

    /// Signs in on /login (Vietnamese form) and waits until the start page of the role.
    pub async fn login(&self, username: &str, password: &str) {
        self.goto("/login").await;
        self.fill("input[name=username]", username).await;
        self.fill("input[name=password]", password).await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
        self.wait_js(
            &format!("{username} to be signed in"),
            "return !location.pathname.startsWith('/login') && document.readyState === 'complete';",
            SHORT,
        )
        .await;
    }
}

/// `text` as a JavaScript string literal.
pub fn js_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(60)
        .collect()
}

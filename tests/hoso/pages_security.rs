//! The pages against hostile data and hostile links, in process on SQLite and PostgreSQL:
//! markup typed into every field a page shows (catalogue, dossier, notes, metadata, OCR text,
//! file names, user, key and token names, search words, period and `next` parameters) comes
//! back as text on every page, in both languages; every page route answers each role as the
//! role table says (the page, the 403 page, or the login page), and the forms of the others
//! change nothing; every `<form method=post>` carries the session's CSRF token; the login
//! page follows only local paths; the language switch keeps the page and its query.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Method, Request, header};
use hoso::archive::accounts::{KeyStorage, NewSigningKey, NewUser, Role, Scope};
use hoso::archive::codes::DossierCode;
use hoso::archive::documents::{DocumentMetadata, DocumentRole, NewDocument, OcrText};
use hoso::archive::procedures::CatalogueFormat;
use hoso::digest::Sha256Digest;
use hoso::pipeline::ingest::IngestRequest;

use crate::api_support::{PASSWORD, Session, TestApp, TestResponse};

/// Markup that would run or inject if a page printed it unescaped (long fields).
const HOSTILE: &str =
    "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'javascript:alert(3)";
/// The same for fields of at most 30 characters.
const SHORT: &str = "\"><img src=x onerror=f()>";
/// For the 11 characters of a document number.
const TINY: &str = "\"><b>x</b>";

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// A CSV field, quoted.
fn csv(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn request(session: &Session, method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, &session.cookie)
        .header("x-csrf-token", &session.csrf)
}

async fn get(app: &TestApp, session: &Session, path: &str) -> TestResponse {
    app.send(
        request(session, Method::GET, path)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn post_form(
    app: &TestApp,
    session: &Session,
    path: &str,
    fields: &[(&str, &str)],
) -> TestResponse {
    app.send(
        request(session, Method::POST, path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
            .unwrap(),
    )
    .await
}

/// The page shows the hostile data (escaped: the test would prove nothing otherwise) and
/// nothing of it as markup; its only script is `app.js`.
#[track_caller]
fn assert_inert(what: &str, response: &TestResponse) {
    let html = response.text();
    let lower = html.to_lowercase();
    assert!(
        lower.contains("&lt;img src=x")
            || lower.contains("&lt;script&gt;alert(1)")
            || lower.contains("&lt;b&gt;x"),
        "{what}: the hostile data is not on the page, so nothing was tested:\n{html}"
    );
    for raw in [
        "<script>alert",
        "<img src=x",
        "<b>x</b>",
        "<svg/onload",
        // An attribute (maud quotes them all with `"`) that starts as a script address.
        "=\"javascript:",
    ] {
        assert!(!lower.contains(raw), "{what}: {raw:?} unescaped:\n{html}");
    }
    assert_eq!(
        lower.matches("<script").count(),
        1,
        "{what}: only app.js runs:\n{html}"
    );
}

/// Everything the pages show, made hostile; returns (dossier code, the document with text,
/// the scanned document, its sha256).
async fn hostile_records(app: &TestApp, clerk: &Session) -> (String, i64, i64, String) {
    let archive = app.pipeline.archive();
    let now = app.now();
    let catalogue = format!(
        "code,name,field,level,processing_days,competent_agency\n\
         1.001193,{},{},Cấp xã,3,{}\n",
        csv(HOSTILE),
        csv(HOSTILE),
        csv(HOSTILE)
    );
    archive
        .import_procedures(
            catalogue.as_bytes(),
            CatalogueFormat::Csv,
            "x.csv",
            "admin1",
            now,
        )
        .await
        .unwrap();
    // The dossier, received through the page's form by a clerk with a hostile name.
    let received = post_form(
        app,
        clerk,
        "/clerk/dossiers",
        &[
            ("procedure", "1.001193"),
            ("applicant_name", HOSTILE),
            ("id_number", "001203004567"),
            ("contact", HOSTILE),
            ("channel", "in_person"),
            ("note", HOSTILE),
        ],
    )
    .await;
    received.assert_status(303);
    let code = received.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .trim_start_matches("/clerk/dossiers/")
        .trim_end_matches("?ok=created")
        .to_owned();
    post_form(
        app,
        clerk,
        &format!("/clerk/dossiers/{code}/transitions"),
        &[("to", "appraised"), ("note", HOSTILE)],
    )
    .await
    .assert_status(303);
    let metadata = DocumentMetadata {
        type_name: Some(HOSTILE.to_owned()),
        code_number: Some(TINY.to_owned()),
        code_notation: Some(SHORT.to_owned()),
        organ_name: Some(HOSTILE.to_owned()),
        subject: Some(format!("{HOSTILE} khai sinh")),
        language: Some(SHORT.to_owned()),
        description: Some(HOSTILE.to_owned()),
        signer_position: Some(HOSTILE.to_owned()),
        signer_name: Some(SHORT.to_owned()),
        ..DocumentMetadata::default()
    };
    // A document with recognized text (no file behind it: its thumbnails say why).
    let content = format!("{HOSTILE} văn bản");
    let sha = Sha256Digest::of(content.as_bytes());
    archive
        .record_blob(&sha, content.len() as u64, "application/pdf", now)
        .await
        .unwrap();
    let text = archive
        .add_document(
            &NewDocument {
                dossier: Some(DossierCode::parse(&code).unwrap()),
                role: DocumentRole::Input,
                sha256: sha,
                file_name: format!("{SHORT}.pdf"),
                metadata: metadata.clone(),
                ocr: Some(OcrText {
                    text: format!("{HOSTILE} khai sinh Đống Đa"),
                    confidence: Some(90.0),
                }),
                actor: "clerk1".to_owned(),
                reason: HOSTILE.to_owned(),
            },
            now,
        )
        .await
        .unwrap()
        .document_id;
    // A real PDF (pages to preview), a result to sign.
    let scanned = app
        .pipeline
        .ingest(
            IngestRequest {
                path: sample("cong-van.pdf"),
                file_name: Some(format!("{SHORT}.pdf")),
                dossier: Some(DossierCode::parse(&code).unwrap()),
                role: DocumentRole::Result,
                metadata,
                ocr: false,
                offline: true,
                actor: "clerk1".to_owned(),
            },
            now,
        )
        .await
        .unwrap();
    let scanned_sha = archive.document(scanned.id).await.unwrap().versions[0]
        .sha256
        .clone();
    post_form(
        app,
        clerk,
        &format!("/clerk/dossiers/{code}/sign-requests"),
        &[
            ("document_id", &scanned.id.to_string()),
            ("official", "official1"),
            ("note", HOSTILE),
        ],
    )
    .await
    .assert_status(303);
    // An official, a signing key and a token with hostile names.
    let hash = hoso::auth::hash_password(PASSWORD).unwrap();
    archive
        .add_user(
            &NewUser {
                username: "official2".to_owned(),
                display_name: HOSTILE.to_owned(),
                role: Role::Official,
                password_hash: hash,
            },
            "admin1",
            now,
        )
        .await
        .unwrap();
    let p12 = std::fs::read(crate::pki::dir().join("official.p12")).unwrap();
    let (sealed, info) = hoso::auth::seal_pkcs12(&p12, "test").unwrap();
    archive
        .add_signing_key(
            &NewSigningKey {
                user_id: app.user_ids[&Role::Official],
                name: HOSTILE.to_owned(),
                storage: KeyStorage::Pkcs12 { sealed },
                certificate_der: info.certificate_der,
                subject: info.subject,
                not_after: info.not_after,
                signature_image: None,
            },
            "admin1",
            now,
        )
        .await
        .unwrap();
    archive
        .create_token(
            app.user_ids[&Role::Admin],
            HOSTILE,
            &[Scope::Read],
            &hoso::auth::secret_digest("hst_hostile"),
            None,
            "admin1",
            now,
        )
        .await
        .unwrap();
    (code, text, scanned.id, scanned_sha)
}

#[tokio::test]
async fn hostile_data_is_shown_as_text_on_every_page_in_both_languages() {
    for app in TestApp::all().await {
        let hash = hoso::auth::hash_password(PASSWORD).unwrap();
        app.pipeline
            .archive()
            .add_user(
                &NewUser {
                    username: "clerk2".to_owned(),
                    display_name: HOSTILE.to_owned(),
                    role: Role::Clerk,
                    password_hash: hash,
                },
                "admin1",
                app.now(),
            )
            .await
            .unwrap();
        let clerk = app.login("clerk2", PASSWORD).await;
        let (code, text, scanned, sha) = hostile_records(&app, &clerk).await;
        let session = |role: Role| app.sessions[&role].clone();
        let q = serde_urlencoded::to_string([("q", HOSTILE)]).unwrap();
        let pages: Vec<(Session, String)> = vec![
            (clerk.clone(), "/clerk".to_owned()),
            (clerk.clone(), format!("/clerk/dossiers/{code}")),
            (clerk.clone(), format!("/clerk/documents/{text}")),
            (clerk.clone(), format!("/clerk/documents/{scanned}")),
            (clerk.clone(), format!("/clerk/dossiers/{code}/receipt")),
            (session(Role::Official), "/official".to_owned()),
            (
                session(Role::Official),
                format!("/official/documents/{scanned}"),
            ),
            (session(Role::Archivist), "/archive?q=khai+sinh".to_owned()),
            (session(Role::Archivist), format!("/archive?{q}")),
            (
                session(Role::Archivist),
                format!("/archive/documents/{text}"),
            ),
            (
                session(Role::Archivist),
                format!("/archive/documents/{scanned}"),
            ),
            (
                session(Role::Archivist),
                format!("/archive/dossiers/{code}"),
            ),
            (session(Role::Archivist), "/admin/stats".to_owned()),
            (session(Role::Admin), "/admin".to_owned()),
            (
                session(Role::Admin),
                format!(
                    "/admin/stats?{}",
                    serde_urlencoded::to_string([("from", SHORT)]).unwrap()
                ),
            ),
        ];
        for (who, path) in &pages {
            for lang in ["vi", "en"] {
                let separator = if path.contains('?') { '&' } else { '?' };
                let path = format!("{path}{separator}lang={lang}");
                let response = get(&app, who, &path).await;
                assert!(
                    response.status.is_success() || response.status.as_u16() == 422,
                    "{path}: {}",
                    response.status
                );
                assert_inert(&path, &response);
            }
        }
        // Pages for everyone.
        for path in [format!("/tra-cuu/{code}"), format!("/verify/{sha}")] {
            let response = app.get_anonymous(&path).await;
            response.assert_status(200);
            assert_inert(&path, &response);
        }
        // A form shown again with its error keeps what was typed, as text.
        let refused = post_form(
            &app,
            &clerk,
            "/clerk/dossiers",
            &[
                ("procedure", "1.001193"),
                ("applicant_name", HOSTILE),
                ("id_number", "12 34"),
            ],
        )
        .await;
        refused.assert_status(422);
        assert_inert("the refused new-dossier form", &refused);
        let wrong_step = post_form(
            &app,
            &clerk,
            &format!("/clerk/dossiers/{code}/transitions"),
            &[("to", "returned"), ("note", HOSTILE)],
        )
        .await;
        wrong_step.assert_status(409);
        assert_inert("the refused step", &wrong_step);
        // A `next` that is a local path but markup stays inside its attribute.
        let login = app
            .get_anonymous("/login?next=%2F%22%3E%3Csvg%2Fonload%3Df()%3E%3Cb%3Ex%3C%2Fb%3E")
            .await;
        login.assert_status(200);
        assert_inert("the login page's next", &login);
        app.cleanup().await;
    }
}

/// Who gets what on each page route: the page (200), the 403 page, or the login page.
#[tokio::test]
async fn every_page_route_answers_each_role_as_the_role_table_says() {
    for app in TestApp::all().await {
        let clerk = app.sessions[&Role::Clerk].clone();
        let (code, text, scanned, _) = hostile_records(&app, &clerk).await;
        use Role::{Admin, Archivist, Clerk, Official};
        let routes: Vec<(String, &[Role])> = vec![
            ("/clerk".to_owned(), &[Clerk]),
            (format!("/clerk/dossiers/{code}"), &[Clerk]),
            (format!("/clerk/documents/{text}"), &[Clerk]),
            (
                format!("/clerk/dossiers/{code}/receipt"),
                &[Clerk, Archivist],
            ),
            ("/official".to_owned(), &[Official]),
            ("/official/signed".to_owned(), &[Official]),
            // Assigned to official1 (the sign request of `hostile_records`).
            (format!("/official/documents/{scanned}"), &[Official]),
            ("/archive".to_owned(), &[Clerk, Archivist]),
            (
                format!("/archive/documents/{scanned}"),
                &[Clerk, Official, Archivist],
            ),
            // Not assigned to the official.
            (format!("/archive/documents/{text}"), &[Clerk, Archivist]),
            (format!("/archive/dossiers/{code}"), &[Clerk, Archivist]),
            ("/admin".to_owned(), &[Admin]),
            ("/admin/stats".to_owned(), &[Archivist, Admin]),
        ];
        for (path, allowed) in &routes {
            for role in [Clerk, Official, Archivist, Admin] {
                let response = get(&app, &app.sessions[&role], path).await;
                let expected = if allowed.contains(&role) { 200 } else { 403 };
                assert_eq!(
                    response.status.as_u16(),
                    expected,
                    "{role:?} on {path}: {}",
                    response.text()
                );
                if expected == 403 {
                    let html = response.text();
                    assert!(
                        html.contains("forbidden") && html.contains("<html"),
                        "{html}"
                    );
                    assert!(!html.contains("&lt;img src=x"), "no data: {html}");
                }
            }
            let anonymous = app.get_anonymous(path).await;
            anonymous.assert_status(303);
            let to = anonymous.headers[header::LOCATION].to_str().unwrap();
            assert!(to.starts_with("/login?next=%2F"), "{path}: {to}");
        }
        // The forms of the clerk's pages change nothing for anyone else.
        let archive = app.pipeline.archive();
        let dossiers_before = archive
            .list_dossiers(&Default::default())
            .await
            .unwrap()
            .len();
        let requests_before = archive.sign_requests_of_document(text).await.unwrap().len();
        let text_id = text.to_string();
        for role in [Official, Archivist, Admin] {
            let who = &app.sessions[&role];
            for (path, fields) in [
                (
                    "/clerk/dossiers".to_owned(),
                    vec![("procedure", "1.001193"), ("applicant_name", "Lê Văn Ba")],
                ),
                (
                    format!("/clerk/dossiers/{code}/transitions"),
                    vec![("to", "supplement_requested")],
                ),
                (
                    format!("/clerk/dossiers/{code}/sign-requests"),
                    vec![("document_id", text_id.as_str()), ("official", "official1")],
                ),
            ] {
                let response = post_form(&app, who, &path, &fields).await;
                assert_eq!(response.status.as_u16(), 403, "{role:?} posting {path}");
            }
        }
        let record = archive
            .dossier(&DossierCode::parse(&code).unwrap())
            .await
            .unwrap();
        assert_eq!(
            record.dossier.status.as_str(),
            "appraised",
            "no one moved it"
        );
        assert_eq!(
            archive
                .list_dossiers(&Default::default())
                .await
                .unwrap()
                .len(),
            dossiers_before
        );
        assert_eq!(
            archive.sign_requests_of_document(text).await.unwrap().len(),
            requests_before
        );
        app.cleanup().await;
    }
}

/// Every `<form method="post">` of every page carries the session's token as `_csrf`.
#[tokio::test]
async fn every_post_form_carries_the_csrf_token() {
    for app in TestApp::all().await {
        let clerk = app.sessions[&Role::Clerk].clone();
        let (code, text, scanned, _) = hostile_records(&app, &clerk).await;
        let mut forms = 0;
        for (role, path) in [
            (Role::Clerk, "/clerk".to_owned()),
            (Role::Clerk, format!("/clerk/dossiers/{code}")),
            (Role::Clerk, format!("/clerk/documents/{text}")),
            (Role::Clerk, format!("/clerk/dossiers/{code}/receipt")),
            (Role::Official, "/official".to_owned()),
            (Role::Official, format!("/official/documents/{scanned}")),
            (Role::Archivist, "/archive".to_owned()),
            (Role::Archivist, format!("/archive/documents/{text}")),
            (Role::Archivist, format!("/archive/dossiers/{code}")),
            (Role::Admin, "/admin".to_owned()),
            (Role::Admin, "/admin/stats".to_owned()),
        ] {
            let session = &app.sessions[&role];
            let html = get(&app, session, &path).await.text();
            let token = format!("name=\"_csrf\" value=\"{}\"", session.csrf);
            for form in html.split("<form").skip(1) {
                let form = &form[..form.find("</form>").unwrap_or(form.len())];
                let tag = &form[..form.find('>').unwrap()];
                if tag.contains("method=\"post\"") {
                    forms += 1;
                    assert!(
                        form.contains(&token),
                        "{path}: a form without _csrf: <form{form}"
                    );
                } else {
                    // Script-driven forms (data-api) send the token as a header; plain ones
                    // are searches.
                    assert!(
                        tag.contains("data-api")
                            || tag.contains("method=\"get\"")
                            || !tag.contains("action="),
                        "{path}: <form{tag}>"
                    );
                }
            }
        }
        // The sign-out form on every page, the clerk's three forms at least.
        assert!(forms >= 14, "{forms} post forms seen");
        app.cleanup().await;
    }
}

/// The language switch keeps the page and its query; signing in goes back to the page asked
/// for, with its query, and never to another site.
#[tokio::test]
async fn the_language_switch_and_the_way_back_after_login_keep_the_page() {
    for app in TestApp::all().await {
        let archivist = app.sessions[&Role::Archivist].clone();
        let html = get(&app, &archivist, "/archive?q=dong+da&role=result")
            .await
            .text();
        assert!(
            html.contains("href=\"/archive?q=dong+da&amp;role=result&amp;lang=en\""),
            "{html}"
        );
        let english = get(&app, &archivist, "/archive?q=dong+da&lang=en&role=result").await;
        english.assert_status(200);
        let html = english.text();
        assert!(
            html.contains("href=\"/archive?q=dong+da&amp;role=result&amp;lang=vi\""),
            "{html}"
        );
        let cookie = english.headers[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with("lang=en;"), "{cookie}");
        // A page shown in answer to a form switches to its own address, not to the post's.
        let clerk = app.sessions[&Role::Clerk].clone();
        let refused = post_form(&app, &clerk, "/clerk/dossiers", &[("procedure", "x")]).await;
        refused.assert_status(422);
        assert!(
            refused.text().contains("href=\"/clerk?lang=en\""),
            "{}",
            refused.text()
        );

        // Not signed in: the login page, then back with the query.
        let anonymous = app.get_anonymous("/archive?q=dong+da&role=result").await;
        anonymous.assert_status(303);
        let to = anonymous.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(to, "/login?next=%2Farchive%3Fq%3Ddong%2Bda%26role%3Dresult");
        let login = app.get_anonymous(&to).await;
        login.assert_status(200);
        let html = login.text();
        assert!(
            html.contains("name=\"next\" value=\"/archive?q=dong+da&amp;role=result\""),
            "{html}"
        );
        // Its language switch keeps `next`.
        assert!(
            html.contains(
                "href=\"/login?next=%2Farchive%3Fq%3Ddong%2Bda%26role%3Dresult&amp;lang=en\""
            ),
            "{html}"
        );
        let signed_in = login_form(&app, "/archive?q=dong+da&role=result").await;
        signed_in.assert_status(303);
        assert_eq!(
            signed_in.headers[header::LOCATION].to_str().unwrap(),
            "/archive?q=dong+da&role=result"
        );
        // Another site, however the address is disguised, is never followed.
        for evil in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example/",
            "/\t/evil.example/",
            "/\n/evil.example/",
            " /evil.example",
        ] {
            let response = login_form(&app, evil).await;
            response.assert_status(303);
            assert_eq!(
                response.headers[header::LOCATION].to_str().unwrap(),
                "/",
                "next={evil:?}"
            );
            let shown = app
                .get_anonymous(&format!(
                    "/login?{}",
                    serde_urlencoded::to_string([("next", evil)]).unwrap()
                ))
                .await;
            assert!(
                shown.text().contains("name=\"next\" value=\"/\""),
                "{evil:?}"
            );
        }
        // A wrong password keeps `next` and says so in the page's language.
        let wrong = app
            .send(
                Request::post("/login?lang=en")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("username=clerk1&password=wrong&next=%2Fclerk"))
                    .unwrap(),
            )
            .await;
        wrong.assert_status(401);
        let html = wrong.text();
        assert!(
            html.contains("[login-failed]") && html.contains("name=\"next\" value=\"/clerk\""),
            "{html}"
        );
        assert!(
            html.contains("href=\"/login?next=%2Fclerk&amp;lang=vi\""),
            "{html}"
        );
        app.cleanup().await;
    }
}

/// `POST /login` as the page's form sends it, as clerk1.
async fn login_form(app: &TestApp, next: &str) -> TestResponse {
    let body = serde_urlencoded::to_string([
        ("username", "clerk1"),
        ("password", PASSWORD),
        ("next", next),
    ])
    .unwrap();
    app.send(
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// Malformed addresses and forms get a page with the error's code, never axum's plain text.
#[tokio::test]
async fn malformed_addresses_and_forms_are_answered_with_a_page() {
    for app in TestApp::all().await {
        for (role, path) in [
            (Role::Archivist, "/archive/documents/abc"),
            (Role::Clerk, "/clerk/documents/abc"),
            (Role::Official, "/official/documents/abc"),
        ] {
            let response = get(&app, &app.sessions[&role], path).await;
            response.assert_status(422);
            let html = response.text();
            assert!(
                html.contains("<html") && html.contains("field-invalid"),
                "{path}: {html}"
            );
        }
        // A login form without its fields is a failed login, on the login page.
        let empty = app
            .send(
                Request::post("/login")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("next=%2Farchive"))
                    .unwrap(),
            )
            .await;
        empty.assert_status(401);
        let html = empty.text();
        assert!(
            html.contains("[login-failed]") && html.contains("name=\"next\" value=\"/archive\""),
            "{html}"
        );
        app.cleanup().await;
    }
}

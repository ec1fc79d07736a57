//! The administration API (users, API tokens, signing keys, trust anchors, procedure
//! catalogue, settings) on both backends, and who may not use it.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, header};
use hoso::archive::accounts::Role;
use hoso::digest::Sha256Digest;
use hoso::pipeline::Pipeline;
use serde_json::{Value, json};

use crate::api_support::{Multipart, PASSWORD, Session, TestApp, TestResponse};

const NEW_PASSWORD: &str = "mat-khau-moi-rat-dai-2";

fn pki(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("certs/test-pki")
            .join(name),
    )
    .unwrap()
}

fn fingerprint_of_pem(name: &str) -> String {
    let der = openssl::x509::X509::from_pem(&pki(name))
        .unwrap()
        .to_der()
        .unwrap();
    Sha256Digest::of(&der).to_hex()
}

async fn delete_as(app: &TestApp, role: Role, path: &str) -> TestResponse {
    app.send(
        app.as_token(role, Method::DELETE, path)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// A request with a cookie session (and its CSRF token unless `csrf` is false).
fn with_session(
    session: &Session,
    method: Method,
    path: &str,
    csrf: bool,
) -> axum::http::request::Builder {
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, &session.cookie);
    if csrf {
        builder.header("x-csrf-token", &session.csrf)
    } else {
        builder
    }
}

fn json_request(builder: axum::http::request::Builder, body: &Value) -> Request<Body> {
    builder
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn login_request(username: &str, password: &str) -> Request<Body> {
    json_request(
        Request::post("/api/v1/session"),
        &json!({"username": username, "password": password}),
    )
}

fn bearer(token: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn admins_add_users_change_passwords_and_disable_accounts() {
    for app in TestApp::all().await {
        let listed = app.get_as(Role::Admin, "/api/v1/admin/users").await;
        listed.assert_status(200);
        assert_eq!(listed.json().as_array().unwrap().len(), 4);
        assert!(!listed.text().contains("argon2"), "{}", listed.text());

        let new_user = json!({"username": "clerk2", "display_name": "Lê Thị Hoa",
            "role": "clerk", "password": PASSWORD});
        let created = app
            .post_json_as(Role::Admin, "/api/v1/admin/users", &new_user)
            .await;
        created.assert_status(201);
        assert_eq!(created.json()["role"], "clerk");
        assert_eq!(created.json()["display_name"], "Lê Thị Hoa");
        assert_eq!(created.json()["disabled"], false);
        app.post_json_as(Role::Admin, "/api/v1/admin/users", &new_user)
            .await
            .assert_error(409, "user-exists");
        let weak = json!({"username": "clerk3", "role": "clerk", "password": "short"});
        app.post_json_as(Role::Admin, "/api/v1/admin/users", &weak)
            .await
            .assert_error(422, "password-weak");
        let bad_role = json!({"username": "clerk3", "role": "boss", "password": PASSWORD});
        app.post_json_as(Role::Admin, "/api/v1/admin/users", &bad_role)
            .await
            .assert_error(422, "field-invalid");
        let bad_name = json!({"username": "Clerk 3", "role": "clerk", "password": PASSWORD});
        app.post_json_as(Role::Admin, "/api/v1/admin/users", &bad_name)
            .await
            .assert_error(422, "field-invalid");
        assert_eq!(app.pipeline.archive().users().await.unwrap().len(), 5);

        // The new clerk signs in and makes a token; a new password ends the old session.
        let session = app.login("clerk2", PASSWORD).await;
        let token = app
            .send(json_request(
                with_session(&session, Method::POST, "/api/v1/tokens", true),
                &json!({"name": "máy quét", "scopes": ["read", "write"]}),
            ))
            .await;
        token.assert_status(201);
        let token = token.json()["token"].as_str().unwrap().to_owned();
        app.send(bearer(&token, "/api/v1/me"))
            .await
            .assert_status(200);
        let changed = app
            .json_as(
                Role::Admin,
                Method::PATCH,
                "/api/v1/admin/users/clerk2",
                &json!({"password": NEW_PASSWORD}),
            )
            .await;
        changed.assert_status(200);
        app.send(
            with_session(&session, Method::GET, "/api/v1/me", true)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .assert_error(401, "session-expired");
        app.send(login_request("clerk2", PASSWORD))
            .await
            .assert_error(401, "login-failed");
        let session = app.login("clerk2", NEW_PASSWORD).await;
        // The token survives a password change, not a disabled account.
        app.send(bearer(&token, "/api/v1/me"))
            .await
            .assert_status(200);
        let disabled = app
            .json_as(
                Role::Admin,
                Method::PATCH,
                "/api/v1/admin/users/clerk2",
                &json!({"disabled": true}),
            )
            .await;
        disabled.assert_status(200);
        assert_eq!(disabled.json()["disabled"], true);
        app.send(bearer(&token, "/api/v1/me"))
            .await
            .assert_error(401, "token-invalid");
        app.send(
            with_session(&session, Method::GET, "/api/v1/me", true)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .assert_error(401, "session-expired");
        app.send(login_request("clerk2", NEW_PASSWORD))
            .await
            .assert_error(401, "login-failed");
        // Enabled again: the password works, the revoked token stays revoked.
        app.json_as(
            Role::Admin,
            Method::PATCH,
            "/api/v1/admin/users/clerk2",
            &json!({"disabled": false}),
        )
        .await
        .assert_status(200);
        app.login("clerk2", NEW_PASSWORD).await;
        app.send(bearer(&token, "/api/v1/me"))
            .await
            .assert_error(401, "token-invalid");

        // Roles are not changed in place; nothing to change, oneself, nobody.
        app.json_as(
            Role::Admin,
            Method::PATCH,
            "/api/v1/admin/users/clerk2",
            &json!({"role": "admin"}),
        )
        .await
        .assert_error(400, "json-invalid");
        app.json_as(
            Role::Admin,
            Method::PATCH,
            "/api/v1/admin/users/clerk2",
            &json!({}),
        )
        .await
        .assert_error(422, "field-invalid");
        app.json_as(
            Role::Admin,
            Method::PATCH,
            "/api/v1/admin/users/admin1",
            &json!({"disabled": true}),
        )
        .await
        .assert_error(422, "field-invalid");
        app.json_as(
            Role::Admin,
            Method::PATCH,
            "/api/v1/admin/users/nobody",
            &json!({"disabled": true}),
        )
        .await
        .assert_error(404, "user-not-found");
        app.json_as(
            Role::Admin,
            Method::PATCH,
            "/api/v1/admin/users/clerk2",
            &json!({"password": "aaaaaaaaaaaa"}),
        )
        .await
        .assert_error(422, "password-weak");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn tokens_show_their_secret_once_and_die_when_revoked_or_expired() {
    for app in TestApp::all().await {
        let created = app
            .post_json_as(
                Role::Clerk,
                "/api/v1/tokens",
                &json!({"name": "máy quét tầng 1", "scopes": ["read", "write"], "days": 1}),
            )
            .await;
        created.assert_status(201);
        let body = created.json();
        let secret = body["token"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("hst_"), "{body}");
        assert_eq!(body["scopes"], json!(["read", "write"]));
        assert_eq!(body["live"], true);
        assert!(body["expires_at"].is_string(), "{body}");
        let token_id = body["token_id"].as_i64().unwrap();
        let me = app.send(bearer(&secret, "/api/v1/me")).await;
        me.assert_status(200);
        assert_eq!(me.json()["scopes"], json!(["read", "write"]));

        // Listed without the secret, ever.
        let listed = app.get_as(Role::Clerk, "/api/v1/tokens").await;
        listed.assert_status(200);
        assert!(!listed.text().contains(&secret));
        let tokens = listed.json();
        let tokens = tokens.as_array().unwrap();
        assert_eq!(tokens.len(), 2, "{tokens:?}");
        assert!(tokens.iter().all(|t| t.get("token").is_none()));
        assert!(tokens.iter().any(|t| t["token_id"] == token_id));
        let by_admin = app
            .get_as(Role::Admin, "/api/v1/admin/users/clerk1/tokens")
            .await;
        by_admin.assert_status(200);
        assert_eq!(by_admin.json().as_array().unwrap().len(), 2);
        assert!(!by_admin.text().contains(&secret));
        app.get_as(Role::Admin, "/api/v1/admin/users/nobody/tokens")
            .await
            .assert_error(404, "user-not-found");

        // Scopes beyond the role, unknown scopes, bad lifetimes.
        for (role, scopes) in [
            (Role::Clerk, json!(["sign"])),
            (Role::Clerk, json!(["read", "admin"])),
            (Role::Archivist, json!(["write"])),
            (Role::Official, json!(["admin"])),
            (Role::Admin, json!(["sign"])),
            (Role::Clerk, json!(["everything"])),
            (Role::Clerk, json!([])),
        ] {
            app.post_json_as(
                role,
                "/api/v1/tokens",
                &json!({"name": "x", "scopes": scopes}),
            )
            .await
            .assert_error(422, "field-invalid");
        }
        for days in [0, -1, 3651] {
            app.post_json_as(
                Role::Clerk,
                "/api/v1/tokens",
                &json!({"name": "x", "scopes": ["read"], "days": days}),
            )
            .await
            .assert_error(422, "field-invalid");
        }
        app.post_json_as(
            Role::Official,
            "/api/v1/tokens",
            &json!({"name": "ký", "scopes": ["sign"]}),
        )
        .await
        .assert_status(201);
        // A token makes no token with more scopes than itself.
        let admin_only = app
            .post_json_as(
                Role::Admin,
                "/api/v1/tokens",
                &json!({"name": "a", "scopes": ["admin"]}),
            )
            .await;
        admin_only.assert_status(201);
        let admin_only = admin_only.json()["token"].as_str().unwrap().to_owned();
        let wider = app
            .send(json_request(
                Request::post("/api/v1/tokens")
                    .header(header::AUTHORIZATION, format!("Bearer {admin_only}")),
                &json!({"name": "b", "scopes": ["read", "admin"]}),
            ))
            .await;
        wider.assert_error(422, "field-invalid");

        // Another user's token: 403 whether it exists or not; an admin may revoke any.
        let path = format!("/api/v1/tokens/{token_id}");
        delete_as(&app, Role::Archivist, &path)
            .await
            .assert_error(403, "forbidden");
        delete_as(&app, Role::Archivist, "/api/v1/tokens/999999")
            .await
            .assert_error(403, "forbidden");
        delete_as(&app, Role::Admin, "/api/v1/tokens/999999")
            .await
            .assert_error(404, "token-not-found");
        app.send(bearer(&secret, "/api/v1/me"))
            .await
            .assert_status(200);
        let revoked = delete_as(&app, Role::Clerk, &path).await;
        revoked.assert_status(200);
        assert!(revoked.json()["revoked_at"].is_string());
        assert_eq!(revoked.json()["live"], false);
        app.send(bearer(&secret, "/api/v1/me"))
            .await
            .assert_error(401, "token-invalid");

        // Expiry: a one-day token stops working after a day.
        let short = app
            .post_json_as(
                Role::Archivist,
                "/api/v1/tokens",
                &json!({"name": "ngắn", "scopes": ["read"], "days": 1}),
            )
            .await;
        short.assert_status(201);
        let short = short.json()["token"].as_str().unwrap().to_owned();
        app.send(bearer(&short, "/api/v1/me"))
            .await
            .assert_status(200);
        app.advance(time::Duration::hours(25));
        app.send(bearer(&short, "/api/v1/me"))
            .await
            .assert_error(401, "token-invalid");
        // Tokens without an expiry go on.
        app.get_as(Role::Archivist, "/api/v1/me")
            .await
            .assert_status(200);
        app.cleanup().await;
    }
}

fn key_form(user: &str, name: &str, p12: &str, password: &str) -> Multipart {
    Multipart::default()
        .text("user", user)
        .text("name", name)
        .text("password", password)
        .file("p12", p12, "application/x-pkcs12", &pki(p12))
}

#[tokio::test]
async fn signing_keys_are_sealed_for_officials_and_never_shown() {
    for app in TestApp::all().await {
        let image = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/chu-ky.png"))
            .unwrap();
        let form = key_form("official1", "Chữ ký số 2026", "official.p12", "test").file(
            "image",
            "chu-ky.png",
            "image/png",
            &image,
        );
        let added = app
            .multipart_as(Role::Admin, "/api/v1/admin/keys", form)
            .await;
        added.assert_status(201);
        let key = added.json();
        assert_eq!(key["username"], "official1");
        assert_eq!(key["kind"], "pkcs12");
        assert_eq!(key["has_image"], true);
        assert_eq!(key["disabled"], false);
        assert!(key["subject"].as_str().unwrap().contains("CN="), "{key}");
        let key_id = key["key_id"].as_i64().unwrap();
        // Stored sealed: opens with the key's password, which is not stored anywhere.
        let material = app.pipeline.archive().signing_key(key_id).await.unwrap();
        let hoso::archive::accounts::KeyStorage::Pkcs12 { sealed } = &material.storage else {
            panic!("not PKCS#12");
        };
        assert_ne!(sealed, &pki("official.p12"));
        assert!(
            openssl::pkcs12::Pkcs12::from_der(sealed)
                .unwrap()
                .parse2("test")
                .is_ok()
        );

        let count = || async {
            app.pipeline
                .archive()
                .all_signing_keys()
                .await
                .unwrap()
                .len()
        };
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/keys",
            key_form("official1", "Sai mật khẩu", "official.p12", "wrong"),
        )
        .await
        .assert_error(422, "signing-key-unreadable");
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/keys",
            key_form("clerk1", "Không phải lãnh đạo", "official.p12", "test"),
        )
        .await
        .assert_error(422, "field-invalid");
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/keys",
            key_form("official1", "Hết hạn", "expired.p12", "test"),
        )
        .await
        .assert_error(422, "field-invalid");
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/keys",
            key_form("official1", "Chữ ký số 2026", "official.p12", "test"),
        )
        .await
        .assert_error(409, "signing-key-exists");
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/keys",
            Multipart::default()
                .text("user", "official1")
                .text("name", "x")
                .text("password", "test"),
        )
        .await
        .assert_error(400, "upload-file-missing");
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/keys",
            key_form("official1", "Ảnh hỏng", "official.p12", "test").file(
                "image",
                "x.png",
                "image/png",
                b"not a png",
            ),
        )
        .await
        .assert_error(422, "field-invalid");
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/keys",
            key_form("nobody", "x", "official.p12", "test"),
        )
        .await
        .assert_error(404, "user-not-found");
        assert_eq!(count().await, 1, "nothing stored by the refused uploads");

        let pkcs11 = app
            .post_json_as(
                Role::Admin,
                "/api/v1/admin/keys/pkcs11",
                &json!({
                    "user": "official1", "name": "USB token",
                    "module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "hoso",
                    "key_label": "an",
                    "certificate_pem": String::from_utf8(pki("official.crt")).unwrap(),
                }),
            )
            .await;
        pkcs11.assert_status(201);
        assert_eq!(pkcs11.json()["kind"], "pkcs11");
        app.post_json_as(
            Role::Admin,
            "/api/v1/admin/keys/pkcs11",
            &json!({
                "user": "official1", "name": "USB 2", "module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "t",
                "key_label": "k", "certificate_pem": "not a certificate",
            }),
        )
        .await
        .assert_error(422, "signing-key-unreadable");

        let listed = app.get_as(Role::Admin, "/api/v1/admin/keys").await;
        listed.assert_status(200);
        let keys = listed.json();
        assert_eq!(keys.as_array().unwrap().len(), 2);
        assert!(
            keys.as_array()
                .unwrap()
                .iter()
                .all(|k| k["username"] == "official1")
        );
        assert!(!listed.text().contains("sealed"));

        let path = format!("/api/v1/admin/keys/{key_id}");
        let disabled = app
            .json_as(
                Role::Admin,
                Method::PATCH,
                &path,
                &json!({"disabled": true}),
            )
            .await;
        disabled.assert_status(200);
        assert_eq!(disabled.json()["disabled"], true);
        assert!(
            app.pipeline
                .archive()
                .signing_key(key_id)
                .await
                .unwrap()
                .key
                .disabled
        );
        app.json_as(
            Role::Admin,
            Method::PATCH,
            "/api/v1/admin/keys/999999",
            &json!({"disabled": true}),
        )
        .await
        .assert_error(404, "signing-key-not-found");
        app.cleanup().await;
    }
}

/// `app` with its router replaced by one whose pipeline (same database, blobs in
/// `folder/blobs`) trusts `certs/trust` (configured, read-only) and manages `folder/trust`.
async fn with_managed_trust(app: &mut TestApp, folder: &Path) -> Arc<Pipeline> {
    let blobs = hoso::archive::blob::LocalBlobStore::open(folder.join("blobs")).unwrap();
    let pipeline = Arc::new(
        Pipeline::new(app.db.archive().await, Arc::new(blobs), 2)
            .with_trust_dirs(vec![
                Path::new(env!("CARGO_MANIFEST_DIR")).join("certs/trust"),
            ])
            .with_managed_trust_dir(folder.join("trust")),
    );
    let mut state = app.state.clone();
    state.pipeline = pipeline.clone();
    app.router = hoso::http::app(state);
    pipeline
}

#[tokio::test]
async fn trust_anchors_are_added_to_and_removed_from_the_managed_folder_only() {
    for mut app in TestApp::all().await {
        // The test app has no managed folder.
        let form = || {
            Multipart::default().file(
                "certificate",
                "root.crt",
                "application/x-pem-file",
                &pki("root.crt"),
            )
        };
        app.multipart_as(Role::Admin, "/api/v1/admin/trust", form())
            .await
            .assert_error(409, "trust-folder-not-managed");

        let folder = tempfile::tempdir().unwrap();
        let managed = folder.path().join("trust");
        let pipeline = with_managed_trust(&mut app, folder.path()).await;
        let listed = app.get_as(Role::Admin, "/api/v1/admin/trust").await;
        listed.assert_status(200);
        let anchors = listed.json();
        assert_eq!(anchors.as_array().unwrap().len(), 3, "{anchors}");
        assert!(
            anchors
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["managed"] == false)
        );

        let root = fingerprint_of_pem("root.crt");
        let root_digest: Sha256Digest = root.parse().unwrap();
        let official = openssl::x509::X509::from_pem(&pki("official.crt"))
            .unwrap()
            .to_der()
            .unwrap();
        let inter = openssl::x509::X509::from_pem(&pki("inter.crt"))
            .unwrap()
            .to_der()
            .unwrap();
        let now = app.now();
        assert!(
            pipeline
                .trust()
                .unwrap()
                .by_fingerprint(&root_digest)
                .is_none()
        );
        assert!(
            pipeline
                .trust()
                .unwrap()
                .validate_path(&official, std::slice::from_ref(&inter), now)
                .is_err()
        );

        let added = app
            .multipart_as(Role::Admin, "/api/v1/admin/trust", form())
            .await;
        added.assert_status(201);
        let body = added.json();
        assert_eq!(body["added"][0]["sha256"], root.as_str(), "{body}");
        assert!(
            body["added"][0]["subject"]
                .as_str()
                .unwrap()
                .contains("hoso TEST Root CA")
        );
        assert_eq!(body["added"][0]["managed"], true);
        assert_eq!(body["added"][0]["self_issued"], true);
        assert!(managed.join(format!("{root}.pem")).is_file());
        // Verification trusts it at once.
        assert!(
            pipeline
                .trust()
                .unwrap()
                .by_fingerprint(&root_digest)
                .is_some()
        );
        pipeline
            .trust()
            .unwrap()
            .validate_path(&official, std::slice::from_ref(&inter), now)
            .unwrap();
        let listed = app.get_as(Role::Admin, "/api/v1/admin/trust").await.json();
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 4);
        assert!(
            listed
                .iter()
                .any(|a| a["sha256"] == root.as_str() && a["managed"] == true)
        );
        let audit = app.pipeline.archive().audit_entries(0, 1000).await.unwrap();
        assert!(
            audit.iter().any(|e| e.action == "trust.add"
                && e.object_id == root
                && e.actor.starts_with("admin1")),
            "{audit:?}"
        );

        // Again: nothing written. A bundle: the new one added, the known one reported.
        let again = app
            .multipart_as(Role::Admin, "/api/v1/admin/trust", form())
            .await;
        again.assert_status(200);
        assert_eq!(again.json()["already_trusted"][0]["sha256"], root.as_str());
        let bundle = [pki("inter.crt"), pki("root.crt")].concat();
        let both = app
            .multipart_as(
                Role::Admin,
                "/api/v1/admin/trust",
                Multipart::default().file(
                    "certificate",
                    "chain.pem",
                    "application/x-pem-file",
                    &bundle,
                ),
            )
            .await;
        both.assert_status(201);
        assert_eq!(both.json()["added"].as_array().unwrap().len(), 1);
        assert_eq!(both.json()["already_trusted"].as_array().unwrap().len(), 1);
        // DER is read too (the intermediate, already there now).
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/trust",
            Multipart::default().file("certificate", "inter.der", "application/pkix-cert", &inter),
        )
        .await
        .assert_status(200);

        // Not CA certificates, not certificates, nothing at all: nothing written.
        let files = || std::fs::read_dir(&managed).unwrap().count();
        assert_eq!(files(), 2);
        for (name, bytes) in [
            ("official.crt", pki("official.crt")),
            ("self-signed.crt", pki("self-signed.crt")),
        ] {
            app.multipart_as(
                Role::Admin,
                "/api/v1/admin/trust",
                Multipart::default().file("certificate", name, "application/x-pem-file", &bytes),
            )
            .await
            .assert_error(422, "trust-certificate-not-ca");
        }
        let mixed = [pki("tsa.crt"), pki("root.crt")].concat();
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/trust",
            Multipart::default().file("certificate", "mixed.pem", "text/plain", &mixed),
        )
        .await
        .assert_error(422, "trust-certificate-not-ca");
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/trust",
            Multipart::default().file("certificate", "x.pem", "text/plain", b"hello"),
        )
        .await
        .assert_error(422, "trust-certificate-invalid");
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/trust",
            Multipart::default().text("x", "y"),
        )
        .await
        .assert_error(400, "upload-file-missing");
        assert_eq!(files(), 2);

        // Configured anchors are read-only; unknown ones are not found.
        let configured = listed.iter().find(|a| a["managed"] == false).unwrap()["sha256"]
            .as_str()
            .unwrap()
            .to_owned();
        delete_as(
            &app,
            Role::Admin,
            &format!("/api/v1/admin/trust/{configured}"),
        )
        .await
        .assert_error(409, "trust-anchor-read-only");
        delete_as(
            &app,
            Role::Admin,
            &format!("/api/v1/admin/trust/{}", "0".repeat(64)),
        )
        .await
        .assert_error(404, "trust-anchor-not-found");
        delete_as(&app, Role::Admin, "/api/v1/admin/trust/xyz")
            .await
            .assert_error(422, "field-invalid");
        let removed = delete_as(&app, Role::Admin, &format!("/api/v1/admin/trust/{root}")).await;
        removed.assert_status(200);
        assert_eq!(removed.json()["sha256"], root.as_str());
        assert!(!managed.join(format!("{root}.pem")).exists());
        assert!(
            pipeline
                .trust()
                .unwrap()
                .by_fingerprint(&root_digest)
                .is_none()
        );
        assert_eq!(files(), 1);
        let audit = app.pipeline.archive().audit_entries(0, 1000).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "trust.remove" && e.object_id == root)
        );
        delete_as(&app, Role::Admin, &format!("/api/v1/admin/trust/{root}"))
            .await
            .assert_error(404, "trust-anchor-not-found");
        pipeline.close().await;
        app.cleanup().await;
    }
}

#[tokio::test]
async fn procedure_catalogues_are_imported_all_or_nothing() {
    for app in TestApp::all().await {
        let good = "code,name,processing_days,field\n1.001193,Đăng ký khai sinh,5,Hộ tịch\n\
                    2.000001,Cấp giấy phép xây dựng,15 ngày làm việc,Xây dựng\n";
        let imported = app
            .multipart_as(
                Role::Admin,
                "/api/v1/admin/procedures",
                Multipart::default().file("catalogue", "danh-muc.csv", "text/csv", good.as_bytes()),
            )
            .await;
        imported.assert_status(200);
        let report = imported.json();
        assert_eq!(report["inserted"], 2, "{report}");
        assert_eq!(report["source"], "danh-muc.csv");
        let bad = "code,name,processing_days\n1.001193,Tên mới,5\nabc,Sai mã,5\n2.000001,X,mười\n";
        let refused = app
            .multipart_as(
                Role::Admin,
                "/api/v1/admin/procedures",
                Multipart::default().file("catalogue", "sai.csv", "text/csv", bad.as_bytes()),
            )
            .await;
        refused.assert_error(422, "procedure-catalogue-invalid");
        let message = refused.json()["error"]["message_en"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.contains("line 3") && message.contains("line 4"),
            "{message}"
        );
        let kept = app.pipeline.archive().procedure("1.001193").await.unwrap();
        assert_eq!(kept.name, "Đăng ký khai sinh", "nothing imported");
        let json_catalogue =
            json!([{"code": "1.001193", "name": "Đăng ký khai sinh (mới)", "processing_days": 3}]);
        let updated = app
            .multipart_as(
                Role::Admin,
                "/api/v1/admin/procedures",
                Multipart::default().file(
                    "catalogue",
                    "danh-muc.json",
                    "application/json",
                    json_catalogue.to_string().as_bytes(),
                ),
            )
            .await;
        updated.assert_status(200);
        assert_eq!(updated.json()["updated"], 1);
        app.multipart_as(
            Role::Admin,
            "/api/v1/admin/procedures",
            Multipart::default().text("a", "b"),
        )
        .await
        .assert_error(400, "upload-file-missing");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn settings_show_what_is_configured_without_secrets() {
    for app in TestApp::all().await {
        let settings = app.get_as(Role::Admin, "/api/v1/admin/settings").await;
        settings.assert_status(200);
        let body = settings.json();
        assert_eq!(body["http"]["upload_limit_bytes"], 512 * 1024 * 1024);
        assert_eq!(body["http"]["session_idle_secs"], 1800);
        assert_eq!(body["service"]["database_backend"], app.db.backend());
        assert_eq!(body["service"]["jobs"], 2);
        assert!(
            body["service"]["trust_dirs"][0]
                .as_str()
                .unwrap()
                .ends_with("certs/test-pki")
        );
        app.cleanup().await;
    }
}

/// Every administration endpoint with a request that an admin could make.
fn admin_requests() -> Vec<(Method, String, Option<Value>, Option<Multipart>)> {
    let p12_form = || key_form("official1", "x", "official.p12", "test");
    vec![
        (Method::GET, "/api/v1/admin/users".into(), None, None),
        (
            Method::POST,
            "/api/v1/admin/users".into(),
            Some(json!({"username": "intruder", "role": "admin", "password": PASSWORD})),
            None,
        ),
        (
            Method::PATCH,
            "/api/v1/admin/users/admin1".into(),
            Some(json!({"disabled": true})),
            None,
        ),
        (
            Method::GET,
            "/api/v1/admin/users/admin1/tokens".into(),
            None,
            None,
        ),
        (Method::GET, "/api/v1/admin/keys".into(), None, None),
        (
            Method::POST,
            "/api/v1/admin/keys".into(),
            None,
            Some(p12_form()),
        ),
        (
            Method::POST,
            "/api/v1/admin/keys/pkcs11".into(),
            Some(json!({"user": "official1",
            "name": "x", "module": "/x.so", "token_label": "t", "key_label": "k",
            "certificate_pem": String::from_utf8(pki("official.crt")).unwrap()})),
            None,
        ),
        (
            Method::PATCH,
            "/api/v1/admin/keys/1".into(),
            Some(json!({"disabled": true})),
            None,
        ),
        (Method::GET, "/api/v1/admin/trust".into(), None, None),
        (
            Method::POST,
            "/api/v1/admin/trust".into(),
            None,
            Some(Multipart::default().file(
                "certificate",
                "root.crt",
                "text/plain",
                &pki("root.crt"),
            )),
        ),
        (
            Method::DELETE,
            format!("/api/v1/admin/trust/{}", fingerprint_of_pem("root.crt")),
            None,
            None,
        ),
        (
            Method::POST,
            "/api/v1/admin/procedures".into(),
            None,
            Some(Multipart::default().file(
                "catalogue",
                "c.csv",
                "text/csv",
                b"code,name,processing_days\n1.001193,A,5\n",
            )),
        ),
        (Method::GET, "/api/v1/admin/settings".into(), None, None),
    ]
}

fn build(
    builder: axum::http::request::Builder,
    json_body: Option<Value>,
    form: Option<Multipart>,
) -> Request<Body> {
    match (json_body, form) {
        (Some(body), _) => json_request(builder, &body),
        (None, Some(form)) => {
            let (content_type, body) = form.finish();
            builder
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap()
        }
        (None, None) => builder.body(Body::empty()).unwrap(),
    }
}

#[tokio::test]
async fn only_admins_reach_the_admin_endpoints() {
    for app in TestApp::all().await {
        for role in [Role::Clerk, Role::Official, Role::Archivist] {
            for (method, path, json_body, form) in admin_requests() {
                let by_token = app
                    .send(build(
                        app.as_token(role, method.clone(), &path),
                        json_body.clone(),
                        form,
                    ))
                    .await;
                by_token.assert_error(403, "forbidden");
                assert_eq!(
                    by_token.json().as_object().unwrap().len(),
                    1,
                    "{path}: {}",
                    by_token.text()
                );
            }
            for (method, path, json_body, form) in admin_requests() {
                let by_session = app
                    .send(build(
                        app.as_session(role, method.clone(), &path),
                        json_body,
                        form,
                    ))
                    .await;
                by_session.assert_error(403, "forbidden");
            }
        }
        for (method, path, json_body, form) in admin_requests() {
            let anonymous = app
                .send(build(
                    Request::builder().method(method).uri(&path),
                    json_body,
                    form,
                ))
                .await;
            anonymous.assert_error(401, "unauthenticated");
        }
        // Nothing happened.
        let archive = app.pipeline.archive();
        assert_eq!(archive.users().await.unwrap().len(), 4);
        assert!(archive.users().await.unwrap().iter().all(|u| !u.disabled));
        assert!(archive.all_signing_keys().await.unwrap().is_empty());
        assert!(archive.procedure("1.001193").await.is_err());
        // Tokens are each user's own business.
        app.get_anonymous("/api/v1/tokens")
            .await
            .assert_error(401, "unauthenticated");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn admin_sessions_need_csrf_and_expire_when_idle() {
    for app in TestApp::all().await {
        let session = app.sessions[&Role::Admin].clone();
        let body = json!({"username": "clerk9", "role": "clerk", "password": PASSWORD});
        let without = app
            .send(json_request(
                with_session(&session, Method::POST, "/api/v1/admin/users", false),
                &body,
            ))
            .await;
        without.assert_error(403, "csrf-token-missing");
        assert!(
            app.pipeline
                .archive()
                .user_by_name("clerk9")
                .await
                .unwrap()
                .is_none()
        );
        let with = app
            .send(json_request(
                with_session(&session, Method::POST, "/api/v1/admin/users", true),
                &body,
            ))
            .await;
        with.assert_status(201);
        app.advance(time::Duration::minutes(31));
        app.send(
            with_session(&session, Method::GET, "/api/v1/admin/users", true)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .assert_error(401, "session-expired");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_sixth_login_after_five_failures_is_refused_even_with_the_right_password() {
    for app in TestApp::all().await {
        for _ in 0..5 {
            app.send(login_request("admin1", "sai-mat-khau-123"))
                .await
                .assert_error(401, "login-failed");
        }
        let limited = app.send(login_request("admin1", PASSWORD)).await;
        limited.assert_error(429, "rate-limited");
        let retry: u64 = limited.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        // Another name is not held back.
        app.login("clerk1", PASSWORD).await;
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_admin_and_token_endpoints_are_in_the_openapi_document() {
    let app = TestApp::new(
        crate::helpers::TestDb::sqlite(),
        hoso::http::HttpSettings::default(),
    )
    .await;
    let document = app.get_anonymous("/api/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/admin/users", "get"),
        ("/api/v1/admin/users", "post"),
        ("/api/v1/admin/users/{username}", "patch"),
        ("/api/v1/admin/users/{username}/tokens", "get"),
        ("/api/v1/admin/keys", "get"),
        ("/api/v1/admin/keys", "post"),
        ("/api/v1/admin/keys/pkcs11", "post"),
        ("/api/v1/admin/keys/{id}", "patch"),
        ("/api/v1/admin/trust", "get"),
        ("/api/v1/admin/trust", "post"),
        ("/api/v1/admin/trust/{sha256}", "delete"),
        ("/api/v1/admin/procedures", "post"),
        ("/api/v1/admin/settings", "get"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens/{id}", "delete"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    let upload = &document["paths"]["/api/v1/admin/keys"]["post"]["requestBody"]["content"];
    assert!(upload["multipart/form-data"].is_object(), "{upload}");
    app.cleanup().await;
}

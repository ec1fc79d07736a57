//! Accounts on SQLite and PostgreSQL: users (add, duplicates, names, passwords, disabling),
//! sessions and their expiry, API tokens (scopes, revocation, expiry), signing keys with
//! their sealed PKCS#12, signature requests, the dossier list; the audit chain stays intact
//! and holds no secret. And `hoso user|key|token` through the binary.

use std::path::{Path, PathBuf};

use hoso::archive::accounts::{
    DossierFilter, KeyStorage, NewSigningKey, NewUser, Role, Scope, SignRequestState, User,
};
use hoso::archive::codes::{AgencyCode, DossierCode, ProcedureCode};
use hoso::archive::documents::{
    DocumentMetadata, DocumentRole, NewDocument, NewVersion, VersionKind,
};
use hoso::archive::dossiers::{Applicant, Channel, DossierStatus, NewDossier, Transition};
use hoso::archive::procedures::CatalogueFormat;
use hoso::archive::{Archive, ArchiveError};
use hoso::auth;
use hoso::digest::Sha256Digest;
use hoso::error::{Coded, ErrorClass};
use hoso::pades::key::{KeySigner, SoftwareKey};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::helpers::{backends, hoso, run};

const NOW: OffsetDateTime = datetime!(2026-11-23 02:00 UTC);
const ADMIN: &str = "quản trị";

fn pki(name: &str) -> PathBuf {
    crate::pki::dir().join(name)
}

fn code(result: Result<impl std::fmt::Debug, ArchiveError>) -> &'static str {
    result.unwrap_err().code()
}

/// A user with password `password` (hashed here).
async fn add(archive: &Archive, username: &str, role: Role, password: &str) -> User {
    archive
        .add_user(
            &NewUser {
                username: username.to_owned(),
                display_name: format!("Cán bộ {username}"),
                role,
                password_hash: auth::hash_password(password).unwrap(),
            },
            ADMIN,
            NOW,
        )
        .await
        .unwrap()
}

/// The audit chain verifies, and none of `secrets` appears in any entry.
async fn assert_audit_clean(archive: &Archive, secrets: &[&str], backend: &str) {
    let verification = archive.verify_audit().await.unwrap();
    assert!(verification.intact, "{backend}: {verification:?}");
    let entries = archive.audit_entries(0, 100_000).await.unwrap();
    assert_eq!(entries.len() as u64, verification.entries);
    for entry in &entries {
        let text = format!(
            "{} {} {} {}",
            entry.actor, entry.action, entry.object_id, entry.details
        );
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            assert!(
                !text.contains(secret),
                "{backend}: audit entry {} ({}) holds a secret: {text}",
                entry.seq,
                entry.action
            );
        }
    }
}

async fn actions(archive: &Archive) -> Vec<String> {
    archive
        .audit_entries(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn users_are_added_once_with_valid_names_and_their_passwords_change() {
    for db in backends().await {
        let backend = db.backend();
        let archive = db.archive().await;
        let an = add(
            &archive,
            "nguyen.van.an",
            Role::Official,
            "mật khẩu ban đầu",
        )
        .await;
        assert_eq!(an.role, Role::Official);
        assert!(!an.disabled);
        assert_eq!(an.created_at, NOW);
        assert_eq!(an.password_changed_at, NOW);
        assert_eq!(archive.user(an.user_id).await.unwrap(), an);

        // The display name defaults to the username; a duplicate is a conflict.
        let bare = archive
            .add_user(
                &NewUser {
                    username: "cb-01".to_owned(),
                    display_name: "  ".to_owned(),
                    role: Role::Clerk,
                    password_hash: auth::hash_password("một mật khẩu khác").unwrap(),
                },
                ADMIN,
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(bare.display_name, "cb-01");
        let duplicate = archive
            .add_user(
                &NewUser {
                    username: "nguyen.van.an".to_owned(),
                    display_name: String::new(),
                    role: Role::Admin,
                    password_hash: auth::hash_password("mật khẩu bất kỳ").unwrap(),
                },
                ADMIN,
                NOW,
            )
            .await
            .unwrap_err();
        assert_eq!(duplicate.code(), "user-exists", "{backend}");
        assert_eq!(duplicate.class(), ErrorClass::Conflict);

        for name in ["An", "a", "-an", "an an", "nguyễn", ""] {
            let result = archive
                .add_user(
                    &NewUser {
                        username: name.to_owned(),
                        display_name: String::new(),
                        role: Role::Clerk,
                        password_hash: auth::hash_password("mật khẩu bất kỳ").unwrap(),
                    },
                    ADMIN,
                    NOW,
                )
                .await;
            assert_eq!(code(result), "field-invalid", "{backend} {name:?}");
        }
        // A password where its hash belongs is refused, and not echoed.
        let raw = archive
            .add_user(
                &NewUser {
                    username: "raw".to_owned(),
                    display_name: String::new(),
                    role: Role::Clerk,
                    password_hash: "plain-password-here".to_owned(),
                },
                ADMIN,
                NOW,
            )
            .await
            .unwrap_err();
        assert_eq!(raw.code(), "field-invalid");
        assert!(!raw.to_string().contains("plain-password-here"));

        assert_eq!(code(archive.user(9999).await), "user-not-found");
        assert_eq!(
            archive.user(9999).await.unwrap_err().class(),
            ErrorClass::NotFound
        );
        assert_eq!(archive.user_by_name("nobody").await.unwrap(), None);
        let names: Vec<String> = archive
            .users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.username)
            .collect();
        assert_eq!(names, ["cb-01", "nguyen.van.an"]);

        // New password: the old one no longer verifies.
        let (_, old_hash) = archive
            .user_by_name("nguyen.van.an")
            .await
            .unwrap()
            .unwrap();
        assert!(auth::verify_password("mật khẩu ban đầu", &old_hash));
        let new_hash = auth::hash_password("mật khẩu mới hơn").unwrap();
        let later = NOW + Duration::hours(1);
        archive
            .set_password("nguyen.van.an", &new_hash, ADMIN, later)
            .await
            .unwrap();
        let (user, hash) = archive
            .user_by_name("nguyen.van.an")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.password_changed_at, later);
        assert!(auth::verify_password("mật khẩu mới hơn", &hash));
        assert!(!auth::verify_password("mật khẩu ban đầu", &hash));
        assert_eq!(
            code(
                archive
                    .set_password("nobody", &new_hash, ADMIN, later)
                    .await
            ),
            "user-not-found"
        );

        // Disabling twice writes one audit entry; enabling brings the account back.
        archive
            .set_disabled("cb-01", true, ADMIN, later)
            .await
            .unwrap();
        archive
            .set_disabled("cb-01", true, ADMIN, later)
            .await
            .unwrap();
        assert!(archive.user(bare.user_id).await.unwrap().disabled);
        archive
            .set_disabled("cb-01", false, ADMIN, later)
            .await
            .unwrap();
        assert!(!archive.user(bare.user_id).await.unwrap().disabled);

        // Logins: a name that is no account is not written down.
        archive
            .record_login("nguyen.van.an", true, "10.0.0.5", later)
            .await
            .unwrap();
        archive
            .record_login("mat-khau-go-nham", false, "10.0.0.6", later)
            .await
            .unwrap();
        let actions = actions(&archive).await;
        assert_eq!(
            actions,
            [
                "user.add",
                "user.add",
                "user.password",
                "user.disable",
                "user.enable",
                "user.login",
                "user.login-failed"
            ],
            "{backend}"
        );
        assert_audit_clean(
            &archive,
            &[
                "mật khẩu ban đầu",
                "mật khẩu mới hơn",
                &old_hash,
                &hash,
                "mat-khau-go-nham",
            ],
            backend,
        )
        .await;
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn sessions_expire_and_end_with_a_new_password_or_a_disabled_user() {
    for db in backends().await {
        let backend = db.backend();
        let archive = db.archive().await;
        let an = add(&archive, "an", Role::Clerk, "mật khẩu ban đầu").await;
        let secret = auth::new_secret(auth::SESSION_PREFIX);
        let digest = auth::secret_digest(&secret);
        let csrf = auth::new_secret("");
        let expires = NOW + Duration::minutes(30);
        archive
            .create_session(an.user_id, &digest, &csrf, NOW, expires)
            .await
            .unwrap();

        let session = archive.session(&digest, NOW).await.unwrap().unwrap();
        assert_eq!(session.user, an, "{backend}");
        assert_eq!(session.csrf_token, csrf);
        assert_eq!(
            (session.created_at, session.expires_at, session.last_seen_at),
            (NOW, expires, NOW)
        );
        assert!(!format!("{session:?}").contains(&csrf));
        // Expired at expires_at; unknown digests and secrets themselves find nothing.
        assert!(archive.session(&digest, expires).await.unwrap().is_none());
        assert!(
            archive
                .session(&digest, expires - Duration::SECOND)
                .await
                .unwrap()
                .is_some()
        );
        assert!(archive.session(&secret, NOW).await.unwrap().is_none());
        assert!(
            archive
                .session(&auth::secret_digest("hs_other"), NOW)
                .await
                .unwrap()
                .is_none()
        );

        // Sliding expiry; an expired session is not revived by a touch.
        let seen = NOW + Duration::minutes(10);
        archive
            .touch_session(&digest, seen, seen + Duration::minutes(30))
            .await
            .unwrap();
        let touched = archive
            .session(&digest, NOW + Duration::minutes(35))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(touched.last_seen_at, seen);
        assert_eq!(touched.expires_at, seen + Duration::minutes(30));
        let late = NOW + Duration::hours(2);
        archive
            .touch_session(&digest, late, late + Duration::minutes(30))
            .await
            .unwrap();
        assert!(archive.session(&digest, late).await.unwrap().is_none());

        // Logout.
        let other = auth::secret_digest(&auth::new_secret(auth::SESSION_PREFIX));
        archive
            .create_session(an.user_id, &other, &csrf, late, late + Duration::hours(1))
            .await
            .unwrap();
        archive.delete_session(&other).await.unwrap();
        assert!(archive.session(&other, late).await.unwrap().is_none());

        // A new password ends every session of the user.
        let s1 = auth::secret_digest(&auth::new_secret(auth::SESSION_PREFIX));
        let s2 = auth::secret_digest(&auth::new_secret(auth::SESSION_PREFIX));
        for s in [&s1, &s2] {
            archive
                .create_session(an.user_id, s, &csrf, late, late + Duration::hours(1))
                .await
                .unwrap();
        }
        archive
            .set_password(
                "an",
                &auth::hash_password("mật khẩu mới hơn").unwrap(),
                ADMIN,
                late,
            )
            .await
            .unwrap();
        for s in [&s1, &s2] {
            assert!(
                archive.session(s, late).await.unwrap().is_none(),
                "{backend}"
            );
        }

        // Disabling ends them too, and no new one starts.
        archive
            .create_session(an.user_id, &s1, &csrf, late, late + Duration::hours(1))
            .await
            .unwrap();
        archive.set_disabled("an", true, ADMIN, late).await.unwrap();
        assert!(archive.session(&s1, late).await.unwrap().is_none());
        let refused = archive
            .create_session(an.user_id, &s2, &csrf, late, late + Duration::hours(1))
            .await;
        assert_eq!(code(refused), "user-disabled");
        archive
            .set_disabled("an", false, ADMIN, late)
            .await
            .unwrap();
        assert!(archive.session(&s1, late).await.unwrap().is_none());

        // Bad input.
        let bad = [
            archive
                .create_session(an.user_id, &secret, &csrf, late, late + Duration::HOUR)
                .await,
            archive
                .create_session(an.user_id, &s2, "short", late, late + Duration::HOUR)
                .await,
            archive
                .create_session(an.user_id, &s2, &csrf, late, late)
                .await,
        ];
        for result in bad {
            assert_eq!(code(result), "field-invalid");
        }
        assert_eq!(
            code(
                archive
                    .create_session(999, &s2, &csrf, late, late + Duration::HOUR)
                    .await
            ),
            "user-not-found"
        );
        assert_audit_clean(&archive, &[&secret, &digest, &csrf, &s1, &s2], backend).await;
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn tokens_carry_their_scopes_and_die_when_revoked_expired_or_disabled() {
    for db in backends().await {
        let backend = db.backend();
        let archive = db.archive().await;
        let an = add(&archive, "may-quet", Role::Clerk, "mật khẩu ban đầu").await;
        let secret = auth::new_secret(auth::TOKEN_PREFIX);
        let digest = auth::secret_digest(&secret);
        let token = archive
            .create_token(
                an.user_id,
                "máy quét tầng 1",
                &[Scope::Sign, Scope::Read, Scope::Read],
                &digest,
                None,
                ADMIN,
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(token.scopes, [Scope::Read, Scope::Sign], "{backend}");
        assert!(token.has_scope(Scope::Sign) && !token.has_scope(Scope::Admin));
        assert_eq!(
            (token.expires_at, token.revoked_at, token.last_used_at),
            (None, None, None)
        );

        let used = NOW + Duration::minutes(1);
        let (user, found) = archive.token(&digest, used).await.unwrap().unwrap();
        assert_eq!(user, an);
        assert_eq!(found.token_id, token.token_id);
        assert_eq!(found.scopes, token.scopes);
        assert_eq!(found.last_used_at, Some(used));
        assert_eq!(
            archive.tokens(an.user_id).await.unwrap()[0].last_used_at,
            Some(used)
        );
        assert!(archive.token(&secret, used).await.unwrap().is_none());
        assert!(
            archive
                .token(&auth::secret_digest("hst_unknown"), used)
                .await
                .unwrap()
                .is_none()
        );

        // Expiry.
        let short_secret = auth::new_secret(auth::TOKEN_PREFIX);
        let short = auth::secret_digest(&short_secret);
        let day = NOW + Duration::days(1);
        let expiring = archive
            .create_token(
                an.user_id,
                "tạm",
                &[Scope::Read],
                &short,
                Some(day),
                ADMIN,
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(expiring.expires_at, Some(day));
        assert!(archive.token(&short, NOW).await.unwrap().is_some());
        assert!(archive.token(&short, day).await.unwrap().is_none());

        // Revocation, once.
        let revoked = archive
            .revoke_token(token.token_id, ADMIN, used)
            .await
            .unwrap();
        assert_eq!(revoked.revoked_at, Some(used));
        assert!(archive.token(&digest, used).await.unwrap().is_none());
        let entries = actions(&archive).await.len();
        let again = archive
            .revoke_token(token.token_id, ADMIN, day)
            .await
            .unwrap();
        assert_eq!(again.revoked_at, Some(used));
        assert_eq!(actions(&archive).await.len(), entries);
        assert_eq!(
            code(archive.revoke_token(9999, ADMIN, day).await),
            "token-not-found"
        );

        // Disabling revokes the rest; enabling does not bring them back.
        let live_secret = auth::new_secret(auth::TOKEN_PREFIX);
        let live = auth::secret_digest(&live_secret);
        archive
            .create_token(
                an.user_id,
                "script",
                &[Scope::Write],
                &live,
                None,
                ADMIN,
                NOW,
            )
            .await
            .unwrap();
        assert!(archive.token(&live, NOW).await.unwrap().is_some());
        archive
            .set_disabled("may-quet", true, ADMIN, day)
            .await
            .unwrap();
        assert!(archive.token(&live, day).await.unwrap().is_none());
        assert_eq!(
            code(
                archive
                    .create_token(an.user_id, "x", &[Scope::Read], &live, None, ADMIN, day)
                    .await
            ),
            "user-disabled"
        );
        archive
            .set_disabled("may-quet", false, ADMIN, day)
            .await
            .unwrap();
        assert!(archive.token(&live, day).await.unwrap().is_none());
        let listed = archive.tokens(an.user_id).await.unwrap();
        assert_eq!(listed.len(), 3);
        assert!(
            listed
                .iter()
                .filter(|t| t.expires_at.is_none())
                .all(|t| t.revoked_at.is_some())
        );

        // Bad input.
        let fresh = auth::secret_digest(&auth::new_secret(auth::TOKEN_PREFIX));
        for result in [
            archive
                .create_token(an.user_id, "x", &[], &fresh, None, ADMIN, day)
                .await,
            archive
                .create_token(an.user_id, "", &[Scope::Read], &fresh, None, ADMIN, day)
                .await,
            archive
                .create_token(
                    an.user_id,
                    "x",
                    &[Scope::Read],
                    &live_secret,
                    None,
                    ADMIN,
                    day,
                )
                .await,
            archive
                .create_token(
                    an.user_id,
                    "x",
                    &[Scope::Read],
                    &fresh,
                    Some(day),
                    ADMIN,
                    day,
                )
                .await,
        ] {
            assert_eq!(code(result), "field-invalid", "{backend}");
        }
        assert_audit_clean(
            &archive,
            &[&secret, &digest, &short_secret, &short, &live_secret, &live],
            backend,
        )
        .await;
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn signing_keys_keep_a_sealed_pkcs12_that_opens_with_its_password_only() {
    let p12 = std::fs::read(pki("official.p12")).unwrap();
    let (sealed, info) = auth::seal_pkcs12(&p12, "test").unwrap();
    let image =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/chu-ky.png")).unwrap();
    for db in backends().await {
        let backend = db.backend();
        let archive = db.archive().await;
        let an = add(&archive, "an", Role::Official, "mật khẩu ban đầu").await;
        let binh = add(&archive, "binh", Role::Official, "mật khẩu ban đầu").await;
        let new_key = NewSigningKey {
            user_id: an.user_id,
            name: "Chữ ký số 2026".to_owned(),
            storage: KeyStorage::Pkcs12 {
                sealed: sealed.clone(),
            },
            certificate_der: info.certificate_der.clone(),
            subject: info.subject.clone(),
            not_after: info.not_after,
            signature_image: Some(image.clone()),
        };
        let key = archive.add_signing_key(&new_key, ADMIN, NOW).await.unwrap();
        assert_eq!(key.kind, "pkcs12", "{backend}");
        assert_eq!(key.certificate_sha256, info.sha256);
        assert!(key.subject.contains("Nguyễn Văn An"), "{}", key.subject);
        assert_eq!(key.not_after, info.not_after);
        assert!(key.has_image && !key.disabled);
        assert_eq!(
            code(archive.add_signing_key(&new_key, ADMIN, NOW).await),
            "signing-key-exists"
        );
        // Another official may use the same name.
        let binh_key = archive
            .add_signing_key(
                &NewSigningKey {
                    user_id: binh.user_id,
                    signature_image: None,
                    ..new_key.clone()
                },
                ADMIN,
                NOW,
            )
            .await
            .unwrap();
        assert!(!binh_key.has_image);

        // The material round trip: the sealed file signs with the password, not without.
        let material = archive.signing_key(key.key_id).await.unwrap();
        assert_eq!(material.key, key);
        assert_eq!(material.certificate_der, info.certificate_der);
        assert_eq!(material.signature_image.as_deref(), Some(&image[..]));
        let KeyStorage::Pkcs12 { sealed: stored } = &material.storage else {
            panic!("{backend}: {:?}", material.storage);
        };
        assert_eq!(stored, &sealed);
        let opened = SoftwareKey::from_pkcs12(stored, "test").unwrap();
        assert_eq!(opened.certificate(), &info.certificate_der[..]);
        assert_eq!(
            SoftwareKey::from_pkcs12(stored, "wrong")
                .err()
                .unwrap()
                .code(),
            "signing-key-wrong-password"
        );
        hoso::trust::clear_openssl_errors();

        // A token key, named by its labels, with its certificate.
        let cert = auth::certificate_info(&std::fs::read(pki("official.crt")).unwrap()).unwrap();
        let token_key = archive
            .add_signing_key(
                &NewSigningKey {
                    user_id: an.user_id,
                    name: "USB token".to_owned(),
                    storage: KeyStorage::Pkcs11 {
                        module: "/usr/lib/softhsm/libsofthsm2.so".to_owned(),
                        token_label: "hoso".to_owned(),
                        key_label: "an".to_owned(),
                    },
                    certificate_der: cert.certificate_der.clone(),
                    subject: cert.subject.clone(),
                    not_after: cert.not_after,
                    signature_image: None,
                },
                ADMIN,
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(token_key.kind, "pkcs11");
        let material = archive.signing_key(token_key.key_id).await.unwrap();
        assert_eq!(
            material.storage,
            KeyStorage::Pkcs11 {
                module: "/usr/lib/softhsm/libsofthsm2.so".to_owned(),
                token_label: "hoso".to_owned(),
                key_label: "an".to_owned(),
            }
        );

        // Refused: an expired certificate, an image that is no PNG, an unknown user.
        let expired = auth::seal_pkcs12(&std::fs::read(pki("expired.p12")).unwrap(), "test")
            .unwrap()
            .1;
        for bad in [
            NewSigningKey {
                name: "hết hạn".to_owned(),
                certificate_der: expired.certificate_der.clone(),
                subject: expired.subject.clone(),
                not_after: expired.not_after,
                ..new_key.clone()
            },
            NewSigningKey {
                name: "ảnh".to_owned(),
                signature_image: Some(b"GIF89a".to_vec()),
                ..new_key.clone()
            },
            NewSigningKey {
                name: "rỗng".to_owned(),
                storage: KeyStorage::Pkcs12 { sealed: Vec::new() },
                ..new_key.clone()
            },
        ] {
            assert_eq!(
                code(archive.add_signing_key(&bad, ADMIN, NOW).await),
                "field-invalid",
                "{backend} {}",
                bad.name
            );
        }
        assert_eq!(
            code(
                archive
                    .add_signing_key(
                        &NewSigningKey {
                            user_id: 999,
                            ..new_key.clone()
                        },
                        ADMIN,
                        NOW
                    )
                    .await
            ),
            "user-not-found"
        );

        let mine: Vec<i64> = archive
            .signing_keys(an.user_id)
            .await
            .unwrap()
            .iter()
            .map(|k| k.key_id)
            .collect();
        assert_eq!(mine, [key.key_id, token_key.key_id]);
        assert_eq!(archive.all_signing_keys().await.unwrap().len(), 3);
        archive
            .set_signing_key_disabled(key.key_id, true, ADMIN, NOW)
            .await
            .unwrap();
        assert!(archive.signing_key(key.key_id).await.unwrap().key.disabled);
        assert_eq!(
            code(archive.signing_key(999).await),
            "signing-key-not-found"
        );
        assert_eq!(
            code(
                archive
                    .set_signing_key_disabled(999, true, ADMIN, NOW)
                    .await
            ),
            "signing-key-not-found"
        );
        let sealed_hex = hex::encode(&sealed[..32]);
        assert_audit_clean(&archive, &["test-password", &sealed_hex], backend).await;
        let actions = actions(&archive).await;
        assert_eq!(
            actions.iter().filter(|a| *a == "key.add").count(),
            3,
            "{backend}"
        );
        assert!(actions.contains(&"key.disable".to_owned()));
        archive.close().await;
        db.cleanup().await;
    }
}

/// A document with an original version and a signed one; `(document_id, original
/// version_id, signed version_id)`.
async fn signed_document(archive: &Archive, tag: &str) -> (i64, i64, i64) {
    let mut ids = Vec::new();
    for kind in ["original", "signed"] {
        let bytes = format!("%PDF-1.7 {tag} {kind}");
        let digest = Sha256Digest::of(bytes.as_bytes());
        archive
            .record_blob(&digest, bytes.len() as u64, "application/pdf", NOW)
            .await
            .unwrap();
        ids.push(digest);
    }
    let stored = archive
        .add_document(
            &NewDocument {
                dossier: None,
                role: DocumentRole::Outgoing,
                sha256: ids[0],
                file_name: format!("{tag}.pdf"),
                metadata: DocumentMetadata::default(),
                ocr: None,
                actor: "văn thư".to_owned(),
                reason: "dự thảo".to_owned(),
            },
            NOW,
        )
        .await
        .unwrap();
    let signed = archive
        .add_version(
            &NewVersion {
                document_id: stored.document_id,
                parent_version: 1,
                kind: VersionKind::Signed,
                sha256: ids[1],
                file_name: None,
                metadata: None,
                ocr: None,
                actor: "an".to_owned(),
                reason: "ký duyệt".to_owned(),
            },
            NOW,
        )
        .await
        .unwrap();
    (stored.document_id, stored.version_id, signed.version_id)
}

#[tokio::test]
async fn signature_requests_queue_for_an_official_and_close_once() {
    for db in backends().await {
        let backend = db.backend();
        let archive = db.archive().await;
        let clerk = add(&archive, "mot-cua", Role::Clerk, "mật khẩu ban đầu").await;
        let an = add(&archive, "an", Role::Official, "mật khẩu ban đầu").await;
        let binh = add(&archive, "binh", Role::Official, "mật khẩu ban đầu").await;
        let (doc, original, signed) = signed_document(&archive, "qd").await;
        let (other_doc, _, other_signed) = signed_document(&archive, "cv").await;

        assert_eq!(
            code(
                archive
                    .request_signature(doc, clerk.user_id, None, "mot-cua", NOW)
                    .await
            ),
            "field-invalid",
            "{backend}: only officials sign"
        );
        assert_eq!(
            code(
                archive
                    .request_signature(9999, an.user_id, None, "mot-cua", NOW)
                    .await
            ),
            "document-not-found"
        );
        assert_eq!(
            code(
                archive
                    .request_signature(doc, 9999, None, "mot-cua", NOW)
                    .await
            ),
            "user-not-found"
        );

        let request = archive
            .request_signature(doc, an.user_id, Some(" Kính trình ký "), "mot-cua", NOW)
            .await
            .unwrap();
        assert_eq!(request.state, SignRequestState::Pending);
        assert_eq!(request.note.as_deref(), Some("Kính trình ký"));
        assert_eq!(
            (request.document_id, request.official_id),
            (doc, an.user_id)
        );
        assert_eq!(request.requested_by, "mot-cua");
        // Asking again returns the open request, without a new entry.
        let entries = actions(&archive).await.len();
        let again = archive
            .request_signature(doc, an.user_id, None, "mot-cua", NOW + Duration::HOUR)
            .await
            .unwrap();
        assert_eq!(again, request);
        assert_eq!(actions(&archive).await.len(), entries);

        assert!(archive.is_assigned_to(doc, an.user_id).await.unwrap());
        assert!(!archive.is_assigned_to(doc, binh.user_id).await.unwrap());
        assert!(!archive.is_assigned_to(other_doc, an.user_id).await.unwrap());
        assert_eq!(
            archive
                .sign_requests_for(an.user_id, Some(SignRequestState::Pending))
                .await
                .unwrap(),
            std::slice::from_ref(&request)
        );
        assert!(
            archive
                .sign_requests_for(binh.user_id, None)
                .await
                .unwrap()
                .is_empty()
        );

        // Completion names a signed version of this document.
        let done = NOW + Duration::hours(2);
        for (version, expected) in [
            (original, "field-invalid"),
            (other_signed, "field-invalid"),
            (99_999, "version-not-found"),
        ] {
            assert_eq!(
                code(
                    archive
                        .complete_sign_request(request.request_id, version, "an", done)
                        .await
                ),
                expected,
                "{backend} {version}"
            );
        }
        archive
            .complete_sign_request(request.request_id, signed, "an", done)
            .await
            .unwrap();
        let closed = archive
            .complete_sign_request(request.request_id, signed, "an", done)
            .await
            .unwrap_err();
        assert_eq!(closed.code(), "sign-request-closed");
        assert_eq!(closed.class(), ErrorClass::Conflict);
        assert_eq!(
            code(
                archive
                    .reject_sign_request(request.request_id, "sai", "an", done)
                    .await
            ),
            "sign-request-closed"
        );
        assert_eq!(
            code(
                archive
                    .complete_sign_request(9999, signed, "an", done)
                    .await
            ),
            "sign-request-not-found"
        );

        // A second round, refused with a reason.
        let second = archive
            .request_signature(doc, an.user_id, None, "mot-cua", done)
            .await
            .unwrap();
        assert_ne!(second.request_id, request.request_id);
        assert_eq!(
            code(
                archive
                    .reject_sign_request(second.request_id, "  ", "an", done)
                    .await
            ),
            "field-invalid"
        );
        let refused_at = done + Duration::HOUR;
        archive
            .reject_sign_request(second.request_id, "Sai số văn bản", "an", refused_at)
            .await
            .unwrap();

        let history = archive.sign_requests_of_document(doc).await.unwrap();
        assert_eq!(history.len(), 2, "{backend}");
        assert_eq!(history[0].state, SignRequestState::Signed);
        assert_eq!(history[0].signed_version_id, Some(signed));
        assert_eq!(history[0].done_at, Some(done));
        assert_eq!(history[1].state, SignRequestState::Rejected);
        assert_eq!(history[1].reason.as_deref(), Some("Sai số văn bản"));
        assert_eq!(history[1].signed_version_id, None);
        assert_eq!(history[1].done_at, Some(refused_at));
        let queue = archive.sign_requests_for(an.user_id, None).await.unwrap();
        assert_eq!(
            queue.iter().map(|r| r.request_id).collect::<Vec<_>>(),
            [second.request_id, request.request_id],
            "newest first"
        );
        assert!(
            archive
                .sign_requests_for(an.user_id, Some(SignRequestState::Pending))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(archive.is_assigned_to(doc, an.user_id).await.unwrap());

        // A disabled official is asked nothing.
        archive
            .set_disabled("binh", true, ADMIN, done)
            .await
            .unwrap();
        assert_eq!(
            code(
                archive
                    .request_signature(doc, binh.user_id, None, "mot-cua", done)
                    .await
            ),
            "user-disabled"
        );
        let actions = actions(&archive).await;
        for action in ["sign.request", "sign.complete", "sign.reject"] {
            assert!(actions.contains(&action.to_owned()), "{backend} {action}");
        }
        assert_audit_clean(&archive, &[], backend).await;
        archive.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn dossiers_are_listed_newest_first_by_status_procedure_date_and_applicant() {
    for db in backends().await {
        let backend = db.backend();
        let archive = db.archive().await;
        archive
            .import_procedures(
                "code,name,field,level,processing_days,competent_agency\n\
                 1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,3,UBND cấp xã\n\
                 1.000656,Đăng ký kết hôn,Hộ tịch,Cấp xã,5,UBND cấp xã\n"
                    .as_bytes(),
                CatalogueFormat::Csv,
                "c.csv",
                ADMIN,
                NOW,
            )
            .await
            .unwrap();
        let people = [
            ("Nguyễn Văn An", "1.001193", 0),
            ("NGUYỄN VĂN BÌNH", "1.000656", 1),
            ("Trần Thị Cúc", "1.001193", 2),
            ("Đỗ Đức Nguyên", "1.000656", 3),
        ];
        let mut codes = Vec::new();
        for (name, procedure, day) in people {
            let dossier = archive
                .create_dossier(
                    &NewDossier {
                        procedure: ProcedureCode::parse(procedure).unwrap(),
                        agency: AgencyCode::parse("H53.100.01").unwrap(),
                        applicant: Applicant {
                            name: name.to_owned(),
                            id_number: None,
                            contact: None,
                        },
                        channel: Channel::InPerson,
                        result_delivery: None,
                        actor: "mot-cua".to_owned(),
                        note: None,
                    },
                    NOW + Duration::days(day),
                )
                .await
                .unwrap();
            codes.push(dossier.code);
        }
        archive
            .advance_dossier(
                &DossierCode::parse(&codes[1]).unwrap(),
                &Transition {
                    to: DossierStatus::Appraised,
                    actor: "an".to_owned(),
                    note: None,
                },
                NOW + Duration::days(4),
            )
            .await
            .unwrap();

        let list = |filter: DossierFilter| {
            let archive = archive.clone();
            async move {
                archive
                    .list_dossiers(&filter)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|d| d.code)
                    .collect::<Vec<_>>()
            }
        };
        let newest_first: Vec<String> = codes.iter().rev().cloned().collect();
        assert_eq!(
            list(DossierFilter::default()).await,
            newest_first,
            "{backend}"
        );
        assert_eq!(
            list(DossierFilter {
                status: Some(DossierStatus::Appraised),
                ..DossierFilter::default()
            })
            .await,
            [codes[1].clone()]
        );
        assert_eq!(
            list(DossierFilter {
                procedure_code: Some("1.001193".to_owned()),
                ..DossierFilter::default()
            })
            .await,
            [codes[2].clone(), codes[0].clone()]
        );
        assert_eq!(
            list(DossierFilter {
                received_from: Some(NOW + Duration::days(1)),
                received_to: Some(NOW + Duration::days(2)),
                ..DossierFilter::default()
            })
            .await,
            [codes[2].clone(), codes[1].clone()]
        );
        // Folded: no accents, any case, đ as d; spaces collapse.
        assert_eq!(
            list(DossierFilter {
                applicant: Some("nguyen  van".to_owned()),
                ..DossierFilter::default()
            })
            .await,
            [codes[1].clone(), codes[0].clone()]
        );
        assert_eq!(
            list(DossierFilter {
                applicant: Some("NGUYEN".to_owned()),
                ..DossierFilter::default()
            })
            .await,
            [codes[3].clone(), codes[1].clone(), codes[0].clone()]
        );
        assert_eq!(
            list(DossierFilter {
                applicant: Some("do duc".to_owned()),
                ..DossierFilter::default()
            })
            .await,
            [codes[3].clone()]
        );
        // Pages, with and without the applicant filter.
        assert_eq!(
            list(DossierFilter {
                limit: 2,
                offset: 1,
                ..DossierFilter::default()
            })
            .await,
            [codes[2].clone(), codes[1].clone()]
        );
        assert_eq!(
            list(DossierFilter {
                applicant: Some("nguyen".to_owned()),
                limit: 1,
                offset: 1,
                ..DossierFilter::default()
            })
            .await,
            [codes[1].clone()]
        );
        assert_eq!(
            list(DossierFilter {
                limit: 10_000,
                ..DossierFilter::default()
            })
            .await
            .len(),
            4
        );
        for (filter, expected) in [
            (
                DossierFilter {
                    limit: 0,
                    ..DossierFilter::default()
                },
                "field-invalid",
            ),
            (
                DossierFilter {
                    offset: -1,
                    ..DossierFilter::default()
                },
                "field-invalid",
            ),
            (
                DossierFilter {
                    procedure_code: Some("1-2".to_owned()),
                    ..DossierFilter::default()
                },
                "procedure-code-invalid",
            ),
        ] {
            assert_eq!(code(archive.list_dossiers(&filter).await), expected);
        }
        archive.close().await;
        db.cleanup().await;
    }
}

/// `hoso user add`, `hoso token create|list|revoke`, `hoso key add|list`, `hoso user
/// disable` on a fresh data folder; the printed token opens the archive; the audit chain
/// verifies.
#[test]
fn users_tokens_and_keys_through_the_binary() {
    let data = tempfile::tempdir().unwrap();
    let d = ["--data-dir".to_owned(), data.path().display().to_string()];
    let hoso = || {
        let mut command = hoso();
        command.args(&d).env("HOSO_ACTOR", "quan-tri");
        command
    };
    let r = run(hoso()
        .args([
            "user",
            "add",
            "an",
            "--role",
            "official",
            "--name",
            "Nguyễn Văn An",
            "--password-env",
            "PW",
        ])
        .env("PW", "mật khẩu đủ dài"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("an"), "{}", r.stdout);
    let r = run(hoso()
        .args([
            "user",
            "add",
            "binh",
            "--role",
            "clerk",
            "--password-env",
            "PW",
        ])
        .env("PW", "ngan"));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("password-weak"), "{}", r.stderr);
    let r = run(hoso()
        .args([
            "user",
            "add",
            "an",
            "--role",
            "clerk",
            "--password-env",
            "PW",
        ])
        .env("PW", "mật khẩu đủ dài"));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("user-exists"), "{}", r.stderr);

    // The secret alone on stdout in text mode; in JSON, the "token" field.
    let r = run(hoso().args([
        "token",
        "create",
        "--user",
        "an",
        "--name",
        "script",
        "--scope",
        "read,sign",
        "--days",
        "30",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let secret = r.stdout.trim().to_owned();
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(
        secret.starts_with("hst_") && secret.len() == 4 + 64,
        "{secret}"
    );
    let r = run(hoso().args([
        "token",
        "create",
        "--user",
        "an",
        "--name",
        "máy quét",
        "--scope",
        "write",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let created: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let second = created["token"].as_str().unwrap().to_owned();
    assert!(second.starts_with("hst_"));
    assert_eq!(created["scopes"], serde_json::json!(["write"]));
    let r = run(hoso().args([
        "token", "create", "--user", "an", "--name", "x", "--scope", "all",
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);

    // Keys: a PKCS#12 re-sealed under its password; an expired certificate and a wrong
    // password are refused.
    let key_add = |p12: &str, name: &str, var: &str| {
        let mut command = hoso();
        command.args([
            "key",
            "add",
            "--user",
            "an",
            "--name",
            name,
            "--p12",
            pki(p12).to_str().unwrap(),
            "--password-env",
            var,
            "--image",
            "samples/chu-ky.png",
        ]);
        command.env("WRONG", "wrong");
        run(&mut command)
    };
    let r = key_add("official.p12", "Chữ ký số 2026", "HOSO_TEST_P12_PASSWORD");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Nguyễn Văn An"), "{}", r.stdout);
    let r = key_add("expired.p12", "cũ", "HOSO_TEST_P12_PASSWORD");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("field-invalid"), "{}", r.stderr);
    let r = key_add("official.p12", "sai", "WRONG");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("signing-key-unreadable"), "{}", r.stderr);
    let r = run(hoso().args(["key", "list", "--user", "an", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let keys: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["kind"], "pkcs12");
    assert_eq!(keys[0]["has_image"], true);

    // The printed secret is what the archive knows (by its digest).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let archive = Archive::connect(&hoso::config::DatabaseTarget::Sqlite {
            path: data.path().join("hoso.db"),
        })
        .await
        .unwrap();
        let (user, token) = archive
            .token(&auth::secret_digest(&secret), OffsetDateTime::now_utc())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.username, "an");
        assert_eq!(token.scopes, [Scope::Read, Scope::Sign]);
        assert!(token.expires_at.is_some());
        archive.close().await;
    });

    let r = run(hoso().args(["token", "list", "--user", "an", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains(&secret) && !r.stdout.contains(&second));
    let tokens: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let first_id = tokens[0]["token_id"].as_i64().unwrap().to_string();
    let r = run(hoso().args(["token", "revoke", &first_id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(hoso().args(["token", "revoke", "999"]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("token-not-found"), "{}", r.stderr);

    let r = run(hoso().args(["user", "disable", "an"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(hoso().args(["user", "list", "--format", "json"]));
    let users: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(users[0]["username"], "an");
    assert_eq!(users[0]["disabled"], true);
    assert_eq!(users[0]["role"], "official");
    let r = run(hoso().args(["token", "list", "--user", "an", "--format", "json"]));
    let tokens: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .all(|t| !t["revoked_at"].is_null()),
        "{tokens}"
    );

    let r = run(hoso().args(["audit", "verify"]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = run(hoso()
        .args(["user", "passwd", "nobody", "--password-env", "PW"])
        .env("PW", "mật khẩu đủ dài"));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("user-not-found"), "{}", r.stderr);
}

-- Accounts of the HTTP service (issue #7): users with a role, their sessions and API tokens,
-- the signing keys of officials, and the requests to sign a document. Times are UTC RFC 3339
-- text in whole seconds, as in 0002.
--
-- Unlike the records, these rows change (a password, a revocation, a request answered);
-- each change is audited by the archive in the same transaction. No secret is stored in
-- clear: passwords as argon2id PHC strings, sessions and tokens as the SHA-256 of their
-- secret, PKCS#12 keys re-encrypted under their own password (which is not stored).

CREATE TABLE app_user (
    user_id             INTEGER PRIMARY KEY,
    -- login name: ^[a-z0-9][a-z0-9._-]{1,63}$, checked by the archive
    username            TEXT    NOT NULL UNIQUE CHECK (length(username) BETWEEN 2 AND 64),
    display_name        TEXT    NOT NULL,
    -- clerk (cán bộ tiếp nhận), official (lãnh đạo ký duyệt), archivist, admin
    role                TEXT    NOT NULL CHECK (role IN ('clerk', 'official', 'archivist',
                            'admin')),
    password_hash       TEXT    NOT NULL CHECK (password_hash LIKE '$argon2%'),
    disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at          TEXT    NOT NULL,
    password_changed_at TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
) STRICT;

-- Browser sessions, by the SHA-256 of the cookie's secret. Deleted at logout, when the
-- password changes or the user is disabled; expired rows are swept when a session starts.
CREATE TABLE user_session (
    secret_digest TEXT    PRIMARY KEY CHECK (length(secret_digest) = 64),
    user_id       INTEGER NOT NULL REFERENCES app_user (user_id),
    csrf_token    TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    -- sliding: moved forward on use (idle timeout)
    expires_at    TEXT    NOT NULL,
    last_seen_at  TEXT    NOT NULL
) STRICT;
CREATE INDEX user_session_user ON user_session (user_id);
CREATE INDEX user_session_expires ON user_session (expires_at);

-- API tokens for scripts and other systems, by the SHA-256 of their secret. Never deleted:
-- a revoked token stays listed with when it was revoked.
CREATE TABLE api_token (
    token_id      INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES app_user (user_id),
    name          TEXT    NOT NULL CHECK (length(name) > 0),
    -- comma-separated subset of read,write,sign,admin
    scopes        TEXT    NOT NULL CHECK (length(scopes) > 0),
    secret_digest TEXT    NOT NULL UNIQUE CHECK (length(secret_digest) = 64),
    created_at    TEXT    NOT NULL,
    created_by    TEXT    NOT NULL,
    expires_at    TEXT,
    revoked_at    TEXT,
    last_used_at  TEXT
) STRICT;
CREATE INDEX api_token_user ON api_token (user_id, token_id);

-- Signing keys of officials: a PKCS#12 re-sealed for storage (AES-256-CBC, PBKDF2-SHA256,
-- 600 000 iterations; the password stays with the official), or a key on a PKCS#11 token
-- named by module and labels. The certificate is kept for display and expiry checks, the
-- PNG for the visible signature.
CREATE TABLE signing_key (
    key_id             INTEGER PRIMARY KEY,
    user_id            INTEGER NOT NULL REFERENCES app_user (user_id),
    name               TEXT    NOT NULL CHECK (length(name) > 0),
    kind               TEXT    NOT NULL CHECK (kind IN ('pkcs12', 'pkcs11')),
    pkcs12             BLOB,
    pkcs11_module      TEXT,
    token_label        TEXT,
    key_label          TEXT,
    certificate        BLOB    NOT NULL,
    certificate_sha256 TEXT    NOT NULL CHECK (length(certificate_sha256) = 64),
    subject            TEXT    NOT NULL,
    not_after          TEXT    NOT NULL,
    signature_image    BLOB,
    disabled           INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at         TEXT    NOT NULL,
    created_by         TEXT    NOT NULL,
    UNIQUE (user_id, name),
    CHECK ((kind = 'pkcs12' AND pkcs12 IS NOT NULL AND pkcs11_module IS NULL
                AND token_label IS NULL AND key_label IS NULL)
        OR (kind = 'pkcs11' AND pkcs12 IS NULL AND pkcs11_module IS NOT NULL
                AND token_label IS NOT NULL AND key_label IS NOT NULL))
) STRICT;

-- A clerk asks an official to sign a document; the official signs (the new version is
-- named) or refuses (with a reason). At most one open request per document and official.
CREATE TABLE sign_request (
    request_id        INTEGER PRIMARY KEY,
    document_id       INTEGER NOT NULL REFERENCES documents (document_id),
    official_id       INTEGER NOT NULL REFERENCES app_user (user_id),
    requested_by      TEXT    NOT NULL,
    requested_at      TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('pending', 'signed', 'rejected')),
    signed_version_id INTEGER REFERENCES document_versions (version_id),
    done_at           TEXT,
    note              TEXT,
    -- why it was refused
    reason            TEXT,
    CHECK ((state = 'pending') = (done_at IS NULL)),
    CHECK ((state = 'signed') = (signed_version_id IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX sign_request_open ON sign_request (document_id, official_id)
    WHERE state = 'pending';
CREATE INDEX sign_request_official ON sign_request (official_id, requested_at);
CREATE INDEX sign_request_document ON sign_request (document_id, request_id);

-- Users and signature requests are named by the audit trail: they are never deleted
-- (a user leaves by being disabled).
CREATE TRIGGER app_user_no_delete BEFORE DELETE ON app_user
BEGIN
    SELECT RAISE(ABORT, 'users are never deleted: disable them');
END;
CREATE TRIGGER sign_request_no_delete BEFORE DELETE ON sign_request
BEGIN
    SELECT RAISE(ABORT, 'sign_request rows are never deleted');
END;

-- Accounts of the HTTP service (issue #7): users with a role, their sessions and API tokens,
-- the signing keys of officials, and the requests to sign a document. Times are TIMESTAMPTZ
-- in whole seconds, as in 0002.
--
-- Unlike the records, these rows change (a password, a revocation, a request answered);
-- each change is audited by the archive in the same transaction. No secret is stored in
-- clear: passwords as argon2id PHC strings, sessions and tokens as the SHA-256 of their
-- secret, PKCS#12 keys re-encrypted under their own password (which is not stored).

CREATE TABLE app_user (
    user_id             BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- login name: ^[a-z0-9][a-z0-9._-]{1,63}$, checked by the archive
    username            TEXT        NOT NULL UNIQUE CHECK (length(username) BETWEEN 2 AND 64),
    display_name        TEXT        NOT NULL,
    -- clerk (cán bộ tiếp nhận), official (lãnh đạo ký duyệt), archivist, admin
    role                TEXT        NOT NULL CHECK (role IN ('clerk', 'official', 'archivist',
                            'admin')),
    password_hash       TEXT        NOT NULL CHECK (password_hash LIKE '$argon2%'),
    disabled            BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at          TIMESTAMPTZ NOT NULL,
    password_changed_at TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

-- Browser sessions, by the SHA-256 of the cookie's secret. Deleted at logout, when the
-- password changes or the user is disabled; expired rows are swept when a session starts.
CREATE TABLE user_session (
    secret_digest TEXT        PRIMARY KEY CHECK (length(secret_digest) = 64),
    user_id       BIGINT      NOT NULL REFERENCES app_user (user_id),
    csrf_token    TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    -- sliding: moved forward on use (idle timeout)
    expires_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_session_user ON user_session (user_id);
CREATE INDEX user_session_expires ON user_session (expires_at);

-- API tokens for scripts and other systems, by the SHA-256 of their secret. Never deleted:
-- a revoked token stays listed with when it was revoked.
CREATE TABLE api_token (
    token_id      BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       BIGINT      NOT NULL REFERENCES app_user (user_id),
    name          TEXT        NOT NULL CHECK (length(name) > 0),
    -- comma-separated subset of read,write,sign,admin
    scopes        TEXT        NOT NULL CHECK (length(scopes) > 0),
    secret_digest TEXT        NOT NULL UNIQUE CHECK (length(secret_digest) = 64),
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    TEXT        NOT NULL,
    expires_at    TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    last_used_at  TIMESTAMPTZ
);
CREATE INDEX api_token_user ON api_token (user_id, token_id);

-- Signing keys of officials: a PKCS#12 re-sealed for storage (AES-256-CBC, PBKDF2-SHA256,
-- 600 000 iterations; the password stays with the official), or a key on a PKCS#11 token
-- named by module and labels. The certificate is kept for display and expiry checks, the
-- PNG for the visible signature.
CREATE TABLE signing_key (
    key_id             BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            BIGINT      NOT NULL REFERENCES app_user (user_id),
    name               TEXT        NOT NULL CHECK (length(name) > 0),
    kind               TEXT        NOT NULL CHECK (kind IN ('pkcs12', 'pkcs11')),
    pkcs12             BYTEA,
    pkcs11_module      TEXT,
    token_label        TEXT,
    key_label          TEXT,
    certificate        BYTEA       NOT NULL,
    certificate_sha256 TEXT        NOT NULL CHECK (length(certificate_sha256) = 64),
    subject            TEXT        NOT NULL,
    not_after          TIMESTAMPTZ NOT NULL,
    signature_image    BYTEA,
    disabled           BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at         TIMESTAMPTZ NOT NULL,
    created_by         TEXT        NOT NULL,
    UNIQUE (user_id, name),
    CHECK ((kind = 'pkcs12' AND pkcs12 IS NOT NULL AND pkcs11_module IS NULL
                AND token_label IS NULL AND key_label IS NULL)
        OR (kind = 'pkcs11' AND pkcs12 IS NULL AND pkcs11_module IS NOT NULL
                AND token_label IS NOT NULL AND key_label IS NOT NULL))
);

-- A clerk asks an official to sign a document; the official signs (the new version is
-- named) or refuses (with a reason). At most one open request per document and official.
CREATE TABLE sign_request (
    request_id        BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id       BIGINT      NOT NULL REFERENCES documents (document_id),
    official_id       BIGINT      NOT NULL REFERENCES app_user (user_id),
    requested_by      TEXT        NOT NULL,
    requested_at      TIMESTAMPTZ NOT NULL,
    state             TEXT        NOT NULL CHECK (state IN ('pending', 'signed', 'rejected')),
    signed_version_id BIGINT      REFERENCES document_versions (version_id),
    done_at           TIMESTAMPTZ,
    note              TEXT,
    -- why it was refused
    reason            TEXT,
    CHECK ((state = 'pending') = (done_at IS NULL)),
    CHECK ((state = 'signed') = (signed_version_id IS NOT NULL))
);
CREATE UNIQUE INDEX sign_request_open ON sign_request (document_id, official_id)
    WHERE state = 'pending';
CREATE INDEX sign_request_official ON sign_request (official_id, requested_at);
CREATE INDEX sign_request_document ON sign_request (document_id, request_id);

-- Users and signature requests are named by the audit trail: they are never deleted (a user
-- leaves by being disabled). hoso_append_only (0002) refuses the statement.
CREATE TRIGGER app_user_no_delete BEFORE DELETE ON app_user
    FOR EACH ROW EXECUTE FUNCTION hoso_append_only();
CREATE TRIGGER app_user_no_truncate BEFORE TRUNCATE ON app_user
    FOR EACH STATEMENT EXECUTE FUNCTION hoso_append_only();
CREATE TRIGGER sign_request_no_delete BEFORE DELETE ON sign_request
    FOR EACH ROW EXECUTE FUNCTION hoso_append_only();
CREATE TRIGGER sign_request_no_truncate BEFORE TRUNCATE ON sign_request
    FOR EACH STATEMENT EXECUTE FUNCTION hoso_append_only();

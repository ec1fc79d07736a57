-- The audit trail: an append-only, hash-chained log (archive.md §5.1). Entry `seq` (1, 2, …
-- without gaps) commits to the entry before it: hash = SHA-256 over a domain-separated,
-- length-prefixed encoding of (seq, at, actor, action, object_kind, object_id, details,
-- prev_hash); see src/archive/audit.rs. The first entry's prev_hash is 64 zeros.
-- `details` is JSON kept as TEXT, the exact text that was hashed (jsonb would reorder it).
CREATE TABLE audit_log (
    seq         BIGINT      PRIMARY KEY CHECK (seq > 0),
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT        NOT NULL,
    action      TEXT        NOT NULL,
    object_kind TEXT        NOT NULL,
    object_id   TEXT        NOT NULL,
    details     TEXT        NOT NULL,
    prev_hash   TEXT        NOT NULL CHECK (length(prev_hash) = 64),
    hash        TEXT        NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE INDEX audit_log_object ON audit_log (object_kind, object_id, seq);

-- Merkle tree heads over entries first_seq..=last_seq (RFC 9162 §2.1: leaf = SHA-256(0x00 ‖
-- entry hash), node = SHA-256(0x01 ‖ left ‖ right)). A chain alone proves only internal
-- consistency; a head kept or time-stamped elsewhere shows the log was not rewritten.
CREATE TABLE audit_checkpoints (
    checkpoint_id BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    first_seq     BIGINT      NOT NULL CHECK (first_seq >= 1),
    last_seq      BIGINT      NOT NULL CHECK (last_seq >= first_seq),
    root_hash     TEXT        NOT NULL CHECK (length(root_hash) = 64),
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    TEXT        NOT NULL,
    -- RFC 3161 TimeStampToken (DER) over root_hash, when a TSA is configured (later)
    tsa_token     BYTEA
);

-- Neither table is ever updated, deleted from or truncated, whoever asks (the function is
-- defined in 0002).
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION hoso_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION hoso_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION hoso_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION hoso_append_only();

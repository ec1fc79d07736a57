-- Content known to the archive. The bytes live in the blob store under their SHA-256; this
-- row says they arrived, how large they are and when. Rows are never updated or deleted:
-- content is immutable, and the first record of a digest is the one kept.
CREATE TABLE blob (
    sha256          TEXT    PRIMARY KEY CHECK (length(sha256) = 64),
    size_bytes      INTEGER NOT NULL CHECK (size_bytes >= 0),
    media_type      TEXT    NOT NULL,
    -- RFC 3339 text in UTC (sqlx's encoding of OffsetDateTime for SQLite).
    first_stored_at TEXT    NOT NULL
) STRICT;

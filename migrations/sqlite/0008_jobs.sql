-- Background jobs (issue #7): asynchronous work started by the API, e.g. OCR of a stored
-- scan. Kept in the database so that any replica can answer `GET /api/v1/jobs/{id}`.
-- Times are UTC RFC 3339 text in whole seconds, as in 0002.
--
-- Jobs are operational state, not records: rows are updated as the work progresses (no
-- append-only triggers, no audit entries); what a job produces (a new document version) is
-- a record and is audited where it is written.

CREATE TABLE jobs (
    -- UUID v4, lowercase hyphenated: not guessable, not sequential
    job_id           TEXT    PRIMARY KEY CHECK (length(job_id) = 36),
    -- what the job does: 'ocr'
    kind             TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 32),
    state            TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    -- the document the job works on, if any
    document_id      INTEGER REFERENCES documents (document_id),
    -- units of work done and (once known) in all, e.g. pages
    progress_done    INTEGER NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
    progress_total   INTEGER CHECK (progress_total >= 0),
    -- JSON of what a done job produced
    result           TEXT,
    -- why a failed job failed: the stable error code and its Vietnamese and English texts
    error_code       TEXT,
    error_message    TEXT,
    error_message_en TEXT,
    created_by       TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    -- last progress or heartbeat of a running job; the end time of a finished one
    updated_at       TEXT    NOT NULL
) STRICT;
-- Finding interrupted jobs (queued or running with an old heartbeat).
CREATE INDEX jobs_state_updated ON jobs (state, updated_at);

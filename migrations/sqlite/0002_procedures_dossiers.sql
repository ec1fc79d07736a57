-- Procedures, dossiers and their history (issue #6). Times are UTC RFC 3339 text in whole
-- seconds (`2026-11-23T02:15:00Z`: fixed width, so text order is time order); dates are
-- `YYYY-MM-DD` in Vietnam's time zone (UTC+7). Identifiers are archive-internal; the codes
-- are what people and other systems use.

-- Administrative procedures (thủ tục hành chính, TTHC) from the national catalogue, by their
-- national code (vn-standards.md §3.2, e.g. 1.001193). Imports upsert by code; a dossier keeps
-- the due date computed when it was received, so a later change here does not move it.
CREATE TABLE procedures (
    procedure_id     INTEGER PRIMARY KEY,
    code             TEXT    NOT NULL UNIQUE
                     CHECK (length(code) BETWEEN 8 AND 50
                            AND code GLOB '[0-9].[0-9][0-9][0-9][0-9][0-9][0-9]*'),
    name             TEXT    NOT NULL CHECK (length(name) > 0),
    -- lĩnh vực (e.g. Hộ tịch), cấp thực hiện (e.g. Cấp xã), cơ quan có thẩm quyền
    field            TEXT,
    level            TEXT,
    -- Thời hạn giải quyết in working days; 0 = within the day of receipt.
    processing_days  INTEGER NOT NULL CHECK (processing_days BETWEEN 0 AND 1000),
    competent_agency TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
) STRICT;

-- Non-working dates besides Saturdays and Sundays (public holidays, Tết), configured by the
-- office. Due dates skip them.
CREATE TABLE holidays (
    day        TEXT PRIMARY KEY CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- The last daily sequence number given out per handling agency and day of receipt
-- (vn-standards.md §3.3). Incremented inside the transaction that inserts the dossier, so a
-- number is never given twice and a failed creation gives none back.
CREATE TABLE dossier_sequences (
    agency_code   TEXT    NOT NULL,
    day           TEXT    NOT NULL,
    last_sequence INTEGER NOT NULL CHECK (last_sequence > 0),
    PRIMARY KEY (agency_code, day)
) STRICT;

-- Dossiers (hồ sơ TTHC) as received at the one-stop desk. `status` and the result columns
-- change as the dossier moves; every change is also a row of dossier_events.
CREATE TABLE dossiers (
    dossier_id          INTEGER PRIMARY KEY,
    -- mã số hồ sơ: AGENCY-YYMMDD-[AA]NNNN, unique for ever
    code                TEXT    NOT NULL UNIQUE,
    procedure_id        INTEGER NOT NULL REFERENCES procedures (procedure_id),
    agency_code         TEXT    NOT NULL,
    applicant_name      TEXT    NOT NULL CHECK (length(applicant_name) > 0),
    -- CCCD / passport / tax or enterprise code
    applicant_id_number TEXT,
    -- address, phone, e-mail as given
    applicant_contact   TEXT,
    channel             TEXT    NOT NULL CHECK (channel IN ('in_person', 'online', 'postal')),
    -- Đăng ký nhận kết quả tại: at the desk, by public postal service, online
    result_delivery     TEXT    NOT NULL CHECK (result_delivery IN ('desk', 'postal', 'online')),
    status              TEXT    NOT NULL CHECK (status IN ('received', 'supplement_requested',
                            'appraised', 'approved', 'rejected', 'returned', 'withdrawn')),
    received_at         TEXT    NOT NULL,
    due_at              TEXT    NOT NULL,
    -- when the decision was taken (approved or rejected) and which; the on-time statistics
    -- compare resolved_at with due_at
    resolved_at         TEXT,
    outcome             TEXT    CHECK (outcome IN ('approved', 'rejected')),
    -- when the result was handed over (status returned)
    returned_at         TEXT,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
) STRICT;
CREATE INDEX dossiers_procedure ON dossiers (procedure_id);
CREATE INDEX dossiers_received_at ON dossiers (received_at);
CREATE INDEX dossiers_status_due ON dossiers (status, due_at);

-- Every status a dossier took, who moved it and when (the first row has no from_status).
-- Append-only.
CREATE TABLE dossier_events (
    event_id    INTEGER PRIMARY KEY,
    dossier_id  INTEGER NOT NULL REFERENCES dossiers (dossier_id),
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    note        TEXT
) STRICT;
CREATE INDEX dossier_events_dossier ON dossier_events (dossier_id, event_id);

CREATE TRIGGER dossier_events_no_update BEFORE UPDATE ON dossier_events
BEGIN
    SELECT RAISE(ABORT, 'dossier_events is append-only');
END;
CREATE TRIGGER dossier_events_no_delete BEFORE DELETE ON dossier_events
BEGIN
    SELECT RAISE(ABORT, 'dossier_events is append-only');
END;

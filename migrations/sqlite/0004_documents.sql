-- Documents, their versions, and the verification reports of each version (issue #6).
-- Times are UTC RFC 3339 text in whole seconds, dates `YYYY-MM-DD`, as in 0002.
--
-- A document is one paper or file of a dossier (or an office's outgoing/incoming letter). Its
-- content never changes: every change (OCR output, a signature, an LTV extension, a metadata
-- correction) is a new row of document_versions pointing at its parent, with who, when and
-- why. Versions and reports are append-only (triggers below); the bytes are in the blob store
-- under `sha256`.

CREATE TABLE documents (
    document_id INTEGER PRIMARY KEY,
    -- NULL for an office's own outgoing/incoming documents that belong to no dossier
    dossier_id  INTEGER REFERENCES dossiers (dossier_id),
    role        TEXT    NOT NULL CHECK (role IN ('input', 'result', 'outgoing', 'incoming',
                    'certified_copy', 'attachment')),
    created_at  TEXT    NOT NULL,
    created_by  TEXT    NOT NULL
) STRICT;
CREATE INDEX documents_dossier ON documents (dossier_id, document_id);
CREATE INDEX documents_created_at ON documents (created_at);

CREATE TABLE document_versions (
    version_id        INTEGER PRIMARY KEY,
    document_id       INTEGER NOT NULL REFERENCES documents (document_id),
    -- 1, 2, … per document
    version           INTEGER NOT NULL CHECK (version >= 1),
    parent_version_id INTEGER REFERENCES document_versions (version_id),
    -- how this version came to be
    kind              TEXT    NOT NULL CHECK (kind IN ('original', 'ocr', 'signed', 'extended',
                          'metadata')),
    sha256            TEXT    NOT NULL REFERENCES blob (sha256),
    -- the name the file came with, cleaned for display (never used as a path)
    file_name         TEXT    NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    media_type        TEXT    NOT NULL,
    size_bytes        INTEGER NOT NULL CHECK (size_bytes >= 0),
    -- Decree 30/2020 Appendix VI metadata (vn-standards.md §1.7), as known at this version
    type_name         TEXT,    -- Tên loại văn bản (Quyết định, Công văn, …)
    code_number       TEXT,    -- Số (12)
    code_notation     TEXT,    -- Ký hiệu (QĐ-UBND)
    issued_date       TEXT,    -- Ngày, tháng, năm văn bản
    organ_name        TEXT,    -- Tên cơ quan, tổ chức ban hành
    subject           TEXT,    -- Trích yếu nội dung
    language          TEXT,
    page_count        INTEGER CHECK (page_count >= 0),
    description       TEXT,    -- Ghi chú
    signer_position   TEXT,    -- Chức vụ người ký
    signer_name       TEXT,    -- Họ tên người ký
    -- Mức độ khẩn: thuong, khan, thuong_khan, hoa_toc; độ mật: thuong, mat, toi_mat, tuyet_mat
    urgency           TEXT    CHECK (urgency IN ('normal', 'urgent', 'very_urgent', 'flash')),
    confidentiality   TEXT    CHECK (confidentiality IN ('normal', 'confidential', 'secret',
                          'top_secret')),
    -- recognized text of the whole document and Tesseract's mean word confidence (0–100)
    ocr_text          TEXT,
    ocr_confidence    REAL,
    reason            TEXT    NOT NULL,
    created_by        TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    UNIQUE (document_id, version)
) STRICT;
CREATE INDEX document_versions_sha256 ON document_versions (sha256);

-- Each verification of a version: the whole report as JSON (hoso verify --format json) and
-- its verdict; a re-check appends a new report.
CREATE TABLE verification_reports (
    report_id     INTEGER PRIMARY KEY,
    version_id    INTEGER NOT NULL REFERENCES document_versions (version_id),
    indication    TEXT    NOT NULL CHECK (indication IN ('TOTAL-PASSED', 'TOTAL-FAILED',
                      'INDETERMINATE')),
    subindication TEXT,
    -- the time the signatures were validated at, and when the check ran
    validation_time TEXT  NOT NULL,
    checked_at    TEXT    NOT NULL,
    checked_by    TEXT    NOT NULL,
    report        TEXT    NOT NULL
) STRICT;
CREATE INDEX verification_reports_version ON verification_reports (version_id, report_id);

-- The signatures a report found, one row each, for lists and filters.
CREATE TABLE signatures (
    signature_id  INTEGER PRIMARY KEY,
    report_id     INTEGER NOT NULL REFERENCES verification_reports (report_id),
    field_name    TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    signer        TEXT,
    signing_time  TEXT,
    timestamp_time TEXT,
    level         TEXT,
    indication    TEXT    NOT NULL,
    subindication TEXT
) STRICT;
CREATE INDEX signatures_report ON signatures (report_id);

CREATE TRIGGER documents_no_delete BEFORE DELETE ON documents
BEGIN
    SELECT RAISE(ABORT, 'documents are never deleted');
END;
CREATE TRIGGER documents_no_update BEFORE UPDATE ON documents
BEGIN
    SELECT RAISE(ABORT, 'documents are never changed: add a version');
END;
CREATE TRIGGER document_versions_no_update BEFORE UPDATE ON document_versions
BEGIN
    SELECT RAISE(ABORT, 'document_versions is append-only');
END;
CREATE TRIGGER document_versions_no_delete BEFORE DELETE ON document_versions
BEGIN
    SELECT RAISE(ABORT, 'document_versions is append-only');
END;
CREATE TRIGGER verification_reports_no_update BEFORE UPDATE ON verification_reports
BEGIN
    SELECT RAISE(ABORT, 'verification_reports is append-only');
END;
CREATE TRIGGER verification_reports_no_delete BEFORE DELETE ON verification_reports
BEGIN
    SELECT RAISE(ABORT, 'verification_reports is append-only');
END;
CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures
BEGIN
    SELECT RAISE(ABORT, 'signatures is append-only');
END;
CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
BEGIN
    SELECT RAISE(ABORT, 'signatures is append-only');
END;

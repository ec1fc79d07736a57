-- The search index of documents (issue #6), kept by src/archive/search.rs: one entry per
-- document, rebuilt from its newest version in every transaction that adds a version or a
-- verification report. Derived data: it can be rebuilt from documents and their versions.
--
-- Text is folded and tokenized in Rust (the same code for queries), so FTS5 only splits the
-- space-separated tokens again: `remove_diacritics 0` keeps the accented forms that rank
-- exact-accent matches first (see the module documentation).

-- The filter columns. Keys are normalized in Rust: field_key folded words (`ho tich`),
-- number_key `12/qd-ubnd`, notation_key `qd-ubnd`. Each index ends with document_id so
-- that a filtered list, newest first, is read in index order and stops after one page.
CREATE TABLE search_entries (
    document_id      INTEGER PRIMARY KEY REFERENCES documents (document_id),
    version_id       INTEGER NOT NULL REFERENCES document_versions (version_id),
    role             TEXT    NOT NULL,
    dossier_code     TEXT,
    procedure_code   TEXT,
    field_key        TEXT,
    number_key       TEXT,
    notation_key     TEXT,
    issued_date      TEXT,
    stored_at        TEXT    NOT NULL,
    signature_status TEXT    NOT NULL CHECK (signature_status IN ('unsigned', 'valid',
                         'invalid', 'indeterminate', 'unverified'))
) STRICT;
CREATE INDEX search_entries_dossier ON search_entries (dossier_code, document_id);
CREATE INDEX search_entries_procedure ON search_entries (procedure_code, document_id);
CREATE INDEX search_entries_field ON search_entries (field_key, document_id);
CREATE INDEX search_entries_number ON search_entries (number_key, document_id);
CREATE INDEX search_entries_notation ON search_entries (notation_key, document_id);
CREATE INDEX search_entries_issued ON search_entries (issued_date, document_id);
CREATE INDEX search_entries_stored ON search_entries (stored_at, document_id);
CREATE INDEX search_entries_role ON search_entries (role, document_id);
CREATE INDEX search_entries_signature ON search_entries (signature_status, document_id);

-- rowid = document_id. Contentless: the text is in document_versions already; snippets are
-- cut from there for the page shown.
CREATE VIRTUAL TABLE search_fts USING fts5 (
    text, agency, signer,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);

-- What `hoso import` keeps from another archive's dossier package (issue #6) that has no
-- place in this archive's own tables. Both tables are append-only.

-- Where an imported document was first created: the source archive's audit chain (the hash
-- of its entry 1) and the document, version and report ids it had there, as the JSON
-- object of the package's `origin` field, kept verbatim. A later export writes it again,
-- so the document's identity survives any number of moves between archives.
CREATE TABLE imported_documents (
    document_id INTEGER PRIMARY KEY REFERENCES documents (document_id),
    origin      TEXT    NOT NULL
) STRICT;

-- The audit entries (and checkpoint heads) of the source archives about an imported dossier,
-- each the exact line of the package's data/audit.jsonl. They cannot join this archive's
-- hash chain (their seq and prev_hash belong to the source chain), so they are kept apart
-- and exported again ahead of this archive's own entries.
CREATE TABLE imported_audit (
    dossier_id INTEGER NOT NULL REFERENCES dossiers (dossier_id),
    position   INTEGER NOT NULL CHECK (position >= 1),
    line       TEXT    NOT NULL,
    PRIMARY KEY (dossier_id, position)
) STRICT;

CREATE TRIGGER imported_documents_no_update BEFORE UPDATE ON imported_documents
BEGIN
    SELECT RAISE(ABORT, 'imported_documents is append-only');
END;
CREATE TRIGGER imported_documents_no_delete BEFORE DELETE ON imported_documents
BEGIN
    SELECT RAISE(ABORT, 'imported_documents is append-only');
END;
CREATE TRIGGER imported_audit_no_update BEFORE UPDATE ON imported_audit
BEGIN
    SELECT RAISE(ABORT, 'imported_audit is append-only');
END;
CREATE TRIGGER imported_audit_no_delete BEFORE DELETE ON imported_audit
BEGIN
    SELECT RAISE(ABORT, 'imported_audit is append-only');
END;

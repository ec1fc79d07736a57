-- What `hoso import` keeps from another archive's dossier package (issue #6) that has no
-- place in this archive's own tables. Both tables are append-only.

-- Where an imported document was first created: the source archive's audit chain (the hash
-- of its entry 1) and the document, version and report ids it had there, as the JSON
-- object of the package's `origin` field, kept verbatim. A later export writes it again,
-- so the document's identity survives any number of moves between archives.
CREATE TABLE imported_documents (
    document_id BIGINT PRIMARY KEY REFERENCES documents (document_id),
    origin      TEXT   NOT NULL
);

-- The audit entries (and checkpoint heads) of the source archives about an imported dossier,
-- each the exact line of the package's data/audit.jsonl. They cannot join this archive's
-- hash chain (their seq and prev_hash belong to the source chain), so they are kept apart
-- and exported again ahead of this archive's own entries.
CREATE TABLE imported_audit (
    dossier_id BIGINT NOT NULL REFERENCES dossiers (dossier_id),
    position   BIGINT NOT NULL CHECK (position >= 1),
    line       TEXT   NOT NULL,
    PRIMARY KEY (dossier_id, position)
);

-- Never updated, deleted from or truncated (the function is defined in 0002).
CREATE TRIGGER imported_documents_append_only BEFORE UPDATE OR DELETE ON imported_documents
    FOR EACH ROW EXECUTE FUNCTION hoso_append_only();
CREATE TRIGGER imported_documents_no_truncate BEFORE TRUNCATE ON imported_documents
    FOR EACH STATEMENT EXECUTE FUNCTION hoso_append_only();
CREATE TRIGGER imported_audit_append_only BEFORE UPDATE OR DELETE ON imported_audit
    FOR EACH ROW EXECUTE FUNCTION hoso_append_only();
CREATE TRIGGER imported_audit_no_truncate BEFORE TRUNCATE ON imported_audit
    FOR EACH STATEMENT EXECUTE FUNCTION hoso_append_only();

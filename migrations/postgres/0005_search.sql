-- The search index of documents (issue #6), kept by src/archive/search.rs: one entry per
-- document, rebuilt from its newest version in every transaction that adds a version or a
-- verification report. Derived data: it can be rebuilt from documents and their versions.
--
-- `tsv` is a tsvector literal built in Rust (folded tokens with positions, weight B for the
-- issuing organ, C for the signer, and the accented forms without positions), so neither the
-- text-search parser nor `unaccent` is involved and both backends match the same way.

CREATE TABLE search_entries (
    document_id      BIGINT  PRIMARY KEY REFERENCES documents (document_id),
    version_id       BIGINT  NOT NULL REFERENCES document_versions (version_id),
    role             TEXT    NOT NULL,
    dossier_code     TEXT,
    procedure_code   TEXT,
    field_key        TEXT,
    number_key       TEXT,
    notation_key     TEXT,
    issued_date      DATE,
    stored_at        TIMESTAMPTZ NOT NULL,
    signature_status TEXT    NOT NULL CHECK (signature_status IN ('unsigned', 'valid',
                         'invalid', 'indeterminate', 'unverified')),
    tsv              TSVECTOR NOT NULL
);
CREATE INDEX search_entries_tsv ON search_entries USING gin (tsv);
CREATE INDEX search_entries_dossier ON search_entries (dossier_code, document_id);
CREATE INDEX search_entries_procedure ON search_entries (procedure_code, document_id);
CREATE INDEX search_entries_field ON search_entries (field_key, document_id);
CREATE INDEX search_entries_number ON search_entries (number_key, document_id);
CREATE INDEX search_entries_notation ON search_entries (notation_key, document_id);
CREATE INDEX search_entries_issued ON search_entries (issued_date, document_id);
CREATE INDEX search_entries_stored ON search_entries (stored_at, document_id);
CREATE INDEX search_entries_role ON search_entries (role, document_id);
CREATE INDEX search_entries_signature ON search_entries (signature_status, document_id);

-- Partial dossier codes (`--dossier 260105`) through trigrams when pg_trgm can be installed
-- (postgresql-contrib; CREATE privilege on the database). Without it the same LIKE scans the
-- entries: slower, same answers. In schema public, so that dropping another schema never
-- takes the extension with it.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
    CREATE INDEX search_entries_dossier_trgm ON search_entries
        USING gin (dossier_code public.gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): partial dossier codes are searched by scanning',
        SQLERRM;
END
$$;

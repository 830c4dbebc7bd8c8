-- 0003: indexes for GET /v1/messages at a million receipts and more.
-- pg_trgm (a trusted extension: the database owner may create it) serves the
-- case-insensitive "contains" searches on subject, From and attachment names.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- array_to_string is only STABLE; attachment names are plain text, so this is immutable.
CREATE FUNCTION notary_names_text(text[]) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT lower(array_to_string($1, ' ')) $$;

CREATE INDEX receipts_subject_trgm ON receipts USING gin (lower(subject) gin_trgm_ops);
CREATE INDEX receipts_hdr_from_trgm ON receipts USING gin (lower(hdr_from) gin_trgm_ops);
-- The From header's address alone, for exact sender searches ("from=alice@example.com").
ALTER TABLE receipts ADD COLUMN hdr_from_addr text GENERATED ALWAYS AS
  (lower(coalesce(substring(hdr_from from '<([^<>]*)>\s*$'), hdr_from))) STORED;
CREATE INDEX receipts_hdr_from_addr ON receipts (tenant_id, hdr_from_addr);
CREATE INDEX receipts_envelope_from ON receipts (tenant_id, lower(envelope_from));
CREATE INDEX receipts_addresses ON receipts USING gin (addresses);
CREATE INDEX receipts_attachment_names_trgm ON receipts
  USING gin (notary_names_text(attachment_names) gin_trgm_ops);
CREATE INDEX receipts_tenant_time_us ON receipts (tenant_id, received_at_us, id);

-- Sealing writes a block's leaves (100,000 at a time) in one transaction; a foreign-key check
-- per row costs more than everything else in the seal. The sealer writes leaves only for
-- receipts it has just read, in the same transaction as their block, and `notaryctl audit`
-- verifies every leaf against its receipt and block, so these two checks go.
ALTER TABLE leaves DROP CONSTRAINT leaves_receipt_id_fkey;
ALTER TABLE leaves DROP CONSTRAINT leaves_block_height_fkey;

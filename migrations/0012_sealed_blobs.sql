-- 0012: encryption at rest of the message bytes (docs/retention.md, "Encryption at rest").
--
-- A message's bytes are stored once per tenant and content: sealed with AES-256-GCM under a
-- data key of their own (vault/aead.h), whose wrapped form (vault/key_wrapper.h: wrapped for
-- the tenant's key pair, whose private half the signer holds) is kept beside them. The
-- associated data binds the tenant and the SHA-256 of the bytes, so a row moved to another
-- tenant or hash does not open. Bytes stored before this migration stay in message_blobs.
--
-- The key is (tenant, SHA-256 of the plaintext): a tenant's copies are stored once, and one
-- tenant's bytes are never another's row (erasing one tenant's message cannot touch another
-- tenant's copy). The SHA-256 itself is no secret here: receipts.raw_sha256 is evidence,
-- searchable and bound by the leaf record.
CREATE TABLE sealed_blobs (
  tenant_id    bigint NOT NULL REFERENCES tenants(id),
  sha256       bytea NOT NULL CHECK (length(sha256) = 32),
  size         bigint NOT NULL CHECK (size >= 0),
  kek_id       text NOT NULL,
  wrapped_key  bytea NOT NULL CHECK (length(wrapped_key) = 92),
  data         bytea NOT NULL CHECK (length(data) = size + 28),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, sha256)
);
-- Ciphertext does not compress: no TOAST compression attempt.
ALTER TABLE sealed_blobs ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TRIGGER sealed_blobs_append_only_row BEFORE UPDATE OR DELETE ON sealed_blobs
  FOR EACH ROW EXECUTE FUNCTION notary_refuse_change();
CREATE TRIGGER sealed_blobs_append_only_stmt BEFORE UPDATE OR DELETE OR TRUNCATE ON sealed_blobs
  FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change();

-- Exchange journal reports (migration 0002) are sealed the same way: `data` is then the
-- ciphertext, with the wrapped data key beside it; rows stored before stay in the clear.
ALTER TABLE journal_reports
  ADD COLUMN kek_id text,
  ADD COLUMN wrapped_key bytea CHECK (length(wrapped_key) = 92),
  ADD CONSTRAINT journal_reports_sealed_whole CHECK ((kek_id IS NULL) = (wrapped_key IS NULL));

-- A receipt's bytes are in sealed_blobs (new) or message_blobs (before this migration); the
-- audit checks that each receipt has them (storage/blob_scan.h).
ALTER TABLE receipts DROP CONSTRAINT receipts_raw_sha256_fkey;

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT, INSERT ON sealed_blobs TO notary_app;
  END IF;
END $$;

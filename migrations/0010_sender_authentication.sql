-- 0010: sender evidence (issue 21, docs/sender-evidence.md). After a message is stored, the
-- notary checks what the sender's domain says about it (DKIM, SPF, DMARC) and keeps every DNS
-- answer it used; the results and the answers are bound into the log by an authentication
-- record, a leaf of its own kind that names the message's leaf and is sealed after it.
--
-- One row per checked message, append-only. `results` and `dns_archive` are the encodings
-- whose SHA-256 the record carries; `dkim_domains`/`dkim_results` repeat, for search, what
-- `results` holds.
CREATE TABLE authentications (
  receipt_id     uuid PRIMARY KEY REFERENCES receipts(id),
  checked_at_us  bigint NOT NULL,
  results        bytea NOT NULL,
  dns_archive    bytea NOT NULL,
  record         bytea NOT NULL,
  leaf_hash      bytea NOT NULL,
  dkim_domains   text[] NOT NULL DEFAULT '{}',
  dkim_results   text[] NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT authentications_leaf_hash_of_record
    CHECK (leaf_hash = sha256('\x00'::bytea || record)),
  -- The record names this receipt and carries the digests of these two columns (its layout:
  -- docs/evidence-format.md; byte 35 is the low byte of the receipt id's length, which is at
  -- most 64), so no row can pair a record with other results or answers.
  CONSTRAINT authentications_record_binds_row CHECK (
    length(record) = 172 + get_byte(record, 35)
    AND substring(record from 33 for 3) = '\x000000'::bytea
    AND convert_from(substring(record from 37 for get_byte(record, 35)), 'UTF8') = receipt_id::text
    AND substring(record from 77 + get_byte(record, 35) for 32) = sha256(results)
    AND substring(record from 109 + get_byte(record, 35) for 32) = sha256(dns_archive))
);
CREATE INDEX authentications_dkim_domains ON authentications USING gin (dkim_domains);

CREATE TRIGGER authentications_append_only_row BEFORE UPDATE OR DELETE
  ON authentications FOR EACH ROW EXECUTE FUNCTION notary_refuse_change();
CREATE TRIGGER authentications_append_only_stmt BEFORE UPDATE OR DELETE OR TRUNCATE
  ON authentications FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change();

-- A queued or sealed leaf is a message's (receipt_id) or an authentication record's
-- (authentication_of), never both.
ALTER TABLE pending
  ALTER COLUMN receipt_id DROP NOT NULL,
  ADD COLUMN authentication_of uuid UNIQUE REFERENCES authentications(receipt_id),
  ADD CONSTRAINT pending_one_kind CHECK ((receipt_id IS NULL) <> (authentication_of IS NULL)),
  ADD CONSTRAINT pending_authentication_hash
    CHECK (authentication_of IS NULL OR leaf_hash IS NOT NULL);
ALTER TABLE leaves
  ALTER COLUMN receipt_id DROP NOT NULL,
  ADD COLUMN authentication_of uuid UNIQUE REFERENCES authentications(receipt_id),
  ADD CONSTRAINT leaves_one_kind CHECK ((receipt_id IS NULL) <> (authentication_of IS NULL));

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT, INSERT ON authentications TO notary_app;
    -- An authentication record queues in receipts' order: its place comes from their sequence.
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO notary_app',
                   pg_get_serial_sequence('receipts', 'seq'));
  END IF;
END $$;

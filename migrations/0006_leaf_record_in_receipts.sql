-- 0006: a receipt's leaf record lives in its receipt row, written once at ingest; sealing
-- copies narrow rows only.
--
-- Since 0004 the record (about 370 bytes) was written into the queue at ingest and copied
-- into `leaves` at sealing: the widest part of a 100,000-leaf seal's largest statement. Now
-- ingest writes the record and its leaf hash into the receipt (a CHECK ties the hash to the
-- record, as it did in the queue, and also refuses a hash without a record), the queue
-- keeps the 32-byte hash, taken from the receipt in the statement that stores both, and a
-- leaf is (index, receipt, block height, hash). The bundle and the audit read the record
-- through `leaves.receipt_id`.
ALTER TABLE receipts
  ADD COLUMN leaf_record bytea,
  ADD COLUMN leaf_hash bytea,
  ADD CONSTRAINT receipts_leaf_hash_of_record CHECK (
    (leaf_record IS NULL AND leaf_hash IS NULL)
    OR (leaf_record IS NOT NULL AND leaf_hash IS NOT NULL
        AND leaf_hash = sha256('\x00'::bytea || leaf_record)));

-- Receipts stay append-only with one exception: a receipt stored by a notaryd older than
-- 0004 (no record) gets its record once, from the sealer that builds it, and nothing else
-- of the row may change in that UPDATE. Every other UPDATE, DELETE and TRUNCATE is refused
-- for every role, as before. The statement-level trigger refuses an UPDATE naming any other
-- column even when no row matches; the row-level one checks the whole row. (A generated
-- column is left out of the list: PostgreSQL fires a trigger that names one on every UPDATE;
-- it changes only with the columns it is computed from, which are listed.)
DROP TRIGGER receipts_append_only_row ON receipts;
DROP TRIGGER receipts_append_only_stmt ON receipts;

-- The records move before the new triggers exist (they refuse nothing here, but would check
-- every row). The receipt's hash is recomputed from the record, not copied: a `leaves` row
-- whose record and hash disagree (tampered) keeps its own hash, and the audit names it.
UPDATE receipts r SET leaf_record = l.leaf_record, leaf_hash = sha256('\x00'::bytea || l.leaf_record)
  FROM leaves l WHERE l.receipt_id = r.id;
UPDATE receipts r SET leaf_record = p.leaf_record, leaf_hash = p.leaf_hash
  FROM pending p WHERE p.receipt_id = r.id AND p.leaf_record IS NOT NULL;

ALTER TABLE pending
  DROP CONSTRAINT pending_leaf_hash_of_record,
  DROP COLUMN leaf_record,
  ADD CONSTRAINT pending_leaf_hash_size CHECK (leaf_hash IS NULL OR length(leaf_hash) = 32);
ALTER TABLE leaves DROP COLUMN leaf_record;

-- Every stored column but the two must be unchanged. Generated columns are skipped: in a
-- BEFORE trigger NEW holds them as NULL, and they follow the columns they are computed from.
CREATE FUNCTION notary_receipt_record_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.leaf_record IS NULL AND OLD.leaf_hash IS NULL AND NEW.leaf_record IS NOT NULL
     AND (SELECT bool_and(to_jsonb(NEW) -> a.attname IS NOT DISTINCT FROM to_jsonb(OLD) -> a.attname)
          FROM pg_attribute a
          WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
            AND a.attgenerated = '' AND a.attname NOT IN ('leaf_record', 'leaf_hash')) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER receipts_append_only_row BEFORE DELETE ON receipts
  FOR EACH ROW EXECUTE FUNCTION notary_refuse_change();
CREATE TRIGGER receipts_append_only_stmt BEFORE DELETE OR TRUNCATE ON receipts
  FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change();
CREATE TRIGGER receipts_record_once BEFORE UPDATE ON receipts
  FOR EACH ROW EXECUTE FUNCTION notary_receipt_record_once();
DO $$
BEGIN
  EXECUTE format('CREATE TRIGGER receipts_append_only_update BEFORE UPDATE OF %s ON receipts '
                 'FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change()',
                 (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                   WHERE attrelid = 'receipts'::regclass AND attnum > 0 AND NOT attisdropped
                     AND attgenerated = '' AND attname NOT IN ('leaf_record', 'leaf_hash')));
END $$;

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT UPDATE (leaf_record, leaf_hash) ON receipts TO notary_app;
  END IF;
END $$;

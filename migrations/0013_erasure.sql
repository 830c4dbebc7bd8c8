-- 0013: erasure of a message (docs/retention.md, "Erasure").
--
-- The evidence tables stay append-only with one narrow exception: a receipt listed in
-- `erasures` may lose its personal data, and nothing else. An `erasures` row needs an action
-- record of kind "erasure" naming the receipt (0011: a leaf of the log), so no message's data
-- goes without a sealed record saying when, by which key and why. What goes:
--   - the bytes: the tenant's sealed_blobs row (and a message_blobs row from before 0012) once
--     no live receipt uses them; sealed rows were ciphertext under a data key wrapped in the
--     row itself, so the key goes with them;
--   - the receipt's personal columns (envelope addresses, headers, subject, attachment names,
--     parse warnings, idempotency key) are blanked, and its parts' file names;
--   - its journal report and its sender evidence (the SPF result names the envelope sender).
-- What stays: the receipt's hashes, salt, leaf record, times and provenance (how it reached
-- the notary), its leaves, blocks and proofs, so that its bundle still proves that a message
-- with those hashes was received then. The triggers below enforce this for every role.
CREATE TABLE erasures (
  receipt_id    uuid PRIMARY KEY REFERENCES receipts(id),
  tenant_id     bigint NOT NULL REFERENCES tenants(id),
  erased_at_us  bigint NOT NULL,
  erased_by     text NOT NULL,
  reason        text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  action_id     bigint NOT NULL UNIQUE REFERENCES actions(id)
);
CREATE INDEX erasures_tenant ON erasures (tenant_id, erased_at_us);

-- An erasure names its own action record, the receipt's tenant, no listed hold in force, and a
-- receipt whose leaf (and sender evidence, if any) is sealed: pending leaves are read by the
-- sealer from these rows.
CREATE FUNCTION notary_erasure_admissible() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM actions a JOIN receipts r ON r.id = NEW.receipt_id
                  WHERE a.id = NEW.action_id AND a.action = 'erasure'
                    AND a.subject = NEW.receipt_id::text AND a.tenant_id = NEW.tenant_id
                    AND r.tenant_id = NEW.tenant_id AND a.acted_at_us = NEW.erased_at_us
                    AND a.actor = NEW.erased_by) THEN
    RAISE EXCEPTION 'erasure of % needs its own action record of the receipt''s tenant',
      NEW.receipt_id USING ERRCODE = 'check_violation';
  END IF;
  IF EXISTS (SELECT 1 FROM hold_receipts hr JOIN holds h ON h.id = hr.hold_id
              WHERE hr.receipt_id = NEW.receipt_id AND h.released_at_us IS NULL) THEN
    RAISE EXCEPTION 'receipt % is under a legal hold', NEW.receipt_id
      USING ERRCODE = 'check_violation';
  END IF;
  IF EXISTS (SELECT 1 FROM pending WHERE receipt_id = NEW.receipt_id
                                      OR authentication_of = NEW.receipt_id) THEN
    RAISE EXCEPTION 'receipt % is not sealed yet', NEW.receipt_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER erasures_admissible BEFORE INSERT ON erasures
  FOR EACH ROW EXECUTE FUNCTION notary_erasure_admissible();
CREATE TRIGGER erasures_append_only_row BEFORE UPDATE OR DELETE ON erasures
  FOR EACH ROW EXECUTE FUNCTION notary_refuse_change();
CREATE TRIGGER erasures_append_only_stmt BEFORE UPDATE OR DELETE OR TRUNCATE ON erasures
  FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change();

-- The personal columns of a receipt and the value each has once erased.
CREATE FUNCTION notary_receipt_erased_form(r receipts) RETURNS receipts
  LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  r.envelope_from := ''; r.envelope_to := '{}';
  r.hdr_from := ''; r.hdr_sender := ''; r.hdr_reply_to := '';
  r.hdr_to := '{}'; r.hdr_cc := '{}'; r.subject := ''; r.date_header := '';
  r.message_id := ''; r.in_reply_to := ''; r.addresses := '{}';
  r.attachment_names := '{}'; r.parse_warnings := '{}'; r.idempotency_key := NULL;
  RETURN r;
END;
$$;

-- 0006's row trigger, extended: besides the leaf record written once, an erased receipt may
-- become its erased form (every other stored column unchanged).
CREATE OR REPLACE FUNCTION notary_receipt_record_once() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE erased receipts;
BEGIN
  IF OLD.leaf_record IS NULL AND OLD.leaf_hash IS NULL AND NEW.leaf_record IS NOT NULL
     AND (SELECT bool_and(to_jsonb(NEW) -> a.attname IS NOT DISTINCT FROM to_jsonb(OLD) -> a.attname)
          FROM pg_attribute a
          WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
            AND a.attgenerated = '' AND a.attname NOT IN ('leaf_record', 'leaf_hash')) THEN
    RETURN NEW;
  END IF;
  IF EXISTS (SELECT 1 FROM erasures WHERE receipt_id = OLD.id) THEN
    erased := notary_receipt_erased_form(OLD);
    IF (SELECT bool_and(to_jsonb(NEW) -> a.attname IS NOT DISTINCT FROM to_jsonb(erased) -> a.attname)
        FROM pg_attribute a
        WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attgenerated = '') THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- The statement-level trigger refuses any UPDATE naming a column that neither exception
-- changes.
DROP TRIGGER receipts_append_only_update ON receipts;
DO $$
BEGIN
  EXECUTE format('CREATE TRIGGER receipts_append_only_update BEFORE UPDATE OF %s ON receipts '
                 'FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change()',
                 (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                   WHERE attrelid = 'receipts'::regclass AND attnum > 0 AND NOT attisdropped
                     AND attgenerated = ''
                     AND attname NOT IN ('leaf_record', 'leaf_hash', 'envelope_from',
                                         'envelope_to', 'hdr_from', 'hdr_sender', 'hdr_reply_to',
                                         'hdr_to', 'hdr_cc', 'subject', 'date_header',
                                         'message_id', 'in_reply_to', 'addresses',
                                         'attachment_names', 'parse_warnings',
                                         'idempotency_key')));
END $$;

-- A part of an erased receipt may lose its file name, and nothing else.
CREATE FUNCTION notary_part_erase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM erasures WHERE receipt_id = OLD.receipt_id)
     AND NEW.filename = ''
     AND (NEW.receipt_id, NEW.ordinal, NEW.position, NEW.content_type, NEW.charset,
          NEW.disposition, NEW.size, NEW.sha256)
         IS NOT DISTINCT FROM
         (OLD.receipt_id, OLD.ordinal, OLD.position, OLD.content_type, OLD.charset,
          OLD.disposition, OLD.size, OLD.sha256) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER message_parts_append_only_row ON message_parts;
DROP TRIGGER message_parts_append_only_stmt ON message_parts;
CREATE TRIGGER message_parts_append_only_row BEFORE UPDATE OR DELETE ON message_parts
  FOR EACH ROW EXECUTE FUNCTION notary_part_erase();
CREATE TRIGGER message_parts_append_only_stmt
  BEFORE UPDATE OF receipt_id, ordinal, position, content_type, charset, disposition, size,
  sha256 OR DELETE OR TRUNCATE ON message_parts
  FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change();

-- Stored bytes go once every receipt of theirs is erased: a tenant's own, for sealed rows; any
-- tenant's, for the shared rows from before 0012. notary_erase locks the tables first, so no
-- ingest still in flight adds a receipt these checks cannot see.
CREATE FUNCTION notary_sealed_blob_erase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND EXISTS (SELECT 1 FROM receipts r JOIN erasures e ON e.receipt_id = r.id
                  WHERE r.tenant_id = OLD.tenant_id AND r.raw_sha256 = OLD.sha256)
     AND NOT EXISTS (SELECT 1 FROM receipts r
                      WHERE r.tenant_id = OLD.tenant_id AND r.raw_sha256 = OLD.sha256
                        AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = r.id)) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE FUNCTION notary_message_blob_erase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND EXISTS (SELECT 1 FROM receipts r JOIN erasures e ON e.receipt_id = r.id
                  WHERE r.raw_sha256 = OLD.sha256)
     AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.raw_sha256 = OLD.sha256
                        AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = r.id)) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- A journal report, and sender evidence, go with their erased receipt.
CREATE FUNCTION notary_row_of_erased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM erasures WHERE receipt_id = OLD.receipt_id) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
DO $$
DECLARE
  t text;
  f text;
BEGIN
  FOREACH t IN ARRAY ARRAY['message_blobs', 'sealed_blobs', 'journal_reports',
                           'authentications'] LOOP
    f := CASE t WHEN 'message_blobs' THEN 'notary_message_blob_erase'
                WHEN 'sealed_blobs' THEN 'notary_sealed_blob_erase'
                ELSE 'notary_row_of_erased' END;
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_append_only_row', t);
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_append_only_stmt', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW '
                   'EXECUTE FUNCTION %I()', t || '_append_only_row', t, f);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change()',
                   t || '_append_only_stmt', t);
  END LOOP;
END $$;

-- A sealed authentication leaf keeps its leaf hash when its row goes with an erased receipt
-- (as 0003 did for leaves' other references, the audit checks every leaf instead).
ALTER TABLE leaves DROP CONSTRAINT leaves_authentication_of_fkey;

-- Sender evidence is never added to an erased receipt (a check that read the bytes before the
-- erasure and finishes after it).
CREATE FUNCTION notary_refuse_erased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM erasures WHERE receipt_id = NEW.receipt_id) THEN
    RAISE EXCEPTION 'receipt % is erased', NEW.receipt_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER authentications_not_erased BEFORE INSERT ON authentications
  FOR EACH ROW EXECUTE FUNCTION notary_refuse_erased();

-- The erasure itself, as the schema owner: notary_app has no UPDATE or DELETE on any of these
-- tables, nor INSERT on erasures. Called in the transaction that recorded the action
-- `p_action` (kind "erasure", subject the receipt). Returns how many stored copies of the
-- bytes went (0 when another live receipt of the tenant still uses them).
CREATE FUNCTION notary_erase(p_receipt uuid, p_action bigint, p_reason text) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  r receipts;
  a actions;
  gone integer := 0;
  n integer;
BEGIN
  -- Waits for ingests and sender checks in flight (they hold ROW EXCLUSIVE until commit) and
  -- keeps new ones out until this transaction ends, so the checks below see every receipt.
  -- Two erasures take the same locks in the same order, one after the other.
  LOCK TABLE sealed_blobs, message_blobs, authentications IN SHARE ROW EXCLUSIVE MODE;
  SELECT * INTO a FROM actions WHERE id = p_action;
  SELECT * INTO r FROM receipts WHERE id = p_receipt;
  IF a.id IS NULL OR r.id IS NULL THEN
    RAISE EXCEPTION 'no receipt % or action %', p_receipt, p_action
      USING ERRCODE = 'check_violation';
  END IF;
  INSERT INTO erasures (receipt_id, tenant_id, erased_at_us, erased_by, reason, action_id)
  VALUES (p_receipt, r.tenant_id, a.acted_at_us, a.actor, p_reason, p_action);
  UPDATE receipts SET envelope_from = '', envelope_to = '{}', hdr_from = '', hdr_sender = '',
         hdr_reply_to = '', hdr_to = '{}', hdr_cc = '{}', subject = '', date_header = '',
         message_id = '', in_reply_to = '', addresses = '{}', attachment_names = '{}',
         parse_warnings = '{}', idempotency_key = NULL
   WHERE id = p_receipt;
  UPDATE message_parts SET filename = '' WHERE receipt_id = p_receipt AND filename <> '';
  DELETE FROM journal_reports WHERE receipt_id = p_receipt;
  DELETE FROM authentications WHERE receipt_id = p_receipt;
  DELETE FROM sealed_blobs s WHERE s.tenant_id = r.tenant_id AND s.sha256 = r.raw_sha256
     AND NOT EXISTS (SELECT 1 FROM receipts o WHERE o.tenant_id = r.tenant_id
                        AND o.raw_sha256 = r.raw_sha256
                        AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = o.id));
  GET DIAGNOSTICS n = ROW_COUNT;
  gone := gone + n;
  DELETE FROM message_blobs b WHERE b.sha256 = r.raw_sha256
     AND NOT EXISTS (SELECT 1 FROM receipts o WHERE o.raw_sha256 = r.raw_sha256
                        AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = o.id));
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN gone + n;
END;
$$;
REVOKE ALL ON FUNCTION notary_erase(uuid, bigint, text) FROM PUBLIC;

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT ON erasures TO notary_app;
    GRANT EXECUTE ON FUNCTION notary_erase(uuid, bigint, text) TO notary_app;
  END IF;
END $$;

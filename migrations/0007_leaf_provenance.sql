-- 0007: leaf record version 2 binds how a message reached the notary (docs/evidence-format.md):
-- source, listener, node, the forwarding MTA's client name, AUTH user and queue id, which API
-- key stated the envelope (`asserted_by`, "" when the notary observed it on its SMTP
-- listener), and the SHA-256 of the journal report a message was unwrapped from. Version 1
-- records stay as they are (leaf_version 1) and keep verifying. Parts of canonical form
-- version 2 carry a random salt each (docs/canonical-form.md), stored with the part.
ALTER TABLE receipts
  ADD COLUMN leaf_version integer NOT NULL DEFAULT 1 CHECK (leaf_version IN (1, 2)),
  ADD COLUMN asserted_by text NOT NULL DEFAULT '',
  ADD COLUMN journal_report_sha256 bytea CHECK (length(journal_report_sha256) = 32);
ALTER TABLE message_parts
  ADD COLUMN salt bytea CHECK (length(salt) = 32);

-- 0006's statement-level trigger names the columns that existed then; name the new ones too
-- (the row-level trigger already compares every column).
DROP TRIGGER receipts_append_only_update ON receipts;
DO $$
BEGIN
  EXECUTE format('CREATE TRIGGER receipts_append_only_update BEFORE UPDATE OF %s ON receipts '
                 'FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change()',
                 (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                   WHERE attrelid = 'receipts'::regclass AND attnum > 0 AND NOT attisdropped
                     AND attgenerated = '' AND attname NOT IN ('leaf_record', 'leaf_hash')));
END $$;

-- 0015: the search index in a table of its own (docs/retention.md, "The search index").
--
-- The searchable personal fields of a receipt (envelope sender, From, Subject, Message-ID,
-- the addresses and the attachment names) are copied into receipt_index after the receipt
-- commits, by the indexer (pipeline/indexer.h), and the search indexes of 0003 and 0005 move
-- there with them. So:
--   - ingest no longer maintains seven trigram, GIN and B-tree indexes while the sender waits
--     for its 250: it adds one small row to index_pending instead;
--   - receipt_index is not evidence: it may lose rows, and an erasure deletes the receipt's
--     row (a trigger below), so the searchable copy goes with the message.
-- A receipt is in index_pending from its commit until it is indexed. Whatever must see every
-- committed message through the index (a search, an erasure weighing holds by search) first
-- indexes the tenant's pending receipts itself, in its own transaction.
CREATE TABLE index_pending (
  receipt_id  uuid PRIMARY KEY,
  tenant_id   bigint NOT NULL
);
CREATE INDEX index_pending_tenant ON index_pending (tenant_id);
-- Every search first looks at its tenant's rows here: a queue, vacuumed as 0004 has pending be.
ALTER TABLE index_pending
  SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);

CREATE TABLE receipt_index (
  receipt_id        uuid PRIMARY KEY REFERENCES receipts(id),
  tenant_id         bigint NOT NULL,
  -- The receipt's, so that a search on these fields pages in reception-time order here and
  -- reads receipts only for the rows of its page.
  received_at_us    bigint NOT NULL,
  envelope_from     text NOT NULL,
  hdr_from          text NOT NULL,
  -- The From header's address alone, for exact sender searches ("from=alice@example.com").
  hdr_from_addr     text GENERATED ALWAYS AS
    (lower(coalesce(substring(hdr_from from '<([^<>]*)>\s*$'), hdr_from))) STORED,
  subject           text NOT NULL,
  message_id        text NOT NULL,
  addresses         text[] NOT NULL,   -- lower-case addr-specs, envelope and headers
  attachment_names  text[] NOT NULL
);
CREATE INDEX receipt_index_tenant_time ON receipt_index (tenant_id, received_at_us, receipt_id);
CREATE INDEX receipt_index_subject_trgm ON receipt_index USING gin (lower(subject) gin_trgm_ops);
CREATE INDEX receipt_index_hdr_from_trgm ON receipt_index USING gin (lower(hdr_from) gin_trgm_ops);
CREATE INDEX receipt_index_hdr_from_addr ON receipt_index (tenant_id, hdr_from_addr);
CREATE INDEX receipt_index_envelope_from ON receipt_index (tenant_id, lower(envelope_from));
CREATE INDEX receipt_index_addresses ON receipt_index USING gin (addresses);
CREATE INDEX receipt_index_attachment_names_trgm ON receipt_index
  USING gin (notary_names_text(attachment_names) gin_trgm_ops);
CREATE INDEX receipt_index_attachment_name_tokens ON receipt_index
  USING gin (notary_name_tokens(attachment_names));
CREATE INDEX receipt_index_message_id ON receipt_index (tenant_id, message_id);

-- No index row for an erased receipt (an indexer that read it before the erasure; 0013's
-- check, as for sender evidence), and the erasure takes the row with it. An erasure waits
-- until the receipt is indexed (the app indexes it first), so that a hold by search is weighed
-- against the message's fields.
CREATE TRIGGER receipt_index_not_erased BEFORE INSERT ON receipt_index
  FOR EACH ROW EXECUTE FUNCTION notary_refuse_erased();

CREATE FUNCTION notary_erasure_indexed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM index_pending WHERE receipt_id = NEW.receipt_id) THEN
    RAISE EXCEPTION 'receipt % is not indexed yet', NEW.receipt_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER erasures_indexed BEFORE INSERT ON erasures
  FOR EACH ROW EXECUTE FUNCTION notary_erasure_indexed();

-- Runs as the owner of the erasure (notary_erase is SECURITY DEFINER).
CREATE FUNCTION notary_unindex_erased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM receipt_index WHERE receipt_id = NEW.receipt_id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER erasures_unindex AFTER INSERT ON erasures
  FOR EACH ROW EXECUTE FUNCTION notary_unindex_erased();

-- Every receipt not erased, indexed now (they were searchable through receipts until here).
INSERT INTO receipt_index (receipt_id, tenant_id, received_at_us, envelope_from, hdr_from, subject,
                           message_id, addresses, attachment_names)
SELECT r.id, r.tenant_id, r.received_at_us, r.envelope_from, r.hdr_from, r.subject, r.message_id,
       r.addresses, r.attachment_names
  FROM receipts r WHERE NOT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = r.id);
-- The planner's statistics for the new table at once, not at autovacuum's next visit.
ANALYZE receipt_index;

-- The search indexes leave the evidence table, and with them the computed column.
DROP INDEX receipts_subject_trgm, receipts_hdr_from_trgm, receipts_hdr_from_addr,
  receipts_envelope_from, receipts_addresses, receipts_attachment_names_trgm,
  receipts_attachment_name_tokens, receipts_message_id;
ALTER TABLE receipts DROP COLUMN hdr_from_addr;

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT, INSERT, DELETE ON index_pending, receipt_index TO notary_app;
    -- The indexers lock the queue rows they take (SELECT ... FOR UPDATE needs it).
    GRANT UPDATE ON index_pending TO notary_app;
  END IF;
END $$;

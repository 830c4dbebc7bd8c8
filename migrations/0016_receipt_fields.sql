-- 0016: a receipt's personal fields sealed at rest (docs/retention.md, "Encryption at rest").
--
-- The envelope's sender and recipients, the headers the product shows (From, Sender, Reply-To,
-- To, Cc, Subject, Date, Message-ID, In-Reply-To), the address index, the attachment names,
-- the parse warnings and the parts' file names of a receipt stored from here on are one JSON
-- document under a data key of the receipt's own, wrapped for its tenant's key pair as the
-- bytes are (0012); the receipt's own columns for them stay empty. The document's associated
-- data names the tenant and the receipt, so a row moved to another receipt does not open, and
-- every reader checks the envelope it holds against the receipt's envelope digest, which the
-- leaf record binds. Receipts stored before keep their fields in the clear, as before.
--
-- The row is append-only, and goes with its receipt's erasure (a trigger on erasures, below):
-- with it go the wrapped data key and the only copy of the fields.
--
-- The search index (0015) can no longer copy its fields from the receipt: the queue row
-- carries them instead, written by ingest in the statement that stores the receipt, so the
-- indexer still copies rows in SQL alone and needs no key. The queue, like the index, is not
-- evidence and holds nothing once the indexer has been by.
CREATE TABLE receipt_fields (
  receipt_id   uuid PRIMARY KEY REFERENCES receipts(id),
  kek_id       text NOT NULL,
  wrapped_key  bytea NOT NULL CHECK (length(wrapped_key) = 92),
  data         bytea NOT NULL
);

CREATE TRIGGER receipt_fields_append_only_row BEFORE UPDATE OR DELETE ON receipt_fields
  FOR EACH ROW EXECUTE FUNCTION notary_row_of_erased();
CREATE TRIGGER receipt_fields_append_only_stmt BEFORE UPDATE OR TRUNCATE ON receipt_fields
  FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change();
-- No fields for a receipt already erased.
CREATE TRIGGER receipt_fields_not_erased BEFORE INSERT ON receipt_fields
  FOR EACH ROW EXECUTE FUNCTION notary_refuse_erased();

-- Runs as the owner of the erasure (notary_erase is SECURITY DEFINER): notary_app cannot
-- delete the row itself.
CREATE FUNCTION notary_shred_erased_fields() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM receipt_fields WHERE receipt_id = NEW.receipt_id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER erasures_shred_fields AFTER INSERT ON erasures
  FOR EACH ROW EXECUTE FUNCTION notary_shred_erased_fields();

-- Receipts queued before this migration are indexed from their own columns here, so that
-- every queue row from now on carries its fields.
INSERT INTO receipt_index (receipt_id, tenant_id, received_at_us, envelope_from, hdr_from, subject,
                           message_id, addresses, attachment_names)
SELECT r.id, r.tenant_id, r.received_at_us, r.envelope_from, r.hdr_from, r.subject, r.message_id,
       r.addresses, r.attachment_names
  FROM index_pending q JOIN receipts r ON r.id = q.receipt_id
 WHERE NOT EXISTS (SELECT 1 FROM erasures e WHERE e.receipt_id = r.id)
ON CONFLICT (receipt_id) DO NOTHING;
DELETE FROM index_pending;
ALTER TABLE index_pending
  ADD COLUMN received_at_us    bigint NOT NULL,
  ADD COLUMN envelope_from     text NOT NULL,
  ADD COLUMN hdr_from          text NOT NULL,
  ADD COLUMN subject           text NOT NULL,
  ADD COLUMN message_id        text NOT NULL,
  ADD COLUMN addresses         text[] NOT NULL,
  ADD COLUMN attachment_names  text[] NOT NULL;

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT, INSERT ON receipt_fields TO notary_app;
  END IF;
END $$;

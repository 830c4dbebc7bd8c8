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

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT, INSERT ON receipt_fields TO notary_app;
  END IF;
END $$;

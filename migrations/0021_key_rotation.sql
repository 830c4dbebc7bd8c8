-- 0021: re-wrapping a tenant's data keys for its current key pair, and retiring an earlier pair
-- so that it can be destroyed (docs/retention.md, "Rotation").
--
-- Four tables keep a data key wrapped for a tenant's key pair beside their ciphertext:
-- sealed_blobs, receipt_fields, authentications and journal_reports. They stay append-only
-- with one exception: a re-wrap may replace a row's kek_id and wrapped_key, and nothing else,
-- in a transaction that says so (SET LOCAL notary.rewrap = 'on'). Only the schema owner has
-- UPDATE on these tables; notary_app has none, so notaryd cannot re-wrap (or spoil) a key. The
-- ciphertext is not compared on update: a row whose ciphertext changed no longer opens under
-- its data key (AES-GCM's tag), and what opens must hash to the digest the evidence binds.
--
-- retired_keks lists the pairs being destroyed: from the moment a pair is listed, no row
-- wrapped for it is stored (a notaryd node still holding the pair's public key has its group
-- refused and asks for the current key before the sender retries). Counting the rows still
-- wrapped for a retired pair, and destroying it when there are none, then loses nothing.
-- The check is a row trigger on receipt_fields, authentications and journal_reports. Not on
-- sealed_blobs, where it would cost every message a second call (about 15 us of the
-- database's CPU each, bench/key_rotation.sh): a new blob is stored only in the transaction
-- that stores its receipt's fields, sealed in the same call for the same pair, so the fields'
-- refusal rolls the blob back with it.
-- A pair is retired for one tenant: a name given with the wrong tenant retires nothing of
-- another's.
CREATE TABLE retired_keks (
  tenant_id   bigint NOT NULL REFERENCES tenants (id),
  kek_id      text NOT NULL CHECK (length(kek_id) BETWEEN 1 AND 200),
  retired_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, kek_id)
);
CREATE INDEX retired_keks_by_kek ON retired_keks (kek_id);
CREATE TRIGGER retired_keks_append_only_row BEFORE UPDATE OR DELETE ON retired_keks
  FOR EACH ROW EXECUTE FUNCTION notary_refuse_change();
CREATE TRIGGER retired_keks_append_only_stmt BEFORE UPDATE OR DELETE OR TRUNCATE ON retired_keks
  FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change();

-- The three guarded tables name a receipt, whose tenant the retirement must be for.
CREATE FUNCTION notary_refuse_retired_kek() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.kek_id IS NOT NULL AND EXISTS (
       SELECT 1 FROM retired_keks k JOIN receipts r ON r.tenant_id = k.tenant_id
        WHERE k.kek_id = NEW.kek_id AND r.id = NEW.receipt_id) THEN
    RAISE EXCEPTION 'key pair % is retired: wrap for the tenant''s current pair', NEW.kek_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN NEW;
END;
$$;

-- An update in a re-wrap: only kek_id and wrapped_key change, from one pair to another, on a
-- row that had a wrapped key (rows stored in the clear before 0012, 0016 and 0019 have none).
-- One IF per table: PL/pgSQL resolves a field of NEW when the statement naming it first runs.
CREATE FUNCTION notary_rewrap_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  same boolean := false;
BEGIN
  IF current_setting('notary.rewrap', true) = 'on' AND OLD.kek_id IS NOT NULL
     AND NEW.kek_id IS NOT NULL AND length(NEW.wrapped_key) = 92 THEN
    IF TG_TABLE_NAME = 'sealed_blobs' THEN
      same := (NEW.tenant_id, NEW.sha256, NEW.size, NEW.created_at)
              IS NOT DISTINCT FROM (OLD.tenant_id, OLD.sha256, OLD.size, OLD.created_at);
    ELSIF TG_TABLE_NAME = 'journal_reports' THEN
      same := (NEW.receipt_id, NEW.sha256, NEW.size, NEW.stored_at)
              IS NOT DISTINCT FROM (OLD.receipt_id, OLD.sha256, OLD.size, OLD.stored_at);
    ELSIF TG_TABLE_NAME = 'receipt_fields' THEN
      same := (NEW.receipt_id, NEW.data) IS NOT DISTINCT FROM (OLD.receipt_id, OLD.data);
    ELSIF TG_TABLE_NAME = 'authentications' THEN
      same := (NEW.receipt_id, NEW.checked_at_us, NEW.results, NEW.dns_archive, NEW.record,
               NEW.leaf_hash, NEW.dkim_domains, NEW.dkim_results, NEW.created_at, NEW.sealed)
              IS NOT DISTINCT FROM
              (OLD.receipt_id, OLD.checked_at_us, OLD.results, OLD.dns_archive, OLD.record,
               OLD.leaf_hash, OLD.dkim_domains, OLD.dkim_results, OLD.created_at, OLD.sealed);
    END IF;
    IF same THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE FUNCTION notary_refuse_change_unless_rewrap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND current_setting('notary.rewrap', true) = 'on' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Each table keeps its DELETE rule (erasure) and refuses TRUNCATE; UPDATE goes through
-- notary_rewrap_only; INSERT of a row wrapped for a retired pair is refused (but for
-- sealed_blobs, above).
DO $$
DECLARE
  t text;
  f text;
BEGIN
  FOREACH t IN ARRAY ARRAY['sealed_blobs', 'receipt_fields', 'authentications',
                           'journal_reports'] LOOP
    f := CASE t WHEN 'sealed_blobs' THEN 'notary_sealed_blob_erase'
                ELSE 'notary_row_of_erased' END;
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_append_only_row', t);
    EXECUTE format('DROP TRIGGER %I ON %I', t || '_append_only_stmt', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I FOR EACH ROW EXECUTE FUNCTION %I()',
                   t || '_append_only_row', t, f);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW '
                   'EXECUTE FUNCTION notary_rewrap_only()', t || '_rewrap_only_row', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR TRUNCATE ON %I FOR EACH STATEMENT '
                   'EXECUTE FUNCTION notary_refuse_change_unless_rewrap()',
                   t || '_append_only_stmt', t);
    IF t <> 'sealed_blobs' THEN
      EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON %I FOR EACH ROW '
                     'EXECUTE FUNCTION notary_refuse_retired_kek()', t || '_not_retired', t);
    END IF;
  END LOOP;
END $$;

-- Re-wrapping and retiring are the operator's (notaryctl, as the schema owner): notary_app
-- only reads the list, which its inserts are checked against.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT ON retired_keks TO notary_app;
  END IF;
END $$;

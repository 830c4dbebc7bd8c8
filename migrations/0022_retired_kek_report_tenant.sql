-- 0022: the retired-pair guard of 0021 knows a journal report's tenant before its receipt
-- exists (docs/retention.md, "Rotation").
--
-- 0021's guard reads a row's tenant from the receipt the row names. A journal report is stored
-- just before its receipt (a journal receipt never exists without its report), so a report
-- wrapped for a retired pair, by a notaryd node still holding that pair's public key, was
-- stored: its receipt was refused and retried under the current pair, and the first report,
-- for a receipt that never was, stayed wrapped for the pair about to be destroyed.
--
-- The journal store now names the row's tenant in its transaction before each insert
-- (set_config('notary.row_tenant', <tenant name>, true): for that transaction only), and the
-- guard takes the tenant from there when the row's receipt does not exist yet. A row whose
-- receipt exists is judged by that receipt's tenant, whatever the setting says. COALESCE
-- evaluates its second argument only when the first is NULL: the receipt fields and sender
-- checks, whose receipt exists, pay for no second lookup.
CREATE OR REPLACE FUNCTION notary_refuse_retired_kek() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.kek_id IS NOT NULL AND EXISTS (
       SELECT 1 FROM retired_keks k
        WHERE k.kek_id = NEW.kek_id
          AND k.tenant_id = COALESCE(
                (SELECT r.tenant_id FROM receipts r WHERE r.id = NEW.receipt_id),
                (SELECT t.id FROM tenants t
                  WHERE t.name = current_setting('notary.row_tenant', true)))) THEN
    RAISE EXCEPTION 'key pair % is retired: wrap for the tenant''s current pair', NEW.kek_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN NEW;
END;
$$;

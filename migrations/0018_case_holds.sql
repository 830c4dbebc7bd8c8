-- 0018: a legal hold on a case (docs/cases.md, "A hold on a case"). The hold covers the
-- case's messages when it is placed and every message added to the case while it is in force;
-- removing a message from the case does not release it. Both kinds of coverage are rows of
-- hold_receipts (0011): the members when placed, then each addition's receipts, inserted in
-- the addition's own transaction under the tenant's holds lock, so that an erasure sees them
-- as it sees any hold by list.
ALTER TABLE holds ADD COLUMN case_id uuid REFERENCES cases(id);
ALTER TABLE holds ADD CONSTRAINT holds_case_or_query CHECK (case_id IS NULL OR query IS NULL);
CREATE INDEX holds_case_active ON holds (case_id) WHERE case_id IS NOT NULL
  AND released_at_us IS NULL;

-- A hold's case is one of its tenant's.
CREATE FUNCTION notary_hold_case_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.case_id IS NOT NULL AND NOT EXISTS (
       SELECT 1 FROM cases k WHERE k.id = NEW.case_id AND k.tenant_id = NEW.tenant_id) THEN
    RAISE EXCEPTION 'case % is not a case of the hold''s tenant', NEW.case_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER holds_case_tenant BEFORE INSERT ON holds
  FOR EACH ROW EXECUTE FUNCTION notary_hold_case_tenant();

-- A hold changes once: its release, and nothing else with it (0011's rule, now with case_id).
CREATE OR REPLACE FUNCTION notary_hold_release_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.release_action_id IS NULL AND NEW.release_action_id IS NOT NULL
     AND (NEW.id, NEW.tenant_id, NEW.name, NEW.reason, NEW.query, NEW.include_future,
          NEW.created_at_us, NEW.created_by, NEW.action_id, NEW.case_id)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.tenant_id, OLD.name, OLD.reason, OLD.query, OLD.include_future,
          OLD.created_at_us, OLD.created_by, OLD.action_id, OLD.case_id) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'table % changes only by a release, once: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

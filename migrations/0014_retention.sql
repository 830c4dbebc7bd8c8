-- 0014: retention periods (docs/retention.md, "Retention"). Each change of a tenant's period is
-- a row here and an action record of kind "retention" in the log; the period in force is the
-- tenant's latest row. A sweeper erases (0013) the tenant's messages received longer ago than
-- the period that no legal hold covers, each erasure with its own record.
CREATE TABLE retention_settings (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id  bigint NOT NULL REFERENCES tenants(id),
  days       integer CHECK (days BETWEEN 1 AND 36600),  -- NULL: kept until erased by hand
  set_at_us  bigint NOT NULL,
  set_by     text NOT NULL,
  action_id  bigint NOT NULL UNIQUE REFERENCES actions(id)
);
CREATE INDEX retention_settings_tenant ON retention_settings (tenant_id, id DESC);

-- A setting names its own action record of kind "retention" for the tenant.
CREATE FUNCTION notary_retention_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM actions a JOIN tenants t ON t.id = a.tenant_id
                  WHERE a.id = NEW.action_id AND a.action = 'retention'
                    AND a.tenant_id = NEW.tenant_id AND a.subject = t.name
                    AND a.acted_at_us = NEW.set_at_us AND a.actor = NEW.set_by) THEN
    RAISE EXCEPTION 'a retention setting needs its own action record'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER retention_settings_recorded BEFORE INSERT ON retention_settings
  FOR EACH ROW EXECUTE FUNCTION notary_retention_recorded();
CREATE TRIGGER retention_settings_append_only_row BEFORE UPDATE OR DELETE ON retention_settings
  FOR EACH ROW EXECUTE FUNCTION notary_refuse_change();
CREATE TRIGGER retention_settings_append_only_stmt
  BEFORE UPDATE OR DELETE OR TRUNCATE ON retention_settings
  FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change();

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT, INSERT ON retention_settings TO notary_app;
    GRANT USAGE, SELECT ON SEQUENCE retention_settings_id_seq TO notary_app;
  END IF;
END $$;

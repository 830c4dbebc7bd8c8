-- 0017: cases (matters): a tenant's named sets of messages for a dispute, and every change
-- to a case's messages, each recorded in the log as an action record (0011) so that what a
-- case held at any moment, and who changed it, is evidence (docs/cases.md).
--
-- cases: one row per case, append-only. Its creation is the action record `case`.
CREATE TABLE cases (
  id             uuid PRIMARY KEY,
  tenant_id      bigint NOT NULL REFERENCES tenants(id),
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description    text NOT NULL CHECK (length(description) <= 4000),
  reference      text NOT NULL CHECK (length(reference) <= 200),
  created_at_us  bigint NOT NULL,
  created_by     text NOT NULL,
  action_id      bigint NOT NULL UNIQUE REFERENCES actions(id)
);
CREATE INDEX cases_tenant ON cases (tenant_id, created_at_us);

-- case_changes: each addition (by list, or by search: the query kept, its result in
-- case_change_receipts) and each removal (with its reason), in the order made. A receipt is
-- in a case when its latest change there is an addition.
CREATE TABLE case_changes (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id      uuid NOT NULL REFERENCES cases(id),
  change       text NOT NULL CHECK (change IN ('add', 'remove')),
  query        jsonb CHECK (query IS NULL OR jsonb_typeof(query) = 'object'),
  reason       text NOT NULL CHECK (length(reason) <= 2000),
  acted_at_us  bigint NOT NULL,
  actor        text NOT NULL,
  action_id    bigint NOT NULL UNIQUE REFERENCES actions(id),
  CONSTRAINT case_changes_query_adds CHECK (query IS NULL OR change = 'add')
);
CREATE INDEX case_changes_case ON case_changes (case_id, id);

CREATE TABLE case_change_receipts (
  change_id   bigint NOT NULL REFERENCES case_changes(id),
  receipt_id  uuid NOT NULL REFERENCES receipts(id),
  PRIMARY KEY (change_id, receipt_id)
);
CREATE INDEX case_change_receipts_receipt ON case_change_receipts (receipt_id, change_id);

-- case_exports: each production exported (docs/cases.md, "The production"), recorded with its
-- action record `case-export` before its files are built; case_export_receipts: the Bates
-- number each message got there, so that a message's chain of custody names every
-- production it went into.
CREATE TABLE case_exports (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id       uuid NOT NULL REFERENCES cases(id),
  bates_prefix  text NOT NULL CHECK (bates_prefix ~ '^[A-Za-z0-9_-]{0,20}$'),
  bates_start   bigint NOT NULL CHECK (bates_start BETWEEN 0 AND 999999999999),
  bates_width   integer NOT NULL CHECK (bates_width BETWEEN 1 AND 12),
  acted_at_us   bigint NOT NULL,
  actor         text NOT NULL,
  action_id     bigint NOT NULL UNIQUE REFERENCES actions(id)
);
CREATE INDEX case_exports_case ON case_exports (case_id, id);

CREATE TABLE case_export_receipts (
  export_id   bigint NOT NULL REFERENCES case_exports(id),
  receipt_id  uuid NOT NULL REFERENCES receipts(id),
  bates       text NOT NULL,
  PRIMARY KEY (export_id, receipt_id),
  UNIQUE (export_id, bates)
);
CREATE INDEX case_export_receipts_receipt ON case_export_receipts (receipt_id);

-- A message's chain of custody reads its access entries (and GET /v1/access-log?receipt_id=).
CREATE INDEX access_log_receipt ON access_log (receipt_id) WHERE receipt_id IS NOT NULL;

-- A change names receipts of its case's tenant only: said here as well as by the store, so
-- that no query mistake can put one tenant's message into another's case.
CREATE FUNCTION notary_case_receipt_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM case_changes c JOIN cases k ON k.id = c.case_id
                   JOIN receipts r ON r.tenant_id = k.tenant_id
                 WHERE c.id = NEW.change_id AND r.id = NEW.receipt_id) THEN
    RAISE EXCEPTION 'receipt % is not a message of the case''s tenant', NEW.receipt_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER case_change_receipts_tenant BEFORE INSERT ON case_change_receipts
  FOR EACH ROW EXECUTE FUNCTION notary_case_receipt_tenant();

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['cases', 'case_changes', 'case_change_receipts', 'case_exports',
                           'case_export_receipts'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW '
                   'EXECUTE FUNCTION notary_refuse_change()', t || '_append_only_row', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE OR TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change()',
                   t || '_append_only_stmt', t);
  END LOOP;
END $$;

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT, INSERT ON cases, case_changes, case_change_receipts, case_exports,
      case_export_receipts TO notary_app;
    GRANT USAGE, SELECT ON SEQUENCE case_changes_id_seq, case_exports_id_seq TO notary_app;
  END IF;
END $$;

-- The receipts in a case now: those whose latest change there is an addition.
CREATE FUNCTION notary_case_members(c uuid) RETURNS TABLE (receipt_id uuid)
LANGUAGE sql STABLE AS $$
  SELECT m.receipt_id
  FROM (SELECT DISTINCT ON (cr.receipt_id) cr.receipt_id, ch.change
        FROM case_changes ch JOIN case_change_receipts cr ON cr.change_id = ch.id
        WHERE ch.case_id = c
        ORDER BY cr.receipt_id, ch.id DESC) m
  WHERE m.change = 'add'
$$;

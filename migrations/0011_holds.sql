-- 0011: legal holds, and the action record that makes every hold and release a leaf of the
-- log (docs/evidence-format.md, "Action record"; docs/retention.md).
--
-- actions: append-only, one row per recorded action, with the exact details (JSON) the record
-- binds by digest. The CHECKs tie the row to its record: the leaf hash is the record's, and
-- the record's details digest (the 64 bytes before the end are digest then salt) is the
-- stored details'. notaryctl audit checks the rest (the record decodes, names the row's
-- tenant, action and subject).
CREATE TABLE actions (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id    bigint NOT NULL REFERENCES tenants(id),
  action       text NOT NULL CHECK (action ~ '^[a-z-]{1,32}$'),
  subject      text NOT NULL,
  acted_at_us  bigint NOT NULL,
  actor        text NOT NULL,
  details      bytea NOT NULL,
  record       bytea NOT NULL,
  leaf_hash    bytea NOT NULL,
  CONSTRAINT actions_leaf_hash_of_record CHECK (leaf_hash = sha256('\x00'::bytea || record)),
  CONSTRAINT actions_record_binds_details
    CHECK (length(record) > 64
           AND substring(record from length(record) - 63 for 32) = sha256(details))
);
CREATE INDEX actions_tenant_subject ON actions (tenant_id, subject);

-- A hold covers the receipts listed in hold_receipts, or those its search matches (query, the
-- parameters of GET /v1/messages as a JSON object): received before the hold, or at any time
-- with include_future. Receipts and their searchable fields never change, so the query is
-- evaluated when asked, and what it matched at any moment is reproducible. Released once,
-- never deleted.
CREATE TABLE holds (
  id                 uuid PRIMARY KEY,
  tenant_id          bigint NOT NULL REFERENCES tenants(id),
  name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  reason             text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  query              jsonb,
  include_future     boolean NOT NULL DEFAULT false,
  created_at_us      bigint NOT NULL,
  created_by         text NOT NULL,
  action_id          bigint NOT NULL UNIQUE REFERENCES actions(id),
  released_at_us     bigint,
  released_by        text,
  release_reason     text CHECK (length(release_reason) <= 2000),
  release_action_id  bigint UNIQUE REFERENCES actions(id),
  CONSTRAINT holds_released_whole CHECK (
    (released_at_us IS NULL) = (release_action_id IS NULL)
    AND (released_at_us IS NULL) = (released_by IS NULL)
    AND (released_at_us IS NULL) = (release_reason IS NULL)),
  CONSTRAINT holds_query_or_list CHECK (query IS NULL OR jsonb_typeof(query) = 'object')
);
CREATE INDEX holds_tenant_active ON holds (tenant_id) WHERE released_at_us IS NULL;

CREATE TABLE hold_receipts (
  hold_id     uuid NOT NULL REFERENCES holds(id),
  receipt_id  uuid NOT NULL REFERENCES receipts(id),
  PRIMARY KEY (hold_id, receipt_id)
);
CREATE INDEX hold_receipts_receipt ON hold_receipts (receipt_id);

-- A hold changes once: its release, and nothing else with it.
CREATE FUNCTION notary_hold_release_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.release_action_id IS NULL AND NEW.release_action_id IS NOT NULL
     AND (NEW.id, NEW.tenant_id, NEW.name, NEW.reason, NEW.query, NEW.include_future,
          NEW.created_at_us, NEW.created_by, NEW.action_id)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.tenant_id, OLD.name, OLD.reason, OLD.query, OLD.include_future,
          OLD.created_at_us, OLD.created_by, OLD.action_id) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'table % changes only by a release, once: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER holds_release_once BEFORE UPDATE ON holds
  FOR EACH ROW EXECUTE FUNCTION notary_hold_release_once();
CREATE TRIGGER holds_append_only_row BEFORE DELETE ON holds
  FOR EACH ROW EXECUTE FUNCTION notary_refuse_change();
CREATE TRIGGER holds_append_only_stmt BEFORE DELETE OR TRUNCATE ON holds
  FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change();

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['actions', 'hold_receipts'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW '
                   'EXECUTE FUNCTION notary_refuse_change()', t || '_append_only_row', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE OR TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change()',
                   t || '_append_only_stmt', t);
  END LOOP;
END $$;

-- A third kind of queued and sealed leaf.
ALTER TABLE pending
  ADD COLUMN action_of bigint UNIQUE REFERENCES actions(id),
  DROP CONSTRAINT pending_one_kind,
  ADD CONSTRAINT pending_one_kind
    CHECK (num_nonnulls(receipt_id, authentication_of, action_of) = 1),
  ADD CONSTRAINT pending_action_hash CHECK (action_of IS NULL OR leaf_hash IS NOT NULL);
ALTER TABLE leaves
  ADD COLUMN action_of bigint UNIQUE REFERENCES actions(id),
  DROP CONSTRAINT leaves_one_kind,
  ADD CONSTRAINT leaves_one_kind
    CHECK (num_nonnulls(receipt_id, authentication_of, action_of) = 1);

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT, INSERT ON actions, holds, hold_receipts TO notary_app;
    GRANT UPDATE (released_at_us, released_by, release_reason, release_action_id)
      ON holds TO notary_app;
    GRANT USAGE, SELECT ON SEQUENCE actions_id_seq TO notary_app;
  END IF;
END $$;

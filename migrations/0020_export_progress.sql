-- How far each case export being built has got (GET /v1/cases/{id}/export/progress), kept in
-- the database so that every notaryd node behind a load balancer answers a poll, not only the
-- one building the export (docs/cases.md, "Following an export"). Not evidence: a row is
-- updated while its export runs and deleted a while after it ends; nothing in it is personal
-- data (a client's random token, counts, and a refusal's reason).
CREATE TABLE export_progress (
  token         text PRIMARY KEY CHECK (token ~ '^[0-9a-f]{16,64}$'),
  tenant_id     bigint NOT NULL REFERENCES tenants (id),
  case_id       text NOT NULL CHECK (length(case_id) <= 64),
  node          text NOT NULL CHECK (length(node) <= 255),
  state         text NOT NULL CHECK (state IN ('building', 'ready', 'failed')),
  done          bigint NOT NULL DEFAULT 0 CHECK (done >= 0),
  total         bigint CHECK (total >= 0),
  error         text NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
  updated_at_us bigint NOT NULL,
  ended_at_us   bigint,
  CHECK ((state = 'building') = (ended_at_us IS NULL))
);
CREATE INDEX export_progress_by_tenant ON export_progress (tenant_id);

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON export_progress TO notary_app;
  END IF;
END $$;

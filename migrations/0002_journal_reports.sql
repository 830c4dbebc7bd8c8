-- 0002: Exchange / Microsoft 365 journal reports kept as evidence beside the receipt of the
-- original they carried. notaryd writes the report before the receipt (see
-- docs/mail-server-setup.md, "Journal reports"), so there is no foreign key: a receipt never
-- lacks its report, while a report whose receipt insert then failed stays as an orphan row.
CREATE TABLE journal_reports (
  receipt_id  uuid NOT NULL,
  sha256      bytea NOT NULL CHECK (length(sha256) = 32),
  size        bigint NOT NULL,
  data        bytea NOT NULL,
  stored_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (receipt_id)
);
ALTER TABLE journal_reports ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TRIGGER journal_reports_append_only_row BEFORE UPDATE OR DELETE ON journal_reports
  FOR EACH ROW EXECUTE FUNCTION notary_refuse_change();
CREATE TRIGGER journal_reports_append_only_stmt BEFORE UPDATE OR DELETE OR TRUNCATE
  ON journal_reports FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change();

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT, INSERT ON journal_reports TO notary_app;
    REVOKE UPDATE, DELETE, TRUNCATE ON journal_reports FROM notary_app;
  END IF;
END $$;

-- 0009: checkpoints cosigned by independent witnesses (C2SP tlog-witness, issue 19). A row is
-- the log's checkpoint note of some block's tree with the cosignature/v1 lines of at least the
-- witness quorum appended, as GET /v1/checkpoint publishes it and bundles carry it. The same
-- tree may be cosigned again later (witnesses sign with the time they saw it), so tree_size
-- is not unique; the newest row of the largest tree is the one published. Append-only.
CREATE TABLE cosigned_checkpoints (
  id          bigserial PRIMARY KEY,
  tree_size   bigint NOT NULL CHECK (tree_size >= 0),
  checkpoint  text NOT NULL,
  cosigners   integer NOT NULL CHECK (cosigners > 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cosigned_checkpoints_size ON cosigned_checkpoints (tree_size DESC, id DESC);

CREATE TRIGGER cosigned_checkpoints_append_only_row BEFORE UPDATE OR DELETE
  ON cosigned_checkpoints FOR EACH ROW EXECUTE FUNCTION notary_refuse_change();
CREATE TRIGGER cosigned_checkpoints_append_only_stmt BEFORE UPDATE OR DELETE OR TRUNCATE
  ON cosigned_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change();

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT SELECT, INSERT ON cosigned_checkpoints TO notary_app;
    GRANT USAGE, SELECT ON SEQUENCE cosigned_checkpoints_id_seq TO notary_app;
  END IF;
END $$;

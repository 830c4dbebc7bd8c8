-- 0001: the initial schema. Runs as the schema owner; notaryd connects as notary_app.
--
-- Evidence tables are append-only, enforced here by triggers (row and statement level, so
-- even an empty table refuses UPDATE, DELETE and TRUNCATE, for every role including
-- superusers) and by notary_app holding no UPDATE/DELETE/TRUNCATE privilege on them.

CREATE FUNCTION notary_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TABLE tenants (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO tenants (name) VALUES ('default');

-- The exact bytes received, stored once per distinct content.
CREATE TABLE message_blobs (
  sha256      bytea PRIMARY KEY CHECK (length(sha256) = 32),
  size        bigint NOT NULL,
  data        bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE message_blobs ALTER COLUMN data SET STORAGE EXTERNAL;

-- One row per received copy.
CREATE TABLE receipts (
  id                uuid PRIMARY KEY,
  seq               bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  tenant_id         bigint NOT NULL REFERENCES tenants(id),
  received_at       timestamptz NOT NULL,
  received_at_us    bigint NOT NULL,           -- the exact value in the leaf record
  node              text NOT NULL,
  source            text NOT NULL,             -- smtp | http | milter | journal
  listener          text NOT NULL DEFAULT '',
  envelope_from     text NOT NULL,
  envelope_to       text[] NOT NULL,
  client_ip         text NOT NULL DEFAULT '',
  client_port       integer NOT NULL DEFAULT 0,
  client_name       text NOT NULL DEFAULT '',
  helo              text NOT NULL DEFAULT '',
  tls_protocol      text NOT NULL DEFAULT '',
  tls_cipher        text NOT NULL DEFAULT '',
  auth_user         text NOT NULL DEFAULT '',
  queue_id          text NOT NULL DEFAULT '',
  smtputf8          boolean NOT NULL DEFAULT false,
  body_type         text NOT NULL DEFAULT '',
  size              bigint NOT NULL,
  raw_sha256        bytea NOT NULL REFERENCES message_blobs(sha256),
  canonical_sha256  bytea NOT NULL,
  canon_version     integer NOT NULL,
  parts_root        bytea NOT NULL,
  envelope_digest   bytea NOT NULL,
  salt              bytea NOT NULL CHECK (length(salt) = 32),
  hdr_from          text NOT NULL DEFAULT '',
  hdr_sender        text NOT NULL DEFAULT '',
  hdr_reply_to      text NOT NULL DEFAULT '',
  hdr_to            text[] NOT NULL DEFAULT '{}',
  hdr_cc            text[] NOT NULL DEFAULT '{}',
  subject           text NOT NULL DEFAULT '',
  date_header       text NOT NULL DEFAULT '',
  date_utc          timestamptz,
  message_id        text NOT NULL DEFAULT '',
  in_reply_to       text NOT NULL DEFAULT '',
  addresses         text[] NOT NULL DEFAULT '{}',   -- lower-case addr-specs, envelope and headers
  attachment_names  text[] NOT NULL DEFAULT '{}',
  parse_warnings    text[] NOT NULL DEFAULT '{}',
  idempotency_key   text,
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX receipts_tenant_time ON receipts (tenant_id, received_at, id);
CREATE INDEX receipts_message_id ON receipts (tenant_id, message_id);
CREATE INDEX receipts_raw_sha256 ON receipts (raw_sha256);
CREATE INDEX receipts_canonical_sha256 ON receipts (canonical_sha256);

CREATE TABLE message_parts (
  receipt_id    uuid NOT NULL REFERENCES receipts(id),
  ordinal       integer NOT NULL,
  position      text NOT NULL,
  content_type  text NOT NULL,
  charset       text NOT NULL DEFAULT '',
  disposition   text NOT NULL DEFAULT '',
  filename      text NOT NULL DEFAULT '',
  size          bigint NOT NULL,
  sha256        bytea NOT NULL,
  PRIMARY KEY (receipt_id, ordinal)
);
CREATE INDEX message_parts_sha256 ON message_parts (sha256);

-- Receipts waiting for a block: a work queue, the only table the sealer deletes from.
CREATE TABLE pending (
  seq         bigint PRIMARY KEY,
  receipt_id  uuid NOT NULL UNIQUE REFERENCES receipts(id)
);

CREATE TABLE signing_keys (
  key_id        text PRIMARY KEY,
  algorithm     text NOT NULL DEFAULT 'ed25519',
  public_key    bytea NOT NULL,
  public_pem    text NOT NULL,
  fingerprint   text NOT NULL,
  valid_from    timestamptz NOT NULL DEFAULT now(),
  valid_until   timestamptz
);

CREATE TABLE blocks (
  height        bigint PRIMARY KEY CHECK (height >= 0),
  prev_hash     bytea NOT NULL,
  batch_root    bytea NOT NULL,
  first_leaf    bigint NOT NULL,
  leaf_count    bigint NOT NULL CHECK (leaf_count > 0),
  tree_size     bigint NOT NULL UNIQUE,
  tree_root     bytea NOT NULL,
  sealed_at     timestamptz NOT NULL,
  sealed_at_us  bigint NOT NULL,
  key_id        text NOT NULL REFERENCES signing_keys(key_id),
  header        bytea NOT NULL,
  signature     bytea NOT NULL,
  block_hash    bytea NOT NULL UNIQUE,
  checkpoint    text NOT NULL,     -- the signed note for tree_size
  node          text NOT NULL DEFAULT ''
);

CREATE TABLE leaves (
  leaf_index    bigint PRIMARY KEY,
  receipt_id    uuid NOT NULL UNIQUE REFERENCES receipts(id),
  block_height  bigint NOT NULL REFERENCES blocks(height),
  leaf_record   bytea NOT NULL,
  leaf_hash     bytea NOT NULL
);
CREATE INDEX leaves_block ON leaves (block_height);

-- The global tree as C2SP tlog-tiles hash tiles; partial tiles are kept (immutable URLs).
CREATE TABLE tiles (
  level   smallint NOT NULL,
  idx     bigint NOT NULL,
  width   smallint NOT NULL CHECK (width BETWEEN 1 AND 256),
  hashes  bytea NOT NULL,
  PRIMARY KEY (level, idx, width)
);

CREATE TABLE timestamp_tokens (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  block_height  bigint NOT NULL REFERENCES blocks(height),
  tsa           text NOT NULL,
  gen_time      timestamptz NOT NULL,
  token         bytea NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (block_height, tsa)
);

-- Tokens still to fetch from external TSAs: a work queue.
CREATE TABLE tsa_pending (
  block_height  bigint NOT NULL REFERENCES blocks(height),
  tsa           text NOT NULL,
  attempts      integer NOT NULL DEFAULT 0,
  next_attempt  timestamptz NOT NULL DEFAULT now(),
  last_error    text NOT NULL DEFAULT '',
  PRIMARY KEY (block_height, tsa)
);

CREATE TABLE api_keys (
  key_id      text PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id),
  label       text NOT NULL DEFAULT '',
  scopes      text[] NOT NULL,
  salt        bytea NOT NULL,
  hash        bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz,
  revoked_at  timestamptz
);

CREATE TABLE access_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  key_id      text NOT NULL,
  tenant_id   bigint NOT NULL REFERENCES tenants(id),
  route       text NOT NULL,
  receipt_id  uuid,
  client_ip   text NOT NULL DEFAULT '',
  detail      text NOT NULL DEFAULT ''
);
CREATE INDEX access_log_tenant ON access_log (tenant_id, at);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['message_blobs', 'receipts', 'message_parts', 'leaves', 'blocks',
                           'tiles', 'timestamp_tokens', 'access_log'] LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW '
                   'EXECUTE FUNCTION notary_refuse_change()', t || '_append_only_row', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE OR TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION notary_refuse_change()',
                   t || '_append_only_stmt', t);
  END LOOP;
END $$;

-- Privileges for the application role, when it exists (scripts/pg and docker-compose make it).
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    GRANT USAGE ON SCHEMA public TO notary_app;
    GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO notary_app;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO notary_app;
    GRANT DELETE ON pending, tsa_pending TO notary_app;
    GRANT UPDATE ON tsa_pending, api_keys, signing_keys TO notary_app;
    REVOKE UPDATE, DELETE, TRUNCATE ON message_blobs, receipts, message_parts, leaves, blocks,
      tiles, timestamp_tokens, access_log FROM notary_app;
  END IF;
END $$;

-- 0008: the application role (notary_app) could UPDATE any column of api_keys and
-- signing_keys: a compromised notaryd could un-revoke a key, change its scopes or tenant, or
-- move a signing key's validity. It keeps only the two changes it needs, as functions that do
-- exactly those (SECURITY DEFINER, owned by the schema owner), and loses UPDATE on both tables.

-- Revokes an API key (once; a revoked key stays revoked at its first revocation time).
CREATE FUNCTION notary_revoke_api_key(p_key_id text) RETURNS boolean
  LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = p_key_id
  RETURNING true
$$;

-- Closes the validity of every open signing key but `p_key_id`, now (key rotation). Does
-- nothing unless `p_key_id` is a signing key: rotation can never leave no key open.
CREATE FUNCTION notary_retire_signing_keys_except(p_key_id text) RETURNS integer
  LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH closed AS (
    UPDATE signing_keys SET valid_until = now()
     WHERE key_id <> p_key_id AND valid_until IS NULL
       AND EXISTS (SELECT 1 FROM signing_keys WHERE key_id = p_key_id)
    RETURNING 1)
  SELECT count(*)::integer FROM closed
$$;

REVOKE ALL ON FUNCTION notary_revoke_api_key(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION notary_retire_signing_keys_except(text) FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'notary_app') THEN
    REVOKE UPDATE ON api_keys, signing_keys FROM notary_app;
    GRANT EXECUTE ON FUNCTION notary_revoke_api_key(text) TO notary_app;
    GRANT EXECUTE ON FUNCTION notary_retire_signing_keys_except(text) TO notary_app;
  END IF;
END $$;

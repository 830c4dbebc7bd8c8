-- 0005: attachment-name search through whole words.
--
-- "attachment_name contains X" used only the trigram index of 0003. Names share most of their
-- trigrams ("report", ".pdf"), so the scan walked long posting lists for every query. A word
-- of X that is bounded by separators on both sides inside X (the 517 of "case-517.bin") must
-- be a whole word of any name containing X: such words are looked up in this index first,
-- and the contains test runs only on what they find. X without such a word keeps the trigram
-- path. Both functions split the same way, on anything that is not a letter or digit, after
-- lower(), exactly as the contains test compares.
CREATE FUNCTION notary_name_tokens(text[]) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT array_remove(regexp_split_to_array(lower(array_to_string($1, ' ')), '[^[:alnum:]]+'), '')
$$;

-- The words of a search text that are whole words wherever the text occurs: all but the first
-- and the last piece (those may continue beyond the text).
CREATE FUNCTION notary_inner_tokens(text) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN cardinality(t) > 2 THEN t[2:cardinality(t) - 1] ELSE '{}'::text[] END
  FROM (SELECT regexp_split_to_array(lower($1), '[^[:alnum:]]+') AS t) s
$$;

CREATE INDEX receipts_attachment_name_tokens ON receipts
  USING gin (notary_name_tokens(attachment_names));

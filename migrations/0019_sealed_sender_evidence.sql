-- 0019: sender evidence sealed at rest (docs/retention.md, "Encryption at rest"). The DKIM,
-- SPF and DMARC results name people (the SPF result carries the envelope sender, DMARC the
-- From domain) and the DNS answers may too (an SPF macro expands the sender's local part), so
-- a row stored from here on keeps them, as the receipt's personal fields (0016) are kept, under
-- a data key of its own wrapped for the tenant's key pair: `sealed` is
--   nonce || AES-256-GCM(str(results) || str(dns_archive)) || tag
-- with associated data "email-notary/sender-evidence\n" || str(tenant) || str(receipt id),
-- and `results` and `dns_archive` stay empty. The record still carries both digests; since
-- the database cannot check them against ciphertext, every reader checks them once opened.
-- Rows stored before keep both in the clear, bound by the check as before.
--
-- The row goes with its receipt's erasure as before (0013), and its data key with it.
ALTER TABLE authentications
  ADD COLUMN kek_id      text,
  ADD COLUMN wrapped_key bytea,
  ADD COLUMN sealed      bytea;

ALTER TABLE authentications DROP CONSTRAINT authentications_record_binds_row;
ALTER TABLE authentications ADD CONSTRAINT authentications_record_binds_row CHECK (
  length(record) = 172 + get_byte(record, 35)
  AND substring(record from 33 for 3) = '\x000000'::bytea
  AND convert_from(substring(record from 37 for get_byte(record, 35)), 'UTF8') = receipt_id::text
  AND CASE WHEN sealed IS NULL THEN
        kek_id IS NULL AND wrapped_key IS NULL
        AND substring(record from 77 + get_byte(record, 35) for 32) = sha256(results)
        AND substring(record from 109 + get_byte(record, 35) for 32) = sha256(dns_archive)
      ELSE
        kek_id IS NOT NULL AND wrapped_key IS NOT NULL AND length(wrapped_key) = 92
        AND length(sealed) >= 12 + 8 + 16
        AND results = ''::bytea AND dns_archive = ''::bytea
      END);

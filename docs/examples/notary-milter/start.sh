notaryctl apikey create --tenant default --scope ingest,relay --label mta1 | tail -1 \
  > /etc/notary-milter/key && chmod 600 /etc/notary-milter/key

notary-milter --listen unix:/var/spool/postfix/notary-milter/milter.sock \
  --notary-url https://notary.example.com \
  --api-key-file /etc/notary-milter/key --mode fail-closed --add-header \
  --status-listen 127.0.0.1:8892

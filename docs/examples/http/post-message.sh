curl -sS https://notary.example.com/v1/messages \
  -H "Authorization: Bearer $NOTARY_INGEST_KEY" \
  -H "Content-Type: message/rfc822" \
  -H "X-Envelope-From: alice@example.org" \
  -H "X-Envelope-To: bob@example.net, carol@example.net" \
  -H 'X-Envelope-To: <"doe, jane"@example.net>' \
  --data-binary @message.eml

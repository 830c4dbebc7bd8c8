#!/bin/sh
# PostgreSQL container first start: the schema owner (runs migrations) and the application
# role notaryd uses (no UPDATE/DELETE on evidence tables; see migrations/0001_init.sql).
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE notary_owner LOGIN PASSWORD '${NOTARY_OWNER_PASSWORD}';
CREATE ROLE notary_app LOGIN PASSWORD '${NOTARY_APP_PASSWORD}';
CREATE DATABASE notary OWNER notary_owner;
SQL

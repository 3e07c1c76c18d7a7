#!/bin/sh
# compose.yaml: runs once, when the primary's data folder is first created (docker-entrypoint-initdb.d).
set -e
# The `scale` profile's replica streams from here (pg_basebackup -R).
echo "host replication $POSTGRES_USER all scram-sha-256" >> "$PGDATA/pg_hba.conf"
# Behind PgBouncer in transaction mode BookFast cannot send its timeouts per connection: they are the role's
# defaults (BookFast checks at start-up that none is off).
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
ALTER ROLE "$POSTGRES_USER" SET statement_timeout = '15s';
ALTER ROLE "$POSTGRES_USER" SET lock_timeout = '10s';
ALTER ROLE "$POSTGRES_USER" SET idle_in_transaction_session_timeout = '30s';
SQL

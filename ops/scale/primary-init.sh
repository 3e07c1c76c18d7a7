#!/bin/sh
# compose.yaml: runs once, when the primary's data folder is first created (docker-entrypoint-initdb.d).
set -e
# The `scale` profile's replica streams from here (pg_basebackup -R).
echo "host replication $POSTGRES_USER all scram-sha-256" >> "$PGDATA/pg_hba.conf"
# The role's timeouts, which PgBouncer in transaction mode needs, are set by the API replicas themselves at
# start-up through DATABASE_DIRECT_URL (src/db/role-timeouts.ts).

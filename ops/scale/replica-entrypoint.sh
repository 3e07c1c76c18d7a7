#!/bin/sh
# compose.yaml `scale` profile: a streaming replica of `db`. The first start copies the primary with
# pg_basebackup -R (which writes standby.signal and primary_conninfo); later starts just run it.
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h db -U "$POSTGRES_USER"; do sleep 1; done
  PGPASSWORD="$POSTGRES_PASSWORD" pg_basebackup -h db -U "$POSTGRES_USER" -D "$PGDATA" -R -X stream
  chown -R postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
fi
# primary_conninfo (written by -R) carries the password; the environment is a second source for the WAL receiver.
export PGPASSWORD="$POSTGRES_PASSWORD"
exec gosu postgres postgres -c hot_standby=on

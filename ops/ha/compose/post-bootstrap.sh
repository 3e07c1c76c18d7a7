#!/bin/sh
# Patroni's post_bootstrap: $1 is a connection string to the new primary. The application's role, with the
# timeouts BookFast sets itself on a direct connection, and its database.
set -e
psql -v ON_ERROR_STOP=1 "$1" <<SQL
CREATE ROLE bookfast LOGIN PASSWORD '${BOOKFAST_DB_PASSWORD:-bookfast}';
CREATE DATABASE bookfast OWNER bookfast;
SQL

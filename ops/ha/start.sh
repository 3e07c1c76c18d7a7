#!/usr/bin/env bash
# Starts BookFast's failover topology on one machine, loopback only: etcd, three PostgreSQL 15 nodes under
# Patroni (synchronous replication, fast-failover timings) and HAProxy with a write port (the primary) and
# a read port (the replicas). For tests, CI and anyone trying failover on a laptop; production runs the same
# settings on three machines (docs/operations/failover.md).
#
#   ops/ha/start.sh [DIR]      DIR: a throwaway folder for data, configs, logs and pids (default: a new one)
#   ops/ha/stop.sh DIR         stops everything cleanly
#
# Environment: HA_PORT_BASE (default 25400): etcd +0/+1, HAProxy write +2, read +3, stats +4,
# node i (1-3) PostgreSQL +10+i and Patroni REST API +20+i. Prints `DIR=...` and the URLs when the primary
# answers through the write port. Needs patroni, etcd-server, haproxy and PostgreSQL 15 (apt).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${1:-$(mktemp -d /tmp/bookfast-ha-XXXXXX)}"
BASE="${HA_PORT_BASE:-25400}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

# PostgreSQL and Patroni refuse to run as root: as root, every process runs as postgres, which owns DIR
# (setpriv execs, so a pid file holds the process's own pid; this script may sit where postgres cannot read).
AS_PG=()
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$DIR"
  AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups env HOME="$DIR")
fi

for tool in patroni etcd haproxy "$PG_BIN/postgres"; do
  command -v "$tool" >/dev/null || { echo "start.sh: $tool is missing (apt-get install patroni etcd-server haproxy postgresql-15)" >&2; exit 2; }
done
cd "$DIR"
ETCD=$((BASE)) WRITE=$((BASE + 2)) READ=$((BASE + 3)) STATS=$((BASE + 4))

# etcd 3.4, one member: Patroni's etcd3 client talks to its v3 API (the v2 one is off by default in 3.4).
setsid "${AS_PG[@]}" etcd --name ha --data-dir "$DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD" --advertise-client-urls "http://127.0.0.1:$ETCD" \
  --listen-peer-urls "http://127.0.0.1:$((BASE + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((BASE + 1))" \
  --initial-cluster "ha=http://127.0.0.1:$((BASE + 1))" --log-level warn >"$DIR/etcd.log" 2>&1 </dev/null &
echo $! >"$DIR/etcd.pid"
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$ETCD/health" >/dev/null 2>&1 && break
  sleep 0.2
done

for i in 1 2 3; do
  sed -e "s|@NAME@|node$i|g" -e "s|@DIR@|$DIR|g" -e "s|@PG_BIN@|$PG_BIN|g" -e "s|@ETCD@|$ETCD|g" \
    -e "s|@PG_PORT@|$((BASE + 10 + i))|g" -e "s|@API_PORT@|$((BASE + 20 + i))|g" \
    "$HERE/patroni.yml.in" >"$DIR/node$i.yml"
  chmod 600 "$DIR/node$i.yml"
  [ ${#AS_PG[@]} = 0 ] || chown postgres: "$DIR/node$i.yml"
done
# node1 first, so that it bootstraps the cluster (initdb); the others then clone it with pg_basebackup.
"$HERE/node.sh" "$DIR" 1
for _ in $(seq 150); do
  curl -fsS "http://127.0.0.1:$((BASE + 21))/primary" >/dev/null 2>&1 && break
  sleep 0.2
done
"$HERE/node.sh" "$DIR" 2
"$HERE/node.sh" "$DIR" 3

# HAProxy asks each node's Patroni which role it has: the write port goes to the one answering /primary,
# the read port to those answering /replica. A node marked down has its sessions cut at once.
{
  cat <<CFG
global
  maxconn 2000
defaults
  mode tcp
  timeout connect 1s
  timeout client 30m
  timeout server 30m
  timeout check 1s
  default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
listen stats
  mode http
  bind 127.0.0.1:$STATS
  stats enable
  stats uri /
CFG
  for role in write read; do
    if [ $role = write ]; then port=$WRITE check=/primary; else port=$READ check=/replica; fi
    printf 'listen %s\n  bind 127.0.0.1:%s\n  balance roundrobin\n  option httpchk OPTIONS %s\n  http-check expect status 200\n' \
      "$role" "$port" "$check"
    for i in 1 2 3; do
      printf '  server node%s 127.0.0.1:%s check port %s\n' "$i" $((BASE + 10 + i)) $((BASE + 20 + i))
    done
  done
} >"$DIR/haproxy.cfg"
setsid "${AS_PG[@]}" haproxy -db -f "$DIR/haproxy.cfg" >"$DIR/haproxy.log" 2>&1 </dev/null &
echo $! >"$DIR/haproxy.pid"

# Ready: the primary takes writes through the write port, and a synchronous standby is chosen.
for _ in $(seq 300); do
  if "$PG_BIN/psql" -w -h 127.0.0.1 -p "$WRITE" -U postgres -d postgres -Atqc 'SELECT NOT pg_is_in_recovery()' 2>/dev/null | grep -q t &&
    curl -fsS "http://127.0.0.1:$((BASE + 21))/cluster" 2>/dev/null | grep -q sync_standby; then
    echo "DIR=$DIR"
    echo "WRITE_URL=postgres://postgres@127.0.0.1:$WRITE/postgres"
    echo "READ_URL=postgres://postgres@127.0.0.1:$READ/postgres"
    echo "PATRONI_API=http://127.0.0.1:$((BASE + 21))"
    exit 0
  fi
  sleep 0.2
done
echo "start.sh: the cluster did not come up within 60 s; logs in $DIR" >&2
tail -n 20 "$DIR"/node*.log >&2 || true
exit 1

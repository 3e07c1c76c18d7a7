#!/usr/bin/env bash
# Stops what ops/ha/start.sh started in DIR, cleanly: each Patroni (which stops its PostgreSQL with a fast
# shutdown), then HAProxy, then etcd; whatever is still running after 30 s is killed. --remove: delete DIR.
#
#   ops/ha/stop.sh DIR [--remove]
set -uo pipefail
DIR="${1:?usage: ops/ha/stop.sh DIR [--remove]}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
[ -d "$DIR" ] || { echo "stop.sh: no such folder $DIR" >&2; exit 1; }

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "$DIR/$1.pid" 2>/dev/null || true; }

stop_and_wait() {
  local pids=() pid
  for name in "$@"; do
    pid="$(pid_of "$name")"
    if alive "$pid"; then kill -TERM "$pid" && pids+=("$pid"); fi
  done
  for _ in $(seq 150); do
    local left=0
    for pid in "${pids[@]}"; do alive "$pid" && left=1; done
    [ $left = 0 ] && return 0
    sleep 0.2
  done
  for pid in "${pids[@]}"; do alive "$pid" && kill -KILL "$pid"; done
  return 0
}

stop_and_wait node1 node2 node3
# A PostgreSQL whose Patroni was killed (the failover test does that) is stopped here, by its data folder.
for i in 1 2 3; do
  if [ -f "$DIR/node$i/postmaster.pid" ]; then
    postmaster="$(head -n 1 "$DIR/node$i/postmaster.pid")"
    if alive "$postmaster"; then
      if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/node$i" -m fast -w stop >/dev/null
      else "$PG_BIN/pg_ctl" -D "$DIR/node$i" -m fast -w stop >/dev/null; fi
    fi
  fi
done
stop_and_wait haproxy etcd
if [ "${2:-}" = --remove ]; then rm -rf "$DIR"; fi
echo "stopped $DIR"

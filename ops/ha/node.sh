#!/usr/bin/env bash
# (Re)starts one Patroni node of a cluster made by ops/ha/start.sh: `ops/ha/node.sh DIR 2`. Patroni starts
# its PostgreSQL; a node that was the primary comes back as a replica (pg_rewind when it must).
set -euo pipefail
DIR="${1:?usage: ops/ha/node.sh DIR N}"
N="${2:?usage: ops/ha/node.sh DIR N}"
# From DIR: postgres may be unable to read the folder this was started from.
cd "$DIR" && DIR="$PWD"
if [ -f "node$N.pid" ] && kill -0 "$(cat "node$N.pid")" 2>/dev/null; then
  echo "node.sh: node$N is already running (pid $(cat "node$N.pid"))" >&2
  exit 1
fi
AS_PG=()
# As root, as postgres (PostgreSQL refuses root); setpriv execs, so $! is Patroni's own pid.
if [ "$(id -u)" = 0 ]; then AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups env HOME="$DIR"); fi
# setsid: the node outlives the shell that started it, and a signal to that shell's group never reaches it.
setsid "${AS_PG[@]}" patroni "$DIR/node$N.yml" >>"$DIR/node$N.log" 2>&1 </dev/null &
echo $! >"$DIR/node$N.pid"

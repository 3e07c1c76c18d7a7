#!/usr/bin/env bash
# (Re)starts one Patroni node of a cluster made by ops/ha/start.sh: `ops/ha/node.sh DIR 2`. Patroni starts
# its PostgreSQL; a node that was the primary comes back as a replica (pg_rewind when it must).
set -euo pipefail
DIR="${1:?usage: ops/ha/node.sh DIR N}"
N="${2:?usage: ops/ha/node.sh DIR N}"
AS_PG=()
# As root, as postgres (PostgreSQL refuses root); setpriv execs, so $! is Patroni's own pid.
if [ "$(id -u)" = 0 ]; then AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups env HOME="$DIR"); fi
# setsid: the node outlives the shell that started it, and a signal to that shell's group never reaches it.
setsid "${AS_PG[@]}" patroni "$DIR/node$N.yml" >>"$DIR/node$N.log" 2>&1 </dev/null &
echo $! >"$DIR/node$N.pid"

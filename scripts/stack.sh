#!/usr/bin/env bash
# `npm run stack`: the whole system on this machine. Installs what is missing (npm packages; Redis,
# PostgreSQL and Kafka through scripts/infra.sh), starts the infrastructure, applies the migrations,
# then runs the gateway, two shards (they share the events by lease) and the persister in the foreground (logs in .cache/logs/) until
# Ctrl-C. The infrastructure keeps running afterwards; `npm run infra -- down` stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

bash scripts/ensure-deps.sh
bash scripts/infra.sh up
npx tsx scripts/migrate.ts
# The processes run their bundles on plain node (dist/*.mjs; scripts/build.ts says why), each with a heap
# limit sized for it, not for the machine (docs/operations.md, "Memory").
npx tsx scripts/build.ts

PORT=${PORT:-8080}
SHARD_PORT=${SHARD_PORT:-9101}
SHARD2_PORT=${SHARD2_PORT:-9103}
PERSISTER_PORT=${PERSISTER_PORT:-9102}
export PORT SHARD_PORT PERSISTER_PORT
LOGS="$ROOT/.cache/logs"
mkdir -p "$LOGS"

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "[stack] stopping gateway, shards and persister"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  exit 0
}
trap stop INT TERM EXIT

# The gateway's old generation may grow 2x between collections, not V8's ~1.4x under this limit
# (docs/operations.md, "Memory").
for proc in persister shards gateway; do
  flags=(--enable-source-maps --max-old-space-size=512)
  if [ "$proc" = gateway ]; then flags+=(--heap-growing-percent=100); fi
  node "${flags[@]}" "dist/$proc.mjs" >> "$LOGS/$proc.log" 2>&1 &
  pids+=($!)
done
SHARD_PORT=$SHARD2_PORT node --enable-source-maps --max-old-space-size=512 dist/shards.mjs >> "$LOGS/shards-2.log" 2>&1 &
pids+=($!)

ready() { curl -fs -o /dev/null "http://127.0.0.1:$1/ready"; }
deadline=$((SECONDS + 90))
until ready "$PORT" && ready "$SHARD_PORT" && ready "$SHARD2_PORT" && ready "$PERSISTER_PORT"; do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "[stack] a process exited; see $LOGS" >&2; tail -n 20 "$LOGS"/*.log >&2; exit 1; }
  done
  [ $SECONDS -ge $deadline ] && { echo "[stack] not ready after 90 s; see $LOGS" >&2; exit 1; }
  sleep 0.5
done

cat <<EOF
[stack] up:
  gateway     http://127.0.0.1:$PORT        (/health, /ready, /events, /reserve, /reservations/{id})
  swagger     http://127.0.0.1:$PORT/swagger/index.html  (the OpenAPI document: /openapi.json)
  bull board  http://127.0.0.1:$PORT/admin/login  (sign in with an admin token, then /admin/queues)
  metrics     http://127.0.0.1:$PORT/metrics, http://127.0.0.1:$SHARD_PORT/metrics, http://127.0.0.1:$SHARD2_PORT/metrics, http://127.0.0.1:$PERSISTER_PORT/metrics
  shards      http://127.0.0.1:$SHARD_PORT/ready and http://127.0.0.1:$SHARD2_PORT/ready
  persister   http://127.0.0.1:$PERSISTER_PORT/ready
  logs        $LOGS/{gateway,shards,shards-2,persister}.log
tokens (signed with JWT_SECRET, the development default when unset):
  ADMIN=\$(npm run -s token -- --role=admin --sub=admin-1)
  USER=\$(npm run -s token -- --role=user --sub=user-1)
the README has a curl walk-through. Ctrl-C stops these processes; 'npm run infra -- down' stops the servers.
EOF
wait -n "${pids[@]}" || true
echo "[stack] a process exited; see $LOGS" >&2
exit 1

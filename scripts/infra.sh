#!/usr/bin/env bash
# Local infrastructure on real servers: Redis (Debian's redis-server, AOF, noeviction), PostgreSQL
# (Debian's postgresql, a cluster of our own in .cache/infra/pg) and Apache Kafka 4.x in KRaft mode
# (jars from Maven Central via scripts/kafka/pom.xml).
#
#   bash scripts/infra.sh up|down|status [redis|postgres|kafka ...]   (npm run infra -- up)
#
# Addresses come from REDIS_URL, DATABASE_URL and KAFKA_BROKERS (loopback defaults below). A server
# already listening on a configured address is reused as it is; `down` stops only what `up` started
# (it leaves a marker file per service in the state folder).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${INFRA_STATE_DIR:-$ROOT/.cache/infra}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
DATABASE_URL=${DATABASE_URL:-postgres://warticket:warticket@127.0.0.1:5432/warticket}
KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}

say() { printf '[infra] %s\n' "$*"; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

# --- address parsing (only what the scripts need: host, port, user, password, database) -------------
url_hostport() { # redis://[user:pass@]host:port[/db] -> host port
  local rest=${1#*://}; rest=${rest##*@}; rest=${rest%%/*}
  local host=${rest%:*} port=${rest##*:}
  [ "$host" = "$rest" ] && port=$2
  printf '%s %s\n' "$host" "$port"
}
read -r REDIS_HOST REDIS_PORT < <(url_hostport "$REDIS_URL" 6379)
read -r PG_HOST PG_PORT < <(url_hostport "$DATABASE_URL" 5432)
pg_auth=${DATABASE_URL#*://}; pg_auth=${pg_auth%%@*}
PG_USER=${pg_auth%%:*}; PG_PASSWORD=${pg_auth#*:}
PG_DB=${DATABASE_URL##*/}; PG_DB=${PG_DB%%\?*}
first_broker=${KAFKA_BROKERS%%,*}
KAFKA_HOST=${first_broker%:*}; KAFKA_PORT=${first_broker##*:}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}

is_listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
is_local() { case "$1" in 127.*|localhost|::1) return 0 ;; *) return 1 ;; esac; }

wait_for() { # description seconds command...
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.3
  done
  say "$what is up"
}

need_root_or() { # package hint
  [ "$(id -u)" -eq 0 ] || die "$1 is not installed. Install it (e.g. 'sudo apt-get install -y $1') and run again."
}

apt_updated=""
apt_install() {
  need_root_or "$1"
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    apt-get update -q >/dev/null || die "apt-get update failed: install $* by hand"
    apt_updated=1
  fi
  say "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null || die "apt-get install $* failed"
}

# --- Redis -----------------------------------------------------------------------------------------
redis_up() {
  if is_listening "$REDIS_HOST" "$REDIS_PORT"; then
    say "redis: reusing the server on $REDIS_HOST:$REDIS_PORT"; return
  fi
  is_local "$REDIS_HOST" || die "redis: nothing answers on $REDIS_HOST:$REDIS_PORT and it is not a local address"
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$STATE/redis"
  # appendfsync everysec: an admitted request (202) survives a Redis crash losing at most ~1 s; AOF
  # rewrites only once the file passes 1 GB, not every 64 MB (a sale writes ~2 KB of AOF per reserve);
  # see docs/operations.md.
  redis-server --bind "$REDIS_HOST" --port "$REDIS_PORT" --dir "$STATE/redis" \
    --appendonly yes --appendfsync everysec --auto-aof-rewrite-min-size 1gb --maxmemory-policy noeviction \
    --save "" --daemonize yes --pidfile "$STATE/redis/redis.pid" --logfile "$STATE/redis/redis.log"
  wait_for "redis on $REDIS_HOST:$REDIS_PORT" 20 is_listening "$REDIS_HOST" "$REDIS_PORT" \
    || die "redis did not start; see $STATE/redis/redis.log"
  touch "$STATE/redis/started-by-infra"
}
redis_down() {
  [ -f "$STATE/redis/started-by-infra" ] || { say "redis: not started by infra, left alone"; return; }
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
  rm -f "$STATE/redis/started-by-infra"; say "redis stopped"
}

# --- PostgreSQL ------------------------------------------------------------------------------------
pg_bin() {
  local d; d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && printf '%s\n' "$d"
}
as_pg() { # run a PostgreSQL tool as the postgres OS user when we are root (initdb refuses root)
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_up() {
  if is_listening "$PG_HOST" "$PG_PORT"; then
    say "postgres: reusing the server on $PG_HOST:$PG_PORT"; return
  fi
  is_local "$PG_HOST" || die "postgres: nothing answers on $PG_HOST:$PG_PORT and it is not a local address"
  local bin; bin=$(pg_bin) || { apt_install postgresql; bin=$(pg_bin) || die "postgresql installed but initdb not found"; }
  local data="$STATE/pg/data" sock="$STATE/pg/run"
  mkdir -p "$STATE/pg" "$sock"
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$STATE/pg"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "postgres: initdb in $data"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >/dev/null
  fi
  as_pg "$bin/pg_ctl" -D "$data" -l "$STATE/pg/postgres.log" -w -t 60 \
    -o "-c listen_addresses=$PG_HOST -c port=$PG_PORT -c unix_socket_directories=$sock -c max_connections=200 -c fsync=on" start >/dev/null \
    || die "postgres did not start; see $STATE/pg/postgres.log"
  touch "$STATE/pg/started-by-infra"
  # The role and database of DATABASE_URL, created once (local socket, trust for the postgres superuser).
  local psql=("$bin/psql" -h "$sock" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$(as_pg "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != 1 ]; then
    as_pg "${psql[@]}" -c "CREATE ROLE \"$PG_USER\" LOGIN PASSWORD '$PG_PASSWORD' CREATEDB" >/dev/null
  fi
  if [ "$(as_pg "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
    as_pg "${psql[@]}" -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\"" >/dev/null
  fi
  say "postgres is up on $PG_HOST:$PG_PORT (database $PG_DB, role $PG_USER)"
}
pg_down() {
  [ -f "$STATE/pg/started-by-infra" ] || { say "postgres: not started by infra, left alone"; return; }
  local bin; bin=$(pg_bin)
  as_pg "$bin/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null || true
  rm -f "$STATE/pg/started-by-infra"; say "postgres stopped"
}

# --- Kafka (KRaft, one node acting as broker and controller) --------------------------------------
kafka_libs() {
  local libs="$ROOT/.cache/kafka/libs" stamp="$ROOT/.cache/kafka/pom.sha"
  local want; want=$(sha256sum "$ROOT/scripts/kafka/pom.xml" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && ls "$libs"/kafka_2.13-*.jar >/dev/null 2>&1; then return; fi
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  say "kafka: fetching the broker's jars from Maven Central (mvn dependency:copy-dependencies)"
  rm -rf "$libs"; mkdir -p "$libs"
  mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" \
    || die "kafka: Maven could not fetch org.apache.kafka:kafka_2.13 (is Maven Central reachable?)"
  printf '%s\n' "$want" > "$stamp"
}
kafka_ready() { grep -q 'Kafka Server started' "$STATE/kafka/server.log" 2>/dev/null && is_listening "$KAFKA_HOST" "$KAFKA_PORT"; }
kafka_up() {
  if is_listening "$KAFKA_HOST" "$KAFKA_PORT"; then
    say "kafka: reusing the broker on $KAFKA_HOST:$KAFKA_PORT"; return
  fi
  is_local "$KAFKA_HOST" || die "kafka: nothing answers on $KAFKA_HOST:$KAFKA_PORT and it is not a local address"
  kafka_libs
  local dir="$STATE/kafka" cp="$ROOT/.cache/kafka/libs/*"
  mkdir -p "$dir/data"
  cat > "$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
  local java=(java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$ROOT/scripts/kafka/log4j2.xml" -Dkafka.logs.file="$dir/server.log" -cp "$cp")
  if [ ! -f "$dir/data/meta.properties" ]; then
    local id; id=$("${java[@]}" kafka.tools.StorageTool random-uuid)
    say "kafka: formatting storage (cluster id $id)"
    "${java[@]}" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" -g >/dev/null
  fi
  : > "$dir/server.log"
  nohup "${java[@]}" kafka.Kafka "$dir/server.properties" > "$dir/stdout.log" 2>&1 &
  echo $! > "$dir/kafka.pid"
  touch "$dir/started-by-infra"
  wait_for "kafka on $KAFKA_HOST:$KAFKA_PORT" 120 kafka_ready \
    || die "kafka did not start within 120 s; see $dir/server.log and $dir/stdout.log"
}
kafka_down() {
  local dir="$STATE/kafka"
  [ -f "$dir/started-by-infra" ] || { say "kafka: not started by infra, left alone"; return; }
  local pid; pid=$(cat "$dir/kafka.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.3; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/started-by-infra" "$dir/kafka.pid"; say "kafka stopped"
}

status_line() { # name host port marker
  local up=down by=""
  is_listening "$2" "$3" && up=listening
  [ -f "$4" ] && by=" (started by infra)"
  printf '%-9s %s:%s %s%s\n' "$1" "$2" "$3" "$up" "$by"
}

# Services to act on: all by default, or those named after the command (redis, postgres, kafka).
command=${1:-}; shift || true
services=("$@"); [ ${#services[@]} -eq 0 ] && services=(redis postgres kafka)
wants() { local s; for s in "${services[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
for s in "${services[@]}"; do case "$s" in redis|postgres|kafka) ;; *) die "unknown service '$s' (redis, postgres, kafka)" ;; esac; done

case "$command" in
  up) wants redis && redis_up; wants postgres && pg_up; wants kafka && kafka_up
      say "ready: REDIS_URL=$REDIS_URL DATABASE_URL=$DATABASE_URL KAFKA_BROKERS=$KAFKA_BROKERS" ;;
  down) wants kafka && kafka_down; wants postgres && pg_down; wants redis && redis_down; true ;;
  status)
    status_line redis "$REDIS_HOST" "$REDIS_PORT" "$STATE/redis/started-by-infra"
    status_line postgres "$PG_HOST" "$PG_PORT" "$STATE/pg/started-by-infra"
    status_line kafka "$KAFKA_HOST" "$KAFKA_PORT" "$STATE/kafka/started-by-infra" ;;
  *) echo "usage: $0 up|down|status [redis|postgres|kafka ...]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# `npm test`: everything the tests need, then every test. On a fresh machine it installs the npm
# packages (and Debian's chromium, prometheus and docker-compose for some tests), starts Redis,
# PostgreSQL and Kafka (scripts/infra.sh, installing what is missing), applies
# the migrations, type-checks, and runs mocha (unit and integration tests against the real servers).
# With CI set, it stops at the end the servers it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Tests use a database of their own on the same server, so they never touch the stack's data.
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://warticket:warticket@127.0.0.1:5432/warticket_test}

bash scripts/ensure-deps.sh
# Debian packages some tests drive: Chromium for the browser tests (playwright-core, never a downloaded
# browser), promtool (package prometheus) for the Prometheus config and alert rules, docker-compose to
# validate docker-compose.yml (there is no Docker engine here; `config` needs none).
missing=()
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v promtool >/dev/null || missing+=(prometheus)
command -v docker-compose >/dev/null || missing+=(docker-compose)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "[test] installing ${missing[*]} with apt-get"
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[test] missing Debian packages: ${missing[*]} (sudo apt-get install -y ${missing[*]}; or set CHROMIUM_PATH)" >&2
    exit 1
  fi
fi
bash scripts/infra.sh up
if [ -n "${CI:-}" ]; then trap 'bash scripts/infra.sh down' EXIT; fi
npx tsx scripts/migrate.ts
echo "[test] typecheck"
npx tsc -p tsconfig.json --noEmit

out=$(mktemp)
status=0
npx mocha "$@" 2>&1 | tee "$out" || status=$?
passed=$(grep -Eo '^ +[0-9]+ passing' "$out" | grep -Eo '[0-9]+' || echo 0)
failed=$(grep -Eo '^ +[0-9]+ failing' "$out" | grep -Eo '[0-9]+' || echo 0)
pending=$(grep -Eo '^ +[0-9]+ pending' "$out" | grep -Eo '[0-9]+' || echo 0)
rm -f "$out"
echo "mocha: ${passed} passed, ${failed} failed, ${pending} skipped"
exit "$status"

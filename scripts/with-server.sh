#!/usr/bin/env bash
# Usage: scripts/with-server.sh BIN -- COMMAND...
# Starts `BIN serve` on a free loopback port against a fresh database on the
# server DATABASE_URL points at, waits until it is ready, runs COMMAND with
# SAAS_TEST_URL set to the server's base URL, then stops the server (SIGTERM)
# and drops the database. COMMAND's exit status is the script's.
#
# The fresh database means the server bootstraps the platform tenant's first
# administrator: its email is SAAS_TEST_ADMIN_EMAIL when the caller sets it
# (default admin@platform.localhost), its password a new random one each run.
# COMMAND gets both as SAAS_TEST_ADMIN_EMAIL and SAAS_TEST_ADMIN_PASSWORD to sign
# in with (POST /iam/v1/auth/login). SAAS_PUBLIC_URL is the server's base URL, so
# token issuers and discovery URLs name the address the tests reach.
#
# COMMAND also gets SAAS_TEST_PID (the server's process id, to read its memory
# in /proc) and SAAS_TEST_DATABASE_URL (the fresh database). The server runs
# with SAAS_RSA_POOL_SIZE=0 and SAAS_LOG_LEVEL=warn unless the caller sets
# them. With SAAS_TEST_PPROF=1 the server also serves net/http/pprof on another
# free loopback port (SAAS_PPROF_ADDR), whose base URL COMMAND gets as
# SAAS_TEST_PPROF_URL.
set -euo pipefail

bin=$1; shift
[ "${1:-}" = "--" ] && shift
: "${DATABASE_URL:?DATABASE_URL must point at a PostgreSQL server}"

# A fresh database name on the same server: replace the URL's path.
db="saas_it_$$_$RANDOM"
base=${DATABASE_URL%%\?*}
query=""
[[ "$DATABASE_URL" == *\?* ]] && query="?${DATABASE_URL#*\?}"
server=${base%/*}
test_url="$server/$db$query"
maint_url="$server/postgres$query"

free_port() { # a loopback port nothing answers on, other than $1
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 20000))
    [ "$candidate" = "${1:-}" ] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then echo "$candidate"; return; fi
  done
  echo "with-server: no free port found" >&2
  return 1
}
port=$(free_port)
base_url="http://127.0.0.1:$port"
pprof_addr="" pprof_url=""
if [ "${SAAS_TEST_PPROF:-}" = 1 ]; then
  pprof_addr="127.0.0.1:$(free_port "$port")"
  pprof_url="http://$pprof_addr"
fi
admin_email=${SAAS_TEST_ADMIN_EMAIL:-admin@platform.localhost}
# 192 random bits as 32 URL-safe base64 characters: strong, and nothing a shell or JSON escapes.
admin_password=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')

log=$(mktemp)
DATABASE_URL="$test_url" SAAS_ADDR="127.0.0.1:$port" SAAS_PUBLIC_URL="$base_url" \
  SAAS_RSA_POOL_SIZE="${SAAS_RSA_POOL_SIZE:-0}" SAAS_PPROF_ADDR="$pprof_addr" \
  SAAS_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" SAAS_LOG_LEVEL="${SAAS_LOG_LEVEL:-warn}" \
  SAAS_BOOTSTRAP_ADMIN_EMAIL="$admin_email" SAAS_BOOTSTRAP_ADMIN_PASSWORD="$admin_password" \
  "$bin" serve >"$log" 2>&1 &
pid=$!

cleanup() {
  kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  psql -q "$maint_url" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -f "$log"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  if curl -fsS "$base_url/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "with-server: the server exited:" >&2; cat "$log" >&2; exit 1; fi
  sleep 0.1
done
curl -fsS "$base_url/readyz" >/dev/null || { echo "with-server: the server never became ready:" >&2; cat "$log" >&2; exit 1; }

SAAS_TEST_URL="$base_url" SAAS_TEST_ADMIN_EMAIL="$admin_email" SAAS_TEST_ADMIN_PASSWORD="$admin_password" \
  SAAS_TEST_PID="$pid" SAAS_TEST_DATABASE_URL="$test_url" SAAS_TEST_PPROF_URL="$pprof_url" "$@"

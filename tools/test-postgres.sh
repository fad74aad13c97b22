#!/usr/bin/env bash
# A PostgreSQL for the sweep tests: installed if missing (Debian), its cluster started, a test role and
# database created. Prints the URL the tests use; says why and exits 0 (the tests then skip) without root.
set -euo pipefail
exec 3>&1 1>&2  # only the URL goes to stdout (fd 3): pg_ctlcluster and psql chatter goes to stderr
ROLE=mnistlab DB=mnistlab_test PASSWORD=mnistlab PORT=5432
URL="postgresql+psycopg2://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n";
else echo "test-postgres: not root and no sudo: start a PostgreSQL and set MNISTLAB_TEST_POSTGRES=$URL" >&2; exit 0; fi
if ! command -v pg_lsclusters >/dev/null; then
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
read -r VERSION CLUSTER _ <<<"$(pg_lsclusters --no-header | head -1)"
if [ -z "${VERSION:-}" ]; then
  VERSION=$(ls /usr/lib/postgresql | sort -V | tail -1); CLUSTER=main
  $SUDO pg_createcluster "$VERSION" "$CLUSTER" >/dev/null
fi
pg_lsclusters --no-header | grep -q "^$VERSION *$CLUSTER .* online" || $SUDO pg_ctlcluster "$VERSION" "$CLUSTER" start 3>&-  # the server must not hold the URL pipe open
psql_as_postgres() { $SUDO su postgres -c "psql -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
for _ in $(seq 30); do psql_as_postgres "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
[ "$(psql_as_postgres "SELECT 1 FROM pg_roles WHERE rolname='$ROLE'")" = 1 ] ||
  psql_as_postgres "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
[ "$(psql_as_postgres "SELECT 1 FROM pg_database WHERE datname='$DB'")" = 1 ] ||
  psql_as_postgres "CREATE DATABASE $DB OWNER $ROLE"
echo "$URL" >&3

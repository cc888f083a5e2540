#!/usr/bin/env bash
# Makes the PostgreSQL server the tests use (TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres)
# answer when there is one: on machines that ship a Debian cluster but have it stopped, starts it. Without
# one the tests start an embedded PostgreSQL themselves (test/setup/postgres.ts).
set -euo pipefail
url="${TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if command -v pg_isready >/dev/null 2>&1 && pg_isready -d "$url" -t 3 >/dev/null 2>&1; then
  echo "PostgreSQL is up at ${url%%\?*}"
  exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do
    if pg_isready -d "$url" -t 1 >/dev/null 2>&1; then echo "started PostgreSQL"; exit 0; fi
    sleep 1
  done
fi
if [ -n "${TEST_PG_URL:-}" ]; then
  echo "no PostgreSQL answers at TEST_PG_URL=$url: start it, or unset TEST_PG_URL to let the tests start their own" >&2
  exit 1
fi
echo "no PostgreSQL on 127.0.0.1:5432: the tests will start an embedded one"

#!/usr/bin/env bash
# Makes sure the PostgreSQL server the tests use (TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres)
# answers. On machines that ship a Debian cluster but have it stopped, starts it.
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
echo "no PostgreSQL answers at $url: start one, or set TEST_PG_URL to a server the tests may create databases on" >&2
exit 1

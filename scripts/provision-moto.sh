#!/usr/bin/env bash
# Finds or installs moto's S3-compatible server (PyPI moto[server]) for the S3 integration tests, and prints
# the path of `moto_server`. Installs into the project's .tools/venv, next to the Temporal CLI.
set -euo pipefail
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${SPARKIFY_TOOLS_DIR:-$root/.tools}"
bin="$tools/venv/bin/moto_server"
if [ -n "${MOTO_SERVER_PATH:-}" ] && [ -x "$MOTO_SERVER_PATH" ]; then echo "$MOTO_SERVER_PATH"; exit 0; fi
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
if [ ! -x "$tools/venv/bin/pip" ]; then
  mkdir -p "$tools"
  python3 -m venv "$tools/venv" >&2
fi
echo "installing moto[server]==$MOTO_VERSION into $tools/venv (S3-compatible server for tests) ..." >&2
"$tools/venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
echo "$bin"

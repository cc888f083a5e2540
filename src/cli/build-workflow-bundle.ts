import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { main } from './args';

/**
 * Bundles the workflow code once (dist/workflow-bundle.js), so a worker does not run webpack at start-up:
 * it starts faster and its peak memory is lower. The worker uses the bundle when WORKFLOW_BUNDLE points at
 * it; the Docker image builds it.
 */
main('usage: npm run build:workflows [-- OUT]', async () => {
  const out = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'dist', 'workflow-bundle.js'));
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows') });
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, code);
  console.log(`workflow bundle: ${out} (${Math.round(code.length / 1024)} KiB)`);
});

#!/usr/bin/env node
// The `ocm-knative` command. The runner is TypeScript; tsx loads it without a build step, so
// `npx ocm-knative run ...` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  // Anything that reaches here is a bug or an environment problem, not bad input: say what, not a stack dump.
  process.stderr.write(`ocm-knative: ${err instanceof Error ? err.message : String(err)}\n`);
  if (process.env.OCM_KNATIVE_DEBUG) console.error(err);
  process.exitCode = 1;
}

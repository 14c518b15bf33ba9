/**
 * vitest globalSetup for the integration and e2e projects. Both projects list this file; vitest loads it
 * once per project (each with its own module instance, in the same process), so the started services are
 * kept on globalThis and reference-counted: one set of services per `vitest run`, stopped by the last
 * project's teardown. A unit-only run loads neither project's globalSetup and starts nothing.
 */
import type { TestProject } from 'vitest/node';
import { startServices, type StartedServices } from './start.js';

interface Shared {
  started: Promise<StartedServices>;
  refs: number;
}

const KEY = Symbol.for('ocm-knative.tests.services');
const holder = globalThis as typeof globalThis & { [KEY]?: Shared };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The SDK's "Node 20 support ends in 2027" notice is known (docs/design.md §2 pins Node 20); once per worker
  // it buries test output. Workers inherit this process's environment.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let shared = holder[KEY];
  if (!shared) {
    const log = (line: string): void => {
      if (process.env.OCM_KNATIVE_QUIET !== '1') process.stderr.write(`[services] ${line}\n`);
    };
    shared = { started: startServices({ log }), refs: 0 };
    holder[KEY] = shared;
  }
  shared.refs++;
  const { services } = await shared.started;
  project.provide('services', services);
  const own = shared;
  return async () => {
    own.refs--;
    if (own.refs > 0) return;
    if (holder[KEY] === own) delete holder[KEY];
    const { stop } = await own.started;
    await stop();
  };
}

import { runFunction, stageErrorClassifier } from '../../shared/server/index.js';
import { publishConfigSchema } from '../adapters/wiring.js';

await runFunction({
  stage: 'publish',
  configSchema: publishConfigSchema,
  classifyError: stageErrorClassifier,
  loadHandler: async (config, { log }) => {
    const [{ realDeps, signingFrom }, { createPublishStage }, { handlerFromStage }] = await Promise.all([
      import('../adapters/wiring.js'),
      import('./handler.js'),
      import('../../shared/server/stage-adapter.js'),
    ]);
    const deps = await realDeps(config, 'publish', log, { signing: await signingFrom(config, log) });
    return handlerFromStage(deps.prepare(createPublishStage({ ...deps, log })));
  },
});

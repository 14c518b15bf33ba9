import { runFunction, stageErrorClassifier } from '../../shared/server/index.js';
import { stageConfigSchema } from '../adapters/wiring.js';

await runFunction({
  stage: 'publish',
  configSchema: stageConfigSchema,
  classifyError: stageErrorClassifier,
  loadHandler: async (config, { log }) => {
    const [{ realDeps }, { createPublishStage }, { handlerFromStage }] = await Promise.all([
      import('../adapters/wiring.js'),
      import('./handler.js'),
      import('../../shared/server/stage-adapter.js'),
    ]);
    const deps = await realDeps(config, 'publish', log);
    return handlerFromStage(deps.prepare(createPublishStage({ ...deps, log })));
  },
});

import { runFunction, stageErrorClassifier } from '../../shared/server/index.js';
import { stageConfigSchema } from '../adapters/wiring.js';

await runFunction({
  stage: 'configure',
  configSchema: stageConfigSchema,
  classifyError: stageErrorClassifier,
  loadHandler: async (config, { log }) => {
    const [{ realDeps }, { createConfigureStage }, { createConfigureEngine }, { handlerFromStage }] = await Promise.all([
      import('../adapters/wiring.js'),
      import('./handler.js'),
      import('../../shared/configure/index.js'),
      import('../../shared/server/stage-adapter.js'),
    ]);
    const deps = await realDeps(config, 'configure', log);
    return handlerFromStage(deps.prepare(createConfigureStage({ ...deps, engine: createConfigureEngine(), log })));
  },
});

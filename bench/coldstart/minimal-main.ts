/** The smallest real function: the shared host (runFunction) with a trivial, lazily imported handler. */
import { runFunction } from '../../shared/server/index.js';

await runFunction({
  stage: 'minimal',
  loadHandler: async () => (await import('./minimal-handler.js')).handler,
});

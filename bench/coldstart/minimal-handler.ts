import type { StageHandler } from '../../shared/server/index.js';

export const handler: StageHandler = async (hint) => ({ result: 'skipped', reason: `noop ${hint.type}` });

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { stageConfigSchema } from '../../../functions/adapters/wiring.js';
import { describeConfig } from '../../../shared/config/index.js';

it('shared/config/CONFIG.md lists the stage functions\' variables as the schema declares them', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../../shared/config/CONFIG.md'), 'utf8');
  expect(doc).toContain(describeConfig(stageConfigSchema).trim());
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { publishConfigSchema, stageConfigSchema } from '../../../functions/adapters/wiring.js';
import { describeConfig } from '../../../shared/config/index.js';

it('shared/config/CONFIG.md lists the stage functions\' variables as the schema declares them', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../../shared/config/CONFIG.md'), 'utf8');
  expect(doc).toContain(describeConfig(stageConfigSchema).trim());
});

it('shared/config/CONFIG.md lists the publish function\'s own variables as the schema declares them', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../../shared/config/CONFIG.md'), 'utf8');
  const own = Object.fromEntries(Object.entries(publishConfigSchema).filter(([name]) => !(name in stageConfigSchema)));
  expect(Object.keys(own)).toEqual(['SIGNING_KEY_FILE', 'FLUX_VERIFY_SECRET']);
  expect(doc).toContain(describeConfig(own).trim());
});

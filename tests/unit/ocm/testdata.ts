import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** Upstream OCM golden data, committed with its provenance (tests/fixtures/upstream/ocm/PROVENANCE.md); OCM_TESTDATA overrides the location. */
export const TESTDATA = process.env['OCM_TESTDATA'] ?? resolve(fileURLToPath(new URL('.', import.meta.url)), '../../fixtures/upstream/ocm');

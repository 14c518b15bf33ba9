import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** The team's golden OCM data beside the checkout (read-only); OCM_TESTDATA overrides the location. */
export const TESTDATA = process.env['OCM_TESTDATA'] ?? resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../shared/testdata/ocm');

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parse as parseCel } from '@marcbachmann/cel-js';
import type { JSONSchemaProps } from '../../../shared/kube/schema/builder.js';
import { CRD_DIR, renderCrds } from '../../../shared/kube/schema/generate-crds.js';
import { KINDS } from '../../../shared/kube/schema/kinds/index.js';

function* nodes(s: JSONSchemaProps, path = ''): Generator<[string, JSONSchemaProps]> {
  yield [path, s];
  for (const [k, c] of Object.entries(s.properties ?? {})) yield* nodes(c, `${path}.${k}`);
  if (s.items) yield* nodes(s.items, `${path}[]`);
  if (s.additionalProperties) yield* nodes(s.additionalProperties, `${path}{}`);
}

describe('CRDs in knative/crds', () => {
  it('are up to date with shared/kube/schema (run: npx tsx shared/kube/schema/generate-crds.ts)', async () => {
    const expected = renderCrds();
    const actual = (await readdir(CRD_DIR)).filter((f) => f.endsWith('.yaml')).sort();
    expect(actual).toEqual([...expected.keys()].sort());
    for (const [file, text] of expected) expect(await readFile(join(CRD_DIR, file), 'utf8'), file).toBe(text);
  });

  it('have one CRD per kind with status subresource, printer columns, short names and category ocm', () => {
    for (const def of Object.values(KINDS)) {
      const crd = parse(renderCrds().get(`${def.plural}.serverless.ocm.software.yaml`)!);
      expect(crd.spec.scope).toBe('Namespaced');
      expect(crd.spec.names.categories).toEqual(['ocm']);
      expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
      const v = crd.spec.versions[0];
      expect(v.subresources).toEqual({ status: {} });
      const cols = v.additionalPrinterColumns.map((c: { name: string }) => c.name);
      expect(cols.slice(0, 2)).toEqual(['Ready', 'Reason']);
      // Flux's kinds end in Ready's message and Age (e.g. OCIRepository: URL, Ready, Status, Age)
      expect(cols.slice(-2)).toEqual(['Status', 'Age']);
      expect(cols.length).toBeGreaterThanOrEqual(4);
    }
  });

  it('are structural and CEL-cost bounded: every node typed (or preserve-unknown), strings/lists/maps bounded where rules iterate, rules parse', () => {
    for (const def of Object.values(KINDS)) {
      for (const [path, s] of [...nodes(def.spec, '.spec'), ...nodes(def.status, '.status')]) {
        expect(s.type !== undefined || s['x-kubernetes-preserve-unknown-fields'] === true, `${def.kind}${path} has no type`).toBe(true);
        if (s.type === 'array') expect(s.maxItems, `${def.kind}${path} maxItems`).toBeDefined();
        if (s.additionalProperties) expect(s.maxProperties, `${def.kind}${path} maxProperties`).toBeDefined();
        if (s.type === 'string' && s.enum === undefined && s.format === undefined && !path.endsWith('.type')) {
          expect(s.maxLength, `${def.kind}${path} maxLength`).toBeDefined();
        }
        for (const r of s['x-kubernetes-validations'] ?? []) {
          expect(() => parseCel(r.rule), r.rule).not.toThrow();
          // the apiserver's CEL cannot see untyped (preserve-unknown) fields: a rule naming one fails CRD creation
          for (const [, field] of r.rule.matchAll(/self\.([A-Za-z_]\w*)/g)) {
            const f = s.properties?.[field!];
            if (f !== undefined) expect(f.type, `${def.kind}${path}: rule "${r.rule}" reads untyped field ${field}`).toBeDefined();
          }
        }
        if (s.default !== undefined && s.type === 'object') expect(s.default).toEqual({});
      }
    }
  });
});

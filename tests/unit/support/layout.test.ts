/**
 * The tests' layout rule (ARCHITECTURE.md, `tests/`): a test tier (unit, integration, e2e) imports its own files and
 * the shared rooms (support, fixtures, infra), never another tier's; the shared rooms and the benches import no tier;
 * nothing imports a test file. What two tiers or a bench need lives in tests/support (helpers) or tests/fixtures (data).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TIERS = ['unit', 'integration', 'e2e'] as const;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.parentPath.includes('node_modules'))
    .map((e) => join(e.parentPath, e.name));
}

/** Every relative import (static, dynamic, re-export) of a file, as repository paths of the imported .ts files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);
  return specs.map((s) => relative(repo, resolve(dirname(file), s)).replace(/\.js$/, '.ts'));
}

/** The room of a repository path under tests/: a tier, a shared room, or undefined outside tests/. */
function roomOf(path: string): string | undefined {
  const [top, room] = path.split('/');
  return top === 'tests' ? room : undefined;
}

/** What a file may import from tests/, by where it lives. */
function allowed(path: string): Set<string> {
  const room = roomOf(path);
  const shared = ['support', 'fixtures', 'infra'];
  if (room !== undefined && (TIERS as readonly string[]).includes(room)) return new Set([room, ...shared]);
  return new Set(shared);
}

const files = [...sources(join(repo, 'tests')), ...sources(join(repo, 'bench'))].map((f) => relative(repo, f));

describe('the tests layout', () => {
  it('finds the tiers, the shared rooms and the benches (the rule below checks something)', () => {
    for (const room of [...TIERS, 'support', 'fixtures', 'infra']) expect(files.some((f) => roomOf(f) === room)).toBe(true);
    expect(files.some((f) => f.startsWith('bench/'))).toBe(true);
    expect(importsOf(join(repo, 'tests/integration/ocm/signing.test.ts'))).toContain('tests/support/stage-harness.ts');
  });

  it('no test file is imported by another file', () => {
    const offenders = files.flatMap((f) => importsOf(join(repo, f)).filter((i) => i.endsWith('.test.ts')).map((i) => `${f} -> ${i}`));
    expect(offenders).toEqual([]);
  });

  it("a tier imports only its own files and tests/{support,fixtures,infra}; support, fixtures, infra and bench import no tier", () => {
    const offenders = files.flatMap((f) =>
      importsOf(join(repo, f))
        .filter((i) => {
          const room = roomOf(i);
          return room !== undefined && !allowed(f).has(room);
        })
        .map((i) => `${f} -> ${i}`),
    );
    expect(offenders).toEqual([]);
  });
});

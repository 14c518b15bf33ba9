import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, mkdir, readFile, rm, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packEntries, readArchive, unpackToDirectory } from '../../../shared/archive/index.js';

// GNU tar is part of every Debian base system; it is the reference implementation we interoperate with.
const run = promisify(execFile);

async function bytes(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

const LONG = `${'deeply-nested-directory/'.repeat(6)}a-file-name-well-over-one-hundred-characters.yaml`;

describe('interoperability with GNU tar', () => {
  it('GNU tar reads what we pack, with fixed metadata and long names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'interop-pack-'));
    try {
      const tgz = await bytes(
        packEntries([
          { path: 'chart/values.yaml', type: 'file', content: 'a: 1\n' },
          { path: LONG, type: 'file', content: 'long\n' },
          { path: 'ünïcödé.txt', type: 'file', content: 'utf8\n' },
          { path: 'bin/run', type: 'file', content: '#!/bin/sh\n', executable: true },
          { path: 'chart/link', type: 'symlink', linkTarget: 'values.yaml' },
        ]),
      );
      await writeFile(join(dir, 'a.tgz'), tgz);
      const { stdout } = await run('tar', ['--numeric-owner', '--full-time', '-tvzf', join(dir, 'a.tgz')], { env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' } });
      const lines = stdout.trim().split('\n');
      const names = lines.map((l) => l.split(/\s+/).slice(5).join(' '));
      expect(names).toEqual(['bin/run', 'chart/link -> values.yaml', 'chart/values.yaml', LONG, 'ünïcödé.txt']);
      for (const l of lines) expect(l).toMatch(/ 0\/0 +\d+ 1970-01-01 00:00:00 /);
      expect(lines[0]).toMatch(/^-rwxr-xr-x /);
      expect(lines[2]).toMatch(/^-rw-r--r-- /);
      await mkdir(join(dir, 'x'));
      await run('tar', ['-xzf', join(dir, 'a.tgz'), '-C', join(dir, 'x')]);
      expect(await readFile(join(dir, 'x', LONG), 'utf8')).toBe('long\n');
      expect(await readFile(join(dir, 'x', 'chart/link'), 'utf8')).toBe('a: 1\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([['gnu'], ['posix'], ['ustar']])('we read what GNU tar --format=%s writes', async (format) => {
    const dir = await mkdtemp(join(tmpdir(), 'interop-read-'));
    try {
      const src = join(dir, 'src');
      const names = format === 'ustar' ? ['chart/values.yaml', 'chart/templates/d.yaml'] : ['chart/values.yaml', LONG];
      for (const n of names) {
        await mkdir(join(src, n, '..'), { recursive: true });
        await writeFile(join(src, n), `${n}\n`);
      }
      await symlink('values.yaml', join(src, 'chart/alias.yaml'));
      await run('tar', [`--format=${format}`, '--sort=name', '-czf', join(dir, 'in.tgz'), '-C', src, '.']);
      const seen = new Map<string, string>();
      for await (const e of readArchive(await readFile(join(dir, 'in.tgz')))) {
        seen.set(e.path, e.type === 'file' ? (await bytes(e.body)).toString() : `${e.type}${e.linkTarget ? ` -> ${e.linkTarget}` : ''}`);
      }
      for (const n of names) expect(seen.get(n)).toBe(`${n}\n`);
      expect(seen.get('chart/alias.yaml')).toBe('symlink -> values.yaml');
      expect(seen.get('chart')).toBe('directory');
      const result = await unpackToDirectory(await readFile(join(dir, 'in.tgz')), join(dir, 'out'));
      expect(result.entries.length).toBe(seen.size);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

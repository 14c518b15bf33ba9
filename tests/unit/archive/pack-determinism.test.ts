import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile, chmod, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  ArchivePackError,
  gzipDeterministic,
  packDirectory,
  packEntries,
  readArchive,
  type PackEntry,
} from '../../../shared/archive/index.js';

const run = promisify(execFile);

async function bytes(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'chart/templates'), { recursive: true });
  await mkdir(join(root, 'empty'), { recursive: true });
  await writeFile(join(root, 'chart/Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 1.0.0\n');
  await writeFile(join(root, 'chart/values.yaml'), 'image: nginx:1.0\n');
  await writeFile(join(root, 'chart/templates/a.yaml'), 'kind: A\n'.repeat(300));
  await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'run.sh'), 0o700);
  await chmod(join(root, 'chart/values.yaml'), 0o600);
  await symlink('chart/values.yaml', join(root, 'values-link'));
}

describe('deterministic pack', () => {
  it('gives identical bytes for the same tree in two directories and two processes', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'pack-det-'));
    try {
      const a = join(scratch, 'a');
      const b = join(scratch, 'elsewhere/b');
      await makeTree(a);
      // different creation order and times for the second copy
      await new Promise((r) => setTimeout(r, 20));
      await makeTree(b);
      const first = await bytes(packDirectory(a));
      const second = await bytes(packDirectory(b));
      expect(second.equals(first)).toBe(true);

      const script = join(scratch, 'pack.mts');
      const lib = resolve('shared/archive/index.ts');
      await writeFile(
        script,
        `import { packDirectory } from ${JSON.stringify(lib)};\n` +
          `import { createHash, randomBytes } from 'node:crypto';\n` +
          `const h = createHash('sha256'); for await (const c of packDirectory(process.argv[2])) h.update(c);\n` +
          `console.log(h.digest('hex'));\n`,
      );
      const { stdout } = await run(process.execPath, ['--import', 'tsx', script, b], { cwd: resolve('.') });
      expect(stdout.trim()).toBe(createHash('sha256').update(first).digest('hex'));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('fixes metadata: sorted paths, mtime 0, uid/gid 0, 0644/0755, gzip without name/mtime', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'pack-meta-'));
    try {
      await makeTree(scratch);
      const tgz = await bytes(packDirectory(scratch));
      expect(tgz[3]).toBe(0); // FLG: no FNAME, no FCOMMENT, no FEXTRA
      expect(tgz.readUInt32LE(4)).toBe(0); // MTIME
      expect(tgz[9]).toBe(3); // OS = Unix
      const entries: [string, string, string][] = [];
      for await (const e of readArchive(tgz)) {
        entries.push([e.path, e.type, (e.mode & 0o777).toString(8)]);
        for await (const _ of e.body) {
          // drain
        }
      }
      expect(entries).toEqual([
        ['chart', 'directory', '755'],
        ['chart/Chart.yaml', 'file', '644'],
        ['chart/templates', 'directory', '755'],
        ['chart/templates/a.yaml', 'file', '644'],
        ['chart/values.yaml', 'file', '644'],
        ['empty', 'directory', '755'],
        ['run.sh', 'file', '755'],
        ['values-link', 'symlink', '777'],
      ]);
      const tar = gunzipSync(tgz);
      // first header: uid, gid, mtime fields are all zero
      expect(tar.subarray(108, 115).toString()).toBe('000000 ');
      expect(tar.subarray(116, 123).toString()).toBe('000000 ');
      expect(tar.subarray(136, 147).toString()).toBe('00000000000');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('is order-independent and round-trips (property)', async () => {
    const segment = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
    const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
    const files = fc.uniqueArray(fc.record({ path, content: fc.uint8Array({ maxLength: 700 }) }), {
      selector: (f) => f.path,
      minLength: 1,
      maxLength: 12,
    });
    await fc.assert(
      fc.asyncProperty(
        files.filter((list) =>
          // no file may also be a parent of another file
          list.every((f) => !list.some((g) => g.path.startsWith(`${f.path}/`))),
        ),
        async (list) => {
          const entries: PackEntry[] = list.map((f) => ({ path: f.path, type: 'file', content: Buffer.from(f.content) }));
          const one = await bytes(packEntries(entries));
          const two = await bytes(packEntries([...entries].reverse()));
          expect(two.equals(one)).toBe(true);
          const back = new Map<string, Buffer>();
          for await (const e of readArchive(one)) back.set(e.path, await bytes(e.body));
          expect(back.size).toBe(list.length);
          for (const f of list) expect(back.get(f.path)?.equals(Buffer.from(f.content))).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('streams content of known size from a factory', async () => {
    // random bytes: a constant fill would (rightly) trip the compression-ratio limit on the way back
    const chunk = randomBytes(64 * 1024);
    const tgz = await bytes(
      packEntries([
        {
          path: 'big.bin',
          type: 'file',
          size: chunk.length * 32,
          content: async function* () {
            for (let i = 0; i < 32; i++) yield chunk;
          },
        },
      ]),
    );
    for await (const e of readArchive(tgz)) expect((await bytes(e.body)).length).toBe(chunk.length * 32);
  });

  it('refuses bad inputs with ArchivePackError', async () => {
    await expect(bytes(packEntries([{ path: '../x', type: 'file', content: 'a' }]))).rejects.toBeInstanceOf(ArchivePackError);
    await expect(
      bytes(packEntries([{ path: 'a', type: 'file' }, { path: './a', type: 'file' }])),
    ).rejects.toThrow(/duplicate entry "a"/);
    await expect(bytes(packEntries([{ path: 'l', type: 'symlink', linkTarget: '/etc/passwd' }]))).rejects.toBeInstanceOf(
      ArchivePackError,
    );
    await expect(
      bytes(
        packEntries([
          {
            path: 'short',
            type: 'file',
            size: 10,
            content: async function* () {
              yield Buffer.from('abc');
            },
          },
        ]),
      ),
    ).rejects.toThrow();
  });

  it('gzips a plain stream deterministically', async () => {
    const plain = Buffer.from('hello '.repeat(1000));
    const a = await bytes(gzipDeterministic([plain]));
    const b = await bytes(gzipDeterministic([plain.subarray(0, 10), plain.subarray(10)]));
    expect(b.equals(a)).toBe(true);
    expect(gunzipSync(a).equals(plain)).toBe(true);
  });
});

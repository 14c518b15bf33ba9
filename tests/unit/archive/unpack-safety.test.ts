import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtemp, readdir, rm, mkdir, readFile, lstat, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArchiveFormatError,
  ArchiveLimitError,
  UnsafeArchiveError,
  readArchive,
  unpackToDirectory,
} from '../../../shared/archive/index.js';
import { maliciousCorpus, rawTar, type CorpusCase } from '../../fixtures/archive/corpus.js';

async function drain(archive: Buffer, c: CorpusCase): Promise<void> {
  for await (const entry of readArchive(archive, c.limits ? { limits: c.limits } : {})) {
    for await (const _ of entry.body) {
      // read everything
    }
  }
}

function check(err: unknown, c: CorpusCase): void {
  const expected = c.expected;
  switch (expected.kind) {
    case 'unsafe':
      expect(err, c.name).toBeInstanceOf(UnsafeArchiveError);
      expect((err as UnsafeArchiveError).reason, c.name).toBe(expected.reason);
      expect((err as UnsafeArchiveError).entry, c.name).toBe(expected.entry);
      expect((err as Error).message).toContain(JSON.stringify(expected.entry));
      break;
    case 'limit':
      expect(err, c.name).toBeInstanceOf(ArchiveLimitError);
      expect((err as ArchiveLimitError).limit, c.name).toBe(expected.limit);
      break;
    case 'format':
      expect(err, c.name).toBeInstanceOf(ArchiveFormatError);
      break;
  }
}

describe('unpacking the malicious corpus', () => {
  let corpus: CorpusCase[];
  let scratch: string;
  beforeAll(async () => {
    corpus = await maliciousCorpus();
    scratch = await mkdtemp(join(tmpdir(), 'archive-safety-'));
    return () => rm(scratch, { recursive: true, force: true });
  });

  it('has every attack class', () => {
    const names = corpus.map((c) => c.name);
    for (const needle of ['traversal', 'absolute', 'symlink escape', 'hardlink escape', 'device', 'gzip bomb', 'too many entries']) {
      expect(names.some((n) => n.includes(needle)), needle).toBe(true);
    }
  });

  it('rejects each case with its specific error when iterating', async () => {
    for (const c of corpus) {
      const err = await drain(c.archive, c).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `${c.name} was accepted`).toBeDefined();
      check(err, c);
    }
  });

  it('rejects each case when unpacking to disk and writes nothing outside the root', async () => {
    for (const [i, c] of corpus.entries()) {
      const base = join(scratch, String(i));
      const root = join(base, 'root');
      await mkdir(base, { recursive: true });
      const err = await unpackToDirectory(c.archive, root, c.limits ? { limits: c.limits } : {}).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `${c.name} was accepted`).toBeDefined();
      check(err, c);
      expect(await readdir(base), c.name).toEqual(['root']);
    }
  });

  it('stops a gzip bomb after bounded work', async () => {
    const bomb = corpus.find((c) => c.name === 'gzip bomb');
    expect(bomb).toBeDefined();
    let seen = 0;
    const err = await (async () => {
      for await (const entry of readArchive(bomb!.archive)) {
        for await (const chunk of entry.body) seen += chunk.length;
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ArchiveLimitError);
    expect(seen).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('unpacking good archives', () => {
  it('keeps safe symlinks, hardlinks, directories and executable bits', async () => {
    const archive = await rawTar([
      { name: './', type: 'directory' },
      { name: './chart/', type: 'directory' },
      { name: './chart/values.yaml', type: 'file', body: 'a: 1\n', mode: 0o600 },
      { name: './chart/run.sh', type: 'file', body: '#!/bin/sh\n', mode: 0o700 },
      { name: 'chart/link', type: 'symlink', linkname: 'values.yaml' },
      { name: 'chart/deep/up', type: 'symlink', linkname: '../values.yaml' },
      { name: 'chart/hard', type: 'link', linkname: 'chart/values.yaml' },
    ]);
    const root = await mkdtemp(join(tmpdir(), 'archive-good-'));
    try {
      const result = await unpackToDirectory(archive, join(root, 'out'));
      expect(result.entries.map((e) => e.path)).toEqual([
        'chart',
        'chart/values.yaml',
        'chart/run.sh',
        'chart/link',
        'chart/deep/up',
        'chart/hard',
      ]);
      expect(await readFile(join(root, 'out/chart/hard'), 'utf8')).toBe('a: 1\n');
      expect(await readlink(join(root, 'out/chart/deep/up'))).toBe('../values.yaml');
      expect(await readFile(join(root, 'out/chart/deep/up'), 'utf8')).toBe('a: 1\n');
      expect((await lstat(join(root, 'out/chart/run.sh'))).mode & 0o777).toBe(0o755);
      expect((await lstat(join(root, 'out/chart/values.yaml'))).mode & 0o777).toBe(0o644);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses a non-empty target directory', async () => {
    const root = await mkdtemp(join(tmpdir(), 'archive-nonempty-'));
    try {
      await mkdir(join(root, 'something'));
      const archive = await rawTar([{ name: 'a', type: 'file', body: 'x' }]);
      await expect(unpackToDirectory(archive, root)).rejects.toThrow(/not empty/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('lets the caller stop reading a body half way', async () => {
    const archive = await rawTar([
      { name: 'a', type: 'file', body: Buffer.alloc(300_000, 1) },
      { name: 'b', type: 'file', body: 'B' },
    ]);
    const seen: string[] = [];
    for await (const entry of readArchive(archive)) {
      for await (const chunk of entry.body) {
        seen.push(`${entry.path}:${chunk.toString('latin1', 0, 1) === 'B' ? 'B' : 'data'}`);
        break;
      }
    }
    expect(seen).toEqual(['a:data', 'b:B']);
  });

  it('lets the caller skip bodies', async () => {
    const archive = await rawTar([
      { name: 'a', type: 'file', body: 'A'.repeat(5000) },
      { name: 'b', type: 'file', body: 'B' },
    ]);
    const seen: string[] = [];
    for await (const entry of readArchive(archive)) {
      if (entry.path === 'b') {
        const parts: Buffer[] = [];
        for await (const c of entry.body) parts.push(c);
        seen.push(Buffer.concat(parts).toString());
      } else seen.push(entry.path);
    }
    expect(seen).toEqual(['a', 'B']);
  });
});

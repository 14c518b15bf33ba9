/** shared/ocm/streams.ts: digests checked while streaming, bounded reads, digest strings, and one member out of a tar. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ArtifactFormatError, DigestMismatchError } from '../../../shared/ocm/errors.js';
import { extractTarMember, looksLikeGzip, looksLikeTar, readBounded, splitDigest, verifyingStream } from '../../../shared/ocm/streams.js';
import { sha256 } from '../../support/digest.js';
import { tarOf } from '../../support/tar.js';

const read = (s: Readable): Promise<Buffer> => readBounded(s, 1 << 20, 'test stream');

describe('verifyingStream', () => {
  const data = Buffer.from('hello ocm');

  it('passes the bytes through when digest and size agree', async () => {
    expect((await read(verifyingStream(Readable.from([data]), 'blob', sha256(data), data.length))).equals(data)).toBe(true);
  });

  it('fails at the end, never a clean end, when the digest or the size differs', async () => {
    await expect(read(verifyingStream(Readable.from([data]), 'blob', sha256('other')))).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(read(verifyingStream(Readable.from([data]), 'blob', sha256(data), data.length + 1))).rejects.toThrow('blob: size mismatch, expected 10 bytes but got 9');
  });

  it("passes the source's error on", async () => {
    const source = new Readable({ read() { this.destroy(new Error('connection reset')); } });
    await expect(read(verifyingStream(source, 'blob', sha256(data)))).rejects.toThrow('connection reset');
  });
});

describe('splitDigest', () => {
  it('reads sha256 and sha512 in the OCI and the CTF file-name form, and names a wrong one', () => {
    const hex = 'a'.repeat(64);
    expect(splitDigest(`sha256:${hex}`)).toEqual({ algorithm: 'sha256', hex });
    expect(splitDigest(`sha256.${hex}`)).toEqual({ algorithm: 'sha256', hex });
    expect(splitDigest(`sha512:${'b'.repeat(128)}`)).toEqual({ algorithm: 'sha512', hex: 'b'.repeat(128) });
    expect(() => splitDigest('sha256:abc')).toThrow(ArtifactFormatError);
    expect(() => splitDigest(`md5:${hex}`)).toThrow('"md5:' + hex + '" is not a sha256/sha512 digest');
  });
});

describe('readBounded', () => {
  it('fails once more than the limit arrives, naming what it read', async () => {
    await expect(readBounded(Readable.from([Buffer.alloc(8), Buffer.alloc(8)]), 10, 'the descriptor')).rejects.toThrow('the descriptor is larger than 10 bytes');
    expect((await readBounded(Readable.from([Buffer.alloc(8)]), 10, 'the descriptor')).length).toBe(8);
  });
});

describe('tar helpers', () => {
  it('tell a tar from a gzip, and extract one member by name (without ./)', async () => {
    const tar = await tarOf({ './a.txt': 'A', 'dir/b.txt': 'B' });
    const tgz = await tarOf({ 'a.txt': 'A' }, { gzip: true });
    expect([looksLikeTar(tar), looksLikeGzip(tar), looksLikeTar(tgz), looksLikeGzip(tgz)]).toEqual([true, false, false, true]);
    expect((await extractTarMember(tar, (n) => n === 'a.txt', 100))?.toString()).toBe('A');
    expect((await extractTarMember(tar, (n) => n === 'dir/b.txt', 100))?.toString()).toBe('B');
    expect(await extractTarMember(tar, (n) => n === 'missing', 100)).toBeUndefined();
    await expect(extractTarMember(await tarOf({ 'big.txt': 'x'.repeat(200) }), () => true, 100)).rejects.toThrow('tar member big.txt is larger than 100 bytes');
  });
});

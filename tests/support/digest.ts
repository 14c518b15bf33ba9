/**
 * SHA-256 as tests compute it on their own, to check what the code under test says it wrote: deliberately not
 * through shared/ (a digest the code computes, checked with the code's own function, proves nothing).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** `sha256:<hex>` of the bytes: an OCI digest. */
export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${sha256Hex(bytes)}`;
}

/** The bare hex SHA-256 of the bytes. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `sha256:<hex>` of everything a stream yields (a download, a file), read once. */
export async function sha256Of(chunks: AsyncIterable<Uint8Array | string>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of chunks) h.update(c);
  return `sha256:${h.digest('hex')}`;
}

/** `sha256:<hex>` of a file, streamed. */
export function sha256File(path: string): Promise<string> {
  return sha256Of(createReadStream(path));
}

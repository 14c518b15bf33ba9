/**
 * Limits for reading untrusted archives (docs/design.md §10). Defaults fit Helm charts and manifest bundles with
 * generous head-room; callers with bigger payloads pass their own.
 */
export interface ArchiveLimits {
  /** tar headers (files, dirs, links) */
  maxEntries: number;
  /** sum of all entry sizes, bytes */
  maxTotalSize: number;
  /** one entry, bytes */
  maxFileSize: number;
  /** decompressed / compressed bytes; checked once `ratioCheckAfter` bytes were decompressed */
  maxCompressionRatio: number;
  /** decompressed bytes before the ratio is enforced (tiny tars are mostly padding and compress ~100x) */
  ratioCheckAfter: number;
  /** bytes of one entry path (UTF-8) */
  maxPathLength: number;
}

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxEntries: 10_000,
  maxTotalSize: 1024 * 1024 * 1024,
  maxFileSize: 512 * 1024 * 1024,
  maxCompressionRatio: 200,
  ratioCheckAfter: 1024 * 1024,
  maxPathLength: 4096,
});

export function resolveLimits(partial?: Partial<ArchiveLimits>): ArchiveLimits {
  const limits = { ...DEFAULT_ARCHIVE_LIMITS, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !(value >= 0)) {
      throw new RangeError(`archive limit ${key} must be a non-negative number, got ${String(value)}`);
    }
  }
  return limits;
}

/**
 * Bytes the decompressed tar stream may have beyond the entry contents: 512-byte headers, padding, pax
 * records. Bounds the work a hostile stream of metadata-only records can cause.
 */
export function streamAllowance(limits: ArchiveLimits): number {
  return limits.maxTotalSize + (limits.maxEntries + 2) * 2048 + 8 * 1024 * 1024;
}

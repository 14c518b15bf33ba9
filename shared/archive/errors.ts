/**
 * Typed errors of the archive library. Every error names the offending entry (when there is one) so a
 * stage can copy the message into a `Ready=False` condition verbatim.
 */

/** Base class: anything wrong with an archive we were given (never a bug of ours). */
export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

/** Why an entry was refused. Stable strings: tests and callers switch on them. */
export type UnsafeReason =
  | 'absolute-path'
  | 'path-traversal'
  | 'invalid-name'
  | 'symlink-escape'
  | 'hardlink-escape'
  | 'special-file'
  | 'duplicate-entry'
  | 'path-through-link';

/** An entry that could write outside the extraction root, or that we refuse to materialise at all. */
export class UnsafeArchiveError extends ArchiveError {
  override name = 'UnsafeArchiveError';
  constructor(
    readonly entry: string,
    readonly reason: UnsafeReason,
    detail: string,
  ) {
    super(`unsafe archive entry ${JSON.stringify(entry)}: ${reason} (${detail})`);
  }
}

export type ArchiveLimitName =
  | 'maxEntries'
  | 'maxTotalSize'
  | 'maxFileSize'
  | 'maxCompressionRatio'
  | 'maxPathLength'
  | 'maxStreamSize';

/** A configured limit was exceeded (size, count, decompression ratio). */
export class ArchiveLimitError extends ArchiveError {
  override name = 'ArchiveLimitError';
  constructor(
    readonly limit: ArchiveLimitName,
    readonly max: number,
    readonly actual: number,
    readonly entry?: string,
  ) {
    super(
      `archive exceeds ${limit} (${actual} > ${max})` + (entry === undefined ? '' : ` at entry ${JSON.stringify(entry)}`),
    );
  }
}

/** The bytes are not a (readable) tar or tar+gzip archive: wrong magic, corrupt or truncated. */
export class ArchiveFormatError extends ArchiveError {
  override name = 'ArchiveFormatError';
}

/** Packing refused an input (e.g. a symlink leaving the packed directory, or two entries with one name). */
export class ArchivePackError extends ArchiveError {
  override name = 'ArchivePackError';
}

import { writeSync, writevSync } from 'node:fs';

/**
 * Synchronous file writes for downloads (socket-transfer.ts, blob-file-writer.ts), in pieces whose size follows how
 * fast the page cache takes them.
 *
 * Why not always one write(2) per 1 MiB: Linux 6.x (ext4, xfs) gives a buffered write page-cache folios as
 * large as the write, up to 2 MiB. Folios of 1 MiB come from whole free 2 MiB blocks, and on a VM whose balloon
 * reports free memory to the host (virtio free page reporting, order 9) those are the blocks the host has taken
 * back: the first touch of each page then faults on the host. In the S3 pull benchmark that made writing 200 MiB
 * cost 0.3 s of system time instead of 0.05 s in 3 runs of 5 (bench/README.md). 64 KiB folios are served from
 * ordinary free pages (the Go tools write 32 KiB at a time and never hit it), but 64 KiB writes cost about 1.5x
 * the system time of 1 MiB ones when the page cache is fast.
 *
 * So: 1 MiB writes while they take under SLOW_MS_PER_MIB (fast: ~0.25 ms, slow: 1.5-2 ms per MiB; 64 KiB writes
 * take ~0.4 ms per MiB on the busy benchmark machine, so past 0.5 ms the small ones are the better bet), and 64 KiB
 * writes for the rest of the file once the median write of a window of SLOW_WINDOW_BYTES was slower than that (the
 * median, because one write is slow whenever the thread is descheduled).
 */

export const SMALL_WRITE_BYTES = 64 * 1024;
const SLOW_MS_PER_MIB = 0.5;
const SLOW_WINDOW_BYTES = 8 * 1024 * 1024;

export class PageCacheWriter {
  private slow = false;
  private windowBytes = 0;
  /** ms per MiB of each write in the window */
  private rates: number[] = [];

  /** `now` is a millisecond clock (tests pass their own to play a slow page cache) */
  constructor(
    readonly fd: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** true once writes went down to SMALL_WRITE_BYTES (for the rest of the file) */
  get small(): boolean {
    return this.slow;
  }

  /** Writes all of `chunks`, in order, at the file's current position. */
  write(chunks: Buffer | Buffer[]): void {
    const list = Array.isArray(chunks) ? chunks : [chunks];
    if (this.slow) {
      for (const chunk of list) {
        for (let off = 0; off < chunk.length; off += SMALL_WRITE_BYTES) writeAll(this.fd, [chunk.subarray(off, off + SMALL_WRITE_BYTES)]);
      }
      return;
    }
    const started = this.now();
    const bytes = writeAll(this.fd, list);
    if (bytes === 0) return;
    this.rates.push((this.now() - started) / (bytes / 2 ** 20));
    this.windowBytes += bytes;
    if (this.windowBytes < SLOW_WINDOW_BYTES) return;
    const sorted = this.rates.sort((a, b) => a - b);
    this.slow = (sorted[Math.floor(sorted.length / 2)] ?? 0) > SLOW_MS_PER_MIB;
    this.windowBytes = 0;
    this.rates = [];
  }
}

/**
 * Writes all of `buffers` at the file's current position with one write(2) or writev(2), continuing after a
 * short write (near a quota) with the remainder. Returns the number of bytes.
 */
function writeAll(fd: number, buffers: Buffer[]): number {
  let total = 0;
  for (const b of buffers) total += b.length;
  let rest = buffers;
  while (rest.length > 0) {
    let written = rest.length === 1 ? writeSync(fd, rest[0] as Buffer) : writevSync(fd, rest);
    if (written <= 0) throw new Error('the file system accepted no bytes');
    let i = 0;
    while (i < rest.length && written >= (rest[i] as Buffer).length) written -= (rest[i++] as Buffer).length;
    rest = i < rest.length ? [(rest[i] as Buffer).subarray(written), ...rest.slice(i + 1)] : [];
  }
  return total;
}

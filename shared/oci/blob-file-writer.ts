import { close, open } from 'node:fs';
import { Writable } from 'node:stream';
import { PageCacheWriter } from './page-cache-writer.js';

/**
 * The file sink for a blob being downloaded: collects the incoming chunks and writes each `batchBytes` with one
 * synchronous writev from the JS thread (in 64 KiB writes once the page cache is slow: page-cache-writer.ts).
 *
 * Why not fs.createWriteStream: it hands every 64 KiB socket chunk (or the few that queued meanwhile) to a libuv
 * pool thread and resumes the JS thread when the write completes. On a loaded machine each of those ~16 000
 * hand-offs per GiB waits for the scheduler twice, and the download stalls in between. Writing to the page cache
 * is a memory copy (about 0.3 ms per MiB here), so doing it inline in 1 MiB pieces blocks the event loop only that
 * long and removes the hand-offs (bench/README.md, "Registry traffic"). Large registry downloads skip this and go
 * through socket-transfer.ts, which writes straight from one reused socket buffer.
 */
export class BlobFileWriter extends Writable {
  private file: PageCacheWriter | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly path: string,
    private readonly batchBytes: number,
  ) {
    super({ highWaterMark: batchBytes });
  }

  override _construct(cb: (err?: Error | null) => void): void {
    open(this.path, 'w', (err, fd) => {
      if (err) return cb(err);
      this.file = new PageCacheWriter(fd);
      cb();
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    cb(this.pendingBytes >= this.batchBytes ? this.flush() : null);
  }

  override _final(cb: (err?: Error | null) => void): void {
    const err = this.flush();
    if (err) return cb(err);
    this.closeFd(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.pending = [];
    this.closeFd((closeErr) => cb(err ?? closeErr ?? null));
  }

  /** Writes what is pending; returns the error instead of throwing so the stream machinery reports it. */
  private flush(): Error | null {
    const file = this.file;
    if (file === undefined || this.pendingBytes === 0) return null;
    const buffers = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      // the file is written sequentially from its start, so the current offset is the right position
      file.write(buffers);
      return null;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  private closeFd(cb: (err?: Error | null) => void): void {
    const fd = this.file?.fd;
    this.file = undefined;
    if (fd === undefined) {
      cb();
      return;
    }
    close(fd, (err) => cb(err ?? null));
  }
}

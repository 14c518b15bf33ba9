import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Collects the young generation every few MiB of streamed data, so the Buffers a stream has finished with are freed
 * before they pile up.
 *
 * Why: a stream that allocates a Buffer per piece (zlib's gunzip output, fs read streams) leaves a dead Buffer behind
 * per piece. V8 frees them in a young-generation collection (scavenge), and it starts one for their sake only when
 * the young ArrayBuffers reach twice its default semi-space size: 32 MiB, fixed in V8 (Heap::AllocateExternalBackingStore),
 * whatever --max-semi-space-size says. So every gunzipped stream holds up to 32 MiB of garbage, and that garbage decides
 * the peak RSS of a resource function copying an image by value (idle ~80 MiB, peak ~116-127 MiB; bench/README.md,
 * "OCM by value"). A scavenge every 2 MiB of inflated data (plus as much again of compressed file pieces) keeps it
 * near 5 MiB: on a bare Node gunzipping 128 MiB, peak RSS 83 -> 55 MiB at the same wall time (every 4 MiB: 60 MiB),
 * and in the 1 GiB bench the resource function's peak went from 116-127 to 93-97 MiB at the same CPU seconds.
 *
 * The flag is process-wide: `collectYoungGarbage()` is called from a process entry point (a function's main), never
 * from library code. Without it `noteStreamed()` counts nothing and costs nothing (tests, the CLI).
 */
const EVERY_BYTES = 2 * 1024 * 1024;

type Gc = (options: { type: 'minor' | 'major' }) => void;

let gc: Gc | undefined;
let sinceLast = 0;
let collections = 0;

/** Turns the collections on for this process (idempotent). */
export function collectYoungGarbage(): void {
  if (gc) return;
  // --expose-gc installs `gc` on contexts created after the flag is set: a new context's `gc` is the isolate's
  setFlagsFromString('--expose-gc');
  gc = runInNewContext('gc') as Gc;
}

/** Called by a stream for every piece it passes on: collects the young generation every EVERY_BYTES of them. */
export function noteStreamed(bytes: number): void {
  if (!gc) return;
  sinceLast += bytes;
  if (sinceLast < EVERY_BYTES) return;
  sinceLast = 0;
  collections++;
  gc({ type: 'minor' });
}

/** How many collections `noteStreamed` has started (for tests). */
export function youngCollections(): number {
  return collections;
}

import { setFlagsFromString } from 'node:v8';

/**
 * Keeps WebAssembly (undici's llhttp HTTP parser is the only module we load) in V8's baseline tier, Liftoff.
 *
 * Why: once llhttp gets hot, V8 recompiles it with TurboFan, and that compilation briefly takes about 30 MiB of
 * compiler memory. For a 1 GiB pull with the raw-socket transfers that spike alone decided the peak RSS: 97 MiB
 * with it, 66 MiB without (bench/README.md, "Registry traffic"). The parser only sees small requests once large
 * blobs go through socket-transfer.ts, so the optimised tier buys nothing measurable.
 *
 * The flag is process-wide: call this from a process entry point (a function's main, a CLI), before the first
 * request, never from library code. V8 reads it when it compiles a module, so later calls miss modules already
 * compiled.
 */
export function keepWasmInBaselineTier(): void {
  setFlagsFromString('--wasm-tiering-budget=2000000000');
}

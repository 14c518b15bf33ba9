/**
 * The ConfigureEngine port (shared/ports/configure.ts) over configureArchive: reads the input layer from
 * disk, writes the configured layer next to it with its digest, and turns every content problem into
 * ObjectFailure(ConfigurationFailed) so the handler marks the Configuration Ready=False.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ArchiveError } from '../archive/index.js';
import { DigestingStream } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { LocalBlob } from '../ports/artifacts.js';
import { ObjectFailure, Reason } from '../ports/errors.js';
import { configureArchive } from './configure.js';
import { ConfigureError } from './errors.js';
import type { ConfigureEngine, ConfigureLimits, Substitution } from './types.js';

export interface ConfigureEngineOptions {
  workDir?: string;
  limits?: ConfigureLimits;
}

/** Map a content error to the object-level failure the handler records; anything else is rethrown. */
export function toObjectFailure(err: unknown): unknown {
  if (err instanceof ConfigureError || err instanceof ArchiveError) {
    return new ObjectFailure(Reason.ConfigurationFailed, err.message, { cause: err });
  }
  return err;
}

export function createConfigureEngine(options: ConfigureEngineOptions = {}): ConfigureEngine {
  return {
    async apply(input: LocalBlob, substitutions: Substitution[], opts: { helm: boolean }): Promise<LocalBlob> {
      const dir = await mkdtemp(join(options.workDir ?? tmpdir(), 'ocm-configured-'));
      const path = join(dir, 'layer.tgz');
      const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
      try {
        const result = await configureArchive({
          input: createReadStream(input.path),
          substitutions,
          helm: opts.helm,
          ...(options.limits ? { limits: options.limits } : {}),
          ...(options.workDir ? { workDir: options.workDir } : {}),
        });
        const digester = new DigestingStream();
        await pipeline(result.output, digester, createWriteStream(path, { flags: 'wx' }));
        await result.dispose();
        return {
          path,
          size: (await stat(path)).size,
          digest: digester.digest(),
          mediaType: opts.helm ? MediaType.HelmChart : MediaType.LayerGzip,
          dispose,
        };
      } catch (err) {
        await dispose();
        throw toObjectFailure(err);
      }
    },
  };
}

/**
 * The stages' ArtifactStore port over shared/snapshot (RegistryStore for a registry, LayoutStore for OCI layouts).
 */
import {
  CosignSigner,
  deleteCosignSignature,
  hasCosignSignature,
  NotFoundError,
  pushCosignSignature,
  RegistryClient,
  credentialsFromDockerConfig,
  describeConnectionError,
  parseImageReference,
  type Target,
} from '../../shared/oci/index.js';
import { ArtifactSetError, copyArtifactSet, extractChartFromArtifactSet } from './ocm-lib.js';
import {
  copyArtifact,
  type OciStore,
  type ArtifactKind,
} from '../../shared/snapshot/index.js';
import {
  DigestMismatchError,
  ObjectFailure,
  Reason,
  ResourceContentError,
  SnapshotContentMissingError,
  TransientError,
  type ArtifactSetRequest,
  type ArtifactStore,
  type CopyInRequest,
  type CopyOutRequest,
  type LayerKind,
  type LocalBlob,
  type PushedArtifact,
  type SingleLayerRequest,
} from '../../shared/ports/index.js';
import { tagFor } from '../../shared/stagekit/names.js';
import { spool } from './temp-file.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { egressRefusal, type EgressPolicy } from '../../shared/egress/index.js';

export interface ArtifactStoreAdapterOptions {
  /** host[:port] Flux and Snapshot status use for this store (e.g. the in-cluster service); default: the store URL's host */
  publicHost?: string;
  /** registries reached over plain HTTP when copying in/out (host:port); everything else is HTTPS */
  insecureHosts?: string[];
  /** PEM CA for external registries */
  caFile?: string;
  /** where sources (copyIn) and targets (copyOut) may be (shared/egress); unrestricted when absent */
  egress?: EgressPolicy;
  /** settings put on every Flux OCIRepository */
  flux?: ArtifactStore['flux'];
  /** sign published artifacts with this key (cosign-compatible); Flux finds the public key in `verifySecretRef` */
  signing?: { signer: CosignSigner; verifySecretRef: string };
  /**
   * How long a manifest seen in the registry counts as present without asking again (default 10 s; 0 = always ask).
   * The no-op check of every event asks; a manifest is only removed by our own deleteManifest (which forgets it
   * here), by a manual delete (whose registry event asks with `fresh`) or by the registry's retention, whose loss
   * is then noticed this much later.
   */
  presentTtlMs?: number;
}

const KIND: Record<LayerKind, ArtifactKind> = {
  'component-descriptors': 'descriptors',
  'helm-chart': 'helm',
  blob: 'archive',
};

/** A connection or TLS failure to `host` as an error in words (TransientError when worth retrying). */
function connectionProblem(err: unknown, host: string): Error | undefined {
  const p = describeConnectionError(err, host);
  if (!p) return undefined;
  return p.transient ? new TransientError(p.message, { cause: err }) : new Error(p.message, { cause: err });
}

/** An egress refusal becomes the object's failure with `refused` as its reason; artifact-set problems name the blob. */
function mapError(err: unknown, refused: Reason = Reason.SourceNotAllowed): unknown {
  const refusal = egressRefusal(err);
  if (refusal) return new ObjectFailure(refused, refusal.message, { cause: err });
  if (err instanceof ArtifactSetError) return new ResourceContentError(err.message, err.blob);
  return err;
}

export function artifactStoreAdapter(store: OciStore, opts: ArtifactStoreAdapterOptions = {}): ArtifactStore & { close(): Promise<void> } {
  const publicHost = opts.publicHost ?? (store.url.startsWith('file:') ? 'localhost' : new URL(store.url).host);
  const insecure = new Set(opts.insecureHosts ?? []);
  const clients: RegistryClient[] = [];
  const presentTtl = opts.presentTtlMs ?? 10_000;
  const seen = new Map<string, number>();
  const seenKey = (repository: string, digest: string): string => `${repository}@${digest}`;

  function external(host: string, dockerConfig?: Buffer, plainHttp = false): RegistryClient {
    const scheme = plainHttp || insecure.has(host) ? 'http' : 'https';
    const client = new RegistryClient({
      url: `${scheme}://${host}`,
      ...(dockerConfig ? { credentials: credentialsFromDockerConfig(dockerConfig) } : {}),
      ...(opts.caFile ? { caFile: opts.caFile } : {}),
      ...(opts.egress?.guardsConnections ? { guard: opts.egress } : {}),
    });
    clients.push(client);
    return client;
  }

  async function release(client: RegistryClient): Promise<void> {
    clients.splice(clients.indexOf(client), 1);
    await client.close();
  }

  const signing = opts.signing;
  const signatures: ArtifactStore['signatures'] = signing && {
    verifySecretRef: signing.verifySecretRef,
    async sign(repository: string, digest: string): Promise<void> {
      await pushCosignSignature(store.repository(repository), `${publicHost}/${repository}`, digest, signing.signer);
    },
    async isSigned(repository: string, digest: string): Promise<boolean> {
      return hasCosignSignature(store.repository(repository), digest, signing.signer);
    },
  };

  return {
    flux: opts.flux ?? {},
    ...(signatures ? { signatures } : {}),

    referenceFor(repository: string): string {
      return `${publicHost}/${repository}`;
    },

    async pushSingleLayer(req: SingleLayerRequest): Promise<PushedArtifact> {
      const p = req.annotations;
      const pushed = await store
        .pushArtifact(
          req.repository,
          {
            content: { path: req.content.path },
            mediaType: req.ocmMediaType ?? req.content.mediaType,
            name: req.resourceName ?? (req.kind === 'component-descriptors' ? 'component-descriptors' : 'content'),
            kind: KIND[req.kind],
            provenance: {
              ...(p.source ? { source: p.source } : {}),
              ...(p.component ? { component: p.component.name, version: p.component.version } : {}),
              ...(p.identity ? { identity: p.identity } : {}),
            },
          },
          req.kind === 'helm-chart' ? {} : { tag: tagFor(req.tag) },
        )
        .catch((err: unknown) => {
          throw mapError(err);
        });
      return {
        repository: req.repository,
        tag: pushed.tag ?? tagFor(req.tag),
        digest: pushed.manifest.digest,
        blob: { digest: pushed.blob.digest, size: pushed.blob.size, mediaType: pushed.blob.mediaType },
      };
    },

    async pushArtifactSet(req: ArtifactSetRequest): Promise<PushedArtifact> {
      const tag = tagFor(req.tag);
      const expect = req.expectDigest ? { expectMain: req.expectDigest } : {};
      if (req.as === 'artifact') {
        const root = await copyArtifactSet(req.content, store.repository(req.repository), { what: req.what, tag, ...expect }).catch(
          (err: unknown) => {
            throw mapError(err);
          },
        );
        return { repository: req.repository, tag, digest: root.digest, blob: { digest: root.digest, size: root.size, mediaType: root.mediaType } };
      }
      const dir = await mkdtemp(join(tmpdir(), 'ocmk-set-'));
      try {
        const chart = await extractChartFromArtifactSet(req.content, dir, { what: req.what, ...expect }).catch((err: unknown) => {
          throw mapError(err);
        });
        return await this.pushSingleLayer({
          repository: req.repository,
          tag: req.tag,
          kind: 'helm-chart',
          content: { path: chart.path, size: chart.layer.size, digest: chart.layer.digest, mediaType: chart.layer.mediaType, dispose: async () => undefined },
          ocmMediaType: req.ocmMediaType,
          resourceName: req.resourceName,
          annotations: req.annotations,
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async copyIn(req: CopyInRequest): Promise<PushedArtifact> {
      // `http://` in a reference means plain HTTP (OCM writes it so for registries transferred to over HTTP)
      const ref = parseImageReference(req.source, { explicitRegistry: true, scheme: true });
      const client = external(ref.registry, req.dockerConfig, ref.insecure === true);
      try {
        const src: Target = client.repository(ref.repository);
        const reference = ref.digest ?? ref.tag ?? 'latest';
        const desc = await src.manifests.resolve(reference);
        if (!desc) throw new NotFoundError(`${req.source}: manifest not found`, { status: 404 });
        if (ref.digest && desc.digest !== ref.digest) throw new DigestMismatchError(req.source, ref.digest, desc.digest);
        if (req.expectDigest && desc.digest !== req.expectDigest) {
          throw new DigestMismatchError(`${req.source} (ociArtifactDigest/v1)`, req.expectDigest, desc.digest);
        }
        const tag = tagFor(req.tag);
        const root = await copyArtifact(src, desc.digest, store.repository(req.repository), { tag });
        return {
          repository: req.repository,
          tag,
          digest: root.digest,
          blob: { digest: root.digest, size: root.size, mediaType: root.mediaType },
        };
      } catch (err) {
        throw connectionProblem(err, ref.registry) ?? mapError(err);
      } finally {
        await release(client);
      }
    },

    async copyOut(req: CopyOutRequest): Promise<{ url: string; digest: string }> {
      const ref = parseImageReference(req.target.includes('/') ? req.target : `${req.target}/`, { explicitRegistry: true, scheme: true });
      const client = external(ref.registry, req.dockerConfig, req.insecure === true);
      try {
        const root = await copyArtifact(store.repository(req.repository), req.digest, client.repository(ref.repository), {
          tag: tagFor(req.tag),
        });
        return { url: `oci://${ref.registry}/${ref.repository}`, digest: root.digest };
      } catch (err) {
        throw mapError(err, Reason.TargetNotAllowed);
      } finally {
        await release(client);
      }
    },

    async hasManifest(repository: string, digest: string, hm: { fresh?: boolean } = {}): Promise<boolean> {
      const k = seenKey(repository, digest);
      if (!hm.fresh && (seen.get(k) ?? 0) > Date.now()) return true;
      try {
        const d = await store.resolve(repository, digest);
        const present = d?.digest === digest;
        if (present && presentTtl > 0) {
          // bounded: forget everything rather than grow without limit
          if (seen.size >= 10_000) seen.clear();
          seen.set(k, Date.now() + presentTtl);
        } else seen.delete(k);
        return present;
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
    },

    async fetchLayer(repository: string, digest: string): Promise<LocalBlob> {
      try {
        const art = await store.fetchArtifact(repository, digest);
        const stream = await store.openBlob(repository, art.blob);
        return await spool(stream, art.blob.mediaType, 'layer');
      } catch (err) {
        const mapped = mapError(err);
        if (mapped instanceof NotFoundError) {
          // A Snapshot said it was there: the registry lost it or it is being replaced; try again later.
          throw new SnapshotContentMissingError(`${repository}@${digest}: ${mapped.message}`, { cause: mapped });
        }
        throw mapped;
      }
    },

    async deleteManifest(repository: string, digest: string): Promise<boolean> {
      seen.delete(seenKey(repository, digest));
      let deleted: boolean;
      try {
        deleted = await store.deleteManifest(repository, digest);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        deleted = false;
      }
      // The publish stage's cosign signature of it (sha256-<hex>.sig) goes too, whichever stage deletes the
      // manifest: a tag, so zot's retention (keepTags .*) would keep it forever. Also when the manifest was gone
      // already, so a retried deletion finishes the job.
      try {
        await deleteCosignSignature(store.repository(repository), digest);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      return deleted;
    },

    async close(): Promise<void> {
      await Promise.all(clients.map((c) => c.close()));
      await store.close();
    },
  };
}

import { ObjectFailure, Reason, type OCMRepositoryObject, type RepositorySpec } from '../ports/index.js';

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v.trim().length > 0;
}

export function parseRepositorySpec(obj: OCMRepositoryObject): RepositorySpec {
  const r = obj.spec?.repositorySpec as Record<string, unknown> | undefined;
  const bad = (field: string, problem: string) =>
    new ObjectFailure(Reason.RepositorySpecInvalid, `OCMRepository ${obj.metadata.name}: spec.repositorySpec.${field} ${problem}`);
  if (!r) throw bad('', 'is required');
  if (r.type === 'OCIRegistry') {
    if (!nonEmpty(r.baseUrl)) throw bad('baseUrl', 'is required for type OCIRegistry');
    if (r.subPath !== undefined && typeof r.subPath !== 'string') throw bad('subPath', 'must be a string');
    return { type: 'OCIRegistry', baseUrl: r.baseUrl, ...(nonEmpty(r.subPath) ? { subPath: r.subPath } : {}) };
  }
  if (r.type === 'CommonTransportFormat') {
    if (!nonEmpty(r.filePath)) throw bad('filePath', 'is required for type CommonTransportFormat');
    return { type: 'CommonTransportFormat', filePath: r.filePath };
  }
  throw bad('type', `must be OCIRegistry or CommonTransportFormat, got ${JSON.stringify(r.type)}`);
}

/** A human-readable source for `org.opencontainers.image.source`. */
export function repositoryUrl(spec: RepositorySpec): string {
  if (spec.type === 'CommonTransportFormat') return `ctf://${spec.filePath}`;
  const base = spec.baseUrl.replace(/\/+$/, '');
  return spec.subPath ? `${base}/${spec.subPath.replace(/^\/+/, '')}` : base;
}

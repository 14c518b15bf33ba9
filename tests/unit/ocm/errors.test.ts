/** shared/ocm/errors.ts: every error has a code a handler maps to a reason, its class name, and a message naming what it is about. */
import { describe, expect, it } from 'vitest';
import {
  DescriptorValidationError,
  DigestMismatchError,
  NoMatchingVersionError,
  OcmError,
  ReferenceCycleError,
  TransportError,
} from '../../../shared/ocm/errors.js';

describe('OCM errors', () => {
  it('carry a code, their class name and the cause they were given', () => {
    const cause = new Error('socket hang up');
    const e = new TransportError('GET https://registry.example/v2/ failed', { cause });
    expect(e).toBeInstanceOf(OcmError);
    expect(e.code).toBe('Transport');
    expect(e.name).toBe('TransportError');
    expect(e.cause).toBe(cause);
  });

  it('a validation error names the first offending field and counts the others', () => {
    const e = new DescriptorValidationError(
      [
        { path: '/component/name', message: 'is required' },
        { path: '/component/version', message: 'is required' },
      ],
      'v2',
    );
    expect(e.message).toBe('component descriptor (v2) invalid at /component/name: is required (and 1 more)');
    expect(e.path).toBe('/component/name');
    expect(new DescriptorValidationError([], 'v2').message).toBe('component descriptor (v2) invalid at /: invalid');
  });

  it('a digest mismatch keeps what, expected and actual; a reference cycle its path; no matching version lists what there is', () => {
    const d = new DigestMismatchError('resource chart', 'sha256:aa', 'sha256:bb');
    // one class for the OCI client and OCM (shared/oci/errors.ts), re-exported by shared/ocm
    expect([d.name, d.what, d.expected, d.actual]).toEqual(['DigestMismatchError', 'resource chart', 'sha256:aa', 'sha256:bb']);
    expect(d.message).toBe('resource chart: digest mismatch, expected sha256:aa but content hashes to sha256:bb');
    expect(new ReferenceCycleError(['a:1', 'b:1', 'a:1']).message).toBe('component reference cycle: a:1 -> b:1 -> a:1');
    expect(new NoMatchingVersionError('acme.org/app', '>=2.0.0', '^2\\.', []).message).toBe(
      'no version of acme.org/app matches semver ">=2.0.0" and filter /^2\\./ (available: none)',
    );
  });
});

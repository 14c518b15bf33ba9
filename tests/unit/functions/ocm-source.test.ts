import { describe, expect, it } from 'vitest';
import { mapOcmError } from '../../../functions/adapters/ocm-source.js';
import { DigestMismatchError, parseComponentDescriptor } from '../../../shared/ocm/index.js';
import { ObjectFailure, Reason } from '../../../shared/ports/index.js';
import { thrownBy } from '../../support/thrown.js';


describe('OCM errors -> reasons', () => {
  it('a YAML alias bomb in a descriptor is DescriptorInvalid, not CheckVersionFailed', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghij'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(',')}]`)].join('\n');
    const mapped = mapOcmError(thrownBy(() => parseComponentDescriptor(bomb)), Reason.CheckVersionFailed);
    expect(mapped).toBeInstanceOf(ObjectFailure);
    expect((mapped as ObjectFailure).reason).toBe(Reason.DescriptorInvalid);
    expect(mapped.message).toMatch(/alias/i);
  });

  it('descriptor bytes that do not match their manifest digest are DescriptorDigestMismatch while reading descriptors', () => {
    const err = new DigestMismatchError('component descriptor layer of acme.org/app:1.0.0', 'sha256:aa', 'sha256:bb');
    for (const reason of [Reason.CheckVersionFailed, Reason.GetComponentDescriptorsFailed]) {
      const mapped = mapOcmError(err, reason) as ObjectFailure;
      expect(mapped.reason).toBe(Reason.DescriptorDigestMismatch);
      expect(mapped.message).toContain('acme.org/app:1.0.0');
    }
    // elsewhere (resource bytes) a mismatch stays a digest mismatch the stage words itself
    expect(mapOcmError(err, Reason.GetResourceFailed)).not.toBeInstanceOf(ObjectFailure);
  });
});

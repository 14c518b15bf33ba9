import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextLink } from '../../../shared/oci/index.js';

describe('Link header', () => {
  it('finds rel="next" among several links and params', () => {
    expect(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"')).toBe('/v2/a/tags/list?n=2&last=b');
    expect(nextLink('<https://x/prev>; rel="prev", <https://x/next?a=1,2>; title="t"; rel="next"')).toBe('https://x/next?a=1,2');
    expect(nextLink('<https://x/n>; rel=next')).toBe('https://x/n');
    expect(nextLink('<https://x/p>; rel="prev"')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
  });
  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.string(), (s) => void nextLink(s)));
  });
});

import { describe, expect, it } from 'vitest';
import { compareSequencers } from '../../src/index.ts';
import { AppliedVersions, isAllowed, quoteEtag, unquoteEtag } from '../../src/sync/policy.ts';

describe('compareSequencers', () => {
  it.each([
    ['0055AED6DCD90281E5', '0055AED6DCD90281E6', -1],
    ['0055AED6DCD90281E5', '0055AED6DCD90281E5', 0],
    ['5', '0005', 0],
    ['FFFF', '10000', -1],
    ['10000', 'FFFF', 1],
    ['00a1', '00A1', 0],
  ])('orders %s and %s as %i, left-padding the shorter with zeros', (a, b, expected) => {
    expect(Math.sign(compareSequencers(a, b))).toBe(expected);
  });
});

describe('isAllowed', () => {
  const allow = { buckets: ['registry-prod'], keyPrefixes: ['v0/', 'mirror/'] };
  it.each([
    ['registry-prod', 'v0/registry.json', true],
    ['registry-prod', 'mirror/a.json', true],
    ['registry-prod', 'v1/registry.json', false],
    ['registry-prod', 'V0/registry.json', false],
    ['registry-prod2', 'v0/registry.json', false],
    ['registry', 'v0/registry.json', false],
  ])('%s/%s → %s', (bucket, key, expected) => {
    expect(isAllowed(allow, bucket, key)).toBe(expected);
  });

  it('allows every key of an allowed bucket when no prefix is given', () => {
    expect(isAllowed({ buckets: ['registry-prod'] }, 'registry-prod', 'anything')).toBe(true);
  });
});

describe('ETag quoting', () => {
  it('adds the quotes If-Match needs and strips them for comparison', () => {
    expect(quoteEtag('abc')).toBe('"abc"');
    expect(quoteEtag('"abc"')).toBe('"abc"');
    expect(quoteEtag('W/"abc"')).toBe('W/"abc"');
    expect(unquoteEtag('"abc"')).toBe('abc');
    expect(unquoteEtag('abc')).toBe('abc');
  });
});

describe('AppliedVersions', () => {
  const object = { bucket: 'b', key: 'k' };

  it('knows nothing of an object never applied', () => {
    expect(new AppliedVersions().check({ ...object, sequencer: '01' })).toBeUndefined();
  });

  it('calls an older sequencer stale, the same one a duplicate, a newer one new', () => {
    const applied = new AppliedVersions();
    applied.record({ ...object, eTag: '"e2"', sequencer: '0A' });
    expect(applied.check({ ...object, sequencer: '09' })).toBe('stale');
    expect(applied.check({ ...object, sequencer: 'A' })).toBe('duplicate');
    expect(applied.check({ ...object, sequencer: '0B' })).toBeUndefined();
    expect(applied.check({ ...object, sequencer: '0B', eTag: 'e3' })).toBeUndefined();
    // The same bytes under a newer sequencer: nothing to fetch, and the sequencer is not taken.
    expect(applied.check({ ...object, sequencer: 'FF', eTag: 'e2' })).toBe('duplicate');
    expect(applied.check({ bucket: 'b', key: 'other', sequencer: '01' })).toBeUndefined();
  });

  it('falls back to version id and ETag equality without sequencers', () => {
    const applied = new AppliedVersions();
    applied.record({ ...object, eTag: '"e2"', versionId: 'v2' });
    expect(applied.check({ ...object, eTag: 'e2' })).toBe('duplicate');
    expect(applied.check({ ...object, versionId: 'v2' })).toBe('duplicate');
    expect(applied.check({ ...object, eTag: 'e3' })).toBeUndefined();
  });

  it("drops the last event's sequencer when a fetch without one brought another object", () => {
    const applied = new AppliedVersions();
    applied.record({ ...object, eTag: 'e1', sequencer: '05' });
    applied.record({ ...object, eTag: 'e1' });
    expect(applied.get(object)?.sequencer).toBe('05');
    applied.record({ ...object, eTag: 'e2' });
    expect(applied.get(object)?.sequencer).toBeUndefined();
  });
});

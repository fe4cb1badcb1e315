import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatS3Url,
  isValidBucketName,
  parseS3Url,
  type S3Location,
  S3UrlError,
  type S3UrlStyle,
} from '../../src/index.ts';

// Fixed seed: a failure reproduces on every run and on every machine.
const SEED = 20_261_122;
const RUNS = 5_000;

const SEEDS = [
  's3://my-bucket/path/to/file.json?versionId=abc',
  'https://my-bucket.s3.us-west-2.amazonaws.com/a%20b+c',
  'https://s3.eu-west-1.amazonaws.com/my.bucket/k',
  'https://my-bucket.s3.dualstack.cn-north-1.amazonaws.com.cn/k',
  'https://my-bucket.s3-accelerate.amazonaws.com/k',
  's3://arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap/key',
  'https://my-ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com/k',
  'https://s3-fips.dualstack.us-east-1.amazonaws.com/b-1/%E2%9C%93',
];

// Characters that matter to the grammar, so mutations land on interesting boundaries.
const ALPHABET = [...'abcs3-.:/?#%@\\+=&AZ09 é', '%2F', '%zz', '..', 'amazonaws.com', 'dualstack', 'fips', '\n'];

function onlyS3UrlErrors(input: string): void {
  try {
    const parsed = parseS3Url(input);
    // Whatever is accepted is well-formed.
    expect(parsed.key.length).toBeGreaterThan(0);
    expect(parsed.bucket.length).toBeGreaterThan(0);
  } catch (error) {
    if (!(error instanceof S3UrlError)) throw error;
    expect(error.code).toBe('ERR_S3_URL');
  }
}

const mutation = fc.record({
  seed: fc.constantFrom(...SEEDS),
  edits: fc.array(
    fc.record({
      op: fc.constantFrom('insert', 'delete', 'replace'),
      at: fc.nat(),
      text: fc.constantFrom(...ALPHABET),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

function applyEdits(seed: string, edits: readonly { op: string; at: number; text: string }[]): string {
  let out = seed;
  for (const { op, at, text } of edits) {
    const i = at % (out.length + 1);
    if (op === 'insert') out = out.slice(0, i) + text + out.slice(i);
    else if (op === 'delete') out = out.slice(0, i) + out.slice(i + 1);
    else out = out.slice(0, i) + text + out.slice(i + 1);
  }
  return out;
}

const bucketName = fc
  .array(fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/), { minLength: 1, maxLength: 3 })
  .map((labels) => labels.join('.'))
  .filter(isValidBucketName);

const key = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 60 })
  .filter((k) => Buffer.byteLength(k, 'utf8') <= 1024);

const region = fc.constantFrom(
  'us-east-1',
  'eu-west-1',
  'ap-southeast-2',
  'cn-north-1',
  'us-gov-west-1',
  'eusc-de-east-1',
);

const location: fc.Arbitrary<S3Location> = fc
  .record(
    { bucket: bucketName, key, region, versionId: fc.string({ minLength: 1, maxLength: 40 }) },
    { requiredKeys: ['bucket', 'key'] },
  )
  .map((l) => l as S3Location);

describe('parseS3Url (properties)', () => {
  it('throws nothing but S3UrlError for any string', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), onlyS3UrlErrors), {
      seed: SEED,
      numRuns: RUNS,
    });
  });

  it('throws nothing but S3UrlError for URL-shaped strings', () => {
    const urlish = fc
      .tuple(
        fc.constantFrom('s3://', 'https://', 'http://', 'S3://', ''),
        fc.string({ unit: 'grapheme-ascii', maxLength: 120 }),
      )
      .map(([scheme, rest]) => scheme + rest);
    fc.assert(fc.property(urlish, onlyS3UrlErrors), { seed: SEED, numRuns: RUNS });
  });

  it('throws nothing but S3UrlError for mutations of valid URLs', () => {
    fc.assert(
      fc.property(mutation, ({ seed, edits }) => onlyS3UrlErrors(applyEdits(seed, edits))),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('accepts only hosts that end in an AWS DNS suffix', () => {
    fc.assert(
      fc.property(fc.domain(), (domain) => {
        const parsed = (() => {
          try {
            return parseS3Url(`https://${domain}/bucket-1/key`);
          } catch {
            return undefined;
          }
        })();
        if (parsed !== undefined) {
          expect(domain.toLowerCase()).toMatch(
            /\.(amazonaws\.com|amazonaws\.com\.cn|amazonaws\.eu|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/,
          );
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

describe('formatS3Url → parseS3Url (properties)', () => {
  it.each(['virtual-hosted', 'path'] satisfies S3UrlStyle[])('round-trips every location in %s style', (style) => {
    fc.assert(
      fc.property(location, (loc) => {
        const parsed = parseS3Url(formatS3Url(loc, { style }));
        expect(parsed).toStrictEqual({ ...loc, style });
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('round-trips every location without a region in s3 style', () => {
    fc.assert(
      fc.property(location, ({ region: _region, ...loc }) => {
        const parsed = parseS3Url(formatS3Url(loc));
        expect(parsed).toStrictEqual({ ...loc, style: 's3' });
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

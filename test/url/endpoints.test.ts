import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { S3UrlError } from '../../src/errors.ts';
import { type ParseS3UrlOptions, parseS3Url, tryParseS3Url } from '../../src/url/s3-url.ts';

const options: ParseS3UrlOptions = {
  endpoints: [
    { url: 'http://127.0.0.1:9000' },
    { url: 'http://localhost:4566/' },
    { url: 'https://r2.example.com', virtualHosted: true },
    { url: 'http://[::1]:9000' },
  ],
};

type Expected = { bucket: string; key: string; style: string; endpoint: string; versionId?: string };

const accepted: readonly (readonly [string, Expected])[] = [
  [
    'http://127.0.0.1:9000/registry/registry.json',
    { bucket: 'registry', key: 'registry.json', style: 'path', endpoint: 'http://127.0.0.1:9000' },
  ],
  [
    'http://127.0.0.1:9000/registry/v0/my%20file+1.json?versionId=3HL4kq',
    {
      bucket: 'registry',
      key: 'v0/my file+1.json',
      style: 'path',
      endpoint: 'http://127.0.0.1:9000',
      versionId: '3HL4kq',
    },
  ],
  [
    'HTTP://LOCALHOST:4566/registry/registry.json',
    { bucket: 'registry', key: 'registry.json', style: 'path', endpoint: 'http://localhost:4566' },
  ],
  [
    'https://registry.r2.example.com/registry.json',
    { bucket: 'registry', key: 'registry.json', style: 'virtual-hosted', endpoint: 'https://r2.example.com' },
  ],
  [
    'https://my.registry.r2.example.com/a/b.json',
    { bucket: 'my.registry', key: 'a/b.json', style: 'virtual-hosted', endpoint: 'https://r2.example.com' },
  ],
  [
    'https://R2.Example.com/registry/registry.json',
    { bucket: 'registry', key: 'registry.json', style: 'path', endpoint: 'https://r2.example.com' },
  ],
  [
    'https://r2.example.com:443/registry/registry.json',
    { bucket: 'registry', key: 'registry.json', style: 'path', endpoint: 'https://r2.example.com' },
  ],
  [
    'https://registry.r2.example.com:443/registry.json',
    { bucket: 'registry', key: 'registry.json', style: 'virtual-hosted', endpoint: 'https://r2.example.com' },
  ],
  [
    'http://[::1]:9000/registry/registry.json',
    { bucket: 'registry', key: 'registry.json', style: 'path', endpoint: 'http://[::1]:9000' },
  ],
];

// Each is refused with the option set; the reason names what is wrong.
const lookAlikes: readonly (readonly [string, RegExp])[] = [
  ['http://127.0.0.1.evil.com:9000/registry/k', /is not an AWS S3 host or a listed endpoint/],
  ['http://127.0.0.1.evil.com/registry/k', /is not an AWS S3 host or a listed endpoint/],
  ['http://evil127.0.0.1:9000/registry/k', /is not an AWS S3 host or a listed endpoint/],
  ['http://127.0.0.1:9001/registry/k', /"127.0.0.1:9001" is not an AWS S3 host or a listed endpoint/],
  ['http://127.0.0.1/registry/k', /is not an AWS S3 host or a listed endpoint/],
  ['http://127.0.0.1:80/registry/k', /is not an AWS S3 host or a listed endpoint/],
  ['http://127.0.0.1:09000/registry/k', /is not an AWS S3 host or a listed endpoint/],
  ['http://127.0.0.2:9000/registry/k', /is not an AWS S3 host or a listed endpoint/],
  ['https://127.0.0.1:9000/registry/k', /listed for this host is http:\/\/127\.0\.0\.1:9000: the scheme differs/],
  ['http://registry.r2.example.com/k', /listed for this host is https:\/\/r2\.example\.com: the scheme differs/],
  ['http://r2.example.com/registry/k', /the scheme differs/],
  ['http://registry.127.0.0.1:9000/k', /is not an AWS S3 host or a listed endpoint/],
  ['http://registry.localhost:4566/k', /is not an AWS S3 host or a listed endpoint/],
  ['https://registry.r2.example.com.evil.com/k', /is not an AWS S3 host or a listed endpoint/],
  ['https://r2.example.com.evil.com/registry/k', /is not an AWS S3 host or a listed endpoint/],
  ['https://registryr2.example.com/k', /is not an AWS S3 host or a listed endpoint/],
  ['https://evilr2.example.com/registry/k', /is not an AWS S3 host or a listed endpoint/],
  ['https://example.com/registry/k', /is not an AWS S3 host or a listed endpoint/],
  ['https://r2.example.com./registry/k', /is not a valid host name|not an AWS S3 host/],
  ['https://registry.r2.example.com:8443/k', /is not an AWS S3 host or a listed endpoint/],
  ['https://user@r2.example.com/registry/k', /credentials/],
  ['https://r2.example.com@evil.com/registry/k', /credentials/],
  ['https://evil.com\\@registry.r2.example.com/k', /backslash|invalid bucket name/],
  ['https://evil.com/r2.example.com/registry/k', /is not an AWS S3 host or a listed endpoint/],
  ['https://r2.example.com%2eevil.com/registry/k', /is not an S3 host/],
  ['http://[::1]:9001/registry/k', /invalid port|not an S3 host|not an AWS S3 host/],
  ['http://[::2]:9000/registry/k', /invalid port|not an S3 host|not an AWS S3 host/],
];

// Bucket rules and the rest of the grammar still hold on a listed endpoint.
const badForms: readonly (readonly [string, RegExp])[] = [
  ['http://127.0.0.1:9000/Bad_Bucket/k', /invalid bucket name "Bad_Bucket"/],
  ['http://127.0.0.1:9000/ab/k', /3 to 63 characters/],
  ['http://127.0.0.1:9000/192.168.1.1/k', /IP address/],
  ['http://127.0.0.1:9000/xn--registry/k', /reserved/],
  ['http://127.0.0.1:9000/my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias/k', /reserved/],
  ['https://xn--registry.r2.example.com/k', /reserved/],
  ['https://a..b.r2.example.com/k', /adjacent dots|invalid bucket name/],
  ['https://192.168.1.1.r2.example.com/k', /IP address/],
  ['http://127.0.0.1:9000/registry', /names no object key/],
  ['http://127.0.0.1:9000/registry/', /names no object key/],
  ['http://127.0.0.1:9000/', /names no bucket/],
  ['http://127.0.0.1:9000', /names no bucket/],
  ['https://registry.r2.example.com', /names no object key/],
  ['http://127.0.0.1:9000/registry/k#top', /fragment/],
  ['http://127.0.0.1:9000/registry/100%.json', /malformed percent-encoding/],
];

describe('parseS3Url with custom endpoints', () => {
  it.each(accepted)('accepts %s', (input, expected) => {
    expect(parseS3Url(input, options)).toEqual(expected);
    expect(tryParseS3Url(input, options)).toEqual(expected);
  });

  it.each(accepted)('refuses %s when no endpoint is listed', (input) => {
    expect(() => parseS3Url(input)).toThrow(S3UrlError);
    expect(() => parseS3Url(input, {})).toThrow(S3UrlError);
    expect(() => parseS3Url(input, { endpoints: [] })).toThrow(S3UrlError);
    expect(tryParseS3Url(input)).toBeUndefined();
  });

  it.each(lookAlikes)('refuses the look-alike %s', (input, reason) => {
    expect(() => parseS3Url(input, options)).toThrow(S3UrlError);
    expect(() => parseS3Url(input, options)).toThrow(reason);
    expect(tryParseS3Url(input, options)).toBeUndefined();
  });

  it.each(badForms)('still enforces the grammar and bucket rules: %s', (input, reason) => {
    expect(() => parseS3Url(input, options)).toThrow(reason);
  });

  it('accepts path style only, without virtualHosted', () => {
    const pathOnly = { endpoints: [{ url: 'https://minio.internal.example' }] };
    expect(parseS3Url('https://minio.internal.example/registry/k', pathOnly).style).toBe('path');
    expect(() => parseS3Url('https://registry.minio.internal.example/k', pathOnly)).toThrow(/not an AWS S3 host/);
  });

  it('parses AWS URLs exactly as without the option', () => {
    for (const input of [
      's3://registry-prod/v0/registry.json',
      'https://registry-prod.s3.us-west-2.amazonaws.com/registry.json',
      'https://s3.amazonaws.com/registry-prod/registry.json?versionId=abc',
    ]) {
      expect(parseS3Url(input, options)).toEqual(parseS3Url(input));
      expect(parseS3Url(input, options)).not.toHaveProperty('endpoint');
    }
    expect(() => parseS3Url('https://s3.amazonaws.com.evil.com/b/k', options)).toThrow(/not an AWS S3 host/);
  });

  it('sees an array changed after its first use', () => {
    const endpoints = [{ url: 'http://127.0.0.1:9000' }];
    const input = 'http://127.0.0.1:9100/registry/k';
    expect(() => parseS3Url(input, { endpoints })).toThrow(S3UrlError);
    endpoints.push({ url: 'http://127.0.0.1:9100' });
    expect(parseS3Url(input, { endpoints }).endpoint).toBe('http://127.0.0.1:9100');
    endpoints[1] = { url: 'http://127.0.0.1:9200' };
    expect(() => parseS3Url(input, { endpoints })).toThrow(S3UrlError);
  });
});

describe('parseS3Url options validation', () => {
  const typeErrors: readonly (readonly [string, unknown, RegExp])[] = [
    ['options is null', null, /^options must be an object, received null/],
    ['options is a string', 'http://127.0.0.1:9000', /^options must be an object/],
    ['endpoints is a string', { endpoints: 'http://127.0.0.1:9000' }, /^options\.endpoints must be an array/],
    ['endpoints is an object', { endpoints: { url: 'http://127.0.0.1:9000' } }, /^options\.endpoints must be an array/],
    ['an entry is a string', { endpoints: ['http://127.0.0.1:9000'] }, /^options\.endpoints\[0\] must be an object/],
    [
      'an entry is null',
      { endpoints: [{ url: 'http://a.example' }, null] },
      /^options\.endpoints\[1\] must be an object/,
    ],
    ['url is missing', { endpoints: [{}] }, /^options\.endpoints\[0\]\.url must be a string, received undefined/],
    [
      'url is a URL object',
      { endpoints: [{ url: new URL('http://a.example') }] },
      /endpoints\[0\]\.url must be a string/,
    ],
    [
      'virtualHosted is a string',
      { endpoints: [{ url: 'https://r2.example.com', virtualHosted: 'yes' }] },
      /^options\.endpoints\[0\]\.virtualHosted must be a boolean, received "yes"/,
    ],
  ];
  it.each(typeErrors)('throws TypeError when %s', (_name, value, message) => {
    expect(() => parseS3Url('s3://registry/k', value as ParseS3UrlOptions)).toThrow(TypeError);
    expect(() => parseS3Url('s3://registry/k', value as ParseS3UrlOptions)).toThrow(message);
    expect(() => tryParseS3Url('s3://registry/k', value as ParseS3UrlOptions)).toThrow(TypeError);
  });

  const rangeErrors: readonly (readonly [string, string, RegExp, boolean?])[] = [
    ['not a URL', '127.0.0.1:9000', /endpoints\[0\]\.url must use http: or https:|must be an absolute/],
    ['a relative URL', '/minio', /endpoints\[0\]\.url must be an absolute http: or https: URL, received "\/minio"/],
    ['another scheme', 'ftp://127.0.0.1:9000', /endpoints\[0\]\.url must use http: or https:/],
    ['s3 scheme', 's3://bucket', /endpoints\[0\]\.url must use http: or https:/],
    ['credentials', 'http://minio:secret@127.0.0.1:9000', /endpoints\[0\]\.url must not hold credentials/],
    ['a path', 'http://127.0.0.1:9000/minio', /endpoints\[0\]\.url must be an origin without a path/],
    ['a query', 'http://127.0.0.1:9000?x=1', /endpoints\[0\]\.url must be an origin without a path, query/],
    ['a fragment', 'http://127.0.0.1:9000#x', /endpoints\[0\]\.url must be an origin/],
    ['an AWS host', 'https://s3.us-west-2.amazonaws.com', /endpoints\[0\]\.url is an AWS host/],
    ['an AWS domain', 'https://amazonaws.com', /endpoints\[0\]\.url is an AWS host/],
    ['an AWS China host', 'https://s3.cn-north-1.amazonaws.com.cn', /endpoints\[0\]\.url is an AWS host/],
    ['an IP address, virtual-hosted', 'http://127.0.0.1:9000', /virtualHosted needs a host name/, true],
    ['an IPv6 address, virtual-hosted', 'http://[::1]:9000', /virtualHosted needs a host name/, true],
    ['a parent of AWS hosts, virtual-hosted', 'https://com', /parent domain of AWS hosts/, true],
  ];
  it.each(rangeErrors)('throws RangeError naming the option for %s', (_name, url, message, virtualHosted) => {
    const value: ParseS3UrlOptions = {
      endpoints: [
        { url: url as string, ...(virtualHosted === undefined ? {} : { virtualHosted: virtualHosted as boolean }) },
      ],
    };
    expect(() => parseS3Url('s3://registry/k', value)).toThrow(RangeError);
    expect(() => parseS3Url('s3://registry/k', value)).toThrow(message);
  });

  it('throws RangeError for an endpoint listed twice', () => {
    const value = { endpoints: [{ url: 'https://r2.example.com' }, { url: 'https://R2.example.com:443/' }] };
    expect(() => parseS3Url('s3://registry/k', value)).toThrow(RangeError);
    expect(() => parseS3Url('s3://registry/k', value)).toThrow(/endpoints\[1\]\.url lists https:\/\/r2\.example\.com/);
  });

  it('validates options before the input', () => {
    expect(() => parseS3Url(42 as unknown as string, { endpoints: 'x' } as unknown as ParseS3UrlOptions)).toThrow(
      TypeError,
    );
  });
});

describe('parseS3Url with custom endpoints, on mutated URLs', () => {
  const SEED = 20_261_130;
  const SEEDS = [
    'http://127.0.0.1:9000/registry/registry.json',
    'https://registry.r2.example.com/a%20b?versionId=x',
    'https://r2.example.com/my.bucket/k',
    'http://localhost:4566/registry/k',
  ];
  const ALPHABET = [...'abr2.:/@\\?#%-09 eE', '%2e', '127.0.0.1', 'evil.com', ':9000', ':443', 'https', 'http'];
  const ENDPOINT_HOSTS = new Map([
    ['http:', ['127.0.0.1:9000', 'localhost:4566', '[::1]:9000']],
    ['https:', ['r2.example.com']],
  ]);

  it('accepts a mutated URL only where a WHATWG parser sends the request to a listed endpoint', () => {
    let onCustom = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...SEEDS),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...ALPHABET), fc.boolean()), { minLength: 1, maxLength: 3 }),
        (seed, edits) => {
          let input = seed;
          for (const [at, text, insert] of edits) {
            const i = at % (input.length + 1);
            input = input.slice(0, i) + text + input.slice(i + (insert ? 0 : 1));
          }
          let parsed: ReturnType<typeof parseS3Url>;
          try {
            parsed = parseS3Url(input, options);
          } catch (error) {
            expect(error).toBeInstanceOf(S3UrlError);
            return;
          }
          if (parsed.endpoint === undefined) return; // an AWS or s3:// URL the mutation produced
          const url = new URL(input);
          const hosts = ENDPOINT_HOSTS.get(url.protocol) ?? [];
          const host = url.host;
          const onEndpoint =
            parsed.style === 'path' ? hosts.includes(host) : hosts.some((h) => host === `${parsed.bucket}.${h}`);
          expect(onEndpoint).toBe(true);
          onCustom++;
          expect(parsed.endpoint).toBe(url.origin.replace(`//${parsed.bucket}.`, '//'));
        },
      ),
      { seed: SEED, numRuns: 3_000 },
    );
    // The property is not vacuous: many mutations still name an object on a listed endpoint.
    expect(onCustom).toBeGreaterThan(300);
  });
});

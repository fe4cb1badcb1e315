import { refuseUrl as refuse } from '../errors.ts';
import { GLOBAL_DNS_SUFFIX, VPCE_ID } from './aws-names.ts';

/**
 * S3's endpoint grammar: which host names serve objects, and where in them the bucket and the
 * region are. Internal to `parseS3Url`.
 */

// What `scan` calls a plain authority: lowercase non-empty labels of [a-z0-9-].
const PLAIN_HOST = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/;
const PORT = /^\d{1,5}$/;

/** A host's S3 endpoint: what is left of it is the bucket (empty for path style). */
export interface Endpoint {
  readonly kind: 'bucket' | 'accelerate' | 'access-point';
  /** Length of the bucket part of the host, before its dot. */
  readonly bucketEnd: number;
  readonly region: string | undefined;
}

const REFUSED_SERVICES: readonly (readonly [string, string])[] = [
  ['s3-website', 'S3 website endpoints serve web pages, not objects; use the REST endpoint'],
  ['s3-outposts', 'S3 on Outposts is not supported'],
  ['s3-object-lambda', 'Object Lambda access points are not supported'],
  ['s3-control', 'the S3 control endpoint does not serve objects'],
  ['s3express', 'directory bucket (S3 Express One Zone) endpoints are not supported'],
];

function refuseService(input: string, label: string): never {
  for (const [prefix, reason] of REFUSED_SERVICES) {
    if (label.startsWith(prefix)) refuse(input, reason);
  }
  return refuse(input, 'not an S3 host');
}

/**
 * Host labels read from the right: `end` is the index just past a label; returns the index of
 * the dot before it, or -1 when the label starts the host.
 */
function dotBefore(host: string, end: number): number {
  return end <= 0 ? -1 : host.lastIndexOf('.', end - 1);
}

/**
 * Finds the S3 endpoint at the right of `host` (lowercase, `prefixEnd` = where its DNS suffix
 * begins). Every accepted shape is listed here; anything else is refused.
 */
export function matchEndpoint(
  input: string,
  host: string,
  prefixEnd: number,
  dnsSuffix: string,
  regionPattern: RegExp,
): Endpoint {
  const d1 = dotBefore(host, prefixEnd);
  const last = host.slice(d1 + 1, prefixEnd);
  const isGlobalDomain = dnsSuffix === GLOBAL_DNS_SUFFIX;

  if (regionPattern.test(last)) {
    // <service>[.dualstack].<region>
    let d2 = dotBefore(host, d1);
    let service = host.slice(d2 + 1, d1);
    if (service === 'dualstack' && d2 !== -1) {
      const d3 = dotBefore(host, d2);
      service = host.slice(d3 + 1, d2);
      d2 = d3;
    }
    if (d1 === -1 || service === 'dualstack') refuse(input, 'not an S3 host');
    if (service === 's3' || service === 's3-fips') return { kind: 'bucket', bucketEnd: d2, region: last };
    if (service === 's3-accesspoint' || service === 's3-accesspoint-fips') {
      return { kind: 'access-point', bucketEnd: d2, region: last };
    }
    return refuseService(input, service);
  }

  if (last === 's3') {
    if (!isGlobalDomain) refuse(input, `there is no global S3 endpoint under ${dnsSuffix}; name the region`);
    return { kind: 'bucket', bucketEnd: d1, region: undefined };
  }
  if (last === 'vpce') return matchVpcEndpoint(input, host, d1, regionPattern);
  if (isGlobalDomain) {
    if (last === 's3-accelerate') return { kind: 'accelerate', bucketEnd: d1, region: undefined };
    if (last === 'dualstack' && host.slice(dotBefore(host, d1) + 1, d1) === 's3-accelerate') {
      return { kind: 'accelerate', bucketEnd: dotBefore(host, d1), region: undefined };
    }
    if (last === 's3-external-1') return { kind: 'bucket', bucketEnd: d1, region: undefined };
    if (last === 's3-global' && host.slice(dotBefore(host, d1) + 1, d1) === 'accesspoint') {
      refuse(input, 'Multi-Region Access Point hosts are not supported; use s3://<access point ARN>/<key>');
    }
    // Legacy dash forms: s3-<region> and s3-fips-<region>.
    const dashed = last.startsWith('s3-fips-') ? last.slice(8) : last.startsWith('s3-') ? last.slice(3) : '';
    if (dashed !== '' && regionPattern.test(dashed)) return { kind: 'bucket', bucketEnd: d1, region: dashed };
  }
  return refuseService(input, last);
}

/**
 * Interface VPC endpoints (AWS PrivateLink): `[bucket.]vpce-<id>.s3.<region>.vpce.<suffix>`.
 * `accesspoint` and `control` in the bucket position are the endpoint's access point and control
 * hosts, not buckets.
 */
function matchVpcEndpoint(input: string, host: string, d1: number, regionPattern: RegExp): Endpoint {
  const d2 = dotBefore(host, d1);
  const d3 = dotBefore(host, d2);
  const d4 = dotBefore(host, d3);
  const region = host.slice(d2 + 1, d1);
  if (
    d3 === -1 ||
    host.slice(d3 + 1, d2) !== 's3' ||
    !regionPattern.test(region) ||
    !VPCE_ID.test(host.slice(d4 + 1, d3))
  ) {
    refuse(input, 'not an S3 host');
  }
  const bucket = host.slice(0, Math.max(d4, 0));
  if (bucket === 'accesspoint' || bucket === 'control') {
    refuse(input, `the VPC endpoint's ${bucket} host does not name a bucket`);
  }
  return { kind: 'bucket', bucketEnd: d4, region };
}

/**
 * The lowercase host of an authority that is more than a plain lowercase host. A '\\' is refused
 * because WHATWG URL parsers read it as '/': "evil.com\\@bucket.s3…" must not pass for S3.
 */
export function readAuthority(input: string, authority: string): string {
  if (authority.includes('\\')) refuse(input, 'a backslash in the host part');
  if (authority.includes('@')) refuse(input, 'credentials in the URL (user@host) are not accepted');
  let host = authority;
  const colon = host.lastIndexOf(':');
  if (colon !== -1) {
    const port = host.slice(colon + 1);
    if (!PORT.test(port) || Number(port) === 0 || Number(port) > 65_535) refuse(input, 'invalid port');
    host = host.slice(0, colon);
  }
  host = host.toLowerCase();
  if (host.length === 0) refuse(input, 'the URL names no host');
  if (!PLAIN_HOST.test(host)) {
    if (/^[a-z0-9.-]+$/.test(host)) refuse(input, `"${host}" is not a valid host name (empty label)`);
    refuse(input, `"${host}" is not an S3 host`);
  }
  return host;
}

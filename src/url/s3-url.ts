import { refuseUrl as refuse, S3UrlError } from '../errors.ts';
import {
  ACCESS_POINT_HOST_LABEL,
  ACCESS_POINT_NAME,
  ACCOUNT_ID,
  bucketNameProblem,
  DNS_SUFFIXES,
  GLOBAL_DNS_SUFFIX,
  isBucketName,
  isBucketOrAlias,
  isPlainBucketOrAlias,
  keyTooLong,
  MAX_KEY_BYTES,
  MRAP_ALIAS,
  PARTITION_IDS,
  PARTITIONS,
  type Partition,
  regionPartition,
} from './aws-names.ts';
import {
  type CustomMatch,
  matchCustomEndpoint,
  otherSchemeOrigin,
  type ParseS3UrlOptions,
  type ResolvedEndpoints,
  resolveParseOptions,
} from './endpoints.ts';
import { badBucket, finish, parsePathStyle } from './finish.ts';
import { matchEndpoint, readAuthority } from './host.ts';
import { type Scan, scan } from './scan.ts';

export type { ParseS3UrlOptions, S3Endpoint } from './endpoints.ts';

/** Where an object lives: enough to call `GetObject`. */
export interface S3Location {
  /** Bucket name, or an access point ARN (which `GetObject` accepts as `Bucket`). */
  readonly bucket: string;
  /** Object key, fully decoded. */
  readonly key: string;
  /** Region named by the URL. Absent when the URL names none (it is never guessed). */
  readonly region?: string;
  /** Object version named by a `versionId` query parameter. */
  readonly versionId?: string;
}

/**
 * How a URL named its bucket: `s3` for `s3://bucket/key` (and `s3://arn:…/key`), `virtual-hosted`
 * for the bucket (or access point) in the host name, `path` for the bucket as the first path
 * segment.
 */
export type S3UrlStyle = 's3' | 'virtual-hosted' | 'path';

/** The result of {@link parseS3Url}. */
export interface ParsedS3Url extends S3Location {
  /** The form the URL was written in. */
  readonly style: S3UrlStyle;
  /**
   * The origin of the listed custom endpoint the URL named (`http://127.0.0.1:9000`), as
   * `new URL()` writes it. Absent for AWS URLs and `s3://` URLs.
   */
  readonly endpoint?: string;
}

/** Options for {@link formatS3Url}. */
export interface FormatS3UrlOptions {
  /**
   * The form to write. `virtual-hosted` and `path` produce `https://` URLs on the regional
   * endpoint when the location has a region, and on the global `s3.amazonaws.com` endpoint when
   * it has none. `s3` cannot carry a region: a location with one is refused rather than cut.
   * @defaultValue `'s3'`
   */
  readonly style?: S3UrlStyle | undefined;
}

// Generous for a presigned URL with a session token; a longer string is not an S3 URL.
const MAX_INPUT_LENGTH = 16_384;

/**
 * True when `name` follows AWS's naming rules for general-purpose buckets: 3–63 characters of
 * lowercase letters, digits, dots and hyphens; a letter or digit at each end; no `..`; not an IP
 * address; none of the reserved prefixes (`xn--`, `sthree-`, `amzn-s3-demo-`) or suffixes
 * (`-s3alias`, `--ol-s3`, `.mrap`, `--x-s3`, `--table-s3`).
 */
export function isValidBucketName(name: string): boolean {
  return typeof name === 'string' && isBucketName(name);
}

function parseArn(input: string, start: number, scanned: Scan): ParsedS3Url {
  // arn:<partition>:<service>:<region>:<account>:accesspoint/<name>/<key>
  const parts = input.slice(start).split(':');
  if (parts.length < 6) refuse(input, 'malformed ARN');
  const [, partition = '', service = '', region = '', account = ''] = parts;
  if (service === 's3-object-lambda') refuse(input, 'Object Lambda access points are not supported');
  if (service === 's3-outposts') refuse(input, 'S3 on Outposts is not supported');
  if (service !== 's3') refuse(input, `ARN service "${service}" is not S3`);
  if (!PARTITION_IDS.has(partition)) refuse(input, `unknown AWS partition "${partition}" in ARN`);
  const resource = parts.slice(5).join(':');
  if (!resource.startsWith('accesspoint/')) {
    refuse(input, 'only access point ARNs (…:accesspoint/<name>) are accepted in s3:// URLs');
  }
  if (!ACCOUNT_ID.test(account)) refuse(input, 'the ARN account id is not 12 digits');
  const nameStart = input.indexOf(':accesspoint/', start) + ':accesspoint/'.length;
  const slash = input.indexOf('/', nameStart);
  const name = slash === -1 ? input.slice(nameStart) : input.slice(nameStart, slash);
  if (region === '') {
    if (!MRAP_ALIAS.test(name)) refuse(input, 'an ARN without a region must name a Multi-Region Access Point');
  } else {
    const found = regionPartition(region);
    if (found === undefined) refuse(input, `"${region}" is not an AWS region`);
    if (found.id !== partition) refuse(input, `region "${region}" is not in partition "${partition}"`);
    if (!ACCESS_POINT_NAME.test(name) || name.endsWith('-s3alias')) {
      refuse(input, `invalid access point name "${name}"`);
    }
  }
  if (slash === -1) refuse(input, 'the URL names no object key');
  const bucket = `arn:${partition}:s3:${region}:${account}:accesspoint/${name}`;
  return finish(input, scanned, slash + 1, 's3', bucket, region === '' ? undefined : region);
}

function parseS3Uri(input: string, start: number): ParsedS3Url {
  const scanned = scan(input, start);
  if (input.startsWith('arn:', start)) return parseArn(input, start, scanned);
  const end = scanned.authorityEnd;
  const bucket = input.slice(start, end);
  if (scanned.plainAuthority ? !isPlainBucketOrAlias(bucket) : !isBucketOrAlias(bucket)) badBucket(input, bucket);
  if (input.charCodeAt(end) !== 0x2f) refuse(input, 'the URL names no object key');
  return finish(input, scanned, end + 1, 's3', bucket, undefined);
}

function parseCustom(input: string, scanned: Scan, match: CustomMatch): ParsedS3Url {
  const end = scanned.authorityEnd;
  const hasPath = input.charCodeAt(end) === 0x2f;
  let parsed: ParsedS3Url;
  if (match.bucketEnd === -1) {
    if (!hasPath) refuse(input, 'the URL names no bucket');
    parsed = parsePathStyle(input, scanned, end + 1, undefined, false);
  } else {
    const bucket = match.authority.slice(0, match.bucketEnd);
    if (!isBucketName(bucket)) badBucket(input, bucket);
    if (!hasPath) refuse(input, 'the URL names no object key');
    parsed = finish(input, scanned, end + 1, 'virtual-hosted', bucket, undefined);
  }
  return { ...parsed, endpoint: match.endpoint.origin };
}

function notS3Host(
  input: string,
  host: string,
  custom: ResolvedEndpoints | undefined,
  secure: boolean,
  authority: string,
): never {
  if (custom === undefined) refuse(input, `"${host}" is not an AWS S3 host`);
  const other = otherSchemeOrigin(custom, secure, authority);
  if (other !== undefined) refuse(input, `the endpoint listed for this host is ${other}: the scheme differs`);
  return refuse(input, `"${authority.toLowerCase()}" is not an AWS S3 host or a listed endpoint`);
}

function parseHttp(input: string, start: number, secure: boolean, custom: ResolvedEndpoints | undefined): ParsedS3Url {
  const scanned = scan(input, start);
  const end = scanned.authorityEnd;
  const plain = scanned.plainAuthority;
  // A host with a port (or brackets) is matched against the listed endpoints before `readAuthority`
  // refuses what AWS never uses; a plain host only once it is known not to be AWS's. The two sets
  // cannot overlap: AWS hosts and their parent domains cannot be listed.
  if (custom !== undefined && !plain) {
    const match = matchCustomEndpoint(custom, secure, input.slice(start, end), false);
    if (match !== undefined) return parseCustom(input, scanned, match);
  }
  const host = plain ? input.slice(start, end) : readAuthority(input, input.slice(start, end));

  let matched: (typeof DNS_SUFFIXES)[number] | undefined;
  for (const candidate of DNS_SUFFIXES) {
    if (host.endsWith(candidate.suffix)) {
      matched = candidate;
      break;
    }
  }
  if (matched === undefined) {
    const match = custom !== undefined && plain ? matchCustomEndpoint(custom, secure, host, true) : undefined;
    if (match !== undefined) return parseCustom(input, scanned, match);
    notS3Host(input, host, custom, secure, input.slice(start, end));
  }
  const prefixEnd = host.length - matched.suffix.length;
  const endpoint = matchEndpoint(input, host, prefixEnd, matched.dnsSuffix, matched.region);
  const hasPath = input.charCodeAt(end) === 0x2f;
  const pathFrom = end + 1;

  if (endpoint.kind === 'access-point') {
    const match = endpoint.bucketEnd === -1 ? null : ACCESS_POINT_HOST_LABEL.exec(host.slice(0, endpoint.bucketEnd));
    if (match === null) refuse(input, 'an access point host starts with <name>-<account id>');
    if (!hasPath) refuse(input, 'the URL names no object key');
    const region = endpoint.region ?? '';
    const partition = regionPartition(region) as Partition;
    const arn = `arn:${partition.id}:s3:${region}:${match[2]}:accesspoint/${match[1]}`;
    return finish(input, scanned, pathFrom, 'virtual-hosted', arn, region);
  }

  if (endpoint.bucketEnd === -1) {
    if (endpoint.kind === 'accelerate') {
      refuse(input, 'transfer acceleration endpoints take the bucket in the host name');
    }
    if (!hasPath) refuse(input, 'the URL names no bucket');
    return parsePathStyle(input, scanned, pathFrom, endpoint.region, true);
  }

  // Virtual-hosted: the host's characters and labels are already checked.
  const bucket = host.slice(0, endpoint.bucketEnd);
  if (!isPlainBucketOrAlias(bucket)) badBucket(input, bucket);
  if (endpoint.kind === 'accelerate' && bucket.includes('.')) {
    refuse(input, 'buckets used with transfer acceleration have no dots in their names');
  }
  if (!hasPath) refuse(input, 'the URL names no object key');
  return finish(input, scanned, pathFrom, 'virtual-hosted', bucket, endpoint.region);
}

/**
 * Parses any S3 URL form AWS documents into a bucket, key, region and version id:
 *
 * - `s3://bucket/key`, and `s3://<access point ARN>/key`;
 * - virtual-hosted: `https://bucket.s3.<region>.amazonaws.com/key`, the legacy
 *   `bucket.s3-<region>.amazonaws.com` and global `bucket.s3.amazonaws.com` hosts;
 * - path style: `https://s3.<region>.amazonaws.com/bucket/key`, `https://s3.amazonaws.com/bucket/key`;
 * - dual-stack, FIPS and transfer acceleration endpoints, interface VPC endpoints, access point
 *   hosts, the China and other AWS partitions; `?versionId=` in any form.
 *
 * The key is percent-decoded exactly once; `+` stays `+`. Hosts are matched exactly against S3's
 * endpoint grammar; anything else is refused, unless `options.endpoints` lists it (MinIO,
 * LocalStack, R2, an emulator): then path-style URLs on that exact scheme, host and port are
 * accepted, and virtual-hosted ones where the entry says `virtualHosted: true`.
 *
 * @throws {S3UrlError} (`code: 'ERR_S3_URL'`) with the reason, for any input that is not a valid
 * S3 object URL.
 * @throws {TypeError | RangeError} naming the option, when `options` is invalid.
 */
export function parseS3Url(input: string, options?: ParseS3UrlOptions): ParsedS3Url {
  return parse(input, options === undefined ? undefined : resolveParseOptions(options));
}

function parse(input: string, custom: ResolvedEndpoints | undefined): ParsedS3Url {
  if (typeof input !== 'string') {
    throw new S3UrlError({ input: String(input), reason: `expected a string, received ${typeof input}` });
  }
  if (input.length > MAX_INPUT_LENGTH) refuse(input, `longer than ${MAX_INPUT_LENGTH} characters`);
  if (input.charCodeAt(0) === 0x20 || input.charCodeAt(input.length - 1) === 0x20) {
    refuse(input, 'leading or trailing spaces');
  }
  if (input.startsWith('s3://')) return parseS3Uri(input, 5);
  if (input.startsWith('https://')) return parseHttp(input, 8, true, custom);
  if (input.startsWith('http://')) return parseHttp(input, 7, false, custom);
  const sep = input.indexOf('://');
  if (sep === -1) refuse(input, 'expected an s3://, https:// or http:// URL');
  // Schemes are case-insensitive.
  const scheme = input.slice(0, sep).toLowerCase();
  if (scheme === 's3') return parseS3Uri(input, sep + 3);
  if (scheme === 'https' || scheme === 'http') return parseHttp(input, sep + 3, scheme === 'https', custom);
  return refuse(input, `unsupported scheme "${scheme}:"; expected s3, https or http`);
}

/**
 * Like {@link parseS3Url}, but returns `undefined` for a URL it refuses. Invalid `options` still
 * throw (`TypeError`/`RangeError`): they are a mistake in the program, not in the input.
 */
export function tryParseS3Url(input: string, options?: ParseS3UrlOptions): ParsedS3Url | undefined {
  const custom = options === undefined ? undefined : resolveParseOptions(options);
  try {
    return parse(input, custom);
  } catch {
    return undefined;
  }
}

function describe(location: S3Location): string {
  return `${String(location?.bucket)}/${String(location?.key)}`;
}

function encodeKey(input: string, key: string): string {
  try {
    return encodeURIComponent(key).replaceAll('%2F', '/');
  } catch (error) {
    // A lone UTF-16 surrogate cannot be encoded as UTF-8, so it cannot be an S3 key.
    throw new S3UrlError({ input, reason: 'the key is not valid Unicode', cause: error });
  }
}

function formatAccessPoint(input: string, location: S3Location, style: S3UrlStyle, path: string, query: string) {
  const { bucket, region } = location;
  // Validate by parsing the s3:// form, which checks the ARN's partition, region and name.
  const url = `s3://${bucket}/${path}${query}`;
  const parsed = parseS3Url(url);
  if (region !== undefined && parsed.region !== region) {
    refuse(input, `region "${region}" differs from the access point ARN's region`);
  }
  if (style === 's3') return url;
  if (style === 'path') refuse(input, 'access points cannot be addressed in path style');
  if (parsed.region === undefined) refuse(input, 'Multi-Region Access Points have no virtual-hosted form here');
  const [, partitionId, , apRegion, account, resource = ''] = bucket.split(':');
  const dnsSuffix = PARTITIONS.find((p) => p.id === partitionId)?.dnsSuffix;
  const name = resource.slice('accesspoint/'.length);
  return `https://${name}-${account}.s3-accesspoint.${apRegion}.${dnsSuffix}/${path}${query}`;
}

/**
 * Writes a location as a URL that {@link parseS3Url} reads back to the same bucket, key, region
 * and version id.
 *
 * @throws {S3UrlError} when the location itself is invalid (bucket name, empty or over-long key,
 * unknown region), or when the style cannot express it (a region in `s3` style, an access point
 * in `path` style).
 */
export function formatS3Url(location: S3Location, options: FormatS3UrlOptions = {}): string {
  const style = options.style ?? 's3';
  const input = describe(location);
  if (typeof location !== 'object' || location === null) refuse(input, 'expected an S3Location object');
  const { bucket, key, region, versionId } = location;
  if (typeof key !== 'string' || key.length === 0) refuse(input, 'the location has no key');
  if (keyTooLong(key)) refuse(input, `the object key is longer than ${MAX_KEY_BYTES} bytes`);
  if (versionId !== undefined && (typeof versionId !== 'string' || versionId.length === 0)) {
    refuse(input, 'versionId, when given, is a non-empty string');
  }
  if (typeof bucket !== 'string') refuse(input, 'the bucket is not a string');
  const query = versionId === undefined ? '' : `?versionId=${encodeURIComponent(versionId)}`;
  const path = encodeKey(input, key);
  if (bucket.startsWith('arn:')) return formatAccessPoint(input, location, style, path, query);

  if (!isBucketOrAlias(bucket)) refuse(input, `invalid bucket name "${bucket}": ${bucketNameProblem(bucket)}`);
  let dnsSuffix = GLOBAL_DNS_SUFFIX;
  if (region !== undefined) {
    const partition = regionPartition(region);
    if (partition === undefined) refuse(input, `"${region}" is not an AWS region`);
    dnsSuffix = partition.dnsSuffix;
  }
  const endpoint = region === undefined ? `s3.${dnsSuffix}` : `s3.${region}.${dnsSuffix}`;
  switch (style) {
    case 's3':
      if (region !== undefined) refuse(input, 'an s3:// URL cannot carry a region; use virtual-hosted or path');
      return `s3://${bucket}/${path}${query}`;
    case 'virtual-hosted':
      return `https://${bucket}.${endpoint}/${path}${query}`;
    case 'path':
      return `https://${endpoint}/${bucket}/${path}${query}`;
    default:
      return refuse(input, `unknown style "${String(style)}"`);
  }
}

/**
 * The location a `source` option names: an S3 URL (any form {@link parseS3Url} accepts) or an
 * {@link S3Location} with a bucket and a non-empty key. Internal: the one check every option
 * that takes a source shares.
 */
export function toS3Location(source: string | S3Location, options?: ParseS3UrlOptions): S3Location {
  const location = typeof source === 'string' ? parseS3Url(source, options) : source;
  if (typeof location?.bucket !== 'string' || typeof location.key !== 'string' || location.key === '') {
    throw new TypeError('Expected `source` to be an S3 URL or an S3Location with a bucket and a key');
  }
  return location;
}

import { DNS_SUFFIXES } from './aws-names.ts';

/**
 * Custom endpoints: S3-compatible services at an address of their own (MinIO, LocalStack,
 * Cloudflare R2, an emulator). `parseS3Url` accepts their URLs only when the caller lists them.
 */

/** An S3-compatible service that {@link parseS3Url} accepts URLs of, when listed in `endpoints`. */
export interface S3Endpoint {
  /**
   * The service's base URL: `http:` or `https:`, a host name or IP address, and a port when it is
   * not the scheme's default (`http://127.0.0.1:9000`, `https://<account>.r2.cloudflarestorage.com`).
   * No path, query, fragment or credentials. A URL matches only with this exact scheme, host and
   * port; a port equal to the scheme's default (80, 443) is the same as none.
   */
  readonly url: string;
  /**
   * Also accept virtual-hosted URLs, `<scheme>://<bucket>.<host>[:port]/<key>`, for services that
   * serve buckets as subdomains. Path-style URLs (`<url>/<bucket>/<key>`) are always accepted.
   * Needs a host name: an IP address has no subdomains.
   * @defaultValue `false`
   */
  readonly virtualHosted?: boolean;
}

/** Options for {@link parseS3Url} and {@link tryParseS3Url}. */
export interface ParseS3UrlOptions {
  /**
   * Services other than AWS whose URLs are accepted, besides every AWS form. Matching is exact
   * (scheme, host and port); bucket names follow the same rules as on AWS. The list is checked
   * and indexed on first use and again only when it changes, so pass the same array to every call.
   * @defaultValue `[]` (AWS hosts only)
   */
  readonly endpoints?: readonly S3Endpoint[] | undefined;
}

/** A listed endpoint, after checking: its origin as `new URL()` writes it. */
export interface MatchedEndpoint {
  readonly origin: string;
  readonly virtualHosted: boolean;
}

/** The endpoints of one `endpoints` array, indexed for matching an authority. */
export interface ResolvedEndpoints {
  /** Lowercase `host[:port]` → endpoint, per scheme: the path-style hosts. */
  readonly http: ReadonlyMap<string, MatchedEndpoint>;
  readonly https: ReadonlyMap<string, MatchedEndpoint>;
  /** `.host[:port]` suffixes of the virtual-hosted endpoints. */
  readonly virtual: readonly {
    readonly secure: boolean;
    readonly suffix: string;
    readonly endpoint: MatchedEndpoint;
  }[];
}

interface Cached {
  // What the array held when it was resolved: a changed array is resolved again.
  readonly seen: readonly (readonly [entry: unknown, url: unknown, virtualHosted: unknown])[];
  readonly resolved: ResolvedEndpoints;
}

const cache = new WeakMap<readonly S3Endpoint[], Cached>();
// Most programs pass one array: remember the last one so its lookup is one comparison.
let lastArray: readonly S3Endpoint[] | undefined;
let lastCached: Cached | undefined;

const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;
const DEFAULT_PORT = { 'http:': '80', 'https:': '443' } as const;

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value;
}

function isAwsHost(hostname: string): boolean {
  for (const { suffix, dnsSuffix } of DNS_SUFFIXES) {
    if (hostname === dnsSuffix || hostname.endsWith(suffix)) return true;
  }
  return false;
}

/** True for `com`, `com.cn`, `eu`, …: a virtual-hosted entry there would match AWS hosts. */
function isAwsParentDomain(hostname: string): boolean {
  for (const { suffix } of DNS_SUFFIXES) {
    if (suffix.endsWith(`.${hostname}`)) return true;
  }
  return false;
}

function resolveOne(
  entry: unknown,
  name: string,
  index: ResolvedEndpoints & { virtual: ResolvedEndpoints['virtual'][number][] },
): void {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new TypeError(`${name} must be an object like { url: 'http://127.0.0.1:9000' }, received ${show(entry)}`);
  }
  const { url, virtualHosted } = entry as { url?: unknown; virtualHosted?: unknown };
  if (typeof url !== 'string') throw new TypeError(`${name}.url must be a string, received ${show(url)}`);
  if (virtualHosted !== undefined && typeof virtualHosted !== 'boolean') {
    throw new TypeError(`${name}.virtualHosted must be a boolean, received ${show(virtualHosted)}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`${name}.url must be an absolute http: or https: URL, received ${show(url)}`);
  }
  const { protocol, hostname, host, port } = parsed;
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new RangeError(`${name}.url must use http: or https:, received ${show(url)}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new RangeError(`${name}.url must not hold credentials, received ${show(url)}`);
  }
  if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '') {
    throw new RangeError(`${name}.url must be an origin without a path, query or fragment, received ${show(url)}`);
  }
  if (hostname === '') throw new RangeError(`${name}.url names no host, received ${show(url)}`);
  // Listing an AWS domain would turn every name under it into a bucket; AWS hosts need no entry.
  if (isAwsHost(hostname.replace(/\.$/, ''))) {
    throw new RangeError(`${name}.url is an AWS host, which parseS3Url always recognises, received ${show(url)}`);
  }
  const isIp = IPV4.test(hostname) || hostname.startsWith('[');
  if (virtualHosted === true && isIp) {
    throw new RangeError(`${name}.virtualHosted needs a host name, not an IP address, received ${show(url)}`);
  }
  if (virtualHosted === true && isAwsParentDomain(hostname.replace(/\.$/, ''))) {
    throw new RangeError(`${name}.url is a parent domain of AWS hosts, received ${show(url)}`);
  }
  const endpoint: MatchedEndpoint = { origin: parsed.origin, virtualHosted: virtualHosted === true };
  // `new URL()` drops a default port; the input may still write it.
  const authorities = port === '' ? [host, `${host}:${DEFAULT_PORT[protocol]}`] : [host];
  const map = (protocol === 'https:' ? index.https : index.http) as Map<string, MatchedEndpoint>;
  for (const authority of authorities) {
    if (map.has(authority)) throw new RangeError(`${name}.url lists ${parsed.origin} a second time`);
    map.set(authority, endpoint);
    if (endpoint.virtualHosted)
      index.virtual.push({ secure: protocol === 'https:', suffix: `.${authority}`, endpoint });
  }
}

function resolveList(endpoints: readonly unknown[]): ResolvedEndpoints {
  const index = { http: new Map(), https: new Map(), virtual: [] };
  endpoints.forEach((entry, i) => {
    resolveOne(entry, `options.endpoints[${i}]`, index);
  });
  return index;
}

function unchanged(seen: Cached['seen'], endpoints: readonly S3Endpoint[]): boolean {
  if (seen.length !== endpoints.length) return false;
  for (let i = 0; i < seen.length; i++) {
    const entry = endpoints[i];
    const [was, url, virtualHosted] = seen[i] as Cached['seen'][number];
    if (entry !== was || entry?.url !== url || entry?.virtualHosted !== virtualHosted) return false;
  }
  return true;
}

/**
 * Checks `options` and returns its endpoints indexed for matching, or `undefined` when it lists
 * none. Throws `TypeError`/`RangeError` naming the option for a bad value. An array is checked
 * once and indexed once; later calls with the same, unchanged array reuse the index.
 */
export function resolveParseOptions(options: unknown): ResolvedEndpoints | undefined {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`options must be an object, received ${show(options)}`);
  }
  const endpoints = (options as ParseS3UrlOptions).endpoints;
  if (endpoints === undefined) return undefined;
  if (!Array.isArray(endpoints)) {
    throw new TypeError(`options.endpoints must be an array of { url, virtualHosted? }, received ${show(endpoints)}`);
  }
  if (endpoints.length === 0) return undefined;
  const cached = endpoints === lastArray ? lastCached : cache.get(endpoints);
  if (cached !== undefined && unchanged(cached.seen, endpoints)) {
    lastArray = endpoints;
    lastCached = cached;
    return cached.resolved;
  }
  const resolved = resolveList(endpoints);
  const seen = endpoints.map((entry: S3Endpoint) => [entry, entry.url, entry.virtualHosted] as const);
  const entry = { seen, resolved };
  cache.set(endpoints, entry);
  lastArray = endpoints;
  lastCached = entry;
  return resolved;
}

/** ASCII-lowercases an authority; `undefined` when it has a character outside printable ASCII. */
function lowerAuthority(authority: string): string | undefined {
  for (let i = 0; i < authority.length; i++) {
    const c = authority.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return undefined;
  }
  return authority.toLowerCase();
}

/** Where a URL's authority matched a listed endpoint: `bucketEnd` is -1 for path style. */
export interface CustomMatch {
  readonly endpoint: MatchedEndpoint;
  readonly authority: string;
  readonly bucketEnd: number;
}

/**
 * Matches the authority of an http(s) URL against the listed endpoints: equal to one (path
 * style), or `<bucket>.` followed by a virtual-hosted one. `undefined` when none matches.
 */
export function matchCustomEndpoint(
  resolved: ResolvedEndpoints,
  secure: boolean,
  rawAuthority: string,
  plain: boolean,
): CustomMatch | undefined {
  // A plain authority (see `scan`) is lowercase ASCII already.
  const authority = plain ? rawAuthority : lowerAuthority(rawAuthority);
  if (authority === undefined) return undefined;
  const exact = (secure ? resolved.https : resolved.http).get(authority);
  if (exact !== undefined) return { endpoint: exact, authority, bucketEnd: -1 };
  for (const { secure: s, suffix, endpoint } of resolved.virtual) {
    if (s === secure && authority.length > suffix.length && authority.endsWith(suffix)) {
      return { endpoint, authority, bucketEnd: authority.length - suffix.length };
    }
  }
  return undefined;
}

/** The origin the authority would match under the other scheme, to say so in a refusal. */
export function otherSchemeOrigin(
  resolved: ResolvedEndpoints,
  secure: boolean,
  rawAuthority: string,
): string | undefined {
  const authority = lowerAuthority(rawAuthority);
  if (authority === undefined) return undefined;
  const other = secure ? resolved.http : resolved.https;
  const exact = other.get(authority);
  if (exact !== undefined) return exact.origin;
  for (const { secure: s, suffix, endpoint } of resolved.virtual) {
    if (s !== secure && authority.endsWith(suffix)) return endpoint.origin;
  }
  return undefined;
}

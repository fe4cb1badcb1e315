/**
 * The data the gateway serves: a federation gateway's service table, kept in S3 and replaced as a
 * whole. A path is routed to the service whose `prefix` is its longest match on a segment boundary.
 */

/** One upstream service. */
export interface GatewayService {
  /** A unique name, for logs and responses. */
  readonly name: string;
  /** The path prefix routed to this service: starts with `/`, no trailing `/` (`/` alone routes everything). */
  readonly prefix: string;
  /** The service's base URL (`http:` or `https:`), written as the URL parser writes it back. */
  readonly upstream: string;
}

/** The object in S3: `{ "services": [...] }`. */
export interface RoutingTable {
  readonly services: readonly GatewayService[];
}

/** Where a request path goes. */
export interface Route {
  readonly service: GatewayService;
  /** The upstream URL the request would be forwarded to: the upstream plus the path after the prefix. */
  readonly url: string;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const PREFIX = /^\/(?:[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*)?$/;

/**
 * The store's `validate` hook: returns the table or throws, naming the first fault. A refused
 * table never replaces the one being served.
 */
export function validateRoutingTable(data: unknown): RoutingTable {
  const services = (data as { services?: unknown } | null)?.services;
  if (!Array.isArray(services)) throw new TypeError('`services` must be an array');
  const names = new Set<string>();
  const prefixes = new Set<string>();
  for (const [index, entry] of services.entries()) {
    const at = `services[${index}]`;
    const { name, prefix, upstream } = (entry ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || !NAME.test(name)) throw new TypeError(`${at}.name must be a short identifier`);
    if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
      throw new TypeError(`${at}.prefix must be a path such as "/registry", received ${JSON.stringify(prefix)}`);
    }
    if (typeof upstream !== 'string' || !isUpstreamUrl(upstream)) {
      throw new TypeError(
        `${at}.upstream must be an http(s) URL in normal form, without credentials, query or fragment, received ${JSON.stringify(upstream)}`,
      );
    }
    if (names.has(name)) throw new TypeError(`${at}.name "${name}" is used twice`);
    if (prefixes.has(prefix)) throw new TypeError(`${at}.prefix "${prefix}" is used twice`);
    names.add(name);
    prefixes.add(prefix);
  }
  return data as RoutingTable;
}

// The table is served as it is (GET /routes): a password in it would be served too. And a value the
// parser rewrites (whitespace, dot segments, an upper-case host) routes elsewhere than it reads.
function isUpstreamUrl(value: string): boolean {
  const url = URL.parse(value);
  return (
    url !== null &&
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === '' &&
    (url.href === value || url.href === `${value}/`)
  );
}

/**
 * True for a path the gateway routes: it starts with `/`, and no segment is `.` or `..` (also
 * before a `;`, which servlet containers strip: `..;`), holds a `\` (which URL parsers read as
 * `/`), or is empty between two others (`//`, which nginx merges). The path is the decoded one:
 * `%2e%2e` must be decoded first.
 */
export function isRoutablePath(path: string): boolean {
  if (!path.startsWith('/')) return false;
  const segments = path.split('/').slice(1);
  return segments.every((segment, index) => {
    const name = segment.split(';')[0];
    const last = index === segments.length - 1;
    return name !== '.' && name !== '..' && !segment.includes('\\') && (segment !== '' || last);
  });
}

// Each published table is a new frozen object, so the sorted form is computed once per version
// (on its first request) rather than on every request.
const sortedByTable = new WeakMap<RoutingTable, readonly GatewayService[]>();

function sorted(table: RoutingTable): readonly GatewayService[] {
  let services = sortedByTable.get(table);
  if (services === undefined) {
    services = [...table.services].sort((a, b) => b.prefix.length - a.prefix.length);
    sortedByTable.set(table, services);
  }
  return services;
}

/**
 * The service for a decoded `path` (longest prefix on a segment boundary), or `undefined`.
 *
 * @throws {RangeError} when `path` is not routable ({@link isRoutablePath}).
 */
export function resolveRoute(table: RoutingTable, path: string): Route | undefined {
  if (!isRoutablePath(path))
    throw new RangeError(`Expected a path starting with "/" and no dot segment, received ${JSON.stringify(path)}`);
  for (const service of sorted(table)) {
    const { prefix } = service;
    // Without regard to case: upstreams (Express among them) route `/ADMIN` as `/admin`, so a
    // carve-out matched by case could be walked round.
    const head = path.slice(0, prefix.length).toLowerCase();
    const matches =
      prefix === '/' ||
      (head === prefix.toLowerCase() && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47)); // '/'
    if (matches) {
      const url = upstreamUrl(service.upstream, prefix === '/' ? path : path.slice(prefix.length));
      return url === undefined ? undefined : { service, url };
    }
  }
  return undefined;
}

// Characters a path segment may hold as they are (RFC 3986 pchar); everything else is escaped, so a
// decoded `?`, `#` or `%` stays part of the path.
const NOT_PCHAR = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/gu;

// The upstream's base path plus `rest`, built by the URL parser (not by concatenation, which a
// path such as `@host` would turn into a new host), and kept under the base path.
function upstreamUrl(upstream: string, rest: string): string | undefined {
  const url = new URL(upstream);
  const base = url.pathname.replace(/\/$/, '');
  url.pathname = base + (rest === '' ? '/' : rest.replace(NOT_PCHAR, encodeURIComponent));
  return url.pathname.startsWith(`${base}/`) ? url.href : undefined;
}

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
  /** The service's base URL (`http:` or `https:`). */
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
    if (typeof upstream !== 'string' || !isHttpUrl(upstream))
      throw new TypeError(`${at}.upstream must be an http(s) URL`);
    if (names.has(name)) throw new TypeError(`${at}.name "${name}" is used twice`);
    if (prefixes.has(prefix)) throw new TypeError(`${at}.prefix "${prefix}" is used twice`);
    names.add(name);
    prefixes.add(prefix);
  }
  return data as RoutingTable;
}

function isHttpUrl(value: string): boolean {
  const url = URL.parse(value);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '';
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

/** The service for `path` (longest prefix on a segment boundary), or `undefined`. */
export function resolveRoute(table: RoutingTable, path: string): Route | undefined {
  for (const service of sorted(table)) {
    const { prefix } = service;
    const matches =
      prefix === '/' || path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47); // '/'
    if (matches) {
      const rest = prefix === '/' ? path : path.slice(prefix.length);
      return { service, url: service.upstream.replace(/\/+$/, '') + (rest === '' ? '/' : rest) };
    }
  }
  return undefined;
}

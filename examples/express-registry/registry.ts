/**
 * The registry data the example serves and the read side of its API: the schema every object
 * must pass before it is served, lookups by name, and cursor pagination bound to one snapshot.
 */
import { createHash } from 'node:crypto';
import type { StoreSnapshot } from 's3-sqs-sync';
import { z } from 'zod';

// Loose objects: the schema checks the fields the API reads and keeps every other field, so
// clients get the registry's entries exactly as they were published.
const ServerEntry = z.looseObject({
  server: z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    version: z.string().optional(),
  }),
  _meta: z.record(z.string(), z.unknown()).optional(),
});

/** `registry.json` in the registry's v0 API shape: `{ servers: [{ server, _meta }], metadata }`. */
export const Registry = z.looseObject({
  servers: z.array(ServerEntry),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export type Registry = z.infer<typeof Registry>;
export type ServerEntry = z.infer<typeof ServerEntry>;

/** The `_meta` key under which the official registry says which version of a server is the latest. */
export const OFFICIAL_META = 'io.modelcontextprotocol.registry/official';

/** The Go registry's default and largest page sizes. */
export const DEFAULT_PAGE_SIZE = 30;
export const MAX_PAGE_SIZE = 100;

interface Index {
  /** Entries by `server.name`, in file order (one name has one entry per published version). */
  readonly byName: ReadonlyMap<string, readonly ServerEntry[]>;
  readonly lowerNames: readonly string[];
}

// Built on first use per snapshot and dropped with it: a snapshot is immutable, so is its index.
const indexes = new WeakMap<StoreSnapshot<Registry>, Index>();

function indexOf(snapshot: StoreSnapshot<Registry>): Index {
  let index = indexes.get(snapshot);
  if (index === undefined) {
    const byName = new Map<string, ServerEntry[]>();
    for (const entry of snapshot.data.servers) {
      const list = byName.get(entry.server.name);
      if (list === undefined) byName.set(entry.server.name, [entry]);
      else list.push(entry);
    }
    index = { byName, lowerNames: snapshot.data.servers.map((entry) => entry.server.name.toLowerCase()) };
    indexes.set(snapshot, index);
  }
  return index;
}

function isLatest(entry: ServerEntry): boolean {
  const official = entry._meta?.[OFFICIAL_META];
  return typeof official === 'object' && official !== null && (official as { isLatest?: unknown }).isLatest === true;
}

/**
 * The entry for `name`: with `version`, that exact version; without, the one `_meta` marks as the
 * latest, or else the last one listed.
 */
export function findServer(snapshot: StoreSnapshot<Registry>, name: string, version?: string): ServerEntry | undefined {
  const entries = indexOf(snapshot).byName.get(name);
  if (entries === undefined) return undefined;
  if (version !== undefined) return entries.find((entry) => entry.server.version === version);
  return entries.find(isLatest) ?? entries.at(-1);
}

/** Content ids by snapshot, computed once each. */
const contentIds = new WeakMap<StoreSnapshot<Registry>, string>();

/**
 * What a snapshot is, for a cursor: a hash of its data. The data alone decides it, wherever it came
 * from (an S3 download, or the local file after a restart), so every replica serving the same data
 * gives the same id and a cursor survives a load balancer and a restart. An ETag would not: a
 * snapshot loaded from the local file has none. Hashing a large registry takes a while, so the
 * server has it computed when a snapshot is published ({@link prepareSnapshot}), not per request;
 * a snapshot not prepared is hashed on first use.
 */
export function snapshotId(snapshot: StoreSnapshot<Registry>): string {
  let id = contentIds.get(snapshot);
  if (id === undefined) {
    id = `sha256-${createHash('sha256').update(JSON.stringify(snapshot.data)).digest('base64url')}`;
    contentIds.set(snapshot, id);
  }
  return id;
}

/**
 * Does now, once, what the first request for `snapshot` would otherwise pay for: its id (a hash of
 * the whole registry) and its lookup index. The server calls it as each snapshot is published.
 */
export function prepareSnapshot(snapshot: StoreSnapshot<Registry>): void {
  snapshotId(snapshot);
  indexOf(snapshot);
}

/** Whether `snapshotId(snapshot)` is already known, so costs nothing now. */
export function hasSnapshotId(snapshot: StoreSnapshot<Registry>): boolean {
  return contentIds.has(snapshot);
}

interface Cursor {
  /** `snapshotId` of the snapshot the page came from. */
  readonly id: string;
  /** Its version on the replica that issued the cursor, for the error message. */
  readonly version: number;
  /** Index into the filtered list of the next entry to return. */
  readonly offset: number;
  /** The `search` the listing was made with, lower-cased. */
  readonly search: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): Cursor | undefined {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<Cursor> | null;
    if (
      typeof value?.id === 'string' &&
      Number.isSafeInteger(value.version) &&
      Number.isSafeInteger(value.offset) &&
      (value.offset ?? -1) >= 0 &&
      typeof value.search === 'string'
    ) {
      return value as Cursor;
    }
  } catch {
    // Not base64url JSON: reported below like any other malformed cursor.
  }
  return undefined;
}

/** Query parameters of `GET /v0/servers`, as received. */
export interface ListQuery {
  readonly cursor?: string;
  readonly limit?: string;
  readonly search?: string;
}

/** A page of the listing, in the Go registry's response shape. */
export interface ServerPage {
  readonly servers: readonly ServerEntry[];
  readonly metadata: { readonly count: number; readonly nextCursor?: string };
}

/** Why a listing request was refused: an HTTP status and a JSON body for it. */
export interface ListError {
  readonly status: 400 | 410;
  readonly body: { readonly error: string; readonly message: string; readonly [field: string]: unknown };
}

function badRequest(error: string, message: string): { error: ListError } {
  return { error: { status: 400, body: { error, message } } };
}

/**
 * One page of the servers whose name contains `search` (case-insensitive). A cursor is honoured
 * only by the snapshot it was issued from: once the data has changed, offsets into the old list
 * would skip or repeat entries, so the request is refused with 410 and the client starts again.
 */
export function listServers(
  snapshot: StoreSnapshot<Registry>,
  query: ListQuery,
): { page: ServerPage } | { error: ListError } {
  // Matching ignores case, so the cursor keeps the lower-cased term: `EXTRA` then `extra` is one listing.
  const search = (query.search ?? '').toLowerCase();
  let limit = DEFAULT_PAGE_SIZE;
  if (query.limit !== undefined) {
    limit = /^\d+$/.test(query.limit) ? Number(query.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) {
      return badRequest(
        'invalid_limit',
        `limit must be an integer from 1 to ${MAX_PAGE_SIZE}, received ${JSON.stringify(query.limit)}`,
      );
    }
  }

  let offset = 0;
  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor);
    if (cursor === undefined) return badRequest('invalid_cursor', 'cursor is malformed');
    if (cursor.search !== search) {
      return badRequest(
        'cursor_mismatch',
        `cursor was issued for search ${JSON.stringify(cursor.search)}, not ${JSON.stringify(search)}`,
      );
    }
    if (cursor.id !== snapshotId(snapshot)) {
      return {
        error: {
          status: 410,
          body: {
            error: 'cursor_expired',
            message:
              `cursor belongs to registry version ${cursor.version}; version ${snapshot.version} is served now. ` +
              'List again without a cursor.',
            cursorVersion: cursor.version,
            currentVersion: snapshot.version,
          },
        },
      };
    }
    offset = cursor.offset;
  }

  const { servers } = snapshot.data;
  const names = indexOf(snapshot).lowerNames;
  const page: ServerEntry[] = [];
  let next: number | undefined;
  let matched = 0;
  // One pass over the names, no filtered copy: a page of 30 from a large registry stays cheap.
  for (let i = 0; i < servers.length; i++) {
    if (search !== '' && !names[i]?.includes(search)) continue;
    if (matched++ < offset) continue;
    if (page.length === limit) {
      next = offset + limit;
      break;
    }
    page.push(servers[i] as ServerEntry);
  }
  const nextCursor =
    next === undefined
      ? undefined
      : encodeCursor({ id: snapshotId(snapshot), version: snapshot.version, offset: next, search });
  return {
    page: { servers: page, metadata: { count: page.length, ...(nextCursor === undefined ? {} : { nextCursor }) } },
  };
}

/** The registry's HTTP API on Express: what it serves comes from a snapshot, taken once per request. */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { StoreSnapshot } from 's3-sqs-sync';
import { findServer, type ListQuery, listServers, type Registry } from './registry.ts';

/** Where the app reads the data and its health from. */
export interface RegistrySource {
  /** The current snapshot, or `undefined` while nothing is served yet. */
  snapshot(): StoreSnapshot<Registry> | undefined;
  /** `ready` is true when the service should take traffic; `body` is the JSON `/health` returns. */
  health(): { readonly ready: boolean; readonly serving: boolean; readonly body: unknown };
}

function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function notReady(res: Response): void {
  res.status(503).json({ error: 'not_ready', message: 'no registry data is served yet' });
}

/**
 * `GET /v0/servers` (`limit`, `cursor`, `search`), `GET /v0/servers/:id` (`:id` is the server's
 * `name`, URL-encoded; `?version=` picks one version), and `GET /health`.
 */
export function createRegistryApp(source: RegistrySource): Express {
  const app = express();
  app.disable('x-powered-by');
  // Query strings are read as plain strings: `?search[a]=b` must not become an object.
  app.set('query parser', 'simple');

  // /health: 200 only while the data is current (alert on it). /ready: 200 while data is served,
  // even if the last update failed. Every replica gets the same bad upload at once, so a
  // readiness probe on /health would take the whole fleet out of rotation: probe /ready.
  app.get('/health', (_req, res) => {
    const { ready, body } = source.health();
    res.set('cache-control', 'no-store');
    if (!ready) res.set('retry-after', '5');
    res.status(ready ? 200 : 503).json(body);
  });
  app.get('/ready', (_req, res) => {
    const { serving } = source.health();
    res.set('cache-control', 'no-store');
    if (!serving) res.set('retry-after', '5');
    res.status(serving ? 200 : 503).json({ serving });
  });

  app.get('/v0/servers', (req, res) => {
    // A repeated parameter is refused: ignoring it would answer page 1 again, for ever.
    for (const name of ['cursor', 'limit', 'search']) {
      if (Array.isArray(req.query[name])) {
        return void res.status(400).json({ error: 'invalid_query', message: `${name} given more than once` });
      }
    }
    const snapshot = source.snapshot();
    if (snapshot === undefined) return notReady(res);
    const query: ListQuery = {
      ...(single(req.query.cursor) === undefined ? {} : { cursor: single(req.query.cursor) as string }),
      ...(single(req.query.limit) === undefined ? {} : { limit: single(req.query.limit) as string }),
      ...(single(req.query.search) === undefined ? {} : { search: single(req.query.search) as string }),
    };
    const result = listServers(snapshot, query);
    res.set('x-registry-version', String(snapshot.version));
    if ('error' in result) return void res.status(result.error.status).json(result.error.body);
    res.json(result.page);
  });

  app.get('/v0/servers/:id', (req, res) => {
    // As above: a second `version` must not be dropped in silence, answering some other version.
    if (Array.isArray(req.query.version)) {
      return void res.status(400).json({ error: 'invalid_query', message: 'version given more than once' });
    }
    const snapshot = source.snapshot();
    if (snapshot === undefined) return notReady(res);
    const version = single(req.query.version);
    const entry = findServer(snapshot, req.params.id, version);
    res.set('x-registry-version', String(snapshot.version));
    if (entry === undefined) {
      const what = version === undefined ? req.params.id : `${req.params.id} version ${version}`;
      return void res.status(404).json({ error: 'not_found', message: `no server ${JSON.stringify(what)}` });
    }
    res.json(entry);
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'no such route' });
  });
  // Last: Express's own handler answers HTML with a stack trace (a malformed %-escape in :id).
  app.use((error: { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status === 400 ? 400 : 500;
    res
      .status(status)
      .json(
        status === 400
          ? { error: 'bad_request', message: 'malformed request' }
          : { error: 'internal', message: 'internal error' },
      );
  });
  return app;
}

import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { MemoryStore, rateLimit } from 'express-rate-limit';
import type { SqsListener } from 's3-sqs-sync';
import type { UploadProcessor } from './processor.ts';

/** Requests per client (by IP address) to `/results`, counted before the key is checked. */
export interface RateLimitOptions {
  /** @defaultValue 60 */
  readonly limit?: number;
  /** @defaultValue 60000 */
  readonly windowMs?: number;
}

export interface HttpAppOptions {
  readonly processor: UploadProcessor;
  readonly listener: SqsListener;
  readonly apiKey: string;
  readonly rateLimit?: RateLimitOptions;
}

/** The Express app, and the rate limiter's store to shut down with it (it holds a timer). */
export interface HttpApp {
  readonly app: express.Express;
  close(): void;
}

const MAX_LIST = 1000;

export function createHttpApp({ processor, listener, apiKey, rateLimit: limits = {} }: HttpAppOptions): HttpApp {
  const app = express();
  app.disable('x-powered-by');

  // No key: a load balancer's probe must reach it, and it tells nothing about the uploads.
  app.get('/health', (_req, res) => {
    const health = listener.health();
    const ok = health.status === 'running' && !health.degraded;
    const status = ok ? 'ok' : health.status === 'running' ? 'degraded' : health.status;
    res.status(ok ? 200 : 503).json({ status, results: processor.size, listener: health });
  });

  const store = new MemoryStore();
  // Before the key check, so guessing keys is as limited as using one.
  const limiter = rateLimit({
    windowMs: limits.windowMs ?? 60_000,
    limit: limits.limit ?? 60,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store,
    message: { error: 'rate_limited', message: 'Too many requests: try again later' },
  });

  const api = express.Router();
  api.use(limiter, requireApiKey(apiKey));
  api.get('/', (req, res) => {
    const { status, limit = '100' } = req.query;
    if (status !== undefined && status !== 'processed' && status !== 'failed') {
      res.status(400).json({ error: 'bad_request', message: 'status must be processed or failed' });
      return;
    }
    // A positive integer; more than MAX_LIST gets MAX_LIST. A repeated parameter is an array: 400.
    if (typeof limit !== 'string' || !/^\d+$/.test(limit) || Number(limit) < 1) {
      res.status(400).json({ error: 'bad_request', message: 'limit must be a positive integer' });
      return;
    }
    const results = processor
      .results()
      .filter((result) => status === undefined || result.status === status)
      .slice(0, Math.min(Number(limit), MAX_LIST));
    res.json({ results, total: processor.size });
  });
  api.get('/:id', (req, res) => {
    const result = processor.result(req.params.id);
    if (result === undefined) {
      res.status(404).json({ error: 'not_found', message: `No result ${JSON.stringify(req.params.id)}` });
      return;
    }
    res.json(result);
  });
  app.use('/results', api);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  const onError: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
    // A malformed request is the client's fault (400, 413…); anything else stays in the log.
    const status = (error as { status?: unknown })?.status;
    const code = typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
    res.status(code).json({ error: code === 500 ? 'internal_error' : 'bad_request' });
  };
  app.use(onError);

  return { app, close: () => store.shutdown() };
}

/**
 * Accepts `Authorization: Bearer <key>` or `x-api-key: <key>`. Both sides are hashed before the
 * comparison: `timingSafeEqual` needs buffers of one length, and comparing digests leaks neither
 * the key's bytes nor its length through the time taken.
 */
export function requireApiKey(apiKey: string): RequestHandler {
  const expected = digest(apiKey);
  return (req, res, next) => {
    const presented = bearerToken(req.get('authorization')) ?? req.get('x-api-key');
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer realm="results"')
      .json({ error: 'unauthorized', message: 'Send the API key as `Authorization: Bearer <key>` or `x-api-key`' });
  };
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does to the next object GET. */
export type Fault =
  /** Answer with this status and S3 error code, without asking the emulator. */
  | { readonly kind: 'status'; readonly status: number; readonly code: string }
  /** Drop the connection before any response. */
  | { readonly kind: 'reset' }
  /** Forward the headers and the first `afterBytes` body bytes, then drop the connection. */
  | { readonly kind: 'cut'; readonly afterBytes: number }
  /** Forward the headers and the first `afterBytes` body bytes, then send nothing more. */
  | { readonly kind: 'stall'; readonly afterBytes: number };

/** How the proxy makes the emulator's bucket look. */
export interface FaultProxyOptions {
  /**
   * Act as a versioned bucket read with an `s3:GetObject`-only role: object GETs answer with this
   * `x-amz-version-id`, and a GET that names a `versionId` gets 403 AccessDenied (it would need
   * `s3:GetObjectVersion`). fauxqs itself ignores versioning.
   */
  readonly versionId?: string;
}

/** One object GET as the proxy saw it. */
export interface SeenGet {
  readonly url: string;
  readonly ifMatch?: string;
}

/** A loopback HTTP proxy in front of the emulator that injects faults into object GETs. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: point an SDK client here instead of at the emulator. */
  readonly endpoint: string;
  /** Queues faults; each object GET takes the next one, and passes through when none is left. */
  inject(...faults: Fault[]): void;
  /** Object GETs seen so far. */
  readonly objectGets: number;
  /** Every object GET seen so far, in order. */
  readonly seen: readonly SeenGet[];
  /** Emits 'stalled' when a stall fault has forwarded its bytes. */
  readonly events: EventEmitter;
  stop(): Promise<void>;
}

function isObjectGet(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false;
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  // Path style: /<bucket>/<key…>; bucket-level requests (listings) have no key.
  return /^\/[^/]+\/.+/.test(path);
}

function s3Error(res: ServerResponse, status: number, code: string): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}

export async function startFaultProxy(upstream: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const target = new URL(upstream);
  const queue: Fault[] = [];
  const events = new EventEmitter();
  const seen: SeenGet[] = [];
  let objectGets = 0;

  const server = createServer((req, res) => {
    let fault: Fault | undefined;
    const objectGet = isObjectGet(req);
    if (objectGet) {
      objectGets++;
      const ifMatch = req.headers['if-match'];
      seen.push({ url: req.url ?? '/', ...(typeof ifMatch === 'string' ? { ifMatch } : {}) });
      if (options.versionId !== undefined && /[?&]versionId=/.test(req.url ?? '')) {
        return s3Error(res, 403, 'AccessDenied');
      }
      fault = queue.shift();
    }
    if (fault?.kind === 'status') return s3Error(res, fault.status, fault.code);
    if (fault?.kind === 'reset') return req.socket.destroy();

    const upstreamReq = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        const headers = { ...upstreamRes.headers };
        if (objectGet && options.versionId !== undefined) headers['x-amz-version-id'] = options.versionId;
        res.writeHead(upstreamRes.statusCode ?? 502, headers);
        if (fault === undefined) {
          upstreamRes.pipe(res);
          return;
        }
        let sent = 0;
        upstreamRes.on('data', (chunk: Buffer) => {
          const room = fault.afterBytes - sent;
          if (room <= 0) return;
          const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
          sent += part.length;
          res.write(part);
          if (sent < fault.afterBytes) return;
          upstreamRes.destroy();
          if (fault.kind === 'cut') {
            // Let the bytes reach the client before the connection drops.
            res.once('drain', () => req.socket.destroy());
            if (!res.writableNeedDrain) setImmediate(() => req.socket.destroy());
          } else {
            events.emit('stalled');
          }
        });
      },
    );
    upstreamReq.on('error', () => req.socket.destroy());
    req.pipe(upstreamReq);
  });

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (...faults) => {
      queue.push(...faults);
    },
    get objectGets() {
      return objectGets;
    },
    seen,
    events,
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

import {
  All,
  BadRequestException,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  Req,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { S3Sync, S3SyncHealth, StoreSnapshot } from 's3-sqs-sync';
import { isRoutablePath, type RoutingTable, resolveRoute } from './routing-table.ts';
import { S3_SYNC } from './s3-sync.module.ts';

/** The version of the table that answered, on every routed response. */
export const VERSION_HEADER = 'x-routing-table-version';

/**
 * Routes by the table being served. Each request takes one snapshot (data and version together)
 * and never waits for an update: a new table takes effect on the next request.
 */
@Controller()
export class GatewayController {
  readonly #sync: S3Sync<RoutingTable>;

  constructor(@Inject(S3_SYNC) sync: S3Sync<RoutingTable>) {
    this.#sync = sync;
  }

  /**
   * 200 while a table is served and updates can arrive. Still 200 when the last update was refused
   * (`degraded` with the listener well): every replica receives the same bad upload, so failing
   * readiness on it would take all of them out of rotation at once. 503 when this replica's
   * listener has failed and heard nothing for {@link RECEIVE_STALE_MS} (its queue is gone, or
   * receives keep failing): it would serve an ever older table. A blip of SQS is no reason: the
   * next receive comes only after a back-off and a long poll, up to a minute and a half later.
   */
  @Get('health')
  health(@Res({ passthrough: true }) res: Response): S3SyncHealth {
    const health = this.#sync.health();
    const serving = health.state === 'ready' || health.state === 'degraded';
    res.status(serving && !cutOff(health.listener) ? 200 : 503);
    return health;
  }

  /** The whole table being served. */
  @Get('routes')
  routes(@Res({ passthrough: true }) res: Response): RoutingTable {
    return this.#snapshot(res).data;
  }

  /**
   * Which upstream a request under `/gw` goes to; a real gateway would forward it to `url`. The
   * path comes from the route parameter, so a global prefix or a controller path does not shift
   * it, and Express has already percent-decoded each segment (a malformed escape is a 400).
   */
  @All(['gw', 'gw/*path'])
  route(
    @Param('path') segments: string[] | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): object {
    // A segment that decoded to `/` would split in two on the upstream, and `.`/`..` would climb
    // out of the prefix that chose the service (a carve-out such as /registry/admin).
    if (segments?.some((segment) => segment.includes('/'))) throw new BadRequestException('an escaped "/" in the path');
    const path = `/${(segments ?? []).join('/')}`;
    if (!isRoutablePath(path)) throw new BadRequestException('a "." or ".." segment, or a "\\", in the path');
    const { version, data } = this.#snapshot(res);
    const route = resolveRoute(data, path);
    if (route === undefined) throw new NotFoundException(`no service routes ${path} (table version ${version})`);
    const url = new URL(route.url);
    const query = req.originalUrl.indexOf('?');
    if (query !== -1) url.search = req.originalUrl.slice(query);
    return {
      method: req.method,
      path,
      service: route.service.name,
      upstream: route.service.upstream,
      url: url.href,
      version,
    };
  }

  #snapshot(res: Response): StoreSnapshot<RoutingTable> {
    // GATEWAY_S3_URL is required, so the app listens only once a table is served; this guards an
    // application that imports the module with an `allow` list instead.
    if (!this.#sync.store.health().ready) throw new ServiceUnavailableException('no routing table yet');
    const snapshot = this.#sync.store.snapshot();
    res.setHeader(VERSION_HEADER, String(snapshot.version));
    return snapshot;
  }
}

/** A listener failing this long without one good receive no longer brings updates. */
export const RECEIVE_STALE_MS = 120_000;

function cutOff(listener: S3SyncHealth['listener']): boolean {
  if (listener?.degraded !== true) return false;
  const last = listener.lastReceiveAt === undefined ? Number.NaN : new Date(listener.lastReceiveAt).getTime();
  // Never received at all: the queue failed from the start.
  return !(Date.now() - last < RECEIVE_STALE_MS);
}

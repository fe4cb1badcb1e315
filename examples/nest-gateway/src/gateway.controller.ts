import { All, Controller, Get, Inject, NotFoundException, Req, Res, ServiceUnavailableException } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { S3Sync, S3SyncHealth, StoreSnapshot } from 's3-sqs-sync';
import { type RoutingTable, resolveRoute } from './routing-table.ts';
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
   * 200 while a table is served, even `degraded` (the last update was refused and the last good
   * table is served): every replica receives the same bad upload, so failing readiness on it
   * would take all of them out of rotation at once. Alert on `degraded` instead.
   */
  @Get('health')
  health(@Res({ passthrough: true }) res: Response): S3SyncHealth {
    const health = this.#sync.health();
    res.status(health.state === 'ready' || health.state === 'degraded' ? 200 : 503);
    return health;
  }

  /** The whole table being served. */
  @Get('routes')
  routes(@Res({ passthrough: true }) res: Response): RoutingTable {
    return this.#snapshot(res).data;
  }

  /** Which upstream a request under `/gw` goes to; a real gateway would forward it to `url`. */
  @All('gw/*path')
  route(@Req() req: Request, @Res({ passthrough: true }) res: Response): object {
    const { version, data } = this.#snapshot(res);
    const path = req.path.slice('/gw'.length);
    const route = resolveRoute(data, path);
    if (route === undefined) throw new NotFoundException(`no service routes ${path} (table version ${version})`);
    const query = req.originalUrl.indexOf('?');
    return {
      method: req.method,
      path,
      service: route.service.name,
      upstream: route.service.upstream,
      url: query === -1 ? route.url : route.url + req.originalUrl.slice(query),
      version,
    };
  }

  #snapshot(res: Response): StoreSnapshot<RoutingTable> {
    // Only with an `allow` list and no local file can a request arrive before the first table.
    if (!this.#sync.store.health().ready) throw new ServiceUnavailableException('no routing table yet');
    const snapshot = this.#sync.store.snapshot();
    res.setHeader(VERSION_HEADER, String(snapshot.version));
    return snapshot;
  }
}

// Nest reads decorator metadata through reflect-metadata: load it before the example's classes.
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Response } from 'express';
import type { S3Sync, S3SyncHealth, S3SyncOptions } from 's3-sqs-sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayModule } from '../../examples/nest-gateway/src/app.module.ts';
import { gatewaySyncOptions } from '../../examples/nest-gateway/src/config.ts';
import {
  GatewayController,
  RECEIVE_STALE_MS,
  VERSION_HEADER,
} from '../../examples/nest-gateway/src/gateway.controller.ts';
import {
  type RoutingTable,
  resolveRoute,
  validateRoutingTable,
} from '../../examples/nest-gateway/src/routing-table.ts';
import { S3_SYNC, S3_SYNC_STORE, S3SyncModule } from '../../examples/nest-gateway/src/s3-sync.module.ts';
import { createQueue, type Emulator, startEmulator } from '../support/emulator.ts';
import { s3EventBody, sequencer } from '../support/s3-events.ts';

// The example's sources carry decorators; vitest compiles them with the example's own tsconfig
// (experimentalDecorators, emitDecoratorMetadata). This file has none: it calls the decorator
// functions instead, which is all a decorator is.
function moduleClass(name: string, metadata: Parameters<typeof Module>[0]): new () => object {
  const target = { [name]: class {} }[name] as new () => object;
  Module(metadata)(target);
  return target;
}

const table = (upstream: string): string =>
  JSON.stringify({ services: [{ name: 'registry', prefix: '/registry', upstream }] });

/** A GET sent as written: fetch would resolve `..` segments before sending them. */
function rawGet(base: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    })
      .on('error', reject)
      .end();
  });
}

describe('examples/nest-gateway in process', () => {
  let emu: Emulator;
  let bucket: string;
  let dir: string;
  const close: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    emu = await startEmulator();
    bucket = emu.uniqueName('gateway');
    await emu.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    dir = await mkdtemp(join(tmpdir(), 'nest-gateway-module-'));
  });

  afterEach(async () => {
    for (const fn of close.splice(0).reverse()) await fn();
  });

  afterAll(async () => {
    await emu?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function syncOptions(key: string): Promise<S3SyncOptions<RoutingTable>> {
    const queue = await createQueue(emu);
    return {
      sqs: { client: emu.sqs, queueUrl: queue.url, waitTimeSeconds: 1 },
      s3: { client: emu.s3 },
      target: join(dir, key.replaceAll('/', '-')),
      source: `s3://${bucket}/${key}`,
      validate: validateRoutingTable,
    };
  }

  describe('S3SyncModule.forRootAsync', () => {
    it('creates the sync from a factory with injected providers, starts it on init and awaits its stop on close', async () => {
      const key = 'async/routes.json';
      await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: table('http://127.0.0.1:9001') }));
      const options = await syncOptions(key);
      const OPTIONS = Symbol('options');
      const ConfigModule = moduleClass('ConfigModule', {
        providers: [{ provide: OPTIONS, useValue: options }],
        exports: [OPTIONS],
      });
      const factoryCalls: unknown[] = [];
      const AppModule = moduleClass('AppModule', {
        imports: [
          S3SyncModule.forRootAsync<RoutingTable>({
            imports: [ConfigModule],
            inject: [OPTIONS],
            useFactory: async (injected: S3SyncOptions<RoutingTable>) => {
              factoryCalls.push(injected);
              return injected;
            },
          }),
          GatewayModule,
        ],
      });

      const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
      close.push(() => app.close());
      const sync = app.get<S3Sync<RoutingTable>>(S3_SYNC);
      expect(factoryCalls).toStrictEqual([options]);
      expect(app.get(S3_SYNC_STORE)).toBe(sync.store);
      expect(sync.state).toBe('idle');

      await app.listen(0, '127.0.0.1');
      expect(sync.state).toBe('ready');
      const url = await app.getUrl();
      let response = await fetch(`${url}/gw/registry/v0/servers`);
      expect(response.headers.get(VERSION_HEADER)).toBe('1');
      expect(await response.json()).toMatchObject({ service: 'registry', url: 'http://127.0.0.1:9001/v0/servers' });

      const applied = new Promise((resolve) => sync.once('update_applied', resolve));
      const { ETag = '' } = await emu.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: table('http://127.0.0.1:9101') }),
      );
      await emu.sqs.send(
        new SendMessageCommand({
          QueueUrl: options.sqs.queueUrl,
          MessageBody: s3EventBody({ bucket, key, eTag: ETag, sequencer: sequencer(1) }),
        }),
      );
      await applied;
      response = await fetch(`${url}/gw/registry/v0/servers`);
      expect(response.headers.get(VERSION_HEADER)).toBe('2');
      expect(await response.json()).toMatchObject({ url: 'http://127.0.0.1:9101/v0/servers', version: 2 });

      let stopped = false;
      sync.once('stopped', () => {
        stopped = true;
      });
      await app.close();
      // close() resolves only after onApplicationShutdown's stop() has: the event has fired.
      expect({ stopped, state: sync.state }).toStrictEqual({ stopped: true, state: 'stopped' });
    });

    it('refuses a missing factory when the module is declared', () => {
      expect(() => S3SyncModule.forRootAsync({} as never)).toThrow(TypeError);
    });
  });

  describe('S3SyncModule.forRoot', () => {
    it('provides a sync made from fixed options to an application context', async () => {
      const key = 'fixed/routes.json';
      await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: table('http://127.0.0.1:9002') }));
      const AppModule = moduleClass('AppModule', { imports: [S3SyncModule.forRoot(await syncOptions(key))] });
      // createApplicationContext runs the init hooks: it resolves once the sync has started.
      const context = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
      close.push(() => context.close());
      const sync = context.get<S3Sync<RoutingTable>>(S3_SYNC);
      expect(sync.state).toBe('ready');
      expect(resolveRoute(sync.store.get(), '/registry')?.url).toBe('http://127.0.0.1:9002/');
      await context.close();
      expect(sync.state).toBe('stopped');
    });

    it('fails the application start when there is no table to serve', async () => {
      const AppModule = moduleClass('AppModule', {
        imports: [S3SyncModule.forRoot(await syncOptions('missing.json'))],
      });
      const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
      close.push(() => app.close());
      await expect(app.init()).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
      expect(app.get<S3Sync>(S3_SYNC).state).toBe('stopped');
    });

    it('refuses a second import for the same target at init, and frees the target on close', async () => {
      const key = 'twice/routes.json';
      await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: table('http://127.0.0.1:9003') }));
      const options = await syncOptions(key);
      const FeatureModule = moduleClass('FeatureModule', { imports: [S3SyncModule.forRoot(options)] });
      const AppModule = moduleClass('AppModule', { imports: [S3SyncModule.forRoot(options), FeatureModule] });
      const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
      close.push(() => app.close());
      await expect(app.init()).rejects.toThrow(/S3SyncModule is imported twice for .*twice-routes\.json/);
      await app.close();

      // Once closed, the target is free again: one import starts.
      const OnceModule = moduleClass('OnceModule', { imports: [S3SyncModule.forRoot(options)] });
      const once = await NestFactory.createApplicationContext(OnceModule, { logger: false, abortOnError: false });
      close.push(() => once.close());
      expect(once.get<S3Sync>(S3_SYNC).state).toBe('ready');
    });

    it('frees the target when the start fails, so a retry in the same process is not taken for a second import', async () => {
      const options = await syncOptions('retry/missing.json');
      for (let attempt = 0; attempt < 2; attempt++) {
        const RetryModule = moduleClass('RetryModule', { imports: [S3SyncModule.forRoot(options)] });
        const app = await NestFactory.create(RetryModule, { logger: false, abortOnError: false });
        close.push(() => app.close());
        // The object does not exist: the start fails the same way each time, never as "imported twice".
        await expect(app.init()).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
      }
    });
  });

  describe('GatewayController', () => {
    /** An application serving `services`, as main.ts creates it (no body parser), with an optional global prefix. */
    async function gateway(name: string, services: object[], globalPrefix?: string): Promise<string> {
      const key = `${name}/routes.json`;
      await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify({ services }) }));
      const AppModule = moduleClass('AppModule', {
        imports: [S3SyncModule.forRoot(await syncOptions(key)), GatewayModule],
      });
      const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false, bodyParser: false });
      close.push(() => app.close());
      if (globalPrefix !== undefined) app.setGlobalPrefix(globalPrefix);
      await app.listen(0, '127.0.0.1');
      return app.getUrl();
    }

    const carveOut = [
      { name: 'registry', prefix: '/registry', upstream: 'http://registry.internal:8080' },
      { name: 'registry-admin', prefix: '/registry/admin', upstream: 'http://admin.internal:8081/api' },
    ];

    it('takes the path from the route parameter, so a global prefix does not shift it', async () => {
      const url = await gateway(
        'prefixed',
        [
          { name: 'registry', prefix: '/registry', upstream: 'http://registry.internal:8080' },
          { name: 'web', prefix: '/', upstream: 'http://web.internal' },
        ],
        'api',
      );
      expect((await rawGet(url, '/api/gw/registry/v0/servers?limit=5')).body).toMatchObject({
        path: '/registry/v0/servers',
        service: 'registry',
        url: 'http://registry.internal:8080/v0/servers?limit=5',
      });
      expect((await rawGet(url, '/api/gw/index.html')).body).toMatchObject({
        path: '/index.html',
        service: 'web',
        url: 'http://web.internal/index.html',
      });
    });

    it('routes /gw itself by a "/" prefix', async () => {
      const url = await gateway('root', [{ name: 'everything', prefix: '/', upstream: 'http://web.internal/base' }]);
      for (const path of ['/gw', '/gw/']) {
        const response = await rawGet(url, path);
        expect({ path, ...response }).toMatchObject({
          path,
          status: 200,
          body: { path: '/', service: 'everything', url: 'http://web.internal/base/' },
        });
      }
    });

    it('decodes each segment once before matching, and refuses dot segments, escaped slashes and bad escapes', async () => {
      const url = await gateway('dots', carveOut);
      // Decoded before matching: an escaped letter cannot slip past the longer prefix.
      expect((await rawGet(url, '/gw/registry/%61dmin/users')).body).toMatchObject({
        service: 'registry-admin',
        url: 'http://admin.internal:8081/api/users',
      });
      // Decoded characters that mean something in a URL stay in the path.
      expect((await rawGet(url, '/gw/registry/a%3Fb%23c%25d')).body).toMatchObject({
        service: 'registry',
        url: 'http://registry.internal:8080/a%3Fb%23c%25d',
      });
      for (const path of [
        '/gw/registry/admin/../../internal/metrics',
        '/gw/registry/admin/%2e%2e/%2E%2E/internal/metrics',
        '/gw/registry/v0/%2e%2e/admin/users',
        '/gw/registry/v0/./x',
        '/gw/registry/admin%2F..%2F..%2Finternal',
        '/gw/registry/a%5C..%5Cadmin',
        '/gw/registry/%E0%A4%A',
      ]) {
        const { status } = await rawGet(url, path);
        expect({ path, status }).toStrictEqual({ path, status: 400 });
      }
    });
  });
});

describe('validateRoutingTable', () => {
  it('returns a valid table as it is', () => {
    const data = { services: [{ name: 'registry', prefix: '/registry', upstream: 'https://registry.internal' }] };
    expect(validateRoutingTable(data)).toBe(data);
  });

  it.each([
    ['no services array', { routes: [] }, /`services` must be an array/],
    ['a prefix without a leading slash', { services: [{ name: 'a', prefix: 'a', upstream: 'http://a' }] }, /prefix/],
    ['a trailing slash', { services: [{ name: 'a', prefix: '/a/', upstream: 'http://a' }] }, /prefix/],
    ['a non-http upstream', { services: [{ name: 'a', prefix: '/a', upstream: 'file:///etc' }] }, /upstream/],
    ['credentials in the upstream', { services: [{ name: 'a', prefix: '/a', upstream: 'http://u:p@a' }] }, /upstream/],
    [
      'a prefix used twice',
      {
        services: [
          { name: 'a', prefix: '/a', upstream: 'http://a' },
          { name: 'b', prefix: '/a', upstream: 'http://b' },
        ],
      },
      /services\[1\]\.prefix "\/a" is used twice/,
    ],
  ])('refuses %s', (_, data, message) => {
    expect(() => validateRoutingTable(data)).toThrow(message);
  });

  it.each([
    'http://:s3cret@admin.internal:8081/api',
    'http://admin.internal/api?tenant=a',
    'http://admin.internal/api#x',
    'http://admin.internal/api\n',
    'HTTP://Admin.internal/api',
    'http://admin.internal/v0/../api',
  ])('refuses the upstream %j (credentials, query, fragment, or not in normal form)', (upstream) => {
    expect(() => validateRoutingTable({ services: [{ name: 'a', prefix: '/a', upstream }] })).toThrow(/upstream/);
  });
});

describe('resolveRoute', () => {
  const routes = validateRoutingTable({
    services: [
      { name: 'registry', prefix: '/registry', upstream: 'http://r/' },
      { name: 'admin', prefix: '/registry/admin', upstream: 'http://admin/api' },
      { name: 'fallback', prefix: '/', upstream: 'http://f' },
    ],
  });

  it.each([
    ['/registry', 'registry', 'http://r/'],
    ['/registry/v0/servers', 'registry', 'http://r/v0/servers'],
    ['/registry/admin/users', 'admin', 'http://admin/api/users'],
    // Upstreams such as Express route `/ADMIN` as `/admin`: so does the carve-out.
    ['/registry/ADMIN/users', 'admin', 'http://admin/api/users'],
    ['/Registry/Admin', 'admin', 'http://admin/api/'],
    ['/registry/', 'registry', 'http://r/'],
    ['/registryx', 'fallback', 'http://f/registryx'],
    ['/other', 'fallback', 'http://f/other'],
  ])('routes %s to %s (longest prefix on a segment boundary)', (path, service, url) => {
    expect(resolveRoute(routes, path)).toMatchObject({ service: { name: service }, url });
  });

  it('routes nothing when no prefix matches', () => {
    expect(resolveRoute({ services: [{ name: 'a', prefix: '/a', upstream: 'http://a' }] }, '/b')).toBeUndefined();
  });

  it.each([
    '@evil.example/x',
    '.evil.example/x',
    '',
    '/registry/../x',
    '/registry/./x',
    '/a\\..\\b',
    '//evil.example/x',
    '/registry//admin/users',
    '/registry/x/..;/admin/users',
    '/registry/admin/.;x/users',
  ])('refuses the path %j, which could leave the upstream', (path) => {
    expect(() => resolveRoute(routes, path)).toThrow(RangeError);
  });

  it('keeps the rest of a decoded path inside the upstream path, escaping what a URL would read', () => {
    expect(resolveRoute(routes, '/registry/admin/a?b#c%d e')?.url).toBe('http://admin/api/a%3Fb%23c%25d%20e');
    expect(resolveRoute(routes, '/registry/a;b')?.url).toBe('http://r/a;b');
  });
});

describe('GatewayController health', () => {
  const listener = {
    status: 'running',
    degraded: false,
    consecutiveReceiveFailures: 0,
    inFlight: 0,
    abandoned: 0,
  } as const;
  const status = (health: Partial<S3SyncHealth>): number => {
    const sync = {
      health: () => ({ version: 1, consecutiveFailures: 0, listener, ...health }),
    } as unknown as S3Sync<RoutingTable>;
    let code = 0;
    const res = { status: (value: number) => (code = value) } as unknown as Response;
    new GatewayController(sync).health(res);
    return code;
  };

  it('answers 200 while a table is served, even when the last update was refused', () => {
    expect(status({ state: 'ready' })).toBe(200);
    expect(status({ state: 'degraded', consecutiveFailures: 1 })).toBe(200);
  });

  it("answers 503 when this replica's listener has heard nothing for RECEIVE_STALE_MS, or nothing is served", () => {
    const failing = (lastReceiveAt?: Date) => ({
      ...listener,
      degraded: true,
      consecutiveReceiveFailures: 3,
      ...(lastReceiveAt === undefined ? {} : { lastReceiveAt }),
    });
    expect(status({ state: 'degraded', listener: failing(new Date(Date.now() - RECEIVE_STALE_MS - 1000)) })).toBe(503);
    expect(status({ state: 'degraded', listener: failing() })).toBe(503);
    expect(status({ state: 'starting' })).toBe(503);
    expect(status({ state: 'stopped' })).toBe(503);
  });

  it('answers 200 through a blip of SQS: a failed receive shortly after a good one', () => {
    const blip = {
      ...listener,
      degraded: true,
      consecutiveReceiveFailures: 1,
      lastReceiveAt: new Date(Date.now() - 30_000),
    };
    expect(status({ state: 'ready', listener: blip })).toBe(200);
  });
});

describe('gatewaySyncOptions', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nest-gateway-config-'));
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  const env = (more: Record<string, string>) => ({
    GATEWAY_SQS_ENABLED: 'true',
    GATEWAY_SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/gateway-1',
    GATEWAY_JSON_FILE_PATH: join(dir, 'state', 'routes.json'),
    ...more,
  });

  it('requires GATEWAY_S3_URL: with only an allow-list the server would listen with no table', async () => {
    await expect(gatewaySyncOptions(env({ GATEWAY_S3_ALLOWED_BUCKETS: 'gateway-config' }))).rejects.toMatchObject({
      code: 'ERR_CONFIG',
      variable: 'GATEWAY_S3_URL',
    });
  });

  it.each(['0', '-1', 'soon', '1.5'])('refuses GATEWAY_S3_TIMEOUT_MS=%s', async (value) => {
    await expect(
      gatewaySyncOptions(env({ GATEWAY_S3_URL: 's3://gateway-config/routes.json', GATEWAY_S3_TIMEOUT_MS: value })),
    ).rejects.toMatchObject({ code: 'ERR_CONFIG', variable: 'GATEWAY_S3_TIMEOUT_MS' });
  });
});

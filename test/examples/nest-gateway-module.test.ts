// Nest reads decorator metadata through reflect-metadata: load it before the example's classes.
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { S3Sync, S3SyncOptions } from 's3-sqs-sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayModule } from '../../examples/nest-gateway/src/app.module.ts';
import { VERSION_HEADER } from '../../examples/nest-gateway/src/gateway.controller.ts';
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
    ['/registryx', 'fallback', 'http://f/registryx'],
    ['/other', 'fallback', 'http://f/other'],
  ])('routes %s to %s (longest prefix on a segment boundary)', (path, service, url) => {
    expect(resolveRoute(routes, path)).toMatchObject({ service: { name: service }, url });
  });

  it('routes nothing when no prefix matches', () => {
    expect(resolveRoute({ services: [{ name: 'a', prefix: '/a', upstream: 'http://a' }] }, '/b')).toBeUndefined();
  });
});

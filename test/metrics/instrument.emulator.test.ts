import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Sync, type S3Sync } from '../../src/index.ts';
import { instrument } from '../../src/metrics/index.ts';
import { type Emulator, startEmulator } from '../support/emulator.ts';
import { s3EventBody, sequencer } from '../support/s3-events.ts';
import { SyncRecorder } from '../support/sync-events.ts';
import { createTestMeter } from './meter.ts';

interface Registry {
  readonly release: number;
}

function validateRegistry(data: unknown): Registry {
  if (typeof (data as Partial<Registry> | null)?.release !== 'number') throw new Error('a registry has a release');
  return data as Registry;
}

const SYNC_EVENTS = ['update_skipped', 'update_applied', 'update_failed'] as const;
const LISTENER_EVENTS = [
  'message_received',
  'message_processed',
  'processing_error',
  'receive_error',
  'delete_error',
  'heartbeat_error',
  'message_handed_back',
] as const;

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

let bucket: string;
let queueName: string;
let queueUrl: string;
let dir: string;
let sync: S3Sync<Registry>;
let events: SyncRecorder;
let seq = 0;

beforeEach(async () => {
  bucket = emulator.uniqueName('registry');
  queueName = emulator.uniqueName('replica');
  await emulator.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const { QueueUrl } = await emulator.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  queueUrl = QueueUrl as string;
  dir = await mkdtemp(join(tmpdir(), 's3-sync-metrics-'));
  sync = createS3Sync<Registry>({
    sqs: { client: emulator.sqs, queueUrl, waitTimeSeconds: 1, visibilityTimeout: 5 },
    s3: { client: emulator.s3 },
    target: join(dir, 'registry.json'),
    allow: { buckets: [bucket] },
    validate: validateRegistry,
    retry: false,
  });
  events = new SyncRecorder(sync as S3Sync<unknown>);
});

afterEach(async () => {
  await sync.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Puts `body` and announces it with an S3 event that happened `ageMs` ago. */
async function publish(body: string, options: { ageMs?: number; bucket?: string } = {}): Promise<string> {
  const key = 'v0/registry.json';
  const { ETag } = await emulator.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const eTag = (ETag ?? '').replaceAll('"', '');
  const message = s3EventBody({
    bucket: options.bucket ?? bucket,
    key,
    eTag,
    sequencer: sequencer(++seq),
    eventTime: new Date(Date.now() - (options.ageMs ?? 0)),
  });
  await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message }));
  return message;
}

function listenerCounts(): Record<string, number> {
  return {
    ...Object.fromEntries(SYNC_EVENTS.map((event) => [event, sync.listenerCount(event)])),
    ...Object.fromEntries(LISTENER_EVENTS.map((event) => [`listener.${event}`, sync.listener.listenerCount(event)])),
  };
}

describe('instrument', () => {
  describe('an S3Sync', () => {
    it('records applied, skipped and failed updates with their attributes', async () => {
      const { meter, collect, provider } = createTestMeter();
      instrument(sync, { meter, queueUrl, attributes: { 'service.instance.id': 'replica-1' } });
      await sync.start();

      // Applied: announced two seconds ago, so the lag is at least that.
      const body = JSON.stringify({ release: 1 });
      // Every message below is acknowledged (a permanent failure too: permanentFailure 'delete').
      let processed = 0;
      const allProcessed = new Promise<void>((resolve) =>
        sync.listener.on('message_processed', () => {
          processed += 1;
          if (processed === 4) resolve();
        }),
      );
      const message = await publish(body, { ageMs: 2_000 });
      const [applied] = await events.next('update_applied');

      // Skipped: the same event again is a duplicate; another bucket is not allowed.
      await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message }));
      await events.next('update_skipped', ([, reason]) => reason === 'duplicate');
      await publish(JSON.stringify({ release: 2 }), { bucket: emulator.uniqueName('elsewhere') });
      await events.next('update_skipped', ([, reason]) => reason === 'not-allowed');

      // Failed: an object the validator refuses is a permanent failure.
      await publish(JSON.stringify({ servers: [] }));
      await events.next('update_failed');
      await allProcessed;

      const seen = await collect();
      const replica = { 'service.instance.id': 'replica-1' };
      expect(seen.total('s3_sync.updates', { ...replica, 's3_sync.outcome': 'applied' })).toBe(1);
      expect(seen.points('s3_sync.updates')).toEqual(
        expect.arrayContaining([
          {
            attributes: { ...replica, 's3_sync.update.origin': 'message', 's3_sync.outcome': 'applied' },
            value: 1,
          },
          {
            attributes: {
              ...replica,
              's3_sync.update.origin': 'message',
              's3_sync.outcome': 'skipped',
              's3_sync.skip_reason': 'duplicate',
            },
            value: 1,
          },
          {
            attributes: {
              ...replica,
              's3_sync.update.origin': 'message',
              's3_sync.outcome': 'skipped',
              's3_sync.skip_reason': 'not-allowed',
            },
            value: 1,
          },
          {
            attributes: {
              ...replica,
              's3_sync.update.origin': 'message',
              's3_sync.outcome': 'failed',
              'error.type': 'ERR_VERIFY_FAILED',
              's3_sync.failure.permanent': true,
            },
            value: 1,
          },
        ]),
      );

      const [size] = seen.points('s3_sync.download.size');
      expect(size).toMatchObject({ count: 1, sum: Buffer.byteLength(body) });
      expect(size?.sum).toBe(applied.bytes);
      const [duration] = seen.points('s3_sync.download.duration');
      expect(duration?.count).toBe(1);
      expect(duration?.sum).toBeCloseTo(applied.durationMs / 1000, 6);
      const [lag] = seen.points('s3_sync.propagation.lag');
      expect(lag?.count).toBe(1);
      expect(lag?.sum).toBeGreaterThanOrEqual(2);
      // Read from the event time when the event arrives, a moment after the pipeline's own lagMs.
      expect(Math.abs((lag?.sum ?? 0) - (applied.lagMs ?? 0) / 1000)).toBeLessThan(0.05);
      expect(seen.metric('s3_sync.propagation.lag')?.descriptor.unit).toBe('s');
      expect(seen.metric('s3_sync.download.size')?.descriptor.unit).toBe('By');

      expect(seen.points('s3_sync.store.version')).toEqual([{ attributes: replica, value: 1 }]);
      expect(seen.points('s3_sync.consecutive_failures')).toEqual([{ attributes: replica, value: 1 }]);

      const messaging = { ...replica, 'messaging.system': 'aws_sqs', 'messaging.destination.name': queueName };
      expect(seen.points('messaging.client.consumed.messages')).toEqual([
        { attributes: { ...messaging, 'messaging.operation.name': 'receive' }, value: 4 },
      ]);
      expect(seen.metric('messaging.client.consumed.messages')?.descriptor.unit).toBe('{message}');
      expect(seen.points('messaging.process.duration').map(({ attributes, count }) => ({ attributes, count }))).toEqual(
        [{ attributes: { ...messaging, 'messaging.operation.name': 'process' }, count: 4 }],
      );
      expect(seen.points('s3_sync.handlers.in_flight')[0]?.attributes).toEqual(messaging);
      await provider.shutdown();
    });

    it('reads the gauges when the meter collects', async () => {
      const { meter, collect, provider } = createTestMeter();
      instrument(sync, { meter });
      let seen = await collect();
      expect(seen.points('s3_sync.store.version')).toEqual([{ attributes: {}, value: 0 }]);
      expect(seen.points('s3_sync.handlers.in_flight')).toEqual([
        { attributes: { 'messaging.system': 'aws_sqs' }, value: 0 },
      ]);

      await sync.start();
      await publish(JSON.stringify({ release: 1 }));
      await events.next('update_applied');
      await publish(JSON.stringify({ release: 2 }));
      await events.next('update_applied');
      seen = await collect();
      expect(seen.points('s3_sync.store.version')).toEqual([{ attributes: {}, value: 2 }]);
      expect(seen.points('s3_sync.consecutive_failures')).toEqual([{ attributes: {}, value: 0 }]);
      await provider.shutdown();
    });
  });

  describe('.stop', () => {
    it('removes every listener and observable callback it added, and records nothing after', async () => {
      const before = listenerCounts();
      const { meter, collect, provider } = createTestMeter();
      const instrumentation = instrument(sync, { meter, queueUrl });
      const during = listenerCounts();
      for (const [event, count] of Object.entries(during)) expect(count, event).toBe((before[event] ?? 0) + 1);

      await sync.start();
      await publish(JSON.stringify({ release: 1 }));
      await events.next('update_applied');
      const first = await collect();
      expect(first.total('s3_sync.updates')).toBe(1);

      instrumentation.stop();
      instrumentation.stop();
      expect(listenerCounts()).toEqual(before);

      await publish(JSON.stringify({ release: 2 }));
      await events.next('update_applied');
      const after = await collect();
      expect(after.total('s3_sync.updates')).toBe(1);
      expect(after.total('s3_sync.download.size')).toBe(1);
      // No callback observes any more: the gauge does not move to version 2.
      expect(after.points('s3_sync.store.version').map((point) => point.value)).not.toContain(2);
      await provider.shutdown();
    });
  });
});

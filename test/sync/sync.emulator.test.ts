import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Sync, JsonFileStore, type MessageError, type S3Sync, type S3SyncOptions } from '../../src/index.ts';
import { type Emulator, recordingSqsClient, startEmulator } from '../support/emulator.ts';
import { s3EventBody, sequencer } from '../support/s3-events.ts';
import { startSilentServer } from '../support/silent-server.ts';
import { SyncRecorder } from '../support/sync-events.ts';

interface Registry {
  readonly servers: readonly { readonly name: string }[];
  readonly release: number;
}

function validateRegistry(data: unknown): Registry {
  const registry = data as Partial<Registry> | null;
  if (!Array.isArray(registry?.servers) || typeof registry.release !== 'number') {
    throw new Error('a registry has servers and a release number');
  }
  return registry as Registry;
}

const registry = (release: number, servers = 2) =>
  JSON.stringify({ release, servers: Array.from({ length: servers }, (_, i) => ({ name: `io.example/s${i}` })) });

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

interface World {
  readonly bucket: string;
  readonly key: string;
  readonly queueUrl: string;
  readonly dir: string;
  readonly target: string;
  /** An S3 client counting the GetObject calls it sends. */
  readonly s3: S3Client;
  readonly gets: { count: number };
  put(body: string, key?: string): Promise<{ eTag: string }>;
  send(body: string): Promise<void>;
  visibleMessages(): Promise<number>;
}

let world: World;
let syncs: S3Sync<Registry>[] = [];
let seq = 0;

beforeEach(async () => {
  const bucket = emulator.uniqueName('registry');
  await emulator.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const { QueueUrl } = await emulator.sqs.send(new CreateQueueCommand({ QueueName: emulator.uniqueName('replica') }));
  const dir = await mkdtemp(join(tmpdir(), 's3-sync-'));
  const gets = { count: 0 };
  const s3 = new S3Client(emulator.clientConfig());
  s3.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'GetObjectCommand') gets.count += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countGets' },
  );
  const queueUrl = QueueUrl as string;
  world = {
    bucket,
    key: 'v0/registry.json',
    queueUrl,
    dir,
    target: join(dir, 'registry.json'),
    s3,
    gets,
    async put(body, key = 'v0/registry.json') {
      const { ETag } = await emulator.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      return { eTag: (ETag ?? '').replaceAll('"', '') };
    },
    async send(body) {
      await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    },
    async visibleMessages() {
      const { Attributes } = await emulator.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(Attributes?.ApproximateNumberOfMessages) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
      );
    },
  };
});

afterEach(async () => {
  await Promise.all(syncs.map((sync) => sync.stop()));
  syncs = [];
  world.s3.destroy();
  await rm(world.dir, { recursive: true, force: true });
});

function makeSync(overrides: Partial<S3SyncOptions<Registry>> = {}): { sync: S3Sync<Registry>; events: SyncRecorder } {
  const sync = createS3Sync<Registry>({
    sqs: { client: emulator.sqs, queueUrl: world.queueUrl, waitTimeSeconds: 1, visibilityTimeout: 5 },
    s3: { client: world.s3 },
    target: world.target,
    ...(overrides.source === undefined ? { allow: { buckets: [world.bucket], keyPrefixes: ['v0/'] } } : {}),
    validate: validateRegistry,
    retry: false,
    ...overrides,
  } as S3SyncOptions<Registry>);
  syncs.push(sync);
  return { sync, events: new SyncRecorder(sync as S3Sync<unknown>) };
}

/** Puts a registry and announces it with an S3 event, with a fresh, larger sequencer. */
async function publish(body: string, key = world.key): Promise<{ eTag: string; sequencer: string }> {
  const { eTag } = await world.put(body, key);
  const seqValue = sequencer(++seq);
  await world.send(s3EventBody({ bucket: world.bucket, key, eTag, sequencer: seqValue, size: body.length }));
  return { eTag, sequencer: seqValue };
}

async function drained(): Promise<void> {
  // SQS deletes are batched: wait until the queue holds nothing, visible or in flight.
  for (let i = 0; i < 200 && (await world.visibleMessages()) > 0; i++) await new Promise((r) => setTimeout(r, 25));
  expect(await world.visibleMessages()).toBe(0);
}

describe('createS3Sync', () => {
  describe('options', () => {
    it('refuses validate with a store of its own, whose validate would be the only one applied', () => {
      const store = new JsonFileStore({ path: world.target });
      expect(() => makeSync({ store, validate: validateRegistry } as Partial<S3SyncOptions<Registry>>)).toThrow(
        /`validate` or `store`, not both/,
      );
    });

    it('refuses source and allow together', () => {
      expect(() =>
        makeSync({ source: `s3://${world.bucket}/${world.key}`, allow: { buckets: [world.bucket] } }),
      ).toThrow(/not both/);
    });

    it('refuses to be created with neither source nor allow', () => {
      expect(() =>
        createS3Sync({
          sqs: { client: emulator.sqs, queueUrl: world.queueUrl },
          s3: { client: world.s3 },
          target: world.target,
        }),
      ).toThrow(/`source`.*`allow`/);
    });

    it.each([
      [{ allow: { buckets: [] } }, /allow\.buckets/],
      [{ allow: { buckets: ['Not_A_Bucket'] } }, /allow\.buckets/],
      [{ reconcileIntervalMs: -1 }, /reconcileIntervalMs/],
      [{ maxBytes: 0 }, /maxBytes/],
      [{ permanentFailure: 'drop' }, /permanentFailure/],
      [{ source: 'https://example.com/x.json' }, /Invalid S3 URL/],
      [{ source: 's3://arn:aws:s3:us-east-1:123456789012:accesspoint/registry/v0/registry.json' }, /access point/],
      [{ permanentRetryDelaySeconds: 0 }, /permanentRetryDelaySeconds/],
    ])('refuses %j', (override, message) => {
      expect(() => makeSync(override as Partial<S3SyncOptions<Registry>>)).toThrow(message);
    });
  });

  describe('.start', () => {
    it('serves a valid local file at once and fetches the source before resolving', async () => {
      await writeFile(world.target, registry(1));
      await world.put(registry(2));
      const { sync } = makeSync({ source: `s3://${world.bucket}/${world.key}` });
      const versions: number[] = [];
      sync.store.on('reloaded', (snapshot) => versions.push(snapshot.data.release));
      await sync.start();
      expect(versions).toEqual([1, 2]);
      expect(sync.store.get().release).toBe(2);
      expect(sync.health()).toMatchObject({ state: 'ready', version: 2, consecutiveFailures: 0 });
      expect(JSON.parse(await readFile(world.target, 'utf8')).release).toBe(2);
    });

    it('is starting, not failed, on a first boot with no file and no source', async () => {
      const { sync } = makeSync();
      await sync.start();
      expect(sync.health()).toMatchObject({ state: 'starting', version: 0, consecutiveFailures: 0 });
    });

    it('rejects when there is nothing to serve and the source is missing', async () => {
      const { sync } = makeSync({ source: `s3://${world.bucket}/v0/missing.json` });
      await expect(sync.start()).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
      expect(sync.state).toBe('stopped');
    });
  });

  describe('updates', () => {
    it('serves v1 then v2, acknowledging each message', async () => {
      const { sync, events } = makeSync();
      await sync.start();
      let applied = events.next('update_applied');
      await publish(registry(1));
      const [first] = await applied;
      expect(first).toMatchObject({ version: 1, bytes: registry(1).length });
      expect(first.lagMs).toBeGreaterThanOrEqual(0);
      applied = events.next('update_applied');
      await publish(registry(2, 5));
      await applied;
      expect(sync.store.get()).toMatchObject({ release: 2 });
      expect(sync.store.get().servers).toHaveLength(5);
      expect(sync.health()).toMatchObject({ state: 'ready', version: 2 });
      await drained();
    });

    it('keeps v2 in the file and in memory when invalid JSON is uploaded, reports degraded, and recovers with v3', async () => {
      const { sync, events } = makeSync();
      await sync.start();
      let applied = events.next('update_applied');
      await publish(registry(2));
      await applied;
      const good = await readFile(world.target, 'utf8');

      const failed = events.next('update_failed');
      await publish('{"release": 3, "servers": [');
      const [error, info] = await failed;
      expect(error.code).toBe('ERR_VERIFY_FAILED');
      expect(info.permanent).toBe(true);
      expect(await readFile(world.target, 'utf8')).toBe(good);
      expect(sync.store.get().release).toBe(2);
      const health = JSON.parse(JSON.stringify(sync.health()));
      expect(health).toMatchObject({ state: 'degraded', version: 1, consecutiveFailures: 1 });
      expect(health.lastError).toMatchObject({ code: 'ERR_VERIFY_FAILED', bucket: world.bucket, key: world.key });
      expect(events.seen.update_failed).toHaveLength(1); // one failure, reported once
      await drained(); // permanent by default: acknowledged, not retried hot

      applied = events.next('update_applied');
      await publish(registry(3));
      await applied;
      expect(sync.store.get().release).toBe(3);
      expect(sync.health()).toMatchObject({ state: 'ready', version: 2, consecutiveFailures: 0 });
      expect(await readdir(world.dir)).toEqual(['registry.json']);
    });

    it('never fetches an object from a bucket or prefix outside the allow-list', async () => {
      const { sync, events } = makeSync();
      await sync.start();
      const skipped = events.next('update_skipped');
      await world.send(s3EventBody({ bucket: 'someone-elses-bucket', key: 'v0/registry.json', eTag: 'abc' }));
      const [update, reason] = await skipped;
      expect(reason).toBe('not-allowed');
      expect(update.bucket).toBe('someone-elses-bucket');
      const prefix = events.next('update_skipped');
      await world.send(s3EventBody({ bucket: world.bucket, key: 'private/secrets.json', eTag: 'abc' }));
      expect((await prefix)[1]).toBe('not-allowed');
      await drained();
      expect(world.gets.count).toBe(0);
      expect(existsSync(world.target)).toBe(false);
    });

    it('skips duplicate and out-of-order events', async () => {
      const { sync, events } = makeSync();
      await sync.start();
      const applied = events.next('update_applied');
      const v2 = await publish(registry(2));
      await applied;
      const getsAfterV2 = world.gets.count;

      const duplicate = events.next('update_skipped');
      await world.send(s3EventBody({ bucket: world.bucket, key: world.key, eTag: v2.eTag, sequencer: v2.sequencer }));
      expect((await duplicate)[1]).toBe('duplicate');
      const stale = events.next('update_skipped');
      await world.send(s3EventBody({ bucket: world.bucket, key: world.key, eTag: 'ffff', sequencer: '0' }));
      expect((await stale)[1]).toBe('stale');
      // Sequencers differ in length: compared after left-padding with zeros, 5 is v2's own.
      const padded = events.next('update_skipped');
      await world.send(
        s3EventBody({
          bucket: world.bucket,
          key: world.key,
          eTag: v2.eTag,
          sequencer: v2.sequencer.replace(/^0+/, ''),
        }),
      );
      expect((await padded)[1]).toBe('duplicate');
      await drained();
      expect(world.gets.count).toBe(getsAfterV2);
      expect(sync.store.get().release).toBe(2);

      // A longer sequencer is newer than any shorter one, whatever their first digits.
      const longer = events.next('update_applied');
      const { eTag } = await world.put(registry(3));
      await world.send(s3EventBody({ bucket: world.bucket, key: world.key, eTag, sequencer: `1${'0'.repeat(16)}` }));
      await longer;
      const older = events.next('update_skipped');
      await world.send(s3EventBody({ bucket: world.bucket, key: world.key, eTag: 'dddd', sequencer: 'F'.repeat(16) }));
      expect((await older)[1]).toBe('stale');
      expect(sync.store.get().release).toBe(3);
    });

    it('folds a burst of 50 messages into at most 2 downloads and acknowledges all of them', async () => {
      const { sync, events } = makeSync();
      await sync.start();
      const bodies: string[] = [];
      for (let i = 1; i <= 50; i++) {
        const { eTag } = await world.put(registry(i));
        bodies.push(s3EventBody({ bucket: world.bucket, key: world.key, eTag, sequencer: sequencer(++seq) }));
      }
      const applied = events.next('update_applied', ([info]) => (info.snapshot.data as Registry).release === 50);
      await Promise.all(bodies.map((body) => world.send(body)));
      await applied;
      await drained();
      expect(world.gets.count).toBeLessThanOrEqual(2);
      expect(sync.store.get().release).toBe(50);
      const reasons = events.skipReasons();
      expect(reasons.every((r) => r === 'coalesced' || r === 'superseded' || r === 'stale')).toBe(true);
      expect(events.seen.update_received).toHaveLength(50);
    });

    it('catches up on a missed message with the reconcile timer', async () => {
      await world.put(registry(1));
      const { sync, events } = makeSync({ source: `s3://${world.bucket}/${world.key}`, reconcileIntervalMs: 100 });
      await sync.start();
      expect(sync.store.get().release).toBe(1);
      const notModified = events.next('update_skipped', ([, reason]) => reason === 'not-modified');
      await notModified; // a reconcile of an unchanged object is a 304, nothing written
      const applied = events.next('update_applied');
      await world.put(registry(2)); // and no message: it was missed
      const [info] = await applied;
      expect(info.update.origin).toBe('reconcile');
      expect(sync.store.get().release).toBe(2);
    });

    it('leaves no partial file when stopped during a download', async () => {
      await writeFile(world.target, registry(1));
      // Holds the GetObject request until the listener has stopped, so stop() meets a download
      // in flight; the request then goes out with the sync's signal already aborted.
      let requested: () => void = () => {};
      const inFlight = new Promise<void>((resolve) => {
        requested = resolve;
      });
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      world.s3.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'GetObjectCommand') {
            requested();
            await gate;
          }
          return next(args);
        },
        { step: 'finalizeRequest', name: 'holdGets' },
      );
      const { sync } = makeSync({ stopTimeoutMs: 0 });
      await sync.start();
      sync.listener.on('stopped', () => setImmediate(release));
      await publish(registry(9));
      await inFlight;
      await sync.stop();
      expect(sync.state).toBe('stopped');
      expect(await readdir(world.dir)).toEqual(['registry.json']);
      expect(JSON.parse(await readFile(world.target, 'utf8')).release).toBe(1);
    });

    it('resolves stop() at stopTimeoutMs though a validate runs on, and never serves its file', async () => {
      await writeFile(world.target, registry(1));
      let entered!: () => void;
      const validating = new Promise<void>((resolve) => {
        entered = resolve;
      });
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const { sync } = makeSync({
        stopTimeoutMs: 200,
        validate: async (data: unknown) => {
          const registry = validateRegistry(data);
          if (registry.release === 2) {
            entered();
            await held; // a validate that knows nothing of aborts
          }
          return registry;
        },
      });
      try {
        await sync.start();
        await publish(registry(2));
        await validating;
        const started = performance.now();
        await sync.stop();
        expect(performance.now() - started).toBeLessThan(5_000);
        expect(JSON.parse(await readFile(world.target, 'utf8')).release).toBe(1);
      } finally {
        release();
      }
    });

    it('says degraded, not starting, while the local file is served during the start-up fetch', async () => {
      await writeFile(world.target, registry(1));
      const silent = await startSilentServer();
      const stalled = new S3Client(emulator.clientConfig(silent.endpoint));
      try {
        const { sync } = makeSync({ s3: { client: stalled }, source: `s3://${world.bucket}/${world.key}` });
        const served = new Promise<void>((resolve) => sync.store.once('reloaded', () => resolve()));
        const starting = sync.start();
        await served;
        await silent.connected;
        expect(sync.state).toBe('degraded');
        expect(sync.store.get().release).toBe(1);
        await sync.stop();
        await expect(starting).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      } finally {
        stalled.destroy();
        await silent.close();
      }
    });

    it('hands a message whose download stop() cut back at once (visibility 0), not after a retry delay', async () => {
      await writeFile(world.target, registry(1));
      // S3 that accepts connections and never answers: the download runs until it is aborted.
      const silent = await startSilentServer();
      const stalled = new S3Client(emulator.clientConfig(silent.endpoint));
      const sqs = recordingSqsClient(emulator);
      try {
        const { sync } = makeSync({
          s3: { client: stalled },
          sqs: { client: sqs.client, queueUrl: world.queueUrl, waitTimeSeconds: 1, visibilityTimeout: 5 },
          stopTimeoutMs: 100,
        });
        await sync.start();
        const received = new Promise<void>((resolve) => sync.once('update_received', () => resolve()));
        await publish(registry(2));
        await received;
        await sync.stop();
        const delays = sqs.calls
          .filter((call) => call.name === 'ChangeMessageVisibilityCommand')
          .map((call) => call.input.VisibilityTimeout);
        // The heartbeat may have extended it meanwhile; what the stop left is the last call.
        expect(delays.at(-1)).toBe(0);
        expect(JSON.parse(await readFile(world.target, 'utf8')).release).toBe(1);
      } finally {
        stalled.destroy();
        sqs.client.destroy();
        await silent.close();
      }
    });
  });

  describe('failures', () => {
    it('hands a transiently failed message back through the queue, then applies it', async () => {
      let failNext = false;
      world.s3.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'GetObjectCommand' && failNext) {
            failNext = false;
            throw Object.assign(new Error('Please reduce your request rate.'), {
              name: 'SlowDown',
              $metadata: { httpStatusCode: 503 },
              $fault: 'server',
            });
          }
          return next(args);
        },
        { step: 'finalizeRequest', name: 'slowDownOnce' },
      );
      const { sync, events } = makeSync({
        sqs: {
          client: emulator.sqs,
          queueUrl: world.queueUrl,
          waitTimeSeconds: 1,
          visibilityTimeout: 5,
          retryDelaySeconds: () => 0,
        },
      });
      await sync.start();
      const first = events.next('update_applied');
      await publish(registry(3));
      await first;
      failNext = true;
      const failed = events.next('update_failed');
      const applied = events.next('update_applied');
      await publish(registry(4));
      const [error, info] = await failed;
      expect(info.permanent).toBe(false);
      expect(error.code).toBe('ERR_DOWNLOAD');
      expect(sync.health()).toMatchObject({ state: 'degraded', consecutiveFailures: 1 });
      await applied;
      expect(sync.store.get().release).toBe(4);
      expect(sync.health()).toMatchObject({ state: 'ready', consecutiveFailures: 0 });
      await drained();
    });

    it("leaves a permanently failed message to the queue's redrive policy with permanentFailure: 'redrive'", async () => {
      const { sync, events } = makeSync({ permanentFailure: 'redrive', permanentRetryDelaySeconds: 600 });
      await sync.start();
      const failed = events.next('update_failed');
      await publish('not json');
      expect((await failed)[1].permanent).toBe(true);
      await new Promise<void>((resolve) => sync.listener.once('processing_error', () => resolve()));
      const { Attributes } = await emulator.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: world.queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      expect(Attributes).toMatchObject({
        ApproximateNumberOfMessages: '0',
        ApproximateNumberOfMessagesNotVisible: '1',
      });
    });

    it('sends a permanently failed message to a dead-letter queue URL, then deletes it', async () => {
      const { QueueUrl: dlq = '' } = await emulator.sqs.send(
        new CreateQueueCommand({ QueueName: emulator.uniqueName('dead-letters') }),
      );
      const { sync, events } = makeSync({ permanentFailure: { deadLetterQueueUrl: dlq } });
      await sync.start();
      const failed = events.next('update_failed');
      await publish('{"release": "not a number", "servers": []}');
      expect((await failed)[0].code).toBe('ERR_VERIFY_FAILED');
      await drained();
      const { Messages = [] } = await emulator.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlq, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
      );
      expect(Messages).toHaveLength(1);
      expect(JSON.parse(Messages[0]?.Body ?? '{}').Records[0].s3.bucket.name).toBe(world.bucket);
      expect(Messages[0]?.MessageAttributes?.['s3-sqs-sync-error-code']?.StringValue).toBe('ERR_VERIFY_FAILED');
    });

    it('acknowledges a 412 (the object changed after the event) and fetches the current object once', async () => {
      const { sync, events } = makeSync();
      await sync.start();
      const { eTag: oldTag } = await world.put(registry(5));
      await world.put(registry(6)); // replaced before the event for release 5 is handled
      const skipped = events.next('update_skipped');
      const applied = events.next('update_applied');
      await world.send(
        s3EventBody({ bucket: world.bucket, key: world.key, eTag: oldTag, sequencer: sequencer(++seq) }),
      );
      expect((await skipped)[1]).toBe('superseded');
      // Release 6's own event may be lost: one fetch without If-Match brings it anyway.
      expect((await applied)[0].update.origin).toBe('reconcile');
      expect(sync.store.get().release).toBe(6);
      await drained();
      expect(events.seen.update_failed).toHaveLength(0);
      expect(world.gets.count).toBe(2);
    });
  });

  describe('message shapes', () => {
    it('applies every shape end to end, acknowledges a test event and keeps serving after a removal', async () => {
      const { sync, events } = makeSync({ endpoints: [{ url: emulator.endpoint }] });
      await sync.start();
      const s3Event = (n: number, eTag: string) =>
        JSON.parse(s3EventBody({ bucket: world.bucket, key: world.key, eTag, sequencer: sequencer(n) }));
      const shapes: [string, (eTag: string, n: number) => string][] = [
        ['s3_uri', () => JSON.stringify({ s3_uri: `s3://${world.bucket}/${world.key}` })],
        ['s3_url', () => JSON.stringify({ s3_url: `${emulator.endpoint}/${world.bucket}/${world.key}` })],
        ['S3 event', (eTag, n) => JSON.stringify(s3Event(n, eTag))],
        [
          'SNS envelope',
          (eTag, n) =>
            JSON.stringify({
              Type: 'Notification',
              MessageId: 'b0a1c5d2-0d3e-5f6a-8b9c-0d1e2f3a4b5c',
              TopicArn: 'arn:aws:sns:us-east-1:123456789012:registry-changes',
              Message: JSON.stringify(s3Event(n, eTag)),
              Timestamp: new Date().toISOString(),
            }),
        ],
        [
          'EventBridge',
          (eTag, n) =>
            JSON.stringify({
              version: '0',
              id: '17793124-05d4-b198-2fde-7ededc63b103',
              'detail-type': 'Object Created',
              source: 'aws.s3',
              account: '123456789012',
              time: new Date().toISOString(),
              region: 'us-east-1',
              resources: [`arn:aws:s3:::${world.bucket}`],
              detail: {
                version: '0',
                bucket: { name: world.bucket },
                object: { key: world.key, size: 10, etag: eTag, sequencer: sequencer(n) },
                reason: 'PutObject',
              },
            }),
        ],
      ];
      let release = 0;
      for (const [shape, body] of shapes) {
        release += 1;
        const { eTag } = await world.put(registry(release));
        const applied = events.next('update_applied');
        await world.send(body(eTag, ++seq));
        const [info] = await applied;
        expect({ shape, release: (info.snapshot.data as Registry).release }).toEqual({ shape, release });
      }
      const removed = events.next('update_skipped');
      await world.send(
        s3EventBody({
          bucket: world.bucket,
          key: world.key,
          eventName: 'ObjectRemoved:Delete',
          sequencer: sequencer(++seq),
        }),
      );
      expect((await removed)[1]).toBe('removed');
      await world.send(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: world.bucket }));
      const failed = events.next('update_failed');
      await world.send('{"hello":"world"}');
      const [error, info] = await failed;
      expect(error.code).toBe('ERR_MESSAGE');
      expect((error as MessageError).messageId).toEqual(expect.any(String));
      expect(info.permanent).toBe(true);
      await drained();
      expect(sync.store.get().release).toBe(release);
      expect(await readdir(world.dir)).toEqual(['registry.json']);
    });
  });

  describe('.stop', () => {
    it('is safe to call twice and before start', async () => {
      const { sync, events } = makeSync();
      await Promise.all([sync.stop(), sync.stop()]);
      expect(sync.state).toBe('stopped');
      expect(events.seen.stopped).toHaveLength(1);
      await expect(sync.start()).rejects.toThrow(/stopped/);
    });
  });
});
